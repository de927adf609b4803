package jobs

import (
	"context"
	"database/sql"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the notices' and their deliveries' metrics: counters kept by
// the workers of this instance, and the queue read from the database when
// scraped (the same on every instance: take the maximum, not the sum).
type metrics struct {
	db         *sql.DB
	notices    *prometheus.CounterVec
	deliveries *prometheus.CounterVec
	depth      *prometheus.Desc
	oldest     *prometheus.Desc
}

func newMetrics(db *sql.DB) *metrics {
	return &metrics{db: db,
		notices: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "registry_notices_total",
			Help: "Notices made, by kind, counted as they enter delivery (within a poll of their event)."}, []string{"kind"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "registry_deliveries_total",
			Help: "Delivery attempts by channel (webhook, email) and outcome: delivered, failed (retried later), given_up (after 24 h), gone (the webhook, user or notice no longer exists)."},
			[]string{"channel", "outcome"}),
		depth: prometheus.NewDesc("registry_delivery_queue_depth",
			"Undelivered work: notices not yet turned into deliveries (stage outbox), and delivery jobs waiting, retrying or running (stage jobs).", []string{"stage"}, nil),
		oldest: prometheus.NewDesc("registry_delivery_oldest_undelivered_seconds",
			"Age of the oldest notice or delivery job not yet delivered (0 when none).", nil, nil),
	}
}

func (m *metrics) outcome(channel, outcome string) {
	m.deliveries.WithLabelValues(channel, outcome).Inc()
}

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	m.notices.Describe(ch)
	m.deliveries.Describe(ch)
	ch <- m.depth
	ch <- m.oldest
}

// Collect reads the queue (both counts by index: the outbox's partial index
// and River's fetching index, whose first column is the state).
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.notices.Collect(ch)
	m.deliveries.Collect(ch)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var outbox, jobs int64
	var since sql.NullFloat64
	err := m.db.QueryRowContext(ctx, `WITH o AS (SELECT count(*) AS n, min(created_at) AS t FROM notifications WHERE enqueued_at IS NULL),
			j AS (SELECT count(*) AS n, min(created_at) AS t FROM river_job
				WHERE state IN ('available', 'retryable', 'scheduled', 'running') AND kind IN ('deliver_webhook', 'deliver_email'))
		SELECT o.n, j.n, extract(epoch FROM now() - LEAST(o.t, j.t))::float8 FROM o, j`).Scan(&outbox, &jobs, &since)
	if err != nil {
		return // the scrape shows the counters only; readiness reports the database
	}
	ch <- prometheus.MustNewConstMetric(m.depth, prometheus.GaugeValue, float64(outbox), "outbox")
	ch <- prometheus.MustNewConstMetric(m.depth, prometheus.GaugeValue, float64(jobs), "jobs")
	ch <- prometheus.MustNewConstMetric(m.oldest, prometheus.GaugeValue, max(since.Float64, 0))
}
