package publisher

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// readData decodes a finder data file.
func readData(t testing.TB, js []byte) finderData {
	t.Helper()
	body, ok := bytes.CutPrefix(js, []byte("dbgFinder.add("))
	body, ok2 := bytes.CutSuffix(body, []byte(");\n"))
	if !ok || !ok2 {
		t.Fatalf("data file is not one dbgFinder.add call: %.100s", js)
	}
	var d finderData
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// dataRow finds a stem's row.
func dataRow(d finderData, stem string) []any {
	for _, r := range d.Rows {
		if r[0] == stem {
			return r
		}
	}
	return nil
}

func TestWriteSiteFiles(t *testing.T) {
	site, status := finderFixture(t)
	var m memSite
	if err := writeSite(t.Context(), &m, site, status); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"index.json": "application/json", "index.html": "text/html; charset=utf-8",
		"finder-10.2.0.driver_aarch64.js": "text/javascript; charset=utf-8", "finder-10.2.0.driver_x86_64.js": "text/javascript; charset=utf-8",
		"finder-9.1.0.driver_aarch64.js": "text/javascript; charset=utf-8", "finder-9.1.0.driver_x86_64.js": "text/javascript; charset=utf-8",
	}
	if !reflect.DeepEqual(m.types, want) {
		t.Fatalf("site files %v, want %v", m.types, want)
	}
	var idx SiteIndex
	if err := json.Unmarshal(m.files["index.json"], &idx); err != nil || idx.Total != site.Total || len(idx.Prefixes) != 4 {
		t.Errorf("index.json: total %d, %d prefixes, %v", idx.Total, len(idx.Prefixes), err)
	}
	for name, js := range m.files {
		if strings.HasSuffix(name, ".js") && bytes.Contains(bytes.ToLower(js), []byte("</script")) {
			t.Errorf("%s holds a literal </script", name)
		}
	}
}

func TestFinderData(t *testing.T) {
	site, status := finderFixture(t)
	var m memSite
	if err := writeSite(t.Context(), &m, site, status); err != nil {
		t.Fatal(err)
	}
	arm := readData(t, m.files["finder-10.2.0.driver_aarch64.js"])
	if arm.DriverVersionURL != "10.2.0%2Bdriver" || arm.Arch != "aarch64" || !reflect.DeepEqual(arm.Kinds, []string{"module"}) {
		t.Errorf("10.2.0 aarch64: dv_url %q arch %q kinds %v", arm.DriverVersionURL, arm.Arch, arm.Kinds)
	}
	if n := len(site.Prefixes[0].Artifacts); len(arm.Rows) != n {
		t.Errorf("10.2.0 aarch64: %d rows, want one per module (%d)", len(arm.Rows), n)
	}
	deb := readData(t, m.files["finder-9.1.0.driver_x86_64.js"])
	if !reflect.DeepEqual(deb.Kinds, []string{"module", "probe"}) || len(deb.Rows) != 4 {
		t.Fatalf("9.1.0 x86_64: kinds %v, %d rows", deb.Kinds, len(deb.Rows))
	}
	r := dataRow(deb, "falco_debian_6.1.192-3-amd64_1")
	if r == nil || r[1] != "6.1.0-57-amd64" {
		t.Fatalf("the Debian row has no uname -r: %v", r)
	}
	mod, probe := r[2].([]any), r[3].([]any)
	if mod[1].(float64) != 4_123_456 || len(mod[0].(string)) != 64 || mod[2] != "built" {
		t.Errorf("published module cell %v", mod)
	}
	if probe[1].(float64) != -1 || probe[2] != "failed" || probe[3] != "clang exited 1" || probe[5] != "run-42" || probe[6] != "2026-11-30T10:00:00Z" {
		t.Errorf("failed probe cell %v", probe)
	}
	old := dataRow(deb, "falco_debian_4.9.320-2-amd64_1")
	if old == nil || old[2] != nil || old[3].([]any)[2] != "not_buildable" {
		t.Errorf("not buildable row %v", old)
	}
}

