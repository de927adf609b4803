package postgres

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// One instance at a time leads the sequencing of register writes when
// instances forward to each other (httpx/forward.go): the one that holds a
// session advisory lock on a connection of its own. It writes its address
// into the leaders table, and the others find the leader from the lock's
// live holder (pg_locks, joined with the leaders table by
// server process): never a stale row, and a leader that dies loses the
// lock with its connection.

// leaderLock is the advisory lock's two keys ("regi", 2); the two-key form
// keeps it apart from Exclusive's one-key locks.
const leaderLockClass, leaderLockObject = 0x72656769, 2

// leaderPoll is how often the lock is tried and the leader looked up.
const leaderPoll = 500 * time.Millisecond

type leadership struct {
	mu     sync.RWMutex
	url    string
	self   bool
	stop   chan struct{}
	closed chan struct{}
}

// Lead takes part in choosing the leader, offering address (this
// instance's own base URL, as the others reach it), until Close.
func (s *Store) Lead(address string) {
	l := &leadership{stop: make(chan struct{}), closed: make(chan struct{})}
	s.leader = l
	go l.run(s, address)
}

// Leader returns the leading instance's address and whether it is this
// one; "" when none is known (no instance leads, or Lead was not called).
func (s *Store) Leader() (string, bool) {
	l := s.leader
	if l == nil {
		return "", false
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.url, l.self
}

func (l *leadership) set(url string, self bool) {
	l.mu.Lock()
	l.url, l.self = url, self
	l.mu.Unlock()
}

func (l *leadership) close() {
	close(l.stop)
	<-l.closed
}

func (l *leadership) run(s *Store, address string) {
	defer close(l.closed)
	var conn *sql.Conn
	var held bool
	defer func() {
		if conn != nil {
			discard(conn) // the lock goes with the connection
			conn.Close()
		}
	}()
	t := time.NewTicker(leaderPoll)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, held = l.step(ctx, s, conn, held, address)
		cancel()
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
	}
}

// step keeps the lock if conn holds it, else tries it, and else looks up
// the leader; it returns the connection to keep (nil after a failure) and
// whether it holds the lock.
func (l *leadership) step(ctx context.Context, s *Store, conn *sql.Conn, held bool, address string) (*sql.Conn, bool) {
	fail := func() (*sql.Conn, bool) {
		if conn != nil {
			discard(conn)
			conn.Close()
		}
		l.set("", false)
		return nil, false
	}
	if conn == nil {
		sqlDB, err := s.lockPool()
		if err != nil {
			return fail()
		}
		if conn, err = sqlDB.Conn(ctx); err != nil {
			return fail()
		}
		held = false
	}
	if held {
		if err := conn.PingContext(ctx); err != nil {
			return fail()
		}
		return conn, true
	}
	var got bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1, $2)", leaderLockClass, leaderLockObject).Scan(&got); err != nil {
		return fail()
	}
	if got {
		_, err := conn.ExecContext(ctx, `WITH gone AS (DELETE FROM leaders WHERE pid <> pg_backend_pid())
			INSERT INTO leaders (pid, address) VALUES (pg_backend_pid(), $1)
			ON CONFLICT (pid) DO UPDATE SET address = EXCLUDED.address, since = now()`, address)
		if err != nil {
			return fail()
		}
		l.set(address, true)
		return conn, true
	}
	var leader string
	err := conn.QueryRowContext(ctx, `SELECT l.address FROM leaders l JOIN pg_locks k ON k.pid = l.pid
		WHERE k.locktype = 'advisory' AND k.classid = $1 AND k.objid = $2 AND k.objsubid = 2 AND k.granted`,
		leaderLockClass, leaderLockObject).Scan(&leader)
	if err != nil {
		l.set("", false)
		return conn, false
	}
	l.set(leader, false)
	return conn, false
}
