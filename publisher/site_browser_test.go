package publisher

import (
	"image/color"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/config"
)

// The driver finder in a real browser: Debian's chromium, headless, on the
// page served from loopback and opened from the folder (file://).

func TestFinderShowsExactlyAReleasesRows(t *testing.T) {
	site, status := finderFixture(t)
	kernels := crawlerKernels(t)
	release := substringRelease(t, kernels)
	var stems []string
	for _, k := range kernels {
		if k.KernelRelease == release {
			stems = append(stems, strings.TrimSuffix(config.FileName(k, config.Module), ".ko"))
		}
	}
	_, base := finderSite(t, site, status)
	dom := string(chromium(t, "--dump-dom", pageURL(base, release)))
	equalRows(t, "?q="+release, resultRows(dom), wantRows(site, status, heldClass, stems...))
	file := stems[0] + ".ko"
	for _, want := range []string{
		base + "/driver/10.2.0%2Bdriver/aarch64/" + file + "</code>", // the URL falcoctl fetches from this repo
		`href="10.2.0%2Bdriver/aarch64/` + file + `"`,
		"sha256 " + fakeObject("10.2.0+driver", file, 0).SHA256,
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("?q=%s: the page lacks %s", release, want)
		}
	}
	t.Logf("?q=%s: %d rows", release, len(resultRows(dom)))
}

// substringRelease is the first release of kernels that is part of
// another kernel's release (4.14.1 of 4.14.123): the page must show the
// one kernel, not every release holding the text.
func substringRelease(t *testing.T, kernels []*config.Kernel) string {
	for _, k := range kernels {
		for _, o := range kernels {
			if o.KernelRelease != k.KernelRelease && strings.Contains(o.KernelRelease, k.KernelRelease) {
				t.Logf("release %s (part of %s)", k.KernelRelease, o.KernelRelease)
				return k.KernelRelease
			}
		}
	}
	t.Fatal("no release of the kernel-crawler sample is part of another")
	return ""
}

func TestFinderFindsDebianByUnameR(t *testing.T) {
	site, status := finderFixture(t)
	root, base := finderSite(t, site, status)
	want := wantRows(site, status, func(p PrefixIndex, file string) string {
		if strings.HasSuffix(file, ".o") {
			return "failed"
		}
		return "ok"
	}, "falco_debian_6.1.192-3-amd64_1")
	for name, b := range map[string]string{"http": base, "file": root} {
		dom := string(chromium(t, "--dump-dom", pageURL(b, "6.1.0-57-amd64")))
		equalRows(t, name+" ?q=6.1.0-57-amd64", resultRows(dom), want)
		repo := base + "/driver"
		if name == "file" {
			repo = "https://download.falco.org/driver" // falcoctl's default
		}
		if u := repo + "/9.1.0%2Bdriver/x86_64/falco_debian_6.1.192-3-amd64_1.o"; !strings.Contains(dom, u) {
			t.Errorf("%s: the page does not show the URL %s", name, u)
		}
		if !strings.Contains(dom, "uname -r: 6.1.0-57-amd64") || !strings.Contains(dom, "build failed: clang exited 1") {
			t.Errorf("%s: the page does not show the uname -r or the probe's failure", name)
		}
	}
}

