// Package jobs runs the registry's durable jobs on River, in the same
// PostgreSQL: turning committed notices into deliveries, and delivering
// them to webhooks, signed, with retries.
package jobs

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivertype"

	"github.com/movable-registry/registry/internal/outbound"
	"github.com/movable-registry/registry/internal/registry"
)

// Store is what the jobs read and write.
type Store interface {
	DB() (*sql.DB, error)
	EnqueueNotices(ctx context.Context, limit int, emails bool, enqueue func(tx *sql.Tx, deliveries []registry.Delivery) error) (map[string]int, error)
	DeliveryOf(ctx context.Context, d registry.Delivery) (registry.Notice, registry.Webhook, error)
	EmailOf(ctx context.Context, d registry.Delivery) (registry.Notice, registry.User, error)
	RecordDelivery(ctx context.Context, a registry.DeliveryAttempt) error
}

// Options configure the jobs.
type Options struct {
	Log   *slog.Logger
	Guard outbound.Guard
	// RetryBase is the first retry's delay (default 10 s); each doubles,
	// up to an hour, with jitter; a delivery is given up after RetryFor
	// (default 24 h).
	RetryBase time.Duration
	RetryFor  time.Duration
	// Poll is how often the notices are looked at and jobs fetched
	// (default 1 s).
	Poll time.Duration
	// SMTP, when its Addr is set, sends each notice by email to the users
	// of its organization who asked for them.
	SMTP SMTP
	// Tasks run every so often on one instance at a time: River's leader
	// schedules them.
	Tasks []Task
	// Metrics, when set, gets the notices' and deliveries' metrics.
	Metrics prometheus.Registerer
	// DB, when set, is River's own pool (else the store's): River's
	// fetching, leadership and completion then never wait behind requests
	// for a connection, nor requests behind them.
	DB *sql.DB
}

// Task is work done every so often, such as recording expiries.
type Task struct {
	Name  string
	Every time.Duration
	Run   func(ctx context.Context) error
}

// taskArgs names the task a periodic job runs.
type taskArgs struct {
	Name string `json:"name"`
}

func (taskArgs) Kind() string { return "registry_task" }

type tasker struct {
	river.WorkerDefaults[taskArgs]
	tasks map[string]Task
}

// Work runs the named task. A task that fails waits for its next turn.
func (t *tasker) Work(ctx context.Context, job *river.Job[taskArgs]) error {
	task, ok := t.tasks[job.Args.Name]
	if !ok {
		return river.JobCancel(fmt.Errorf("no task %q here", job.Args.Name))
	}
	return task.Run(ctx)
}

// Timeout lets a task run for up to ten minutes.
func (t *tasker) Timeout(*river.Job[taskArgs]) time.Duration { return 10 * time.Minute }

// enqueueArgs is the periodic job that turns notices into deliveries.
type enqueueArgs struct{}

func (enqueueArgs) Kind() string { return "enqueue_notices" }

// deliverArgs is one notice's delivery to one webhook.
type deliverArgs struct {
	NotificationID int64  `json:"notification_id"`
	WebhookID      string `json:"webhook_id"`
}

func (deliverArgs) Kind() string { return "deliver_webhook" }

// Jobs is the running River client.
type Jobs struct {
	client *river.Client[*sql.Tx]
}

// Start starts the jobs; Stop ends them.
func Start(ctx context.Context, store Store, o Options) (*Jobs, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	o.RetryBase = cmp.Or(o.RetryBase, 10*time.Second)
	o.RetryFor = cmp.Or(o.RetryFor, 24*time.Hour)
	o.Poll = cmp.Or(o.Poll, time.Second)
	db := o.DB
	var err error
	if db == nil {
		if db, err = store.DB(); err != nil {
			return nil, err
		}
	}
	j := &Jobs{}
	workers := river.NewWorkers()
	m := newMetrics(db)
	if o.Metrics != nil {
		if err := o.Metrics.Register(m); err != nil {
			return nil, err
		}
	}
	river.AddWorker(workers, &enqueuer{m: m, store: store, jobs: j, log: o.Log, emails: o.SMTP.Addr != ""})
	river.AddWorker(workers, &emailer{m: m, store: store, smtp: o.SMTP, o: o})
	river.AddWorker(workers, &deliverer{m: m, store: store, client: o.Guard.Client(10 * time.Second), o: o})
	tasks := &tasker{tasks: map[string]Task{}}
	river.AddWorker(workers, tasks)
	periodic := []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(o.Poll),
		func() (river.JobArgs, *river.InsertOpts) { return enqueueArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})}
	for _, t := range o.Tasks {
		tasks.tasks[t.Name] = t
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(t.Every),
			func() (river.JobArgs, *river.InsertOpts) {
				// One attempt: the next period is the retry.
				return taskArgs{Name: t.Name}, &river.InsertOpts{MaxAttempts: 1}
			}, &river.PeriodicJobOpts{RunOnStart: true}))
	}
	j.client, err = river.NewClient(riverdatabasesql.New(db), &river.Config{
		Logger:            o.Log,
		FetchPollInterval: o.Poll,
		FetchCooldown:     min(o.Poll, 100*time.Millisecond),
		MaxAttempts:       40,
		// A delivery takes at most 10 s; one still running after 30 s
		// belonged to an instance that died, and is run again.
		JobTimeout:           20 * time.Second,
		RescueStuckJobsAfter: 30 * time.Second,
		RetryPolicy:          backoff{base: o.RetryBase},
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 20}},
		Workers:              workers,
		PeriodicJobs:         periodic,
	})
	if err != nil {
		return nil, err
	}
	if err := j.client.Start(ctx); err != nil {
		return nil, err
	}
	return j, nil
}

