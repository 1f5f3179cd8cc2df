package publisher

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
	"github.com/falcosecurity/dbg/publisher/ghtest"
)

// failingBuild builds every entry but those of fail, which fail with a
// hostile log tail.
func failingBuild(t *testing.T, out string, fail map[string]bool) builderFunc {
	var built []string
	ok := fakeBuild(t, out, &built)
	return func(ctx context.Context, todo []grid.Entry) (*grid.Report, error) {
		var good []grid.Entry
		var rs []grid.BuildResult
		for _, e := range todo {
			if fail[e.Key] {
				rs = append(rs, grid.BuildResult{Entry: e, Status: grid.Failed, Reason: "build: exit status 2",
					LogTail: "::add-mask::hunter2\nerror: implicit declaration of function 'x'\n"})
			} else {
				good = append(good, e)
			}
		}
		rep, err := ok(ctx, good)
		if err != nil {
			return nil, err
		}
		return grid.NewReport(time.Now(), append(rep.Builds, rs...)), nil
	}
}

func readStatusJSON(t *testing.T, target Target, p Prefix) map[string]KernelStatus {
	t.Helper()
	data, err := target.(StatusStore).GetStatus(t.Context(), p, StatusFile)
	if err != nil || data == nil {
		t.Fatalf("read %s: %v (%d bytes)", StatusFile, err, len(data))
	}
	var ps PrefixStatus
	if err := json.Unmarshal(data, &ps); err != nil {
		t.Fatal(err)
	}
	return byFile(&ps)
}

// On S3 (versitygw) and GitHub (the fake): a run with a failing build
// publishes a status part; `dbg index` merges it into status.json and
// deletes it; a later run that builds the kernel drops its failure.
func TestRunStatusMergedByIndex(t *testing.T) {
	targets := map[string]func(t *testing.T) Target{
		"s3":     func(t *testing.T) Target { s, _ := s3Target(t, "pre"); return s },
		"github": func(t *testing.T) Target { return newGitHubTest(t, ghtest.New(t)) },
	}
	for name, open := range targets {
		t.Run(name, func(t *testing.T) {
			target, out := open(t), t.TempDir()
			k := &config.Kernel{KernelRelease: "6.1.170-3-amd64", KernelVersion: "1", Target: "debian", Architecture: config.AMD64}
			k2 := &config.Kernel{KernelRelease: "6.1.171-1-amd64", KernelVersion: "1", Target: "debian", Architecture: config.AMD64}
			plan := []grid.Entry{entry(k, config.Module), entry(k2, config.Module)}
			p := Prefix{plan[0].DriverVersion, plan[0].Arch}
			fail := map[string]bool{plan[1].Key: true}
			if _, err := Run(t.Context(), plan, failingBuild(t, out, fail), []Target{target}, RunOptions{Out: out, RunID: "run-1"}); err != nil {
				t.Fatal(err)
			}
			st := target.(StatusStore)
			if parts, err := st.StatusFiles(t.Context(), p); err != nil || strings.Join(parts, ",") != PartName("run-1") {
				t.Fatalf("status parts after the run: %v %v", parts, err)
			}
			if objs, err := target.List(t.Context(), p, Presence); err != nil || len(objs) != 1 || objs[0].File != plan[0].File {
				t.Fatalf("artifacts after the run: %v %+v", err, objs)
			}
			site, err := Index(t.Context(), target, Digests)
			if err != nil {
				t.Fatal(err)
			}
			if site.Status != (StatusCounts{Failed: 1, Published: 1}) || len(site.Prefixes) != 1 {
				t.Errorf("index: %+v, %d prefixes", site.Status, len(site.Prefixes))
			}
			if parts, err := st.StatusFiles(t.Context(), p); err != nil || strings.Join(parts, ",") != StatusFile {
				t.Errorf("parts left after the index: %v %v", parts, err)
			}
			got := readStatusJSON(t, target, p)
			bad := got[plan[1].File]
			if bad.Status != StatusFailed || bad.Reason != "build: exit status 2" || bad.Run != "run-1" ||
				!strings.Contains(bad.LogTail, "implicit declaration") || strings.Contains(bad.LogTail, "hunter2") {
				t.Errorf("failed entry: %+v", bad)
			}
			if got[plan[0].File].Status != StatusBuilt || bad.KernelRelease != k2.KernelRelease || bad.Target != "debian" || bad.Kind != "module" {
				t.Errorf("status.json: %+v", got)
			}

			// The kernel builds in a later run: its failure goes.
			out2 := t.TempDir()
			if _, err := Run(t.Context(), plan, failingBuild(t, out2, nil), []Target{target}, RunOptions{Out: out2, RunID: "run-2"}); err != nil {
				t.Fatal(err)
			}
			c, err := Compare(t.Context(), target, plan)
			if err != nil || c.Status != (StatusCounts{Published: 2}) {
				t.Errorf("stats before the index, from the unmerged part: %v %+v", err, c)
			}
			if _, err := Index(t.Context(), target, Digests); err != nil {
				t.Fatal(err)
			}
			got = readStatusJSON(t, target, p)
			if k := got[plan[1].File]; k.Status != StatusBuilt || k.Reason != "" || k.LogTail != "" || k.Run != "run-2" {
				t.Errorf("after the kernel built: %+v", k)
			}
			if prefixes, err := target.Prefixes(t.Context()); err != nil || len(prefixes) != 1 || prefixes[0] != p {
				t.Errorf("prefixes %v %v", prefixes, err)
			}
		})
	}
}

// A prefix with nothing but failures has its status, on GitHub too (the
// status release alone makes the prefix).
func TestGitHubStatusOnlyPrefix(t *testing.T) {
	srv := ghtest.New(t)
	g := newGitHubTest(t, srv)
	k := &config.Kernel{KernelRelease: "6.1.170-3-amd64", KernelVersion: "1", Target: "debian", Architecture: config.AMD64}
	plan := []grid.Entry{entry(k, config.Module)}
	out := t.TempDir()
	if _, err := Run(t.Context(), plan, failingBuild(t, out, map[string]bool{plan[0].Key: true}), []Target{g}, RunOptions{Out: out, RunID: "r"}); err != nil {
		t.Fatal(err)
	}
	rels := srv.Releases()
	if len(rels) != 1 || rels[0].Tag != "9.1.0+driver_x86_64_status" || rels[0].Draft {
		t.Fatalf("releases %+v: want one published status release", rels)
	}
	site, err := Index(t.Context(), g, Digests)
	if err != nil || site.Status.Failed != 1 || site.Total != 0 {
		t.Fatalf("index %v %+v", err, site)
	}
	names := []string{}
	for _, a := range srv.Assets(rels[0].Tag) {
		names = append(names, a.Name)
	}
	if strings.Join(names, ",") != StatusFile {
		t.Errorf("status release assets %v, want only %s", names, StatusFile)
	}
}
