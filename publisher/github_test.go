package publisher

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
	"github.com/falcosecurity/dbg/publisher/ghtest"
	"golang.org/x/sync/errgroup"
)

var ghTestPrefix = Prefix{DriverVersion: "10.0.0+driver", Arch: "x86_64"}

// newGitHubTest returns a target on the fake s, with fast retries.
func newGitHubTest(t *testing.T, s *ghtest.Server, edit ...func(*GitHubOptions)) *GitHub {
	t.Helper()
	opts := GitHubOptions{APIURL: s.API.URL, UploadURL: s.Uploads.URL, Token: s.Token, Backoff: time.Millisecond}
	for _, e := range edit {
		e(&opts)
	}
	g, err := NewGitHub(s.Owner, s.Repo, opts)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// ghArtifacts writes one file per name (its bytes: the name, plus extra).
func ghArtifacts(t *testing.T, p Prefix, extra string, files ...string) []Artifact {
	t.Helper()
	dir := t.TempDir()
	out := make([]Artifact, len(files))
	for i, f := range files {
		data := []byte(f + extra)
		path := filepath.Join(dir, fmt.Sprintf("%d%s", i, filepath.Ext(f)))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		out[i] = Artifact{Prefix: p, File: f, Path: path, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out
}

// ghNames returns n artifact names that sort as they are numbered.
func ghNames(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("falco_%s_%04d_1.ko", prefix, i)
	}
	return out
}

// ghPutAll plans as, then puts them 8 at a time.
func ghPutAll(t *testing.T, g *GitHub, as []Artifact, replace bool) {
	t.Helper()
	if err := g.Plan(t.Context(), as); err != nil {
		t.Fatal(err)
	}
	var eg errgroup.Group
	eg.SetLimit(8)
	for _, a := range as {
		eg.Go(func() error { return g.Put(t.Context(), a, replace) })
	}
	if err := eg.Wait(); err != nil {
		t.Fatal(err)
	}
}

// ghPublish puts as then writes the index from a List, as Publish and Index do.
func ghPublish(t *testing.T, g *GitHub, p Prefix, as []Artifact) []Object {
	t.Helper()
	ghPutAll(t, g, as, false)
	objs, err := g.List(t.Context(), p, Verify)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.WriteIndex(t.Context(), p, objs); err != nil {
		t.Fatal(err)
	}
	return objs
}

func ghObjects(as []Artifact) []Object {
	out := make([]Object, len(as))
	for i, a := range as {
		out[i] = Object{File: a.File, SHA256: a.SHA256, Size: a.Size}
	}
	return out
}

func ghStrip(objs []Object) []Object {
	out := make([]Object, len(objs))
	for i, o := range objs {
		out[i] = Object{File: o.File, SHA256: o.SHA256, Size: o.Size}
	}
	return out
}

func ghEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// ghCheckRelease checks a release's assets: the artifacts of as (safe names,
// labels, media type, bytes), its SHA256SUMS (with sha256sum -c when
// installed) and its index.json.
func ghCheckRelease(t *testing.T, s *ghtest.Server, tag string, as []Artifact) {
	t.Helper()
	byLabel := map[string]ghtest.Asset{}
	var sums, index, prov ghtest.Asset
	for _, a := range s.Assets(tag) {
		switch a.Name {
		case config.SumsFile:
			sums = a
		case ghIndexAsset:
			index = a
		case grid.ProvenanceFile:
			prov = a
		default:
			byLabel[a.Label] = a
		}
		if a.State != "uploaded" {
			t.Errorf("%s: asset %s in state %s", tag, a.Name, a.State)
		}
	}
	if len(byLabel) != len(as) {
		t.Errorf("%s: %d artifact assets, want %d", tag, len(byLabel), len(as))
	}
	ghCheckProvenance(t, tag, prov, byLabel)
	var wantSums strings.Builder
	entries := map[string]ghIndexEntry{}
	for _, a := range as {
		got, ok := byLabel[a.File]
		switch {
		case !ok:
			t.Errorf("%s: no asset labelled %s", tag, a.File)
			continue
		case got.Name != ghtest.SafeName(got.Name):
			t.Errorf("%s: asset name %q for %s", tag, got.Name, a.File)
		case got.ContentType != "application/octet-stream":
			t.Errorf("%s: %s uploaded as %s", tag, got.Name, got.ContentType)
		case got.SHA256 != a.SHA256:
			t.Errorf("%s: %s holds other bytes", tag, got.Name)
		}
		entries[a.File] = ghIndexEntry{Release: tag, Asset: got.Name, SHA256: a.SHA256, Size: a.Size}
	}
	var lines []string
	for _, e := range entries {
		lines = append(lines, e.SHA256+"  "+e.Asset+"\n")
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i][66:] < lines[j][66:] })
	wantSums.WriteString(strings.Join(lines, ""))
	if string(sums.Data) != wantSums.String() {
		t.Errorf("%s: SHA256SUMS:\n%s\nwant\n%s", tag, sums.Data, wantSums.String())
	}
	var gotIndex map[string]ghIndexEntry
	if err := json.Unmarshal(index.Data, &gotIndex); err != nil {
		t.Errorf("%s: index.json: %v", tag, err)
	}
	ghEqual(t, tag+": index.json", gotIndex, entries)
	ghSHA256SumCheck(t, s, tag)
}

