package publisher

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
)

var statusPrefix = Prefix{"10.0.0+driver", "x86_64"}

func statusEntry(file string) grid.Entry {
	return compareEntry(statusPrefix.DriverVersion, statusPrefix.Arch, "debian", config.Module, file)
}

func kstatus(file, status, run string, at time.Time) KernelStatus {
	return KernelStatus{File: file, Status: status, Run: run, Time: at, Reason: status + " in " + run}
}

func byFile(ps *PrefixStatus) map[string]KernelStatus {
	out := map[string]KernelStatus{}
	for _, k := range ps.Kernels {
		out[k.File] = k
	}
	return out
}

func TestMergeStatusLastRunWins(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	base := &PrefixStatus{Kernels: []KernelStatus{kstatus("a.ko", StatusFailed, "r1", t0), kstatus("b.ko", StatusFailed, "r1", t0)}}
	// parts in name order: the newer run's part comes first
	newer := &PrefixStatus{Kernels: []KernelStatus{kstatus("a.ko", StatusNotBuildable, "r3", t0.Add(2*time.Hour))}}
	older := &PrefixStatus{Kernels: []KernelStatus{kstatus("a.ko", StatusFailed, "r2", t0.Add(time.Hour)), kstatus("b.ko", StatusFailed, "r2", t0.Add(time.Hour))}}
	got := byFile(mergeStatus(statusPrefix, base, []*PrefixStatus{newer, older}))
	if got["a.ko"].Run != "r3" || got["a.ko"].Status != StatusNotBuildable {
		t.Errorf("a.ko: want the latest run r3 (not_buildable), got %+v", got["a.ko"])
	}
	if got["b.ko"].Run != "r2" {
		t.Errorf("b.ko: want run r2 over status.json's r1, got %+v", got["b.ko"])
	}
}

func TestMergeStatusShardsAndLaterBuild(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	base := &PrefixStatus{Kernels: []KernelStatus{
		kstatus("fixed.ko", StatusFailed, "r1", t0),     // built since by hand, or by a run whose part is lost
		kstatus("gone.ko", StatusBuilt, "r1", t0),       // built, then deleted
		kstatus("still.ko", StatusFailed, "r1", t0),     // still failing
		kstatus("old.ko", StatusNotBuildable, "r1", t0), // too old
	}}
	shard1 := &PrefixStatus{Kernels: []KernelStatus{kstatus("s1.ko", StatusFailed, "r2-shard-1of2", t0.Add(time.Hour))}}
	shard2 := &PrefixStatus{Kernels: []KernelStatus{kstatus("s2.ko", StatusBuilt, "r2-shard-2of2", t0.Add(time.Hour))}}
	ps := mergeStatus(statusPrefix, base, []*PrefixStatus{shard1, shard2})
	settle(ps, map[string]bool{"fixed.ko": true, "s2.ko": true})
	got := byFile(ps)
	want := map[string]string{"fixed.ko": StatusBuilt, "still.ko": StatusFailed, "old.ko": StatusNotBuildable, "s1.ko": StatusFailed, "s2.ko": StatusBuilt}
	if len(got) != len(want) {
		t.Errorf("entries: got %v, want %v", got, want)
	}
	for f, st := range want {
		if got[f].Status != st {
			t.Errorf("%s: status %q, want %q", f, got[f].Status, st)
		}
	}
	if k := got["fixed.ko"]; k.Reason != "" || k.LogTail != "" {
		t.Errorf("a kernel that built since keeps its failure: %+v", k)
	}
}

