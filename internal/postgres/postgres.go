// Package postgres keeps the register in PostgreSQL through GORM: the only
// package that knows SQL, row structs and migrations.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	pgdriver "gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/translog"
)

// newID is a time-ordered id (UUIDv7), so that lists in id order are in
// order of creation.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// keyset orders a list by key and starts it after the key the page before
// ended with.
func keyset(q *gorm.DB, key, after string, limit int) *gorm.DB {
	q = q.Order(key).Limit(limit)
	if after != "" {
		q = q.Where(key+" > ?", after)
	}
	return q
}

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is the embedded migrations folder.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err)
	}
	return sub
}

// OpenOption tunes the connections Open makes.
type OpenOption func(*openConfig)

type openConfig struct {
	statementTimeout time.Duration
	maxConns         int
}

// StatementTimeout makes PostgreSQL cancel any statement that runs longer
// than d (statement_timeout on every connection); 0 leaves the server's own.
// What must run longer says so in its own transaction (SET LOCAL).
func StatementTimeout(d time.Duration) OpenOption {
	return func(c *openConfig) { c.statementTimeout = d }
}

// MaxConns bounds the connections in the pool (32 by default).
func MaxConns(n int) OpenOption { return func(c *openConfig) { c.maxConns = n } }

// Open connects to the database at dsn. A statement whose context ends
// (a request's deadline, a client gone) is cancelled in PostgreSQL with a
// cancel request, not merely abandoned on a closed connection, where it
// would go on running.
func Open(dsn string, opts ...OpenOption) (*gorm.DB, error) {
	oc := openConfig{maxConns: 32}
	for _, o := range opts {
		o(&oc)
	}
	sqlDB, err := openSQL(dsn, oc)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db, err := gorm.Open(dialector{&pgdriver.Dialector{Config: &pgdriver.Config{Conn: sqlDB}}}, &gorm.Config{
		TranslateError:         true,
		SkipDefaultTransaction: true,
		Logger:                 logger.Discard,
	})
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	return db, nil
}

// openSQL is the pool under Open's GORM handle.
func openSQL(dsn string, oc openConfig) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 2 * time.Second}
	}
	if oc.statementTimeout > 0 {
		if cfg.RuntimeParams == nil {
			cfg.RuntimeParams = map[string]string{}
		}
		cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(oc.statementTimeout.Milliseconds(), 10)
	}
	sqlDB := stdlib.OpenDB(*cfg)
	sqlDB.SetMaxOpenConns(oc.maxConns)
	sqlDB.SetMaxIdleConns(oc.maxConns)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	return sqlDB, nil
}

func provider(db *gorm.DB) (*goose.Provider, error) {
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, sqlDB, Migrations(), goose.WithSessionLocker(locker))
}

// Migrate applies every pending migration and reports how many ran.
func Migrate(ctx context.Context, db *gorm.DB) (int, error) {
	p, err := provider(db)
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("migrate: %w", err)
	}
	if err := catchUpLog(ctx, db); err != nil {
		return len(res), fmt.Errorf("migrate: the log's hashes: %w", err)
	}
	if err := migrateJobs(ctx, db); err != nil {
		return len(res), fmt.Errorf("migrate: River's tables: %w", err)
	}
	return len(res), nil
}

// Store is the PostgreSQL implementation of registry.Store. A Store is a
// view: the root New returns, a transaction's view, one write's view in a
// batch, or a read on a replica. Every view points to the one root, which
// holds what they all share, and carries only its own statement handle and
// transaction state; no view copies the root's fields, so none can drop one.
type Store struct {
	*root
	// db is where the view's statements run: the pool (the root's own
	// view), a transaction, a batch's connection or a replica.
	db *gorm.DB
	// buf holds a transaction's rows until they are flushed (nil outside a
	// transaction). A view's statements go through q (reads, which flush
	// it first) and w (writes, which mark it dirty); a write through q is
	// caught all the same (writecheck.go).
	buf *writeBuffer
	// batchCtx, inside a batch, is the batch's own context: every statement
	// runs on it, whatever context the write's caller passes, so that a
	// client that hangs up cannot abort the transaction it shares.
	batchCtx context.Context
	// written holds the log hashes the running write added, and pending
	// those the batch's earlier writes added.
	written map[int64]translog.Hash
	pending map[int64]translog.Hash
	// earlier, for a batch prepared ahead of the head (ahead.go), holds the
	// log hashes of the batches before it that are not yet known on disk.
	earlier []map[int64]translog.Hash
}

