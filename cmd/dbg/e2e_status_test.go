package main

import (
	"context"
	"encoding/json"
	"html"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid/gridtest"
	"github.com/falcosecurity/dbg/publisher"
)

// TestEndToEndStatus: `dbg run` of one kernel for a driver version that
// builds and one whose source does not compile, to a folder target; `dbg
// index` merges the run's status part into the prefix's status.json,
// which says failed with the compiler's reason; `dbg stats --from` prints
// the counts.
func TestEndToEndStatus(t *testing.T) {
	lab, image, _ := startLab(t)
	const broken = "0.7.0+driver"
	if err := lab.AddBrokenSource(t.Context(), broken, gridtest.BrokenCompile); err != nil {
		t.Fatal(err)
	}
	module := []config.Kind{config.Module}
	dir := filepath.Join(t.TempDir(), "kernels")
	if err := lab.WriteConfigDir(dir, config.DriverVersions{Versions: []config.DriverVersion{
		{Version: "1.1.0+driver", Kinds: module}, {Version: broken, Kinds: module},
	}}); err != nil {
		t.Fatal(err)
	}
	release := lab.KernelsOf(config.AMD64)[0].Release
	dst := t.TempDir()
	to := "file://" + dst
	stdout, stderr, code := dbg(t, "--config-dir", dir, "run", "--allow-private-urls", "--kernelrelease", release, "--out", t.TempDir(),
		"--cache-dir", t.TempDir(), "--builder-image", image, "--timeout", "5m", "--to", to, "--run-id", "e2e-1")
	if code != 1 {
		t.Fatalf("dbg run: exit %d, want 1 (a build failed)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	prefix := publisher.Prefix{DriverVersion: broken, Arch: "x86_64"}
	part := filepath.Join(dst, filepath.FromSlash(prefix.Key(publisher.PartName("e2e-1"))))
	if _, err := os.Stat(part); err != nil {
		t.Fatalf("the run wrote no status part: %v", err)
	}
	if stdout, stderr, code = dbg(t, "index", "--to", to); code != 0 || !strings.Contains(stdout, "status: failed 1, not built 0, published 1\n") {
		t.Fatalf("dbg index: exit %d\n%s\n%s", code, stdout, stderr)
	}
	data, err := os.ReadFile(filepath.Join(dst, filepath.FromSlash(prefix.Key(publisher.StatusFile))))
	if err != nil {
		t.Fatal(err)
	}
	var ps publisher.PrefixStatus
	if err := json.Unmarshal(data, &ps); err != nil {
		t.Fatal(err)
	}
	if len(ps.Kernels) != 1 {
		t.Fatalf("status.json of %s: %s", prefix, data)
	}
	k := ps.Kernels[0]
	if k.Status != publisher.StatusFailed || !strings.Contains(k.Reason, gridtest.CompileError) || !strings.Contains(k.LogTail, gridtest.CompileError) ||
		k.KernelRelease != release || k.Run != "e2e-1" || k.Kind != string(config.Module) {
		t.Errorf("status.json of %s says %+v, want failed with %q", prefix, k, gridtest.CompileError)
	}
	if _, err := os.Stat(part); !os.IsNotExist(err) {
		t.Errorf("dbg index left the merged part: %v", err)
	}
	// The driver finder that dbg index wrote shows the failure: in headless
	// Chromium, index.html?q=<release> has the kernel's failed row with the
	// compiler's error as its reason.
	dom := chromiumDOM(t, "file://"+filepath.ToSlash(dst)+"/driver/index.html?q="+url.QueryEscape(release))
	failedRow := regexp.MustCompile(`(?s)<tr class="failed" data-file="` + regexp.QuoteMeta(k.File) + `"[^>]*>.*?</tr>`)
	row := failedRow.FindString(dom)
	if row == "" || !strings.Contains(html.UnescapeString(row), "build failed: ") || !strings.Contains(html.UnescapeString(row), gridtest.CompileError) {
		t.Errorf("the finder shows no failed row of %s with %q for ?q=%s:\n%s", k.File, gridtest.CompileError, release, tail(dom, 3000))
	}
	// stats plans from public configs (it takes no --allow-private-urls);
	// the status line counts every folder of the target, planned or not.
	public := t.TempDir()
	copyTestKernels(t, public)
	stdout, stderr, code = dbg(t, "--config-dir", public, "stats", "--from", to)
	if code != 0 || !strings.Contains(stdout, "status: failed 1, not built 0, published 1\n") {
		t.Errorf("dbg stats --from: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// chromiumDOM is the DOM of a page after its scripts ran, from Debian's
// chromium headless (make tools installs it; missing, the test fails).
func chromiumDOM(t *testing.T, pageURL string) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("the finder check needs Debian's chromium (make tools installs it): %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--dump-dom", pageURL).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom %s: %v", pageURL, err)
	}
	return string(out)
}