// ghSHA256SumCheck runs sha256sum -c on a download of the release's assets.
func ghSHA256SumCheck(t *testing.T, s *ghtest.Server, tag string) {
	t.Helper()
	if _, err := exec.LookPath("sha256sum"); err != nil {
		return
	}
	dir := t.TempDir()
	for _, a := range s.Assets(tag) {
		if err := os.WriteFile(filepath.Join(dir, a.Name), a.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("sha256sum", "-c", "--strict", config.SumsFile)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s: sha256sum -c: %v\n%s", tag, err, out)
	}
}

func ghDrafts(s *ghtest.Server) map[string]bool {
	out := map[string]bool{}
	for _, r := range s.Releases() {
		out[r.Tag] = r.Draft
	}
	return out
}

func TestGitHubPublish(t *testing.T) {
	s := ghtest.New(t)
	g := newGitHubTest(t, s)
	if got := g.String(); got != "github://falcosecurity/drivers" {
		t.Errorf("String() = %q", got)
	}
	as := ghArtifacts(t, ghTestPrefix, "",
		"falco_cos_6.1.58+_1.ko",
		"falco_ubuntu-generic_5.15.0-91-generic_101~20.04.1.ko",
		"falco_debian_6.1.170-3-amd64_1.ko",
		"falco_debian_6.1.170-3-amd64_1.o",
		"falco_bottlerocket_5.10.1_1_1.15.1-abc (x):y.ko",
	)
	ghPutAll(t, g, as, false)
	ghEqual(t, "releases after Put", ghDrafts(s), map[string]bool{"10.0.0+driver_x86_64": true})
	if n := s.Requests("POST releases"); n != 1 {
		t.Errorf("%d releases created, want 1", n)
	}
	objs, err := g.List(t.Context(), ghTestPrefix, Digests)
	if err != nil {
		t.Fatal(err)
	}
	ghEqual(t, "List before the index", ghStrip(objs), ghObjects(as))
	if err := g.WriteIndex(t.Context(), ghTestPrefix, objs); err != nil {
		t.Fatal(err)
	}
	ghEqual(t, "releases after WriteIndex", ghDrafts(s), map[string]bool{"10.0.0+driver_x86_64": false})
	ghCheckRelease(t, s, "10.0.0+driver_x86_64", as)

	// Listing trusts the index: one download (index.json), no hashing;
	// verify downloads every artifact.
	before := s.Requests("GET storage")
	objs, err = g.List(t.Context(), ghTestPrefix, Digests)
	if err != nil {
		t.Fatal(err)
	}
	ghEqual(t, "List from the index", ghStrip(objs), ghObjects(as))
	if n := s.Requests("GET storage") - before; n != 1 {
		t.Errorf("List without verify downloaded %d assets, want 1 (index.json)", n)
	}
	want := s.API.URL + "/falcosecurity/drivers/releases/download/10.0.0%2Bdriver_x86_64/falco_cos_6.1.58._1.ko"
	if loc := objs[1].Location; loc != want {
		t.Errorf("Location = %s, want %s", loc, want)
	}
	names := map[string]string{}
	for _, a := range s.Assets("10.0.0+driver_x86_64") {
		names[a.Label] = a.Name
	}
	ghEqual(t, "asset names", names, map[string]string{
		"falco_bottlerocket_5.10.1_1_1.15.1-abc (x):y.ko":       "falco_bottlerocket_5.10.1_1_1.15.1-abc..x..y.ko",
		"falco_cos_6.1.58+_1.ko":                                "falco_cos_6.1.58._1.ko",
		"falco_debian_6.1.170-3-amd64_1.ko":                     "falco_debian_6.1.170-3-amd64_1.ko",
		"falco_debian_6.1.170-3-amd64_1.o":                      "falco_debian_6.1.170-3-amd64_1.o",
		"falco_ubuntu-generic_5.15.0-91-generic_101~20.04.1.ko": "falco_ubuntu-generic_5.15.0-91-generic_101.20.04.1.ko",
		config.SumsFile: config.SumsFile,
		ghIndexAsset:    ghIndexAsset,
	})
	before = s.Requests("GET storage")
	if _, err := g.List(t.Context(), ghTestPrefix, Verify); err != nil {
		t.Fatal(err)
	}
	if n := s.Requests("GET storage") - before; n != len(as) {
		t.Errorf("List with verify downloaded %d assets, want %d", n, len(as))
	}
	ps, err := g.Prefixes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ghEqual(t, "Prefixes", ps, []Prefix{ghTestPrefix})

	// An unchanged index is not uploaded again.
	uploads := s.Requests("POST upload")
	if err := g.WriteIndex(t.Context(), ghTestPrefix, objs); err != nil {
		t.Fatal(err)
	}
	if n := s.Requests("POST upload") - uploads; n != 0 {
		t.Errorf("unchanged index: %d uploads", n)
	}
}

func TestGitHubRerun(t *testing.T) {
	s := ghtest.New(t)
	as := ghArtifacts(t, ghTestPrefix, "", "falco_a_1_1.ko", "falco_b~1_1.ko", "falco_c_1_1.o")
	ghPublish(t, newGitHubTest(t, s), ghTestPrefix, as)

	// A new run (nothing cached) sees every artifact, so the caller skips them.
	g := newGitHubTest(t, s)
	objs, err := g.List(t.Context(), ghTestPrefix, Digests)
	if err != nil {
		t.Fatal(err)
	}
	ghEqual(t, "List", ghStrip(objs), ghObjects(as))
	if err := g.Put(t.Context(), as[1], false); !errors.Is(err, ErrExists) {
		t.Fatalf("Put of a published artifact: %v, want ErrExists", err)
	}

	// replace deletes the asset and uploads the new bytes under the same name.
	deletes, uploads := s.Requests("DELETE asset"), s.Requests("POST upload")
	changed := ghArtifacts(t, ghTestPrefix, "rebuilt", as[1].File)[0]
	if err := g.Put(t.Context(), changed, true); err != nil {
		t.Fatal(err)
	}
	if d, u := s.Requests("DELETE asset")-deletes, s.Requests("POST upload")-uploads; d != 1 || u != 1 {
		t.Errorf("replace: %d deletes and %d uploads, want 1 and 1", d, u)
	}
	as[1] = changed
	objs, err = g.List(t.Context(), ghTestPrefix, Verify)
	if err != nil {
		t.Fatal(err)
	}
	ghEqual(t, "List after replace", ghStrip(objs), ghObjects(as))
	if err := g.WriteIndex(t.Context(), ghTestPrefix, objs); err != nil {
		t.Fatal(err)
	}
	ghCheckRelease(t, s, "10.0.0+driver_x86_64", as)
}

func TestGitHubOverflow(t *testing.T) {
	const limit = 13 // 8 artifacts a release, beside 5 slots of its own
	s := ghtest.New(t)
	s.SetAssetLimit(limit)
	small := func(o *GitHubOptions) { o.Concurrency = 3 }
	g := newGitHubTest(t, s, small)
	g.maxAssets = limit
	first := ghArtifacts(t, ghTestPrefix, "", ghNames("a", 11)...)
	ghPublish(t, g, ghTestPrefix, first)
	ghEqual(t, "releases", ghDrafts(s), map[string]bool{"10.0.0+driver_x86_64": false, "10.0.0+driver_x86_64_2": false})
	ghCheckRelease(t, s, "10.0.0+driver_x86_64", first[:8])
	ghCheckRelease(t, s, "10.0.0+driver_x86_64_2", first[8:])

	// Published artifacts stay; a new one fills the lowest release with room,
	// here _2 although it sorts first; a draft _3 opens when _2 is full.
	g = newGitHubTest(t, s, small)
	g.maxAssets = limit
	more := ghArtifacts(t, ghTestPrefix, "", append(ghNames("0", 5), ghNames("b", 1)...)...)
	ghPutAll(t, g, more, false)
	ghEqual(t, "releases", ghDrafts(s), map[string]bool{
		"10.0.0+driver_x86_64": false, "10.0.0+driver_x86_64_2": false, "10.0.0+driver_x86_64_3": true,
	})
	objs, err := g.List(t.Context(), ghTestPrefix, Digests)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.WriteIndex(t.Context(), ghTestPrefix, objs); err != nil {
		t.Fatal(err)
	}
	ghCheckRelease(t, s, "10.0.0+driver_x86_64", first[:8])
	ghCheckRelease(t, s, "10.0.0+driver_x86_64_2", append(first[8:], more[:5]...))
	ghCheckRelease(t, s, "10.0.0+driver_x86_64_3", more[5:])

	// A slot freed in the first release is the next one filled.
	if err := g.Delete(t.Context(), ghTestPrefix, first[0].File); err != nil {
		t.Fatal(err)
	}
	last := ghArtifacts(t, ghTestPrefix, "", "falco_z_1_1.ko")
	ghPutAll(t, g, last, false)
	for _, a := range s.Assets("10.0.0+driver_x86_64") {
		if a.Label == first[0].File {
			t.Errorf("deleted %s is still there", a.Label)
		}
	}
	labels := map[string]bool{}
	for _, a := range s.Assets("10.0.0+driver_x86_64") {
		labels[a.Label] = true
	}
	if len(labels) != 8+2 || !labels[last[0].File] { // 8 artifacts, SHA256SUMS, index.json (no provenance, no bundles here)
		t.Errorf("first release after delete and put: %d assets, %s in it: %v", len(labels), last[0].File, labels[last[0].File])
	}
}

func TestGitHubOverflowAt1000(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 999 assets")
	}
	s := ghtest.New(t)
	g := newGitHubTest(t, s, func(o *GitHubOptions) { o.Concurrency = 8 })
	as := ghArtifacts(t, ghTestPrefix, "", ghNames("n", 998)...)
	ghPublish(t, g, ghTestPrefix, as)
	// 995 artifacts, SHA256SUMS and index.json: slots stay for the
	// provenance and the signature bundles.
	if n := len(s.Assets("10.0.0+driver_x86_64")); n != 997 {
		t.Errorf("first release has %d assets, want 997", n)
	}
	ghCheckRelease(t, s, "10.0.0+driver_x86_64_2", as[995:])
	for _, a := range s.Assets("10.0.0+driver_x86_64_2") {
		if a.Label == as[994].File {
			t.Errorf("%s in the second release", a.Label)
		}
	}
}

