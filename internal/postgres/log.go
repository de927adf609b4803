package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/tlog"
	"gorm.io/gorm"

	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/translog"
)

// hashCache holds the log's most recently stored hashes that are on disk. A
// hash on disk never changes, so whatever it holds is right; appending a
// record reads the roots of the complete subtrees to its left, which were
// mostly written by the last few appends. A batch's hashes come in only
// after its flush barrier (durable.go): a batch committed without waiting
// for the disk may still be lost to a crash of the database, and the
// positions it held are then filled by other records with other hashes.
type hashCache struct {
	mu    sync.Mutex
	m     map[int64]translog.Hash
	order []int64 // ring of the ids in m, oldest at next
	next  int
}

func newHashCache(size int) *hashCache {
	return &hashCache{m: make(map[int64]translog.Hash, size), order: make([]int64, 0, size)}
}

func (c *hashCache) add(hashes map[int64]translog.Hash) {
	if c == nil || len(hashes) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, h := range hashes {
		if _, ok := c.m[id]; ok {
			continue
		}
		if len(c.order) < cap(c.order) {
			c.order = append(c.order, id)
		} else {
			delete(c.m, c.order[c.next])
			c.order[c.next] = id
			c.next = (c.next + 1) % len(c.order)
		}
		c.m[id] = h
	}
}

// reset forgets every hash: the database changed under the cache (a
// failover to a standby that may not have had the newest batches).
func (c *hashCache) reset() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m, c.order, c.next = make(map[int64]translog.Hash, cap(c.order)), c.order[:0], 0
}

