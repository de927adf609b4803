package postgres

import (
	"reflect"
	"testing"
	"unsafe"

	"github.com/movable-registry/registry/internal/audit"
)

// Every table of the buffer is in tables, once: a table left out would be
// neither marked nor discarded nor emptied after a flush.
func TestEveryBufferTableIsListed(t *testing.T) {
	b := &writeBuffer{}
	listed := map[unsafe.Pointer]bool{}
	for _, tb := range b.tables() {
		p := reflect.ValueOf(tb).UnsafePointer()
		if listed[p] {
			t.Errorf("table %T is listed twice", tb)
		}
		listed[p] = true
	}
	v := reflect.ValueOf(b).Elem()
	tableType := reflect.TypeFor[table]()
	n := 0
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !reflect.PointerTo(f.Type).Implements(tableType) {
			continue
		}
		n++
		if !listed[v.Field(i).Addr().UnsafePointer()] {
			t.Errorf("table %s (%s) is not in tables", f.Name, f.Type)
		}
	}
	if n != len(listed) {
		t.Errorf("%d tables listed, the buffer has %d", len(listed), n)
	}
	if n < 16 {
		t.Errorf("found %d tables, want at least 16: the test no longer sees them", n)
	}
}

func TestBufferDiscardDropsOnlyTheRunningWritesRows(t *testing.T) {
	b := &writeBuffer{}
	if !b.empty() || b.grown() {
		t.Fatal("a new buffer is not empty")
	}
	b.events = append(b.events, eventRow{Number: "1"})
	b.hashIDs, b.hashes = append(b.hashIDs, 1), append(b.hashes, []byte{1})
	b.audits = append(b.audits, audit.Entry{Action: "a"})
	if !b.grown() {
		t.Fatal("rows added before any mark are not the running write's")
	}
	b.begin()
	if b.grown() || b.dirty {
		t.Fatal("begin did not mark the rows held")
	}
	b.events = append(b.events, eventRow{Number: "2"})
	b.hashIDs, b.hashes = append(b.hashIDs, 2), append(b.hashes, []byte{2})
	b.keys = append(b.keys, keyRow{ID: []byte("k")})
	if !b.grown() {
		t.Fatal("the running write's rows are not seen")
	}
	b.discard()
	if len(b.events) != 1 || b.events[0].Number != "1" || len(b.hashIDs) != 1 || len(b.hashes) != 1 || len(b.keys) != 0 || len(b.audits) != 1 {
		t.Fatalf("after discard: %d events, %d hash ids, %d hashes, %d keys, %d audits", len(b.events), len(b.hashIDs), len(b.hashes), len(b.keys), len(b.audits))
	}
	if b.grown() {
		t.Fatal("rows remain after discard")
	}
}

func TestBufferWroteMarksDirtyAndDetachedRefuses(t *testing.T) {
	b := &writeBuffer{}
	b.begin()
	if err := b.wrote(); err != nil || !b.dirty {
		t.Fatalf("wrote: %v, dirty %v", err, b.dirty)
	}
	d := &writeBuffer{detached: true}
	if err := d.wrote(); err != errDetachedWrite {
		t.Fatalf("a detached buffer's write: %v, want %v", err, errDetachedWrite)
	}
}

func TestWritesTellsReadsFromWrites(t *testing.T) {
	for sql, want := range map[string]bool{
		"SELECT number FROM registrations WHERE number = ?":                             false,
		"(SELECT 1) UNION (SELECT 2)":                                                   false,
		"select updated_at, last_update_at FROM drafts":                                 false,
		"SELECT body FROM x WHERE note = 'please UPDATE me' AND \"delete\" = 1":         false,
		"WITH r AS (SELECT 1) SELECT * FROM r":                                          false,
		"INSERT INTO drafts (id) VALUES (?)":                                            true,
		"update tokens SET last_used_at = ?":                                            true,
		"DELETE FROM watches WHERE id = ?":                                              true,
		"WITH d AS (DELETE FROM x RETURNING id) SELECT count(*) FROM d":                 true,
		"SELECT u.id FROM users u WHERE u.organization_id = ? ORDER BY u.id FOR UPDATE": true,
		"SELECT 1 FROM x FOR SHARE":                                                     true,
		"SELECT 1 FROM x FOR KEY SHARE":                                                 true,
		"SELECT pg_advisory_xact_lock(1, 2)":                                            true,
		"SELECT nextval('s')":                                                           true,
		"SET LOCAL statement_timeout = 0":                                               true,
		"SELECT 'unterminated":                                                          false,
	} {
		if got := writes(sql); got != want {
			t.Errorf("writes(%q) = %v, want %v", sql, got, want)
		}
	}
}
