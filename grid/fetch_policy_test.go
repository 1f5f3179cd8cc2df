package grid

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/falcosecurity/dbg/grid/netpolicy"
)

// checkRefused fails t unless err is a permanent *FetchError of the
// address policy that the build takes as the config's fault (not
// infrastructure) and does not retry.
func checkRefused(t *testing.T, err error, want string) {
	t.Helper()
	var fe *FetchError
	switch {
	case !errors.As(err, &fe) || !errors.Is(err, netpolicy.ErrRefused):
		t.Fatalf("error %v, want a *FetchError wrapping netpolicy.ErrRefused", err)
	case !fe.Permanent() || isInfra(err) || fetchVerdict(err).Retry:
		t.Errorf("%v: permanent %v, infrastructure %v, retried %v; want a permanent data error", err, fe.Permanent(), isInfra(err), fetchVerdict(err).Retry)
	case !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "download address policy"):
		t.Errorf("error %q does not say %q and name the policy", err, want)
	}
}

// By default a fetch connects only to public addresses: a server on
// 127.0.0.1 (the Docker API on :2375, a metadata service) is refused when
// dialling, once, with no request sent.
func TestFetchRefusesPrivateAddresses(t *testing.T) {
	srv := newTestServer(t, serveBody([]byte("secret")))
	f, err := NewFetcher(t.TempDir(), FetchOptions{Attempts: 4, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Fetch(t.Context(), srv.URL+"/v1.41/containers/json")
	checkRefused(t, err, "127.0.0.1 is a loopback address")
	srv.checkRequests(t, 0)
	for _, u := range []string{
		"http://169.254.169.254/latest/meta-data/iam/security-credentials/",
		"http://168.63.129.16/machine?comp=goalstate",
		"http://2130706433:" + strings.TrimPrefix(srv.URL, "http://127.0.0.1:") + "/",
		"http://0x7f000001/",
		"http://[::1]:2375/info",
		"http://[::ffff:169.254.169.254]/",
	} {
		_, err := f.Fetch(t.Context(), u)
		checkRefused(t, err, " is ")
	}
	if st := f.Stats(); st.Failures != 7 || st.Downloads != 0 {
		t.Errorf("stats %+v", st)
	}

	lab := newTestFetcher(t, t.TempDir(), FetchOptions{}) // AllowPrivate
	checkBlob(t, fetchOK(t, lab, srv.URL+"/x.deb"), []byte("secret"))
}

// A redirect from an allowed server to an address the policy refuses is
// refused when dialling: the policy allows 127.0.0.1, not 127.0.0.2.
func TestFetchRefusesRedirectToPrivateAddress(t *testing.T) {
	var internalRequests atomic.Int32
	port := "9"
	if ln, err := net.Listen("tcp", "127.0.0.2:0"); err == nil { // loopback on Linux
		internal := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			internalRequests.Add(1)
			w.Write([]byte("credentials"))
		})}}
		internal.Start()
		t.Cleanup(internal.Close)
		port = strings.TrimPrefix(internal.URL, "http://127.0.0.2:")
	}
	public := newTestServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.2:"+port+"/latest/meta-data/", http.StatusFound)
	})
	only1 := func(a netip.Addr) bool { return a == netip.MustParseAddr("127.0.0.1") }
	f := newTestFetcher(t, t.TempDir(), FetchOptions{Allow: only1, Attempts: 4})
	_, err := f.Fetch(t.Context(), public.URL+"/x.deb")
	checkRefused(t, err, "dial tcp 127.0.0.2:"+port+": 127.0.0.2 is a loopback address")
	public.checkRequests(t, 1)
	if n := internalRequests.Load(); n != 0 {
		t.Errorf("the refused server got %d requests", n)
	}
}

// A redirect that adds credentials is refused: Go's client would send them
// as Basic auth to wherever the redirect points.
func TestFetchRefusesRedirectWithCredentials(t *testing.T) {
	var srv *testServer
	var withAuth atomic.Int32
	srv = newTestServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			withAuth.Add(1)
		}
		if r.URL.Path == "/x.deb" {
			http.Redirect(w, r, strings.Replace(srv.URL, "http://", "http://admin:hunter2@", 1)+"/y.deb", http.StatusFound)
			return
		}
		w.Write([]byte("y"))
	})
	f := newTestFetcher(t, t.TempDir(), FetchOptions{Attempts: 4})
	_, err := f.Fetch(t.Context(), srv.URL+"/x.deb")
	checkRefused(t, err, "credentials in the URL")
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %q shows the password", err)
	}
	srv.checkRequests(t, 1)
	if n := withAuth.Load(); n != 0 {
		t.Errorf("%d requests carried Authorization", n)
	}
}