func (c *hashCache) get(id int64) (translog.Hash, bool) {
	if c == nil {
		return translog.Hash{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.m[id]
	return h, ok
}

// ReadHashes reads the log's stored hashes by storage index, in the order
// asked: from this transaction's own writes, from memory, and only what is
// in neither from the database.
func (s *Store) ReadHashes(ctx context.Context, indexes []int64) ([]translog.Hash, error) {
	out := make([]translog.Hash, len(indexes))
	var missing []int64
	for i, id := range indexes {
		if h, ok := s.written[id]; ok {
			out[i] = h
		} else if h, ok := s.pending[id]; ok {
			out[i] = h
		} else if h, ok := earlierHash(s.earlier, id); ok {
			out[i] = h
		} else if h, ok := s.hashes.get(id); ok {
			out[i] = h
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	byID, err := s.storedHashes(ctx, missing)
	if err != nil {
		return nil, err
	}
	for i, id := range indexes {
		if slices.Contains(missing, id) {
			h, ok := byID[id]
			if !ok || len(h) != len(out[i]) {
				return nil, fmt.Errorf("log hash %d is missing", id)
			}
			copy(out[i][:], h)
		}
	}
	return out, nil
}

// storedHashes reads stored hashes from the database by storage index; an
// index with none is absent from the map.
func (s *Store) storedHashes(ctx context.Context, ids []int64) (map[int64][]byte, error) {
	rows, err := s.q(ctx).Raw("SELECT id, hash FROM log_hashes WHERE id = ANY(?::bigint[])", int64Array(ids)).Rows()
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	byID := make(map[int64][]byte, len(ids))
	for rows.Next() {
		var id int64
		var h []byte
		if err := rows.Scan(&id, &h); err != nil {
			return nil, translate(err)
		}
		byID[id] = h
	}
	return byID, translate(rows.Err())
}

// newHashes works out the tree hashes that record n adds to the log, from
// storage index first on, and keeps them as this transaction's own.
func (s *Store) newHashes(ctx context.Context, n int64, record []byte) (first int64, hashes []translog.Hash, err error) {
	first = translog.LeafIndex(n)
	hashes, err = translog.Append(ctx, s, n, record)
	if err != nil {
		return 0, nil, err
	}
	if s.written != nil {
		for i, h := range hashes {
			s.written[first+int64(i)] = h
		}
	}
	return first, hashes, nil
}

// hashValues is the VALUES list that stores hashes from storage index first on.
func hashValues(first int64, hashes []translog.Hash) (values string, args []any) {
	rows := make([]string, len(hashes))
	args = make([]any, 0, 2*len(hashes))
	for i, h := range hashes {
		rows[i] = "(?, ?)"
		args = append(args, first+int64(i), h[:])
	}
	return strings.Join(rows, ", "), args
}

// appendLog stores the tree hashes that record n adds to the log.
func (s *Store) appendLog(ctx context.Context, n int64, record []byte) error {
	first, hashes, err := s.newHashes(ctx, n, record)
	if err != nil {
		return err
	}
	values, args := hashValues(first, hashes)
	return translate(s.w(ctx).Exec("INSERT INTO log_hashes (id, hash) VALUES "+values, args...).Error)
}

// catchUpLog stores the tree hashes of events written before the log had
// them (databases older than migration 00004), in log order.
func catchUpLog(ctx context.Context, db *gorm.DB) error {
	s := &Store{root: &root{}, db: db, written: map[int64]translog.Hash{}}
	var stored, events int64
	if err := db.WithContext(ctx).Raw("SELECT count(*) FROM log_hashes").Scan(&stored).Error; err != nil {
		return err
	}
	if err := db.WithContext(ctx).Raw("SELECT COALESCE(MAX(log_index) + 1, 0) FROM events").Scan(&events).Error; err != nil {
		return err
	}
	// The first record without hashes: the count stored covers exactly
	// this many records.
	n := int64(0)
	for lo, hi := int64(0), events; lo <= hi; {
		mid := (lo + hi) / 2
		if tlog.StoredHashCount(mid) <= stored {
			n, lo = mid, mid+1
		} else {
			hi = mid - 1
		}
	}
	if tlog.StoredHashCount(n) != stored {
		return fmt.Errorf("log_hashes holds %d hashes, which is no whole number of records", stored)
	}
	for ; n < events; n += 1000 {
		var rows []eventRow
		if err := db.WithContext(ctx).Raw("SELECT log_index, record, log_record FROM events WHERE log_index >= ? AND log_index < ? ORDER BY log_index", n, n+1000).Scan(&rows).Error; err != nil {
			return err
		}
		err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			for i, r := range rows {
				if r.LogIndex != n+int64(i) {
					return fmt.Errorf("event at log position %d is missing", n+int64(i))
				}
				if err := s.with(tx).appendLog(ctx, r.LogIndex, r.toDomain().Leaf()); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// LogSize is the number of events committed to the log.
func (s *Store) LogSize(ctx context.Context) (int64, error) {
	var n int64
	return n, translate(s.q(ctx).Raw("SELECT log_size FROM register_head").Scan(&n).Error)
}

// LogEntries returns the events at log positions from..to-1 with their leaf
// hashes as the log stores them.
func (s *Store) LogEntries(ctx context.Context, from, to int64) ([]registry.LogEntry, error) {
	return readOn(s, ctx, to, func(v *Store) ([]registry.LogEntry, error) { return v.logEntries(ctx, from, to) })
}

// logEntries is LogEntries on s.
func (s *Store) logEntries(ctx context.Context, from, to int64) ([]registry.LogEntry, error) {
	q, err := s.q(ctx).Raw(`SELECT log_index, number, registration_number, type, registered_at, organization_id, user_id, record, log_record, openings, erased_at
		FROM events WHERE log_index >= ? AND log_index < ? ORDER BY log_index`, from, to).Rows()
	if err != nil {
		return nil, translate(err)
	}
	rows, err := scanEvents(q, true)
	if err != nil {
		return nil, translate(err)
	}
	if len(rows) == 0 {
		return []registry.LogEntry{}, nil
	}
	leaves := make([]int64, len(rows))
	for i, r := range rows {
		leaves[i] = translog.LeafIndex(r.LogIndex)
	}
	// A leaf hash missing (a damaged log) is served as zeros for a
	// verifier to find, rather than failing the page.
	byID, err := s.storedHashes(ctx, leaves)
	if err != nil {
		return nil, err
	}
	out := make([]registry.LogEntry, len(rows))
	for i, r := range rows {
		out[i] = registry.LogEntry{EventRecord: r}
		copy(out[i].LeafHash[:], byID[leaves[i]])
	}
	return out, nil
}

// LogColumns returns the events at log positions from..to-1 without their
// records: the columns they are filed under, and their openings.
func (s *Store) LogColumns(ctx context.Context, from, to int64) ([]registry.EventRecord, error) {
	return readOn(s, ctx, to, func(v *Store) ([]registry.EventRecord, error) {
		rows, err := v.q(ctx).Raw(`SELECT log_index, number, registration_number, type, registered_at, organization_id, user_id, ''::bytea, NULL::bytea, openings, erased_at
			FROM events WHERE log_index >= ? AND log_index < ? ORDER BY log_index`, from, to).Rows()
		if err != nil {
			return nil, translate(err)
		}
		out, err := scanEvents(rows, true)
		return out, translate(err)
	})
}

// LogLeaves returns the records the log commits to at positions
// from..to-1, in order.
func (s *Store) LogLeaves(ctx context.Context, from, to int64) ([][]byte, error) {
	return readOn(s, ctx, to, func(v *Store) ([][]byte, error) {
		rows, err := v.q(ctx).Raw(`SELECT COALESCE(log_record, record) FROM events WHERE log_index >= ? AND log_index < ? ORDER BY log_index`, from, to).Rows()
		if err != nil {
			return nil, translate(err)
		}
		defer rows.Close()
		var out [][]byte
		for rows.Next() {
			var rec []byte
			if err := rows.Scan(&rec); err != nil {
				return nil, translate(err)
			}
			out = append(out, rec)
		}
		return out, translate(rows.Err())
	})
}

func (r eventRow) toDomain() registry.EventRecord {
	e := registry.EventRecord{LogIndex: r.LogIndex, Number: r.Number, Type: r.Type, RegistrationNumber: r.RegistrationNumber,
		At: r.RegisteredAt.UTC(), OrganizationID: deref(r.OrganizationID), UserID: deref(r.UserID), Record: r.Record, LogRecord: r.LogRecord}
	if r.ErasedAt != nil {
		t := r.ErasedAt.UTC()
		e.ErasedAt = &t
	}
	if r.Openings != nil {
		// Written by bufferEvent from the same type; a row that does not
		// read leaves the commitments unopened, for a verifier to find.
		_ = json.Unmarshal(r.Openings, &e.Openings)
	}
	return e
}

// LatestCheckpoint returns the signed checkpoint of the largest size.
func (s *Store) LatestCheckpoint(ctx context.Context) (registry.SignedCheckpoint, error) {
	var c registry.SignedCheckpoint
	res := s.q(ctx).Raw("SELECT size, audit_seq, note, signed_at FROM checkpoints ORDER BY size DESC, audit_seq DESC LIMIT 1").Scan(&c)
	if res.Error == nil && res.RowsAffected == 0 {
		return c, registry.ErrNotFound
	}
	return c, translate(res.Error)
}

// InsertCheckpoint stores a signed checkpoint; one for the same size and
// audit head already stored (by another instance) is kept.
func (s *Store) InsertCheckpoint(ctx context.Context, c registry.SignedCheckpoint) error {
	return translate(s.w(ctx).Exec("INSERT INTO checkpoints (size, audit_seq, note, signed_at) VALUES (?, ?, ?, ?) ON CONFLICT (size, audit_seq) DO NOTHING",
		c.Size, c.AuditSeq, c.Note, c.SignedAt).Error)
}
