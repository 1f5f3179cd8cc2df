package publisher

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/falcosecurity/dbg/config"
)

// scaleVersions are the driver versions of the scale site.
var scaleVersions = []string{"10.0.0+driver", "10.1.0+driver", "9.1.0+driver"}

// scaleSite is a site at download.falco.org's scale: each of
// scaleVersions in x86_64 holds 23,068 artifacts (the kernel-crawler
// sample's 1,690 kernels, each in 7 kernelversions, module and probe),
// with a status for each; one probe in 20 failed and is not published.
// It returns a release, the stems of its kernels and the failed files.
func scaleSite(tb testing.TB) (site *SiteIndex, status map[Prefix][]KernelStatus, release string, stems []string, failed map[string]bool) {
	base := crawlerKernels(tb)
	var kernels []*config.Kernel
	for _, k := range base {
		for v := 1; v <= 7; v++ {
			c := *k
			c.KernelVersion = fmt.Sprintf("%s.%d", k.KernelVersion, v)
			kernels = append(kernels, &c)
		}
	}
	site = &SiteIndex{Generated: finderTime, Target: "file:///scale"}
	status, failed = map[Prefix][]KernelStatus{}, map[string]bool{}
	log := strings.Repeat("  CC [M]  /build/driver/main.o\n", 8) + "error: 'struct task_struct' has no member named 'state'"
	for _, dv := range scaleVersions {
		p := PrefixIndex{DriverVersion: dv, Arch: "x86_64"}
		var st []KernelStatus
		for i, k := range kernels {
			for _, kind := range config.Kinds {
				file := config.FileName(k, kind)
				s := KernelStatus{File: file, Target: k.Target, KernelRelease: k.KernelRelease, KernelVersion: k.KernelVersion,
					Kind: string(kind), Status: "built", Run: "run-7", Time: finderTime}
				if kind == config.Probe && i%20 == 0 {
					s.Status, s.Reason, s.LogTail = "failed", "make exited 2", log
					failed[file] = true
				} else {
					p.Artifacts = append(p.Artifacts, fakeObject(dv, file, int64(3_000_000+i)))
				}
				st = append(st, s)
			}
		}
		sort.Slice(p.Artifacts, func(i, j int) bool { return p.Artifacts[i].File < p.Artifacts[j].File })
		site.Prefixes = append(site.Prefixes, p)
		site.Total += len(p.Artifacts)
		status[Prefix{dv, "x86_64"}] = st
	}
	release = base[len(base)/3].KernelRelease
	for _, k := range kernels {
		if k.KernelRelease == release {
			stems = append(stems, strings.TrimSuffix(config.FileName(k, config.Module), ".ko"))
		}
	}
	return site, status, release, stems, failed
}

// TestFinderAtScale opens the finder of 3 driver versions of 23,068
// artifacts each and reports how long the first results took, as the
// page measured them (performance.now(), from navigation start).
func TestFinderAtScale(t *testing.T) {
	site, status, release, stems, failed := scaleSite(t)
	start := time.Now()
	root, base := finderSite(t, site, status)
	t.Logf("%d artifacts in %d folders written in %v; %s", site.Total, len(site.Prefixes), time.Since(start).Round(time.Millisecond), siteSizes(t, root))
	want := wantRows(site, status, func(_ PrefixIndex, file string) string {
		if failed[file] {
			return "failed"
		}
		return "ok"
	}, stems...)
	for name, b := range map[string]string{"http": base, "file": root} {
		dom := string(chromium(t, "--dump-dom", pageURL(b, release)))
		state, first, done := pageTiming(t, dom)
		if state != "done" {
			t.Fatalf("%s: the page did not finish (state %q)", name, state)
		}
		equalRows(t, name+" ?q="+release, resultRows(dom), want)
		t.Logf("%s ?q=%s: %d rows; first results at %.0f ms, all %d folders searched at %.0f ms", name, release, len(want), first, len(site.Prefixes), done)
	}
}

// siteSizes says how large the site's files are.
func siteSizes(t *testing.T, root string) string {
	entries, err := os.ReadDir(filepath.Join(root, "driver"))
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, e := range entries {
		if info, err := e.Info(); err == nil && !e.IsDir() {
			parts = append(parts, fmt.Sprintf("%s %.2f MB", e.Name(), float64(info.Size())/1e6))
		}
	}
	return strings.Join(parts, ", ")
}

// BenchmarkWriteSite69k writes the site of 3 driver versions of 23,068
// artifacts each (index.json, 3 data files, index.html) into memory.
func BenchmarkWriteSite69k(b *testing.B) {
	site, status, _, _, _ := scaleSite(b)
	var m memSite
	for b.Loop() {
		if err := writeSite(b.Context(), &m, site, status); err != nil {
			b.Fatal(err)
		}
	}
	n := 0
	for _, f := range m.files {
		n += len(f)
	}
	b.ReportMetric(float64(n)/1e6, "MB/site")
	b.ReportMetric(float64(site.Total), "artifacts")
}
