package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/translog"
)

type entry struct {
	Index    int64              `json:"index"`
	Record   []byte             `json:"record"`
	Openings []registry.Opening `json:"openings"`
	// ErasedAt is set when the registry erased the personal data of the
	// individuals the event names: the openings are gone, and the event
	// is replayed with those fields empty.
	ErasedAt *time.Time `json:"erased_at"`
	LeafHash tlog.Hash  `json:"leaf_hash"`
	Indexed  struct {
		Number             string    `json:"number"`
		RegistrationNumber string    `json:"registration_number"`
		Type               string    `json:"type"`
		RegisteredAt       time.Time `json:"registered_at"`
	} `json:"indexed"`
}

// entries downloads the first n entries of the log, checks each on its own
// and against the one before it, and computes the tree over the records. It
// returns the records and the tree's root, or ok false when entries are
// missing and no root can be computed.
func (v *verifier) entries(ctx context.Context, n int64) (records []registry.EventRecord, root tlog.Hash, ok bool, err error) {
	tree := &translog.MemoryTree{}
	next := int64(0)
	ok = true
	var prev *registry.EventRecord
	items, err := v.fetchEntries(ctx, n)
	if err != nil {
		return nil, root, false, err
	}
	records = make([]registry.EventRecord, 0, len(items))
	for _, it := range items {
		if it.Index > next {
			v.find("log entries %d to %d are missing: events were deleted", next, it.Index-1)
			ok, next = false, it.Index
		}
		leaf := tlog.RecordHash(it.Record)
		// The record the log commits to, its identity numbers opened.
		rec, derr := registry.OpenRecord(it.Record, it.Openings)
		if derr == nil && it.ErasedAt != nil {
			// What the registry serves since: those fields erased.
			rec, derr = registry.EraseRecord(rec, *it.ErasedAt)
		}
		label := fmt.Sprintf("log entry %d", it.Index)
		if derr == nil {
			label += " (event " + rec.Number + ")"
		}
		switch {
		case derr != nil:
			v.find("%s: %v", label, derr)
		case rec.LogIndex != it.Index:
			v.find("%s holds the record of log position %d: events were moved or reordered", label, rec.LogIndex)
		}
		if leaf != it.LeafHash {
			v.find("%s: its record does not hash to the leaf hash stored when it was logged: the record was changed afterwards", label)
		}
		if derr == nil {
			v.compareIndexed(label, it, rec)
			if prev != nil {
				if !rec.At.After(prev.At) {
					v.find("%s: registered at %s, not after the event before it (%s at %s)", label, registry.At(rec.At).Format(registry.TimeLayout), prev.Number, registry.At(prev.At).Format(registry.TimeLayout))
				}
				if sequence(rec.Number) <= sequence(prev.Number) {
					v.find("%s: numbered %s, not after the event before it (%s)", label, rec.Number, prev.Number)
				}
			}
			// Decoded, the record's bytes are needed no more: a replay uses
			// the decoded event (a million records' bytes are a gigabyte).
			rec.Record, rec.LogRecord = nil, nil
			records = append(records, rec)
			prev = &records[len(records)-1]
		}
		if ok {
			if err := tree.AppendLeaf(next, leaf); err != nil {
				return nil, root, false, err
			}
		}
		next = it.Index + 1
	}
	if next != n {
		v.find("the log serves %d entries where %d were expected", next, n)
		ok = false
	}
	if ok {
		root, err = tree.Root(n)
	}
	return records, root, ok, err
}

// compareIndexed checks the columns the database finds an event by against
// its record: a back-dated column changes what searches as of an instant see.
func (v *verifier) compareIndexed(label string, it entry, rec registry.EventRecord) {
	ix := it.Indexed
	switch {
	case ix.Number != rec.Number:
		v.find("%s: the database files it under number %s", label, ix.Number)
	case ix.RegistrationNumber != rec.RegistrationNumber:
		v.find("%s: the database files it under registration %s, its record says %s", label, ix.RegistrationNumber, rec.RegistrationNumber)
	case ix.Type != rec.Type:
		v.find("%s: the database calls it %s, its record says %s", label, ix.Type, rec.Type)
	case !ix.RegisteredAt.Equal(rec.At):
		v.find("%s: the database dates it %s, its record says %s", label, registry.At(ix.RegisteredAt).Format(registry.TimeLayout), registry.At(rec.At).Format(registry.TimeLayout))
	}
}

// sequence is the 10-digit sequence inside a 20-digit number.
func sequence(number string) int64 {
	if len(number) != 20 {
		return -1
	}
	n, _ := strconv.ParseInt(number[8:18], 10, 64)
	return n
}

// registration compares one served registration with its replay, and says
// what differs ("" when nothing does).
func (v *verifier) registration(ctx context.Context, number string, records []registry.EventRecord) (string, error) {
	resp, err := v.api.api.GetRegistration(ctx, number)
	resp, err = ok("GET /registrations/"+number, resp, err)
	if err != nil {
		return "", err
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return "", err
	}
	var served any
	if err := json.Unmarshal(answer, &served); err != nil {
		return "", err
	}
	// Statuses follow from the clock: the served answer was finished within
	// the second its Date header names.
	date, err := time.Parse(time.RFC1123, resp.Header.Get("Date"))
	if err != nil {
		date = time.Now()
	}
	far := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	var diff string
	for _, now := range []time.Time{date, date.Add(time.Second - time.Microsecond)} {
		regs, err := registry.Replay(records, far, now)
		if err != nil {
			return "the log's events do not replay: " + err.Error(), nil
		}
		if len(regs) != 1 {
			return "the log holds no initial event for it", nil
		}
		b, _ := json.Marshal(regs[0])
		var replayed any
		_ = json.Unmarshal(b, &replayed)
		if diff = firstDifference("", served, replayed); diff == "" {
			return "", nil
		}
	}
	return "the API serves something else than its events replay to: " + diff, nil
}

// firstDifference names the first place where two JSON values differ.
func firstDifference(path string, a, b any) string {
	if reflect.DeepEqual(a, b) {
		return ""
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			break
		}
		keys := map[string]bool{}
		for k := range x {
			keys[k] = true
		}
		for k := range y {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			if d := firstDifference(path+"."+k, x[k], y[k]); d != "" {
				return d
			}
		}
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			break
		}
		for i := range x {
			if d := firstDifference(fmt.Sprintf("%s[%d]", path, i), x[i], y[i]); d != "" {
				return d
			}
		}
	}
	as, _ := json.Marshal(a)
	bs, _ := json.Marshal(b)
	return fmt.Sprintf("%s is %s, the log says %s", strings.TrimPrefix(path, "."), as, bs)
}

// entriesAfter reads the served log from position from to its end, and
// takes each event it holds out of audited; it returns how many it took.
func (v *verifier) entriesAfter(ctx context.Context, from int64, audited map[string]int64) (int, error) {
	items, err := v.entriesPage(ctx, from, -1)
	if err != nil {
		return 0, err
	}
	took := 0
	for _, it := range items {
		rec, err := registry.RecordOf(it.Record)
		if err != nil {
			v.find("log entry %d (after the checkpoint): %v", it.Index, err)
			continue
		}
		if _, ok := audited[rec.Type+" "+rec.Number]; ok {
			delete(audited, rec.Type+" "+rec.Number)
			took++
		}
	}
	return took, nil
}
