package config

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/falcosecurity/driverkit/pkg/kernelrelease"

	"github.com/falcosecurity/dbg/config/configtest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// crawlerFile is the real kernel-crawler output in ../shared (beside the
// repository, in CI too); $DBG_SHARED_DIR overrides where shared/ is.
func crawlerFile(t testing.TB) []byte {
	t.Helper()
	shared := os.Getenv("DBG_SHARED_DIR")
	if shared == "" {
		shared = filepath.Join("..", "..", "shared")
	}
	data, err := os.ReadFile(filepath.Join(shared, "data", "kernel-crawler", "aarch64-list-2022-10.json"))
	if err != nil {
		t.Fatalf("the kernel-crawler sample (shared/ beside the repository, or $DBG_SHARED_DIR): %v", err)
	}
	return data
}

func TestGenerateFromRealCrawlerOutput(t *testing.T) {
	crawled, err := FromCrawler(bytes.NewReader(crawlerFile(t)), ARM64, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantDistro := map[string]int{"amazonlinux2": 126, "amazonlinux2022": 5, "centos": 25, "debian": 2, "fedora": 6, "photonos": 193, "ubuntu": 1333}
	for d, n := range wantDistro {
		if crawled.ByDistro[d] != n {
			t.Errorf("%s: %d kernels, want %d", d, crawled.ByDistro[d], n)
		}
	}
	wantSkipped := Skipped{"kernel too old": 103, "missing kernelconfigdata": 76, "missing or invalid header URLs": 3, "invalid kernelrelease": 1}
	if len(crawled.Skipped) != len(wantSkipped) {
		t.Errorf("skipped %v, want %v", crawled.Skipped, wantSkipped)
	}
	for r, n := range wantSkipped {
		if crawled.Skipped[r] != n {
			t.Errorf("skipped %q: %d, want %d", r, crawled.Skipped[r], n)
		}
	}
	dir := t.TempDir()
	rep, err := WriteConfigs(dir, crawled.Kernels)
	if err != nil || rep.Added != 1690 {
		t.Fatalf("first write: %+v %v", rep, err)
	}
	kernels, probs, err := Load(t.Context(), dir)
	if err != nil || len(probs) > 0 || len(kernels) != 1690 {
		t.Fatalf("every generated config must validate: %d kernels, %v, %v", len(kernels), err, probs)
	}
	again, _ := FromCrawler(bytes.NewReader(crawlerFile(t)), ARM64, nil)
	rep, err = WriteConfigs(dir, again.Kernels)
	if err != nil || rep.Added+rep.Changed != 0 || rep.Unchanged != 1690 {
		t.Fatalf("a second run must change nothing: %+v %v", rep, err)
	}
	for _, name := range []string{
		"debian_5.18.16-1~bpo11+1-arm64_1.yaml",
		"ubuntu-hwe-5.4_5.4.0-126-hwe-5.4_142~18.04.1.yaml",
		"amazonlinux2_4.14.158-129.185.amzn2.aarch64_1.yaml",
	} {
		got, err := os.ReadFile(filepath.Join(dir, "aarch64", name))
		if err != nil {
			t.Fatal(err)
		}
		goldenFile(t, filepath.Join("testdata", "golden", "aarch64", name), got)
	}
}

func goldenFile(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n%s", path, got)
	}
}

// The current format: lowercase distro keys, string kernelversion.
func TestGenerateCurrentFormatAndDistroFilter(t *testing.T) {
	in := `{"ubuntu": [{"kernelversion": "26~22.04.1", "kernelrelease": "5.19.0-1025-aws", "target": "ubuntu-aws",
	  "headers": ["https://h.example/a.deb", "https://h.example/b.deb"]}],
	 "centos": [{"kernelversion": 1, "kernelrelease": "4.18.0-80.el8.aarch64", "target": "centos", "headers": ["https://h.example/k.rpm"]}]}`
	c, err := FromCrawler(strings.NewReader(in), ARM64, []string{"Ubuntu"})
	if err != nil || len(c.Kernels) != 1 || c.Kernels[0].ID() != "ubuntu-aws_5.19.0-1025-aws_26~22.04.1" {
		t.Fatalf("%v %+v", err, c)
	}
}

