package netpolicy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrRefused is wrapped by every refusal of a Policy: an address it does
// not allow, a redirect it does not follow. Trying again cannot help.
var ErrRefused = errors.New("refused by dbg's download address policy (only public addresses are fetched)")

// MaxRedirects is the number of redirects a Policy's client follows.
const MaxRedirects = 5

// AddrError is a connection to an address the policy does not allow.
type AddrError struct {
	Addr   netip.Addr
	Host   string // the name that resolved to Addr, when the policy resolved one
	Reason string // Reason(Addr), or "not allowed" for a public address a custom Allow refused
}

func (e *AddrError) Error() string {
	s := e.Addr.String() + " is " + e.Reason
	if e.Host != "" && e.Host != e.Addr.String() {
		s = e.Host + " is " + e.Addr.String() + ", " + e.Reason
	}
	return s + ": " + ErrRefused.Error()
}

func (e *AddrError) Unwrap() error { return ErrRefused }

// Policy is where the host may connect to download what an untrusted input
// (a kernel config, driverversions.yaml, kernel-crawler output) names.
type Policy struct {
	// Allow tells whether the host may connect to an address; nil: Public.
	// Any lifts the policy (labs and tests on loopback); tests may inject
	// their own.
	Allow func(netip.Addr) bool
}

// Check returns an *AddrError when p does not allow addr.
func (p Policy) Check(addr netip.Addr) error {
	allow := p.Allow
	if allow == nil {
		allow = Public
	}
	if addr.IsValid() && allow(addr) {
		return nil
	}
	reason := Reason(addr)
	if reason == "" {
		reason = "not allowed"
	}
	return &AddrError{Addr: addr, Reason: reason}
}

// Control is a net.Dialer.Control that refuses a connection to an address p
// does not allow. It runs after name resolution, on the address about to be
// connected to, so neither a name that resolves to a private address (DNS
// rebinding included) nor a redirect gets past it.
func (p Policy) Control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot read the address %q", ErrRefused, address)
	}
	return p.Check(ap.Addr())
}

// Dialer returns a copy of d whose connections p checks (before d's own
// Control or ControlContext, if any).
func (p Policy) Dialer(d *net.Dialer) *net.Dialer {
	guarded := *d
	control, controlCtx := d.Control, d.ControlContext
	guarded.Control = nil
	guarded.ControlContext = func(ctx context.Context, network, address string, c syscall.RawConn) error {
		if err := p.Control(network, address, c); err != nil {
			return err
		}
		switch {
		case controlCtx != nil:
			return controlCtx(ctx, network, address, c)
		case control != nil:
			return control(network, address, c)
		}
		return nil
	}
	return &guarded
}

// CheckRedirect is an http.Client.CheckRedirect that follows at most
// MaxRedirects redirects, only to http(s) URLs without credentials, and
// never forwards credentials (the Authorization, Proxy-Authorization and
// Cookie headers). The address a redirect leads to is the dialer's to
// check (Control), as for any request. (http.Client wraps a refusal in a
// *url.Error whose URL is the Location as the server sent it, credentials
// included: report its Err.)
func (p Policy) CheckRedirect(req *http.Request, via []*http.Request) error {
	u := req.URL
	switch {
	case len(via) > MaxRedirects:
		return fmt.Errorf("%w: stopped after %d redirects", ErrRefused, MaxRedirects)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%w: redirect to %s: scheme %q, want http or https", ErrRefused, u.Redacted(), u.Scheme)
	case u.User != nil:
		return fmt.Errorf("%w: redirect to %s: credentials in the URL", ErrRefused, u.Redacted())
	}
	for _, h := range []string{"Authorization", "Proxy-Authorization", "Cookie"} {
		req.Header.Del(h)
	}
	return nil
}

// Client returns an HTTP client on t (nil: a clone of
// http.DefaultTransport; t itself is not changed) whose connections d (nil:
// 30s dial timeout and keep-alive) makes under p's Control, and whose
// redirects p checks (CheckRedirect). t's own dial functions are replaced.
//
// A request through a proxy (t.Proxy) connects to the proxy, which the
// operator configured, and is let through; its target is checked before it
// is sent: an IP address as it is, a name by resolving it here (the proxy
// resolves it again: the proxy's own egress rules are the last word). A host
// in a numeric form of inet_aton (2130706433) is checked as the address it
// stands for, whatever the resolver would make of it.
func (p Policy) Client(d *net.Dialer, t *http.Transport) *http.Client {
	if d == nil {
		d = &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	}
	if t == nil {
		t = http.DefaultTransport.(*http.Transport)
	}
	t = t.Clone()
	guarded := p.Dialer(d)
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if proxy, _ := ctx.Value(proxyKey{}).(string); proxy != "" && strings.EqualFold(proxy, addr) {
			return d.DialContext(ctx, network, addr)
		}
		return guarded.DialContext(ctx, network, addr)
	}
	t.Dial, t.DialTLS, t.DialTLSContext = nil, nil, nil // nothing dials around DialContext
	return &http.Client{Transport: &guard{p: p, t: t}, CheckRedirect: p.CheckRedirect}
}

// proxyKey marks the context of a request sent through a proxy with the
// proxy's address (host:port, as http.Transport dials it).
type proxyKey struct{}

// guard checks what the dialer cannot see: the target of a request through
// a proxy, and a host in a numeric form the resolver may read as an address.
type guard struct {
	p Policy
	t *http.Transport
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	host := req.URL.Hostname()
	if addr, legacy, ok := ParseHost(host); ok && legacy {
		if err := g.p.Check(addr); err != nil {
			return nil, refuse(req, withHost(err, host))
		}
	}
	if g.t.Proxy != nil {
		if proxy, err := g.t.Proxy(req); err == nil && proxy != nil {
			if err := g.checkName(req.Context(), host); err != nil {
				return nil, refuse(req, err)
			}
			req = req.WithContext(context.WithValue(req.Context(), proxyKey{}, proxyAddr(proxy)))
		}
	}
	return g.t.RoundTrip(req)
}

func (g *guard) CloseIdleConnections() { g.t.CloseIdleConnections() }

// checkName checks every address host resolves to (host itself when it is
// an address).
func (g *guard) checkName(ctx context.Context, host string) error {
	if addr, _, ok := ParseHost(host); ok {
		return withHost(g.p.Check(addr), host)
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if err := g.p.Check(a); err != nil {
			return withHost(err, host)
		}
	}
	return nil
}

func withHost(err error, host string) error {
	var ae *AddrError
	if errors.As(err, &ae) {
		ae.Host = host
	}
	return err
}

// refuse closes req's body, as a RoundTripper must on an error.
func refuse(req *http.Request, err error) error {
	if req.Body != nil {
		req.Body.Close()
	}
	return err
}

// proxyAddr is the address http.Transport dials for proxy.
func proxyAddr(proxy *url.URL) string {
	port := proxy.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443", "socks5": "1080", "socks5h": "1080"}[proxy.Scheme]
	}
	return net.JoinHostPort(proxy.Hostname(), port)
}
