package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	riverjobs "github.com/movable-registry/registry/internal/jobs"
	"github.com/movable-registry/registry/internal/registry"
)

// startJobs starts what keeps the log current: a checkpoint signed every
// checkpointEvery while there are new events, until the returned stop is
// called, which returns once the signer has ended (a checkpoint being signed
// is cancelled). Its progress is in metrics.
func startJobs(svc *registry.Service, checkpointEvery time.Duration, log *slog.Logger, metrics prometheus.Registerer) (stop func()) {
	jobs, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	checkpointSize := prometheus.NewGauge(prometheus.GaugeOpts{Name: "registry_log_checkpoint_size", Help: "Events covered by the latest signed checkpoint."})
	checkpointTime := prometheus.NewGauge(prometheus.GaugeOpts{Name: "registry_log_checkpoint_timestamp_seconds", Help: "When the latest checkpoint was signed."})
	publishFailures := prometheus.NewCounter(prometheus.CounterOpts{Name: "registry_log_checkpoint_failures_total", Help: "Checkpoints that could not be signed (alert on any)."})
	keyMismatch := prometheus.NewGauge(prometheus.GaugeOpts{Name: "registry_log_key_mismatch",
		Help: "1 while the configured log key is not the one that signed the register's checkpoints: nothing is signed and /readyz answers 503 (alert on 1)."})
	metrics.MustRegister(checkpointSize, checkpointTime, publishFailures, keyMismatch)
	reported := false
	go every(jobs, done, checkpointEvery, func() {
		cp, err := svc.PublishCheckpoint(jobs)
		if errors.Is(err, registry.ErrLogKeyMismatch) {
			// The signer tries no more until registryd is restarted with the
			// right key: said once, not every second.
			if !reported {
				reported = true
				publishFailures.Inc()
				keyMismatch.Set(1)
				log.Error("checkpoints are not signed, and /readyz answers 503: the log key does not match the register", "error", err)
			}
			return
		}
		if err != nil {
			if jobs.Err() == nil {
				publishFailures.Inc()
				log.Error("checkpoint not published", "error", err)
			}
			return
		}
		if cp.Size > 0 {
			checkpointSize.Set(float64(cp.Size))
			checkpointTime.Set(float64(cp.SignedAt.UnixNano()) / 1e9)
		}
	})
	return func() {
		cancel()
		<-done
	}
}

// tasks are the jobs River's leader runs every deadlineEvery, on one
// instance at a time: expiries and lapses recorded as events, expiry
// reminders stored as notices, expired idempotency keys purged, uploads
// that no filing names removed after attachments.unnamed_retention, the
// personal data of registrations ended retention.years_after_end ago
// erased, and
// the registrations of successions passed to their successors (at least
// every 5 s, so that a succession starts soon after it is asked for; one
// cut short, by a crash or the task's time, goes on at the next run).
func tasks(svc *registry.Service, deadlineEvery time.Duration, log *slog.Logger, metrics prometheus.Registerer) []riverjobs.Task {
	deadlinesRecorded := prometheus.NewCounter(prometheus.CounterOpts{Name: "registry_deadlines_recorded_total", Help: "Expiries and lapses recorded as events."})
	remindersSent := prometheus.NewCounter(prometheus.CounterOpts{Name: "registry_expiry_reminders_total", Help: "Expiry reminders stored as notices."})
	keysPurged := prometheus.NewCounter(prometheus.CounterOpts{Name: "registry_idempotency_keys_purged_total", Help: "Idempotency keys (and their sealed answers) purged after idempotency.retention."})
	attachmentsRemoved := prometheus.NewCounter(prometheus.CounterOpts{Name: "registry_attachments_unnamed_removed_total", Help: "Uploads that no filing named, removed after attachments.unnamed_retention."})
	successionsPassed := prometheus.NewCounter(prometheus.CounterOpts{Name: "registry_succession_assignments_total", Help: "Registrations passed to a successor organization by a succession."})
	registrationsErased := prometheus.NewCounter(prometheus.CounterOpts{Name: "registry_registrations_erased_total",
		Help: "Registrations whose individuals' personal data was erased, retention.years_after_end after they ended."})
	metrics.MustRegister(deadlinesRecorded, remindersSent, keysPurged, attachmentsRemoved, successionsPassed, registrationsErased)
	return []riverjobs.Task{
		{Name: "record_deadlines", Every: deadlineEvery, Run: func(ctx context.Context) error {
			for more := true; more; {
				n, m, err := svc.RecordDeadlines(ctx, 1000)
				if err != nil {
					return fmt.Errorf("expiries and lapses not recorded: %w", err)
				}
				if n > 0 {
					deadlinesRecorded.Add(float64(n))
					log.Info("expiries and lapses recorded", "count", n)
				}
				more = m
			}
			return nil
		}},
		{Name: "purge_idempotency_keys", Every: deadlineEvery, Run: func(ctx context.Context) error {
			n, err := svc.PurgeIdempotencyKeys(ctx)
			keysPurged.Add(float64(n))
			if err != nil {
				return fmt.Errorf("idempotency keys not purged: %w", err)
			}
			return nil
		}},
		{Name: "remove_unnamed_attachments", Every: deadlineEvery, Run: func(ctx context.Context) error {
			n, err := svc.RemoveUnnamedAttachments(ctx)
			if n > 0 {
				attachmentsRemoved.Add(float64(n))
				log.Info("unnamed attachments removed", "count", n)
			}
			if err != nil {
				return fmt.Errorf("unnamed attachments not removed: %w", err)
			}
			return nil
		}},
		{Name: "successions", Every: min(deadlineEvery, 5*time.Second), Run: func(ctx context.Context) error {
			n, err := svc.RunSuccessions(ctx)
			if n > 0 {
				successionsPassed.Add(float64(n))
				log.Info("registrations passed to successors", "count", n)
			}
			if err != nil {
				return fmt.Errorf("successions not run to their end: %w", err)
			}
			return nil
		}},
		{Name: "erase_personal_data", Every: deadlineEvery, Run: func(ctx context.Context) error {
			n, err := svc.ErasePersonalData(ctx)
			if n > 0 {
				registrationsErased.Add(float64(n))
				log.Info("personal data of ended registrations erased", "count", n)
			}
			if err != nil {
				return fmt.Errorf("personal data not erased: %w", err)
			}
			return nil
		}},
		{Name: "expiry_reminders", Every: deadlineEvery, Run: func(ctx context.Context) error {
			n, err := svc.SendExpiryReminders(ctx)
			if err != nil {
				return fmt.Errorf("expiry reminders not sent: %w", err)
			}
			if n > 0 {
				remindersSent.Add(float64(n))
				log.Info("expiry reminders stored", "count", n)
			}
			return nil
		}},
	}
}

// every runs fn at once and then every d until ctx ends.
func every(ctx context.Context, done chan<- struct{}, d time.Duration, fn func()) {
	defer close(done)
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		fn()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
