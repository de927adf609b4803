package postgres

import (
	"context"
	"errors"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/movable-registry/registry/internal/names"
	"github.com/movable-registry/registry/internal/registry"
)

// The similar names come from an in-memory index (package names) of every
// grantor organization name in grantor_names. Each registryd builds it at
// start and keeps it current three ways: what its own transactions added
// goes in as they commit, before their writers are answered; a transaction
// that adds names notifies the others (NOTIFY registry_names), whose
// followers read the rows added since (grantor_names.id follows commit
// order); and each follower reads them anyway every namesPoll, should a
// notification be lost. Another instance's names are therefore offered
// within milliseconds, and within namesPoll at worst.
//
// Whether a similar name is offered is decided at search time from the
// register itself: a name is offered only where a search for it, as of the
// same instant and with the same include_inactive, would find something. So
// a cancelled registration's grantor leaves the similar names the moment the
// cancellation commits, and an as-of search gets the names of its instant.

const namesChannel = "registry_names"

// namesPoll bounds how late another instance's names may come in when
// notifications are lost.
const namesPoll = time.Second

type grantorName struct{ Key, Name string }

type similarNames struct {
	store *Store
	idx   *names.Index

	mu     sync.Mutex  // one catch-up at a time
	last   int64       // the highest grantor_names id read
	loaded atomic.Bool // read without mu: every name search asks

	// The follower of other instances' names: LoadNames starts it, and
	// Close stops it for good (closed: it is not started after that).
	following sync.Mutex
	closed    bool
	cancel    context.CancelFunc
	done      chan struct{}
}

func newSimilarNames(s *Store) *similarNames {
	return &similarNames{store: s, idx: names.New()}
}

// added puts what a committed transaction wrote into the index.
func (n *similarNames) added(rows []grantorName) {
	for _, r := range rows {
		n.idx.Add(r.Key, r.Name)
	}
}

// catchUp reads the names added since the last read.
func (n *similarNames) catchUp(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.loaded.Load() {
		return n.load(n.store.db.WithContext(ctx))
	}
	// The first load reads every name in one statement, which may take
	// longer than statement_timeout allows a request's: it runs in a
	// transaction of its own without one, bounded by ctx.
	return n.store.db.WithContext(ctx).Transaction(func(db *gorm.DB) error {
		if err := db.Exec("SET LOCAL statement_timeout = 0").Error; err != nil {
			return translate(err)
		}
		return n.load(db)
	})
}

// load reads the names added since the last read on db.
func (n *similarNames) load(db *gorm.DB) error {
	var count int
	if !n.loaded.Load() {
		// How many there are, to make room for them once.
		if err := db.Raw("SELECT count(*) FROM grantor_names").Scan(&count).Error; err != nil {
			return translate(err)
		}
		// The load's garbage (every row read) is collected as it goes, so
		// that building the index never holds twice what it keeps.
		defer debug.SetGCPercent(debug.SetGCPercent(20))
	}
	rows, err := db.Raw("SELECT id, name_key, name FROM grantor_names WHERE id > ? ORDER BY id", n.last).Rows()
	if err != nil {
		return translate(err)
	}
	defer rows.Close()
	err = n.idx.Load(count, func() (names.Name, bool, error) {
		var nm names.Name
		if !rows.Next() {
			return nm, false, rows.Err()
		}
		return nm, true, rows.Scan(&n.last, &nm.Key, &nm.Name)
	})
	if err != nil {
		return translate(err)
	}
	if !n.loaded.Load() {
		// What building the index took and no longer needs goes back now.
		debug.FreeOSMemory()
	}
	n.loaded.Store(true)
	return nil
}

// ready builds the index the first time. Once it is built, a name search
// never waits here for a follower's catch-up.
func (n *similarNames) ready(ctx context.Context) error {
	if n.loaded.Load() {
		return nil
	}
	return n.catchUp(ctx)
}

// startFollowing starts the follower unless it runs or the store is
// closed.
func (n *similarNames) startFollowing() {
	n.following.Lock()
	defer n.following.Unlock()
	if n.closed || n.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel, n.done = cancel, make(chan struct{})
	go n.follow(ctx)
}