func TestGitHubNameCollision(t *testing.T) {
	s := ghtest.New(t)
	g := newGitHubTest(t, s)
	// All three are falco_a.b_1.ko once made safe; '+' < '.' < '~'.
	as := ghArtifacts(t, ghTestPrefix, "", "falco_a~b_1.ko", "falco_a.b_1.ko", "falco_a+b_1.ko")
	ghPublish(t, g, ghTestPrefix, as)
	got := map[string]string{}
	for _, a := range s.Assets("10.0.0+driver_x86_64") {
		got[a.Label] = a.Name
	}
	ghEqual(t, "asset names", got, map[string]string{
		"falco_a+b_1.ko": "falco_a.b_1.ko",
		"falco_a.b_1.ko": strings.TrimSuffix(ghAltName("falco_a.b_1.ko"), ".ko") + ".ko",
		"falco_a~b_1.ko": ghAltName("falco_a~b_1.ko"),
		config.SumsFile:  config.SumsFile,
		ghIndexAsset:     ghIndexAsset,
	})
	sum := sha256.Sum256([]byte("falco_a~b_1.ko"))
	if want := "falco_a.b_1." + hex.EncodeToString(sum[:4]) + ".ko"; got["falco_a~b_1.ko"] != want {
		t.Errorf("alternative name %s, want %s", got["falco_a~b_1.ko"], want)
	}
	ghCheckRelease(t, s, "10.0.0+driver_x86_64", as)
}

