package gridtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/blang/semver/v4"

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

	kernels, probs, err := config.LoadOptions{AllowPrivateURLs: true}.Load(t.Context(), l.ConfigDir)
	if err != nil || len(probs) > 0 {
		t.Fatalf("config.Load: %v %v", err, probs)
	}
	if len(kernels) != 6 || len(l.Kernels) != 6 {
		t.Fatalf("got %d configs and %d lab kernels, want 6", len(kernels), len(l.Kernels))
	}
	dv, err := config.LoadOptions{AllowPrivateURLs: true}.LoadDriverVersions(filepath.Join(l.ConfigDir, config.DriverVersionsFile))
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
		if k.KernelRelease != lk.Release || k.Target != "debian" || k.KernelVersion != "1" || k.GCCVersion != "" || len(k.KernelURLs) != 6 {
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
	p404, err := l.AddBrokenKernel(l.ConfigDir, Broken404)
	if err != nil {
		t.Fatal(err)
	}
	pGarbage, err := l.AddBrokenKernel(l.ConfigDir, BrokenGarbage)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.AddBrokenKernel(l.ConfigDir, "teapot"); err == nil {
		t.Error("AddBrokenKernel(teapot) succeeded")
	}
	kernels, probs, err := config.LoadOptions{AllowPrivateURLs: true}.Load(t.Context(), l.ConfigDir)
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

// newServerLab is a lab with its server but no kernel: enough to serve
// driver sources, without apt.
func newServerLab(t *testing.T) *Lab {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &Lab{Root: t.TempDir(), srv: newServer(ln)}
	l.URL = l.srv.url()
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	})
	return l
}

// fakeSource writes dir/<version>.tar.gz, a GitHub-style archive (a pax
// global header, then everything under libs-<version>/) holding files, and
// returns its bytes.
func fakeSource(t *testing.T, dir, version string, files ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	top := "libs-" + strings.ReplaceAll(version, "+", "-") + "/"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header",
		PAXRecords: map[string]string{"comment": "0123456789abcdef0123456789abcdef01234567"}}))
	must(tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: top, Mode: 0o755}))
	for _, f := range files {
		if strings.HasSuffix(f, "/") {
			must(tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: top + f, Mode: 0o755}))
			continue
		}
		body := []byte("content of " + f + "\n")
		must(tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: top + f, Mode: 0o644, Size: int64(len(body))}))
		_, err := tw.Write(body)
		must(err)
	}
	must(tw.Close())
	must(gz.Close())
	must(os.WriteFile(filepath.Join(dir, version+".tar.gz"), buf.Bytes(), 0o644))
	return buf.Bytes()
}

