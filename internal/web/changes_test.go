package web_test

import (
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBulkChangesPage: a registrant ticks registrations and extends them
// together, one with a stale version refused in its row; cancels one; a
// bad number of months is refused once, at the field, changing nothing;
// and a CSV of amendments is made row by row. In both languages.
func TestBulkChangesPage(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bank := s.bank("registrant")
	grantor := uscc("91310115MA1K3YJ1X")
	var numbers []string
	for range 4 {
		// Two months: inside the 90 days before expiry in which the
		// site's register extends.
		r := s.api(201, "POST", "/registrations", bank.Token, map[string]any{
			"kind":                "chattel_mortgage",
			"grantors":            []any{map[string]any{"type": "organization", "name": "上海某某机械制造有限公司", "uscc": grantor, "address": "上海市闵行区莘庄工业区1号", "legal_representative": "王建国"}},
			"secured_parties":     []any{map[string]any{"type": "organization", "name": "上海星辰银行", "uscc": bank.USCC, "address": "上海市黄浦区中山东一路1号", "legal_representative": "李明"}},
			"collateral":          map[string]any{"description": "存货：钢材 500 吨", "items": []any{}},
			"agreed_with_grantor": true,
			"period_months":       2,
		})
		numbers = append(numbers, r["number"].(string))
	}
	// One more, under an objection by another organization: the list
	// marks it as its own page does.
	objected := s.file(bank, "上海某某机械制造有限公司", grantor)
	other := s.bank("registrant")
	s.api(201, "POST", "/registrations/"+objected+"/objections", other.Token, map[string]any{"statement": "该设备为本公司所有", "interest": "设备所有权人"})
	for _, lang := range []string{"zh", "en"} {
		t.Run(lang, func(t *testing.T) {
			b := s.browser()
			b.signIn(bank)
			b.get("/lang/" + lang + "?next=/registrations/changes")
			for _, n := range numbers {
				if !strings.Contains(b.last, `value="`+n+` `) {
					t.Fatalf("%s is not offered:\n%.3000s", n, b.last)
				}
			}
			shoot(t, b.last, "changes-"+lang)
			// Each one's version stands beside it, for a CSV's if_match.
			if want := map[string]string{"zh": "版本 1", "en": "version 1"}[lang]; !strings.Contains(b.last, `<td class="version">`+want) {
				t.Errorf("the list shows no version: want %q", want)
			}
			// The version's column is headed in words, not by the CSV's
			// column name alone.
			if want := map[string]string{"zh": "<th scope=\"col\">版本（if_match）</th>", "en": "<th scope=\"col\">Version (if_match)</th>"}[lang]; !strings.Contains(b.last, want) {
				t.Errorf("the version's column is not headed %q", want)
			}
			row := regexpText(`(?s)(<tr><td><input type="checkbox" name="pick" value="`+objected+` .*?</tr>)`, b.last)
			if !strings.Contains(row, `class="status objection-standing"`) {
				t.Errorf("the registration under objection is not marked: %q", row)
			}
			// The months are added to each one's term, and the label says so.
			if want := map[string]string{"zh": "在各项登记现有期限上增加的月数", "en": "Months to add to each one's term"}[lang]; !strings.Contains(b.last, html.EscapeString(want)) {
				t.Errorf("the months are not labelled as added: want %q", want)
			}
			key := regexpField("idempotency_key", b.last)
			res := b.post("/registrations/changes", url.Values{"idempotency_key": {key}, "op": {"extend"}, "period_months": {"0"},
				"pick": {numbers[0] + " 1"}})
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(b.last, `id="err-period_months"`) || strings.Contains(b.last, `id="changes-summary"`) {
				t.Errorf("0 months: %d\n%.3000s", res.StatusCode, b.last)
			}
			// Each language extends one and names the other at a version
			// it never had.
			good, stale := numbers[0], numbers[1]
			if lang == "en" {
				good, stale = stale, good
			}
			res = b.post("/registrations/changes", url.Values{"idempotency_key": {key}, "op": {"extend"}, "period_months": {"12"},
				"pick": {good + " 1", stale + " 9"}})
			want := map[string]string{"zh": "已办理 1 项，共 2 项。", "en": "1 of 2 changes made."}[lang]
			if res.StatusCode != http.StatusOK || !strings.Contains(b.last, want) {
				t.Errorf("extend: %d\n%.4000s", res.StatusCode, b.last)
			}
			// Each outcome is said in words; the API's status code stands
			// small beside them, never alone in their place.
			made := map[string]string{"zh": `<strong class="outcome outcome-extended">已展期</strong>`, "en": `<strong class="outcome outcome-extended">Extended</strong>`}[lang]
			refused := map[string]string{"zh": `<strong class="outcome outcome-refused">未办理</strong>`, "en": `<strong class="outcome outcome-refused">Refused</strong>`}[lang]
			// A change made is answered 201 by the API, as here.
			for _, w := range []string{made, refused, `<small class="http-code"`, ">HTTP 412</small>", ">HTTP 201</small>"} {
				if !strings.Contains(b.last, w) {
					t.Errorf("the outcomes lack %q", w)
				}
			}
			if strings.Contains(b.last, ">HTTP 200</small>") {
				t.Error("a change made is shown as HTTP 200, which the API never answers it")
			}
			if strings.Contains(b.last, "<bdi>412 ") {
				t.Error("a refusal is said by its bare status code")
			}
			shoot(t, b.last, "changes-outcome-"+lang)
		})
	}
	for _, n := range numbers[:2] {
		if got := s.api(200, "GET", "/registrations/"+n, bank.Token, nil); got["version"] != 2.0 {
			t.Errorf("%s is at version %v after one extension", n, got["version"])
		}
	}

	b := s.browser()
	b.signIn(bank)
	b.get("/registrations/changes")
	b.post("/registrations/changes", url.Values{"idempotency_key": {regexpField("idempotency_key", b.last)}, "op": {"cancel"}, "reason": {"debt_repaid"},
		"pick": {numbers[3] + " 1"}})
	if !strings.Contains(b.last, "1 项，共 1 项") || strings.Contains(b.last, `value="`+numbers[3]+` `) {
		t.Errorf("the cancelled one is offered still, or was not cancelled:\n%.4000s", b.last)
	}

	// Amendments from a CSV: the second row names no registration, the
	// third a version the registration had before its extension.
	csv := "number,if_match,description,add_serial_numbers\n" + numbers[2] + ",1,存货：钢材 800 吨,LATHE-1;LATHE-2\nD00000000000000X,,x,\n" +
		numbers[0] + ",1,存货：钢材 900 吨,\n"
	const boundary = "changes-boundary"
	form := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n" + b.csrf() + "\r\n" +
		"--" + boundary + "\r\nContent-Disposition: form-data; name=\"idempotency_key\"\r\n\r\n" + regexpField("idempotency_key", b.last) + "x\r\n" +
		"--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\n" +
		csv + "\r\n--" + boundary + "--\r\n"
	req, err := http.NewRequest("POST", s.url+"/registrations/changes", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b.read(res)
	if res.StatusCode != http.StatusOK || !strings.Contains(b.last, "已办理 1 项，共 3 项。") {
		t.Errorf("the CSV: %d\n%.4000s", res.StatusCode, b.last)
	}
	// The stale version came from the file, not from the page: the row
	// says so, not that the page is old.
	if !strings.Contains(b.last, "文件中的版本（if_match 1）不是该登记的当前版本") || strings.Contains(b.last, "您打开页面后") {
		t.Errorf("the CSV's stale version is not said to be the file's:\n%.6000s", b.last)
	}
	shoot(t, b.last, "changes-csv-zh")
	amended := s.api(200, "GET", "/registrations/"+numbers[2], bank.Token, nil)
	if c := amended["collateral"].(map[string]any); c["description"] != "存货：钢材 800 吨" || len(c["items"].([]any)) != 2 {
		t.Errorf("the amended collateral: %v", c)
	}

	searcher := s.bank("searcher")
	sb := s.browser()
	sb.signIn(searcher)
	if res := sb.get("/registrations/changes"); res.StatusCode != http.StatusForbidden {
		t.Errorf("a searcher's page: %d", res.StatusCode)
	}
}

// shoot keeps a page's HTML, styled, under REGISTRY_PAGES when it is set,
// to be rendered and looked at.
func shoot(t *testing.T, page, name string) {
	dir := os.Getenv("REGISTRY_PAGES")
	if dir == "" {
		return
	}
	static, err := filepath.Abs("static")
	if err != nil {
		t.Fatal(err)
	}
	page = strings.ReplaceAll(page, `"/static/`, `"file://`+static+`/`)
	if err := os.WriteFile(filepath.Join(dir, name+".html"), []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
}