// root is what every view of a store shares.
type root struct {
	// pool is the handle New was given: the primary's pool.
	pool *gorm.DB
	now  func() time.Time
	// goose answers Ping's schema versions.
	goose *goose.Provider
	// hashes keeps the log's recently committed hashes.
	hashes *hashCache
	// seq batches the writes of the register.
	seq *sequencer
	// similar is the similar-names index.
	similar *similarNames
	// replicas, when configured, serve reads that may go to a standby
	// (replicas.go).
	replicas *replicas
	// leader, when this instance takes part, says who leads the
	// sequencing of writes forwarded between instances (leader.go).
	leader *leadership
	// listenDSN, when set, is where the names' listener connects on its
	// own, and where Exclusive's locks have their own pool.
	listenDSN string
	locksOnce sync.Once
	locks     *sql.DB
	locksErr  error
}

var _ registry.Store = (*Store)(nil)

// New returns a Store over db; now is the clock the sequencer stamps with.
func New(db *gorm.DB, now func() time.Time, opts ...Option) (*Store, error) {
	p, err := provider(db)
	if err != nil {
		return nil, err
	}
	if err := checkWrites(db); err != nil {
		return nil, err
	}
	s := &Store{root: &root{pool: db, now: now, goose: p, hashes: newHashCache(8192)}, db: db}
	s.similar = newSimilarNames(s)
	s.seq = newSequencer(s, opts...)
	return s, nil
}

// view is the store's view with statements on db.
func (s *Store) view(db *gorm.DB) *Store { return &Store{root: s.root, db: db} }

// with is the store's view inside transaction tx.
func (s *Store) with(tx *gorm.DB) *Store {
	v := s.view(tx)
	v.written = map[int64]translog.Hash{}
	return v
}

// q is the handle for a statement that reads. Inside a transaction it
// first writes the rows the buffer holds, so that the statement sees them;
// an error in doing so is the statement's. A statement through it that
// writes all the same marks the buffer as w does (writecheck.go).
func (s *Store) q(ctx context.Context) *gorm.DB {
	if s.batchCtx != nil {
		ctx = s.batchCtx
	}
	if s.buf == nil {
		return s.db.WithContext(ctx)
	}
	db := s.db.WithContext(withBuffer(ctx, s.buf))
	if s.buf.ahead {
		// A batch prepared ahead of the head has no transaction to read
		// in: the write runs again under the head (ahead.go).
		s.buf.needHead = true
		_ = db.AddError(errNeedsHead)
		return db
	}
	if !s.buf.detached {
		if err := s.buf.flush(); err != nil {
			_ = db.AddError(err)
		}
	}
	return db
}

// w is q for a statement that writes: inside a batch, the running write has
// now changed the database itself, and failing it means failing the batch.
func (s *Store) w(ctx context.Context) *gorm.DB {
	db := s.q(ctx)
	if s.buf != nil {
		if err := s.buf.wrote(); err != nil {
			_ = db.AddError(err)
		}
	}
	return db
}

// transaction runs fn in one transaction: a batch of one. Its rows are
// buffered and written as a batch's are, when fn ends; once it has
// committed, the log's hashes it wrote can be read from memory and its
// grantor names join the similar names. Nothing of a transaction that
// rolled back gets there.
func (s *Store) transaction(ctx context.Context, fn func(tx *Store) error) error {
	var view *Store
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		view = s.with(tx)
		view.buf = &writeBuffer{tx: tx, ctx: ctx}
		view.buf.begin()
		if err := fn(view); err != nil {
			return err
		}
		return view.buf.flush()
	})
	if err == nil && view != nil {
		s.hashes.add(view.written)
		s.similar.added(view.buf.names)
	}
	return translate(err)
}

// discard keeps a connection in an unknown state out of the pool.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
}

// alone runs fn on s when s is a transaction's view, and otherwise in a
// transaction of its own: every write goes through a buffer.
func (s *Store) alone(ctx context.Context, fn func(tx *Store) error) error {
	if s.buf != nil {
		return fn(s)
	}
	return s.transaction(ctx, fn)
}

// Ping reports whether the database answers and its schema is at least
// this version's (no migration this version needs is pending).
func (s *Store) Ping(ctx context.Context) error { return classify(s.ping(ctx)) }

// ping is Ping before its error is classified.
func (s *Store) ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return err
	}
	current, target, err := s.goose.GetVersions(ctx)
	if err != nil {
		return err
	}
	// A newer schema is ready: during a rolling upgrade the new version's
	// migrations run while instances of the old one still serve, and
	// migrations only add what the old code does not read.
	if current < target {
		return fmt.Errorf("schema version %d, want at least %d", current, target)
	}
	return nil
}