func TestFinderShowsFailedBuilds(t *testing.T) {
	site, status := finderFixture(t)
	_, base := finderSite(t, site, status)
	dom := string(chromium(t, "--dump-dom", pageURL(base, "6.12.117+deb12-amd64")))
	equalRows(t, "?q=6.12.117+deb12-amd64", resultRows(dom), wantRows(site, status, func(p PrefixIndex, file string) string {
		if strings.HasSuffix(file, ".o") {
			return "missing" // 9.1.0+driver has probes; no run tried this one
		}
		return "failed"
	}, "falco_debian_6.12.117-1-amd64_1"))
	for _, want := range []string{
		`build failed: make exited 2: &lt;/script&gt;&lt;img src=x onerror="document.title='pwned'"&gt;`,
		`<pre>error: implicit declaration of function 'bpf_probe_read'`,
		`<title>Falco drivers</title>`,
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Contains(dom, "<img") {
		t.Error("a failure reason reached the page as HTML")
	}
	dom = string(chromium(t, "--dump-dom", pageURL(base, "4.9.0-19-amd64")))
	got := resultRows(dom)
	if len(got) != 2 || got[1] != (resultRow{"nobuild", "9.1.0+driver/x86_64", "falco_debian_4.9.320-2-amd64_1.o"}) ||
		!strings.Contains(dom, "not buildable: kernel too old for the probe (4.14 or later)") {
		t.Errorf("?q=4.9.0-19-amd64: rows %v", got)
	}
}

func TestFinderCoverageAndNoMatch(t *testing.T) {
	site, status := finderFixture(t)
	_, base := finderSite(t, site, status)
	dom := string(chromium(t, "--dump-dom", pageURL(base, "")))
	for _, want := range []string{`<details id="coverage-box" open="">`, `<a class="q" href="?q=ubuntu-generic">ubuntu-generic</a>`,
		`<a class="q" href="?q=debian">debian</a></th><td>2 ko</td><td>2 ko <span class="nfail">1 failed</span></td>`} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page without a query lacks %s", want)
		}
	}
	if rows := resultRows(dom); len(rows) != 0 {
		t.Errorf("the page without a query shows %d rows", len(rows))
	}
	dom = string(chromium(t, "--dump-dom", pageURL(base, "6.1.0-99")))
	if rows := resultRows(dom); len(rows) != 0 || !strings.Contains(dom, "No kernel matches “6.1.0-99”") {
		t.Errorf("?q=6.1.0-99 (no such kernel): %d rows", len(rows))
	}
	dom = string(chromium(t, "--dump-dom", pageURL(base, "debian 6.1.192")))
	if rows := resultRows(dom); len(rows) != 6 { // the 6.1.192-3 kernels: the cloud one and the plain one, 3 rows each
		t.Errorf("?q=debian 6.1.192: rows %v", rows)
	}
}

// The screenshot shows the rows: result rows have a background colour of
// their own (finder.css: published #d9f2d9, failed #f9d0d0).
func TestFinderScreenshot(t *testing.T) {
	site, status := finderFixture(t)
	_, base := finderSite(t, site, status)
	green, red := color.RGBA{0xd9, 0xf2, 0xd9, 0xff}, color.RGBA{0xf9, 0xd0, 0xd0, 0xff}
	shot := func(q string) []byte {
		file := t.TempDir() + "/shot.png"
		chromium(t, "--screenshot="+file, "--window-size=1400,900", pageURL(base, q))
		return readFile(t, file)
	}
	png := shot("6.1.0-57-amd64") // two published modules, a failed probe
	g, r := countColor(t, png, green), countColor(t, png, red)
	t.Logf("?q=6.1.0-57-amd64: %d published-row pixels, %d failed-row pixels", g, r)
	if g < 2*20000 || r < 20000 {
		t.Errorf("the screenshot shows %d published-row and %d failed-row pixels: the rows are not on screen", g, r)
	}
	png = shot("no-such-kernel")
	if g, r := countColor(t, png, green), countColor(t, png, red); g != 0 || r != 0 {
		t.Errorf("the screenshot of a query matching nothing has %d green and %d red pixels", g, r)
	}
}

// Without JavaScript the page is a plain listing: every folder links its
// SHA256SUMS (and status.json where runs recorded statuses). Headless
// chromium dumps nothing with --blink-settings=scriptEnabled=false (its
// --dump-dom needs script), so the server forbids the page every script
// with a Content-Security-Policy instead: the DOM is dumped from outside
// the page, and the page's own scripts, inline or not, never run.
func TestFinderWithoutJavaScript(t *testing.T) {
	site, status := finderFixture(t)
	root := t.TempDir()
	if err := writeSite(t.Context(), NewDir(root), site, status); err != nil {
		t.Fatal(err)
	}
	files := http.FileServer(http.Dir(root))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "script-src 'none'")
		files.ServeHTTP(w, r)
	}))
	defer srv.Close()
	dom := string(chromium(t, "--dump-dom", pageURL(srv.URL, "6.1.0-57-amd64")))
	for _, p := range site.Prefixes {
		if want := `<a href="` + link(p.DriverVersion, p.Arch, config.SumsFile) + `">SHA256SUMS</a>`; !strings.Contains(dom, want) {
			t.Errorf("the page without JavaScript lacks %s", want)
		}
	}
	if !strings.Contains(dom, `<a href="9.1.0%2Bdriver/x86_64/status.json">status.json</a>`) || !strings.Contains(dom, `<table id="coverage">`) {
		t.Error("the page without JavaScript lacks the status.json link or the coverage")
	}
	if rows := resultRows(dom); len(rows) != 0 || strings.Contains(dom, `data-state="done"`) || !strings.Contains(dom, `<details id="coverage-box" open="">`) {
		t.Errorf("scripts ran: %d rows", len(rows))
	}
}