func TestGitHubRecordsReturnedName(t *testing.T) {
	s := ghtest.New(t)
	s.SetRename(func(name string) string { return strings.ReplaceAll(ghtest.SafeName(name), "-", ".") })
	g := newGitHubTest(t, s)
	as := ghArtifacts(t, ghTestPrefix, "", "falco_ubuntu-generic_5.15.0-91-generic_101~20.04.1.ko")
	ghPublish(t, g, ghTestPrefix, as)
	ghCheckRelease(t, s, "10.0.0+driver_x86_64", as)
	for _, a := range s.Assets("10.0.0+driver_x86_64") {
		if a.Label == as[0].File && a.Name != "falco_ubuntu.generic_5.15.0.91.generic_101.20.04.1.ko" {
			t.Errorf("asset name %s", a.Name)
		}
	}
	objs, err := newGitHubTest(t, s).List(t.Context(), ghTestPrefix, Digests)
	if err != nil {
		t.Fatal(err)
	}
	ghEqual(t, "List", ghStrip(objs), ghObjects(as))
}

func TestGitHubStarter(t *testing.T) {
	s := ghtest.New(t)
	as := ghArtifacts(t, ghTestPrefix, "", "falco_a_1_1.ko", "falco_b+1_1.ko")
	s.LeaveStarter("falco_b.1_1.ko")
	g := newGitHubTest(t, s, func(o *GitHubOptions) { o.Retries = -1 })
	if err := g.Put(t.Context(), as[0], false); err != nil {
		t.Fatal(err)
	}
	if err := g.Put(t.Context(), as[1], false); err == nil {
		t.Fatal("Put of an interrupted upload succeeded")
	}
	states := map[string]string{}
	for _, a := range s.Assets("10.0.0+driver_x86_64") {
		states[a.Label] = a.State
	}
	ghEqual(t, "states", states, map[string]string{"falco_a_1_1.ko": "uploaded", "falco_b+1_1.ko": "starter"})

	// The starter is not published, and the next run clears it and uploads.
	g = newGitHubTest(t, s)
	objs, err := g.List(t.Context(), ghTestPrefix, Digests)
	if err != nil {
		t.Fatal(err)
	}
	ghEqual(t, "List with a starter", ghStrip(objs), ghObjects(as[:1]))
	if err := g.Put(t.Context(), as[1], false); err != nil {
		t.Fatal(err)
	}
	if err := g.WriteIndex(t.Context(), ghTestPrefix, ghObjects(as)); err != nil {
		t.Fatal(err)
	}
	ghCheckRelease(t, s, "10.0.0+driver_x86_64", as)
}

