package netpolicy

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// onlyLoopback1 allows 127.0.0.1 and nothing else: a test server is
// reachable, an address next to it (127.0.0.2) is not.
func onlyLoopback1(a netip.Addr) bool { return a == netip.MustParseAddr("127.0.0.1") }

// server is an HTTP server that records the requests it gets.
type server struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
}

func newServer(t *testing.T, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(s.record(h))
	t.Cleanup(s.Close)
	return s
}

// newServerOn starts one on ip, or returns nil when ip cannot be bound
// (127.0.0.2 is loopback on Linux, not everywhere).
func newServerOn(t *testing.T, ip string, h http.HandlerFunc) *server {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return nil
	}
	s := &server{}
	s.Server = &httptest.Server{Listener: ln, Config: &http.Server{Handler: s.record(h)}}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *server) record(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, r.Clone(r.Context()))
		s.mu.Unlock()
		h(w, r)
	}
}

func (s *server) requests() []*http.Request {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.reqs...)
}

func ok(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }

func redirectTo(target func() string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/next" {
			ok(w, r)
			return
		}
		http.Redirect(w, r, target(), http.StatusFound)
	}
}

func get(t *testing.T, c *http.Client, rawURL string, header http.Header) (string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

// refusedAt checks that err is the policy's refusal of addr when dialling.
func refusedAt(t *testing.T, err error, addr string) {
	t.Helper()
	var ae *AddrError
	var op *net.OpError
	switch {
	case !errors.Is(err, ErrRefused) || !errors.As(err, &ae):
		t.Fatalf("error %v, want an *AddrError wrapping ErrRefused", err)
	case ae.Addr.String() != addr:
		t.Errorf("refused %s, want %s", ae.Addr, addr)
	case !errors.As(err, &op) || op.Op != "dial":
		t.Errorf("error %v: not refused when dialling", err)
	}
}

func TestClientRefusesLoopback(t *testing.T) {
	srv := newServer(t, ok)
	_, err := get(t, Policy{}.Client(nil, nil), srv.URL+"/x.deb", nil)
	refusedAt(t, err, "127.0.0.1")
	if !strings.Contains(err.Error(), "127.0.0.1 is a loopback address (127.0.0.0/8): refused by dbg's download address policy") {
		t.Errorf("error %q does not name the address, its range and the policy", err)
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("server got %d requests", n)
	}
	if body, err := get(t, Policy{Allow: Any}.Client(nil, nil), srv.URL, nil); err != nil || body != "ok" {
		t.Errorf("with Any: %q %v", body, err)
	}
}

// A name is judged by the address it resolves to, when connecting.
func TestClientRefusesNameOfLoopback(t *testing.T) {
	if addrs, err := net.DefaultResolver.LookupNetIP(t.Context(), "ip4", "localhost"); err != nil || len(addrs) == 0 {
		t.Skipf("localhost does not resolve: %v", err)
	}
	srv := newServer(t, ok)
	u, _ := url.Parse(srv.URL)
	_, err := get(t, Policy{}.Client(nil, nil), "http://localhost:"+u.Port()+"/", nil)
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("error %v, want a refusal", err)
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("server got %d requests", n)
	}
}

// A host in a numeric form of inet_aton is judged as the address it stands
// for, whether or not the resolver reads it so.
func TestClientRefusesNumericHosts(t *testing.T) {
	c := Policy{}.Client(nil, nil)
	for _, host := range []string{"2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0xa9fea9fe"} {
		_, err := get(t, c, "http://"+host+":9/x", nil)
		var ae *AddrError
		if !errors.As(err, &ae) || ae.Host != host {
			t.Errorf("%s: error %v, want an *AddrError naming the host", host, err)
		}
	}
}

func TestClientRedirectToDisallowedAddress(t *testing.T) {
	internal := newServerOn(t, "127.0.0.2", ok)
	port := "9"
	if internal != nil {
		port = strings.TrimPrefix(internal.URL, "http://127.0.0.2:")
	}
	public := newServer(t, redirectTo(func() string { return "http://127.0.0.2:" + port + "/metadata" }))
	c := Policy{Allow: onlyLoopback1}.Client(nil, nil)
	if body, err := get(t, c, public.URL+"/next", nil); err != nil || body != "ok" {
		t.Fatalf("the allowed server: %q %v", body, err)
	}
	_, err := get(t, c, public.URL+"/x.deb", nil)
	refusedAt(t, err, "127.0.0.2")
	if n := len(internal.requests()); n != 0 {
		t.Errorf("the disallowed server got %d requests", n)
	}
}

