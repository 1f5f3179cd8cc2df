package publisher

import (
	"strings"
	"testing"
	"time"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
	"github.com/falcosecurity/dbg/publisher/ghtest"
	"github.com/falcosecurity/dbg/publisher/s3test"
)

// A run learns what the bucket holds from listings alone, and the index it
// rewrites after uploading keeps the digests SHA256SUMS had for the objects
// already there: one GetObject of SHA256SUMS, no HeadObject, no artifact
// read. An object SHA256SUMS does not vouch for (published without dbg) is
// left out until `dbg index` reads it.
func TestS3RunKeepsTheIndexWithoutReadingDigests(t *testing.T) {
	target, srv := s3Target(t, "")
	out := t.TempDir()
	k := &config.Kernel{KernelRelease: "6.1.170-3-amd64", KernelVersion: "1", Target: "debian", Architecture: config.AMD64}
	k2 := &config.Kernel{KernelRelease: "6.1.171-1-amd64", KernelVersion: "1", Target: "debian", Architecture: config.AMD64}
	plan := []grid.Entry{entry(k, config.Module), entry(k, config.Probe), entry(k2, config.Module)}
	p := Prefix{plan[0].DriverVersion, plan[0].Arch}
	// plan[0] published by dbg and in SHA256SUMS; plan[1] by another tool,
	// with no stored sha256 and not in SHA256SUMS; plan[2] missing.
	dbgs := artifact(t, t.TempDir(), p.DriverVersion, plan[0].File, "published by dbg")
	if err := target.Put(t.Context(), dbgs, false); err != nil {
		t.Fatal(err)
	}
	if err := target.WriteIndex(t.Context(), p, []Object{{File: dbgs.File, SHA256: dbgs.SHA256, Size: dbgs.Size}}); err != nil {
		t.Fatal(err)
	}
	srv.PutPlain(t, s3Bucket, plan[1].Key, []byte("published by dbg-go"))

	srv.ResetRequests()
	var built []string
	rep, err := Run(t.Context(), plan, fakeBuild(t, out, &built), []Target{target}, RunOptions{Out: out, RunID: "r1"})
	if err != nil || len(built) != 1 || built[0] != plan[2].Key || count(rep.Outcomes, Upload) != 1 {
		t.Fatalf("run: %v, built %v, %+v", err, built, rep.Outcomes)
	}
	lists, heads, gets, writes := s3test.Count(srv.Requests())
	if lists != 1 || heads != 0 || gets != 2 || writes != 4 {
		t.Errorf("run: %d lists, %d HEAD, %d GET, %d writes; want 1 list, no HEAD, the GETs of %s and %s, 4 PUTs (the artifact, them, the run's status part)",
			lists, heads, gets, writes, config.SumsFile, grid.ProvenanceFile)
	}
	newSum := digestOf(builtArtifacts(out, rep.Build.Builds), plan[2].File)
	want := config.FormatSums(map[string]string{dbgs.File: dbgs.SHA256, plan[2].File: newSum})
	if got := srv.Objects(t, s3Bucket)[p.Key(config.SumsFile)]; string(got) != string(want) {
		t.Errorf("%s after the run:\n%s\nwant:\n%s", config.SumsFile, got, want)
	}

	// The index adopts plan[1]: its HeadObject and GetObject only (and
	// reads the prefix's status to merge the run's part).
	srv.ResetRequests()
	site, err := Index(t.Context(), target, Digests)
	if err != nil || site.Total != 3 {
		t.Fatalf("index: %v, %+v", err, site)
	}
	var read []string
	for _, r := range srv.Requests() {
		if !r.IsList() && (r.Method == "HEAD" || r.Method == "GET") {
			read = append(read, r.Method+" "+r.Path[strings.LastIndex(r.Path, "/")+1:])
		}
	}
	if got := strings.Join(read, ", "); got != "GET "+config.SumsFile+", HEAD "+plan[1].File+", GET "+plan[1].File+", GET "+PartName("r1") {
		t.Errorf("index read %s", got)
	}
}

