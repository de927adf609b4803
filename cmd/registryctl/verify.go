package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	apiclient "github.com/movable-registry/registry/client"
	"github.com/movable-registry/registry/internal/audit"
	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/statefile"
	"github.com/movable-registry/registry/internal/translog"
)

// verifier checks the register through its API and reports each finding.
type verifier struct {
	api       *client
	out       io.Writer
	statePath string
	key       string
	// witnesses are the witnesses whose cosignatures count; a checkpoint
	// needs quorum of them.
	witnesses []note.Verifier
	quorum    int
	mu        sync.Mutex // the checks run at once: one finding at a time
	findings  int
	// head is the audit head the checkpoint commits to, if it does.
	head    registry.AuditHead
	hasHead bool
}

// find reports one thing that does not hold.
func (v *verifier) find(format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.findings++
	fmt.Fprintf(v.out, "FINDING: "+format+"\n", args...)
}

func (v *verifier) note(format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	fmt.Fprintf(v.out, format+"\n", args...)
}

// state is what verify remembers between runs: the key it trusts, the last
// checkpoint and the newest audit entry it verified.
type state struct {
	VerifierKey string `json:"verifier_key"`
	Checkpoint  struct {
		Size int64     `json:"size"`
		Root tlog.Hash `json:"root"`
		Note string    `json:"note"`
	} `json:"checkpoint"`
	Audit struct {
		ID    int64  `json:"id"`
		Chain []byte `json:"chain"`
	} `json:"audit"`
	VerifiedAt time.Time `json:"verified_at"`
}

func (v *verifier) loadState() (state, error) {
	var st state
	return st, statefile.Load(v.statePath, &st)
}

func (v *verifier) saveState(st state) error { return statefile.Save(v.statePath, st) }

// checkpoint fetches the latest checkpoint and checks its signature with the
// key given, else the key pinned in st, else (on first use) the registry's own.
func (v *verifier) checkpoint(ctx context.Context, st *state) (translog.Checkpoint, []byte, error) {
	resp, err := v.api.api.GetLogKey(ctx)
	served, err := body("GET /log/key", resp, err)
	if err != nil {
		return translog.Checkpoint{}, nil, err
	}
	key := v.key
	switch {
	case key == "" && st.VerifierKey != "":
		key = st.VerifierKey
	case key == "":
		key = strings.TrimSpace(string(served))
		v.note("trusting the registry's verifier key on first use: %s\n  (compare it with the key the registry publishes elsewhere; it is pinned from now on)", key)
	}
	nv, err := note.NewVerifier(key)
	if err != nil {
		return translog.Checkpoint{}, nil, fmt.Errorf("verifier key: %w", err)
	}
	st.VerifierKey = key
	resp, err = v.api.api.GetCheckpoint(ctx)
	msg, err := body("GET /log/checkpoint", resp, err)
	if err != nil {
		return translog.Checkpoint{}, nil, err
	}
	cosigned, err := translog.OpenCosigned(msg, nv, v.witnesses)
	if err != nil {
		v.find("the checkpoint does not verify with key %s: %v", key, err)
		return translog.Checkpoint{}, nil, errFindings
	}
	cp := cosigned.Checkpoint
	if next, ok := v.rotation(cp, msg, key); ok {
		// The trusted key signed the new key's name: it is pinned from now on.
		st.VerifierKey, key = next, next
	}
	if strings.TrimSpace(string(served)) != key {
		v.find("the registry now serves the verifier key %q, not the trusted %q", strings.TrimSpace(string(served)), key)
	}
	v.note("checkpoint %s: %s, root %s (signature verified)", cp.Origin, plural(cp.Size, "event", "events"), cp.Root)
	if len(v.witnesses) > 0 {
		if len(cosigned.Witnesses) < v.quorum {
			v.find("the checkpoint of %s is cosigned by %d of the %s required (%s): no quorum vouches that others were shown the same log",
				plural(cp.Size, "event", "events"), len(cosigned.Witnesses), plural(v.quorum, "witness", "witnesses"), strings.Join(cosigned.Witnesses, ", "))
		} else {
			v.note("cosigned by %s (%s); %d required", plural(len(cosigned.Witnesses), "witness", "witnesses"), strings.Join(cosigned.Witnesses, ", "), v.quorum)
		}
	}
	h, ok, err := registry.AuditHeadOf(cp)
	switch {
	case err != nil:
		v.find("%v", err)
	case ok:
		v.head, v.hasHead = h, true
		v.note("the checkpoint commits to the audit trail up to entry %d", h.Seq)
	}
	return cp, msg, nil
}