func TestGitHubStarterRetried(t *testing.T) {
	s := ghtest.New(t)
	as := ghArtifacts(t, ghTestPrefix, "", "falco_a_1_1.ko")
	s.LeaveStarter("falco_a_1_1.ko")
	ghPublish(t, newGitHubTest(t, s), ghTestPrefix, as)
	ghCheckRelease(t, s, "10.0.0+driver_x86_64", as)
}

func TestGitHubRetries(t *testing.T) {
	for _, tc := range []struct {
		name       string
		n, status  int
		retryAfter string
		minWait    time.Duration
	}{
		{"429 with Retry-After", 1, 429, "1", time.Second},
		{"403 secondary rate limit", 2, 403, "", 0},
		{"403 with Retry-After", 1, 403, "0", 0},
		{"502", 3, 502, "", 0},
		{"connection dropped", 2, 0, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := ghtest.New(t)
			g := newGitHubTest(t, s)
			as := ghArtifacts(t, ghTestPrefix, "", "falco_a_1_1.ko", "falco_b_1_1.ko")
			if err := g.Put(t.Context(), as[0], false); err != nil {
				t.Fatal(err)
			}
			s.FailNext(tc.n, tc.status, tc.retryAfter)
			start := time.Now()
			if err := g.Put(t.Context(), as[1], false); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d < tc.minWait {
				t.Errorf("retried after %v, before Retry-After", d)
			}
			s.FailNext(tc.n, tc.status, tc.retryAfter)
			objs, err := g.List(t.Context(), ghTestPrefix, Verify)
			if err != nil {
				t.Fatal(err)
			}
			ghEqual(t, "List", ghStrip(objs), ghObjects(as))
			if got := s.Requests("fault"); got != 2*tc.n {
				t.Errorf("%d faults served, want %d", got, 2*tc.n)
			}
		})
	}
}

