package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// Guard decides which addresses the registry may call with notices:
// https, and only to globally reachable addresses (IANA's special-purpose
// address registries), so that a webhook cannot make the registry reach
// into its own network (server-side request forgery). An IPv4 address
// carried inside an IPv6 one (mapped, compatible, NAT64, 6to4, Teredo) is
// judged as that IPv4 address, since a translator or relay delivers to it. Allow names hosts, host:ports and CIDR ranges that may
// be called anyway, over plain http too (a receiver inside the operator's
// network, or a test's on loopback).
type Guard struct {
	Allow []string
	// Resolver looks names up (net.DefaultResolver when nil).
	Resolver interface {
		LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
	}
}

// Check refuses raw unless the registry may call it, saying why.
func (g Guard) Check(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return errors.New("must be an absolute https:// address")
	}
	if u.User != nil {
		return errors.New("may not carry a user name or password")
	}
	host := u.Hostname()
	allowedHost := g.allowsHost(host, u.Host)
	if u.Scheme != "https" && !allowedHost {
		return errors.New("must be https:// (plain http only to hosts that webhooks.allow_hosts names)")
	}
	if allowedHost {
		return nil
	}
	addrs, err := g.resolve(ctx, host)
	if err != nil {
		return fmt.Errorf("its host %q cannot be resolved", host)
	}
	for _, a := range addrs {
		if !g.permits(a) {
			return fmt.Errorf("its host %q is not a globally reachable address (%s: loopback, private, link-local, reserved, documentation, benchmarking or translated to one of these), which the registry does not call", host, a)
		}
	}
	return nil
}

// permits reports whether the registry may connect to an address: one in
// a range webhooks.allow_hosts names, or a globally reachable one.
func (g Guard) permits(a netip.Addr) bool {
	return g.allowsAddr(a.Unmap()) || GloballyReachable(a)
}

// Client is an HTTP client for deliveries that checks, when it connects,
// the address it connects to (a name that resolved to a public address at
// registration may resolve elsewhere later), follows no redirect, and
// gives up after timeout.
func (g Guard) Client(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = func(ctx context.Context, network, address string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(address)
		if err != nil {
			return nil, err
		}
		if g.allowsHost(host, address) {
			return dialer.DialContext(ctx, network, address)
		}
		addrs, err := g.resolve(ctx, host)
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			if g.permits(a) {
				return dialer.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
			}
		}
		return nil, fmt.Errorf("%s resolves only to addresses the registry does not call", host)
	}
	return &http.Client{Transport: t, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (g Guard) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	r := g.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err == nil && len(addrs) == 0 {
		err = errors.New("no address")
	}
	return addrs, err
}

// allowsHost reports whether Allow names the host or host:port.
func (g Guard) allowsHost(host, hostPort string) bool {
	for _, a := range g.Allow {
		if strings.EqualFold(a, host) || strings.EqualFold(a, hostPort) {
			return true
		}
		if p, err := netip.ParsePrefix(a); err == nil {
			if ip, err := netip.ParseAddr(host); err == nil && p.Contains(ip.Unmap()) {
				return true
			}
		}
	}
	return false
}

// allowsAddr reports whether an address is in a range Allow names.
func (g Guard) allowsAddr(a netip.Addr) bool {
	for _, s := range g.Allow {
		if p, err := netip.ParsePrefix(s); err == nil && p.Contains(a) {
			return true
		}
	}
	return false
}

// notGlobal4 are the IPv4 ranges of IANA's special-purpose registry that
// are not globally reachable, and multicast and the reserved class E.
// 192.0.0.0/24 is refused whole: its two anycast exceptions are no
// webhook's receiver.
var notGlobal4 = prefixes(
	"0.0.0.0/8",       // this network
	"10.0.0.0/8",      // private
	"100.64.0.0/10",   // shared address space (carrier-grade NAT)
	"127.0.0.0/8",     // loopback
	"169.254.0.0/16",  // link-local
	"172.16.0.0/12",   // private
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // documentation (TEST-NET-1)
	"192.88.99.0/24",  // 6to4 relay anycast (deprecated)
	"192.168.0.0/16",  // private
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // documentation (TEST-NET-2)
	"203.0.113.0/24",  // documentation (TEST-NET-3)
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, and the limited broadcast address
)

// notGlobal6 are the IPv6 ranges inside global unicast (2000::/3) that are
// not globally reachable. Teredo (2001::/32) is in 2001::/23 but is judged
// by its IPv4 addresses before this list is read.
var notGlobal6 = prefixes(
	"2001::/23",     // IETF protocol assignments (benchmarking, ORCHID, …)
	"2001:db8::/32", // documentation
	"3fff::/20",     // documentation
)

// Where IPv4 addresses travel inside IPv6 ones.
var (
	compatible6 = netip.MustParsePrefix("::/96")         // IPv4-compatible (deprecated), :: and ::1 too
	mapped6     = netip.MustParsePrefix("::ffff:0:0/96") // IPv4-mapped
	nat64       = netip.MustParsePrefix("64:ff9b::/96")  // well-known NAT64 prefix
	nat64Local  = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFour   = netip.MustParsePrefix("2002::/16")
	teredo      = netip.MustParsePrefix("2001::/32")
	global6     = netip.MustParsePrefix("2000::/3")
)

func prefixes(ss ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}

// GloballyReachable reports whether a is an address any host on the
// internet could reach, by IANA's special-purpose address registries; an
// IPv4 address inside an IPv6 one is judged as IPv4.
func GloballyReachable(a netip.Addr) bool {
	if !a.IsValid() || a.Zone() != "" {
		return false
	}
	if a.Is4() {
		return global4(a)
	}
	b := a.As16()
	v4 := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{b[i], b[i+1], b[i+2], b[i+3]}) }
	switch {
	case mapped6.Contains(a), compatible6.Contains(a), nat64.Contains(a):
		return global4(v4(12))
	case nat64Local.Contains(a):
		// A network's own translator, at a prefix length the address does
		// not tell, so the IPv4 address inside cannot be found: refused.
		return false
	case sixToFour.Contains(a):
		return global4(v4(2))
	case teredo.Contains(a):
		// The Teredo server's address, and the client's, stored inverted.
		client := netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]})
		return global4(v4(4)) && global4(client)
	case !global6.Contains(a):
		// Everything else outside 2000::/3: unspecified, loopback,
		// discard-only, unique-local, link-local, site-local, multicast,
		// and what IANA has not assigned.
		return false
	}
	for _, p := range notGlobal6 {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

func global4(a netip.Addr) bool {
	for _, p := range notGlobal4 {
		if p.Contains(a) {
			return false
		}
	}
	return true
}
