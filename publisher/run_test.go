package publisher

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
)

// builderFunc adapts a function to Builder.
type builderFunc func(context.Context, []grid.Entry) (*grid.Report, error)

func (f builderFunc) Build(ctx context.Context, plan []grid.Entry) (*grid.Report, error) {
	return f(ctx, plan)
}

// fakeBuild "builds" each entry by writing its file into out, as
// grid.Builder installs artifacts, and returns the results.
func fakeBuild(t *testing.T, out string, built *[]string) builderFunc {
	return func(_ context.Context, todo []grid.Entry) (*grid.Report, error) {
		var rs []grid.BuildResult
		for _, e := range todo {
			*built = append(*built, e.Key)
			a := artifact(t, out, e.DriverVersion, e.File, "bytes of "+e.File)
			rs = append(rs, grid.BuildResult{Entry: e, Status: grid.Built, SHA256: a.SHA256, Size: a.Size})
		}
		return grid.NewReport(time.Now(), rs), nil
	}
}

// countingTarget counts List calls per prefix.
type countingTarget struct {
	Target
	lists map[Prefix]int
}

func (c *countingTarget) List(ctx context.Context, p Prefix, how Listing) ([]Object, error) {
	c.lists[p]++
	return c.Target.List(ctx, p, how)
}

// One run: each prefix listed once per target; only what a target misses
// is built; SHA256SUMS of the build's folders from the build's digests
// (the file is right even though nothing hashes it again); the manifest
// covers the whole plan, each entry with its own outcome.
func TestRunPipeline(t *testing.T) {
	out, dst := t.TempDir(), t.TempDir()
	k := &config.Kernel{KernelRelease: "6.1.170-3-amd64", KernelVersion: "1", Target: "debian", Architecture: config.AMD64}
	k2 := &config.Kernel{KernelRelease: "6.1.171-1-amd64", KernelVersion: "1", Target: "debian", Architecture: config.AMD64}
	plan := []grid.Entry{entry(k, config.Module), entry(k, config.Probe), entry(k2, config.Module)}
	// The target already holds k's module.
	pre := artifact(t, t.TempDir(), plan[0].DriverVersion, plan[0].File, "published before")
	if err := NewDir(dst).Put(t.Context(), pre, false); err != nil {
		t.Fatal(err)
	}
	target := &countingTarget{Target: NewDir(dst), lists: map[Prefix]int{}}
	var built []string
	rep, err := Run(t.Context(), plan, fakeBuild(t, out, &built), []Target{target}, RunOptions{Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(built, " ") != plan[1].Key+" "+plan[2].Key {
		t.Errorf("built %v, want the two entries the target misses", built)
	}
	for p, n := range target.lists {
		if n != 1 {
			t.Errorf("%s listed %d times", p, n)
		}
	}
	want := map[string]string{plan[0].Key: "skipped already published on every target", plan[1].Key: "built ", plan[2].Key: "built "}
	for _, b := range rep.Build.Builds {
		if got := string(b.Status) + " " + b.Reason; got != want[b.Key] {
			t.Errorf("%s: %q, want %q", b.Key, got, want[b.Key])
		}
	}
	if rep.Build.Total != 3 || rep.Build.Built != 2 || rep.Build.Skipped != 1 {
		t.Errorf("report counts %+v", rep.Build)
	}
	sums, err := os.ReadFile(filepath.Join(out, "driver", "9.1.0+driver", "x86_64", config.SumsFile))
	if err != nil || strings.Count(string(sums), "\n") != 2 {
		t.Errorf("SHA256SUMS of the build: %v\n%s", err, sums)
	}
	for _, f := range []string{grid.ManifestFile, PublishFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
}

// Without targets (dbg build) everything is built and nothing published.
func TestRunWithoutTargetsBuildsEverything(t *testing.T) {
	out := t.TempDir()
	k := &config.Kernel{KernelRelease: "6.1.170-3-amd64", KernelVersion: "1", Target: "debian", Architecture: config.AMD64}
	plan := []grid.Entry{entry(k, config.Module), entry(k, config.Probe)}
	var built []string
	rep, err := Run(t.Context(), plan, fakeBuild(t, out, &built), nil, RunOptions{Out: out})
	if err != nil || len(built) != 2 || rep.Build.Built != 2 || len(rep.Outcomes) != 0 {
		t.Fatalf("%v: built %v, %+v", err, built, rep)
	}
	if _, err := os.Stat(filepath.Join(out, PublishFile)); !os.IsNotExist(err) {
		t.Errorf("a build without targets wrote %s: %v", PublishFile, err)
	}
}

// An interrupted build still records what finished, and publishes nothing.
func TestRunInterruptedRecordsAndPublishesNothing(t *testing.T) {
	out, dst := t.TempDir(), t.TempDir()
	k := &config.Kernel{KernelRelease: "6.1.170-3-amd64", KernelVersion: "1", Target: "debian", Architecture: config.AMD64}
	plan := []grid.Entry{entry(k, config.Module)}
	ctx, cancel := context.WithCancel(t.Context())
	var built []string
	inner := fakeBuild(t, out, &built)
	b := builderFunc(func(ctx context.Context, todo []grid.Entry) (*grid.Report, error) {
		defer cancel() // Ctrl-C while the build finishes
		return inner(ctx, todo)
	})
	if _, err := Run(ctx, plan, b, []Target{NewDir(dst)}, RunOptions{Out: out}); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dst); len(entries) != 0 {
		t.Errorf("an interrupted run published %v", entries)
	}
	if _, err := os.Stat(filepath.Join(out, grid.ManifestFile)); err != nil {
		t.Errorf("no manifest after an interrupted run: %v", err)
	}
}