func TestGitHubFinalErrors(t *testing.T) {
	s := ghtest.New(t)
	g := newGitHubTest(t, s)
	as := ghArtifacts(t, ghTestPrefix, "", "falco_a_1_1.ko")
	ghPublish(t, g, ghTestPrefix, as)
	for _, status := range []int{400, 404, 422} {
		s.FailNext(1, status, "")
		if _, err := g.List(t.Context(), ghTestPrefix, Verify); err == nil || !strings.Contains(err.Error(), fmt.Sprint(status)) {
			t.Errorf("List answered %d: %v", status, err)
		}
	}
	// A plain 403 (a permission refused, not a rate limit) is final too.
	s.FailNextPlain(1, 403)
	if _, err := g.List(t.Context(), ghTestPrefix, Verify); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("List answered a plain 403: %v", err)
	}
	if n := s.Requests("fault"); n != 4 {
		t.Errorf("%d requests failed, want 4 (no retry)", n)
	}
	// Retries run out: a rate-limited listing is an error, never "missing",
	// after exactly 1 + Retries attempts (one more would get an answer).
	const retries = 3
	limited := newGitHubTest(t, s, func(o *GitHubOptions) { o.Retries = retries })
	before := s.Requests("fault")
	s.FailNext(retries+1, 403, "")
	if objs, err := limited.List(t.Context(), ghTestPrefix, Digests); err == nil {
		t.Errorf("List through rate limits: %v, no error", objs)
	}
	if n := s.Requests("fault") - before; n != retries+1 {
		t.Errorf("rate-limited List sent %d requests, want %d (1 + %d retries)", n, retries+1, retries)
	}
	// A file changed since it was hashed is refused.
	if err := os.WriteFile(as[0].Path, []byte("other"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := g.Put(t.Context(), as[0], true); err == nil || !strings.Contains(err.Error(), "changed") {
		t.Errorf("Put of a changed file: %v", err)
	}
}

func TestGitHubPreflight(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*ghtest.Server, *GitHubOptions, *string)
		want  string
	}{
		{"ok", func(*ghtest.Server, *GitHubOptions, *string) {}, ""},
		{"bad token", func(s *ghtest.Server, o *GitHubOptions, _ *string) { s.ExpectBadToken(); o.Token = "wrong" }, "token was rejected (401"},
		{"no token", func(_ *ghtest.Server, o *GitHubOptions, _ *string) { o.Token = "" }, "no token"},
		{"no repository", func(_ *ghtest.Server, _ *GitHubOptions, repo *string) { *repo = "nope" }, "repository not found"},
		{"no push", func(s *ghtest.Server, _ *GitHubOptions, _ *string) { s.SetPush(false) }, "no push permission"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := ghtest.New(t)
			opts := GitHubOptions{APIURL: s.API.URL, UploadURL: s.Uploads.URL, Token: s.Token, Backoff: time.Millisecond}
			repo := s.Repo
			tc.setup(s, &opts, &repo)
			g, err := NewGitHub(s.Owner, repo, opts)
			if err != nil {
				t.Fatal(err)
			}
			err = g.Preflight(t.Context())
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Preflight: %v, want %q", err, tc.want)
			case err != nil && strings.Contains(err.Error(), s.Token):
				t.Fatalf("the token is in the error: %v", err)
			}
		})
	}
}

