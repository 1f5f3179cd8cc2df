package main

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
	"github.com/falcosecurity/dbg/publisher/ghtest"
	"github.com/falcosecurity/dbg/publisher/s3test"
)

// TestEndToEndRun is `dbg run` on the quickstart kernels to a real S3
// server (versitygw) and a fake of GitHub's Releases API: everything is
// published with verified digests, a second run builds and uploads
// nothing, and `dbg index` lists every artifact.
func TestEndToEndRun(t *testing.T) {
	lab, image, dir := startLab(t)
	s3 := s3test.Start(t)
	s3.CreateBucket(t, "drivers")
	s3.SetEnv(t)
	gh := ghtest.New(t)
	t.Setenv("GITHUB_TOKEN", gh.Token)
	out, cache := t.TempDir(), t.TempDir()
	run := func() (string, int) {
		stdout, stderr, code := dbg(t, "--config-dir", dir, "run", "--allow-private-urls", "--out", out, "--cache-dir", cache,
			"--builder-image", image, "--jobs", "2", "--to", "s3://drivers", "--s3-path-style",
			"--to", "github://"+gh.Owner+"/"+gh.Repo, "--github-api-url", gh.API.URL, "--github-upload-url", gh.Uploads.URL)
		if code != 0 {
			t.Fatalf("dbg run: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		return stdout, code
	}
	run()
	m := readManifest(t, out)
	objects := s3.Objects(t, "drivers")
	for _, b := range m.Builds {
		if b.Status != grid.Built {
			t.Fatalf("%s: %s %s", b.Key, b.Status, b.Reason)
		}
		sum := sha256.Sum256(objects[b.Key])
		if hex.EncodeToString(sum[:]) != b.SHA256 {
			t.Errorf("s3 %s: digest differs from the build's", b.Key)
		}
	}
	for _, dv := range lab.DriverVersions {
		sums := string(objects[config.ObjectKey(dv, config.AMD64, config.SumsFile)])
		if strings.Count(sums, "\n") != 12 {
			t.Errorf("s3 SHA256SUMS of %s:\n%s", dv, sums)
		}
		rel := gh.Assets(dv + "_x86_64")
		if len(rel) != 15 { // 12 artifacts, SHA256SUMS, index.json, provenance.intoto.jsonl
			t.Errorf("github release %s_x86_64 has %d assets", dv, len(rel))
		}
		list, err := grid.ParseProvenance(objects[config.ObjectKey(dv, config.AMD64, grid.ProvenanceFile)])
		if err != nil || len(list) != 12 {
			t.Errorf("s3 provenance of %s: %v, %d statements, want 12", dv, err, len(list))
		}
	}
	for _, r := range gh.Releases() {
		if r.Draft {
			t.Errorf("release %s left as a draft", r.Tag)
		}
	}

	s3.ResetRequests()
	uploads := gh.Requests("POST upload")
	stdout, _ := run()
	m = readManifest(t, out)
	t.Logf("second run: %d S3 requests", len(s3.Requests()))
	if m.Skipped != m.Total || m.Built != 0 {
		t.Errorf("second run built %d of %d:\n%s", m.Built, m.Total, stdout)
	}
	for _, r := range s3.Requests() {
		preflight := strings.Contains(r.Path, "/.dbg-preflight-") // the write test before any build
		if (r.Method == "PUT" || r.Method == "POST" || r.Method == "DELETE") && !preflight {
			t.Errorf("second run wrote to S3: %s %s", r.Method, r.Path)
		}
	}
	if n := gh.Requests("POST upload"); n != uploads {
		t.Errorf("second run uploaded %d assets to GitHub", n-uploads)
	}

	stdout, stderr, code := dbg(t, "index", "--to", "s3://drivers", "--s3-path-style")
	if code != 0 || !strings.Contains(stdout, "24 artifacts in 2 folders") {
		t.Fatalf("dbg index: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if idx := string(s3.Objects(t, "drivers")["driver/index.json"]); strings.Count(idx, `"sha256"`) != 24 {
		t.Errorf("index.json:\n%s", idx)
	}
	assertNoContainers(t)
}
