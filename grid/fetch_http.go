package grid

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/falcosecurity/dbg/grid/netpolicy"
	"github.com/falcosecurity/dbg/grid/retry"
)

// defaultClient bounds each step of a request but not the transfer itself:
// large packages on slow mirrors take long, and Timeout bounds an attempt.
// It connects only where policy allows (checked when dialling, on the
// resolved address) and follows only the redirects policy allows.
func defaultClient(policy netpolicy.Policy) *http.Client {
	dialer := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	return policy.Client(dialer, &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   connectTimeout,
		ResponseHeaderTimeout: connectTimeout,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
	})
}

// checkFetchURL accepts absolute http(s) URLs without credentials.
func checkFetchURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	switch {
	case err != nil:
		return &FetchError{URL: rawURL, Err: fmt.Errorf("%w: %w", ErrUnsupportedURL, errors.Unwrap(err))}
	case u.User != nil:
		u.User = nil
		return &FetchError{URL: u.String(), Err: fmt.Errorf("%w: credentials in URL", ErrUnsupportedURL)}
	case u.Scheme != "http" && u.Scheme != "https":
		return &FetchError{URL: rawURL, Err: fmt.Errorf("%w: scheme %q, want http or https", ErrUnsupportedURL, u.Scheme)}
	case u.Host == "":
		return &FetchError{URL: rawURL, Err: fmt.Errorf("%w: no host", ErrUnsupportedURL)}
	}
	return nil
}

// download tries rawURL by the shared retry policy: only a *FetchError
// whose verdict says so is retried.
func (f *Fetcher) download(ctx context.Context, rawURL string) (Blob, error) {
	var b Blob
	err := f.policy.Do(ctx, func(int) (err error) {
		b, err = f.attempt(ctx, rawURL)
		return err
	}, fetchVerdict, "what", "fetch")
	switch {
	case err == nil:
		return b, nil
	case ctx.Err() != nil:
		return Blob{}, &FetchError{URL: rawURL, Err: ctx.Err()}
	}
	return Blob{}, err
}

// fetchVerdict classifies a failed attempt; errors of the cache are final.
func fetchVerdict(err error) retry.Verdict {
	var fe *FetchError
	if !errors.As(err, &fe) {
		return retry.Verdict{}
	}
	return fe.verdict()
}

// attempt downloads rawURL once into the cache.
func (f *Fetcher) attempt(ctx context.Context, rawURL string) (Blob, error) {
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	resp, err := f.get(ctx, rawURL)
	if err != nil {
		return Blob{}, err
	}
	defer resp.Body.Close()
	tmp, b, err := f.receive(rawURL, resp.Body)
	if err != nil {
		return Blob{}, err
	}
	return f.store(tmp, b)
}

// get sends the request and checks the answer is a 200 within the size cap.
func (f *Fetcher) get(ctx context.Context, rawURL string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, &FetchError{URL: rawURL, Err: fmt.Errorf("%w: %w", ErrUnsupportedURL, err)}
	}
	// The bytes as served: no transparent gunzip of a .gz the server compressed.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := f.opts.Client.Do(req)
	if err != nil {
		return nil, &FetchError{URL: rawURL, Err: withoutURL(err)}
	}
	switch {
	case resp.StatusCode != http.StatusOK:
		discardBody(resp.Body)
		return nil, statusError(rawURL, resp)
	case resp.ContentLength > f.opts.MaxSize:
		discardBody(resp.Body)
		return nil, f.tooLarge(rawURL)
	}
	return resp, nil
}

// withoutURL drops the *url.Error wrapper, whose message repeats the URL.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// discardBody reads a little of an unwanted body so the connection can be
// reused, and closes it. The body is never shown.
func discardBody(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, 64<<10)
	body.Close()
}

func (f *Fetcher) tooLarge(rawURL string) *FetchError {
	return &FetchError{URL: rawURL, Err: fmt.Errorf("%w: over the %d-byte limit", ErrTooLarge, f.opts.MaxSize)}
}
