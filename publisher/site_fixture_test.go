package publisher

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/falcosecurity/dbg/config"
)

// The finder tests' site: the real kernel-crawler arm64 list published in
// two driver versions (9.1.0+driver with probes, 10.2.0+driver modules
// only), and x86_64 Debian kernels whose uname -r is not the release they
// are published under, with a failed build, a not buildable probe and a
// hostile failure reason.

// finderHostile is a failure reason that would run script if it reached
// the page as HTML.
const finderHostile = `</script><img src=x onerror="document.title='pwned'">`

// debianKernel is a Debian kernel of the fixture: the consumer-visible
// release (from the package version) and the uname -r it was built for.
type debianKernel struct{ release, unameR string }

var finderDebian = []debianKernel{
	{"6.1.192-3-amd64", "6.1.0-57-amd64"},
	{"6.1.192-3-cloud-amd64", "6.1.0-57-cloud-amd64"},
	{"6.12.117-1-amd64", "6.12.117+deb12-amd64"},
	{"4.9.320-2-amd64", "4.9.0-19-amd64"},
}

var finderTime = time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)

// crawlerKernels are the valid kernels of the real kernel-crawler sample
// (shared/ beside the repository, or $DBG_SHARED_DIR).
func crawlerKernels(tb testing.TB) []*config.Kernel {
	tb.Helper()
	shared := os.Getenv("DBG_SHARED_DIR")
	if shared == "" {
		shared = filepath.Join("..", "..", "shared")
	}
	data, err := os.ReadFile(filepath.Join(shared, "data", "kernel-crawler", "aarch64-list-2022-10.json"))
	if err != nil {
		tb.Fatalf("the kernel-crawler sample (shared/ beside the repository, or $DBG_SHARED_DIR): %v", err)
	}
	c, err := config.FromCrawler(bytes.NewReader(data), config.ARM64, nil)
	if err != nil || len(c.Kernels) < 1000 {
		tb.Fatalf("kernel-crawler sample: %d kernels, %v", len(c.Kernels), err)
	}
	return c.Kernels
}

// fakeObject is an artifact of the fixture with a digest of its own.
func fakeObject(dv, file string, size int64) Object {
	sum := sha256.Sum256([]byte(dv + "/" + file))
	return Object{File: file, SHA256: hex.EncodeToString(sum[:]), Size: size}
}

// finderFixture is the test site and its statuses.
func finderFixture(tb testing.TB) (*SiteIndex, map[Prefix][]KernelStatus) {
	kernels := crawlerKernels(tb)
	site := &SiteIndex{Generated: finderTime, Target: "file:///test"}
	status := map[Prefix][]KernelStatus{}
	for _, dv := range []string{"10.2.0+driver", "9.1.0+driver"} {
		site.Prefixes = append(site.Prefixes, crawlerPrefix(dv, kernels, dv == "9.1.0+driver"))
		p, st := debianPrefix(dv)
		site.Prefixes = append(site.Prefixes, p)
		status[Prefix{dv, "x86_64"}] = st
	}
	sort.Slice(site.Prefixes, func(i, j int) bool {
		return site.Prefixes[i].DriverVersion+site.Prefixes[i].Arch < site.Prefixes[j].DriverVersion+site.Prefixes[j].Arch
	})
	for _, p := range site.Prefixes {
		site.Total += len(p.Artifacts)
	}
	return site, status
}

// crawlerPrefix publishes every crawler kernel's module (and probe, where
// it has one) in dv/aarch64.
func crawlerPrefix(dv string, kernels []*config.Kernel, probes bool) PrefixIndex {
	p := PrefixIndex{DriverVersion: dv, Arch: "aarch64"}
	for i, k := range kernels {
		p.Artifacts = append(p.Artifacts, fakeObject(dv, config.FileName(k, config.Module), int64(3_000_000+i)))
		if probes && k.Wants(config.Probe) {
			p.Artifacts = append(p.Artifacts, fakeObject(dv, config.FileName(k, config.Probe), int64(900_000+i)))
		}
	}
	sort.Slice(p.Artifacts, func(i, j int) bool { return p.Artifacts[i].File < p.Artifacts[j].File })
	return p
}

// debianPrefix is dv/x86_64 with the Debian kernels: 6.1.192-3 builds
// (its probe fails in 9.1.0+driver), cloud builds, 6.12.117 fails with a
// hostile reason, 4.9 is too old for the probe and its module is not
// built yet.
func debianPrefix(dv string) (PrefixIndex, []KernelStatus) {
	p := PrefixIndex{DriverVersion: dv, Arch: "x86_64"}
	var st []KernelStatus
	probes := dv == "9.1.0+driver"
	add := func(k debianKernel, kind config.Kind, status, reason, log string) {
		file := debianFile(k, kind)
		if status == "built" {
			p.Artifacts = append(p.Artifacts, fakeObject(dv, file, 4_123_456))
		}
		st = append(st, KernelStatus{File: file, Target: "debian", KernelRelease: k.release, KernelVersion: "1",
			Kind: string(kind), UnameR: k.unameR, Status: status, Reason: reason, LogTail: log, Run: "run-42", Time: finderTime})
	}
	add(finderDebian[0], config.Module, "built", "", "")
	add(finderDebian[1], config.Module, "built", "", "")
	add(finderDebian[2], config.Module, "failed", "make exited 2: "+finderHostile, "error: implicit declaration of function 'bpf_probe_read'\n"+finderHostile)
	if probes {
		add(finderDebian[0], config.Probe, "failed", "clang exited 1", "fatal error: 'linux/bpf.h' file not found")
		add(finderDebian[1], config.Probe, "built", "", "")
		add(finderDebian[3], config.Probe, "not_buildable", "kernel too old for the probe (4.14 or later)", "")
	}
	sort.Slice(p.Artifacts, func(i, j int) bool { return p.Artifacts[i].File < p.Artifacts[j].File })
	return p, st
}

func debianFile(k debianKernel, kind config.Kind) string {
	return config.FileName(&config.Kernel{Target: "debian", KernelRelease: k.release, KernelVersion: "1"}, kind)
}

// memSite is a SiteWriter in memory.
type memSite struct {
	mu    sync.Mutex
	files map[string][]byte
	types map[string]string
}

func (m *memSite) PutFile(_ context.Context, name string, data []byte, contentType string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.files == nil {
		m.files, m.types = map[string][]byte{}, map[string]string{}
	}
	m.files[name], m.types[name] = bytes.Clone(data), contentType
	return nil
}
