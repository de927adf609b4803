package postgres

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"
)

// The age of the newest backup and of the newest archived WAL segment, read
// from the primary at each scrape, so that an alert computes time() - x and
// fires when backups or archiving stop. Both come from the database itself
// rather than from the backup tool, so that one reading serves pgBackRest,
// Barman, pg_basebackup and any archive_command alike:
//
//   - the backups table, which the backup scripts write after each backup
//     that succeeded (scripts/backup-record.sh);
//   - pg_stat_archiver, PostgreSQL's own count of the WAL segments its
//     archive_command (or the CloudNativePG plugin) archived or failed to.
//
// What is not known is not shown: no backup recorded, or no segment ever
// archived, leaves the timestamp out rather than giving 0 (the year 1970),
// and a failed reading leaves every series out for that scrape, which the
// alert on absence catches as it catches a missing backup.

// backupScrapeTimeout bounds the readings of one scrape: a slow database
// must not hold the scraper, whose own timeout is seconds.
const backupScrapeTimeout = 2 * time.Second

type backupCollector struct {
	db *gorm.DB

	lastBackup      *prometheus.Desc
	lastArchived    *prometheus.Desc
	lastFailed      *prometheus.Desc
	archived        *prometheus.Desc
	failed          *prometheus.Desc
	archivingOn     *prometheus.Desc
	unarchived      *prometheus.Desc
	readingFailures prometheus.Counter
}

func newBackupCollector(db *gorm.DB) *backupCollector {
	return &backupCollector{
		db: db,
		lastBackup: prometheus.NewDesc("registry_backup_last_completed_timestamp_seconds",
			"When the newest backup of each kind that the backup tools recorded finished (absent: none recorded).", []string{"kind"}, nil),
		lastArchived: prometheus.NewDesc("registry_wal_last_archived_timestamp_seconds",
			"When the primary last archived a WAL segment, from pg_stat_archiver (absent: never since its statistics were reset).", nil, nil),
		lastFailed: prometheus.NewDesc("registry_wal_last_archive_failure_timestamp_seconds",
			"When archiving a WAL segment last failed on the primary (absent: never).", nil, nil),
		archived: prometheus.NewDesc("registry_wal_archived_total",
			"WAL segments the primary archived, from pg_stat_archiver.archived_count.", nil, nil),
		failed: prometheus.NewDesc("registry_wal_archive_failures_total",
			"Failed attempts to archive a WAL segment on the primary, from pg_stat_archiver.failed_count (alert on a rise).", nil, nil),
		archivingOn: prometheus.NewDesc("registry_wal_archiving_enabled",
			"1 when the primary archives WAL (archive_mode on or always), 0 when it does not.", nil, nil),
		unarchived: prometheus.NewDesc("registry_wal_unarchived_bytes",
			"WAL the primary wrote after the end of the last archived segment: 0 on a quiet database, whose archive may rightly age (absent: nothing archived yet).", nil, nil),
		readingFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "registry_backup_metrics_failures_total",
			Help: "Scrapes at which the backup and archiving state could not be read from the database."}),
	}
}

func (c *backupCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.lastBackup, c.lastArchived, c.lastFailed, c.archived, c.failed, c.archivingOn, c.unarchived} {
		ch <- d
	}
	c.readingFailures.Describe(ch)
}

func (c *backupCollector) Collect(ch chan<- prometheus.Metric) {
	defer c.readingFailures.Collect(ch)
	ctx, cancel := context.WithTimeout(context.Background(), backupScrapeTimeout)
	defer cancel()
	state, err := readBackupState(ctx, c.db)
	if err != nil {
		c.readingFailures.Inc()
		return
	}
	for _, b := range state.backups {
		ch <- prometheus.MustNewConstMetric(c.lastBackup, prometheus.GaugeValue, seconds(b.finished), b.kind)
	}
	if state.lastArchived.Valid {
		ch <- prometheus.MustNewConstMetric(c.lastArchived, prometheus.GaugeValue, seconds(state.lastArchived.Time))
	}
	if state.lastFailed.Valid {
		ch <- prometheus.MustNewConstMetric(c.lastFailed, prometheus.GaugeValue, seconds(state.lastFailed.Time))
	}
	ch <- prometheus.MustNewConstMetric(c.archived, prometheus.CounterValue, float64(state.archived))
	ch <- prometheus.MustNewConstMetric(c.failed, prometheus.CounterValue, float64(state.failed))
	on := 0.0
	if state.archiving {
		on = 1
	}
	ch <- prometheus.MustNewConstMetric(c.archivingOn, prometheus.GaugeValue, on)
	if end, ok := segmentEnd(state.lastArchivedWAL.String, state.segmentSize); ok && state.currentLSN.Valid {
		ch <- prometheus.MustNewConstMetric(c.unarchived, prometheus.GaugeValue, float64(max(0, state.currentLSN.Int64-end)))
	}
}

// segmentEnd is the WAL position just after the segment a WAL file name
// (timeline, then the segment number as two 8-digit hex halves) names, for
// segments of size bytes. A timeline history file names no segment.
func segmentEnd(name string, size int64) (int64, bool) {
	if len(name) < 24 || size <= 0 {
		return 0, false
	}
	hi, err1 := strconv.ParseUint(name[8:16], 16, 32)
	lo, err2 := strconv.ParseUint(name[16:24], 16, 32)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	perLog := int64(1<<32) / size
	return (int64(hi)*perLog + int64(lo) + 1) * size, true
}

func seconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

type backupState struct {
	backups []struct {
		kind     string
		finished time.Time
	}
	lastArchived, lastFailed sql.NullTime
	lastArchivedWAL          sql.NullString
	currentLSN               sql.NullInt64 // bytes; null on a standby
	segmentSize              int64
	archived, failed         int64
	archiving                bool
}

// readBackupState reads the newest backup of each kind and the archiver's
// statistics in one read-only transaction.
func readBackupState(ctx context.Context, db *gorm.DB) (backupState, error) {
	var st backupState
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		rows, err := tx.Raw(`SELECT kind, max(finished_at) FROM backups GROUP BY kind ORDER BY kind`).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var b struct {
				kind     string
				finished time.Time
			}
			if err := rows.Scan(&b.kind, &b.finished); err != nil {
				return err
			}
			st.backups = append(st.backups, b)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return tx.Raw(`SELECT last_archived_time, last_failed_time, archived_count, failed_count,
		                      current_setting('archive_mode') IN ('on', 'always'), last_archived_wal,
		                      CASE WHEN pg_is_in_recovery() THEN NULL ELSE (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint END,
		                      (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size')
		               FROM pg_stat_archiver`).Row().
			Scan(&st.lastArchived, &st.lastFailed, &st.archived, &st.failed, &st.archiving, &st.lastArchivedWAL, &st.currentLSN, &st.segmentSize)
	}, &sql.TxOptions{ReadOnly: true})
	return st, err
}
