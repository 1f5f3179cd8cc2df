package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
