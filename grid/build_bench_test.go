package grid

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid/gridtest"
)

// BenchmarkBuild builds the lab's real Debian kernels (6, or $DBG_BENCH_KERNELS)
// × 2 driver versions × 2 kinds with --jobs 1 and 2, and reports:
//   - makespan-s: wall time of the whole build
//   - build-sum-s: sum of the per-build times, i.e. of the time each build
//     holds a job slot: a kernel's container, create to remove, holds all of
//     the kernel's builds (one build = one driver version, module and probe)
//   - efficiency: build-sum / (jobs × makespan), how busy the slots were;
//     the goal is >= 0.9 at jobs=2
//   - compile-sum-s: sum of the build scripts' own times (cmake, make)
//   - overhead-s/build: (build-sum - compile-sum) / builds: container
//     create, copy in, unpacking headers, copy out, remove; goal < 1 s
//   - downloaded-MB and distinct-MB: bytes fetched vs bytes of distinct
//     inputs; the goal is equality (each input downloaded once)
//
// Run with -benchtime 1x: one iteration is a whole build.
func BenchmarkBuild(b *testing.B) {
	lab, image := benchLab(b)
	for _, jobs := range []int{1, 2} {
		b.Run(fmt.Sprintf("jobs=%d", jobs), func(b *testing.B) {
			for b.Loop() {
				benchBuildOnce(b, lab, image, jobs)
			}
		})
	}
}

func benchLab(b *testing.B) (*gridtest.Lab, string) {
	root, err := gridtest.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	image := DefaultBuilderImage
	if out, err := exec.Command("bash", filepath.Join(root, "deploy/builder/build-image.sh"), image).CombinedOutput(); err != nil {
		b.Fatalf("builder image: %v\n%s", err, out)
	}
	cache, err := gridtest.CacheDir()
	if err != nil {
		b.Fatal(err)
	}
	n := 6
	if v := os.Getenv("DBG_BENCH_KERNELS"); v != "" {
		fmt.Sscan(v, &n)
	}
	lab, err := gridtest.NewLab(b.Context(), b.TempDir(), filepath.Join(cache, "debian-headers"), n)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { lab.Close() })
	return lab, image
}

func benchBuildOnce(b *testing.B, lab *gridtest.Lab, image string, jobs int) {
	kernels, probs, err := config.Load(b.Context(), lab.ConfigDir)
	if err != nil || len(probs) > 0 {
		b.Fatal(err, probs)
	}
	dv, err := config.LoadDriverVersions(filepath.Join(lab.ConfigDir, config.DriverVersionsFile))
	if err != nil {
		b.Fatal(err)
	}
	plan, err := Plan(kernels, dv, Options{})
	if err != nil {
		b.Fatal(err)
	}
	fetcher, err := NewFetcher(b.TempDir(), FetchOptions{})
	if err != nil {
		b.Fatal(err)
	}
	docker, err := NewDocker(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	defer docker.Close()
	builder := NewBuilder(docker, fetcher, dv, BuildOptions{Out: b.TempDir(), Jobs: jobs, BuilderImage: image, Timeout: 10 * time.Minute})
	start := time.Now()
	report, err := builder.Build(b.Context(), plan)
	makespan := time.Since(start).Seconds()
	if err != nil || report.Built != len(plan) {
		b.Fatalf("build: %v, %d of %d built", err, report.Built, len(plan))
	}
	compileSum, slotSum, builds := buildTimes(report)
	b.ReportMetric(makespan, "makespan-s")
	b.ReportMetric(slotSum, "build-sum-s")
	b.ReportMetric(compileSum, "compile-sum-s")
	b.ReportMetric(slotSum/(float64(jobs)*makespan), "efficiency")
	b.ReportMetric((slotSum-compileSum)/float64(builds), "overhead-s/build")
	b.ReportMetric(float64(fetcher.Stats().BytesDownloaded)/1e6, "downloaded-MB")
	b.ReportMetric(float64(distinctInputBytes(b, lab))/1e6, "distinct-MB")
}

// buildTimes sums the builds' own times (once per kernel and driver
// version) and the containers' wall times (once per kernel).
func buildTimes(r *Report) (builds, containers float64, n int) {
	seenBuild, seenKernel := map[string]bool{}, map[string]bool{}
	for _, res := range r.Builds {
		if k := res.Config + "|" + res.DriverVersion; !seenBuild[k] {
			seenBuild[k] = true
			builds += res.Duration
			n++
		}
		if !seenKernel[res.Config] {
			seenKernel[res.Config] = true
			containers += res.Container
		}
	}
	return builds, containers, n
}

// distinctInputBytes is the size of every distinct file the lab serves to
// the plan: header packages and driver sources.
func distinctInputBytes(b *testing.B, lab *gridtest.Lab) int64 {
	files := map[string]bool{}
	for _, k := range lab.Kernels {
		for _, f := range k.Files {
			files[f] = true
		}
	}
	for _, v := range lab.DriverVersions {
		files[filepath.Join(lab.Root, "src", v+".tar.gz")] = true
	}
	var total int64
	for f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			b.Fatal(err)
		}
		total += fi.Size()
	}
	return total
}
