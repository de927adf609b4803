package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/movable-registry/registry/internal/registry"
)

// startJobs starts what keeps the log current until jobs ends: a checkpoint
// signed every checkpointEvery while there are new events, and expiries and
// lapses recorded as events every deadlineEvery. Their progress is in metrics.
func startJobs(jobs context.Context, svc *registry.Service, checkpointEvery, deadlineEvery time.Duration, log *slog.Logger, metrics prometheus.Registerer) {
	checkpointSize := prometheus.NewGauge(prometheus.GaugeOpts{Name: "registry_log_checkpoint_size", Help: "Events covered by the latest signed checkpoint."})
	checkpointTime := prometheus.NewGauge(prometheus.GaugeOpts{Name: "registry_log_checkpoint_timestamp_seconds", Help: "When the latest checkpoint was signed."})
	publishFailures := prometheus.NewCounter(prometheus.CounterOpts{Name: "registry_log_checkpoint_failures_total", Help: "Checkpoints that could not be signed (alert on any)."})
	deadlinesRecorded := prometheus.NewCounter(prometheus.CounterOpts{Name: "registry_deadlines_recorded_total", Help: "Expiries and lapses recorded as events."})
	metrics.MustRegister(checkpointSize, checkpointTime, publishFailures, deadlinesRecorded)
	go every(jobs, checkpointEvery, func() {
		cp, err := svc.PublishCheckpoint(jobs)
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
	go every(jobs, deadlineEvery, func() {
		for more := true; more; {
			var n int
			var err error
			n, more, err = svc.RecordDeadlines(jobs, 1000)
			if err != nil {
				if jobs.Err() == nil {
					log.Error("expiries and lapses not recorded", "error", err)
				}
				return
			}
			if n > 0 {
				deadlinesRecorded.Add(float64(n))
				log.Info("expiries and lapses recorded", "count", n)
			}
		}
	})
}

// every runs fn at once and then every d until ctx ends.
func every(ctx context.Context, d time.Duration, fn func()) {
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
