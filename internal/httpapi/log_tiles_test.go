package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/movable-registry/registry/internal/registry"
	"github.com/movable-registry/registry/internal/translog"
)

// httpTiles reads the registry's tiles over its API for tlog's own tile
// code, recording every byte it is given.
type httpTiles struct {
	e     *env
	seen  *bytes.Buffer
	reads int
}

func (httpTiles) Height() int { return translog.TileHeight }

func (h *httpTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		h.reads++
		r := h.e.do("GET", "/log/"+translog.TilePath(t), "", nil)
		if r.Status != 200 {
			return nil, fmt.Errorf("%s: %s", translog.TilePath(t), r)
		}
		if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "public") {
			return nil, fmt.Errorf("%s: Cache-Control %q", translog.TilePath(t), cc)
		}
		h.seen.Write(r.Body)
		out[i] = r.Body
	}
	return out, nil
}

func (*httpTiles) SaveTiles([]tlog.Tile, [][]byte) {}

// TestLogTilesAndCommitments files 300 registrations, some naming
// individuals, and reads the log as a standard client would: the checkpoint
// and hash tiles without a token, through golang.org/x/mod/sumdb/tlog's own
// tile reader, which must reproduce the signed root; the entry bundles as an
// auditor, each record hashing to its leaf in the tiles. A bank then checks
// its own event's inclusion and commitment, and another bank, given the
// tiles and proofs, cannot find the identity number in anything it gets.
func TestLogTilesAndCommitments(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	other := e.newAccount(usccs[2], "registrant", "searcher")
	auditor := e.newAccount(usccs[3], "auditor")
	ids := idNumberCandidates("310115", 300)
	var filings []any
	for i := range 300 {
		f := filing(fmt.Sprintf("上海星辰精密机械%d有限公司", i), usccs[5])
		if i%3 == 0 {
			f["grantors"] = append(f["grantors"].([]any), map[string]any{"type": "individual", "name": fmt.Sprintf("张%d", i), "id_number": ids[i], "address": "上海市浦东新区张江路88号"})
		}
		filings = append(filings, f)
	}
	results := list(e.must(200, e.do("POST", "/registrations/batch", bank.Token, map[string]any{"filings": filings}))["results"])
	numberOf := func(i int) string { return obj(obj(results[i])["registration"])["number"].(string) }
	// The other bank's own filing, naming an individual the first bank does not know.
	const secret = "310115199001011232"
	theirs := filing("某机械有限公司", usccs[5])
	theirs["grantors"] = append(theirs["grantors"].([]any), map[string]any{"type": "individual", "name": "李秘", "id_number": secret, "address": "上海市浦东新区张江路88号"})
	theirs["secured_parties"] = []any{map[string]any{"type": "organization", "name": "另一银行", "uscc": usccs[2], "address": "上海市浦东新区张江路88号", "legal_representative": "王建国"}}
	theirNumber := e.must(201, e.do("POST", "/registrations", other.Token, theirs))["number"].(string)
	if _, err := e.svc.PublishCheckpoint(ctx); err != nil {
		t.Fatal(err)
	}

	// The checkpoint at its standard path, with no token.
	cpr := e.do("GET", "/log/checkpoint", "", nil)
	v, err := note.NewVerifier(e.verifierKey)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := translog.Open(cpr.Body, v)
	if cpr.Status != 200 || err != nil || cp.Size != 301 {
		t.Fatalf("checkpoint: %v %s", err, cpr)
	}
	if _, ok, err := registry.AuditHeadOf(cp); !ok || err != nil {
		t.Errorf("the checkpoint commits to no audit head: %v\n%s", err, cpr.Body)
	}

	// The hash tiles, read and checked by tlog's tile code.
	seen := &bytes.Buffer{}
	tiles := &httpTiles{e: e, seen: seen}
	hr := tlog.TileHashReader(tlog.Tree{N: cp.Size, Hash: cp.Root}, tiles)
	root, err := tlog.TreeHash(cp.Size, hr)
	if err != nil || root != cp.Root {
		t.Fatalf("the tiles give root %v, %v; the checkpoint says %v", root, err, cp.Root)
	}
	leaves := make([]int64, cp.Size)
	for i := range leaves {
		leaves[i] = tlog.StoredHashIndex(0, int64(i))
	}
	leafHashes, err := hr.ReadHashes(leaves)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{
		"/log/tile/0/001.p/45": 200, "/log/tile/0/001.p/46": 404, "/log/tile/0/002": 404, "/log/tile/1/000.p/1": 200,
		"/log/tile/1/000.p/2": 404, "/log/tile/0/1": 404, "/log/tile/x/000": 404, "/log/tile/0/000.p/0": 404,
	} {
		if r := e.do("GET", path, "", nil); r.Status != want {
			t.Errorf("%s: %d, want %d", path, r.Status, want)
		}
	}

	// Entry bundles: the staff's; each record hashes to its leaf.
	if r := e.do("GET", "/log/tile/entries/000", "", nil); r.Status != 401 {
		t.Errorf("a bundle without a token: %d", r.Status)
	}
	if r := e.do("GET", "/log/tile/entries/000", bank.Token, nil); r.Status != 403 {
		t.Errorf("a bundle for a bank: %d", r.Status)
	}
	var records [][]byte
	for _, path := range []string{"000", "001.p/45"} {
		r := e.do("GET", "/log/tile/entries/"+path, auditor.Token, nil)
		if r.Status != 200 || !strings.Contains(r.Header.Get("Cache-Control"), "private") {
			t.Fatalf("bundle %s: %s", path, r)
		}
		got, err := translog.SplitBundle(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, got...)
	}
	entries := e.logEntries(auditor.Token)
	if len(records) != 301 || len(entries) != 301 {
		t.Fatalf("%d records in the bundles, %d entries", len(records), len(entries))
	}
	for i, rec := range records {
		if tlog.RecordHash(rec) != leafHashes[i] || !bytes.Equal(rec, b64(t, entries[i]["record"])) {
			t.Fatalf("record %d does not hash to its leaf in the tiles", i)
		}
	}

	// Commitments: the log's record of a filing naming an individual holds
	// a commitment, never the number; the auditor's entry opens it.
	filed := map[string]int{} // the batch runs its filings at once: by number
	for i := range 300 {
		filed[numberOf(i)] = i
	}
	for j := range 300 {
		rec, ev := records[j], entries[j]
		i, ok := filed[obj(ev["indexed"])["number"].(string)]
		if !ok {
			t.Fatalf("log entry %d is none of the batch's filings", j)
		}
		if i%3 != 0 {
			if bytes.Contains(rec, []byte("id_commitment")) || len(list(ev["openings"])) != 0 {
				t.Errorf("record %d names no individual but holds a commitment", i)
			}
			continue
		}
		// The individual's name and address too, each by a commitment of
		// its own.
		name := fmt.Sprintf("张%d", i)
		if bytes.Contains(rec, []byte(ids[i])) || bytes.Contains(rec, []byte(`"`+name+`"`)) || !bytes.Contains(rec, []byte(`"id_commitment":"`)) ||
			!bytes.Contains(rec, []byte(`"name_commitment":"`)) || !bytes.Contains(rec, []byte(`"address_commitment":"`)) {
			t.Fatalf("record %d: %s", i, rec)
		}
		var openings []registry.Opening
		b, _ := json.Marshal(ev["openings"])
		if err := json.Unmarshal(b, &openings); err != nil || len(openings) != 3 || openings[0].IDNumber != ids[i] || openings[1].Name != name ||
			openings[2].Address != "上海市浦东新区张江路88号" || !openings[0].Check() || !openings[1].Check() || !openings[2].Check() {
			t.Fatalf("record %d: openings %s", i, b)
		}
		// An opening of one field does not open another's commitment.
		if swapped := (registry.Opening{Commitment: openings[1].Commitment, Salt: openings[1].Salt, Address: name}); swapped.Check() {
			t.Fatalf("record %d: a name's commitment opens as an address", i)
		}
		full, err := registry.OpenRecord(rec, openings)
		if err != nil || !bytes.Contains(full.Record, []byte(`"id_number":"`+ids[i]+`"`)) || !bytes.Contains(full.Record, []byte(`"name":"`+name+`"`)) ||
			bytes.Contains(full.Record, []byte("_commitment")) {
			t.Fatalf("record %d does not open: %v", i, err)
		}
		if event, _ := json.Marshal(ev["event"]); !bytes.Contains(event, []byte(ids[i])) {
			t.Errorf("the auditor's entry %d does not show the number in full", i)
		}
	}

	// The bank checks its own event, as registryctl prove does.
	own := e.must(200, e.do("GET", "/log/events/"+numberOf(3), bank.Token, nil))
	ownRec := b64(t, own["record"])
	proof := obj(own["inclusion"])
	ownCP, err := translog.Open([]byte(own["checkpoint"].(string)), v)
	if err != nil {
		t.Fatal(err)
	}
	var path []tlog.Hash
	for _, h := range list(proof["proof"]) {
		path = append(path, hashOf(t, h))
	}
	idx := int64(own["index"].(float64))
	if err := tlog.CheckRecord(path, ownCP.Size, ownCP.Root, idx, tlog.RecordHash(ownRec)); err != nil {
		t.Fatalf("the bank's own event does not verify: %v", err)
	}
	var ownOpenings []registry.Opening
	b, _ := json.Marshal(own["openings"])
	_ = json.Unmarshal(b, &ownOpenings)
	if len(ownOpenings) != 3 || ownOpenings[0].IDNumber != ids[3] || !ownOpenings[0].Check() || !bytes.Contains(ownRec, []byte(ownOpenings[0].Commitment)) {
		t.Fatalf("the bank's openings %s do not open its record's commitment", b)
	}

	// The first bank and the other's filing: its event is not there to
	// read; the tiles and the proof it may have name the leaf only; the
	// number is in nothing it got, and without the salt no guess checks.
	e.problem(e.do("GET", "/log/events/"+theirNumber, bank.Token, nil), 404, "not_found")
	got := e.must(200, e.do("GET", fmt.Sprintf("/log/proof/inclusion?index=300&size=%d", cp.Size), bank.Token, nil))
	gotJSON, _ := json.Marshal(got)
	for _, b := range [][]byte{seen.Bytes(), gotJSON, cpr.Body, ownRec} {
		if bytes.Contains(b, []byte(secret)) {
			t.Fatal("the other bank's individual's number is in what the bank was given")
		}
	}
	theirRec := records[300]
	if bytes.Contains(theirRec, []byte(secret)) {
		t.Fatal("the log's record holds the number")
	}
	var opened []registry.Opening
	b, _ = json.Marshal(entries[300]["openings"])
	_ = json.Unmarshal(b, &opened)
	if len(opened) != 3 || !opened[0].Check() || opened[0].IDNumber != secret || !bytes.Contains(b, []byte(`"name":"李秘"`)) {
		t.Fatalf("the auditor's openings of the other filing: %s", b)
	}
	for _, salt := range [][]byte{nil, make([]byte, 32)} {
		if registry.Commitment(salt, secret) == opened[0].Commitment {
			t.Fatal("the commitment can be checked without its salt")
		}
	}
	// A leaf depends on the number only through the commitment: the
	// record as the auditor sees it, with a guessed salt, hashes elsewhere.
	guess := bytes.Replace(theirRec, []byte(opened[0].Commitment), []byte(registry.Commitment(make([]byte, 32), secret)), 1)
	if tlog.RecordHash(guess) == leafHashes[300] || tlog.RecordHash(theirRec) != leafHashes[300] {
		t.Fatal("a guessed salt reproduces the leaf")
	}
	// A request naming a commitment itself is refused.
	bad := filing("某机械有限公司", usccs[5])
	bad["grantors"] = append(bad["grantors"].([]any), map[string]any{"type": "individual", "name": "王五", "id_number": ids[1], "id_commitment": opened[0].Commitment, "address": "上海市浦东新区张江路88号"})
	p := e.problem(e.do("POST", "/registrations", bank.Token, bad), 422, "invalid_field")
	if errs := fieldErrors(p); len(errs) != 1 || !strings.HasPrefix(errs[0], "grantors[1].id_commitment ") {
		t.Errorf("a filing naming a commitment: %v", errs)
	}
}

