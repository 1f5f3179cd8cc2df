package gridtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/falcosecurity/dbg/config"
)

// driverVersions are the lab's two made-up driver versions, oldest first;
// both have both kinds.
func driverVersions() []string { return []string{"1.0.0+driver", "1.1.0+driver"} }

// Lab serves kernel header packages and driver sources from loopback and
// writes a config dir pointing at them.
type Lab struct {
	Root           string      // working folder
	ConfigDir      string      // Root/kernels: x86_64/*.yaml, aarch64/*.yaml (AddKernels) + driverversions.yaml
	URL            string      // http://127.0.0.1:PORT
	Kernels        []LabKernel // the real kernels: amd64 first, then those of AddKernels
	DriverVersions []string    // the made-up driver versions, kinds [module, probe]
	// Libs are the real driver versions added by AddLibs, newest first.
	Libs []config.DriverVersion

	srv     *server
	configs []*config.Kernel  // the real kernels' configs, as in ConfigDir
	sources map[string]string // driver version -> its source tarball, served at /src/
	close   sync.Once
	err     error
}

// LabKernel is one real Debian kernel of the lab.
type LabKernel struct {
	Arch    config.Arch // amd64 or arm64, as its config says
	Release string      // consumer-visible kernelrelease (6.12.117-1-cloud-amd64, 6.1.192-3-arm64)
	UnameR  string      // uname -r of the kernel (6.12.117+deb12-cloud-amd64, 6.1.0-57-arm64)
	Config  string      // path of its config file (in ConfigDir, under the arch's Machine folder)
	Files   []string    // its three header packages in the headers cache (flavour, common, kbuild)
}

