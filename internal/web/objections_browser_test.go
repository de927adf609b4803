package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestAStandingObjectionLooksLikeAWarning: in the browser, in either
// language, a registration under objection is marked on its page and on
// /verify with a badge whose colours are not those of "effective" (and that
// carries a sign and words, for whoever does not see colour), and /verify
// lists the objection with its number and its end.
func TestAStandingObjectionLooksLikeAWarning(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bank := s.bank("registrant", "searcher")
	gid, gcode := s.org("上海星辰精密机械有限公司", "enterprise")
	grantor := s.user(gid, gcode, "registrant")
	number := s.file(bank, "上海星辰精密机械有限公司", gcode)
	objection := s.api(201, "POST", "/registrations/"+number+"/objections", grantor.Token, map[string]any{"statement": "未设定此项担保"})["number"].(string)
	colours := `(s => { const e = document.querySelector(s); if (!e) return ""; const c = getComputedStyle(e); return c.backgroundColor + " " + c.color })`
	for _, lang := range []string{"zh", "en"} {
		b := s.open(t, lang)
		c := loadCatalog(t, lang)
		b.signIn(grantor)
		b.do(chromedp.Navigate(s.url+"/registrations/"+number), chromedp.WaitVisible(chromedp.CSS(".objection-standing")))
		effective := run(b, chromedp.Evaluate[string](colours+`(".status-effective")`))
		for _, sel := range []string{".objection-standing", ".objection-active"} {
			if got := run(b, chromedp.Evaluate[string](colours+`("`+sel+`")`)); got == "" || got == effective {
				t.Errorf("%s: %s is coloured %q, as effective is (%q)", lang, sel, got, effective)
			}
		}
		if got := b.text(".objection-standing"); got != "⚠ "+c.tr("objection.under") {
			t.Errorf("%s: the badge says %q", lang, got)
		}
		b.screenshot("registration-under-objection")
		b.do(chromedp.Navigate(s.url+"/verify?number="+number), chromedp.WaitVisible(chromedp.CSS("#objections")))
		if got := b.text("#objections"); !containsAll(got, objection, c.tr("objection.under"), c.tr("objection.lapses_at")) {
			t.Errorf("%s: /verify says %q", lang, got)
		}
		b.screenshot("verify-under-objection")
	}
}

// containsAll reports whether s contains every one of subs.
func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