// rotation reads a key rotation from a checkpoint that the trusted key
// signed: its log-key line names the log's new key, which must sign the
// checkpoint too. It returns the new key to trust.
func (v *verifier) rotation(cp translog.Checkpoint, msg []byte, trusted string) (string, bool) {
	next, ok := cp.Extension(registry.LogKeyExtension)
	if !ok || next == trusted {
		return "", false
	}
	nv, err := note.NewVerifier(next)
	if err != nil {
		v.find("the checkpoint names the new log key %q, which cannot be read: %v", next, err)
		return "", false
	}
	if _, err := translog.Open(msg, nv); err != nil {
		v.find("the checkpoint names the new log key %s, which did not sign it: %v", next, err)
		return "", false
	}
	v.note("the registry rotated its log key: the checkpoint is signed by the trusted key %s and by the new key %s, which the trusted key names; the new key is trusted from now on", keyName(trusted), keyName(next))
	return next, true
}

// keyName is a verifier key's name and hash, as signature lines give them.
func keyName(vkey string) string {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) < 2 {
		return vkey
	}
	return parts[0] + "+" + parts[1]
}

type entry struct {
	Index    int64              `json:"index"`
	Record   []byte             `json:"record"`
	Openings []registry.Opening `json:"openings"`
	LeafHash tlog.Hash          `json:"leaf_hash"`
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

// extends asks the registry to prove that checkpoint cp extends the tree of
// size n with root, and checks the proof: errFindings when it does not.
func (v *verifier) extends(ctx context.Context, cp translog.Checkpoint, n int64, root tlog.Hash) error {
	var p struct {
		Proof []tlog.Hash `json:"proof"`
	}
	to := int(cp.Size)
	resp, err := v.api.api.ProveConsistency(ctx, &apiclient.ProveConsistencyParams{From: int(n), To: &to})
	if err := decode("GET /log/proof/consistency", resp, err, &p); err != nil {
		return err
	}
	if tlog.CheckTree(p.Proof, cp.Size, cp.Root, n, root) != nil {
		return errFindings
	}
	return nil
}

// sequence is the 10-digit sequence inside a 20-digit number.
func sequence(number string) int64 {
	if len(number) != 20 {
		return -1
	}
	n, _ := strconv.ParseInt(number[8:18], 10, 64)
	return n
}

// verify checks the whole register.
func (v *verifier) verify(ctx context.Context) error {
	st, cp, msg, err := v.start(ctx)
	if err != nil {
		return err
	}
	// Three reads at once: the entries (checked as they come), the
	// registrations' digests the API derives, and the audit trail; the
	// registry works on one while this process checks another.
	began := time.Now()
	at := began.UTC().Truncate(time.Microsecond)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var served []registry.RegistrationDigest
	var scan *auditScan
	var servedErr, scanErr error
	var wg sync.WaitGroup
	wg.Go(func() { served, servedErr = v.fetchStates(ctx, cp.Size, at) })
	wg.Go(func() { scan, scanErr = v.scanAudit(ctx, st) })
	records, root, ok, err := v.entries(ctx, cp.Size)
	if err != nil {
		cancel()
		wg.Wait()
		return err
	}
	if ok && root != cp.Root {
		v.find("the %d entries served hash to root %s, not to the signed %s: entries were changed, removed or reordered since it was signed", cp.Size, root, cp.Root)
	} else if ok {
		v.note("%s read and checked; their tree has the signed root (%.1f s)", plural(cp.Size, "entry", "entries"), time.Since(began).Seconds())
	}
	wg.Wait()
	if err := errors.Join(servedErr, scanErr); err != nil {
		return err
	}
	if err := v.compareStates(ctx, records, served, at, cp.Size); err != nil {
		return err
	}
	head, err := v.matchAudit(ctx, records, scan)
	if err != nil {
		return err
	}
	v.note("verified in %.1f s", time.Since(began).Seconds())
	if v.findings > 0 {
		return errFindings
	}
	st.pin(cp, msg)
	st.Audit.ID, st.Audit.Chain = head.ID, head.Chain
	return v.saveState(st)
}

func (st *state) pin(cp translog.Checkpoint, msg []byte) {
	st.Checkpoint.Size, st.Checkpoint.Root, st.Checkpoint.Note = cp.Size, cp.Root, string(msg)
	st.VerifiedAt = time.Now().UTC()
}

// start loads what the last run verified and watches the checkpoint: the
// first steps of every verification.
func (v *verifier) start(ctx context.Context) (state, translog.Checkpoint, []byte, error) {
	st, err := v.loadState()
	if err != nil {
		return st, translog.Checkpoint{}, nil, err
	}
	cp, msg, err := v.watch(ctx, &st)
	return st, cp, msg, err
}

// watch fetches the latest checkpoint, checks its signature, and checks that
// it extends the checkpoint verified last time: a log that was rewritten or
// shrank cannot pass. Any account may do this much.
func (v *verifier) watch(ctx context.Context, st *state) (translog.Checkpoint, []byte, error) {
	cp, msg, err := v.checkpoint(ctx, st)
	if err != nil {
		return cp, nil, err
	}
	old := st.Checkpoint
	switch {
	case old.Size == 0:
	case cp.Size < old.Size:
		v.shorter(cp, old.Size, old.Note, st.VerifierKey, st.VerifiedAt)
	case cp.Size == old.Size && cp.Root != old.Root:
		v.find("the checkpoint of %d events now has root %s; verified before, it had %s: the log was rewritten", cp.Size, cp.Root, old.Root)
	case cp.Size > old.Size:
		err := v.extends(ctx, cp, old.Size, old.Root)
		switch {
		case errors.Is(err, errFindings):
			v.find("the checkpoint of %d events does not extend the one of %d verified %s: the log was rewritten", cp.Size, old.Size, st.VerifiedAt.Format(time.RFC3339))
		case err != nil:
			return cp, nil, err
		default:
			v.note("consistent with the checkpoint of %s verified %s", plural(old.Size, "event", "events"), st.VerifiedAt.Format(time.RFC3339))
		}
	}
	return cp, msg, nil
}

// shorter reports a checkpoint of fewer events than the one pinned: after a
// restore to an earlier point, the register lost what it published since.
// The missing positions are named, for their filers to re-file from their
// receipts.
func (v *verifier) shorter(cp translog.Checkpoint, pinned int64, pinnedNote, key string, verified time.Time) {
	witnessed := ""
	if len(v.witnesses) > 0 && pinnedNote != "" {
		if nv, err := note.NewVerifier(key); err == nil {
			if c, err := translog.OpenCosigned([]byte(pinnedNote), nv, v.witnesses); err == nil && len(c.Witnesses) > 0 {
				witnessed = ", cosigned by " + strings.Join(c.Witnesses, ", ")
			}
		}
	}
	missing := pinned - cp.Size
	v.find("the register's log holds %s; the checkpoint you pinned (verified %s%s) commits to %s: positions %s–%s (%s) are missing. "+
		"The register was restored to a point before that checkpoint, or lost them: restore it to a later point if there is one; "+
		"else their filers hold receipts (GET /log/events/{number}: the record and its inclusion proof in a checkpoint) from which to re-file them (docs/keys.md, \"After a restore\")",
		count(cp.Size, "entry", "entries"), verified.Format(time.RFC3339), witnessed, count(pinned, "entry", "entries"),
		group(cp.Size), group(pinned-1), count(missing, "event", "events"))
}

// count is plural with the thousands grouped.
func count(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return group(n) + " " + many
}

// group writes n with thousands separated by commas.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// verifyCheckpoint is watch alone, for any account (a bank, a court): run
// often, it keeps the registry from showing it one history and others
// another, or rewriting what it has shown. The checkpoint is pinned when it
// holds.
func (v *verifier) verifyCheckpoint(ctx context.Context) error {
	st, cp, msg, err := v.start(ctx)
	if err != nil {
		return err
	}
	if v.findings > 0 {
		return errFindings
	}
	st.pin(cp, msg)
	return v.saveState(st)
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