// NewLab downloads (or finds in headersDir, a cache shared across runs) the
// header packages of count real Debian amd64 kernels with fetch-debian-headers.sh,
// packs deploy/minidriver for both driver versions into root/src, serves
// both from 127.0.0.1 (headers under /debian/, sources under /src/), and
// writes the configs into root/kernels. Close stops the server.
//
// The setup methods (AddKernels, AddLibs, AddBrokenKernel, ServeTampered,
// WriteConfigDir) are meant to be called from one goroutine; the server
// answers concurrently.
func NewLab(ctx context.Context, root, headersDir string, count int) (*Lab, error) {
	repo, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	if root, err = filepath.Abs(root); err != nil {
		return nil, fmt.Errorf("lab root: %w", err)
	}
	if headersDir, err = filepath.Abs(headersDir); err != nil {
		return nil, fmt.Errorf("lab headers: %w", err)
	}
	kernels, err := fetchKernels(ctx, repo, headersDir, config.AMD64, count)
	if err != nil {
		return nil, err
	}
	if err := packSources(ctx, repo, filepath.Join(root, "src"), driverVersions()); err != nil {
		return nil, err
	}
	ln, err := listen(filepath.Join(root, "port"))
	if err != nil {
		return nil, err
	}
	l := &Lab{Root: root, ConfigDir: filepath.Join(root, "kernels"), Kernels: kernels,
		DriverVersions: driverVersions(), srv: newServer(ln)}
	l.URL = l.srv.url()
	if err := l.setUp(); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// fetchKernels gets arch's kernels into headersDir (fetchHeaders), their
// Files made absolute.
func fetchKernels(ctx context.Context, repo, headersDir string, arch config.Arch, count int) ([]LabKernel, error) {
	kernels, err := fetchHeaders(ctx, repo, headersDir, arch, count)
	if err != nil {
		return nil, err
	}
	for i := range kernels {
		for j, name := range kernels[i].Files {
			kernels[i].Files[j] = filepath.Join(headersDir, name)
		}
	}
	return kernels, nil
}

// setUp registers the served files and writes the config dir.
func (l *Lab) setUp() error {
	for _, v := range l.DriverVersions {
		l.serveSource(v, filepath.Join(l.Root, "src", v+".tar.gz"))
	}
	l.configs = l.serveKernels(l.Kernels)
	dv := config.DriverVersions{Window: len(l.DriverVersions)}
	for _, v := range l.DriverVersions {
		dv.Versions = append(dv.Versions, config.DriverVersion{Version: v, Kinds: []config.Kind{config.Module, config.Probe}})
	}
	return l.WriteConfigDir(l.ConfigDir, dv)
}

// AddKernels adds count real Debian kernels of another architecture than
// NewLab's amd64 to the lab: arm64 today, the plain flavour, the newest
// 6.12 and 6.1 kernels first (fetch-debian-headers.sh --arch arm64, which
// reads the arm64 package lists with a private apt configuration and writes
// kernels-arm64.tsv; headersDir can be NewLab's: both architectures share
// their common headers). It serves their header packages beside the others
// under /debian/, writes their configs (architecture: arm64) into
// ConfigDir's aarch64/ folder, appends them to Kernels and returns them.
// WriteConfigDir writes them too from then on. An architecture the lab
// already has is an error.
//
// Their kbuild packages' host tools (fixdep, modpost) are arm64 programs:
// building for them takes an arm64 builder image, which runs on an x86_64
// machine through qemu-user (deploy/builder/binfmt.sh, build-image.sh).
func (l *Lab) AddKernels(ctx context.Context, arch config.Arch, headersDir string, count int) ([]LabKernel, error) {
	if arch.Machine() == "" {
		return nil, fmt.Errorf("add kernels: unknown architecture %q", arch)
	}
	for _, k := range l.Kernels {
		if k.Arch == arch {
			return nil, fmt.Errorf("add kernels: the lab already has %s kernels", arch)
		}
	}
	repo, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	if headersDir, err = filepath.Abs(headersDir); err != nil {
		return nil, fmt.Errorf("add kernels: %w", err)
	}
	ks, err := fetchKernels(ctx, repo, headersDir, arch, count)
	if err != nil {
		return nil, err
	}
	cs := l.serveKernels(ks)
	if _, err := config.WriteConfigs(l.ConfigDir, cs); err != nil {
		return nil, fmt.Errorf("add kernels: write configs: %w", err)
	}
	l.Kernels = append(l.Kernels, ks...)
	l.configs = append(l.configs, cs...)
	return append([]LabKernel(nil), ks...), nil
}

// KernelsOf returns the lab's kernels of one architecture, in Kernels' order.
func (l *Lab) KernelsOf(arch config.Arch) []LabKernel {
	var out []LabKernel
	for _, k := range l.Kernels {
		if k.Arch == arch {
			out = append(out, k)
		}
	}
	return out
}

// serveKernels serves the header packages of ks under /debian/ and returns
// their configs, in ks' order, setting each kernel's Config path.
func (l *Lab) serveKernels(ks []LabKernel) []*config.Kernel {
	out := make([]*config.Kernel, len(ks))
	siblings := flavourFiles(ks)
	for i := range ks {
		k := &ks[i]
		var urls []string
		for _, f := range siblings[familyKey(*k)] {
			p := servePath("/debian/", f)
			l.srv.addFile(p, f)
			urls = append(urls, l.URL+p)
		}
		out[i] = debianKernel(k.Arch, k.Release, urls)
		k.Config = filepath.Join(l.ConfigDir, filepath.FromSlash(config.ConfigPath(out[i])))
	}
	return out
}

// WriteConfigDir writes a config dir into dir: the configs of the lab's
// real kernels, as in ConfigDir (not the broken ones AddBrokenKernel adds),
// and a driverversions.yaml from dv. With arches, only the kernels of those
// architectures are written; without, all the lab's (amd64, and those of
// AddKernels). An empty dv.Source becomes the lab's SourceTemplate
// (<URL>/src/{version}.tar.gz); a zero dv.Window, the number of listed
// versions. Other configs in dir's <arch> folders are removed. Several
// config dirs can so share one lab, each with its own driver versions.
func (l *Lab) WriteConfigDir(dir string, dv config.DriverVersions, arches ...config.Arch) error {
	if dv.Source == "" {
		dv.Source = l.SourceTemplate()
	}
	if dv.Window == 0 {
		dv.Window = len(dv.Versions)
	}
	ks := l.configs
	if len(arches) > 0 {
		ks = nil
		for _, k := range l.configs {
			if slices.Contains(arches, k.Architecture) {
				ks = append(ks, k)
			}
		}
	}
	if _, err := config.WriteConfigs(dir, ks); err != nil {
		return fmt.Errorf("write lab configs: %w", err)
	}
	if err := removeStale(dir, ks); err != nil {
		return err
	}
	return writeDriverVersions(dir, dv)
}

// flavourFiles gathers, per architecture and kernel release, the packages
// of all its flavours: like kernel-crawler's Debian entries, each config
// lists them all, so the build must pick its own flavour's headers among
// them. The amd64 and arm64 kernels of one release stay apart.
func flavourFiles(ks []LabKernel) map[string][]string {
	out := map[string][]string{}
	seen := map[string]bool{}
	for _, k := range ks {
		fam := familyKey(k)
		for _, f := range k.Files {
			if !seen[fam+" "+f] {
				seen[fam+" "+f] = true
				out[fam] = append(out[fam], f)
			}
		}
	}
	return out
}

// familyKey is a kernel's architecture and release family: "amd64 6.1.192-3".
func familyKey(k LabKernel) string { return string(k.Arch) + " " + releaseFamily(k.Release) }

// releaseFamily strips the flavour: 6.1.192-2-cloud-amd64 -> 6.1.192-2.
func releaseFamily(release string) string {
	flavour, arch, ok := config.DebianFlavour(release)
	if !ok {
		return release
	}
	return strings.TrimSuffix(release, "-"+flavour+string(arch))
}

// debianKernel is the config of a Debian kernel of arch.
func debianKernel(arch config.Arch, release string, urls []string) *config.Kernel {
	sort.Strings(urls)
	return &config.Kernel{KernelRelease: release, KernelVersion: "1", Target: "debian",
		Architecture: arch, KernelURLs: urls}
}

// removeStale deletes config files of earlier runs that ks does not have.
func removeStale(dir string, ks []*config.Kernel) error {
	keep := map[string]bool{}
	for _, k := range ks {
		keep[filepath.Join(dir, filepath.FromSlash(config.ConfigPath(k)))] = true
	}
	old, err := filepath.Glob(filepath.Join(dir, "*", "*.yaml"))
	if err != nil {
		return fmt.Errorf("clean lab configs: %w", err)
	}
	for _, p := range old {
		if !keep[p] {
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("clean lab configs: %w", err)
			}
		}
	}
	return nil
}