// Stop lets the jobs at work finish (within ctx) and stops.
func (j *Jobs) Stop(ctx context.Context) error { return j.client.Stop(ctx) }

// backoff retries after base, doubling up to an hour, each with up to a
// quarter of jitter.
type backoff struct{ base time.Duration }

func (b backoff) NextRetry(job *rivertype.JobRow) time.Time {
	d := b.base
	for i := 1; i < job.Attempt && d < time.Hour; i++ {
		d *= 2
	}
	d = min(d, time.Hour)
	d += time.Duration(rand.Int64N(int64(d)/4 + 1))
	return time.Now().Add(d)
}

type enqueuer struct {
	river.WorkerDefaults[enqueueArgs]
	m      *metrics
	store  Store
	jobs   *Jobs
	log    *slog.Logger
	emails bool
}

// Work turns every notice not yet enqueued into its deliveries, a
// thousand at a time.
func (e *enqueuer) Work(ctx context.Context, _ *river.Job[enqueueArgs]) error {
	for {
		kinds, err := e.store.EnqueueNotices(ctx, 1000, e.emails, func(tx *sql.Tx, ds []registry.Delivery) error {
			params := make([]river.InsertManyParams, len(ds))
			for i, d := range ds {
				if d.UserID != "" {
					params[i] = river.InsertManyParams{Args: emailArgs{NotificationID: d.NotificationID, UserID: d.UserID}}
				} else {
					params[i] = river.InsertManyParams{Args: deliverArgs{NotificationID: d.NotificationID, WebhookID: d.WebhookID}}
				}
			}
			_, err := e.jobs.client.InsertManyTx(ctx, tx, params)
			return err
		})
		if err != nil {
			return err
		}
		n := 0
		for kind, k := range kinds {
			e.m.notices.WithLabelValues(kind).Add(float64(k))
			n += k
		}
		if n < 1000 {
			return nil
		}
	}
}

type deliverer struct {
	river.WorkerDefaults[deliverArgs]
	m      *metrics
	store  Store
	client *http.Client
	o      Options
}

// Work posts the notice to the webhook, signed; any 2xx delivers it.
func (d *deliverer) Work(ctx context.Context, job *river.Job[deliverArgs]) error {
	notice, hook, err := d.store.DeliveryOf(ctx, registry.Delivery{NotificationID: job.Args.NotificationID, WebhookID: job.Args.WebhookID})
	if errors.Is(err, registry.ErrNotFound) {
		d.m.outcome("webhook", "gone")
		return river.JobCancel(fmt.Errorf("the notice or the webhook is gone"))
	}
	if err != nil {
		return err
	}
	if time.Since(job.CreatedAt) > d.o.RetryFor {
		d.m.outcome("webhook", "given_up")
		return river.JobCancel(fmt.Errorf("given up after %s", d.o.RetryFor))
	}
	body, err := json.Marshal(notice)
	if err != nil {
		return err
	}
	now := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.URL, strings.NewReader(string(body)))
	if err != nil {
		return river.JobCancel(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "registry-webhooks/1")
	req.Header.Set("Registry-Signature", Sign(hook.Secret, now.Unix(), body))
	attempt := registry.DeliveryAttempt{WebhookID: hook.ID, NotificationID: notice.ID, Attempt: job.Attempt, At: registry.At(now)}
	resp, err := d.client.Do(req)
	if err != nil {
		attempt.Error = err.Error()
	} else {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		attempt.StatusCode = resp.StatusCode
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			attempt.Error = "answered " + strconv.Itoa(resp.StatusCode)
		}
	}
	if rerr := d.store.RecordDelivery(ctx, attempt); rerr != nil {
		d.o.Log.Error("a delivery attempt could not be logged", "error", rerr)
	}
	if attempt.Error != "" {
		d.m.outcome("webhook", "failed")
		return errors.New(attempt.Error)
	}
	d.m.outcome("webhook", "delivered")
	return nil
}

// Sign is the Registry-Signature of body at unix time t with secret:
// t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>.
func Sign(secret string, t int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(t, 10) + "."))
	m.Write(body)
	return "t=" + strconv.FormatInt(t, 10) + ",v1=" + hex.EncodeToString(m.Sum(nil))
}
