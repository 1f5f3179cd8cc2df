package gridtest

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/config"
)

// newTestLab starts a lab of 6 kernels in a temp root, with the headers
// cache shared by every run on the machine.
func newTestLab(t *testing.T) *Lab {
	t.Helper()
	cache, err := CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	// A config of an earlier run that this one does not have must go.
	stale := filepath.Join(root, "kernels", "x86_64", "debian_6.1.1-1-amd64_1.yaml")
	if err := os.MkdirAll(filepath.Dir(stale), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := NewLab(t.Context(), root, filepath.Join(cache, "debian-headers"), 6)
	if err != nil {
		t.Fatalf("NewLab: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	})
	return l
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestLab(t *testing.T) {
	l := newTestLab(t)

	kernels, probs, err := config.Load(t.Context(), l.ConfigDir)
	if err != nil || len(probs) > 0 {
		t.Fatalf("config.Load: %v %v", err, probs)
	}
	if len(kernels) != 6 || len(l.Kernels) != 6 {
		t.Fatalf("got %d configs and %d lab kernels, want 6", len(kernels), len(l.Kernels))
	}
	dv, err := config.LoadDriverVersions(filepath.Join(l.ConfigDir, config.DriverVersionsFile))
	if err != nil {
		t.Fatalf("LoadDriverVersions: %v", err)
	}
	var window []string
	for _, v := range dv.Newest() {
		window = append(window, v.Version)
		if !v.Has(config.Module) || !v.Has(config.Probe) {
			t.Errorf("%s kinds = %v, want module and probe", v.Version, v.Kinds)
		}
	}
	if len(window) != 2 || len(l.DriverVersions) != 2 {
		t.Errorf("window = %v, lab versions = %v; want both lab versions", window, l.DriverVersions)
	}

	byPath := map[string]*config.Kernel{}
	for _, k := range kernels {
		byPath[k.Path] = k
	}
	fams, flavours := map[string]bool{}, map[string]bool{}
	release := regexp.MustCompile(`^(\d+\.\d+)\.\d+-\d+-(amd64|cloud-amd64|rt-amd64)$`)
	for _, lk := range l.Kernels {
		m := release.FindStringSubmatch(lk.Release)
		if m == nil || !strings.HasSuffix(lk.UnameR, "-"+m[2]) {
			t.Errorf("kernel %s (uname -r %s): not a consumer-visible Debian release", lk.Release, lk.UnameR)
			continue
		}
		fams[m[1]], flavours[m[2]] = true, true
		k := byPath[lk.Config]
		if k == nil {
			t.Errorf("kernel %s: no valid config at %s", lk.Release, lk.Config)
			continue
		}
		if k.KernelRelease != lk.Release || k.Target != "debian" || k.KernelVersion != "1" || k.GCCVersion != "12" || len(k.KernelURLs) != 6 {
			// every flavour's headers, common and common-rt, and kbuild, as kernel-crawler lists them
			t.Errorf("config %s = %+v", lk.Config, k)
		}
		for _, u := range k.KernelURLs {
			if !strings.HasPrefix(u, l.URL+"/debian/") {
				t.Errorf("%s: URL %s not on the lab server", lk.Release, u)
			}
		}
	}
	if !fams["6.1"] || !fams["6.12"] || len(flavours) != 3 {
		t.Errorf("families %v, flavours %v: want 6.1 and 6.12, amd64, cloud-amd64 and rt-amd64", fams, flavours)
	}

	// Every URL answers 200 with the cached package, counted once per GET.
	seen := map[string]int{}
	for _, k := range kernels {
		for _, u := range k.KernelURLs {
			code, body := get(t, u)
			if code != http.StatusOK || !bytes.HasPrefix(body, []byte("!<arch>\n")) {
				t.Errorf("GET %s: %d, %d bytes, want 200 and a .deb", u, code, len(body))
			}
			seen[strings.TrimPrefix(u, l.URL)]++
		}
	}
	for _, v := range l.DriverVersions {
		u := strings.ReplaceAll(dv.Source, "{version}", v)
		if code, body := get(t, u); code != http.StatusOK || !bytes.HasPrefix(body, []byte{0x1f, 0x8b}) {
			t.Errorf("GET %s: %d, want 200 and a gzip", u, code)
		}
		seen[strings.TrimPrefix(u, l.URL)]++
	}
	got := l.Requests()
	for p, n := range seen {
		if got[p] != n {
			t.Errorf("Requests()[%s] = %d, want %d", p, got[p], n)
		}
	}
}

func TestAddBrokenKernel(t *testing.T) {
	l := newTestLab(t)
	p404, err := l.AddBrokenKernel(Broken404)
	if err != nil {
		t.Fatal(err)
	}
	pGarbage, err := l.AddBrokenKernel(BrokenGarbage)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.AddBrokenKernel("teapot"); err == nil {
		t.Error("AddBrokenKernel(teapot) succeeded")
	}
	kernels, probs, err := config.Load(t.Context(), l.ConfigDir)
	if err != nil || len(probs) > 0 || len(kernels) != 8 {
		t.Fatalf("config.Load: %d kernels, %v %v; want 8 valid configs", len(kernels), err, probs)
	}
	for _, k := range kernels {
		var codes []int
		var bodies [][]byte
		for _, u := range k.KernelURLs {
			code, body := get(t, u)
			codes, bodies = append(codes, code), append(bodies, body)
		}
		switch k.Path {
		case p404:
			if n404 := count(codes, http.StatusNotFound); n404 != 1 || count(codes, http.StatusOK) != 2 {
				t.Errorf("404 kernel answers %v, want one 404 and two 200", codes)
			}
		case pGarbage:
			debs := 0
			for i, b := range bodies {
				if codes[i] == http.StatusOK && bytes.HasPrefix(b, []byte("!<arch>\n")) {
					debs++
				}
			}
			if count(codes, http.StatusOK) != 3 || debs != 2 {
				t.Errorf("garbage kernel answers %v with %d .deb files, want three 200 and two .deb", codes, debs)
			}
		default:
			if count(codes, http.StatusOK) != len(codes) {
				t.Errorf("%s answers %v, want 200", k.Path, codes)
			}
		}
	}
}

func count(codes []int, want int) int {
	n := 0
	for _, c := range codes {
		if c == want {
			n++
		}
	}
	return n
}

func TestCloseTwice(t *testing.T) {
	l := newTestLab(t)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(l.URL + "/src/"); err == nil {
		t.Error("server still answers after Close")
	}
}

func TestNewLabSaysWhyItCannotFetch(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	if err := os.Symlink(bash, filepath.Join(bin, "bash")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin) // bash but no apt
	_, err = NewLab(t.Context(), t.TempDir(), t.TempDir(), 6)
	if err == nil || !strings.Contains(err.Error(), "apt-get and apt-cache not found") {
		t.Errorf("NewLab without apt: %v, want an error naming apt", err)
	}
}
