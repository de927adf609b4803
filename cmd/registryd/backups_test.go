package main

import (
	"database/sql"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/pgtest"
)

// TestMetricsShowTheLastBackupAndArchivedWAL records backups the way the
// backup scripts do (scripts/backup-record.sh, with psql) and reads them
// back on the running registryd's /metrics: the newest of each kind as a
// timestamp, nothing before the first (never a 0 that an alert would read
// as 1970), a refused record changing nothing. The archived WAL's timestamp
// follows PostgreSQL's pg_stat_archiver: absent while nothing was archived,
// and when the test server archives, the segment a pg_switch_wal() closes.
func TestMetricsShowTheLastBackupAndArchivedWAL(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("psql"); err != nil {
		t.Skip("psql is not installed (Debian: apt-get install postgresql-client)")
	}
	url := pgtest.URL(t)
	addr, _, _ := startServerWith(t, map[string]string{"DATABASE_URL": url, "REGISTRY_SHUTDOWN_GRACE": "0s"})
	base := "http://" + addr
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	const full = `registry_backup_last_completed_timestamp_seconds{kind="full"}`
	const incr = `registry_backup_last_completed_timestamp_seconds{kind="incr"}`
	if v, ok := sample(t, base, full); ok {
		t.Fatalf("before any backup /metrics shows a full backup at %v", v)
	}
	if _, ok := sample(t, base, "registry_wal_archiving_enabled"); !ok {
		t.Error("/metrics does not say whether the primary archives WAL")
	}

	record := func(args ...string) error {
		cmd := exec.Command("../../scripts/backup-record.sh", args...)
		cmd.Env = append(os.Environ(), "DATABASE_URL="+url)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Logf("backup-record.sh %v: %v\n%s", args, err, out)
		}
		return err
	}
	older := time.Date(2026, 12, 6, 1, 2, 3, 0, time.UTC)
	newer := time.Date(2026, 12, 7, 1, 2, 3, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		args  []string
		valid bool
	}{
		{"a full backup", []string{"full", "20261206-010203F", "repo1", older.Format(time.RFC3339)}, true},
		{"a newer full backup", []string{"full", "20261207-010203F", "repo1", newer.Format(time.RFC3339)}, true},
		{"an older one recorded late", []string{"full", "20261205-010203F", "repo1", "2026-12-05T01:02:03Z"}, true},
		{"an incremental one, now", []string{"incr", "20261207-010203F_20261207-020000I", "repo1"}, true},
		{"a kind with a quote", []string{"full'); DROP TABLE backups; --", "x", "repo1"}, false},
		{"no repository", []string{"full", "x", ""}, false},
		{"too few arguments", []string{"full", "x"}, false},
	} {
		if err := record(tc.args...); (err == nil) != tc.valid {
			t.Errorf("%s: recorded %v, want %v", tc.name, err == nil, tc.valid)
		}
	}
	if v, ok := sample(t, base, full); !ok || v != float64(newer.Unix()) {
		t.Errorf("the last full backup on /metrics: %v (shown %v), want %v", v, ok, newer.Unix())
	}
	if v, ok := sample(t, base, incr); !ok || time.Since(time.Unix(int64(v), 0)) > time.Minute {
		t.Errorf("the last incremental backup on /metrics: %v (shown %v), want about now", v, ok)
	}
	var rows int
	if err := db.QueryRow(`SELECT count(*) FROM backups`).Scan(&rows); err != nil || rows != 4 {
		t.Errorf("%d backups recorded (%v), want 4", rows, err)
	}

	var archiving bool
	if err := db.QueryRow(`SELECT current_setting('archive_mode') <> 'off'`).Scan(&archiving); err != nil {
		t.Fatal(err)
	}
	if archiving {
		// Close the current segment (it holds this test's writes) and wait
		// for the archiver, within generous slack.
		var before sql.NullTime
		_ = db.QueryRow(`SELECT last_archived_time FROM pg_stat_archiver`).Scan(&before)
		if _, err := db.Exec(`SELECT pg_switch_wal()`); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			var last sql.NullTime
			if err := db.QueryRow(`SELECT last_archived_time FROM pg_stat_archiver`).Scan(&last); err != nil {
				t.Fatal(err)
			}
			if last.Valid && (!before.Valid || last.Time.After(before.Time)) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the test server archives WAL but archived no segment within 30 s")
			}
			time.Sleep(100 * time.Millisecond)
		}
	} else {
		t.Log("the test server does not archive WAL (archive_mode off): only the metric's absence or its agreement with pg_stat_archiver is checked")
	}
	var last sql.NullTime
	if err := db.QueryRow(`SELECT last_archived_time FROM pg_stat_archiver`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	v, ok := sample(t, base, "registry_wal_last_archived_timestamp_seconds")
	switch {
	case ok != last.Valid:
		t.Errorf("the last archived WAL segment shown %v, pg_stat_archiver knows one %v", ok, last.Valid)
	case ok && v != float64(last.Time.UnixNano())/1e9:
		t.Errorf("the last archived WAL segment at %v on /metrics, %v in pg_stat_archiver", v, last.Time)
	}
	// The WAL written since that segment: 0 right after the switch, shown
	// only when a segment was archived.
	if u, shown := sample(t, base, "registry_wal_unarchived_bytes"); shown != last.Valid || u < 0 {
		t.Errorf("unarchived WAL %v shown %v, a segment archived %v", u, shown, last.Valid)
	}
	if e, _ := sample(t, base, "registry_wal_archiving_enabled"); (e == 1) != archiving {
		t.Errorf("registry_wal_archiving_enabled %v, archive_mode on %v", e, archiving)
	}
}
