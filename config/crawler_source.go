package config

import (
	"fmt"
	"os"
)

// ReadCrawler reads kernel-crawler output from a file. Downloading it from
// a URL is the caller's (dbg generate's), with the shared retry policy.
func ReadCrawler(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read kernel-crawler output: %w", err)
	}
	return data, nil
}
