package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/movable-registry/registry/internal/registry"
)

// TestRetentionErasesPersonalData lets the clock pass retention.years_after_end
// (15 years) after registrations ended and checks that the job erases their
// individuals' names, identity numbers and addresses from every answer (the
// registration, its PDF certificate, searches, the log's entries and
// openings), audited as registration.erase, while the log's leaves stay as
// they were; that a registration ended more recently, and organizations, are
// untouched.
func TestRetentionErasesPersonalData(t *testing.T) {
	t.Parallel()
	pdfText := pdfReader(t)
	e := newEnvWith(t, longLived)
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	auditor := e.newAccount(usccs[3], "auditor")
	const (
		name, id, address         = "李四海", "11010519491231002X", "北京市朝阳区建国路1号"
		name2, id2, address2      = "王小梅", "11010119900307803X", "上海市徐汇区漕溪北路2号"
		orgName, orgAddress, year = "上海星辰精密机械有限公司", "上海市浦东新区张江路88号", 365 * 24 * time.Hour
	)
	person := map[string]any{"type": "individual", "name": name, "id_number": id, "address": address}
	withPerson := func() map[string]any {
		f := filing(orgName, usccs[1])
		f["grantors"] = append(f["grantors"].([]any), person)
		return f
	}
	// a: cancelled at once, after an amendment added a second individual.
	a := e.must(201, e.do("POST", "/registrations", bank.Token, withPerson()))["number"].(string)
	e.must(201, e.do("POST", "/registrations/"+a+"/amendments", bank.Token, map[string]any{
		"add_grantors": []any{map[string]any{"type": "individual", "name": name2, "id_number": id2, "address": address2}}}))
	// b: expires after a month.
	short := withPerson()
	short["period_months"] = 1
	b := e.must(201, e.do("POST", "/registrations", bank.Token, short))["number"].(string)
	e.must(201, e.do("POST", "/registrations/"+a+"/cancellation", bank.Token, map[string]any{"reason": "debt_repaid"}))
	pdf := func(number string) string {
		t.Helper()
		return pdfText(e.do("GET", "/registrations/"+number+"/certificate.pdf?lang=zh", bank.Token, nil), number)
	}
	// Kept before the erasure: it must be made again without them.
	if text := pdf(a); !strings.Contains(text, name) || !strings.Contains(text, name2) {
		t.Fatalf("the certificate before the erasure lacks the names:\n%s", text)
	}
	// c: filed and cancelled 14 years later: its 15 years have not passed.
	e.clock.Advance(14 * year)
	c := e.must(201, e.do("POST", "/registrations", bank.Token, withPerson()))["number"].(string)
	e.must(201, e.do("POST", "/registrations/"+c+"/cancellation", bank.Token, map[string]any{"reason": "debt_repaid"}))
	e.clock.Advance(year + 60*24*time.Hour)
	leaves := func(number string) map[string][]byte {
		out := map[string][]byte{}
		for _, en := range e.logEntries(auditor.Token) {
			if obj(en["indexed"])["registration_number"] == number {
				rec, _ := base64.StdEncoding.DecodeString(en["record"].(string))
				out[obj(en["indexed"])["number"].(string)] = rec
			}
		}
		return out
	}
	before := leaves(a)
	// The digest a's certificates were issued with, which a reader of one
	// compares with what the registry answers for its number.
	issued := e.must(200, e.do("GET", "/certificates/"+a, "", nil))["digest"].(string)

	n, err := e.svc.ErasePersonalData(t.Context())
	if err != nil || n != 2 {
		t.Fatalf("erased %d, %v; want a and b", n, err)
	}
	if n, err := e.svc.ErasePersonalData(t.Context()); err != nil || n != 0 {
		t.Errorf("erased %d more, %v", n, err)
	}

	for _, number := range []string{a, b} {
		got := e.must(200, e.do("GET", "/registrations/"+number, bank.Token, nil))
		if got["erased_at"] == nil {
			t.Errorf("%s: no erased_at: %v", number, got)
		}
		individuals := 0
		for _, g := range list(got["grantors"]) {
			g := obj(g)
			switch g["type"] {
			case "individual":
				individuals++
				if g["name"] != "" || g["id_number"] != nil || g["address"] != nil {
					t.Errorf("%s: an individual grantor kept personal data: %v", number, g)
				}
			case "organization":
				// Organizations are untouched.
				if g["name"] != orgName || g["uscc"] != usccs[1] || g["address"] != orgAddress {
					t.Errorf("%s: the organization grantor changed: %v", number, g)
				}
			}
		}
		if want := map[string]int{a: 2, b: 1}[number]; individuals != want {
			t.Errorf("%s: %d individual grantors, want %d", number, individuals, want)
		}
		if sp := obj(list(got["secured_parties"])[0]); sp["name"] == "" || sp["address"] == nil {
			t.Errorf("%s: the secured party changed: %v", number, sp)
		}
		raw := e.do("GET", "/registrations/"+number, bank.Token, nil).Body
		for _, personal := range []string{name, id, address, name2, id2, address2} {
			if bytes.Contains(raw, []byte(personal)) {
				t.Errorf("%s still answers %q", number, personal)
			}
		}
	}
	// The number still verifies the digest its certificates were issued
	// with, and says that the personal data has since been erased.
	if cert := e.must(200, e.do("GET", "/certificates/"+a, "", nil)); cert["digest"] != issued || cert["erased_at"] == nil {
		t.Errorf("after the erasure, the certificate answers %v; want the digest issued (%s) and erased_at", cert, issued)
	}
	// The certificate is made again, without them, with the same digest.
	text := pdf(a)
	if !strings.Contains(strings.Join(strings.Fields(text), ""), issued) {
		t.Errorf("the certificate made after the erasure does not print the digest issued (%s):\n%s", issued, text)
	}
	for _, personal := range []string{name, id, address, name2, address2} {
		if strings.Contains(text, personal) {
			t.Errorf("the certificate still holds %q:\n%s", personal, text)
		}
	}
	if !strings.Contains(text, orgName) || strings.Count(text, "自然人（个人信息已删除）") != 2 || !strings.Contains(text, "个人信息删除时间") {
		t.Errorf("the certificate lost the organization, or does not say the individuals' data was erased:\n%s", text)
	}
	// c is untouched.
	got := e.must(200, e.do("GET", "/registrations/"+c, bank.Token, nil))
	if got["erased_at"] != nil || !slices.ContainsFunc(list(got["grantors"]), func(g any) bool { return obj(g)["name"] == name && obj(g)["id_number"] == id }) {
		t.Errorf("c was erased: %v", got)
	}
	// Searches: by identity number only c, by the organization all three.
	found := func(criteria map[string]any) []string {
		var out []string
		for _, r := range list(e.search(bank.Token, map[string]any{"criteria": criteria, "include_inactive": true})["results"]) {
			out = append(out, obj(obj(r)["registration"])["number"].(string))
		}
		slices.Sort(out)
		return out
	}
	if got := found(map[string]any{"id_number": id}); !slices.Equal(got, []string{c}) {
		t.Errorf("by identity number: %v, want only %s", got, c)
	}
	if got := found(map[string]any{"id_number": id2}); len(got) != 0 {
		t.Errorf("by the second identity number: %v", got)
	}
	if got := found(map[string]any{"grantor_name": name}); slices.Contains(got, a) || slices.Contains(got, b) {
		t.Errorf("by name: %v", got)
	}
	if got := found(map[string]any{"uscc": usccs[1]}); len(got) != 3 {
		t.Errorf("by the organization's USCC: %v, want all three", got)
	}
	// The log: the same leaves, holding no personal data; the events and
	// openings served hold none either.
	after := leaves(a)
	if len(after) != 3 || len(before) != 3 {
		t.Fatalf("a's log entries: %d before, %d after", len(before), len(after))
	}
	for number, leaf := range before {
		if !bytes.Equal(after[number], leaf) {
			t.Errorf("event %s: its leaf changed", number)
		}
		for _, personal := range []string{name, id, address, name2, id2, address2} {
			if bytes.Contains(leaf, []byte(personal)) {
				t.Errorf("event %s: its leaf holds %q in clear", number, personal)
			}
		}
	}
	for _, en := range e.logEntries(auditor.Token) {
		ix := obj(en["indexed"])
		erased := ix["registration_number"] == a || ix["registration_number"] == b
		if (en["erased_at"] != nil) != erased {
			t.Errorf("event %v: erased_at %v", ix["number"], en["erased_at"])
		}
		if !erased {
			continue
		}
		if len(list(en["openings"])) != 0 {
			t.Errorf("event %v: openings kept %v", ix["number"], en["openings"])
		}
		ev, _ := json.Marshal(en["event"])
		for _, personal := range []string{name, id, address, name2, id2, address2} {
			if bytes.Contains(ev, []byte(personal)) {
				t.Errorf("event %v still holds %q", ix["number"], personal)
			}
		}
	}
	// Audited, by the registry, once each, in the trail.
	if n := e.count("SELECT count(*) FROM audit_entries WHERE action = 'registration.erase' AND actor = 'registry' AND outcome = 'success' AND target IN ($1, $2)", a, b); n != 2 {
		t.Errorf("%d registration.erase audit entries, want 2", n)
	}
	if n := e.count("SELECT count(*) FROM audit_entries WHERE action = 'registration.erase'"); n != 2 {
		t.Errorf("%d registration.erase audit entries in all", n)
	}
	// The events stay append-only but for the erasure.
	if _, err := e.db.Exec("UPDATE events SET record = record WHERE registration_number = $1", c); err == nil {
		t.Error("an event of c could be changed")
	}
}