func TestFinderStaticPage(t *testing.T) {
	site, status := finderFixture(t)
	var m memSite
	if err := writeSite(t.Context(), &m, site, status); err != nil {
		t.Fatal(err)
	}
	page := string(m.files["index.html"])
	for _, want := range []string{
		`<a href="10.2.0%2Bdriver/aarch64/SHA256SUMS">SHA256SUMS</a>`,
		`<a href="9.1.0%2Bdriver/x86_64/SHA256SUMS">SHA256SUMS</a> · <a href="9.1.0%2Bdriver/x86_64/status.json">status.json</a>`,
		`<script src="finder-9.1.0.driver_x86_64.js"></script>`,
		// debian: the crawler's 2 arm64 kernels; in x86_64 the modules of
		// 6.1.192-3 and cloud, 6.12's failed module, and in 9.1.0 the
		// cloud probe, 6.1.192-3's failed probe, 4.9's not buildable one.
		`<a class="q" href="?q=debian">debian</a></th><td>2 ko</td><td>2 ko <span class="nfail">1 failed</span></td><td>2 ko · 2 o</td><td>2 ko · 1 o <span class="nfail">2 failed</span> <span class="nnb">1 not buildable</span></td>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("index.html lacks %s", want)
		}
	}
	if strings.Contains(page, `10.2.0%2Bdriver/aarch64/status.json`) {
		t.Error("index.html links a status.json for a prefix without statuses")
	}
	if strings.Contains(page, "<img") {
		t.Error("index.html holds an <img: a value reached it as HTML")
	}
}

func TestSiteRefusesOtherNames(t *testing.T) {
	var m memSite
	for _, name := range []string{"../x.js", "finder-a/b.js", "index.htm", "finder-a b.js"} {
		if err := putSite(t.Context(), &m, name, nil, ""); err == nil {
			t.Errorf("%q was written", name)
		}
	}
	names := dataNames([]PrefixIndex{{DriverVersion: "1.0.0+driver", Arch: "x86_64"}, {DriverVersion: "1.0.0.driver", Arch: "x86_64"}, {DriverVersion: "../../x y", Arch: "x86_64"}})
	if want := []string{"finder-1.0.0.driver_x86_64.js", "finder-1.0.0.driver_x86_64-2.js", "finder-......x.y_x86_64.js"}; !reflect.DeepEqual(names, want) {
		t.Errorf("data names %v, want %v", names, want)
	}
	for _, n := range names {
		if !siteName.MatchString(n) {
			t.Errorf("%q is not an allowed name", n)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 20104: "20,104", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// A driver version whose every build failed holds no artifact; its
// failures are on the page all the same.
func TestFinderShowsFoldersWithOnlyFailures(t *testing.T) {
	site, status := finderFixture(t)
	p := Prefix{"10.3.0+driver", "x86_64"}
	status[p] = []KernelStatus{{File: "falco_debian_6.1.192-3-amd64_1.ko", Target: "debian", KernelRelease: "6.1.192-3-amd64",
		KernelVersion: "1", Kind: "module", UnameR: "6.1.0-57-amd64", Status: "failed", Reason: "make exited 2", Run: "run-43", Time: finderTime}}
	var m memSite
	if err := writeSite(t.Context(), &m, site, status); err != nil {
		t.Fatal(err)
	}
	d := readData(t, m.files["finder-10.3.0.driver_x86_64.js"])
	if r := dataRow(d, "falco_debian_6.1.192-3-amd64_1"); r == nil || r[2].([]any)[2] != "failed" {
		t.Errorf("10.3.0+driver's data: %v", d.Rows)
	}
	page := string(m.files["index.html"])
	for _, want := range []string{`<strong>10.3.0&#43;driver / x86_64</strong>: 0 artifacts · <a href="10.3.0%2Bdriver/x86_64/status.json">status.json</a>`,
		`<script src="finder-10.3.0.driver_x86_64.js"></script>`} {
		if !strings.Contains(page, want) {
			t.Errorf("index.html lacks %s", want)
		}
	}
	if len(site.Prefixes) != 4 {
		t.Errorf("the site's own prefixes changed: %d", len(site.Prefixes))
	}
}
