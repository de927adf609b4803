package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Making a database for each test (CREATE DATABASE from the template) and
// dropping it after (DROP DATABASE, which forces a checkpoint of the whole
// server) cost about two seconds a test under the suite's own load, most of
// it spent waiting for the disk. So a test's database is used again by a
// later test of the same process when the test is done with it:
//
//   - its sessions are ended and it is renamed, so that a pool the test
//     left open cannot reach the next test's data;
//   - its schema is compared with the template's (a digest of the catalogs:
//     relations, columns, defaults, triggers and whether they are enabled,
//     constraints, functions, types, schemas, the database's settings); a
//     test that changed any of it has its database dropped instead;
//   - its rows are deleted (large tables truncated), with the triggers off
//     (session_replication_role), and the template's own rows and sequence
//     positions are put back.
//
// The pool belongs to the test process. Close, called by the packages'
// TestMain through Main, drops what it holds when the tests are done; a
// process killed before that leaves its databases to RemoveLeftovers.

var (
	poolMu sync.Mutex
	free   []string

	shapeOnce sync.Once
	pristine  *shape
	shapeErr  error

	adminOnce sync.Once
	adminDB   *sql.DB
	adminErr  error
)

// shape is what a fresh copy of the template holds besides its schema: the
// digest of its schema, its tables, the rows it starts with and where its
// sequences stand.
type shape struct {
	digest    string
	tables    []string          // quoted, schema-qualified
	seeds     map[string]string // table -> its rows as a JSON array
	sequences map[string]sequenceAt
}

type sequenceAt struct {
	value  int64
	called bool
}

// admin is the process's connection pool to the server's maintenance
// database.
func admin() (*sql.DB, error) {
	adminOnce.Do(func() {
		adminDB, adminErr = sql.Open("pgx", adminURL())
		if adminErr == nil {
			adminDB.SetMaxOpenConns(4)
			adminDB.SetMaxIdleConns(2)
		}
	})
	return adminDB, adminErr
}

// newName is a fresh test database's name. It carries the test process's id,
// so that a later run can tell the databases of a run that was killed
// (RemoveLeftovers).
func newName() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("registry_test_%d_%s", os.Getpid(), hex.EncodeToString(b))
}

// take gives a database from the pool, or a new copy of the template.
func take(ctx context.Context) (string, error) {
	poolMu.Lock()
	if n := len(free); n > 0 {
		name := free[n-1]
		free = free[:n-1]
		poolMu.Unlock()
		return name, nil
	}
	poolMu.Unlock()
	db, err := admin()
	if err != nil {
		return "", err
	}
	name := newName()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name+" TEMPLATE "+template); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	// The first copy, untouched yet, tells what every copy starts as.
	shapeOnce.Do(func() { pristine, shapeErr = readShape(ctx, name) })
	return name, nil
}

// recycle puts a test's database back in the pool, as the template made it,
// or drops it when it cannot.
func recycle(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	next, err := reset(ctx, name)
	if err == nil {
		poolMu.Lock()
		free = append(free, next)
		poolMu.Unlock()
		return nil
	}
	// PGTEST_DEBUG=1 says why, on the test process's standard error.
	if os.Getenv("PGTEST_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, "pgtest: %s not used again: %v\n", name, err)
	}
	return drop(ctx, name, next)
}

// reset renames the database away from the test that used it, checks its
// schema and empties it; it returns the new name.
func reset(ctx context.Context, name string) (string, error) {
	if shapeErr != nil || pristine == nil {
		return "", errors.New("no shape to reset to")
	}
	db, err := admin()
	if err != nil {
		return "", err
	}
	next := newName()
	if err := rename(ctx, db, name, next); err != nil {
		return "", err
	}
	conn, err := sql.Open("pgx", withDatabase(adminURL(), next))
	if err != nil {
		return next, err
	}
	defer conn.Close()
	var digest string
	if err := conn.QueryRowContext(ctx, schemaDigest).Scan(&digest); err != nil {
		return next, err
	}
	if digest != pristine.digest {
		return next, errSchemaChanged
	}
	return next, pristine.restore(ctx, conn)
}

var errSchemaChanged = errors.New("the test changed the schema")

// rename ends the database's sessions and renames it, trying again while a
// session is still on its way out.
func rename(ctx context.Context, db *sql.DB, name, next string) error {
	for try := 0; ; try++ {
		if _, err := db.ExecContext(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name); err != nil {
			return err
		}
		_, err := db.ExecContext(ctx, "ALTER DATABASE "+name+" RENAME TO "+next)
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55006" || try == 200 {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// drop removes the database under whichever of its names it has.
func drop(ctx context.Context, names ...string) error {
	db, err := admin()
	if err != nil {
		return err
	}
	for _, name := range names {
		if name == "" {
			continue
		}
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop database: %w", err)
		}
	}
	return nil
}

// Close drops the databases in the process's pool. Main calls it once the
// package's tests are done.
func Close() {
	poolMu.Lock()
	names := free
	free = nil
	poolMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := drop(ctx, names...); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
	}
	if adminDB != nil {
		adminDB.Close()
	}
}

// Main runs a package's tests and then drops the databases they leave in
// the pool: a package whose tests use pgtest calls it from its TestMain.
func Main(m *testing.M) {
	code := m.Run()
	Close()
	os.Exit(code)
}

