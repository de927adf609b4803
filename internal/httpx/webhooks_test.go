package httpx

import (
	"context"
	"net/netip"
	"strings"
	"testing"
)

// fakeDNS answers names from a table, as a resolver would.
type fakeDNS map[string][]netip.Addr

func (f fakeDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	return f[host], nil
}

// Webhook addresses aimed at the registry's own network are refused, by
// address and by a name that resolves there; https to a public address is
// accepted; webhooks.allow_hosts lets a named host or range through, over
// plain http too.
func TestWebhookGuard(t *testing.T) {
	dns := fakeDNS{
		"receiver.bank.example": {netip.MustParseAddr("203.0.113.10")},
		"sneaky.example":        {netip.MustParseAddr("203.0.113.11"), netip.MustParseAddr("10.0.0.1")},
		"metadata.example":      {netip.MustParseAddr("169.254.169.254")},
		"localhost":             {netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")},
	}
	g := WebhookGuard{Resolver: dns}
	ctx := context.Background()
	for _, bad := range []string{
		"https://127.0.0.1/hook", "https://10.0.0.1/hook", "https://169.254.169.254/latest/meta-data", "https://[::1]/hook",
		"https://[::ffff:127.0.0.1]/hook", "https://100.64.0.1/hook", "https://0.0.0.0/hook", "https://localhost/hook",
		"https://sneaky.example/hook", "https://metadata.example/hook", "http://receiver.bank.example/hook",
		"https://user:pass@receiver.bank.example/hook", "ftp://receiver.bank.example/", "/relative", "https://nowhere.example/",
	} {
		if err := g.Check(ctx, bad); err == nil {
			t.Errorf("%s was accepted", bad)
		}
	}
	for _, good := range []string{"https://receiver.bank.example/hook", "https://203.0.113.20:8443/notices"} {
		if err := g.Check(ctx, good); err != nil {
			t.Errorf("%s: %v", good, err)
		}
	}
	// The machine's own resolver: localhost is loopback.
	if err := (WebhookGuard{}).Check(ctx, "https://localhost/hook"); err == nil {
		t.Error("https://localhost/hook was accepted with the real resolver")
	}
	allowed := WebhookGuard{Resolver: dns, Allow: []string{"127.0.0.1/32", "localhost:9000"}}
	for _, good := range []string{"http://127.0.0.1:8080/hook", "http://localhost:9000/hook"} {
		if err := allowed.Check(ctx, good); err != nil {
			t.Errorf("allowed %s: %v", good, err)
		}
	}
	if err := allowed.Check(ctx, "http://localhost:9001/hook"); err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("localhost on another port: %v", err)
	}
}
