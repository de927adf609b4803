package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/translog"
)

// Bulk loads many registrations with COPY, outside the sequencer: for
// filling a register to benchmark it (registry-bench), never for the
// service's own writes. It stamps, hashes and chains exactly as the
// sequencer does, so the loaded register verifies like one filed through
// the API. Nothing else may write to the register while it loads.
type Bulk struct {
	conn      *pgx.Conn
	head      head
	hashes    []translog.Hash // every stored hash of the log, by storage index
	auditSeq  int64
	auditHash []byte
	names     map[string]bool
}

// Filed is one registration as Bulk loads it: what the service would write,
// and its modification code's hash.
type Filed struct {
	registry.Written
	CodeHash []byte
}

// OpenBulk connects to the register at dsn, which must have an empty log.
func OpenBulk(ctx context.Context, dsn string) (*Bulk, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	b := &Bulk{conn: conn, names: map[string]bool{}}
	if err := conn.QueryRow(ctx, "SELECT seq, log_size, last_at FROM register_head").Scan(&b.head.Seq, &b.head.LogSize, &b.head.LastAt); err != nil {
		conn.Close(ctx)
		return nil, err
	}
	if b.head.LogSize != 0 {
		conn.Close(ctx)
		return nil, errors.New("bulk loading needs a register whose log is empty")
	}
	if err := conn.QueryRow(ctx, "SELECT seq, hash FROM audit_head").Scan(&b.auditSeq, &b.auditHash); err != nil {
		conn.Close(ctx)
		return nil, err
	}
	return b, nil
}

// Close ends the connection.
func (b *Bulk) Close(ctx context.Context) error { return b.conn.Close(ctx) }

// Stamp hands out the next stamp, as the sequencer would.
func (b *Bulk) Stamp(now time.Time, kind registry.StampKind) registry.Stamp {
	return b.head.next(now, kind)
}

// ReadHashes reads the log's hashes from memory (translog.HashReader).
func (b *Bulk) ReadHashes(_ context.Context, indexes []int64) ([]translog.Hash, error) {
	out := make([]translog.Hash, len(indexes))
	for i, id := range indexes {
		if id < 0 || id >= int64(len(b.hashes)) {
			return nil, fmt.Errorf("log hash %d is missing", id)
		}
		out[i] = b.hashes[id]
	}
	return out, nil
}

// Load writes registrations stamped in order by Stamp, in one transaction.
func (b *Bulk) Load(ctx context.Context, filed []Filed) error {
	var rows Rows
	firstHash := len(b.hashes)
	seq, chain := b.auditSeq, b.auditHash
	for _, f := range filed {
		e := f.Event
		hashes, err := translog.Append(ctx, b, e.LogIndex, e.Leaf())
		if err != nil {
			return err
		}
		for _, h := range hashes {
			rows.LogHashes = append(rows.LogHashes, []any{int64(len(b.hashes)), h[:]})
			b.hashes = append(b.hashes, h)
		}
		seq++
		chain = audit.Chain(chain, seq, f.Audit)
		rows.add(f, seq, chain, b.names)
	}
	tx, err := b.conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if err := rows.Copy(ctx, tx, ""); err != nil {
		b.hashes = b.hashes[:firstHash]
		return err
	}
	if _, err := tx.Exec(ctx, "UPDATE register_head SET seq = $1, log_size = $2, last_at = $3", b.head.Seq, b.head.LogSize, b.head.LastAt); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "UPDATE audit_head SET seq = $1, hash = $2", seq, chain); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		b.hashes = b.hashes[:firstHash]
		return err
	}
	b.auditSeq, b.auditHash = seq, chain
	return nil
}

// Rows are the rows of some registrations, table by table, as COPY takes them.
type Rows struct {
	Events, LogHashes, Registrations, Parties, GrantorNames, Items, Audit [][]any
}

// Tables and their columns in COPY order.
var bulkColumns = []struct {
	table   string
	columns []string
	rows    func(*Rows) [][]any
}{
	{"events", []string{"log_index", "number", "registration_number", "type", "registered_at", "organization_id", "user_id", "record", "log_record", "openings"}, func(r *Rows) [][]any { return r.Events }},
	{"log_hashes", []string{"id", "hash"}, func(r *Rows) [][]any { return r.LogHashes }},
	{"registrations", []string{"number", "kind", "registered_at", "expires_at", "controller_id", "controller_uscc", "status", "modification_code_hash"}, func(r *Rows) [][]any { return r.Registrations }},
	{"parties", []string{"registration_number", "role", "ord", "type", "name", "name_key", "uscc", "country", "registration_no", "lei", "id_number", "address", "added_at"}, func(r *Rows) [][]any { return r.Parties }},
	{"grantor_names", []string{"name_key", "name", "first_at"}, func(r *Rows) [][]any { return r.GrantorNames }},
	{"items", []string{"id", "registration_number", "ord", "type", "serial_number", "serial_key", "description", "registered_at"}, func(r *Rows) [][]any { return r.Items }},
	{"audit_entries", []string{"id", "chain", "at", "actor", "user_id", "organization_id", "action", "target", "outcome", "source", "request_id", "detail"}, func(r *Rows) [][]any { return r.Audit }},
}

