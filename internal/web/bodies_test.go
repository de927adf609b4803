package web_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// heldBody is a multipart form of one csrf part and a file of size bytes,
// sent as a browser sends it, except that after the first 64 KiB of the
// file it waits until let go (or ten seconds): a page that answers while it
// waits has not read the body.
type heldBody struct {
	head, tail []byte
	file, sent int64
	let        chan struct{}
	waited     atomic.Bool
}

const boundary = "heldbodyboundary"

func newHeldBody(csrf string, size int64) *heldBody {
	head := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n" + csrf + "\r\n" +
		"--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"filings.csv\"\r\nContent-Type: text/csv\r\n\r\n"
	return &heldBody{head: []byte(head), tail: []byte("\r\n--" + boundary + "--\r\n"), file: size, let: make(chan struct{})}
}

func (b *heldBody) size() int64 { return int64(len(b.head)) + b.file + int64(len(b.tail)) }

func (b *heldBody) Read(p []byte) (int, error) {
	switch {
	case len(b.head) > 0:
		n := copy(p, b.head)
		b.head = b.head[n:]
		return n, nil
	case b.sent < b.file:
		if b.sent >= 64<<10 && !b.waited.Load() {
			select {
			case <-b.let:
			case <-time.After(10 * time.Second):
			}
			b.waited.Store(true)
		}
		n := min(int64(len(p)), b.file-b.sent)
		copy(p, bytes.Repeat([]byte("a"), int(n)))
		b.sent += n
		return int(n), nil
	case len(b.tail) > 0:
		n := copy(p, b.tail)
		b.tail = b.tail[n:]
		return n, nil
	}
	return 0, io.EOF
}

// TestLargeFormsCheckedBeforeRead: the bulk page and the attachments page
// refuse a user without the role, and a form without this session's CSRF
// token (the form's first part), before they read the file: the answer
// comes while the browser still holds the rest of it back.
func TestLargeFormsCheckedBeforeRead(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	searcher := s.bank("searcher")
	registrant := s.bank("registrant")
	for _, tc := range []struct {
		name, path string
		who        user
		csrf       string // "" for the page's own
		status     int
		says       string
	}{
		{"a searcher's bulk filing", "/registrations/bulk", searcher, "", http.StatusForbidden, `id="needed"`},
		{"a searcher's attachment", "/attachments", searcher, "", http.StatusForbidden, `id="needed"`},
		{"a bulk filing with another token", "/registrations/bulk", registrant, "forged", http.StatusForbidden, "did not come from this site"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := s.browser()
			b.signIn(tc.who)
			b.get("/lang/en?next=/")
			csrf := tc.csrf
			if csrf == "" {
				csrf = b.csrf()
			}
			body := newHeldBody(csrf, 30<<20)
			req, err := http.NewRequest("POST", s.url+tc.path, body)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = body.size()
			req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
			start := time.Now()
			res, err := b.c.Do(req)
			late := body.waited.Load()
			close(body.let)
			if err != nil {
				t.Fatal(err)
			}
			b.read(res)
			if late {
				t.Errorf("answered only once the whole body was sent (after %v)", time.Since(start))
			}
			if res.StatusCode != tc.status || !strings.Contains(b.last, tc.says) {
				t.Errorf("%d, want %d saying %q:\n%.2000s", res.StatusCode, tc.status, tc.says, b.last)
			}
		})
	}

	// The registrant's own form, its token first as the page sends it, is
	// read whole, the file kept on disk past 1 MiB, and filed.
	b := s.browser()
	b.signIn(registrant)
	b.get("/registrations/bulk")
	var csv strings.Builder
	csv.WriteString("kind,grantor_name,grantor_uscc,secured_name,secured_uscc,description,period_months,serial_numbers," +
		"grantor_address,grantor_legal_representative,secured_address,secured_legal_representative,agreed_with_grantor\n")
	for i := range 3 {
		fmt.Fprintf(&csv, "chattel_mortgage,上海某某机械制造有限公司,%s,某银行,%s,设备%d,12,,上海市,王建国,上海市,李明,是\n", registrant.USCC, registrant.USCC, i)
	}
	form := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n" + b.csrf() + "\r\n" +
		"--" + boundary + "\r\nContent-Disposition: form-data; name=\"idempotency_key\"\r\n\r\n" + regexpField("idempotency_key", b.last) + "\r\n" +
		"--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.csv\"\r\nContent-Type: text/csv\r\n\r\n" +
		csv.String() + strings.Repeat("\n", 2<<20) + "\r\n--" + boundary + "--\r\n"
	req, err := http.NewRequest("POST", s.url+"/registrations/bulk", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b.read(res)
	if res.StatusCode != http.StatusOK || !strings.Contains(b.last, `id="bulk-summary"`) {
		t.Errorf("the registrant's bulk filing: %d\n%.3000s", res.StatusCode, b.last)
	}
}
