package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/falcosecurity/dbg/config"
)

func decodeDV(t *testing.T, yaml string) *config.DriverVersions {
	t.Helper()
	dv, probs := config.DecodeDriverVersions("driverversions.yaml", []byte(yaml))
	if err := probs.Err(); err != nil {
		t.Fatal(err)
	}
	return dv
}

func TestQuickstartVersions(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"window without probe: add the newest with one", `window: 2
versions:
  - {version: "9.0.0+driver", kinds: [module, probe]}
  - {version: "10.2.0+driver", kinds: [module]}
  - {version: "9.1.0+driver", kinds: [module, probe]}
  - {version: "10.1.0+driver", kinds: [module]}
  - {version: "9.2.0-rc1+driver", kinds: [module, probe]}
`, "10.2.0+driver, 10.1.0+driver, 9.1.0+driver"},
		{"window with a probe: the window", `window: 2
versions:
  - {version: "10.0.0+driver", kinds: [module]}
  - {version: "9.1.0+driver", kinds: [module, probe]}
  - {version: "9.0.0+driver", kinds: [module, probe]}
`, "10.0.0+driver, 9.1.0+driver"},
		{"an opted-in pre-release counts", `window: 1
versions:
  - {version: "10.0.0+driver", kinds: [module]}
  - {version: "9.1.0+driver", kinds: [module, probe]}
  - {version: "9.2.0-rc1+driver", kinds: [module, probe], prerelease: true}
`, "10.0.0+driver, 9.2.0-rc1+driver"},
		{"no version with a probe", `window: 1
versions:
  - {version: "10.0.0+driver", kinds: [module]}
  - {version: "10.1.0+driver", kinds: [module]}
`, "10.1.0+driver"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionList(quickstartVersions(decodeDV(t, tc.yaml))); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestPinVersions(t *testing.T) {
	sum := func(c string) string { return strings.Repeat(c, 64) }
	libs := []config.DriverVersion{
		{Version: "10.2.0+driver", Kinds: []config.Kind{config.Module}, SHA256: sum("a")},
		{Version: "9.1.0+driver", Kinds: []config.Kind{config.Module, config.Probe}, SHA256: sum("b")},
	}
	want := []config.DriverVersion{
		{Version: "10.2.0+driver", Kinds: []config.Kind{config.Module}},
		{Version: "9.1.0+driver", Kinds: []config.Kind{config.Module, config.Probe}},
	}
	got, err := pinVersions(want, libs, "/libs")
	if err != nil || len(got) != 2 || got[0].SHA256 != sum("a") || got[1].SHA256 != sum("b") || want[0].SHA256 != "" {
		t.Errorf("pinVersions = %+v, %v", got, err)
	}
	_, err = pinVersions(append(want, config.DriverVersion{Version: "10.1.0+driver", Kinds: []config.Kind{config.Module}}), libs, "/libs")
	if err == nil || !strings.Contains(err.Error(), "DBG_LIBS_DIR=/libs has no 10.1.0+driver.tar.gz") ||
		!strings.Contains(err.Error(), "the folder has 10.2.0+driver, 9.1.0+driver") {
		t.Errorf("pinVersions with a missing version: %v", err)
	}
}

func TestReachable(t *testing.T) {
	var (
		mu     sync.Mutex
		ranges []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/archive/1.0.0+driver.tar.gz":
			http.Redirect(w, r, "/codeload/1.0.0+driver.tar.gz", http.StatusFound)
		case "/codeload/1.0.0+driver.tar.gz":
			mu.Lock()
			ranges = append(ranges, r.Header.Get("Range"))
			mu.Unlock()
			w.Header().Set("Content-Range", "bytes 0-0/100")
			w.WriteHeader(http.StatusPartialContent)
			w.Write([]byte{0x1f})
		case "/archive/2.0.0+driver.tar.gz":
			w.Write(bytes.Repeat([]byte{0}, 1<<20)) // ignores Range: fine too
		case "/archive/3.0.0+driver.tar.gz":
			time.Sleep(time.Second)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dv := &config.DriverVersions{Source: srv.URL + "/archive/{version}.tar.gz"}
	vs := func(names ...string) []config.DriverVersion {
		var out []config.DriverVersion
		for _, n := range names {
			out = append(out, config.DriverVersion{Version: n})
		}
		return out
	}
	if err := reachable(t.Context(), dv, vs("1.0.0+driver", "2.0.0+driver"), 5*time.Second); err != nil {
		t.Errorf("reachable: %v", err)
	}
	mu.Lock()
	if len(ranges) != 1 || ranges[0] != "bytes=0-0" {
		t.Errorf("ranges asked after the redirect: %q", ranges)
	}
	mu.Unlock()
	if err := reachable(t.Context(), dv, vs("1.0.0+driver", "4.0.0+driver"), 5*time.Second); err == nil || !strings.Contains(err.Error(), "4.0.0+driver.tar.gz: 404 Not Found") {
		t.Errorf("reachable with a 404: %v", err)
	}
	if err := reachable(t.Context(), dv, vs("3.0.0+driver"), 200*time.Millisecond); err == nil || !strings.Contains(err.Error(), "no answer from "+srv.URL+"/archive/3.0.0+driver.tar.gz within 200ms") {
		t.Errorf("reachable with a slow server: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	err = reachable(t.Context(), &config.DriverVersions{Source: closed + "/{version}"}, vs("1.0.0+driver"), 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "Get ") {
		t.Errorf("reachable with nothing listening: %v; want the reason alone", err)
	}
	if got := sourceHost(config.DefaultSource); got != "github.com" {
		t.Errorf("sourceHost(default) = %q", got)
	}
}

func TestReport(t *testing.T) {
	out := t.TempDir()
	dir := filepath.Join(out, "driver", "9.1.0+driver", "x86_64")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"falco_debian_6.1.1-1-amd64_1.ko", "falco_debian_6.1.1-1-amd64_1.o"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("not ELF"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d := drivers{from: "/libs (served from http://127.0.0.1:1, sha256 pinned)", versions: []config.DriverVersion{
		{Version: "10.2.0+driver"}, {Version: "9.1.0+driver"}}}
	var b strings.Builder
	report(&b, out, d, 1)
	got := b.String()
	for _, want := range []string{
		"dbg build failed (exit 1); what was built:",
		"driver source: /libs (served from http://127.0.0.1:1, sha256 pinned)",
		filepath.Join(out, "driver", "10.2.0+driver", "x86_64") + "/  0 kernel modules, 0 eBPF probes",
		dir + "/  1 kernel modules, 1 eBPF probes",
		"falco_debian_6.1.1-1-amd64_1.ko: cannot read what it says about itself: not an ELF object",
		"falco_debian_6.1.1-1-amd64_1.o: cannot read what it says about itself",
		"check: cd " + dir + " && sha256sum -c SHA256SUMS",
		"modinfo -F vermagic falco_debian_6.1.1-1-amd64_1.ko",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}
