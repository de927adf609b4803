package web_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/movable-registry/registry/internal/httpx"
)

// TestASandboxSaysOnEveryPageThatItProvesNothing: on a sandbox, every page
// (signed in or not, an error page too) carries the banner in its language,
// and the printable certificates say inside themselves that they prove
// nothing; the real register's pages say neither.
func TestASandboxSaysOnEveryPageThatItProvesNothing(t *testing.T) {
	t.Parallel()
	banner := map[string]string{"zh": "测试登记簿（沙箱）", "en": "Test register (sandbox)"}
	stamp := map[string]string{"zh": "测试登记簿 — 本证明不具证明效力", "en": "TEST REGISTER — this certificate proves nothing"}
	for _, sandbox := range []bool{true, false} {
		s := newSiteOf(t, func(*httpx.Options) {}, httptest.NewServer, sandbox)
		bank := s.bank("registrant", "searcher")
		grantor := uscc("91310115MA1K3YJ1X")
		number := s.file(bank, "上海星辰精密机械有限公司", grantor)
		search := s.api(201, "POST", "/searches", bank.Token, map[string]any{"criteria": map[string]any{"uscc": grantor}})["number"].(string)
		for _, lang := range []string{"zh", "en"} {
			b := s.browser()
			b.get("/lang/" + lang + "?next=/")
			pages := map[string]int{"/": 200, "/verify?number=" + number: 200, "/signin": 200, "/statistics": 200}
			for path, status := range pages {
				b.check(t, sandbox, path, status, banner[lang], "")
			}
			b.signIn(bank)
			for path, status := range map[string]int{"/search": 200, "/registrations/" + number: 200, "/no/such/page": 404} {
				b.check(t, sandbox, path, status, banner[lang], "")
			}
			for _, path := range []string{"/registrations/" + number + "/certificate", "/searches/" + search + "/certificate"} {
				b.check(t, sandbox, path, 200, banner[lang], stamp[lang])
			}
		}
	}
}

// check opens path and checks that it shows the banner (and stamp, unless
// empty) on a sandbox, and neither on the real register.
func (b *browser) check(t *testing.T, sandbox bool, path string, status int, banner, stamp string) {
	t.Helper()
	res := b.get(path)
	if res.StatusCode != status {
		t.Errorf("%s: %d, want %d", path, res.StatusCode, status)
	}
	for _, w := range []string{`class="sandbox-banner"`, banner, stamp} {
		if w == "" {
			continue
		}
		if got := strings.Contains(b.last, w); got != sandbox {
			t.Errorf("sandbox %v: %s shows %q: %v", sandbox, path, w, got)
		}
	}
	if sandbox && res.StatusCode == http.StatusOK && stamp != "" && !strings.Contains(b.last, `class="sandbox-cert"`) {
		t.Errorf("%s: the certificate has no stamp of its own", path)
	}
}