// writeDriverVersions writes dir/driverversions.yaml from dv, after
// checking it as dbg will; a file with the same bytes is left untouched.
func writeDriverVersions(dir string, dv config.DriverVersions) error {
	data, err := yaml.Marshal(&dv)
	if err != nil {
		return fmt.Errorf("encode driver versions: %w", err)
	}
	path := filepath.Join(dir, config.DriverVersionsFile)
	// The lab serves from 127.0.0.1: its configs take the lifted address policy.
	if _, probs := (config.LoadOptions{AllowPrivateURLs: true}).DecodeDriverVersions(path, data); probs.Err() != nil {
		return fmt.Errorf("write driver versions: %w", probs.Err())
	}
	if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
		return nil
	}
	if err := config.WriteFile(path, data); err != nil {
		return fmt.Errorf("write driver versions: %w", err)
	}
	return nil
}

// packSources packs deploy/minidriver as <version>.tar.gz into dir.
func packSources(ctx context.Context, repo, dir string, versions []string) error {
	for _, v := range versions {
		out, err := exec.CommandContext(ctx, "bash", filepath.Join(repo, "deploy/minidriver/pack.sh"), v, dir).CombinedOutput()
		if err != nil {
			return fmt.Errorf("pack driver source %s: %w: %s", v, err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// Requests counts the server's requests per URL path.
func (l *Lab) Requests() map[string]int { return l.srv.requests() }

// Close stops the server; later calls return the first call's result.
func (l *Lab) Close() error {
	l.close.Do(func() {
		if err := l.srv.close(); err != nil {
			l.err = fmt.Errorf("close lab: %w", err)
		}
	})
	return l.err
}

// WriteKernelsConfigDir writes a config dir into dir with the configs of ks
// alone (kernels that are not the lab's, such as DebianSuiteKernel's, each
// with its own three packages), their header packages served beside the
// lab's, and a driverversions.yaml from dv (defaults as WriteConfigDir).
// It sets each kernel's Config and returns ks. The lab's own kernels and
// config dirs are left as they are.
func (l *Lab) WriteKernelsConfigDir(dir string, dv config.DriverVersions, ks []LabKernel) ([]LabKernel, error) {
	ks = append([]LabKernel(nil), ks...)
	cs := make([]*config.Kernel, len(ks))
	for i := range ks {
		var urls []string
		for _, f := range ks[i].Files {
			p := servePath("/debian/", f)
			l.srv.addFile(p, f)
			urls = append(urls, l.URL+p)
		}
		cs[i] = debianKernel(ks[i].Arch, ks[i].Release, urls)
		ks[i].Config = filepath.Join(dir, filepath.FromSlash(config.ConfigPath(cs[i])))
	}
	if dv.Source == "" {
		dv.Source = l.SourceTemplate()
	}
	if dv.Window == 0 {
		dv.Window = len(dv.Versions)
	}
	if _, err := config.WriteConfigs(dir, cs); err != nil {
		return nil, fmt.Errorf("write kernel configs: %w", err)
	}
	if err := removeStale(dir, cs); err != nil {
		return nil, err
	}
	return ks, writeDriverVersions(dir, dv)
}
