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
// Targets the older output spells otherwise than falcoctl are renamed
// (CrawlerTarget: oracle6, oracle7, oracle8 become ol, see
// legacyKernelVersion), and a kernel for which no consumer asks for any
// artifact (Kernel.Wants: an ol UEK kernel too old for the probe) is
// skipped.
func (o LoadOptions) FromCrawler(r io.Reader, arch Arch, distros []string) (*Crawled, error) {
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
			c.Targets[CrawlerTarget(e.Target)] = true
			k, reason := e.kernel(arch, o)
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
func (e crawlerEntry) kernel(arch Arch, o LoadOptions) (*Kernel, string) {
	kv, err := crawlerVersion(e.KernelVersion)
	if err != nil {
		return nil, "invalid kernelversion"
	}
	target := CrawlerTarget(e.Target)
	if target != e.Target {
		kv = legacyKernelVersion(target, e.KernelRelease, kv)
	}
	urls := append([]string(nil), e.Headers...)
	sort.Strings(urls)
	k := &Kernel{
		KernelRelease: e.KernelRelease, KernelVersion: kv, Target: target,
		Architecture: arch, KernelURLs: urls, KernelConfigData: e.KernelConfigData,
	}
	if probs := k.validate(o, nil); len(probs) > 0 {
		return nil, skipReason(probs[0])
	}
	if !k.Wants(Module) && !k.Wants(Probe) {
		return nil, uekTooOld
	}
	return k, ""
}

// uekTooOld is the skip reason of an Oracle Linux UEK kernel older than
// the probe's minimum: falcoctl asks UEK hosts for no module (Kernel.Wants),
// so nothing would ever be downloaded for it.
const uekTooOld = "UEK kernel too old for the probe"

// legacyKernelVersion is the kernelversion falcoctl computes for a kernel
// of the older crawler's oracle6/7/8 targets (now ol). falcoctl takes the
// number after '#' in `uname -v` (generic.go FixupKernel); the older
// crawler wrote 1 for every Oracle kernel without looking, while UEK
// kernels say #2 (Linux 5.15.0-100.96.32.el8uek.x86_64 #2 SMP ...), which
// the crawler has written for ol UEK kernels since May 2023. So a UEK
// kernel's default 1 becomes 2: the config is then the one today's crawler
// output makes for the same kernel. Any other value is kept.
func legacyKernelVersion(target, release, kv string) string {
	if target == "ol" && strings.Contains(release, "uek") && kv == "1" {
		return "2"
	}
	return kv
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
	case p.Field == "kernelurls" && strings.Contains(p.Msg, "more than the"):
		return "too many header URLs"
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
