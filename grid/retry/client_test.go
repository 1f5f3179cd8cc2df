package retry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// step is one scripted answer: status 0 drops the connection.
type step struct {
	status     int
	retryAfter string
}

// serve answers request n (from 1) with steps[n-1], the last one repeating,
// and counts the requests.
func serve(t *testing.T, steps ...step) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := steps[min(int(n.Add(1)), len(steps))-1]
		if s.status == 0 {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		if s.retryAfter != "" {
			w.Header().Set("Retry-After", s.retryAfter)
		}
		w.WriteHeader(s.status)
		io.WriteString(w, http.StatusText(s.status))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func get(ctx context.Context, c *http.Client, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

func TestClient(t *testing.T) {
	fast := Policy{Attempts: 4, Base: time.Millisecond, Cap: 10 * time.Second}
	soon := time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name         string
		p            Policy
		steps        []step
		wantStatus   int // 0: a network error
		wantRequests int32
		minElapsed   time.Duration
	}{
		{"503 twice then 200", fast, []step{{status: 503}, {status: 503}, {status: 200}}, 200, 3, 0},
		{"404 is final", fast, []step{{status: 404}}, 404, 1, 0},
		{"403 is final", fast, []step{{status: 403, retryAfter: "0"}}, 403, 1, 0},
		{"429 then 200", fast, []step{{status: 429}, {status: 200}}, 200, 2, 0},
		{"408 then 200", fast, []step{{status: 408}, {status: 200}}, 200, 2, 0},
		{"connection dropped then 200", fast, []step{{status: 0}, {status: 200}}, 200, 2, 0},
		{"503 on every attempt: the last answer", fast, []step{{status: 503}}, 503, 4, 0},
		{"connection dropped on every attempt", fast, []step{{status: 0}}, 0, 4, 0},
		{"one attempt", Policy{Attempts: 1, Base: time.Millisecond}, []step{{status: 503}}, 503, 1, 0},
		{
			"Retry-After seconds honoured over a short backoff", fast,
			[]step{{status: 503, retryAfter: "1"}, {status: 200}}, 200, 2, time.Second,
		},
		{
			"Retry-After date honoured", fast,
			[]step{{status: 429, retryAfter: soon}, {status: 200}}, 200, 2, 500 * time.Millisecond,
		},
		{
			"Retry-After 0 overrides a long backoff", Policy{Attempts: 2, Base: time.Hour, Cap: time.Hour},
			[]step{{status: 503, retryAfter: "0"}, {status: 200}}, 200, 2, 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, n := serve(t, tt.steps...)
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			start := time.Now()
			status, body, err := get(ctx, tt.p.Client(nil), srv.URL+"/list.json")
			elapsed := time.Since(start)
			switch {
			case tt.wantStatus == 0 && err == nil:
				t.Errorf("got HTTP %d, want a network error", status)
			case tt.wantStatus != 0 && err != nil:
				t.Errorf("error %v, want HTTP %d", err, tt.wantStatus)
			case status != tt.wantStatus || err == nil && body != http.StatusText(status):
				t.Errorf("HTTP %d %q, want %d with its body", status, body, tt.wantStatus)
			}
			if got := n.Load(); got != tt.wantRequests {
				t.Errorf("server got %d requests, want %d", got, tt.wantRequests)
			}
			if elapsed < tt.minElapsed || ctx.Err() != nil {
				t.Errorf("took %v, want at least %v, and no timeout", elapsed, tt.minElapsed)
			}
		})
	}
}

func TestClientCancelStopsWaiting(t *testing.T) {
	srv, n := serve(t, step{status: 503, retryAfter: "3600"})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	p := Policy{Attempts: 4, Base: time.Hour, Cap: time.Hour}
	start := time.Now()
	_, _, err := get(ctx, p.Client(nil), srv.URL)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v after cancellation", d)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if got := n.Load(); got != 1 {
		t.Errorf("server got %d requests, want 1", got)
	}
}