// BulkTables are the tables a filing writes.
func BulkTables() []string {
	out := make([]string, len(bulkColumns))
	for i, t := range bulkColumns {
		out[i] = t.table
	}
	return out
}

func (r *Rows) add(f Filed, auditID int64, chain []byte, names map[string]bool) {
	e, h := f.Event, f.Head
	var openings []byte
	if e.LogRecord != nil {
		openings, _ = json.Marshal(e.Openings)
	}
	r.Events = append(r.Events, []any{e.LogIndex, e.Number, e.RegistrationNumber, e.Type, e.At, strPtr(e.OrganizationID), strPtr(e.UserID), e.Record, e.LogRecord, openings})
	r.Registrations = append(r.Registrations, []any{h.Number, h.Kind, h.RegisteredAt, h.ExpiresAt, strPtr(h.ControllerID), h.ControllerUSCC, h.Status, f.CodeHash})
	for _, p := range partyRows(h.Number, e.At, f.Parties) {
		r.Parties = append(r.Parties, []any{p.RegistrationNumber, p.Role, int32(p.Ord), p.Type, p.Name, p.NameKey, p.USCC, p.Country, p.RegistrationNo, p.LEI, p.IDNumber, p.Address, p.AddedAt})
		if isGrantorName(p) && names != nil && !names[p.NameKey] {
			names[p.NameKey] = true
			r.GrantorNames = append(r.GrantorNames, []any{p.NameKey, p.Name, p.AddedAt})
		}
	}
	for _, it := range itemRows(h.Number, f.AddedItems) {
		r.Items = append(r.Items, []any{it.ID, it.RegistrationNumber, int32(it.Ord), it.Type, it.SerialNumber, it.SerialKey, it.Description, it.RegisteredAt})
	}
	a := f.Audit.Clean()
	a.At = a.At.UTC().Truncate(time.Microsecond)
	r.Audit = append(r.Audit, []any{auditID, chain, a.At, string(a.Actor), strPtr(a.UserID), strPtr(a.OrganizationID), a.Action, a.Target, string(a.Outcome), a.Source, a.RequestID, a.Detail})
}

// RowsOf lays out registrations' rows for COPY without hashing or chaining:
// the log hashes and audit chains are placeholders of the right size. It is
// for measuring what the database alone can take (registry-bench's raw
// ceiling), into copies of the tables.
func RowsOf(filed []Filed, firstAuditID int64, names map[string]bool) Rows {
	var r Rows
	zero := make([]byte, 32)
	for i, f := range filed {
		r.add(f, firstAuditID+int64(i), zero, names)
		n := f.Event.LogIndex
		first := translog.LeafIndex(n)
		for k := range tlog.StoredHashCount(n+1) - tlog.StoredHashCount(n) {
			r.LogHashes = append(r.LogHashes, []any{first + k, zero})
		}
	}
	return r
}

// Copy writes the rows into the tables named prefix+table.
func (r *Rows) Copy(ctx context.Context, tx pgx.Tx, prefix string) error {
	for _, t := range bulkColumns {
		rows := t.rows(r)
		if len(rows) == 0 {
			continue
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{prefix + t.table}, t.columns, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("copy into %s: %w", prefix+t.table, err)
		}
	}
	return nil
}

// Plan is how PostgreSQL ran one of a search's statements.
type Plan struct {
	Statement string `json:"statement"`
	Plan      string `json:"plan"`
}

// ExplainSearch runs a search's statements under EXPLAIN ANALYZE: the one
// that finds its registrations and their events, a later page's events,
// and for a name the check of which similar names a search would find.
func (s *Store) ExplainSearch(ctx context.Context, q registry.Query) ([]Plan, error) {
	explain := func(name, query string, args ...any) (Plan, []string, error) {
		var lines []string
		err := s.db.WithContext(ctx).Raw("EXPLAIN (ANALYZE, BUFFERS) "+query, args...).Scan(&lines).Error
		return Plan{Statement: name, Plan: strings.Join(lines, "\n")}, lines, translate(err)
	}
	query, args, how := findSQL(q, 32)
	if query == "" {
		return nil, errors.New("the query has no search key")
	}
	find, _, err := explain("find by "+how+", with the first page's events", query, args...)
	if err != nil {
		return nil, err
	}
	plans := []Plan{find}
	matches, _, err := s.FindRegistrations(ctx, q, 0)
	if err != nil {
		return nil, err
	}
	numbers := make([]string, len(matches))
	for i, m := range matches {
		numbers[i] = m.RegistrationNumber
	}
	p, _, err := explain("events of a later page", eventsSQL, textArray(numbers), q.AsOf)
	if err != nil {
		return nil, err
	}
	plans = append(plans, p)
	if q.NameKey != "" {
		if err := s.similar.ready(ctx); err != nil {
			return nil, err
		}
		// The name's own key stands in when nothing is similar to it.
		keys := []string{q.NameKey}
		for _, c := range s.similar.idx.Similar(q.NameKey, q.Criteria.GrantorName, 20) {
			keys = append(keys, c.Key)
		}
		p, _, err := explain("similar names: which candidates a search would find", liveNamesSQL, textArray(keys), q.AsOf, false)
		if err != nil {
			return nil, err
		}
		plans = append(plans, p)
	}
	return plans, nil
}
