package main

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/publisher/s3test"
)

// A bucket filled the way dbg-go left the real one (plain PutObject, no
// stored sha256 on most objects, no SHA256SUMS): a no-op `dbg run` costs
// the listing pages and the preflight only, every time; the first `dbg
// index` reads each object's stored checksum (HeadObject) and the bytes
// only of those without one (GetObject), and writes SHA256SUMS; the next
// index trusts it for every object not written since, and reads only the
// one that was; a no-op run still only lists.
func TestLegacyBucketNoopRunAndAdoption(t *testing.T) {
	dir, plan := benchConfigs(t, 100) // 400 artifacts in 4 prefixes
	srv := s3test.Start(t)
	srv.CreateBucket(t, "legacy")
	srv.SetEnv(t)
	const sha256Every = 4
	legacyFill(t, srv, "legacy", plan, sha256Every)
	withSum := (len(plan) + sha256Every - 1) / sha256Every
	prefixes := map[string]bool{}
	for _, e := range plan {
		prefixes[strings.TrimSuffix(e.Key, e.File)] = true
	}

	out := t.TempDir()
	for run := 1; run <= 2; run++ {
		srv.ResetRequests()
		stdout, stderr, code := dbg(t, "--config-dir", dir, "run", "--out", out, "--to", "s3://legacy", "--s3-path-style")
		if code != 0 || !strings.Contains(stdout, fmt.Sprintf("skipped %d", len(plan))) {
			t.Fatalf("no-op run %d: exit %d\n%s\n%s", run, code, stdout, stderr)
		}
		assertListsAndPreflight(t, fmt.Sprintf("no-op run %d", run), srv.Requests(), len(prefixes))
	}

	index := func(what string) (heads, gets []string) {
		t.Helper()
		srv.ResetRequests()
		stdout, stderr, code := dbg(t, "index", "--to", "s3://legacy", "--s3-path-style")
		if code != 0 || !strings.Contains(stdout, fmt.Sprintf("%d artifacts in %d folders", len(plan), len(prefixes))) {
			t.Fatalf("%s: exit %d\n%s\n%s", what, code, stdout, stderr)
		}
		for _, r := range srv.Requests() {
			switch {
			case r.IsList():
			case r.Method == "HEAD":
				heads = append(heads, r.Path)
			case r.Method == "GET":
				gets = append(gets, r.Path)
			}
		}
		t.Logf("%s: %d requests, %d HEAD, %d GET", what, len(srv.Requests()), len(heads), len(gets))
		return heads, gets
	}
	heads, gets := index("first index")
	if len(heads) != len(plan) {
		t.Errorf("first index: %d HeadObject, want one per object (%d)", len(heads), len(plan))
	}
	if len(gets) != len(plan)-withSum {
		t.Errorf("first index: %d GetObject, want one per object without a stored sha256 (%d)", len(gets), len(plan)-withSum)
	}
	objects := srv.Objects(t, "legacy")
	for prefix := range prefixes {
		want := map[string]string{}
		for _, e := range plan {
			if strings.HasPrefix(e.Key, prefix) {
				want[e.File] = legacySum(e.Key, hex.EncodeToString)
			}
		}
		if got := string(objects[prefix+config.SumsFile]); got != string(config.FormatSums(want)) {
			t.Errorf("%s%s after the first index:\n%s", prefix, config.SumsFile, got)
		}
	}

	heads, gets = index("second index")
	if len(heads) != 0 || len(gets) != len(prefixes) || !allSums(gets) {
		t.Errorf("second index: HEAD %v, GET %v; want only each prefix's %s", heads, gets, config.SumsFile)
	}

	// An object rewritten since is the only one read again.
	time.Sleep(1100 * time.Millisecond) // Last-Modified has a 1 s resolution
	changed := plan[len(plan)-1].Key
	srv.PutPlain(t, "legacy", changed, []byte("rewritten by another tool"))
	heads, gets = index("index after a rewrite")
	if len(heads) != 1 || len(gets) != len(prefixes)+1 || !strings.HasSuffix(heads[0], escapeKey(changed)) {
		t.Errorf("index after a rewrite of %s: HEAD %v, GET %v", changed, heads, gets)
	}

	srv.ResetRequests()
	if stdout, stderr, code := dbg(t, "--config-dir", dir, "run", "--out", out, "--to", "s3://legacy", "--s3-path-style"); code != 0 {
		t.Fatalf("no-op run after the index: exit %d\n%s\n%s", code, stdout, stderr)
	}
	assertListsAndPreflight(t, "no-op run after the index", srv.Requests(), len(prefixes))
}

// assertListsAndPreflight checks that reqs are one ListObjectsV2 page for
// each of prefixes (under 1000 objects each) and the preflight: a list of
// one key, a PUT and a DELETE of its test object.
func assertListsAndPreflight(t *testing.T, what string, reqs []s3test.Request, prefixes int) {
	t.Helper()
	lists, preflight := 0, 0
	for _, r := range reqs {
		switch {
		case r.IsList():
			lists++
		case strings.Contains(r.Path, "/.dbg-preflight-") && (r.Method == "PUT" || r.Method == "DELETE"):
			preflight++
		default:
			t.Errorf("%s: %s %s: not a listing", what, r.Method, r.Path)
		}
	}
	if lists != prefixes+1 || preflight != 2 {
		t.Errorf("%s: %d list requests and %d preflight writes, want %d and 2", what, lists, preflight, prefixes+1)
	}
	t.Logf("%s: %d S3 requests", what, len(reqs))
}

func allSums(paths []string) bool {
	for _, p := range paths {
		if !strings.HasSuffix(p, "/"+config.SumsFile) {
			return false
		}
	}
	return true
}

// escapeKey is key as the proxy records it (a "+" is sent as %2B).
func escapeKey(key string) string { return strings.ReplaceAll(key, "+", "%2B") }
