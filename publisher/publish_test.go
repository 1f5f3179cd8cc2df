package publisher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
)

// artifact writes content as a built file under dir and describes it.
func artifact(t *testing.T, dir, dv, file, content string) Artifact {
	t.Helper()
	a := Artifact{Prefix: Prefix{dv, "x86_64"}, File: file}
	a.Path = filepath.Join(dir, filepath.FromSlash(a.Key()))
	if err := os.MkdirAll(filepath.Dir(a.Path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a.Path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(content))
	a.SHA256, a.Size = hex.EncodeToString(sum[:]), int64(len(content))
	return a
}

func count(outs []Outcome, act Action) int {
	n := 0
	for _, o := range outs {
		if o.Action == act {
			n++
		}
	}
	return n
}

func TestPublishSkipsRefusesAndForces(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	target := NewDir(dst)
	arts := []Artifact{
		artifact(t, src, "9.1.0+driver", "falco_debian_6.1.170-3-amd64_1.ko", "module"),
		artifact(t, src, "9.1.0+driver", "falco_debian_6.1.170-3-amd64_1.o", "probe"),
		artifact(t, src, "10.0.0+driver", "falco_debian_5.18.16-1~bpo11+1-amd64_1.ko", "other"),
	}
	ctx := t.Context()
	outs, err := Publish(ctx, []Target{target}, arts, Options{})
	if err != nil || count(outs, Upload) != 3 {
		t.Fatalf("first publish: %v %+v", err, outs)
	}
	sums, _ := os.ReadFile(filepath.Join(dst, "driver/9.1.0+driver/x86_64", config.SumsFile))
	cmd := exec.Command("sha256sum", "-c", config.SumsFile)
	cmd.Dir = filepath.Join(dst, "driver/9.1.0+driver/x86_64")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c: %v\n%s\n%s", err, out, sums)
	}
	outs, err = Publish(ctx, []Target{target}, arts, Options{})
	if err != nil || count(outs, Skip) != 3 {
		t.Fatalf("second publish must skip everything: %v %+v", err, outs)
	}
	changed := artifact(t, src, "9.1.0+driver", "falco_debian_6.1.170-3-amd64_1.ko", "rebuilt module")
	outs, err = Publish(ctx, []Target{target}, []Artifact{changed}, Options{})
	if !errors.Is(err, ErrConflict) || count(outs, Conflict) != 1 {
		t.Fatalf("different bytes must be refused: %v %+v", err, outs)
	}
	if got, _ := os.ReadFile(filepath.Join(dst, filepath.FromSlash(changed.Key()))); string(got) != "module" {
		t.Fatalf("published artifact overwritten without --force: %q", got)
	}
	outs, err = Publish(ctx, []Target{target}, []Artifact{changed}, Options{Force: true})
	if err != nil || count(outs, Replace) != 1 {
		t.Fatalf("--force must replace: %v %+v", err, outs)
	}
	if got, _ := os.ReadFile(filepath.Join(dst, filepath.FromSlash(changed.Key()))); string(got) != "rebuilt module" {
		t.Fatalf("not replaced: %q", got)
	}
}

func TestPublishDryRunChangesNothing(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	arts := []Artifact{artifact(t, src, "9.1.0+driver", "falco_x_1_1.ko", "m")}
	outs, err := Publish(t.Context(), []Target{NewDir(dst)}, arts, Options{DryRun: true})
	if err != nil || count(outs, Upload) != 1 {
		t.Fatalf("%v %+v", err, outs)
	}
	if entries, _ := os.ReadDir(dst); len(entries) != 0 {
		t.Errorf("dry run wrote %v", entries)
	}
}

func TestFromBuildRejectsChangedFiles(t *testing.T) {
	out := t.TempDir()
	a := artifact(t, out, "9.1.0+driver", "falco_x_1_1.ko", "m")
	r := &grid.Report{Builds: []grid.BuildResult{{Entry: grid.Entry{DriverVersion: "9.1.0+driver", Arch: "x86_64", File: a.File, Key: a.Key()}, Status: grid.Built, SHA256: a.SHA256, Size: a.Size}}}
	if err := grid.WriteManifest(filepath.Join(out, grid.ManifestFile), r); err != nil {
		t.Fatal(err)
	}
	if arts, err := FromBuild(out); err != nil || len(arts) != 1 {
		t.Fatalf("%v %v", arts, err)
	}
	if err := os.WriteFile(a.Path, []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := FromBuild(out); err == nil {
		t.Fatal("a file changed since the build was accepted")
	}
}

// Run builds only what a target misses and publishes it; a second run
// builds and uploads nothing.
func TestRunBuildsOnlyWhatIsMissing(t *testing.T) {
	out, dst := t.TempDir(), t.TempDir()
	k := &config.Kernel{KernelRelease: "6.1.170-3-amd64", KernelVersion: "1", Target: "debian", Architecture: config.AMD64}
	plan := []grid.Entry{entry(k, config.Module), entry(k, config.Probe)}
	builds := 0
	build := builderFunc(func(_ context.Context, todo []grid.Entry) (*grid.Report, error) {
		r := &grid.Report{Total: len(todo)}
		for _, e := range todo {
			builds++
			a := artifact(t, out, e.DriverVersion, e.File, "bytes of "+e.File)
			r.Builds = append(r.Builds, grid.BuildResult{Entry: e, Status: grid.Built, SHA256: a.SHA256, Size: a.Size})
			r.Built++
		}
		return r, nil
	})
	target := NewDir(dst)
	rep, err := Run(t.Context(), plan, build, []Target{target}, RunOptions{Out: out})
	if err != nil || builds != 2 || count(rep.Outcomes, Upload) != 2 {
		t.Fatalf("first run: %v, %d builds, %+v", err, builds, rep.Outcomes)
	}
	rep, err = Run(t.Context(), plan, build, []Target{target}, RunOptions{Out: out})
	if err != nil || builds != 2 || len(rep.Outcomes) != 0 || rep.Build.Skipped != 2 {
		t.Fatalf("second run must do nothing: %v, %d builds, %+v", err, builds, rep)
	}
	if _, err := os.Stat(filepath.Join(out, grid.ManifestFile)); err != nil {
		t.Error(err)
	}
}

func entry(k *config.Kernel, kind config.Kind) grid.Entry {
	file := config.FileName(k, kind)
	return grid.Entry{DriverVersion: "9.1.0+driver", Arch: "x86_64", Target: k.Target, KernelRelease: k.KernelRelease,
		KernelVersion: k.KernelVersion, Kind: kind, File: file, Key: config.ObjectKey("9.1.0+driver", k.Architecture, file), Kernel: k}
}
