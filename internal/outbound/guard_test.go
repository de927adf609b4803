package outbound

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
	t.Parallel()
	dns := fakeDNS{
		"receiver.bank.example": {netip.MustParseAddr("8.8.4.10")},
		"sneaky.example":        {netip.MustParseAddr("8.8.4.11"), netip.MustParseAddr("10.0.0.1")},
		"nat64.example":         {netip.MustParseAddr("64:ff9b::a00:1")},
		"metadata.example":      {netip.MustParseAddr("169.254.169.254")},
		"localhost":             {netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")},
	}
	g := Guard{Resolver: dns}
	ctx := context.Background()
	for _, bad := range []string{
		"https://127.0.0.1/hook", "https://10.0.0.1/hook", "https://169.254.169.254/latest/meta-data", "https://[::1]/hook",
		"https://[::ffff:127.0.0.1]/hook", "https://100.64.0.1/hook", "https://0.0.0.0/hook", "https://localhost/hook",
		"https://sneaky.example/hook", "https://metadata.example/hook", "https://nat64.example/hook", "http://receiver.bank.example/hook",
		"https://user:pass@receiver.bank.example/hook", "ftp://receiver.bank.example/", "/relative", "https://nowhere.example/",
	} {
		if err := g.Check(ctx, bad); err == nil {
			t.Errorf("%s was accepted", bad)
		}
	}
	for _, good := range []string{"https://receiver.bank.example/hook", "https://8.8.4.20:8443/notices"} {
		if err := g.Check(ctx, good); err != nil {
			t.Errorf("%s: %v", good, err)
		}
	}
	// The machine's own resolver: localhost is loopback.
	if err := (Guard{}).Check(ctx, "https://localhost/hook"); err == nil {
		t.Error("https://localhost/hook was accepted with the real resolver")
	}
	allowed := Guard{Resolver: dns, Allow: []string{"127.0.0.1/32", "localhost:9000"}}
	for _, good := range []string{"http://127.0.0.1:8080/hook", "http://localhost:9000/hook"} {
		if err := allowed.Check(ctx, good); err != nil {
			t.Errorf("allowed %s: %v", good, err)
		}
	}
	if err := allowed.Check(ctx, "http://localhost:9001/hook"); err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("localhost on another port: %v", err)
	}
}

// Only globally reachable addresses (IANA's special-purpose registries) may
// be called; an IPv4 address inside an IPv6 one is judged as IPv4, since a
// translator or relay would deliver to it.
func TestWebhookAddressesMustBeGloballyReachable(t *testing.T) {
	t.Parallel()
	g := Guard{Resolver: fakeDNS{}}
	ctx := context.Background()
	for _, bad := range []string{
		// From the attack.
		"[::127.0.0.1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::]", "0.0.0.1", "198.18.0.1", "240.0.0.1", "192.0.0.1", "[fec0::1]",
		// IPv4 special-purpose ranges.
		"0.0.0.0", "10.1.2.3", "100.64.0.1", "100.127.255.254", "127.0.0.1", "127.255.255.254", "169.254.169.254", "172.16.0.1",
		"172.31.255.254", "192.0.0.9", "192.0.0.170", "192.0.2.1", "192.88.99.1", "192.168.1.1", "198.19.255.254", "198.51.100.1",
		"203.0.113.1", "224.0.0.1", "239.255.255.250", "255.255.255.255", "250.1.2.3",
		// IPv4 inside IPv6: mapped, compatible, NAT64 (well-known and local), 6to4, Teredo.
		"[::ffff:127.0.0.1]", "[::ffff:10.0.0.1]", "[::ffff:a9fe:a9fe]", "[::10.0.0.1]", "[::a9fe:a9fe]", "[::]", "[::1]",
		"[64:ff9b::10.0.0.1]", "[64:ff9b::a9fe:a9fe]", "[64:ff9b::c000:201]", "[64:ff9b:1::7f00:1]", "[64:ff9b:1::808:808]",
		"[2002:a00:1::1]", "[2002:c0a8:101::]", "[2002:a9fe:a9fe::1]", "[2002:c612:1::]",
		"[2001:0:7f00:1::808:808]", "[2001:0:808:808::80ff:fefe]", "[2001:0:808:808::f5ff:fffe]",
		// IPv6 special-purpose ranges and what is not global unicast.
		"[fe80::1]", "[febf::1]", "[fec0::1]", "[feff::1]", "[fc00::1]", "[fd12:3456::1]", "[ff02::1]", "[ff0e::1]",
		"[100::1]", "[100:0:0:1::1]", "[2001:2::1]", "[2001:10::1]", "[2001:db8::1]", "[3fff::1]", "[5f00::1]", "[4000::1]", "[1::1]",
	} {
		if err := g.Check(ctx, "https://"+bad+"/hook"); err == nil {
			t.Errorf("%s was accepted", bad)
		}
	}
	for _, good := range []string{
		"8.8.8.8", "1.1.1.1", "100.63.255.255", "100.128.0.1", "172.32.0.1", "192.0.1.1", "198.20.0.1", "223.255.255.254",
		"[2606:4700::1111]", "[2a00:1450::1]", "[::ffff:8.8.8.8]", "[64:ff9b::808:808]", "[2002:808:808::1]",
		"[2001:0:808:808::f7f7:f7f7]",
	} {
		if err := g.Check(ctx, "https://"+good+"/hook"); err != nil {
			t.Errorf("%s: %v", good, err)
		}
	}
}