func TestPruneRemovesOnlyKernelsOfCoveredTargets(t *testing.T) {
	dir := t.TempDir()
	mk := func(target, release string) *Kernel {
		return &Kernel{KernelRelease: release, KernelVersion: "1", Target: target, Architecture: ARM64, KernelURLs: []string{"https://h.example/" + release + ".rpm"}}
	}
	old, kept, other := mk("centos", "4.18.0-1.el8.aarch64"), mk("centos", "4.18.0-2.el8.aarch64"), mk("rocky", "4.18.0-3.el8.aarch64")
	if _, err := WriteConfigs(dir, []*Kernel{old, kept, other}); err != nil {
		t.Fatal(err)
	}
	removed, err := Prune(t.Context(), dir, ARM64, map[string]bool{"centos": true}, []*Kernel{kept})
	if err != nil || len(removed) != 1 || filepath.Base(removed[0]) != old.ID()+".yaml" {
		t.Fatalf("removed %v, %v", removed, err)
	}
	for _, k := range []*Kernel{kept, other} {
		if _, err := os.Stat(filepath.Join(dir, ConfigPath(k))); err != nil {
			t.Errorf("%s removed", k.ID())
		}
	}
}

// BenchmarkGenerate converts and validates every kernel of the crawler
// file and writes the configs (a second run: unchanged). It reports time
// and peak RSS.
func BenchmarkGenerate(b *testing.B) {
	data := crawlerFile(b)
	dir := b.TempDir()
	configtest.ResetPeakRSS()
	for b.Loop() {
		c, err := FromCrawler(bytes.NewReader(data), ARM64, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := WriteConfigs(dir, c.Kernels); err != nil {
			b.Fatal(err)
		}
		if _, probs, err := Load(b.Context(), dir); err != nil || len(probs) > 0 {
			b.Fatal(err, probs)
		}
	}
	b.ReportMetric(configtest.PeakRSSMB(), "peak-RSS-MB")
}

// falcoctlFileName is the file falcoctl v0.11 asks an Oracle Linux host
// for (pkg/driver/distro: toFilename with the generic FixupKernel that ol
// keeps): falco_<os-release ID>_<kernelrelease String()>_<the number after
// '#' in uname -v><ext>.
func falcoctlFileName(unameR, unameV string, kind Kind) string {
	kr := kernelrelease.FromString(unameR)
	kv := unameV
	if m := regexp.MustCompile(`#(\d+).*`).FindStringSubmatch(unameV); len(m) == 2 {
		kv = m[1]
	}
	return fmt.Sprintf("%s_%s_%s_%s%s", "falco", "ol", kr.String(), kv, kind.Ext())
}

// Older kernel-crawler output (capitalised keys, integer kernelversion, as
// in its x86_64 list of October 2022: 851 Oracle kernels) names Oracle
// Linux oracle6, oracle7 and oracle8; driverkit and falcoctl call it ol.
func TestGenerateOracleTargets(t *testing.T) {
	// The host is a stand-in; the paths are those of the real entries.
	const repo = "http://yum.oracle.example/repo/OracleLinux/"
	in := `{
	 "Oracle6": [
	  {"kernelversion": 1, "kernelrelease": "2.6.32-696.23.1.el6.x86_64", "target": "oracle6", "headers": ["` + repo + `OL6/latest/x86_64/getPackage/kernel-devel-2.6.32-696.23.1.el6.x86_64.rpm"]},
	  {"kernelversion": 1, "kernelrelease": "2.6.39-400.328.1.el6uek.x86_64", "target": "oracle6", "headers": ["` + repo + `OL6/UEK/latest/x86_64/getPackage/kernel-uek-devel-2.6.39-400.328.1.el6uek.x86_64.rpm"]},
	  {"kernelversion": 1, "kernelrelease": "4.1.12-124.42.3.el6uek.x86_64", "target": "oracle6", "headers": ["` + repo + `OL6/UEKR4/x86_64/getPackage/kernel-uek-devel-4.1.12-124.42.3.el6uek.x86_64.rpm"]}],
	 "Oracle7": [
	  {"kernelversion": 1, "kernelrelease": "3.10.0-1062.1.1.el7.x86_64", "target": "oracle7", "headers": ["` + repo + `OL7/latest/x86_64/getPackage/kernel-devel-3.10.0-1062.1.1.el7.x86_64.rpm"]},
	  {"kernelversion": 1, "kernelrelease": "4.14.35-1902.305.4.el7uek.x86_64", "target": "oracle7", "headers": ["` + repo + `OL7/UEKR5/x86_64/getPackage/kernel-uek-devel-4.14.35-1902.305.4.el7uek.x86_64.rpm"]},
	  {"kernelversion": 3, "kernelrelease": "5.4.17-2011.0.7.el7uek.x86_64", "target": "oracle7", "headers": ["` + repo + `OL7/UEKR6/x86_64/getPackage/kernel-uek-devel-5.4.17-2011.0.7.el7uek.x86_64.rpm"]}],
	 "Oracle8": [
	  {"kernelversion": 1, "kernelrelease": "4.18.0-147.0.2.el8_1.x86_64", "target": "oracle8", "headers": ["` + repo + `OL8/baseos/latest/x86_64/getPackage/kernel-devel-4.18.0-147.0.2.el8_1.x86_64.rpm"]},
	  {"kernelversion": 1, "kernelrelease": "5.4.17-2011.0.7.el8uek.x86_64", "target": "oracle8", "headers": ["` + repo + `OL8/UEKR6/x86_64/getPackage/kernel-uek-devel-5.4.17-2011.0.7.el8uek.x86_64.rpm"]},
	  {"kernelversion": 1, "kernelrelease": "5.15.0-100.96.32.el8uek.x86_64", "target": "oracle8", "headers": ["` + repo + `OL8/UEKR7/x86_64/getPackage/kernel-uek-devel-5.15.0-100.96.32.el8uek.x86_64.rpm"]}],
	 "ol": [
	  {"kernelversion": "2", "kernelrelease": "5.15.0-100.96.32.el8uek.x86_64", "target": "ol", "headers": ["` + repo + `OL8/UEKR7/x86_64/getPackage/kernel-uek-devel-5.15.0-100.96.32.el8uek.x86_64.rpm"]},
	  {"kernelversion": "1", "kernelrelease": "5.14.0-362.8.1.el9_3.x86_64", "target": "ol", "headers": ["` + repo + `OL9/baseos/latest/x86_64/getPackage/kernel-devel-5.14.0-362.8.1.el9_3.x86_64.rpm"]}]}`
	c, err := FromCrawler(strings.NewReader(in), AMD64, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The same UEK kernel from the older crawler (oracle8, kernelversion 1)
	// and from today's (ol, "2") is one config.
	wantSkipped := Skipped{"kernel too old": 2, uekTooOld: 1, "duplicate entry": 1}
	if len(c.Skipped) != len(wantSkipped) {
		t.Errorf("skipped %v, want %v", c.Skipped, wantSkipped)
	}
	for r, n := range wantSkipped {
		if c.Skipped[r] != n {
			t.Errorf("skipped %q: %d, want %d (all: %v)", r, c.Skipped[r], n, c.Skipped)
		}
	}
	if len(c.Targets) != 1 || !c.Targets["ol"] {
		t.Errorf("targets covered %v, want only ol (--prune prunes ol configs)", c.Targets)
	}
	// What a host running each kernel says (uname -r, uname -v), and so the
	// files falcoctl asks for: UEK hosts never a module.
	want := []struct {
		unameR, unameV string
		module, probe  bool
	}{
		{"3.10.0-1062.1.1.el7.x86_64", "#1 SMP Wed Sep 4 16:09:48 PDT 2019", true, false}, // older than the probe
		{"4.14.35-1902.305.4.el7uek.x86_64", "#2 SMP Tue Aug 4 21:28:20 PDT 2020", false, true},
		{"4.18.0-147.0.2.el8_1.x86_64", "#1 SMP Mon Nov 11 12:55:58 PST 2019", true, true},
		{"5.14.0-362.8.1.el9_3.x86_64", "#1 SMP PREEMPT_DYNAMIC Wed Nov 8 17:36:32 PST 2023", true, true},
		{"5.15.0-100.96.32.el8uek.x86_64", "#2 SMP Tue Jan 17 23:42:49 PST 2023", false, true},
		{"5.4.17-2011.0.7.el7uek.x86_64", "#3 SMP Thu Jun 4 09:16:27 PDT 2020", false, true}, // a kernelversion other than the default is kept
		{"5.4.17-2011.0.7.el8uek.x86_64", "#2 SMP Mon Jun 1 14:24:44 PDT 2020", false, true},
	}
	if len(c.Kernels) != len(want) {
		t.Fatalf("%d kernels, want %d: %v", len(c.Kernels), len(want), c.Kernels)
	}
	for i, w := range want {
		k := c.Kernels[i]
		if k.Target != "ol" || k.KernelRelease != w.unameR {
			t.Errorf("kernel %d: %s, want target ol, release %s", i, k.ID(), w.unameR)
			continue
		}
		for _, kind := range Kinds {
			wanted := map[Kind]bool{Module: w.module, Probe: w.probe}[kind]
			if k.Wants(kind) != wanted {
				t.Errorf("%s: Wants(%s) = %v, want %v", k.ID(), kind, !wanted, wanted)
			}
			if got, falcoctl := FileName(k, kind), falcoctlFileName(w.unameR, w.unameV, kind); wanted && got != falcoctl {
				t.Errorf("%s: file %s, but falcoctl asks for %s", k.ID(), got, falcoctl)
			}
		}
	}
	dir := t.TempDir()
	if _, err := WriteConfigs(dir, c.Kernels); err != nil {
		t.Fatal(err)
	}
	kernels, probs, err := Load(t.Context(), dir)
	if err != nil || len(probs) > 0 || len(kernels) != len(want) {
		t.Fatalf("every generated ol config must validate: %d kernels, %v, %v", len(kernels), err, probs)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "x86_64", "ol_5.4.17-2011.0.7.el8uek.x86_64_2.yaml")); err != nil {
		t.Error(err)
	} else if want := `kernelrelease: 5.4.17-2011.0.7.el8uek.x86_64
kernelversion: "2"
target: ol
architecture: amd64
kernelurls:
  - ` + repo + `OL8/UEKR6/x86_64/getPackage/kernel-uek-devel-5.4.17-2011.0.7.el8uek.x86_64.rpm
`; string(got) != want {
		t.Errorf("ol_5.4.17-2011.0.7.el8uek.x86_64_2.yaml:\n%s\nwant:\n%s", got, want)
	}
}

func TestCrawlerTarget(t *testing.T) {
	for in, want := range map[string]string{
		"oracle6": "ol", "oracle7": "ol", "oracle8": "ol", "ol": "ol",
		"centos": "centos", "ubuntu-aws": "ubuntu-aws", "oracle9": "oracle9",
	} {
		if got := CrawlerTarget(in); got != want {
			t.Errorf("CrawlerTarget(%q) = %q, want %q", in, got, want)
		}
		if got := CrawlerTarget(in); got != in && !KnownTarget(got) {
			t.Errorf("CrawlerTarget(%q) = %q, not a driverkit target", in, got)
		}
	}
	for _, tc := range []struct {
		target, release string
		uek             bool
	}{
		{"ol", "5.4.17-2136.300.7.el8uek.x86_64", true},
		{"ol", "5.15.0-203.146.5.1.el9uek.aarch64", true},
		{"ol", "4.18.0-553.el8_10.x86_64", false},
		{"centos", "5.4.17-2136.300.7.el8uek.x86_64", false}, // falcoctl's rule is ol's alone
	} {
		k := &Kernel{Target: tc.target, KernelRelease: tc.release, Architecture: AMD64}
		if k.IsUEK() != tc.uek || k.Wants(Module) == tc.uek {
			t.Errorf("%s %s: IsUEK %v, Wants(module) %v; want UEK %v", tc.target, tc.release, k.IsUEK(), k.Wants(Module), tc.uek)
		}
	}
}