func TestGitHubPagination(t *testing.T) {
	s := ghtest.New(t)
	arm := Prefix{DriverVersion: "9.1.0+driver", Arch: "aarch64"}
	for i := range 140 {
		s.AddRelease(fmt.Sprintf("v0.%d.0", i), false) // not driver releases
	}
	s.AddRelease("9.1.0+driver_aarch64", false)
	s.AddRelease("10.0.0+driver_x86_64", true)
	var want []Object
	for i, f := range ghNames("p", 250) {
		data := []byte(f)
		sum := sha256.Sum256(data)
		s.AddAsset("9.1.0+driver_aarch64", config.AssetName(f), f, data, "uploaded")
		want = append(want, Object{File: f, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))})
		if i == 7 {
			s.AddAsset("9.1.0+driver_aarch64", "README.md", "", []byte("not a driver"), "uploaded")
		}
	}
	g := newGitHubTest(t, s)
	ps, err := g.Prefixes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ghEqual(t, "Prefixes", ps, []Prefix{ghTestPrefix, arm})
	if n := s.Requests("GET releases"); n != 2 {
		t.Errorf("%d pages of releases, want 2", n)
	}
	objs, err := g.List(t.Context(), arm, Digests)
	if err != nil {
		t.Fatal(err)
	}
	ghEqual(t, "List", ghStrip(objs), want)
	if n := s.Requests("GET assets"); n != 3 {
		t.Errorf("%d pages of assets, want 3", n)
	}
}