func TestStatusOfNeutralisesHostileLog(t *testing.T) {
	var log strings.Builder
	for i := range 100 {
		log.WriteString("line " + strings.Repeat("x", i) + "\n")
	}
	log.WriteString("::add-mask::s3cr3t-token\n")
	log.WriteString("  ::error file=x::fake annotation\n")
	log.WriteString("\x1b[31mred\x1b[0m ##[group]hidden\r\n")
	log.WriteString("\u200b::warning::behind a zero-width space\n")
	log.WriteString(strings.Repeat("y", 10000) + "\n")
	log.WriteString("\xff\xfe invalid utf-8 make: *** [Makefile:1] Error 2\n")
	r := grid.BuildResult{Entry: statusEntry("falco_debian_6.1.0-1-amd64_1.ko"), Status: grid.Failed,
		Reason: "build: exit status 2\n::add-mask::other", LogTail: log.String()}
	s, ok := StatusOf(r, "run", time.Now())
	if !ok {
		t.Fatal("a failure records nothing")
	}
	tail := s.LogTail
	if len(tail) > config.TailBytes || strings.Count(tail, "\n")+1 > config.TailLines {
		t.Errorf("tail not bounded: %d bytes, %d lines", len(tail), strings.Count(tail, "\n")+1)
	}
	for _, bad := range []string{"s3cr3t", "\x1b", "\r", "\u200b", "##[group]", "\xff"} {
		if strings.Contains(tail+s.Reason, bad) {
			t.Errorf("neutralised text still holds %q:\n%s", bad, tail)
		}
	}
	for _, line := range strings.Split(tail, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "::") {
			t.Errorf("line would run as a workflow command: %q", line)
		}
	}
	if !strings.Contains(tail, "Error 2") || !strings.Contains(s.Reason, "exit status 2") || strings.Contains(s.Reason, "other") {
		t.Errorf("the useful end of the log or reason is lost: reason %q, tail:\n%s", s.Reason, tail)
	}
	if _, ok := StatusOf(grid.Skip(r.Entry, alreadyPublished), "run", time.Now()); ok {
		t.Error("an entry already published records a status: every no-op run would write a part")
	}
}

func TestRunIDAllowlist(t *testing.T) {
	for _, bad := range []string{"", "../x", "a/b", "a b", "-x", "a\nb", strings.Repeat("a", 101)} {
		if CheckRunID(bad) == nil {
			t.Errorf("run id %q accepted", bad)
		}
	}
	env := map[string]string{"GITHUB_RUN_ID": "123", "GITHUB_RUN_ATTEMPT": "2"}
	a := NewRunID(func(k string) string { return env[k] }, grid.Shard{Index: 2, Count: 3}, time.Now())
	b := NewRunID(func(k string) string { return env[k] }, grid.Shard{Index: 2, Count: 3}, time.Now())
	if !strings.HasPrefix(a, "gh-123-2-") || !strings.HasSuffix(a, "-shard-2of3") || a == b || CheckRunID(a) != nil {
		t.Errorf("run ids %q, %q", a, b)
	}
	env["GITHUB_RUN_ID"] = "1/../../x"
	if c := NewRunID(func(k string) string { return env[k] }, grid.Shard{}, time.Now()); CheckRunID(c) != nil || strings.Contains(c, "/") {
		t.Errorf("run id from a hostile environment: %q", c)
	}
}