// TestRetentionErasesStoredSearches: the stored searches that showed a
// registration hold it as it stood, names and all. When its personal data
// is erased, so is every copy: in the answers (searches.body), their
// criteria when they were the individual's identity number or name, the
// kept pages of a long answer, and the search certificates kept as PDF.
// Each certificate still verifies by the digest it was issued with, and
// a search that showed no individual is untouched.
func TestRetentionErasesStoredSearches(t *testing.T) {
	t.Parallel()
	pdfText := pdfReader(t)
	e := newEnvWith(t, func(c *registry.Config) { longLived(c); c.MaxResults = 1 })
	bank := e.newAccount(usccs[0], "registrant", "searcher")
	const (
		name, id, address = "李四海", "11010519491231002X", "北京市朝阳区建国路1号"
		orgName           = "上海星辰精密机械有限公司"
	)
	personal := []string{name, id, address, "110105********002X"}
	// Three registrations of one organization, the middle one naming an
	// individual too: a search by the organization's USCC answers the
	// first and keeps the other two as later pages.
	first := e.must(201, e.do("POST", "/registrations", bank.Token, filing(orgName, usccs[1])))["number"].(string)
	f := filing(orgName, usccs[1])
	f["grantors"] = append(f["grantors"].([]any), map[string]any{"type": "individual", "name": name, "id_number": id, "address": address})
	a := e.must(201, e.do("POST", "/registrations", bank.Token, f))["number"].(string)
	e.must(201, e.do("POST", "/registrations", bank.Token, filing(orgName, usccs[1])))
	byID := e.search(bank.Token, map[string]any{"criteria": map[string]any{"id_number": id}})["number"].(string)
	byUSCC := e.search(bank.Token, map[string]any{"criteria": map[string]any{"uscc": usccs[1]}})
	long := byUSCC["number"].(string)
	if byUSCC["truncated"] != true {
		t.Fatalf("the search by USCC was answered whole: %v", byUSCC)
	}
	// Its pages are kept as first read: the one showing a, and the next.
	page := e.must(200, e.do("GET", "/searches/"+long+"/results?cursor=1", bank.Token, nil))
	if n := obj(obj(list(page["results"])[0])["registration"])["number"]; n != a {
		t.Fatalf("page 1 shows %v, want %s", n, a)
	}
	e.must(200, e.do("GET", "/searches/"+long+"/results?cursor=2", bank.Token, nil))
	// A search by the identity number of someone the register does not
	// name: it keeps the number only as long as the register keeps
	// personal data (retention.years_after_end after the search).
	const stranger = "11010119900307803X"
	nobody := e.search(bank.Token, map[string]any{"criteria": map[string]any{"id_number": stranger}})["number"].(string)
	// A search that never showed an individual.
	other := e.search(bank.Token, map[string]any{"criteria": map[string]any{"registration_number": first}})["number"].(string)
	otherBody := e.do("GET", "/searches/"+other, bank.Token, nil).Body
	issued := map[string]string{}
	for _, n := range []string{byID, long, other, nobody} {
		issued[n] = e.must(200, e.do("GET", "/certificates/"+n, "", nil))["digest"].(string)
	}
	pdf := func(number, lang string) string {
		t.Helper()
		return pdfText(e.do("GET", "/searches/"+number+"/certificate.pdf?lang="+lang, bank.Token, nil), "search-"+number+"-"+lang)
	}
	// Kept before the erasure.
	if text := pdf(byID, "zh"); !strings.Contains(text, name) {
		t.Fatalf("the search certificate before the erasure lacks the name:\n%s", text)
	}

	e.must(201, e.do("POST", "/registrations/"+a+"/cancellation", bank.Token, map[string]any{"reason": "debt_repaid"}))
	e.clock.Advance(16 * 365 * 24 * time.Hour)
	// Searched by the stranger's number a day before the pass: kept.
	recent := e.search(bank.Token, map[string]any{"criteria": map[string]any{"id_number": stranger}})["number"].(string)
	if n, err := e.svc.ErasePersonalData(t.Context()); err != nil || n != 1 {
		t.Fatalf("erased %d, %v; want a", n, err)
	}

	// Nothing stored holds them any more: answers, criteria, pages.
	for _, p := range append(personal, stranger) {
		if n := e.count(`SELECT count(*) FROM searches WHERE number <> $2 AND (position(convert_to($1, 'UTF8') IN body) > 0 OR criteria::text LIKE '%' || $1 || '%')`, p, recent); n != 0 {
			t.Errorf("%d stored searches still hold %q", n, p)
		}
		if n := e.count(`SELECT count(*) FROM search_pages WHERE position(convert_to($1, 'UTF8') IN body) > 0`, p); n != 0 {
			t.Errorf("%d kept pages still hold %q", n, p)
		}
	}
	if n := e.count("SELECT count(*) FROM certificate_documents WHERE number = $1", byID); n != 0 {
		t.Errorf("%d certificates kept for %s from before the erasure", n, byID)
	}
	// Each answer says so, and what of it was erased.
	for _, n := range []string{byID, nobody} {
		got := e.must(200, e.do("GET", "/searches/"+n, bank.Token, nil))
		crit := obj(got["criteria"])
		if got["erased_at"] == nil || got["criteria_erased"] != true || len(crit) != 0 {
			t.Errorf("search %s: erased_at %v, criteria_erased %v, criteria %v; want erased and no key", n, got["erased_at"], got["criteria_erased"], crit)
		}
		if n == nobody {
			continue
		}
		r := obj(obj(list(got["results"])[0])["registration"])
		if r["number"] != a || r["erased_at"] == nil {
			t.Errorf("search %s: its result %v is not marked erased", n, r)
		}
	}
	if got := e.must(200, e.do("GET", "/searches/"+recent, bank.Token, nil)); obj(got["criteria"])["id_number"] != stranger || got["erased_at"] != nil {
		t.Errorf("a search made by an identity number a moment ago lost it: %v", got)
	}
	// The long search: its first page did not show a, and stays as it was;
	// the kept page that did is erased.
	if got := e.must(200, e.do("GET", "/searches/"+long, bank.Token, nil)); got["erased_at"] != nil || obj(got["criteria"])["uscc"] != usccs[1] {
		t.Errorf("the search by USCC changed: %v", got)
	}
	if got := e.must(200, e.do("GET", "/searches/"+long+"/results?cursor=1", bank.Token, nil)); got["erased_at"] == nil {
		t.Errorf("its page 1 is not marked erased: %v", got)
	}
	if got := e.do("GET", "/searches/"+other, bank.Token, nil).Body; !bytes.Equal(got, otherBody) {
		t.Errorf("a search that showed no individual changed:\n%s\n%s", otherBody, got)
	}
	// Every number still verifies by the digest it was issued with.
	for n, digest := range issued {
		cert := e.must(200, e.do("GET", "/certificates/"+n, "", nil))
		if cert["digest"] != digest {
			t.Errorf("search %s: digest %v, issued %s", n, cert["digest"], digest)
		}
		if erased := n == byID || n == nobody; (cert["erased_at"] != nil) != erased {
			t.Errorf("search %s: erased_at %v", n, cert["erased_at"])
		}
	}
	// The certificate is made again without them, saying why.
	for lang, want := range map[string][]string{
		"zh": {"自然人（个人信息已删除）", "自然人的身份证件号码（个人信息已删除）", "个人信息删除时间"},
		"en": {"An individual (personal data erased)", "An individual's identity number (personal data", "Personal data erased"},
	} {
		text := pdf(byID, lang)
		for _, p := range personal {
			if strings.Contains(text, p) {
				t.Errorf("%s: the search certificate still holds %q:\n%s", lang, p, text)
			}
		}
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: the search certificate made after the erasure lacks %q:\n%s", lang, w, text)
			}
		}
		if !strings.Contains(strings.Join(strings.Fields(text), ""), issued[byID]) {
			t.Errorf("%s: the search certificate made after the erasure does not print the digest issued (%s):\n%s", lang, issued[byID], text)
		}
	}
	if n := e.count("SELECT count(*) FROM audit_entries WHERE action = 'registration.erase' AND target = $1 AND detail LIKE '%and 2 stored searches erased'", a); n != 1 {
		t.Errorf("%d registration.erase entries naming the 2 searches", n)
	}
	if n := e.count("SELECT count(*) FROM audit_entries WHERE action = 'search.erase' AND actor = 'registry' AND target IN ($1, $2)", byID, nobody); n != 2 {
		t.Errorf("%d search.erase entries, want one for each search made by an identity number 16 years ago", n)
	}
	if n, err := e.svc.ErasePersonalData(t.Context()); err != nil || n != 0 || e.count("SELECT count(*) FROM audit_entries WHERE action = 'search.erase'") != 2 {
		t.Errorf("a second pass erased %d registrations (%v), or searches again", n, err)
	}
	// A page made from a's data as it was before the erasure (read before
	// it committed, kept after) is refused: it would escape it.
	if err := e.store.InsertSearchPage(t.Context(), long, 9, []byte(`{"results":[]}`), []string{a}); !errors.Is(err, registry.ErrConflict) {
		t.Errorf("a page made before the erasure of %s was kept after it: %v", a, err)
	}
	// The stored searches stay append-only but for the erasure, which keeps
	// the digest issued.
	for _, c := range []struct{ q, number string }{
		{"UPDATE searches SET body = body WHERE number = $1", other},
		{"UPDATE searches SET erased_at = now(), issued_digest = 'sha256:00' WHERE number = $1", other},
		{"UPDATE searches SET erased_at = now() - interval '100 years', issued_digest = issued_digest WHERE number = $1", byID},
		{"DELETE FROM searches WHERE number = $1", other},
		{"DELETE FROM search_pages WHERE number = $1", long},
		{"UPDATE search_pages SET body = body WHERE number = $1 AND cursor = 2", long},
	} {
		if _, err := e.db.Exec(c.q, c.number); err == nil {
			t.Errorf("%s: allowed", c.q)
		}
	}
}

// pdfReader reads PDF certificates back as text (poppler's pdftotext),
// keeping each file, by name, in RETENTION_PDF_DIR to look at, or else in
// a temporary folder.
func pdfReader(t *testing.T) func(r response, name string) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("pdftotext is needed: make test installs poppler-utils (apt-get install -y poppler-utils)")
	}
	dir := os.Getenv("RETENTION_PDF_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	return func(r response, name string) string {
		t.Helper()
		if r.Status != 200 {
			t.Fatalf("certificate %s: %s", name, r)
		}
		file := filepath.Join(dir, name+".pdf")
		if err := os.WriteFile(file, r.Body, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("pdftotext", "-enc", "UTF-8", file, "-").Output()
		if err != nil {
			t.Fatalf("pdftotext: %v", err)
		}
		return string(out)
	}
}
