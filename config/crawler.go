package config

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// crawlerEntry is one kernel in kernel-crawler output. kernelversion is a
// string in the current format and an integer in the older one.
type crawlerEntry struct {
	KernelVersion    json.RawMessage `json:"kernelversion"`
	KernelRelease    string          `json:"kernelrelease"`
	Target           string          `json:"target"`
	Headers          []string        `json:"headers"`
	KernelConfigData string          `json:"kernelconfigdata"`
}

// Skipped counts crawler entries dbg cannot build, by reason.
type Skipped map[string]int

// Total is the number of skipped entries.
func (s Skipped) Total() int {
	n := 0
	for _, c := range s {
		n += c
	}
	return n
}

// Crawled is what FromCrawler makes of kernel-crawler output.
type Crawled struct {
	Kernels  []*Kernel       // valid kernels, sorted by ID
	Skipped  Skipped         // entries dbg cannot build, by reason
	Targets  map[string]bool // every target the input covers (skipped entries too)
	ByDistro map[string]int  // valid kernels per crawler distro key
}

// FromCrawler reads kernel-crawler output (a map of distro to kernels, in
// the current lowercase or the older capitalised format, kernelversion a
// string or an integer) and validates every entry as dbg validate would.
// distros, when non-empty, keeps only those distros (case-insensitively).
func FromCrawler(r io.Reader, arch Arch, distros []string) (*Crawled, error) {
	var doc map[string][]crawlerEntry
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("decode kernel-crawler output: %w", err)
	}
	c := &Crawled{Skipped: Skipped{}, Targets: map[string]bool{}, ByDistro: map[string]int{}}
	seen := map[string]bool{}
	for distro, entries := range doc {
		if len(distros) > 0 && !containsFold(distros, distro) {
			continue
		}
		for _, e := range entries {
			c.Targets[e.Target] = true
			k, reason := e.kernel(arch)
			if reason == "" && seen[k.ID()] {
				reason = "duplicate entry"
			}
			if reason != "" {
				c.Skipped[reason]++
				continue
			}
			seen[k.ID()] = true
			c.Kernels = append(c.Kernels, k)
			c.ByDistro[strings.ToLower(distro)]++
		}
	}
	sort.Slice(c.Kernels, func(i, j int) bool { return c.Kernels[i].ID() < c.Kernels[j].ID() })
	return c, nil
}

// kernel converts an entry; a non-empty reason says why it was skipped.
func (e crawlerEntry) kernel(arch Arch) (*Kernel, string) {
	kv, err := crawlerVersion(e.KernelVersion)
	if err != nil {
		return nil, "invalid kernelversion"
	}
	urls := append([]string(nil), e.Headers...)
	sort.Strings(urls)
	k := &Kernel{
		KernelRelease: e.KernelRelease, KernelVersion: kv, Target: e.Target,
		Architecture: arch, KernelURLs: urls, KernelConfigData: e.KernelConfigData,
	}
	if probs := k.Validate(); len(probs) > 0 {
		return nil, skipReason(probs[0])
	}
	return k, ""
}

func crawlerVersion(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", err
	}
	return strconv.FormatInt(n, 10), nil
}

// skipReason turns a validation problem into a short, countable reason.
func skipReason(p Problem) string {
	switch {
	case p.Field == "target":
		return "unknown target"
	case strings.Contains(p.Msg, "older than"):
		return "kernel too old"
	case p.Field == "kernelconfigdata":
		return "missing kernelconfigdata"
	case strings.HasPrefix(p.Field, "kernelurls"):
		return "missing or invalid header URLs"
	}
	return "invalid " + p.Field
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