// schemaDigest is a digest of the database's schema as the catalogs hold
// it, object ids included (a copy of the template keeps them), and nothing
// that emptying the tables changes. Temporary tables, and the schemas
// PostgreSQL keeps for them, go with their sessions and are left out.
const schemaDigest = `SELECT md5(string_agg(x, E'\n' ORDER BY x)) FROM (
	SELECT format('class %s %s %s %s %s %s %s', c.oid, c.relname, c.relkind, c.relnamespace, c.relpersistence, c.reloptions, c.relacl) FROM pg_class c WHERE c.oid >= 16384 AND c.relpersistence <> 't'
	UNION ALL SELECT format('att %s %s %s %s %s %s %s', a.attrelid, a.attnum, a.attname, a.atttypid, a.atttypmod, a.attnotnull, a.attisdropped) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid WHERE a.attrelid >= 16384 AND c.relpersistence <> 't'
	UNION ALL SELECT format('def %s %s', d.oid, pg_get_expr(d.adbin, d.adrelid)) FROM pg_attrdef d
	UNION ALL SELECT format('trigger %s %s %s %s', g.oid, g.tgrelid, g.tgname, g.tgenabled) FROM pg_trigger g
	UNION ALL SELECT format('constraint %s %s %s', o.oid, o.conname, o.convalidated) FROM pg_constraint o WHERE o.oid >= 16384
	UNION ALL SELECT format('index %s %s %s', i.indexrelid, i.indisvalid, i.indisready) FROM pg_index i WHERE i.indexrelid >= 16384
	UNION ALL SELECT format('proc %s %s %s', p.oid, p.proname, md5(p.prosrc)) FROM pg_proc p WHERE p.oid >= 16384
	UNION ALL SELECT format('type %s %s', y.oid, y.typname) FROM pg_type y WHERE y.oid >= 16384 AND y.typnamespace NOT IN (SELECT oid FROM pg_namespace WHERE nspname ~ '^pg_(toast_)?temp_')
	UNION ALL SELECT format('rule %s %s', r.oid, r.rulename) FROM pg_rewrite r WHERE r.oid >= 16384
	UNION ALL SELECT format('policy %s %s', p.oid, p.polname) FROM pg_policy p
	UNION ALL SELECT format('namespace %s %s', n.oid, n.nspname) FROM pg_namespace n WHERE n.nspname !~ '^pg_(toast_)?temp_'
	UNION ALL SELECT format('extension %s %s %s', e.oid, e.extname, e.extversion) FROM pg_extension e
	UNION ALL SELECT format('sequence %s %s %s %s %s', q.seqrelid, q.seqincrement, q.seqmin, q.seqmax, q.seqcycle) FROM pg_sequence q
	UNION ALL SELECT format('settings %s %s', s.setrole, s.setconfig) FROM pg_db_role_setting s WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
	UNION ALL SELECT format('large objects %s', count(*)) FROM pg_largeobject_metadata
) f(x)`

// readShape reads a fresh copy's schema digest, tables, rows and sequences.
func readShape(ctx context.Context, name string) (*shape, error) {
	conn, err := sql.Open("pgx", withDatabase(adminURL(), name))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	s := &shape{seeds: map[string]string{}, sequences: map[string]sequenceAt{}}
	if err := conn.QueryRowContext(ctx, schemaDigest).Scan(&s.digest); err != nil {
		return nil, err
	}
	if s.tables, err = strs(ctx, conn, `SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1`); err != nil {
		return nil, err
	}
	for _, table := range s.tables {
		var rows sql.NullString
		if err := conn.QueryRowContext(ctx, "SELECT json_agg(t) FROM "+table+" t").Scan(&rows); err != nil {
			return nil, err
		}
		if rows.Valid {
			s.seeds[table] = rows.String
		}
	}
	sequences, err := strs(ctx, conn, `SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S'`)
	if err != nil {
		return nil, err
	}
	for _, seq := range sequences {
		var at sequenceAt
		if err := conn.QueryRowContext(ctx, "SELECT last_value, is_called FROM "+seq).Scan(&at.value, &at.called); err != nil {
			return nil, err
		}
		s.sequences[seq] = at
	}
	return s, nil
}

// restore empties every table, with triggers and foreign keys off, and puts
// back the rows and sequence positions a fresh copy has, in one
// transaction.
func (s *shape) restore(ctx context.Context, conn *sql.DB) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck
	if _, err := tx.ExecContext(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
		return err
	}
	// Deleting a few rows is cheaper than truncating (new files for every
	// table and index); a table a test filled is truncated.
	big, err := strs(ctx, tx, `SELECT t FROM unnest($1::text[]) t WHERE pg_total_relation_size(t::regclass) > 1048576`, s.tables)
	if err != nil {
		return err
	}
	if len(big) > 0 {
		if _, err := tx.ExecContext(ctx, "TRUNCATE "+strings.Join(big, ", ")); err != nil {
			return err
		}
	}
	var stmt strings.Builder
	for _, table := range s.tables {
		if !slices.Contains(big, table) {
			fmt.Fprintf(&stmt, "DELETE FROM %s;\n", table)
		}
	}
	if _, err := tx.ExecContext(ctx, stmt.String()); err != nil {
		return err
	}
	for table, rows := range s.seeds {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s OVERRIDING SYSTEM VALUE SELECT * FROM json_populate_recordset(NULL::%s, $1)", table, table), rows); err != nil {
			return err
		}
	}
	// Every sequence put back in one statement.
	var seqs []string
	var values []int64
	var called []bool
	for seq, at := range s.sequences {
		seqs, values, called = append(seqs, seq), append(values, at.value), append(called, at.called)
	}
	if _, err := tx.ExecContext(ctx, "SELECT setval(s::regclass, v, c) FROM unnest($1::text[], $2::bigint[], $3::bool[]) AS x(s, v, c)", seqs, values, called); err != nil {
		return err
	}
	return tx.Commit()
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// strs is a query's one text column.
func strs(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