// InTx runs fn in one transaction.
func (s *Store) InTx(ctx context.Context, fn func(tx registry.Tx) error) error {
	return s.transaction(ctx, func(tx *Store) error { return fn(tx) })
}

// Sequence is the register's sequencer: every registry write comes here and
// is run, with others that arrive meanwhile, in one batch (sequencer.go).
// It returns once the write's batch has committed, or with the write's own
// error.
func (s *Store) Sequence(ctx context.Context, kind registry.StampKind, fn func(tx registry.Tx, st registry.Stamp) error) error {
	return classify(s.seq.do(ctx, kind, fn))
}

// Close stops the goroutines the store owns, each after what it depends
// on: the sequencer's loop once it has run the writes it holds (later
// writes fail), then the loop that answers committed batches once they are
// on disk, the stamped searches still reading, and the appender of their
// rows; then the similar names' follower, the replicas' follower and the
// leadership; and last the locks' pool. New starts the sequencer's
// goroutines (LoadNames, UseReplicas and Lead start the others): a Store
// must be closed, before the *gorm.DB it was given.
func (s *Store) Close() {
	s.seq.close()
	s.similar.stop()
	if s.replicas != nil {
		s.replicas.close()
	}
	if s.leader != nil {
		s.leader.close()
	}
	if s.locks != nil {
		s.locks.Close()
	}
}

// translate turns GORM's and the driver's errors into the domain's (see
// classify for a database that cannot take the work).
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound), errors.Is(err, sql.ErrNoRows):
		return registry.ErrNotFound
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return registry.ErrConflict
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23505" {
		// A unique key taken, found by a statement of the batch's own.
		return fmt.Errorf("%w: %s", registry.ErrConflict, pg.Message)
	}
	return classify(err)
}

// affected is the error of a statement that must change a row: its own,
// or none when it changed none.
func affected(res *gorm.DB, none error) error {
	if res.Error != nil {
		return translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return none
	}
	return nil
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// bytea binds a byte string as one parameter (GORM would expand a bare
// []byte in a raw query into a list).
type bytea []byte

// Value passes the bytes to the driver as they are.
func (b bytea) Value() (driver.Value, error) { return []byte(b), nil }

// textArray is a list bound as one PostgreSQL text[] parameter, so a search
// that finds many registrations stays within the protocol's parameter limit.
type textArray []string

// Value renders the array literal; registry numbers are digits only.
func (a textArray) Value() (driver.Value, error) {
	for _, s := range a {
		if strings.ContainsAny(s, `{}",\ `) {
			return nil, fmt.Errorf("text array element %q needs quoting", s)
		}
	}
	return "{" + strings.Join(a, ",") + "}", nil
}

// lockPool is where Exclusive's locks are held: a small pool of their own
// when the store knows the database's address, so that a lock's holder,
// whose work needs connections of the main pool too, never holds one of
// them meanwhile (two holders could otherwise take a small pool between
// them and wait for each other).
func (s *Store) lockPool() (*sql.DB, error) {
	if s.listenDSN == "" {
		return s.pool.DB()
	}
	s.locksOnce.Do(func() { s.locks, s.locksErr = openSQL(s.listenDSN, openConfig{maxConns: 8}) })
	return s.locks, s.locksErr
}

// Exclusive runs fn only if no other instance on this database runs one
// under the same name: a session advisory lock on a connection of its own,
// which PostgreSQL releases at once if the instance dies. ran is false when
// another holds it.
func (s *Store) Exclusive(ctx context.Context, name string, fn func() error) (ran bool, err error) {
	ran, err = s.exclusive(ctx, name, fn)
	return ran, classify(err)
}

// exclusive is Exclusive before its error is classified.
func (s *Store) exclusive(ctx context.Context, name string, fn func() error) (ran bool, err error) {
	sqlDB, err := s.lockPool()
	if err != nil {
		return false, err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	var got bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock(hashtext($1))", name).Scan(&got); err != nil {
		return false, err
	}
	if !got {
		return false, nil
	}
	defer func() {
		if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtext($1))", name); uerr != nil {
			// The lock dies with the connection, which is then not reused.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	return true, fn()
}

// int64Array is a list of integers bound as one PostgreSQL bigint[]
// parameter.
type int64Array []int64

// Value renders the array literal.
func (a int64Array) Value() (driver.Value, error) {
	parts := make([]string, len(a))
	for i, n := range a {
		parts[i] = strconv.FormatInt(n, 10)
	}
	return "{" + strings.Join(parts, ",") + "}", nil
}