func TestClientRedirectWithCredentials(t *testing.T) {
	var target string
	srv := newServer(t, redirectTo(func() string { return target }))
	target = strings.Replace(srv.URL, "http://", "http://admin:hunter2@", 1) + "/next"
	_, err := get(t, Policy{Allow: Any}.Client(nil, nil), srv.URL+"/x.deb", nil)
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its URL is the Location as sent: callers report Err
	}
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "credentials in the URL") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %v, want a refusal that names the credentials and hides the password", err)
	}
	for _, r := range srv.requests() {
		if r.URL.Path != "/x.deb" || r.Header.Get("Authorization") != "" {
			t.Errorf("request %s with Authorization %q", r.URL.Path, r.Header.Get("Authorization"))
		}
	}
}

// Go's client keeps Authorization and Cookie on a redirect to the same
// host; the policy forwards no credentials anywhere.
func TestClientRedirectDropsCredentials(t *testing.T) {
	srv := newServer(t, redirectTo(func() string { return "/next" }))
	h := http.Header{"Authorization": {"Bearer secret"}, "Cookie": {"session=secret"}, "User-Agent": {"dbg-test"}}
	if body, err := get(t, Policy{Allow: Any}.Client(nil, nil), srv.URL+"/x.deb", h); err != nil || body != "ok" {
		t.Fatalf("%q %v", body, err)
	}
	reqs := srv.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	next := reqs[1]
	if next.Header.Get("Authorization") != "" || next.Header.Get("Cookie") != "" || next.Header.Get("User-Agent") != "dbg-test" {
		t.Errorf("redirected request headers %v", next.Header)
	}
}

func TestClientRedirectLimitAndScheme(t *testing.T) {
	var n atomic.Int32
	loop := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/again", http.StatusFound)
		n.Add(1)
	})
	_, err := get(t, Policy{Allow: Any}.Client(nil, nil), loop.URL, nil)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "after 5 redirects") || n.Load() != 1+MaxRedirects {
		t.Errorf("error %v after %d requests, want a refusal after %d", err, n.Load(), 1+MaxRedirects)
	}
	file := newServer(t, redirectTo(func() string { return "file:///etc/passwd" }))
	if _, err := get(t, Policy{Allow: Any}.Client(nil, nil), file.URL, nil); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), `scheme "file"`) {
		t.Errorf("redirect to file: %v", err)
	}
}

// Through a proxy the dialer sees the proxy: the target is checked before
// the request is sent, and the proxy, which the operator chose, may be on
// loopback.
func TestClientThroughProxy(t *testing.T) {
	proxy := newServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "via proxy "+r.URL.Host) })
	proxyURL, _ := url.Parse(proxy.URL)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyURL(proxyURL)
	c := Policy{}.Client(nil, tr)
	if body, err := get(t, c, "http://151.101.2.132/debian/x.deb", nil); err != nil || body != "via proxy 151.101.2.132" {
		t.Errorf("a public target: %q %v", body, err)
	}
	for _, target := range []string{"http://169.254.169.254/latest/meta-data/", "http://127.0.0.2:2375/info", "http://[::1]/", "http://2130706433/"} {
		before := len(proxy.requests())
		_, err := get(t, c, target, nil)
		if !errors.Is(err, ErrRefused) {
			t.Errorf("%s: error %v, want a refusal", target, err)
		}
		if len(proxy.requests()) != before {
			t.Errorf("%s: sent to the proxy", target)
		}
	}
	if _, err := get(t, c, "http://localhost/", nil); !errors.Is(err, ErrRefused) {
		t.Errorf("a name of loopback through the proxy: %v", err)
	}
}

// The dialer keeps its own Control, after the policy's.
func TestDialerKeepsControl(t *testing.T) {
	srv := newServer(t, ok)
	var called atomic.Bool
	d := &net.Dialer{Control: func(string, string, syscall.RawConn) error { called.Store(true); return nil }}
	if _, err := get(t, Policy{Allow: Any}.Client(d, nil), srv.URL, nil); err != nil || !called.Load() {
		t.Errorf("%v, own Control called: %v", err, called.Load())
	}
	called.Store(false)
	if _, err := get(t, Policy{}.Client(d, nil), srv.URL, nil); !errors.Is(err, ErrRefused) || called.Load() {
		t.Errorf("%v, own Control called: %v", err, called.Load())
	}
}
