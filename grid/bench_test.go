package grid

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/config/configtest"
)

// writeConfigs writes n valid configs spread over both arches and targets.
func writeConfigs(tb testing.TB, dir string, n int) {
	tb.Helper()
	var ks []*config.Kernel
	for i := 0; i < n; i++ {
		arch := config.Arches[i%2]
		k := &config.Kernel{KernelVersion: strconv.Itoa(i%300 + 1), Architecture: arch}
		switch i % 3 {
		case 0:
			k.Target, k.KernelRelease = "ubuntu-generic", fmt.Sprintf("5.15.0-%d-generic", i)
			k.KernelURLs = []string{fmt.Sprintf("https://example.org/u/linux-headers-%d_%s.deb", i, arch), fmt.Sprintf("https://example.org/u/linux-headers-%d_all.deb", i)}
		case 1:
			k.Target, k.KernelRelease = "amazonlinux2", fmt.Sprintf("4.14.%d-1.amzn2.%s", i, arch.Machine())
			k.KernelURLs = []string{fmt.Sprintf("https://example.org/a/kernel-devel-%d.rpm", i)}
		default:
			k.Target, k.KernelRelease = "debian", fmt.Sprintf("6.1.%d-1-%s", i, arch)
			for _, p := range []string{"flavour", "common", "kbuild"} {
				k.KernelURLs = append(k.KernelURLs, fmt.Sprintf("https://example.org/d/%s-%d.deb", p, i))
			}
		}
		ks = append(ks, k)
	}
	if _, err := config.WriteConfigs(dir, ks); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkLoadPlan20k loads, validates and plans 20,000 config files.
// Target: under 1 s and 200 MB peak RSS on a 2-core machine. peak-RSS-MB is
// the process's high-water mark during the timed loop (reset before it).
func BenchmarkLoadPlan20k(b *testing.B) {
	dir := b.TempDir()
	writeConfigs(b, dir, 20000)
	dv, err := config.LoadDriverVersions("../kernels/driverversions.yaml")
	if err != nil {
		b.Fatal(err)
	}
	configtest.ResetPeakRSS()
	b.ResetTimer()
	for b.Loop() {
		kernels, probs, err := config.Load(b.Context(), dir)
		if err != nil || len(probs) > 0 || len(kernels) != 20000 {
			b.Fatalf("load: %d kernels, %v, %v", len(kernels), err, probs)
		}
		plan, err := Plan(kernels, dv, Options{})
		if err != nil || len(plan) < 40000 {
			b.Fatalf("plan: %d entries, %v", len(plan), err)
		}
	}
	b.ReportMetric(configtest.PeakRSSMB(), "peak-RSS-MB")
}

func TestGeneratedConfigsAreValid(t *testing.T) {
	dir := t.TempDir()
	writeConfigs(t, dir, 300)
	kernels, probs, err := config.Load(t.Context(), dir)
	if err != nil || len(probs) > 0 || len(kernels) != 300 {
		t.Fatalf("%d kernels, %v, %v", len(kernels), err, probs)
	}
	if _, err := os.Stat(filepath.Join(dir, "x86_64")); err != nil {
		t.Fatal(err)
	}
}