func sha256Hex(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// fakeLibs writes a folder of three fake driver sources with their
// SHA256SUMS (one line in sha256sum's binary-mode form) and returns it and
// each version's bytes. 2.0.0 has the probe; semver order (10.1.0-rc1,
// 10.0.0, 2.0.0) is not the names' order.
func fakeLibs(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	data := map[string][]byte{
		"2.0.0+driver":      fakeSource(t, dir, "2.0.0+driver", "CMakeLists.txt", "driver/", "driver/main.c", "driver/bpf/", "driver/bpf/probe.c"),
		"10.0.0+driver":     fakeSource(t, dir, "10.0.0+driver", "CMakeLists.txt", "driver/", "driver/main.c", "driver/modern_bpf/probe.c"),
		"10.1.0-rc1+driver": fakeSource(t, dir, "10.1.0-rc1+driver", "driver/main.c", "userspace/bpf/x.c"),
	}
	sums := sha256Hex(data["10.0.0+driver"]) + "  10.0.0+driver.tar.gz\n" +
		sha256Hex(data["10.1.0-rc1+driver"]) + " *10.1.0-rc1+driver.tar.gz\n\n" +
		sha256Hex(data["2.0.0+driver"]) + "  2.0.0+driver.tar.gz\n"
	if err := os.WriteFile(filepath.Join(dir, config.SumsFile), []byte(sums), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, data
}

func kindsOf(v config.DriverVersion) string {
	var ks []string
	for _, k := range v.Kinds {
		ks = append(ks, string(k))
	}
	return strings.Join(ks, ",")
}

func TestFindLibsDir(t *testing.T) {
	good := t.TempDir()
	if err := os.WriteFile(filepath.Join(good, config.SumsFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(good, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ dir, want string }{
		{filepath.Join(good, "missing"), "no such folder"},
		{file, "not a folder"},
		{t.TempDir(), "no SHA256SUMS file"},
	} {
		t.Setenv(LibsEnv, tc.dir)
		got, err := FindLibsDir()
		if err == nil || !strings.Contains(err.Error(), LibsEnv+"="+tc.dir) || !strings.Contains(err.Error(), tc.want) ||
			!strings.Contains(err.Error(), "set DBG_LIBS_DIR to a folder of <version>.tar.gz files with their SHA256SUMS") {
			t.Errorf("FindLibsDir with %s=%s: %q, %v; want an error saying %q and how to provide it", LibsEnv, tc.dir, got, err, tc.want)
		}
	}

	t.Setenv(LibsEnv, good)
	if got, err := FindLibsDir(); err != nil || got != good {
		t.Errorf("FindLibsDir with %s=%s: %q, %v", LibsEnv, good, got, err)
	}
	t.Chdir(good) // a relative $DBG_LIBS_DIR is made absolute
	t.Setenv(LibsEnv, ".")
	if got, err := FindLibsDir(); err != nil || got != good {
		t.Errorf("FindLibsDir with %s=.: %q, %v; want %s", LibsEnv, got, err, good)
	}
}

func TestFindLibsDirBesideTheRepository(t *testing.T) {
	t.Setenv(LibsEnv, "")
	repo, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(filepath.Dir(repo), "shared", "data", "libs")
	got, err := FindLibsDir()
	if _, serr := os.Stat(want); serr != nil {
		if err == nil || !strings.Contains(err.Error(), "set DBG_LIBS_DIR to") {
			t.Errorf("FindLibsDir without %s nor %s: %q, %v; want an error saying how to provide it", LibsEnv, want, got, err)
		}
		return
	}
	if err != nil || got != want {
		t.Errorf("FindLibsDir without %s: %q, %v; want %s", LibsEnv, got, err, want)
	}
}

func TestAddLibsFake(t *testing.T) {
	dir, data := fakeLibs(t)
	l := newServerLab(t)
	got, err := l.AddLibs(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ version, kinds string }{
		{"10.1.0-rc1+driver", "module"},
		{"10.0.0+driver", "module"},
		{"2.0.0+driver", "module,probe"},
	}
	if len(got) != len(want) || !slices.EqualFunc(got, l.Libs, func(a, b config.DriverVersion) bool {
		return a.Version == b.Version && a.SHA256 == b.SHA256
	}) {
		t.Fatalf("AddLibs = %+v, l.Libs = %+v; want %v", got, l.Libs, want)
	}
	for i, w := range want {
		g := got[i]
		if g.Version != w.version || kindsOf(g) != w.kinds || g.SHA256 != sha256Hex(data[w.version]) || g.Prerelease {
			t.Errorf("AddLibs[%d] = %+v, want %s kinds %s sha256 %s", i, g, w.version, w.kinds, sha256Hex(data[w.version]))
		}
		code, body := get(t, strings.ReplaceAll(l.SourceTemplate(), "{version}", w.version))
		if code != http.StatusOK || !bytes.Equal(body, data[w.version]) {
			t.Errorf("GET source of %s: %d, %d bytes; want 200 and the file's %d bytes", w.version, code, len(body), len(data[w.version]))
		}
	}

	// A tampered copy differs in one byte, and is still the same archive.
	tmpl, err := l.ServeTampered("2.0.0+driver")
	if err != nil {
		t.Fatal(err)
	}
	if tmpl != l.URL+"/tampered/{version}.tar.gz" {
		t.Errorf("ServeTampered = %q", tmpl)
	}
	code, body := get(t, strings.ReplaceAll(tmpl, "{version}", "2.0.0+driver"))
	orig := data["2.0.0+driver"]
	diff := 0
	for i := range min(len(body), len(orig)) {
		if body[i] != orig[i] {
			diff++
		}
	}
	if code != http.StatusOK || len(body) != len(orig) || diff != 1 {
		t.Errorf("GET tampered: %d, %d bytes, %d differ; want 200, %d bytes, one differing", code, len(body), diff, len(orig))
	}
	if probe, err := scanArchive(bytes.NewReader(body)); err != nil || !probe {
		t.Errorf("tampered copy: probe %v, %v; want a valid archive with the probe", probe, err)
	}
	if _, err := l.ServeTampered("3.0.0+driver"); err == nil {
		t.Error("ServeTampered of a version the lab does not serve succeeded")
	}
}

func TestAddLibsRejects(t *testing.T) {
	twoTops := func(t *testing.T, dir string) []byte {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		for _, name := range []string{"a/x", "b/y"} {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644}); err != nil {
				t.Fatal(err)
			}
		}
		tw.Close()
		gz.Close()
		return buf.Bytes()
	}
	for _, tc := range []struct {
		name string
		// setUp writes dir/1.0.0+driver.tar.gz, or not, and returns its
		// SHA256SUMS lines (after a good version's line, SHA256SUMS:1).
		setUp func(t *testing.T, dir string) string
		want  []string
	}{
		{"digest mismatch", func(t *testing.T, dir string) string {
			fakeSource(t, dir, "1.0.0+driver", "driver/main.c")
			return strings.Repeat("ab", 32) + "  1.0.0+driver.tar.gz\n"
		}, []string{"1.0.0+driver.tar.gz: sha256 mismatch: SHA256SUMS lists " + strings.Repeat("ab", 32) + ", the file has "}},
		{"missing tarball", func(t *testing.T, dir string) string {
			return strings.Repeat("ab", 32) + "  1.0.0+driver.tar.gz\n"
		}, []string{"1.0.0+driver.tar.gz", "no such file"}},
		{"path outside the folder", func(t *testing.T, dir string) string {
			return strings.Repeat("ab", 32) + "  ../1.0.0+driver.tar.gz\n"
		}, []string{`"../1.0.0+driver.tar.gz" is not a <version>.tar.gz in this folder`}},
		{"not a version", func(t *testing.T, dir string) string {
			return strings.Repeat("ab", 32) + "  latest.tar.gz\n"
		}, []string{`"latest": not a semantic version`}},
		{"not sha256sum format", func(t *testing.T, dir string) string {
			return "1.0.0+driver.tar.gz " + strings.Repeat("ab", 32) + "\n"
		}, []string{"SHA256SUMS:2: want"}},
		{"listed twice", func(t *testing.T, dir string) string {
			sum := sha256Hex(fakeSource(t, dir, "1.0.0+driver", "driver/main.c"))
			return sum + "  1.0.0+driver.tar.gz\n" + sum + "  1.0.0+driver.tar.gz\n"
		}, []string{"SHA256SUMS:3: 1.0.0+driver.tar.gz listed twice"}},
		{"not gzip", func(t *testing.T, dir string) string {
			data := []byte("not a tarball")
			if err := os.WriteFile(filepath.Join(dir, "1.0.0+driver.tar.gz"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			return sha256Hex(data) + "  1.0.0+driver.tar.gz\n"
		}, []string{"1.0.0+driver.tar.gz: not gzip"}},
		{"two top-level folders", func(t *testing.T, dir string) string {
			data := twoTops(t, dir)
			if err := os.WriteFile(filepath.Join(dir, "1.0.0+driver.tar.gz"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			return sha256Hex(data) + "  1.0.0+driver.tar.gz\n"
		}, []string{`two top-level entries, "a" and "b"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			// A good version beside the bad one: nothing may be served.
			good := fakeSource(t, dir, "2.0.0+driver", "driver/main.c")
			sums := sha256Hex(good) + "  2.0.0+driver.tar.gz\n" + tc.setUp(t, dir)
			if err := os.WriteFile(filepath.Join(dir, config.SumsFile), []byte(sums), 0o644); err != nil {
				t.Fatal(err)
			}
			l := newServerLab(t)
			got, err := l.AddLibs(dir)
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("AddLibs = %v, %v; want an error containing %q", got, err, w)
				}
			}
			if code, _ := get(t, l.URL+"/src/2.0.0+driver.tar.gz"); code != http.StatusNotFound || len(l.Libs) != 0 {
				t.Errorf("after a failed AddLibs: GET of the good version %d, l.Libs %v; want 404 and none", code, l.Libs)
			}
		})
	}
	t.Run("empty", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, config.SumsFile), []byte("\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := newServerLab(t).AddLibs(dir); err == nil || !strings.Contains(err.Error(), "lists no <version>.tar.gz") {
			t.Errorf("AddLibs of an empty SHA256SUMS = %v, %v", got, err)
		}
	})
}

// TestAddLibs serves the real driver sources (FindLibsDir).
func TestAddLibs(t *testing.T) {
	dir, err := FindLibsDir()
	if err != nil {
		if testing.Short() {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	// SHA256SUMS, read here on its own.
	raw, err := os.ReadFile(filepath.Join(dir, config.SumsFile))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			t.Fatalf("SHA256SUMS line %q", line)
		}
		listed[strings.TrimSuffix(strings.TrimPrefix(f[1], "*"), ".tar.gz")] = f[0]
	}

	l := newServerLab(t)
	got, err := l.AddLibs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(listed) || len(l.Libs) != len(got) {
		t.Fatalf("AddLibs gave %d versions (l.Libs %d), SHA256SUMS lists %d", len(got), len(l.Libs), len(listed))
	}
	var modOnly, withProbe int
	for i, v := range got {
		sv, err := semver.Parse(v.Version)
		if err != nil {
			t.Fatalf("%s: %v", v.Version, err)
		}
		if i > 0 && !semver.MustParse(got[i-1].Version).GT(sv) {
			t.Errorf("%s after %s: want newest first", v.Version, got[i-1].Version)
		}
		path := filepath.Join(dir, v.Version+".tar.gz")
		sum, _, err := config.HashFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if v.SHA256 != listed[v.Version] || v.SHA256 != sum {
			t.Errorf("%s: pinned sha256 %s, SHA256SUMS %s, file %s", v.Version, v.SHA256, listed[v.Version], sum)
		}
		// driver/bpf, the legacy eBPF probe, is gone since 10.0.0.
		wantKinds := "module,probe"
		if sv.Major >= 10 {
			wantKinds, modOnly = "module", modOnly+1
		} else {
			withProbe++
		}
		if kindsOf(v) != wantKinds {
			t.Errorf("%s kinds = %v, want %s", v.Version, v.Kinds, wantKinds)
		}
		code, body := get(t, strings.ReplaceAll(l.SourceTemplate(), "{version}", v.Version))
		if code != http.StatusOK || sha256Hex(body) != sum {
			t.Errorf("GET source of %s: %d, %d bytes with sha256 %s; want 200 and the file", v.Version, code, len(body), sha256Hex(body))
		}
	}
	if modOnly == 0 || withProbe == 0 {
		t.Errorf("%d module-only and %d module+probe versions in %s; want both", modOnly, withProbe, dir)
	}

	// A tampered copy of a real source: other bytes, still a valid archive.
	v := got[len(got)-1]
	tmpl, err := l.ServeTampered(v.Version)
	if err != nil {
		t.Fatal(err)
	}
	code, body := get(t, strings.ReplaceAll(tmpl, "{version}", v.Version))
	if probe, err := scanArchive(bytes.NewReader(body)); code != http.StatusOK || sha256Hex(body) == v.SHA256 || err != nil || probe != v.Has(config.Probe) {
		t.Errorf("GET tampered %s: %d, sha256 %s (pin %s), archive %v %v", v.Version, code, sha256Hex(body), v.SHA256, probe, err)
	}
}

func TestWriteConfigDir(t *testing.T) {
	l := newTestLab(t)
	if _, err := l.AddBrokenKernel(l.ConfigDir, Broken404); err != nil {
		t.Fatal(err)
	}
	libs, data := fakeLibs(t)
	versions, err := l.AddLibs(libs)
	if err != nil {
		t.Fatal(err)
	}
	labDV, err := os.ReadFile(filepath.Join(l.ConfigDir, config.DriverVersionsFile))
	if err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(t.TempDir(), "kernels")
	stale := filepath.Join(dir, "x86_64", "debian_6.1.1-1-amd64_1.yaml")
	if err := os.MkdirAll(filepath.Dir(stale), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := l.WriteConfigDir(dir, config.DriverVersions{Versions: versions}); err != nil {
		t.Fatal(err)
	}
	kernels, probs, err := config.LoadOptions{AllowPrivateURLs: true}.Load(t.Context(), dir)
	if err != nil || len(probs) > 0 {
		t.Fatalf("config.Load: %v %v", err, probs)
	}
	if len(kernels) != len(l.Kernels) {
		t.Fatalf("%d configs, want the lab's %d real kernels (not the broken one)", len(kernels), len(l.Kernels))
	}
	for _, lk := range l.Kernels {
		want, err := os.ReadFile(lk.Config)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(l.ConfigDir, lk.Config)
		if got, err := os.ReadFile(filepath.Join(dir, rel)); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %v; want the bytes of %s", rel, err, lk.Config)
		}
	}
	dv, err := config.LoadOptions{AllowPrivateURLs: true}.LoadDriverVersions(filepath.Join(dir, config.DriverVersionsFile))
	if err != nil {
		t.Fatal(err)
	}
	if dv.Source != l.URL+"/src/{version}.tar.gz" || dv.Window != len(versions) || len(dv.Newest()) != 2 {
		// the pre-release stays out of the window
		t.Errorf("driver versions: source %q, window %d, newest %v", dv.Source, dv.Window, dv.Newest())
	}
	for i, v := range dv.Versions {
		if v.Version != versions[i].Version || v.SHA256 != versions[i].SHA256 || kindsOf(v) != kindsOf(versions[i]) {
			t.Errorf("versions[%d] = %+v, want %+v", i, v, versions[i])
		}
		if code, body := get(t, dv.SourceURL(v.Version)); code != http.StatusOK || !bytes.Equal(body, data[v.Version]) {
			t.Errorf("GET %s: %d, want 200 and the source", dv.SourceURL(v.Version), code)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(l.ConfigDir, config.DriverVersionsFile)); !bytes.Equal(got, labDV) {
		t.Errorf("the lab's own driverversions.yaml changed:\n%s", got)
	}

	// A second dir, a given source and window: kept as given.
	tampered, err := l.ServeTampered("10.0.0+driver")
	if err != nil {
		t.Fatal(err)
	}
	dir2 := t.TempDir()
	if err := l.WriteConfigDir(dir2, config.DriverVersions{Window: 1, Source: tampered, Versions: versions[1:2]}); err != nil {
		t.Fatal(err)
	}
	dv2, err := config.LoadOptions{AllowPrivateURLs: true}.LoadDriverVersions(filepath.Join(dir2, config.DriverVersionsFile))
	if err != nil {
		t.Fatal(err)
	}
	if dv2.Source != tampered || dv2.Window != 1 || len(dv2.Versions) != 1 || dv2.Versions[0].SHA256 != versions[1].SHA256 {
		t.Errorf("second dir: %+v", dv2)
	}
	if code, body := get(t, dv2.SourceURL("10.0.0+driver")); code != http.StatusOK || sha256Hex(body) == dv2.Versions[0].SHA256 {
		t.Errorf("GET tampered source: %d, sha256 %s: want 200 and other bytes than the pin", code, sha256Hex(body))
	}

	// What dbg would reject is not written.
	err = l.WriteConfigDir(t.TempDir(), config.DriverVersions{Versions: []config.DriverVersion{{Version: "1.0.0+driver"}}})
	if err == nil || !strings.Contains(err.Error(), "lists no artifact kind") {
		t.Errorf("WriteConfigDir of a version without kinds: %v", err)
	}
}

// addArm64 adds the lab's arm64 kernels (2, from the shared headers cache).
func addArm64(t *testing.T, l *Lab) []LabKernel {
	t.Helper()
	cache, err := CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	ks, err := l.AddKernels(t.Context(), config.ARM64, filepath.Join(cache, "debian-headers"), 2)
	if err != nil {
		t.Fatalf("AddKernels(arm64): %v", err)
	}
	return ks
}

// debField is a control field of a .deb (dpkg-deb -f).
func debField(t *testing.T, deb, field string) string {
	t.Helper()
	out, err := exec.Command("dpkg-deb", "-f", deb, field).Output()
	if err != nil {
		t.Fatalf("dpkg-deb -f %s %s: %v", deb, field, err)
	}
	return strings.TrimSpace(string(out))
}

// debUTSRelease is the UTS_RELEASE of the flavour headers package deb: its
// include/generated/utsrelease.h, the uname -r the kernel reports.
func debUTSRelease(t *testing.T, deb string) string {
	t.Helper()
	cmd := exec.Command("dpkg-deb", "--fsys-tarfile", deb)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()               //nolint:errcheck // the tar is read up to the file
	defer io.Copy(io.Discard, out) //nolint:errcheck
	tr := tar.NewReader(out)
	uts := regexp.MustCompile(`#define UTS_RELEASE "([^"]+)"`)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("%s: no include/generated/utsrelease.h: %v", deb, err)
		}
		if strings.HasSuffix(hdr.Name, "/include/generated/utsrelease.h") {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if m := uts.FindSubmatch(data); m != nil {
				return string(m[1])
			}
			t.Fatalf("%s: %s has no UTS_RELEASE: %q", deb, hdr.Name, data)
		}
	}
}

// TestAddKernelsArm64 adds real Debian arm64 kernels to a lab of amd64
// ones: their configs are valid ones of the aarch64 folder (what dbg
// validate reads), their packages are served, and each records the uname
// -r its headers say.
func TestAddKernelsArm64(t *testing.T) {
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("dpkg-deb not found: the lab needs a Debian host")
	}
	l := newTestLab(t)
	amd64Before := map[string][]byte{}
	for _, k := range l.Kernels {
		data, err := os.ReadFile(k.Config)
		if err != nil {
			t.Fatal(err)
		}
		amd64Before[k.Config] = data
	}
	arm := addArm64(t, l)

	if len(arm) != 2 || len(l.Kernels) != 8 || !slices.EqualFunc(l.KernelsOf(config.ARM64), arm, func(a, b LabKernel) bool {
		return a.Release == b.Release && a.Config == b.Config
	}) || len(l.KernelsOf(config.AMD64)) != 6 {
		t.Fatalf("AddKernels gave %d kernels, the lab has %d (%d amd64, %d arm64); want 2 added to 6",
			len(arm), len(l.Kernels), len(l.KernelsOf(config.AMD64)), len(l.KernelsOf(config.ARM64)))
	}
	for i, k := range l.Kernels {
		want := config.AMD64
		if i >= 6 {
			want = config.ARM64
		}
		if k.Arch != want {
			t.Errorf("Kernels[%d].Arch = %q, want %s (amd64 first, then the added ones)", i, k.Arch, want)
		}
	}

	// What dbg validate reads: driverversions.yaml and every config.
	if _, probs := (config.LoadOptions{AllowPrivateURLs: true}).ReadDriverVersions(filepath.Join(l.ConfigDir, config.DriverVersionsFile)); probs.Err() != nil {
		t.Fatalf("driver versions: %v", probs.Err())
	}
	kernels, probs, err := config.LoadOptions{AllowPrivateURLs: true}.Load(t.Context(), l.ConfigDir)
	if err != nil || len(probs) > 0 || len(kernels) != 8 {
		t.Fatalf("config.Load: %d kernels, %v %v; want 8 valid configs", len(kernels), err, probs)
	}
	byPath := map[string]*config.Kernel{}
	for _, k := range kernels {
		byPath[k.Path] = k
	}

	release := regexp.MustCompile(`^(\d+\.\d+)\.\d+-\d+-arm64$`)
	unameR := regexp.MustCompile(`^\d+\.\d+\.\d+(-\d+|\+deb\d+)-arm64$`)
	fams := map[string]bool{}
	for _, lk := range arm {
		m := release.FindStringSubmatch(lk.Release)
		if m == nil || !unameR.MatchString(lk.UnameR) {
			t.Errorf("kernel %s (uname -r %s): not a consumer-visible Debian arm64 release", lk.Release, lk.UnameR)
			continue
		}
		fams[m[1]] = true
		if want := filepath.Join(l.ConfigDir, "aarch64", "debian_"+lk.Release+"_1.yaml"); lk.Config != want {
			t.Errorf("%s: config %s, want %s", lk.Release, lk.Config, want)
		}
		k := byPath[lk.Config]
		if k == nil {
			t.Errorf("kernel %s: no valid config at %s", lk.Release, lk.Config)
			continue
		}
		if k.Architecture != config.ARM64 || k.KernelRelease != lk.Release || k.Target != "debian" || k.KernelVersion != "1" ||
			k.GCCVersion != "" || len(k.KernelURLs) != 3 || len(lk.Files) != 3 {
			t.Errorf("config %s = %+v", lk.Config, k)
		}
		// The files: flavour headers and kbuild for arm64, common headers for all.
		flavour := filepath.Base(lk.Files[0])
		if !strings.HasPrefix(flavour, "linux-headers-"+lk.UnameR+"_") {
			t.Errorf("%s: flavour package %s is not linux-headers-%s", lk.Release, flavour, lk.UnameR)
		}
		for i, want := range []string{"arm64", "all", "arm64"} {
			if got := debField(t, lk.Files[i], "Architecture"); got != want {
				t.Errorf("%s: %s is for %s, want %s", lk.Release, filepath.Base(lk.Files[i]), got, want)
			}
		}
		// falcoctl's rule: the package version's \d+.\d+.\d+-\d+ and the flavour.
		version := debField(t, lk.Files[0], "Version")
		if v := regexp.MustCompile(`\d+\.\d+\.\d+-\d+`).FindString(version); v+"-arm64" != lk.Release {
			t.Errorf("%s: package version %s gives %s-arm64", lk.Release, version, v)
		}
		if got := debUTSRelease(t, lk.Files[0]); got != lk.UnameR {
			t.Errorf("%s: UnameR %s, the headers' UTS_RELEASE %s", lk.Release, lk.UnameR, got)
		}
		for _, u := range k.KernelURLs {
			name := strings.TrimPrefix(u, l.URL+"/debian/")
			if name == u || (!strings.HasSuffix(name, "_arm64.deb") && !strings.HasSuffix(name, "_all.deb")) {
				t.Errorf("%s: URL %s is not an arm64 package on the lab server", lk.Release, u)
				continue
			}
			local := lk.Files[slices.IndexFunc(lk.Files, func(f string) bool { return filepath.Base(f) == name })]
			want, err := os.ReadFile(local)
			if err != nil {
				t.Fatal(err)
			}
			if code, body := get(t, u); code != http.StatusOK || !bytes.Equal(body, want) {
				t.Errorf("GET %s: %d, %d bytes; want 200 and the %d bytes of %s", u, code, len(body), len(want), local)
			}
		}
	}
	if !fams["6.1"] || !fams["6.12"] {
		t.Errorf("arm64 families %v: want 6.1 and 6.12", fams)
	}
	// The amd64 configs did not change (a release's arm64 packages are not theirs).
	for p, before := range amd64Before {
		if after, err := os.ReadFile(p); err != nil || !bytes.Equal(after, before) {
			t.Errorf("%s changed when arm64 kernels were added: %v\n%s", p, err, after)
		}
	}

	// One architecture once; an unknown one not at all.
	if _, err := l.AddKernels(t.Context(), config.ARM64, t.TempDir(), 2); err == nil || !strings.Contains(err.Error(), "already has arm64 kernels") {
		t.Errorf("AddKernels(arm64) twice: %v", err)
	}
	if _, err := l.AddKernels(t.Context(), config.AMD64, t.TempDir(), 6); err == nil || !strings.Contains(err.Error(), "already has amd64 kernels") {
		t.Errorf("AddKernels(amd64) on NewLab's amd64 kernels: %v", err)
	}
	if _, err := l.AddKernels(t.Context(), "s390x", t.TempDir(), 2); err == nil || !strings.Contains(err.Error(), `unknown architecture "s390x"`) {
		t.Errorf("AddKernels(s390x): %v", err)
	}
	if len(l.Kernels) != 8 {
		t.Errorf("failed AddKernels changed the lab: %d kernels", len(l.Kernels))
	}
}

// TestWriteConfigDirArches writes config dirs of all the lab's kernels and
// of one architecture.
func TestWriteConfigDirArches(t *testing.T) {
	l := newTestLab(t)
	arm := addArm64(t, l)
	dv := config.DriverVersions{Versions: []config.DriverVersion{{Version: "1.0.0+driver", Kinds: []config.Kind{config.Module}}}}
	for _, tc := range []struct {
		name   string
		arches []config.Arch
		want   map[config.Arch]int
	}{
		{"all", nil, map[config.Arch]int{config.AMD64: 6, config.ARM64: 2}},
		{"both", []config.Arch{config.ARM64, config.AMD64}, map[config.Arch]int{config.AMD64: 6, config.ARM64: 2}},
		{"amd64", []config.Arch{config.AMD64}, map[config.Arch]int{config.AMD64: 6}},
		{"arm64", []config.Arch{config.ARM64}, map[config.Arch]int{config.ARM64: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			// Configs of the other architecture from an earlier write go.
			if err := l.WriteConfigDir(dir, dv); err != nil {
				t.Fatal(err)
			}
			if err := l.WriteConfigDir(dir, dv, tc.arches...); err != nil {
				t.Fatal(err)
			}
			kernels, probs, err := config.LoadOptions{AllowPrivateURLs: true}.Load(t.Context(), dir)
			if err != nil || len(probs) > 0 {
				t.Fatalf("config.Load: %v %v", err, probs)
			}
			got := map[config.Arch]int{}
			for _, k := range kernels {
				got[k.Architecture]++
				rel, _ := filepath.Rel(dir, k.Path)
				if filepath.Dir(rel) != k.Architecture.Machine() {
					t.Errorf("%s: architecture %s in folder %s", rel, k.Architecture, filepath.Dir(rel))
				}
			}
			if len(got) != len(tc.want) || got[config.AMD64] != tc.want[config.AMD64] || got[config.ARM64] != tc.want[config.ARM64] {
				t.Errorf("configs per architecture %v, want %v", got, tc.want)
			}
		})
	}
	// The arm64 configs written are the lab's own bytes.
	dir := t.TempDir()
	if err := l.WriteConfigDir(dir, dv, config.ARM64); err != nil {
		t.Fatal(err)
	}
	for _, k := range arm {
		want, err := os.ReadFile(k.Config)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(filepath.Join(dir, "aarch64", filepath.Base(k.Config))); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %v; want the bytes of %s", k.Release, err, k.Config)
		}
	}
}

// TestFlavourFilesPerArch: a release's amd64 and arm64 kernels share the
// common headers file but not a config's list.
func TestFlavourFilesPerArch(t *testing.T) {
	common := "/h/linux-headers-6.1.0-57-common_6.1.192-3_all.deb"
	ks := []LabKernel{
		{Arch: config.AMD64, Release: "6.1.192-3-amd64", Files: []string{"/h/linux-headers-6.1.0-57-amd64_6.1.192-3_amd64.deb", common, "/h/linux-kbuild-6.1_6.1.192-3_amd64.deb"}},
		{Arch: config.AMD64, Release: "6.1.192-3-cloud-amd64", Files: []string{"/h/linux-headers-6.1.0-57-cloud-amd64_6.1.192-3_amd64.deb", common, "/h/linux-kbuild-6.1_6.1.192-3_amd64.deb"}},
		{Arch: config.ARM64, Release: "6.1.192-3-arm64", Files: []string{"/h/linux-headers-6.1.0-57-arm64_6.1.192-3_arm64.deb", common, "/h/linux-kbuild-6.1_6.1.192-3_arm64.deb"}},
	}
	got := flavourFiles(ks)
	if amd := got[familyKey(ks[0])]; len(amd) != 4 || slices.ContainsFunc(amd, func(f string) bool { return strings.HasSuffix(f, "_arm64.deb") }) {
		t.Errorf("amd64 6.1.192-3 files %v: want its two flavours, common and kbuild", amd)
	}
	if arm := got[familyKey(ks[2])]; !slices.Equal(arm, ks[2].Files) {
		t.Errorf("arm64 6.1.192-3 files %v, want %v", arm, ks[2].Files)
	}
	if familyKey(ks[0]) != familyKey(ks[1]) || familyKey(ks[0]) == familyKey(ks[2]) {
		t.Errorf("family keys %q %q %q", familyKey(ks[0]), familyKey(ks[1]), familyKey(ks[2]))
	}
}

// TestReadKernelsArch reads each architecture's own kernel list.
func TestReadKernelsArch(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a_amd64.deb", "c_all.deb", "k_amd64.deb", "a_arm64.deb", "k_arm64.deb"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("!<arch>\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("kernels.tsv", "6.1.192-3-amd64\t6.1.0-57-amd64\ta_amd64.deb,c_all.deb,k_amd64.deb\n")
	write("kernels-arm64.tsv", "6.1.192-3-arm64\t6.1.0-57-arm64\ta_arm64.deb,c_all.deb,k_arm64.deb\n")
	for _, tc := range []struct {
		arch          config.Arch
		release, file string
	}{{config.AMD64, "6.1.192-3-amd64", "a_amd64.deb"}, {config.ARM64, "6.1.192-3-arm64", "a_arm64.deb"}} {
		ks, err := readKernels(dir, tc.arch)
		if err != nil || len(ks) != 1 || ks[0].Arch != tc.arch || ks[0].Release != tc.release || ks[0].Files[0] != tc.file ||
			ks[0].UnameR != strings.Replace(tc.release, "6.1.192-3", "6.1.0-57", 1) {
			t.Errorf("readKernels(%s) = %+v, %v", tc.arch, ks, err)
		}
	}
}

// TestFetchScriptArgs: the download script refuses what it cannot do, in
// one line, before touching apt.
func TestFetchScriptArgs(t *testing.T) {
	repo, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--arch", "s390x", t.TempDir()}, "unsupported architecture 's390x' (want amd64 or arm64)"},
		{[]string{"--arch", "arm64", t.TempDir(), "0"}, "COUNT must be at least 1 for arm64"},
		{[]string{"--arch=amd64", t.TempDir(), "2"}, "COUNT must be at least 6 for amd64"},
		{[]string{"--arch"}, "usage:"},
	} {
		out, err := exec.Command("bash", append([]string{filepath.Join(repo, fetchScript)}, tc.args...)...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) || strings.Count(strings.TrimSpace(string(out)), "\n") != 0 {
			t.Errorf("fetch-debian-headers.sh %v: %v, %q; want one line saying %q", tc.args, err, out, tc.want)
		}
	}
}
