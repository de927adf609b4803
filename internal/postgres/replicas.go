package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	pgdriver "gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/plugin/dbresolver"

	"github.com/movable-registry/registry/internal/registry"
)

// Reads that need not see the newest write may go to streaming standbys
// (database_replica_urls), through GORM's dbresolver: each replica is a
// named resolver, and a read names the one chosen for it. Which one, if
// any, is decided here, by the register's own position rather than by
// time: register_head.log_size commits with the events it counts, so a
// replica whose register_head shows log size n holds every event before n
// and the registrations' state they made. A read asks for a replica that
// has replayed at least
//
//   - for a search, the log size of its stamp: it then finds what the
//     primary would have found;
//   - otherwise, the newest log size this instance has committed or has
//     seen on the primary (polled every replicaPoll): a client reads its own
//     writes through the instance it wrote through, and through any other
//     after one poll.
//
// A replica that has not replayed that far, that fails, or that lags more
// than replica_max_lag behind the primary is passed over and the primary
// serves; a row that is not there (a stored search written an instant
// ago) is looked for on the primary too.

// replicaPoll is how often the replicas' positions and the primary's are read.
const replicaPoll = 200 * time.Millisecond

type replica struct {
	name    string
	address string // the URL without its password, for /readyz
	db      *gorm.DB

	logSize atomic.Int64 // the largest register_head.log_size seen on it
	up      atomic.Bool  // answering, and within replica_max_lag

	mu      sync.Mutex
	lag     time.Duration
	lastErr string

	served prometheus.Counter
}

// sample is the primary's log size at a time, to tell how far behind a
// replica is.
type sample struct {
	at   time.Time
	size int64
}

type replicas struct {
	list    []*replica
	maxLag  time.Duration
	primary *gorm.DB
	next    atomic.Uint64 // round robin

	primarySize atomic.Int64 // the primary's log size as last polled
	mu          sync.Mutex
	samples     []sample

	fallbacks *prometheus.CounterVec
	stop      chan struct{}
	stopped   chan struct{}
}

// UseReplicas sends the reads that may go to a replica to the standbys at
// urls, leaving out one that lags more than maxLag.
func (s *Store) UseReplicas(urls []string, maxLag time.Duration) error {
	if len(urls) == 0 {
		return nil
	}
	if s.replicas != nil {
		return errors.New("replicas are already in use")
	}
	rs := &replicas{maxLag: maxLag, primary: s.db, stop: make(chan struct{}), stopped: make(chan struct{}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "registry_replica_fallbacks_total",
			Help: "Reads that could have gone to a replica and were served by the primary, by why.",
		}, []string{"why"}),
	}
	resolver := &dbresolver.DBResolver{}
	for i, u := range urls {
		name := fmt.Sprintf("replica-%d", i)
		pool, err := openSQL(u, openConfig{maxConns: 32})
		if err != nil {
			return fmt.Errorf("replica %d: %w", i, err)
		}
		resolver = resolver.Register(dbresolver.Config{Replicas: []gorm.Dialector{pgdriver.New(pgdriver.Config{Conn: pool})}}, name)
		rs.list = append(rs.list, &replica{name: name, address: redact(u),
			served: prometheus.NewCounter(prometheus.CounterOpts{
				Name: "registry_replica_reads_total", Help: "Reads served by a replica.",
				ConstLabels: prometheus.Labels{"replica": name},
			})})
	}
	resolver.SetMaxOpenConns(32).SetMaxIdleConns(32).SetConnMaxIdleTime(5 * time.Minute)
	if err := s.db.Use(resolver); err != nil {
		return fmt.Errorf("replicas: %w", err)
	}
	for _, r := range rs.list {
		r.db = s.db.Clauses(dbresolver.Use(r.name), dbresolver.Read)
	}
	rs.poll()
	s.replicas = rs
	go rs.follow()
	return nil
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unreadable address)"
	}
	return p.Redacted()
}

func (rs *replicas) close() {
	close(rs.stop)
	<-rs.stopped
}

func (rs *replicas) follow() {
	defer close(rs.stopped)
	t := time.NewTicker(replicaPoll)
	defer t.Stop()
	for {
		select {
		case <-rs.stop:
			return
		case <-t.C:
			rs.poll()
		}
	}
}

// poll reads the primary's log size, then each replica's, and judges how
// far behind each is: its lag is the age of the newest sample of the
// primary that it has caught up with.
func (rs *replicas) poll() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	now := time.Now()
	var size int64
	if err := rs.primary.WithContext(ctx).Raw("SELECT log_size FROM register_head").Scan(&size).Error; err == nil {
		raise(&rs.primarySize, size)
		rs.mu.Lock()
		rs.samples = append(rs.samples, sample{at: now, size: size})
		// Keep what a lag up to maxLag (and a little more) is judged by.
		for len(rs.samples) > 2 && now.Sub(rs.samples[1].at) > rs.maxLag+replicaPoll {
			rs.samples = rs.samples[1:]
		}
		rs.mu.Unlock()
	}
	for _, r := range rs.list {
		n, err := r.position(ctx)
		r.mu.Lock()
		if err != nil {
			r.lastErr, r.lag = err.Error(), 0
			r.up.Store(false)
			r.mu.Unlock()
			continue
		}
		r.lastErr = ""
		r.lag = rs.lagOf(n, now)
		r.up.Store(r.lag <= rs.maxLag)
		r.mu.Unlock()
	}
}

