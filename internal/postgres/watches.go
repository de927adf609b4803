package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/movable-registry/registry/internal/registry"
)

// InsertWatch stores a watch, within the organization's allowance.
func (s *Store) InsertWatch(ctx context.Context, w registry.Watch) error {
	criteria, err := json.Marshal(w.Criteria)
	if err != nil {
		return err
	}
	return affected(s.w(ctx).Exec(`INSERT INTO watches (id, organization_id, kind, key, criteria, note, created_at)
		SELECT ?, ?, ?, ?, ?, ?, ? WHERE (SELECT count(*) FROM watches WHERE organization_id = ?) < ?`,
		w.ID, w.OrganizationID, w.Kind, w.Key, string(criteria), w.Note, w.CreatedAt.Time, w.OrganizationID, registry.MaxWatches), registry.ErrWatchLimit)
}

// Watches returns a page of an organization's watches, oldest first.
func (s *Store) Watches(ctx context.Context, organizationID, after string, limit int) ([]registry.Watch, error) {
	var rows []struct {
		ID        string
		Criteria  []byte
		Note      string
		CreatedAt time.Time
	}
	q := keyset(s.q(ctx).Table("watches").Select("id, criteria, note, created_at").Where("organization_id = ?", organizationID), "id", after, limit)
	if err := q.Scan(&rows).Error; err != nil {
		return nil, translate(err)
	}
	out := make([]registry.Watch, len(rows))
	for i, r := range rows {
		out[i] = registry.Watch{ID: r.ID, Note: r.Note, CreatedAt: registry.At(r.CreatedAt), OrganizationID: organizationID}
		if err := json.Unmarshal(r.Criteria, &out[i].Criteria); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DeleteWatch ends a watch of the organization's.
func (s *Store) DeleteWatch(ctx context.Context, organizationID, id string) error {
	return affected(s.w(ctx).Exec("DELETE FROM watches WHERE id = ? AND organization_id = ?", id, organizationID), registry.ErrNotFound)
}

// MatchWatches buffers an event's new keys; they are matched against the
// watches when the batch's rows are written.
func (s *Store) MatchWatches(ctx context.Context, m registry.WatchMatch) error {
	if s.buf == nil {
		return s.alone(ctx, func(tx *Store) error { return tx.MatchWatches(ctx, m) })
	}
	s.buf.watchMatches = append(s.buf.watchMatches, m)
	return nil
}

// flushWatchMatches stores, in the batch's pipeline, one watch_match notice
// for each event and organization (other than the actor) watching one of
// the event's new keys: one index lookup a key.
func (b *writeBuffer) flushWatchMatches() error {
	if len(b.watchMatches) == 0 {
		return nil
	}
	var ev, reg, typ, kind, key []string
	var at []time.Time
	var actor []*string
	for _, m := range b.watchMatches {
		for _, k := range m.Keys {
			ev, reg, typ, at, actor = append(ev, m.EventNumber), append(reg, m.RegistrationNumber), append(typ, m.EventType), append(at, m.At), append(actor, strPtr(m.Actor))
			kind, key = append(kind, k.Kind), append(key, k.Key)
		}
	}
	return b.exec(`INSERT INTO notifications (organization_id, registration_number, event_number, kind, event_type, created_at, watch_id)
		SELECT DISTINCT ON (w.organization_id, x.e) w.organization_id, x.r, x.e, 'watch_match', x.t, x.a, w.id
		FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::text[]) AS x(e, r, t, a, actor, kind, key)
		JOIN watches w ON w.kind = x.kind AND w.key = x.key
		WHERE w.organization_id IS DISTINCT FROM x.actor::uuid
		ORDER BY w.organization_id, x.e, w.id
		ON CONFLICT (event_number, organization_id, kind) DO NOTHING`,
		ev, reg, typ, at, actor, kind, key)
}