// With Force a run lists digests, so an artifact rebuilt with the same
// bytes is skipped and one with other bytes replaced.
func TestS3RunForceSkipsSameBytesReplacesOthers(t *testing.T) {
	target, _ := s3Target(t, "")
	out := t.TempDir()
	k := &config.Kernel{KernelRelease: "6.1.170-3-amd64", KernelVersion: "1", Target: "debian", Architecture: config.AMD64}
	k2 := &config.Kernel{KernelRelease: "6.1.171-1-amd64", KernelVersion: "1", Target: "debian", Architecture: config.AMD64}
	plan := []grid.Entry{entry(k, config.Module), entry(k, config.Probe), entry(k2, config.Module)}
	same := artifact(t, t.TempDir(), plan[0].DriverVersion, plan[0].File, "bytes of "+plan[0].File) // what fakeBuild writes
	other := artifact(t, t.TempDir(), plan[1].DriverVersion, plan[1].File, "other bytes")
	for _, a := range []Artifact{same, other} {
		if err := target.Put(t.Context(), a, false); err != nil {
			t.Fatal(err)
		}
	}
	var built []string
	rep, err := Run(t.Context(), plan, fakeBuild(t, out, &built), []Target{target}, RunOptions{Out: out, Force: true})
	if err != nil || len(built) != 3 {
		t.Fatalf("forced run: %v, built %v", err, built)
	}
	want := map[string]Action{plan[0].Key: Skip, plan[1].Key: Replace, plan[2].Key: Upload}
	for _, o := range rep.Outcomes {
		if o.Action != want[o.Key] {
			t.Errorf("%s: %s, want %s", o.Key, o.Action, want[o.Key])
		}
	}
	if len(rep.Outcomes) != 3 {
		t.Errorf("outcomes %+v", rep.Outcomes)
	}
	objs, err := target.List(t.Context(), Prefix{plan[0].DriverVersion, plan[0].Arch}, Verify)
	if err != nil || len(objs) != 3 || objs[1].SHA256 == other.SHA256 {
		t.Errorf("after the forced run: %v %+v", err, objs)
	}
}

// A Presence listing makes one ListObjectsV2 request per 1000 keys and
// nothing else, whatever the objects carry.
func TestS3ListPresenceOnlyLists(t *testing.T) {
	target, srv := s3Target(t, "")
	a := s3Artifact(t, s3Prefix, "falco_a_1_1.ko", "a")
	if err := target.Put(t.Context(), a, false); err != nil {
		t.Fatal(err)
	}
	if err := target.WriteIndex(t.Context(), s3Prefix, []Object{{File: a.File, SHA256: a.SHA256, Size: a.Size}}); err != nil {
		t.Fatal(err)
	}
	srv.PutPlain(t, s3Bucket, s3Prefix.Key("falco_b_1_1.ko"), []byte("b"))
	srv.ResetRequests()
	objs, err := target.List(t.Context(), s3Prefix, Presence)
	if err != nil || len(objs) != 2 || objs[0].File != a.File || objs[0].Size != a.Size || objs[0].SHA256 != "" || objs[1].Size != 1 {
		t.Fatalf("List(Presence) = %v %+v", err, objs)
	}
	if time.Since(objs[1].Modified) > time.Minute {
		t.Errorf("List(Presence): modified %s", objs[1].Modified)
	}
	if lists, heads, gets, writes := s3test.Count(srv.Requests()); lists != 1 || heads+gets+writes != 0 {
		t.Errorf("List(Presence): %d lists and %d other requests, want 1 and none", lists, heads+gets+writes)
	}
}

// On GitHub, a run's holdings come from the release asset listing alone
// (no download), and the index it rewrites after uploading keeps the
// digests of the assets already there from their release's index.json: one
// download in all.
func TestGitHubRunKeepsTheIndexWithoutDownloadingArtifacts(t *testing.T) {
	s := ghtest.New(t)
	out := t.TempDir()
	k := &config.Kernel{KernelRelease: "6.1.170-3-amd64", KernelVersion: "1", Target: "debian", Architecture: config.AMD64}
	plan := []grid.Entry{entry(k, config.Module), entry(k, config.Probe)}
	p := Prefix{plan[0].DriverVersion, plan[0].Arch}
	pre := ghArtifacts(t, p, "", plan[0].File)
	ghPublish(t, newGitHubTest(t, s), p, pre)

	downloads := s.Requests("GET storage")
	var built []string
	rep, err := Run(t.Context(), plan, fakeBuild(t, out, &built), []Target{newGitHubTest(t, s)}, RunOptions{Out: out})
	if err != nil || len(built) != 1 || built[0] != plan[1].Key || count(rep.Outcomes, Upload) != 1 {
		t.Fatalf("run: %v, built %v, %+v", err, built, rep.Outcomes)
	}
	if n := s.Requests("GET storage") - downloads; n != 1 {
		t.Errorf("run downloaded %d assets, want 1 (index.json)", n)
	}
	ghCheckRelease(t, s, p.DriverVersion+"_"+p.Arch, append(pre, builtArtifacts(out, rep.Build.Builds)...))
}
