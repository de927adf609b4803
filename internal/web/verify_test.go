package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestVerifyShowsWhatANumberCertifiesAndHowItStands: /verify, in either
// language, says what a number certifies, how its registration stands now
// (a cancelled one unmistakably), its times in Beijing time, the digest the
// certificate prints, and where to see it; an unknown number or a wrong
// check digit is said beside the field.
func TestVerifyShowsWhatANumberCertifiesAndHowItStands(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bank := s.bank("registrant", "searcher")
	grantor := uscc("91310115MA1K3YJ1X")
	live := s.file(bank, "上海星辰精密机械有限公司", grantor)
	cancelled := s.file(bank, "上海星辰精密机械有限公司", grantor)
	amended := s.api(201, "POST", "/registrations/"+live+"/amendments", bank.Token, map[string]any{"description": "全部数控机床"})
	history := amended["history"].([]any)
	amendment := history[len(history)-1].(map[string]any)["number"].(string)
	s.api(201, "POST", "/registrations/"+cancelled+"/cancellation", bank.Token, map[string]any{"reason": "debt_repaid"})
	search := s.api(201, "POST", "/searches", bank.Token, map[string]any{"criteria": map[string]any{"uscc": grantor}})["number"].(string)
	digest := func(number string) string {
		return s.api(200, "GET", "/certificates/"+number, "", nil)["digest"].(string)
	}
	grouped := func(n string) string { return n[:4] + " " + n[4:8] + "-" + n[8:12] + " " + n[12:16] + " " + n[16:] }
	badCheck := live[:19] + string("0123456789"[(int(live[19]-'0')+1)%10])
	unknown := "20261126000000000000"
	unknown = unknown[:18] + checkDigits(unknown[:18])

	for _, tc := range []struct {
		name, lang, number string
		status             int
		want, not          []string
	}{
		{"a cancelled registration says so first", "zh", cancelled, 200,
			[]string{"注意：该登记已注销，不再有效。", "登记证明：动产抵押登记", "已注销", "北京时间", digest(cancelled), `href="/registrations/` + cancelled + `"`},
			[]string{"CST", "该登记现行有效"}},
		{"a cancelled registration says so first, in English", "en", cancelled, 200,
			[]string{"Note: the registration has been cancelled and is no longer effective.", "Registration certificate: Chattel mortgage", "Cancelled", "UTC&#43;8", digest(cancelled)},
			[]string{"CST", "北京时间", "The registration is effective."}},
		{"an amendment names its registration", "zh", amendment, 200,
			[]string{"登记 " + live + " 的变更登记证明", "该登记现行有效。", "动产抵押", digest(amendment), `href="/registrations/` + live + `"`}, nil},
		{"an amendment names its registration, in English", "en", amendment, 200,
			[]string{"Amendment certificate for registration " + live, "The registration is effective.", "Expires at", digest(amendment)}, nil},
		{"a search certificate is a search and has no status", "zh", search, 200,
			[]string{"查询证明：记载一次对登记簿的查询及其结果", "查询时间", digest(search), `href="/searches/` + search + `"`},
			[]string{"登记现状", "到期时间"}},
		{"a search certificate, in English", "en", search, 200,
			[]string{"Search certificate: a search of the register and what it found", digest(search)}, []string{"Status now"}},
		{"a number typed in groups is found", "zh", grouped(amendment), 200,
			[]string{`<dd class="number">` + amendment + `</dd>`, "变更登记证明"}, nil},
		{"an unknown number is said beside the field", "zh", unknown, 404,
			[]string{`id="number-error" role="alert">本登记机构没有签发过这个编号，请逐位核对。`}, []string{"此编号由本登记机构签发"}},
		{"an unknown number, in English", "en", unknown, 404,
			[]string{`id="number-error" role="alert">The registry has issued no certificate with this number.`}, nil},
		{"a wrong check digit is said beside the field", "zh", grouped(badCheck), 422,
			[]string{`id="number-error" role="alert">编号无效`, `aria-invalid="true"`}, []string{"此编号由本登记机构签发"}},
		{"a wrong check digit, in English", "en", badCheck, 422,
			[]string{`id="number-error" role="alert">Not a valid number`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := s.browser()
			b.get("/lang/" + tc.lang + "?next=/")
			res := b.get("/verify?number=" + url.QueryEscape(tc.number))
			if res.StatusCode != tc.status {
				t.Errorf("status %d, want %d", res.StatusCode, tc.status)
			}
			for _, w := range tc.want {
				if !strings.Contains(b.last, w) {
					t.Errorf("the page lacks %q:\n%s", w, b.last)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(b.last, w) {
					t.Errorf("the page shows %q", w)
				}
			}
		})
	}

	t.Run("the printable certificates print the digest /verify shows", func(t *testing.T) {
		b := s.browser()
		b.signIn(bank)
		for number, path := range map[string]string{cancelled: "/registrations/" + cancelled + "/certificate", search: "/searches/" + search + "/certificate"} {
			if res := b.get(path); res.StatusCode != http.StatusOK || !strings.Contains(b.last, digest(number)) {
				t.Errorf("%s: %d, without the digest %s", path, res.StatusCode, digest(number))
			}
		}
	})
}

// checkDigits completes 18 digits with the ISO 7064 MOD 97-10 check digits
// of a registry number, worked out here apart from the code under test.
func checkDigits(body string) string {
	r := 0
	for _, c := range body + "00" {
		r = (r*10 + int(c-'0')) % 97
	}
	c := 98 - r
	return string(rune('0'+c/10)) + string(rune('0'+c%10))
}

// TestVerifyShowsAnObjectionThatStands: a registration under objection is
// disputed, and whoever verifies one of its certificates is told, in either
// language, with the objection's number, when it was filed and when it
// lapses; the API answer /verify draws from carries the same. Once the
// objection is withdrawn, neither says so any more.
func TestVerifyShowsAnObjectionThatStands(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bank := s.bank("registrant", "searcher")
	gid, gcode := s.org("上海星辰精密机械有限公司", "enterprise")
	grantor := s.user(gid, gcode, "registrant")
	number := s.file(bank, "上海星辰精密机械有限公司", gcode)
	o := s.api(201, "POST", "/registrations/"+number+"/objections", grantor.Token, map[string]any{"statement": "未设定此项担保"})
	objection := o["number"].(string)
	lapses := o["lapses_at"].(string)

	cert := s.api(200, "GET", "/certificates/"+number, "", nil)
	standing, _ := cert["objections"].([]any)
	if len(standing) != 1 || standing[0].(map[string]any)["number"] != objection || standing[0].(map[string]any)["status"] != "active" ||
		standing[0].(map[string]any)["lapses_at"] != lapses {
		t.Fatalf("the certificate's answer does not carry the objection that stands: %v", cert)
	}
	for lang, want := range map[string][]string{
		"zh": {"异议登记中", "本登记已有异议登记", objection, "失效于"},
		"en": {"Under objection", "An objection has been registered against this registration", objection, "lapses"},
	} {
		b := s.browser()
		b.get("/lang/" + lang + "?next=/")
		b.get("/verify?number=" + number)
		for _, w := range append(want, `id="objections"`, `class="status objection-active"`) {
			if !strings.Contains(b.last, w) {
				t.Errorf("%s: the verify page of a registration under objection lacks %q", lang, w)
			}
		}
	}
	// On the registration's page, the objection's badge is a warning, not
	// the green of "effective": a class of its own, a sign and words.
	b := s.browser()
	b.signIn(grantor)
	b.get("/registrations/" + number)
	for _, w := range []string{`<span class="status objection-active"><span aria-hidden="true">⚠ </span>异议有效</span>`, `class="status objection-standing"`, "异议登记中"} {
		if !strings.Contains(b.last, w) {
			t.Errorf("the registration's page lacks %q", w)
		}
	}
	css := b.get("/static/app.css")
	if css.StatusCode != 200 {
		t.Fatal("no stylesheet")
	}
	for _, line := range strings.Split(b.last, "\n") {
		if strings.Contains(line, ".status-effective") && strings.Contains(line, "objection") {
			t.Errorf("a standing objection is styled as effective: %s", line)
		}
	}
	if !strings.Contains(b.last, ".objection-active, .objection-litigating, .objection-standing {") {
		t.Error("the stylesheet has no warning style for a standing objection")
	}
	s.api(201, "POST", "/registrations/"+number+"/objections/"+objection+"/withdrawal", grantor.Token, nil)
	if cert := s.api(200, "GET", "/certificates/"+number, "", nil); cert["objections"] != nil {
		t.Errorf("a withdrawn objection is still on the certificate's answer: %v", cert["objections"])
	}
	b = s.browser()
	b.get("/verify?number=" + number)
	if strings.Contains(b.last, `id="objections"`) || strings.Contains(b.last, "异议登记中") {
		t.Error("the verify page still says the registration is under objection after the withdrawal")
	}
}
