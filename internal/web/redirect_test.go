package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// offSiteTargets are next targets that a browser could follow to another
// origin (other holds that origin's host), each refused: Location is "/".
// Browsers strip tabs, newlines and C0 controls from a Location and read
// "\" as "/"; the percent-encoded forms decode to those.
func offSiteTargets(other string) []string {
	return []string{
		"/\t/" + other, "/\n/" + other, "/\r/" + other, "/\v/" + other, "/\f/" + other,
		"/\x00/" + other, "/\x1f/" + other, "/\x7f/" + other, "/\u0085/" + other,
		"/\u200b/" + other, "/\ufeff/" + other, "/\u2028/" + other, "/\u202e/" + other,
		"\t//" + other, " //" + other, "//" + other, "///" + other, "/\\" + other, "\\\\" + other,
		"/%09/" + other, "/%0a/" + other, "/%0D/" + other, "/%0b/" + other, "/%2509/" + other,
		"/%252509/" + other, "/%5C" + other, "/%2F" + other, "/%2f%2f" + other, "/%zz%09/" + other,
		"/%E2%80%8B/" + other, "/%C2%85/" + other, "/%ff/" + other,
		"http://" + other, "HTTP://" + other + "/", "http:/" + other, "javascript:alert(1)",
		"//user@" + other, "search", "",
	}
}

// onSiteTargets are kept as they are.
var onSiteTargets = []string{"/search", "/registrations/1?x=2", "/search?value=100%25", "/search?value=a%2Fb", "/%E4%B8%AD"}

func TestNextTargetsLeadOnlyToPathsOnTheSite(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bank := s.bank("registrant", "searcher")
	b := s.browser()
	b.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, other := range []string{"evil.example", "127.0.0.2:8080"} {
		for _, next := range offSiteTargets(other) {
			if loc := b.get("/lang/en?next=" + url.QueryEscape(next)).Header.Get("Location"); loc != "/" {
				t.Errorf("/lang/en?next=%q went to %q, want /", next, loc)
			}
			b.get("/signin?next=" + url.QueryEscape(next))
			if got := regexpField("next", b.last); got != "/" {
				t.Errorf("/signin?next=%q: the form keeps next %q, want /", next, got)
			}
			res := b.post("/signin", url.Values{"email": {bank.Email}, "password": {password}, "next": {next}})
			if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/" {
				t.Errorf("sign-in with next %q: %d to %q, want 303 to /", next, res.StatusCode, loc)
			}
		}
	}
	for _, next := range onSiteTargets {
		if loc := b.get("/lang/en?next=" + url.QueryEscape(next)).Header.Get("Location"); loc != next {
			t.Errorf("/lang/en?next=%q went to %q, want it kept", next, loc)
		}
	}
}

// A real browser follows each target as it follows a Location: it must stay
// on the site, and another origin on this machine is never asked for.
func TestABrowserFollowsNextOnlyOnTheSite(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("a browser takes a while")
	}
	var hits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte("<p>phished</p>"))
	}))
	defer other.Close()
	otherHost := strings.TrimPrefix(other.URL, "http://")
	s := newSite(t)
	bank := s.bank("registrant", "searcher")
	b := s.open(t, "en")
	onSite := func(what string) {
		t.Helper()
		loc := run(b, chromedp.Location())
		if !strings.HasPrefix(loc, s.url+"/") {
			t.Errorf("%s: the browser went to %s", what, loc)
		}
		if n := hits.Swap(0); n > 0 {
			t.Errorf("%s: the other origin was asked %d times", what, n)
		}
	}
	for _, next := range offSiteTargets(otherHost) {
		b.do(chromedp.Navigate(s.url + "/lang/en?next=" + url.QueryEscape(next)))
		onSite("/lang/en?next=" + next)
	}
	// After a real sign-in, typed into the page the link opened.
	for _, next := range []string{"/\t/" + otherHost + "/phish", "/\v/" + otherHost, "/%09/" + otherHost, "/\x1f/" + otherHost, "\\\\" + otherHost} {
		b.do(chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
			_, err := cdp.Call(ctx, target, network.DeleteCookies, network.DeleteCookiesParams{Name: "registry_session", URL: s.url})
			return err
		}),
			chromedp.Navigate(s.url+"/signin?next="+url.QueryEscape(next)), chromedp.WaitVisible(chromedp.CSS("#email")),
			typeIn("#email", bank.Email),
			typeIn("#password", password+kb.Enter))
		// Wait (bounded) for the browser to leave the sign-in page.
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if loc := run(b, chromedp.Location()); !strings.Contains(loc, "/signin") && run(b, chromedp.Evaluate[string](`document.readyState`)) == "complete" {
				break
			}
		}
		onSite("sign-in with next " + next)
	}
}

// The statistics page in a browser, in each language, with a month and
// province withheld from the public ("<5").
func TestABrowserSeesFewSearchesWithheld(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("a browser takes a while")
	}
	s := newSite(t)
	bank := s.bank("searcher")
	s.api(201, "POST", "/searches", bank.Token, map[string]any{"criteria": map[string]any{"uscc": uscc("91310115MA1K3YJ1X")}})
	for _, lang := range []string{"zh", "en"} {
		b := s.open(t, lang)
		b.do(chromedp.Navigate(s.url+"/statistics?by=province"), chromedp.WaitVisible(chromedp.CSS("table.stats")))
		if got := b.text("table.stats tbody tr td:last-child"); got != "<5" {
			t.Errorf("%s: the searches cell shows %q", lang, got)
		}
		b.screenshot("statistics-withheld")
	}
}
