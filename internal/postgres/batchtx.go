package postgres

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
)

// A sequencer batch runs on a connection of its own, in three round trips
// while it holds the register's head: one that begins the transaction and
// locks both heads (the register's and the audit chain's), the writes'
// own reads if they have any, and one that sends every row, the head's new
// state and COMMIT together (pgx's pipelined batch). It commits without
// waiting for the disk, so that the heads' locks are free for the next
// batch while this one's commit is written; its writes are answered only
// once it is (durable.go).

// beginBatchSQL is sent as one message (the simple protocol).
const beginBatchSQL = `BEGIN; SET LOCAL synchronous_commit TO off;
SELECT seq, log_size, (extract(epoch FROM last_at) * 1000000)::bigint FROM register_head FOR UPDATE;
SELECT seq, encode(hash, 'hex') FROM audit_head FOR UPDATE;
SELECT (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint`

type batchTx struct {
	conn      *sql.Conn
	db        *gorm.DB
	head      head
	auditSeq  int64
	auditHash []byte
	// server is when the server started (a restart or a failover changes
	// it): the flush barrier must reach the same one.
	server int64
	done   bool
}

// withPgx runs fn on the pgx connection under conn.
func withPgx(conn *sql.Conn, fn func(*pgx.Conn) error) error {
	return conn.Raw(func(dc any) error {
		pc, ok := dc.(interface{ Conn() *pgx.Conn })
		if !ok {
			return fmt.Errorf("the database driver is %T, not pgx", dc)
		}
		return fn(pc.Conn())
	})
}

// beginBatch takes a connection from the pool and begins a batch on it.
func (s *Store) beginBatch(ctx context.Context) (*batchTx, error) {
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return nil, translate(err)
	}
	b := &batchTx{conn: conn}
	err = withPgx(conn, func(pc *pgx.Conn) error {
		results, err := pc.PgConn().Exec(ctx, beginBatchSQL).ReadAll()
		if err != nil {
			return err
		}
		if len(results) != 5 || len(results[2].Rows) != 1 || len(results[3].Rows) != 1 || len(results[4].Rows) != 1 {
			return errors.New("the register's heads are missing")
		}
		if b.server, err = strconv.ParseInt(string(results[4].Rows[0][0]), 10, 64); err != nil {
			return err
		}
		h, a := results[2].Rows[0], results[3].Rows[0]
		var us int64
		if b.head.Seq, err = strconv.ParseInt(string(h[0]), 10, 64); err != nil {
			return err
		}
		if b.head.LogSize, err = strconv.ParseInt(string(h[1]), 10, 64); err != nil {
			return err
		}
		if us, err = strconv.ParseInt(string(h[2]), 10, 64); err != nil {
			return err
		}
		b.head.LastAt = time.UnixMicro(us).UTC()
		if b.auditSeq, err = strconv.ParseInt(string(a[0]), 10, 64); err != nil {
			return err
		}
		b.auditHash, err = hex.DecodeString(string(a[1]))
		return err
	})
	if err != nil {
		discard(conn)
		conn.Close()
		return nil, translate(err)
	}
	b.db = s.db.Session(&gorm.Session{Context: ctx, NewDB: true})
	b.db.Statement.ConnPool = conn
	return b, nil
}

// buffer is the batch's write buffer, which knows the audit chain's head.
func (b *batchTx) buffer(ctx context.Context) *writeBuffer {
	return &writeBuffer{tx: b.db, ctx: ctx, shared: true, auditRead: true, auditSeq: b.auditSeq, auditHash: b.auditHash}
}

// commit sends what buf holds with COMMIT after it.
func (b *batchTx) commit(buf *writeBuffer) error {
	buf.commit = true
	err := buf.flush()
	if err == nil {
		b.done = true
	}
	return err
}

// end rolls back a batch that did not commit and gives its connection back.
func (b *batchTx) end() {
	if !b.done {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := b.conn.ExecContext(ctx, "ROLLBACK"); err != nil {
			discard(b.conn)
		}
	}
	b.conn.Close()
}