// TestBundleOfAnOversizedRecord: a filing whose record is longer than an
// entry bundle's two-byte length can hold (a thousand described items) makes
// its bundle a 422 naming /log/entries, which serves the record; the hash
// tile is served as ever.
func TestBundleOfAnOversizedRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	auditor := e.newAccount(usccs[3], "auditor")
	f := filing("上海星辰精密机械有限公司", usccs[5])
	var items []any
	for i := range 1000 {
		items = append(items, map[string]any{"type": "equipment", "serial_number": fmt.Sprintf("SN-%06d", i), "description": strings.Repeat("数控加工中心", 20)})
	}
	f["collateral"].(map[string]any)["items"] = items
	e.must(201, e.do("POST", "/registrations", bank.Token, f))
	if _, err := e.svc.PublishCheckpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := e.problem(e.do("GET", "/log/tile/entries/000.p/1", auditor.Token, nil), 422, "entry_too_large")
	if !strings.Contains(p["detail"].(string), "/log/entries") {
		t.Errorf("the problem does not say where to read it: %v", p["detail"])
	}
	entries := e.logEntries(auditor.Token)
	rec := b64(t, entries[0]["record"])
	if len(rec) <= translog.MaxBundleEntry {
		t.Fatalf("the record has %d bytes, not more than a bundle holds", len(rec))
	}
	tile := e.do("GET", "/log/tile/0/000.p/1", "", nil)
	if tile.Status != 200 || !bytes.Equal(tile.Body, func() []byte { h := tlog.RecordHash(rec); return h[:] }()) {
		t.Errorf("the hash tile: %d, %x", tile.Status, tile.Body)
	}
}
