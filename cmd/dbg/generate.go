package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid/retry"
)

const (
	// maxCrawlerSize caps kernel-crawler input downloaded from a URL (a
	// whole architecture's list is a few MiB).
	maxCrawlerSize = 256 << 20
	// crawlerTimeout bounds that download, retries included.
	crawlerTimeout = 5 * time.Minute
)

// generateReport is what dbg generate did.
type generateReport struct {
	config.WriteReport
	Removed  []string       `json:"removed"`
	Skipped  config.Skipped `json:"skipped"`
	ByDistro map[string]int `json:"by_distro"`
}

func newGenerateCmd(configDir *string) *cobra.Command {
	var from, arch string
	var distros []string
	var prune, allowPrivate bool
	var output outputFormat
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Write kernel configs from kernel-crawler output (both formats); skips, with a count per reason, what dbg cannot build",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := config.ParseArch(arch)
			if err != nil {
				return err
			}
			data, err := readCrawler(cmd.Context(), retry.Default().Client(downloadPolicy(allowPrivate).Client(nil, nil)), from)
			if err != nil {
				return err
			}
			crawled, err := config.LoadOptions{AllowPrivateURLs: allowPrivate}.FromCrawler(bytes.NewReader(data), a, distros)
			if err != nil {
				return fmt.Errorf("%w: %w", config.ErrInvalid, err)
			}
			rep := generateReport{Skipped: crawled.Skipped, ByDistro: crawled.ByDistro}
			if rep.WriteReport, err = config.WriteConfigs(*configDir, crawled.Kernels); err != nil {
				return err
			}
			if prune {
				if rep.Removed, err = config.Prune(cmd.Context(), *configDir, a, crawled.Targets, crawled.Kernels); err != nil {
					return err
				}
			}
			if output == "json" {
				return writeJSON(cmd.OutOrStdout(), rep)
			}
			printGenerate(cmd.OutOrStdout(), rep)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&from, "from", "", "kernel-crawler output: a JSON file or an http(s) URL")
	fl.StringVar(&arch, "arch", "", "architecture of the crawler output: x86_64 or aarch64")
	fl.StringSliceVar(&distros, "distro", nil, "only these crawler distros, e.g. Debian,ubuntu (case-insensitive)")
	fl.BoolVar(&prune, "prune", false, "remove configs of kernels (of the targets the input covers) that the crawler no longer lists")
	output.bind(cmd)
	bindAllowPrivateURLs(cmd, &allowPrivate)
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("arch")
	return cmd
}

// readCrawler reads kernel-crawler output from a file, or from an http(s)
// URL with client (the shared retrying client), within crawlerTimeout and
// maxCrawlerSize.
func readCrawler(ctx context.Context, client *http.Client, from string) ([]byte, error) {
	if !strings.HasPrefix(from, "http://") && !strings.HasPrefix(from, "https://") {
		return config.ReadCrawler(from)
	}
	ctx, cancel := context.WithTimeout(ctx, crawlerTimeout)
	defer cancel()
	data, err := download(ctx, client, from, maxCrawlerSize)
	if err != nil {
		return nil, fmt.Errorf("fetch kernel-crawler output %s: %w", from, err)
	}
	return data, nil
}

// download GETs rawURL and returns its body, at most maxSize bytes; an
// answer other than 200 is an error "HTTP <status>".
func download(ctx context.Context, client *http.Client, rawURL string, maxSize int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // its message repeats the URL
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxSize+1))
	if err == nil && int64(len(data)) > maxSize {
		err = fmt.Errorf("larger than %d bytes", maxSize)
	}
	return data, err
}

func printGenerate(w io.Writer, rep generateReport) {
	fmt.Fprintf(w, "added %d, changed %d, unchanged %d, removed %d, skipped %d\n",
		rep.Added, rep.Changed, rep.Unchanged, len(rep.Removed), rep.Skipped.Total())
	for _, r := range sortedKeys(rep.Skipped) {
		fmt.Fprintf(w, "  skipped %d: %s\n", rep.Skipped[r], r)
	}
	for _, d := range sortedKeys(rep.ByDistro) {
		fmt.Fprintf(w, "  %s: %d kernels\n", d, rep.ByDistro[d])
	}
	for _, p := range rep.Removed {
		fmt.Fprintf(w, "  removed %s\n", p)
	}
	if rep.Added+rep.Changed+len(rep.Removed) == 0 {
		fmt.Fprintln(w, "nothing changed")
	}
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
