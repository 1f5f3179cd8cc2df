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

// BenchmarkBuild builds the real driver (falcosecurity/libs from
// $DBG_LIBS_DIR or ../shared/data/libs: 10.2.0+driver's module, 9.1.0+driver's
// module and probe) for the lab's real Debian kernels (4, or
// $DBG_BENCH_KERNELS) with --jobs 1 and 2, and reports:
//   - makespan-s: wall time of the whole build
//   - container-sum-s: sum of the kernels' container wall times (create to
//     remove), i.e. of the time each kernel holds a job slot
//   - efficiency: container-sum / (jobs × makespan), how busy the slots
//     were; the goal is >= 0.9 at jobs=2
//   - compile-s/build: mean time of one build's scripts (unpacking the
//     source, cmake, make) in the container
//   - overhead-s/build: (container-sum - compile-sum) / builds: container
//     create, copy in, unpacking headers, copy out, remove
//   - downloaded-MB and distinct-MB: bytes fetched vs bytes of distinct
//     inputs; the goal is equality (each input downloaded once)
//
// Run with -benchtime 1x: one iteration is a whole build.
func BenchmarkBuild(b *testing.B) {
	lab, image, libs, dir := benchLab(b)
	for _, jobs := range []int{1, 2} {
		b.Run(fmt.Sprintf("jobs=%d", jobs), func(b *testing.B) {
			for b.Loop() {
				benchBuildOnce(b, lab, libs, dir, image, jobs)
			}
		})
	}
}

// benchLab makes the builder image and a lab serving the real driver, and
// writes the benchmark's config dir: the first $DBG_BENCH_KERNELS kernels.
func benchLab(b *testing.B) (lab *gridtest.Lab, image, libs, dir string) {
	root, err := gridtest.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	image = DefaultBuilderImage // the host's: build-image.sh makes it by default
	if out, err := exec.Command("bash", filepath.Join(root, "deploy/builder/build-image.sh")).CombinedOutput(); err != nil {
		b.Fatalf("builder image: %v\n%s", err, out)
	}
	cache, err := gridtest.CacheDir()
	if err != nil {
		b.Fatal(err)
	}
	libs, err = gridtest.FindLibsDir()
	if err != nil {
		b.Fatal(err)
	}
	lab, err = gridtest.NewLab(b.Context(), b.TempDir(), filepath.Join(cache, "debian-headers"), 6)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { lab.Close() })
	versions, err := lab.AddLibs(libs)
	if err != nil {
		b.Fatal(err)
	}
	dv := config.DriverVersions{}
	for _, v := range versions {
		if v.Version == "10.2.0+driver" || v.Version == "9.1.0+driver" {
			dv.Versions = append(dv.Versions, v)
		}
	}
	dir = filepath.Join(b.TempDir(), "kernels")
	if err := lab.WriteConfigDir(dir, dv); err != nil {
		b.Fatal(err)
	}
	return lab, image, libs, dir
}

func benchBuildOnce(b *testing.B, lab *gridtest.Lab, libs, dir, image string, jobs int) {
	load := config.LoadOptions{AllowPrivateURLs: true} // the lab serves from 127.0.0.1
	kernels, probs, err := load.Load(b.Context(), dir)
	if err != nil || len(probs) > 0 {
		b.Fatal(err, probs)
	}
	n := 4
	if v := os.Getenv("DBG_BENCH_KERNELS"); v != "" {
		fmt.Sscan(v, &n)
	}
	kernels = kernels[:min(n, len(kernels))]
	dv, err := load.LoadDriverVersions(filepath.Join(dir, config.DriverVersionsFile))
	if err != nil {
		b.Fatal(err)
	}
	plan, err := Plan(kernels, dv, Options{})
	if err != nil {
		b.Fatal(err)
	}
	fetcher, err := NewFetcher(b.TempDir(), FetchOptions{AllowPrivate: true})
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
	compileSum, slotSum := buildTimes(report)
	builds := float64(len(report.Builds))
	b.ReportMetric(makespan, "makespan-s")
	b.ReportMetric(slotSum, "container-sum-s")
	b.ReportMetric(compileSum/builds, "compile-s/build")
	b.ReportMetric(slotSum/(float64(jobs)*makespan), "efficiency")
	b.ReportMetric((slotSum-compileSum)/builds, "overhead-s/build")
	b.ReportMetric(float64(fetcher.Stats().BytesDownloaded)/1e6, "downloaded-MB")
	b.ReportMetric(float64(distinctInputBytes(b, lab, libs, report))/1e6, "distinct-MB")
}

// buildTimes sums the builds' own times and the containers' wall times
// (once per kernel).
func buildTimes(r *Report) (builds, containers float64) {
	seenKernel := map[string]bool{}
	for _, res := range r.Builds {
		builds += res.Duration
		if !seenKernel[res.Config] {
			seenKernel[res.Config] = true
			containers += res.Container
		}
	}
	return builds, containers
}

// distinctInputBytes is the size of every distinct input the plan needed:
// the header packages of its kernels and its driver sources, as the lab
// serves them.
func distinctInputBytes(b *testing.B, lab *gridtest.Lab, libs string, r *Report) int64 {
	files := map[string]bool{}
	built := map[string]bool{}
	for _, res := range r.Builds {
		built[res.KernelRelease] = true
		files[filepath.Join(libs, res.DriverVersion+".tar.gz")] = true
	}
	for _, k := range lab.Kernels {
		if built[k.Release] {
			for _, f := range k.Files {
				files[f] = true
			}
		}
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