// stop stops the follower, if it runs, and waits for it to end.
func (n *similarNames) stop() {
	n.following.Lock()
	n.closed = true
	cancel, done := n.cancel, n.done
	n.following.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// follow listens for other instances' names, and polls.
func (n *similarNames) follow(ctx context.Context) {
	defer close(n.done)
	for ctx.Err() == nil {
		err := n.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		_ = err // the connection went; poll until it comes back
		_ = n.catchUp(ctx)
		select {
		case <-ctx.Done():
		case <-time.After(namesPoll):
		}
	}
}

// listen holds a connection that listens on namesChannel, catching up on
// each notification and at least every namesPoll.
func (n *similarNames) listen(ctx context.Context) error {
	if n.store.listenDSN != "" {
		pc, err := pgx.Connect(ctx, n.store.listenDSN)
		if err != nil {
			return err
		}
		defer pc.Close(context.WithoutCancel(ctx))
		return n.listenOn(ctx, pc)
	}
	sqlDB, err := n.store.db.DB()
	if err != nil {
		return err
	}
	return onPgx(ctx, sqlDB, func(pc *pgx.Conn) error {
		defer func() {
			// The connection goes back to the pool: stop listening first.
			unlisten, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if _, err := pc.Exec(unlisten, "UNLISTEN "+namesChannel); err != nil {
				_ = pc.Close(unlisten)
			}
		}()
		return n.listenOn(ctx, pc)
	})
}

// listenOn listens on pc, catching up on each notification and at least
// every namesPoll.
func (n *similarNames) listenOn(ctx context.Context, pc *pgx.Conn) error {
	if _, err := pc.Exec(ctx, "LISTEN "+namesChannel); err != nil {
		return err
	}
	for {
		wait, cancel := context.WithTimeout(ctx, namesPoll)
		_, err := pc.WaitForNotification(wait)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		if err := n.catchUp(ctx); err != nil {
			return err
		}
	}
}

// LoadNames builds the similar-names index from the register and starts
// following what other instances add to it, until Close. registryd calls
// it at start; a store that is never told to load builds its index at its
// first name search and sees only its own writes after that.
func (s *Store) LoadNames(ctx context.Context) (names.Stats, error) {
	if err := s.similar.ready(ctx); err != nil {
		return names.Stats{}, err
	}
	s.similar.startFollowing()
	return s.similar.idx.Stats(), nil
}

// NamesStats reports the similar-names index's size.
func (s *Store) NamesStats() names.Stats { return s.similar.idx.Stats() }

// liveNamesSQL keeps, of the candidate keys in $1 (in their order), those a
// name search as of $2 would find something for: a grantor or former
// grantor with the key at that instant, of a registration effective then
// (or of any, with include_inactive $3). Each key is answered by the
// parties' partial indexes on name_key.
const liveNamesSQL = `
	SELECT c.k FROM unnest($1::text[]) WITH ORDINALITY AS c(k, o)
	WHERE EXISTS (SELECT 1 FROM parties p JOIN registrations r ON r.number = p.registration_number
			WHERE p.role = 'grantor' AND p.type = 'organization' AND p.name_key = c.k
			AND p.added_at <= $2 AND (p.removed_at IS NULL OR p.removed_at > $2)
			AND ($3 OR ((r.ended_at IS NULL OR r.ended_at > $2) AND r.expires_at > $2)))
	   OR EXISTS (SELECT 1 FROM parties p JOIN registrations r ON r.number = p.registration_number
			WHERE p.role = 'former_grantor' AND p.type = 'organization' AND p.name_key = c.k
			AND p.added_at <= $2 AND (p.removed_at IS NULL OR p.removed_at > $2)
			AND ($3 OR ((r.ended_at IS NULL OR r.ended_at > $2) AND r.expires_at > $2)))
	ORDER BY c.o`

// SimilarNames offers up to limit grantor names similar to the one
// searched (names.Compare), best first, each one a search as of q.AsOf
// would find something for.
func (s *Store) SimilarNames(ctx context.Context, q registry.SimilarQuery, limit int) ([]string, error) {
	out := []string{}
	if q.Key == "" || limit <= 0 {
		return out, nil
	}
	if err := s.similar.ready(ctx); err != nil {
		return nil, err
	}
	cands := s.similar.idx.Similar(q.Key, q.Name, 4*limit)
	if len(cands) == 0 {
		return out, nil
	}
	keys := make([]string, len(cands))
	byKey := make(map[string]string, len(cands))
	for i, c := range cands {
		keys[i], byKey[c.Key] = c.Key, c.Name
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, err
	}
	err = onPgx(ctx, sqlDB, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, liveNamesSQL, keys, q.AsOf, q.IncludeInactive)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() && len(out) < limit {
			var k string
			if err := rows.Scan(&k); err != nil {
				return err
			}
			out = append(out, byKey[k])
		}
		return rows.Err()
	})
	return out, translate(err)
}
