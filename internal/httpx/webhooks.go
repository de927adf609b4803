package httpx

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

// WebhookGuard decides which addresses the registry may call with notices:
// https, and none that resolves to a loopback, private, link-local,
// shared (carrier-grade NAT), multicast or unspecified address, so that a
// webhook cannot make the registry reach into its own network (server-side
// request forgery). Allow names hosts, host:ports and CIDR ranges that may
// be called anyway, over plain http too (a receiver inside the operator's
// network, or a test's on loopback).
type WebhookGuard struct {
	Allow []string
	// Resolver looks names up (net.DefaultResolver when nil).
	Resolver interface {
		LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
	}
}

// sharedAddressSpace is 100.64.0.0/10 (RFC 6598), which netip does not
// count as private.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// Check refuses raw unless the registry may call it, saying why.
func (g WebhookGuard) Check(ctx context.Context, raw string) error {
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
			return fmt.Errorf("its host %q is a loopback, private or link-local address (%s), which the registry does not call", host, a.Unmap())
		}
	}
	return nil
}

// permits reports whether the registry may connect to an address.
func (g WebhookGuard) permits(a netip.Addr) bool {
	a = a.Unmap()
	if g.allowsAddr(a) {
		return true
	}
	return !(a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsUnspecified() || sharedAddressSpace.Contains(a) || !a.IsGlobalUnicast())
}

// Client is an HTTP client for deliveries that checks, when it connects,
// the address it connects to (a name that resolved to a public address at
// registration may resolve elsewhere later), follows no redirect, and
// gives up after timeout.
func (g WebhookGuard) Client(timeout time.Duration) *http.Client {
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

func (g WebhookGuard) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
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
func (g WebhookGuard) allowsHost(host, hostPort string) bool {
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
func (g WebhookGuard) allowsAddr(a netip.Addr) bool {
	for _, s := range g.Allow {
		if p, err := netip.ParsePrefix(s); err == nil && p.Contains(a) {
			return true
		}
	}
	return false
}
