package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// mailbox is a real SMTP server on loopback that keeps what it receives.
type mailbox struct {
	mu       sync.Mutex
	messages []received
}

type received struct {
	to  []string
	raw []byte
}

type session struct {
	box *mailbox
	to  []string
}

func (b *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{box: b}, nil }
func (s *session) Reset()                                      { s.to = nil }
func (s *session) Logout() error                               { return nil }
func (s *session) Mail(string, *smtp.MailOptions) error        { return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.box.mu.Lock()
	s.box.messages = append(s.box.messages, received{to: s.to, raw: raw})
	s.box.mu.Unlock()
	return nil
}

// TestEmailNotices: users who asked for email get each of their
// organization's notices through SMTP, in their own language, with the
// registration's number and a link to it; a user who did not ask gets none.
func TestEmailNotices(t *testing.T) {
	t.Parallel()
	box := &mailbox{}
	server := smtp.NewServer(box)
	server.Domain = "localhost"
	server.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = server.Serve(l) }()
	defer server.Close()

	addr, admin, _ := startServerWith(t, map[string]string{
		"REGISTRY_SMTP_ADDR": l.Addr().String(), "REGISTRY_SMTP_FROM": "notices@register.example",
		"REGISTRY_PUBLIC_URL": "https://register.example", "REGISTRY_SHUTDOWN_GRACE": "0s",
	})
	base := "http://" + addr
	c := &caller{t: t}
	token := bankClerk(c, base, admin, `"registrant"`)
	grantor := c.json("POST", base+"/api/v1/organizations", admin, `{"name":"上海星辰精密机械有限公司","uscc":"91310115MA1K3YJ12G","kind":"enterprise"}`, 201)["id"]
	for _, u := range []string{
		`{"email":"cfo@grantor.example","display_name":"财务","roles":["registrant"],"notify_email":true,"language":"zh"}`,
		`{"email":"counsel@grantor.example","display_name":"Counsel","roles":["registrant"],"notify_email":true,"language":"en"}`,
		`{"email":"clerk@grantor.example","display_name":"职员","roles":["registrant"]}`,
	} {
		c.json("POST", base+"/api/v1/users", admin, strings.Replace(u, "{", fmt.Sprintf(`{"organization_id":%q,`, grantor), 1), 201)
	}
	number := c.json("POST", base+"/api/v1/registrations", token, filingBody("设备一批"), 201)["number"].(string)

	deadline := time.Now().Add(30 * time.Second)
	for {
		box.mu.Lock()
		n := len(box.messages)
		box.mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d emails within 30 s", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
	box.mu.Lock()
	defer box.mu.Unlock()
	if len(box.messages) != 2 {
		t.Fatalf("%d emails, want 2 (the clerk asked for none)", len(box.messages))
	}
	want := map[string]string{"cfo@grantor.example": "新登记", "counsel@grantor.example": "New registration"}
	for _, m := range box.messages {
		msg, err := mail.ReadMessage(bytes.NewReader(m.raw))
		if err != nil {
			t.Fatal(err)
		}
		subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(msg.Body)
		text := decodeBody(msg.Header.Get("Content-Transfer-Encoding"), body)
		if len(m.to) != 1 || want[m.to[0]] == "" {
			t.Errorf("an email to %v", m.to)
			continue
		}
		if !strings.Contains(subject, want[m.to[0]]) || !strings.Contains(subject, number) {
			t.Errorf("to %s: subject %q", m.to[0], subject)
		}
		if !strings.Contains(text, "https://register.example/registrations/"+number) {
			t.Errorf("to %s: body without the link:\n%s", m.to[0], text)
		}
		if from := msg.Header.Get("From"); !strings.Contains(from, "notices@register.example") {
			t.Errorf("from %q", from)
		}
	}
}

// decodeBody undoes a body's transfer encoding (go-mail writes quoted-printable
// or base64 for text that is not ASCII).
func decodeBody(encoding string, body []byte) string {
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		b, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
		if err == nil {
			return string(b)
		}
	case "base64":
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(body)), ""))
		if err == nil {
			return string(b)
		}
	}
	return string(body)
}