// A folder target: a run's part lands beside the artifacts, is no
// artifact, and the index merges it into status.json and deletes it.
func TestDirStatusPartsMergedByIndex(t *testing.T) {
	root, src := t.TempDir(), t.TempDir()
	d := NewDir(root)
	ok := artifact(t, src, statusPrefix.DriverVersion, "falco_debian_ok_1.ko", "module")
	if _, err := Publish(t.Context(), []Target{d}, []Artifact{ok}, Options{}); err != nil {
		t.Fatal(err)
	}
	results := []grid.BuildResult{
		{Entry: statusEntry(ok.File), Status: grid.Built},
		{Entry: statusEntry("falco_debian_bad_1.ko"), Status: grid.Failed, Reason: "compile error", LogTail: "error: x\n"},
	}
	at := time.Now().Add(-time.Minute)
	if err := WriteStatus(t.Context(), []Target{d}, results, "run-1", at); err != nil {
		t.Fatal(err)
	}
	part := filepath.Join(root, filepath.FromSlash(statusPrefix.Key(PartName("run-1"))))
	if _, err := os.Stat(part); err != nil {
		t.Fatalf("no status part beside the artifacts: %v", err)
	}
	objs, err := d.List(t.Context(), statusPrefix, Presence)
	if err != nil || len(objs) != 1 {
		t.Fatalf("the part is listed as an artifact: %v %v", objs, err)
	}
	site, err := Index(t.Context(), d, Digests)
	if err != nil {
		t.Fatal(err)
	}
	if site.Status != (StatusCounts{Failed: 1, Published: 1}) {
		t.Errorf("index counts %+v", site.Status)
	}
	if _, err := os.Stat(part); !os.IsNotExist(err) {
		t.Errorf("the merged part is still there: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(statusPrefix.Key(StatusFile))))
	if err != nil {
		t.Fatal(err)
	}
	var ps PrefixStatus
	if err := json.Unmarshal(data, &ps); err != nil {
		t.Fatal(err)
	}
	got := byFile(&ps)
	if bad := got["falco_debian_bad_1.ko"]; bad.Status != StatusFailed || bad.Reason != "compile error" || bad.LogTail != "error: x" || bad.Run != "run-1" || !bad.Time.Equal(at.UTC()) {
		t.Errorf("failed entry: %+v", bad)
	}
	if got[ok.File].Status != StatusBuilt || ps.DriverVersion != statusPrefix.DriverVersion || ps.Arch != "x86_64" {
		t.Errorf("status.json: %s", data)
	}
}

// What the plan cannot build reaches the manifest and the run's status
// part, and is never built.
func TestRunRecordsNotBuildable(t *testing.T) {
	out, dst := t.TempDir(), t.TempDir()
	k := &config.Kernel{KernelRelease: "6.1.170-3-amd64", KernelVersion: "1", Target: "debian", Architecture: config.AMD64}
	old := &config.Kernel{KernelRelease: "3.10.0-1160.el7.x86_64", KernelVersion: "1", Target: "centos", Architecture: config.AMD64}
	plan := []grid.Entry{entry(k, config.Module)}
	nb := []grid.BuildResult{{Entry: entry(old, config.Probe), Status: grid.NotBuildable, Reason: "kernel too old"}}
	var built []string
	rep, err := Run(t.Context(), plan, fakeBuild(t, out, &built), []Target{NewDir(dst)}, RunOptions{Out: out, RunID: "r", NotBuildable: nb})
	if err != nil {
		t.Fatal(err)
	}
	if len(built) != 1 || rep.Build.NotBuildable != 1 || rep.Build.Total != 2 {
		t.Errorf("built %v, report %+v", built, rep.Build)
	}
	if c := RunCounts(rep.Build, rep.Outcomes); c != (StatusCounts{NotBuildable: 1, Published: 1}) || c.String() != "failed 0, not built 1, published 1" {
		t.Errorf("run counts %+v %q", c, c)
	}
	m, err := ReadManifest(out)
	if err != nil || m.NotBuildable != 1 {
		t.Fatalf("manifest: %v %+v", err, m)
	}
	data, err := NewDir(dst).GetStatus(t.Context(), Prefix{plan[0].DriverVersion, plan[0].Arch}, PartName("r"))
	if err != nil {
		t.Fatal(err)
	}
	var ps PrefixStatus
	if err := json.Unmarshal(data, &ps); err != nil {
		t.Fatal(err)
	}
	got := byFile(&ps)
	if s := got[nb[0].File]; s.Status != StatusNotBuildable || s.Reason != "kernel too old" || s.KernelRelease != old.KernelRelease {
		t.Errorf("part: %s", data)
	}
}

// A run that builds nothing writes no part, whatever it cannot build.
func TestNoPartWithoutBuilds(t *testing.T) {
	dst := t.TempDir()
	old := &config.Kernel{KernelRelease: "3.10.0-1160.el7.x86_64", KernelVersion: "1", Target: "centos", Architecture: config.AMD64}
	results := []grid.BuildResult{
		{Entry: entry(old, config.Probe), Status: grid.NotBuildable, Reason: "kernel too old"},
		grid.Skip(entry(old, config.Module), alreadyPublished),
	}
	if err := WriteStatus(t.Context(), []Target{NewDir(dst)}, results, "r", time.Now()); err != nil {
		t.Fatal(err)
	}
	if files, err := NewDir(dst).StatusFiles(t.Context(), Prefix{"9.1.0+driver", "x86_64"}); err != nil || len(files) != 0 {
		t.Errorf("a run that built nothing wrote %v %v", files, err)
	}
}

// publish --from takes a failure's log tail from the build's log file,
// and only from inside the output folder, whatever the manifest says.
func TestReadManifestLogTailStaysInOut(t *testing.T) {
	base := t.TempDir()
	out := filepath.Join(base, "out")
	secret := filepath.Join(base, "secret.log")
	if err := os.WriteFile(secret, []byte("AWS_SECRET_ACCESS_KEY=xyz\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := statusEntry("falco_debian_good_1.ko")
	evil := statusEntry("../../../../secret") // logs/<dv>/<arch>/../../../../secret.log = base/secret.log
	if err := os.MkdirAll(filepath.Join(out, filepath.Dir(grid.LogRel(good))), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, grid.LogRel(good)), []byte("cc: error: nope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := grid.NewReport(time.Now(), []grid.BuildResult{
		{Entry: good, Status: grid.Failed, Reason: "x", Log: secret},
		{Entry: evil, Status: grid.Failed, Reason: "y", Log: secret},
	})
	if err := grid.WriteManifest(filepath.Join(out, grid.ManifestFile), rep); err != nil {
		t.Fatal(err)
	}
	m, err := ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Builds[0].LogTail != "cc: error: nope\n" || m.Builds[1].LogTail != "" {
		t.Errorf("log tails %q, %q: want the build's own log, and nothing from outside the output folder", m.Builds[0].LogTail, m.Builds[1].LogTail)
	}
}

// Results from a tampered manifest never reach a path outside a prefix.
func TestWriteStatusRefusesForeignNames(t *testing.T) {
	base := t.TempDir()
	d := NewDir(filepath.Join(base, "target"))
	for _, e := range []grid.Entry{
		{DriverVersion: "../../../escape", Arch: "x86_64", File: "falco_x_1_1.ko"},
		{DriverVersion: "1.0.0+driver", Arch: "../x", File: "falco_x_1_1.ko"},
		{DriverVersion: "1.0.0+driver", Arch: "x86_64", File: "falco_/../../x.ko"},
		{DriverVersion: "1.0.0+driver", Arch: "x86_64", File: "index.html"},
	} {
		err := WriteStatus(t.Context(), []Target{d}, []grid.BuildResult{{Entry: e, Status: grid.Failed}}, "r", time.Now())
		if !errors.Is(err, config.ErrData) {
			t.Errorf("%+v: %v, want a data error", e, err)
		}
	}
	var found []string
	_ = filepath.WalkDir(base, func(path string, de os.DirEntry, err error) error {
		if err == nil && !de.IsDir() {
			found = append(found, path)
		}
		return nil
	})
	if len(found) != 0 {
		t.Errorf("files written: %v", found)
	}
}

// The boot check's verdict reaches the status: a module refused by its
// kernel says so, with the kernel's message on one neutral line.
func TestStatusOfRecordsTheBootCheck(t *testing.T) {
	r := grid.BuildResult{Entry: statusEntry("falco_debian_6.1.0-1-amd64_1.ko"), Status: grid.Failed,
		Reason: "boot check: insmod refused", Boot: &grid.BootResult{Status: "failed", Reason: "falco: disagrees about version\nof symbol module_layout"}}
	s, ok := StatusOf(r, "run", time.Now())
	if !ok || s.Boot != "failed: falco: disagrees about version of symbol module_layout" {
		t.Errorf("boot %q (recorded %v)", s.Boot, ok)
	}
	r = grid.BuildResult{Entry: statusEntry("falco_debian_6.1.0-1-amd64_1.ko"), Status: grid.Built, Boot: &grid.BootResult{Status: "loaded", Seconds: 3}}
	if s, _ := StatusOf(r, "run", time.Now()); s.Boot != "loaded" {
		t.Errorf("boot %q, want loaded", s.Boot)
	}
}
