package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/registry"
)

// auditScan is what a pass over the audit trail found: the events it
// records, by "type number", with the entry that records each.
type auditScan struct {
	audited          map[string]int64
	newest           *audit.Record
	count, unchained int
}

// scanAudit streams the whole audit trail, newest first, and checks that
// its ids have no gaps, that each entry's chain value follows from the one
// before, that the head the checkpoint signs and what was verified last
// time are unchanged; it keeps the events the trail records.
func (v *verifier) scanAudit(ctx context.Context, st state) (*auditScan, error) {
	resp, err := v.api.api.ExportAudit(ctx, nil)
	resp, err = ok("GET /audit/export", resp, err)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	r := csv.NewReader(resp.Body)
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil || strings.Join(header, ",") != "id,at,actor,user_id,organization_id,action,target,outcome,source,request_id,detail,chain" {
		return nil, fmt.Errorf("the audit export has an unknown header %v: %v", header, err)
	}
	// The events the trail records, by "type number" (the detail of a
	// registry change's entry), with the entry that records each.
	audited := map[string]int64{}
	var newest, newer *audit.Record
	count, unchained := 0, 0
	sawPinned := st.Audit.ID == 0
	sawHead := v.head.Seq == 0
	for {
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("the audit export: %w", err)
		}
		rec, err := parseAuditRow(row)
		if err != nil {
			return nil, fmt.Errorf("the audit export, row %d: %w", count+1, err)
		}
		count++
		if newest == nil {
			newest = &rec
		}
		if newer != nil {
			switch {
			case rec.ID >= newer.ID:
				v.find("audit entry %d comes after entry %d: the trail is out of order", rec.ID, newer.ID)
			case rec.ID < newer.ID-1:
				v.find("audit entries %d to %d are missing: deleted from the trail", rec.ID+1, newer.ID-1)
			default:
				v.checkChain(*newer, rec.Chain)
			}
		}
		if v.hasHead && rec.ID == v.head.Seq {
			sawHead = true
			if !bytes.Equal(rec.Chain, v.head.Chain) {
				v.find("audit entry %d does not have the chain value the signed checkpoint commits to: the trail up to it was rewritten", rec.ID)
			}
		}
		if rec.ID == st.Audit.ID {
			sawPinned = true
			if !bytes.Equal(rec.Chain, st.Audit.Chain) {
				v.find("audit entry %d has changed since it was verified %s", rec.ID, st.VerifiedAt.Format(time.RFC3339))
			}
		}
		if rec.Chain == nil {
			unchained++
		}
		if typ, number, ok := strings.Cut(rec.Detail, " "); ok && rec.Outcome == audit.Success && len(number) == 20 && slices.Contains(registry.EventTypes, typ) {
			audited[rec.Detail] = rec.ID
		}
		r := rec
		newer = &r
	}
	if newer != nil {
		if newer.ID != 1 {
			v.find("audit entries 1 to %d are missing: deleted from the trail", newer.ID-1)
		} else {
			v.checkChain(*newer, nil)
		}
	}
	if v.hasHead && !sawHead {
		v.find("the signed checkpoint commits to audit entry %d, which the trail does not hold", v.head.Seq)
	}
	if !sawPinned {
		v.find("audit entry %d, verified %s, is no longer in the trail", st.Audit.ID, st.VerifiedAt.Format(time.RFC3339))
	}
	return &auditScan{audited: audited, newest: newest, count: count, unchained: unchained}, nil
}

// matchAudit checks that every event of the log has its audit entry and
// that every event audited is in the log. It returns the newest entry.
func (v *verifier) matchAudit(ctx context.Context, records []registry.EventRecord, scan *auditScan) (audit.Record, error) {
	audited, newest, count, unchained := scan.audited, scan.newest, scan.count, scan.unchained
	for _, e := range records {
		if _, ok := audited[e.Type+" "+e.Number]; !ok {
			v.find("log entry %d (event %s): no audit entry records it", e.LogIndex, e.Number)
		}
		delete(audited, e.Type+" "+e.Number)
	}
	// What is left was audited as done but is not in the signed log: it may
	// have been appended since the checkpoint (the trail was read after it),
	// and is then checked against the served log past the checkpoint, whose
	// entries the next run will hold to a signature.
	if len(audited) > 0 {
		later, err := v.entriesAfter(ctx, int64(len(records)), audited)
		if err != nil {
			return audit.Record{}, err
		}
		if later > 0 {
			v.note("%s events appended after the checkpoint (checked against the log as served; the next checkpoint signs them)", plural(later, "audit entry records", "audit entries record"))
		}
	}
	orphans := make([]string, 0, len(audited))
	for detail := range audited {
		orphans = append(orphans, detail)
	}
	slices.SortFunc(orphans, func(a, b string) int { return int(audited[a] - audited[b]) })
	for _, detail := range orphans {
		v.find("audit entry %d records the event %q, which the log does not hold", audited[detail], detail)
	}
	v.note("%s checked (%d from before the chain began)", plural(count, "audit entry", "audit entries"), unchained)
	if newest == nil {
		return audit.Record{}, nil
	}
	return *newest, nil
}

// checkChain checks entry e's chain value against its predecessor's (nil
// for the first entry, or one from before the chain began).
func (v *verifier) checkChain(e audit.Record, prev []byte) {
	if e.Chain == nil {
		return
	}
	if prev == nil {
		prev = audit.ChainStart
	}
	if !bytes.Equal(audit.Chain(prev, e.ID, e.Entry), e.Chain) {
		v.find("audit entry %d (%s %s at %s): its content does not match its chain value: the entry, or the one before it, was changed",
			e.ID, e.Action, e.Target, registry.At(e.At).Format(registry.TimeLayout))
	}
}

// parseAuditRow reads one CSV row of the export, undoing the ' put before
// text cells that a spreadsheet would take for a formula.
func parseAuditRow(row []string) (audit.Record, error) {
	if len(row) != 12 {
		return audit.Record{}, fmt.Errorf("%d columns", len(row))
	}
	for i := 2; i < 11; i++ {
		row[i] = strings.TrimPrefix(row[i], "'")
	}
	id, err := strconv.ParseInt(row[0], 10, 64)
	if err != nil {
		return audit.Record{}, err
	}
	at, err := time.Parse(time.RFC3339Nano, row[1])
	if err != nil {
		return audit.Record{}, err
	}
	var chain []byte
	if row[11] != "" {
		if chain, err = base64.StdEncoding.DecodeString(row[11]); err != nil {
			return audit.Record{}, err
		}
	}
	return audit.Record{ID: id, Chain: chain, Entry: audit.Entry{At: at, Actor: audit.ActorKind(row[2]), UserID: row[3], OrganizationID: row[4],
		Action: row[5], Target: row[6], Outcome: audit.Outcome(row[7]), Source: row[8], RequestID: row[9], Detail: row[10]}}, nil
}
