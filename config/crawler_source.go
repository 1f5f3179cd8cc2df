package config

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// maxCrawlerSize caps kernel-crawler input (a whole architecture's list is
// a few MiB).
const maxCrawlerSize = 256 << 20

// ReadCrawler reads kernel-crawler output from a file or an http(s) URL.
func ReadCrawler(ctx context.Context, from string) ([]byte, error) {
	if !strings.HasPrefix(from, "http://") && !strings.HasPrefix(from, "https://") {
		data, err := os.ReadFile(from)
		if err != nil {
			return nil, fmt.Errorf("read kernel-crawler output: %w", err)
		}
		return data, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, from, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch kernel-crawler output: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch kernel-crawler output: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch kernel-crawler output %s: HTTP %s", from, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxCrawlerSize+1))
	if err == nil && len(data) > maxCrawlerSize {
		err = fmt.Errorf("larger than %d bytes", maxCrawlerSize)
	}
	if err != nil {
		return nil, fmt.Errorf("fetch kernel-crawler output %s: %w", from, err)
	}
	return data, nil
}