// The page's Content-Security-Policy lets its own scripts run and no
// other: a script that reached the page (here added to it) does not run.
func TestFinderPolicyBlocksOtherScripts(t *testing.T) {
	site, status := finderFixture(t)
	root, base := finderSite(t, site, status)
	page := filepath.Join(root, "driver", "index.html")
	html := strings.Replace(string(readFile(t, page)), "</body>", `<script>document.title="injected"</script><img src="https://example.invalid/x.png"></body>`, 1)
	if err := os.WriteFile(page, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := string(chromium(t, "--dump-dom", pageURL(base, "6.1.0-57-amd64")))
	if !strings.Contains(dom, "<title>Falco drivers</title>") {
		t.Error("an inline script the policy does not list ran")
	}
	if rows := resultRows(dom); len(rows) != 3 {
		t.Errorf("the page's own scripts did not run: %d rows", len(rows))
	}
}

// Typing a query searches after a short pause and puts it in the address
// (?q=), so the address can be shared. A script beside the page (allowed
// by its policy, as data files are) types into the box; chromium runs the
// page's timers within a virtual time budget.
func TestFinderTypingUpdatesTheAddress(t *testing.T) {
	site, status := finderFixture(t)
	root, base := finderSite(t, site, status)
	typing := `const q = document.getElementById("q");
q.value = "6.1.0-57-cloud-amd64";
q.dispatchEvent(new Event("input"));
setTimeout(() => { document.body.dataset.address = location.search; }, 1000);
`
	dir := filepath.Join(root, "driver")
	if err := os.WriteFile(filepath.Join(dir, "typing.js"), []byte(typing), 0o644); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir, "index.html")
	html := strings.Replace(string(readFile(t, page)), "</body>", `<script src="typing.js"></script></body>`, 1)
	if err := os.WriteFile(page, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := string(chromium(t, "--virtual-time-budget=5000", "--dump-dom", base+"/driver/index.html"))
	if !strings.Contains(dom, `data-address="?q=6.1.0-57-cloud-amd64"`) {
		t.Errorf("the address was not updated: %.300s", dom[strings.Index(dom, "<body"):])
	}
	want := wantRows(site, status, heldClass, "falco_debian_6.1.192-3-cloud-amd64_1")
	equalRows(t, "typed 6.1.0-57-cloud-amd64", resultRows(dom), want)
}

// A data file that cannot be loaded is said, not silently left out.
func TestFinderSaysWhenAFolderIsMissing(t *testing.T) {
	site, status := finderFixture(t)
	root, base := finderSite(t, site, status)
	if err := os.Remove(filepath.Join(root, "driver", "finder-9.1.0.driver_x86_64.js")); err != nil {
		t.Fatal(err)
	}
	dom := string(chromium(t, "--dump-dom", pageURL(base, "6.1.0-57-amd64")))
	if rows := resultRows(dom); len(rows) != 1 || !strings.Contains(dom, "1 driver version folder(s) could not be loaded") {
		t.Errorf("with a data file missing: %d rows, no warning", len(rows))
	}
}

// The URL falcoctl failed to download, pasted whole, finds its kernel.
func TestFinderFindsAPastedURL(t *testing.T) {
	site, status := finderFixture(t)
	_, base := finderSite(t, site, status)
	dom := string(chromium(t, "--dump-dom", pageURL(base, "https://download.falco.org/driver/9.1.0%2Bdriver/x86_64/falco_debian_6.1.192-3-cloud-amd64_1.o")))
	equalRows(t, "a pasted URL", resultRows(dom), wantRows(site, status, heldClass, "falco_debian_6.1.192-3-cloud-amd64_1"))
}
