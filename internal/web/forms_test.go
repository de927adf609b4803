package web_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Each notice is listed once: the unread are marked and counted in the one
// list, not listed again above it.
func TestANoticeIsListedOnce(t *testing.T) {
	s := newSite(t)
	bank := s.bank("registrant")
	gid, gcode := s.org("上海星辰精密机械有限公司", "enterprise")
	grantor := s.user(gid, gcode, "registrant")
	number := s.file(bank, "上海星辰精密机械有限公司", gcode)
	b := s.browser()
	b.signIn(grantor)
	b.get("/notices")
	if got := strings.Count(b.last, `href="/registrations/`+number+`"`); got != 1 {
		t.Errorf("the filing's notice is listed %d times, want once:\n%s", got, b.last)
	}
	if !strings.Contains(b.last, "有 1 条未读通知") {
		t.Errorf("the unread notice is not counted:\n%s", b.last)
	}
}

// The registry has an icon of its own, at the address browsers ask for and
// linked from every page.
func TestTheFaviconIsServed(t *testing.T) {
	s := newSite(t)
	for _, path := range []string{"/favicon.ico", "/static/favicon.svg"} {
		res, err := s.client.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "image/") || len(body) == 0 {
			t.Errorf("%s: %d %q, %d bytes", path, res.StatusCode, res.Header.Get("Content-Type"), len(body))
		}
		if path == "/favicon.ico" && !bytes.HasPrefix(body, []byte{0, 0, 1, 0}) {
			t.Errorf("%s is not an icon: % x", path, body[:min(len(body), 8)])
		}
	}
	b := s.browser()
	b.get("/")
	if !strings.Contains(b.last, `<link rel="icon" href="/favicon.ico"`) || !strings.Contains(b.last, `href="/static/favicon.svg"`) {
		t.Error("the home page does not link the icon")
	}
}
