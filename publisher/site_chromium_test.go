package publisher

import (
	"bytes"
	"context"
	"html"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chromium runs Debian's chromium headless with a profile of its own and
// returns its stdout. The finder tests need it: it fails loudly when
// missing (make tools installs it).
func chromium(t testing.TB, args ...string) []byte {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("the driver finder tests need Debian's chromium (make tools installs it): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.Bytes())
	}
	return out
}

// finderSite writes the site into a folder target and serves the folder
// from loopback; it returns the folder and the server's URL.
func finderSite(t testing.TB, site *SiteIndex, status map[Prefix][]KernelStatus) (string, string) {
	t.Helper()
	root := t.TempDir()
	if err := writeSite(t.Context(), NewDir(root), site, status); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(root)))
	t.Cleanup(srv.Close)
	return root, srv.URL
}

// pageURL is driver/index.html?q=query under base (an http:// URL or a
// folder).
func pageURL(base, query string) string {
	if !strings.HasPrefix(base, "http") {
		base = "file://" + filepath.ToSlash(base)
	}
	return base + "/driver/index.html?q=" + url.QueryEscape(query)
}

// resultRow is one row of the finder's results, as the DOM holds it.
type resultRow struct{ class, driver, file string }

var (
	rowTag  = regexp.MustCompile(`<tr ([^>]*data-file=[^>]*)>`)
	rowAttr = regexp.MustCompile(`([a-z-]+)="([^"]*)"`)
	timing  = regexp.MustCompile(`<output id="timing"([^>]*)>`)
)

// resultRows are the result rows of a dumped DOM, sorted.
func resultRows(dom string) []resultRow {
	var rows []resultRow
	for _, m := range rowTag.FindAllStringSubmatch(dom, -1) {
		a := map[string]string{}
		for _, kv := range rowAttr.FindAllStringSubmatch(m[1], -1) {
			a[kv[1]] = html.UnescapeString(kv[2])
		}
		rows = append(rows, resultRow{a["class"], a["data-driver"], a["data-file"]})
	}
	sortRows(rows)
	return rows
}

func sortRows(rows []resultRow) {
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].driver != rows[j].driver {
			return rows[i].driver < rows[j].driver
		}
		return rows[i].file < rows[j].file
	})
}

// pageTiming is what the page wrote into <output id="timing">.
func pageTiming(t testing.TB, dom string) (state string, firstMs, doneMs float64) {
	t.Helper()
	m := timing.FindStringSubmatch(dom)
	if m == nil {
		t.Fatal("the page has no timing element")
	}
	a := map[string]string{}
	for _, kv := range rowAttr.FindAllStringSubmatch(m[1], -1) {
		a[kv[1]] = kv[2]
	}
	firstMs, _ = strconv.ParseFloat(a["data-first-ms"], 64)
	doneMs, _ = strconv.ParseFloat(a["data-done-ms"], 64)
	return a["data-state"], firstMs, doneMs
}

// wantRows are the rows the page must show for the kernels whose stems
// are given: one per kind of each folder holding or having tried one.
func wantRows(site *SiteIndex, status map[Prefix][]KernelStatus, class func(p PrefixIndex, file string) string, stems ...string) []resultRow {
	var rows []resultRow
	for _, p := range site.Prefixes {
		d := newFinderData(p, prefixKernels(p, status[Prefix{p.DriverVersion, p.Arch}]))
		for _, stem := range stems {
			if dataRow(d, stem) == nil {
				continue
			}
			for _, k := range d.Kinds {
				file := stem + map[string]string{"module": ".ko", "probe": ".o"}[k]
				rows = append(rows, resultRow{class(p, file), p.DriverVersion + "/" + p.Arch, file})
			}
		}
	}
	sortRows(rows)
	return rows
}

// heldClass is the row class of a file the fixture publishes or not.
func heldClass(p PrefixIndex, file string) string {
	for _, o := range p.Artifacts {
		if o.File == file {
			return "ok"
		}
	}
	return "missing"
}

func equalRows(t *testing.T, what string, got, want []resultRow) {
	t.Helper()
	if len(want) == 0 {
		t.Fatalf("%s: the test expects no rows", what)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d:\ngot  %v\nwant %v", what, len(got), len(want), got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%s: row %d is %v, want %v", what, i, got[i], want[i])
		}
	}
}

// countColor counts the pixels of exactly c in a PNG.
func countColor(t *testing.T, data []byte, c color.RGBA) int {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode the screenshot: %v", err)
	}
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.RGBAModel.Convert(img.At(x, y)).(color.RGBA) == c {
				n++
			}
		}
	}
	return n
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
