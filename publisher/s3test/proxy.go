package s3test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
)

// Request is one request that went through the proxy.
type Request struct {
	Method string
	Path   string // escaped, as sent: /bucket/driver/10.0.0%2Bdriver/...
	Query  url.Values
	Header http.Header
}

// IsList tells a ListObjectsV2 request.
func (r Request) IsList() bool { return r.Method == http.MethodGet && r.Query.Get("list-type") == "2" }

// startProxy serves Endpoint: it records each request and forwards it
// unchanged (same Host, so signatures hold) to versitygw. When versitygw is
// down, it drops the client's connection, as an unreachable server would.
func (s *Server) startProxy(t testing.TB) {
	t.Helper()
	target, err := url.Parse(s.Direct)
	if err != nil {
		t.Fatalf("s3test: %v", err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host
		},
		ErrorHandler: func(http.ResponseWriter, *http.Request, error) {
			panic(http.ErrAbortHandler)
		},
	}
	s.proxy = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status := s.record(r); status != 0 {
			writeError(w, status)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	s.Endpoint = s.proxy.URL
}

// record logs r and says whether to fail it (its status) or forward it (0).
func (s *Server) record(r *http.Request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	req := Request{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.Query(), Header: r.Header.Clone()}
	s.reqs = append(s.reqs, req)
	if s.fail.n > 0 && (s.fail.match == nil || s.fail.match(req)) {
		s.fail.n--
		return s.fail.status
	}
	return 0
}

// failure is a pending fault injection.
type failure struct {
	match  func(Request) bool
	n      int
	status int
}

// Fail makes the proxy answer the next n requests that match (nil: any)
// with status and an S3 error body, without forwarding them.
func (s *Server) Fail(match func(Request) bool, n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = failure{match, n, status}
}

func writeError(w http.ResponseWriter, status int) {
	code := map[int]string{403: "AccessDenied", 404: "NoSuchKey", 500: "InternalError", 503: "SlowDown"}[status]
	if code == "" {
		code = http.StatusText(status)
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>injected by s3test</Message></Error>", code)
}

// Requests returns the requests made through Endpoint since the start or
// the last ResetRequests.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = nil
}