func TestGitHubDelete(t *testing.T) {
	s := ghtest.New(t)
	g := newGitHubTest(t, s)
	as := ghArtifacts(t, ghTestPrefix, "", "falco_a_1_1.ko", "falco_b~1_1.ko")
	ghPublish(t, g, ghTestPrefix, as)
	if err := g.Delete(t.Context(), ghTestPrefix, as[1].File); err != nil {
		t.Fatal(err)
	}
	if err := g.Delete(t.Context(), ghTestPrefix, "falco_none_1_1.ko"); err != nil {
		t.Fatal(err)
	}
	objs, err := g.List(t.Context(), ghTestPrefix, Verify)
	if err != nil {
		t.Fatal(err)
	}
	ghEqual(t, "List", ghStrip(objs), ghObjects(as[:1]))
	if err := g.WriteIndex(t.Context(), ghTestPrefix, objs); err != nil {
		t.Fatal(err)
	}
	ghCheckRelease(t, s, "10.0.0+driver_x86_64", as[:1])
	if err := g.WriteIndex(t.Context(), ghTestPrefix, ghObjects(as)); err == nil {
		t.Error("WriteIndex of a deleted file succeeded")
	}
	// An emptied release keeps an empty index.json and no SHA256SUMS.
	if err := g.Delete(t.Context(), ghTestPrefix, as[0].File); err != nil {
		t.Fatal(err)
	}
	if err := g.WriteIndex(t.Context(), ghTestPrefix, nil); err != nil {
		t.Fatal(err)
	}
	assets := s.Assets("10.0.0+driver_x86_64")
	if len(assets) != 1 || assets[0].Name != ghIndexAsset || string(assets[0].Data) != "{}\n" {
		t.Errorf("emptied release: %+v", assets)
	}
}

func TestGitHubTags(t *testing.T) {
	for _, tc := range []struct {
		tag string
		p   Prefix
		n   int
	}{
		{"10.0.0+driver_x86_64", Prefix{"10.0.0+driver", "x86_64"}, 1},
		{"10.0.0+driver_x86_64_2", Prefix{"10.0.0+driver", "x86_64"}, 2},
		{"9.1.0+driver_aarch64_64", Prefix{"9.1.0+driver", "aarch64"}, 64},
		{"10.0.0+driver_x86_64_1", Prefix{}, 0},
		{"10.0.0+driver_x86_64_02", Prefix{}, 0},
		{"10.0.0+driver_riscv64", Prefix{}, 0},
		{"_x86_64", Prefix{}, 0},
		{"v1.2.3", Prefix{}, 0},
	} {
		p, n, ok := parseGHTag(tc.tag)
		if p != tc.p || n != tc.n || ok != (tc.n > 0) {
			t.Errorf("parseGHTag(%q) = %v, %d, %v", tc.tag, p, n, ok)
		}
		if ok && ghTag(p, n) != tc.tag {
			t.Errorf("ghTag(%v, %d) = %q", p, n, ghTag(p, n))
		}
	}
	if err := ghCheckPrefix(Prefix{"10.0.0+driver", "amd64"}); err == nil {
		t.Error("arch amd64 accepted")
	}
	for file, want := range map[string]string{
		"falco_cos_6.1.58+_1.ko":                     "falco_cos_6.1.58._1.ko",
		"falco_ubuntu-aws_5.15.0_26~22.04.1.o":       "falco_ubuntu-aws_5.15.0_26.22.04.1.o",
		"falco_x_a b:c(d)é_1.ko":                     "falco_x_a.b.c.d.._1.ko",
		"falco_bottlerocket_5.10_1_1.15.1-abc_de.ko": "falco_bottlerocket_5.10_1_1.15.1-abc_de.ko",
	} {
		if got := config.AssetName(file); got != want || got != ghtest.SafeName(file) {
			t.Errorf("config.AssetName(%q) = %q, want %q", file, got, want)
		}
	}
}

// ghCheckProvenance checks that a release's provenance (when it has one)
// is about artifacts the release holds, with their digests.
func ghCheckProvenance(t *testing.T, tag string, prov ghtest.Asset, byLabel map[string]ghtest.Asset) {
	t.Helper()
	if prov.Name == "" {
		return
	}
	list, err := grid.ParseProvenance(prov.Data)
	if err != nil || len(list) == 0 {
		t.Fatalf("%s: %s: %v, %d statements", tag, grid.ProvenanceFile, err, len(list))
	}
	for _, st := range list {
		if a, ok := byLabel[st.SubjectName()]; !ok || a.SHA256 != st.SubjectSHA256() {
			t.Errorf("%s: provenance of %s (sha256 %s): the release holds %+v", tag, st.SubjectName(), st.SubjectSHA256(), a.SHA256)
		}
	}
}