func (rs *replicas) lagOf(n int64, now time.Time) time.Duration {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if len(rs.samples) == 0 {
		return 0
	}
	for i := len(rs.samples) - 1; i >= 0; i-- {
		if rs.samples[i].size <= n {
			if i == len(rs.samples)-1 {
				return 0
			}
			// Caught up with sample i, not with i+1: behind since i+1.
			return now.Sub(rs.samples[i+1].at)
		}
	}
	return now.Sub(rs.samples[0].at)
}

// position reads the replica's log size and remembers the largest seen.
func (r *replica) position(ctx context.Context) (int64, error) {
	var n int64
	if err := r.db.WithContext(ctx).Raw("SELECT log_size FROM register_head").Scan(&n).Error; err != nil {
		return 0, err
	}
	raise(&r.logSize, n)
	return r.logSize.Load(), nil
}

// pick returns a replica that is up and holds the register up to log size
// need, asking one that is up but was behind at its last poll again; nil
// when none does.
func (rs *replicas) pick(ctx context.Context, need int64) *replica {
	n := len(rs.list)
	start := int(rs.next.Add(1))
	var behind *replica
	for i := range n {
		r := rs.list[(start+i)%n]
		if !r.up.Load() {
			continue
		}
		if r.logSize.Load() >= need {
			return r
		}
		if behind == nil {
			behind = r
		}
	}
	if behind == nil {
		rs.fallbacks.WithLabelValues("none_up").Inc()
		return nil
	}
	check, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if got, err := behind.position(check); err == nil && got >= need {
		return behind
	}
	rs.fallbacks.WithLabelValues("behind").Inc()
	return nil
}

// failed takes a replica out of use until its next poll finds it answering.
func (rs *replicas) failed(r *replica, err error) {
	rs.fallbacks.WithLabelValues("failed").Inc()
	r.mu.Lock()
	r.lastErr = err.Error()
	r.mu.Unlock()
	r.up.Store(false)
}

// floor is the log size a read that need not be a search's asks of a
// replica: every event this instance committed or saw on the primary.
func (s *Store) floor() int64 {
	return max(s.seq.committed.Load(), s.replicas.primarySize.Load())
}

// onReplica is s reading on replica r.
func (s *Store) onReplica(r *replica) *Store {
	return s.view(r.db)
}

// readOn runs read on a replica that holds the register up to log size
// need (floor when need is negative), else on the primary (run). Inside a
// transaction it reads there.
func readOn[T any](s *Store, ctx context.Context, need int64, read func(v *Store) (T, error)) (T, error) {
	rs := s.replicas
	if rs == nil || s.buf != nil || s.batchCtx != nil || s.db != rs.primary {
		return read(s)
	}
	if need < 0 {
		need = s.floor()
	}
	var out T
	err := rs.run(ctx, need, func(r *replica) error {
		v := s
		if r != nil {
			v = s.onReplica(r)
		}
		var err error
		out, err = read(v)
		return err
	})
	return out, err
}

// run calls read with a replica that holds the register up to log size
// need, and with nil (the primary) when none does, or when the replica
// failed or lacked a row; a refusal of the read's own is its answer.
func (rs *replicas) run(ctx context.Context, need int64, read func(r *replica) error) error {
	if r := rs.pick(ctx, need); r != nil {
		err := read(r)
		switch {
		case err == nil:
			r.served.Inc()
			return nil
		case ctx.Err() != nil, isRefusal(err):
			return err
		case errors.Is(err, registry.ErrNotFound):
			rs.fallbacks.WithLabelValues("not_found").Inc()
		default:
			rs.failed(r, err)
		}
	}
	return read(nil)
}

// isRefusal is an error of the read's own (a bad cursor, a limit), not of
// the database that ran it.
func isRefusal(err error) bool {
	var ve *registry.ValidationError
	var ue *registry.UnavailableError
	var re *registry.Refusal
	var le *registry.RateLimitedError
	return errors.As(err, &ve) || errors.As(err, &ue) || errors.As(err, &re) || errors.As(err, &le) || errors.Is(err, registry.ErrForbidden)
}

// raise sets a to v if v is larger.
func raise(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// Replicas reports each replica's state for /readyz.
func (s *Store) Replicas() []registry.ReplicaState {
	if s.replicas == nil {
		return nil
	}
	out := make([]registry.ReplicaState, 0, len(s.replicas.list))
	for _, r := range s.replicas.list {
		r.mu.Lock()
		out = append(out, registry.ReplicaState{Name: r.name, Address: r.address, InUse: r.up.Load(),
			LogSize: r.logSize.Load(), LagSeconds: r.lag.Seconds(), Error: r.lastErr})
		r.mu.Unlock()
	}
	return out
}

func (rs *replicas) collectors() []prometheus.Collector {
	out := []prometheus.Collector{rs.fallbacks}
	for _, r := range rs.list {
		out = append(out, r.served)
	}
	return out
}
