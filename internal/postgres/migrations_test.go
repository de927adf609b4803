package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"gorm.io/gorm"

	"github.com/movable-registry/registry/internal/pgtest"
	"github.com/movable-registry/registry/internal/postgres"
	"github.com/movable-registry/registry/internal/translog"
)

// migrations is a goose provider of the embedded migrations over gdb's
// connections, and those connections.
func migrations(t *testing.T, gdb *gorm.DB) (*goose.Provider, *sql.DB) {
	t.Helper()
	db, err := gdb.DB()
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, postgres.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	return p, db
}

// TestMigrationsGoDownAndUp undoes every migration and applies them again,
// so that each Down section is known to work.
func TestMigrationsGoDownAndUp(t *testing.T) {
	t.Parallel()
	_, gdb := pgtest.Open(t)
	p, _ := migrations(t, gdb)
	ctx := context.Background()
	down, err := p.DownTo(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	up, err := p.Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(down) != len(up) || len(up) < 2 {
		t.Errorf("%d down, %d up", len(down), len(up))
	}
}

// TestMigrationCatchesUpTheLog applies migration 00004 to a register that
// has events already: their tree hashes are written in log order, and an
// objection's deadline is taken from its record.
func TestMigrationCatchesUpTheLog(t *testing.T) {
	t.Parallel()
	_, gdb := pgtest.Open(t)
	p, db := migrations(t, gdb)
	ctx := context.Background()
	if _, err := p.DownTo(ctx, 3); err != nil {
		t.Fatal(err)
	}
	var records [][]byte
	for i := range 5 {
		typ, data := "initial", `{}`
		if i == 3 {
			typ, data = "objection", `{"statement":"no","lapses_at":"2026-12-26T00:00:00.000000Z"}`
		}
		rec := fmt.Appendf(nil, `{"log_index":%d,"number":"N%d","type":%q,"data":%s}`, i, i, typ, data)
		records = append(records, rec)
		if _, err := db.Exec(`INSERT INTO events (log_index, number, registration_number, type, registered_at, record) VALUES ($1, $2, 'R', $3, now(), $4)`,
			i, fmt.Sprint("N", i), typ, rec); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := postgres.Migrate(ctx, gdb); err != nil {
		t.Fatal(err)
	}
	store, err := postgres.New(gdb, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	tree := &translog.MemoryTree{}
	for i, rec := range records {
		if err := tree.Append(int64(i), rec); err != nil {
			t.Fatal(err)
		}
	}
	want, _ := tree.Root(5)
	got, err := translog.TreeHash(ctx, store, 5)
	if err != nil || got != want {
		t.Errorf("root after catching up %v, %v; want %v", got, err, want)
	}
	var lapses time.Time
	if err := db.QueryRow("SELECT lapses_at FROM objection_deadlines WHERE objection_number = 'N3'").Scan(&lapses); err != nil ||
		!lapses.Equal(time.Date(2026, 12, 26, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("objection deadline %v, %v", lapses, err)
	}
	// Migrating again finds nothing to catch up.
	if _, err := postgres.Migrate(ctx, gdb); err != nil {
		t.Fatal(err)
	}
}

// TestMigrationMarksTheNamedAttachments applies migration 00029 to a
// register with uploads: those that an initial registration or an
// amendment names are marked named (and so never removed), the others not.
func TestMigrationMarksTheNamedAttachments(t *testing.T) {
	t.Parallel()
	_, gdb := pgtest.Open(t)
	p, db := migrations(t, gdb)
	ctx := context.Background()
	if _, err := p.DownTo(ctx, 28); err != nil {
		t.Fatal(err)
	}
	ids := []string{"01a24f26-0000-7000-8000-000000000001", "01a24f26-0000-7000-8000-000000000002", "01a24f26-0000-7000-8000-000000000003"}
	for _, id := range ids {
		if _, err := db.Exec(`INSERT INTO attachments (id, organization_id, sha256, media_type, size, data, created_at)
			VALUES ($1, gen_random_uuid(), 'x', 'text/csv', 3, 'a,b'::bytea, now())`, id); err != nil {
			t.Fatal(err)
		}
	}
	records := []string{
		fmt.Sprintf(`{"log_index":0,"type":"initial","data":{"collateral":{"items":[{"id":"i1"}],"attachments":[{"id":%q,"sha256":"x"}]}}}`, ids[0]),
		fmt.Sprintf(`{"log_index":1,"type":"amendment","data":{"add_items":[{"id":%q}],"add_attachments":[{"id":%q}]}}`, ids[2], ids[1]),
	}
	for i, rec := range records {
		if _, err := db.Exec(`INSERT INTO events (log_index, number, registration_number, type, registered_at, record) VALUES ($1, $2, 'R', 'initial', now(), $3)`,
			i, fmt.Sprint("N", i), []byte(rec)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.UpTo(ctx, 29); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, true, false} {
		var named bool
		if err := db.QueryRow("SELECT named FROM attachments WHERE id = $1", ids[i]).Scan(&named); err != nil || named != want {
			t.Errorf("attachment %d named %v (%v), want %v", i, named, err, want)
		}
	}
}

// TestReadyOnANewerSchema: during a rolling upgrade the new version
// migrates while the old one still serves, so a schema newer than this
// version's is ready, and an older one is not.
func TestReadyOnANewerSchema(t *testing.T) {
	t.Parallel()
	_, gdb := pgtest.Open(t)
	store, err := postgres.New(gdb, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	if err := store.Ping(ctx); err != nil {
		t.Fatalf("a current schema: %v", err)
	}
	if err := gdb.Exec("INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, true)").Error; err != nil {
		t.Fatal(err)
	}
	if err := store.Ping(ctx); err != nil {
		t.Errorf("a newer schema: %v, want ready", err)
	}
	if err := gdb.Exec("DELETE FROM goose_db_version WHERE version_id >= 12").Error; err != nil {
		t.Fatal(err)
	}
	if err := store.Ping(ctx); err == nil {
		t.Error("an older schema is ready")
	}
}

// TestIndividualsSurviveMigration32GoingDownAndUp: with two individuals'
// accounts (whose USCCs are both empty), migration 00032 goes down (which
// once failed on the older unique index of USCCs) keeping both accounts,
// set aside as rejected, and up again restoring each one's identity number,
// address and status.
func TestIndividualsSurviveMigration32GoingDownAndUp(t *testing.T) {
	t.Parallel()
	_, gdb := pgtest.Open(t)
	p, db := migrations(t, gdb)
	ctx := context.Background()
	people := map[string]string{"11010519491231002X": "active", "440304198512310021": "pending"}
	for id, status := range people {
		if _, err := db.ExecContext(ctx, `INSERT INTO organizations (name, uscc, kind, status, id_number, address) VALUES ('个人', '', 'individual', $1, $2, '北京市东城区东长安街1号')`, status, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.DownTo(ctx, 31); err != nil {
		t.Fatalf("down past 00032 with two individuals: %v", err)
	}
	var kept int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM organizations WHERE kind = 'individual' AND status = 'rejected'`).Scan(&kept); err != nil || kept != 2 {
		t.Fatalf("after the down, %d individuals' accounts kept aside (%v), want 2", kept, err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
	rows, err := db.QueryContext(ctx, `SELECT id_number, status, address FROM organizations WHERE kind = 'individual'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var id, status, address string
		if err := rows.Scan(&id, &status, &address); err != nil {
			t.Fatal(err)
		}
		if address != "北京市东城区东长安街1号" {
			t.Errorf("%s's address came back as %q", id, address)
		}
		got[id] = status
	}
	if fmt.Sprint(got) != fmt.Sprint(people) {
		t.Errorf("after down and up, the individuals are %v, want %v", got, people)
	}
}

// TestMigrationsOfTheErasureAndOfIndividualsAlone: migration 00036 indexes
// the searches stored before it by the registrations in their answers
// that name an individual (and only those); 00038 suspends every user of
// an individual's account but the first, revoking their tokens.
func TestMigrationsOfTheErasureAndOfIndividualsAlone(t *testing.T) {
	t.Parallel()
	_, gdb := pgtest.Open(t)
	p, db := migrations(t, gdb)
	ctx := context.Background()
	if _, err := p.DownTo(ctx, 35); err != nil {
		t.Fatal(err)
	}
	body := `{"number":"S1","results":[
		{"registration":{"number":"R1","grantors":[{"type":"organization","name":"甲"},{"type":"individual","name":"李四海"}],"secured_parties":[]}},
		{"registration":{"number":"R2","grantors":[{"type":"organization","name":"乙"}],"secured_parties":[{"type":"organization"}]}},
		{"registration":{"number":"R3","grantors":[],"secured_parties":[{"type":"individual","name":"王小梅"}]}}]}`
	for _, s := range []struct{ number, body string }{{"S1", body}, {"S2", `{"number":"S2","results":[]}`}} {
		if _, err := db.ExecContext(ctx, `INSERT INTO searches (number, searched_at, as_of, criteria, include_inactive, register_position, result_count, body)
			VALUES ($1, now(), now(), '{}', false, 0, 3, $2)`, s.number, []byte(s.body)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.UpTo(ctx, 37); err != nil {
		t.Fatal(err)
	}
	var s1, s2 sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT (SELECT array_to_string(individuals, ' ') FROM searches WHERE number = 'S1'),
		(SELECT array_to_string(individuals, ' ') FROM searches WHERE number = 'S2')`).Scan(&s1, &s2); err != nil {
		t.Fatal(err)
	}
	if s1.String != "R1 R3" || s2.Valid {
		t.Errorf("indexed S1 by %q and S2 by %v; want R1 R3 and nothing", s1.String, s2)
	}

	var person string
	if err := db.QueryRowContext(ctx, `INSERT INTO organizations (name, uscc, kind, status, id_number, address)
		VALUES ('李四海', '', 'individual', 'active', '11010519491231002X', '北京市朝阳区建国路1号') RETURNING id`).Scan(&person); err != nil {
		t.Fatal(err)
	}
	users := make([]string, 3)
	for i := range users {
		if err := db.QueryRowContext(ctx, `INSERT INTO users (organization_id, email, display_name, roles, created_at)
			VALUES ($1, $2, '李四海', '{searcher}', now() + $3 * interval '1 minute') RETURNING id`, person, fmt.Sprint("p", i, "@example.cn"), i).Scan(&users[i]); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO tokens (user_id, hash, expires_at) VALUES ($1, $2, now() + interval '1 day')`, users[i], []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.UpTo(ctx, 38); err != nil {
		t.Fatal(err)
	}
	for i, id := range users {
		var suspended, revoked bool
		if err := db.QueryRowContext(ctx, `SELECT u.suspended_at IS NOT NULL, t.revoked_at IS NOT NULL FROM users u JOIN tokens t ON t.user_id = u.id WHERE u.id = $1`, id).
			Scan(&suspended, &revoked); err != nil {
			t.Fatal(err)
		}
		if want := i > 0; suspended != want || revoked != want {
			t.Errorf("user %d: suspended %v, token revoked %v; want %v", i, suspended, revoked, want)
		}
	}
}
