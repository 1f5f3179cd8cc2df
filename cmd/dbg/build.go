package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
	"github.com/falcosecurity/dbg/publisher"
)

// buildFlags are the flags of commands that build.
type buildFlags struct {
	out, cacheDir, image, gcc string
	jobs                      int
	failFast                  bool
	timeout                   time.Duration
	memoryMiB, pids           int64
	cpus                      float64
	user                      string
	bootCheck                 bool
	bootDir                   string
}

func (f *buildFlags) bind(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.out, "out", "out", "output folder, laid out like the bucket: <out>/driver/<driver version>/<arch>/<file>")
	fl.StringVar(&f.cacheDir, "cache-dir", defaultCacheDir(), "download cache shared by runs (header packages, driver sources)")
	fl.StringVar(&f.image, "builder-image", "", "builder image when a config names none; {arch} (amd64, arm64), {target} and {gcc} are replaced (default: the image of the gcc, by dbg's table; else "+grid.DefaultBuilderImage+")")
	fl.StringVar(&f.gcc, "gcc-version", "", "gcc version when a config names none; the builder image must have /usr/bin/gcc-<version> (default: the major of the kernel's own gcc, read from its headers; else "+grid.DefaultGCC+")")
	fl.IntVar(&f.jobs, "jobs", runtime.NumCPU(), "kernels built at once")
	fl.BoolVar(&f.failFast, "fail-fast", false, "stop starting builds after the first failure")
	fl.DurationVar(&f.timeout, "timeout", 20*time.Minute, "time limit of one build (one driver version of one kernel)")
	fl.Int64Var(&f.memoryMiB, "memory", 4096, "memory limit of a build container, MiB")
	fl.Int64Var(&f.pids, "pids", 4096, "process limit of a build container")
	fl.Float64Var(&f.cpus, "cpus", 2, "CPU limit of a build container")
	fl.StringVar(&f.user, "build-user", grid.DefaultUser, "user the build scripts run as, a name the builder image knows (\"\": the image's own, root)")
	fl.BoolVar(&f.bootCheck, "boot-check", false, "boot each module's own kernel under qemu and load the module before installing it; a module that does not load fails its build")
	fl.StringVar(&f.bootDir, "boot-dir", defaultBootDir(), "boot check cache: kernels extracted from their packages, and busybox-<arch> (deploy/boot/fetch-busybox.sh)")
}

func defaultBootDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return filepath.Join(".cache", "dbg", "boot")
	}
	return filepath.Join(dir, "dbg", "boot")
}

func defaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return filepath.Join(".cache", "dbg", "fetch")
	}
	return filepath.Join(dir, "dbg", "fetch")
}

func (f *buildFlags) options(progress io.Writer) grid.BuildOptions {
	return grid.BuildOptions{
		Out: f.out, Jobs: f.jobs, FailFast: f.failFast, Timeout: f.timeout,
		BuilderImage: f.image, GCCVersion: f.gcc, User: f.user, Progress: progress,
		Limits: grid.Limits{MemoryBytes: f.memoryMiB << 20, PIDs: f.pids, NanoCPUs: int64(f.cpus * 1e9)},
	}
}

// pipelineFlags are the flags of the commands that run the pipeline
// (publisher.Run): dbg run, and dbg build, which is dbg run without targets.
type pipelineFlags struct {
	plan  planFlags
	build buildFlags
}

// bind adds the selection flags and the build flags to cmd.
func (f *pipelineFlags) bind(cmd *cobra.Command) {
	f.plan.bind(cmd)
	f.build.bind(cmd)
	bindAllowPrivateURLs(cmd, &f.plan.allowPrivateURLs)
}

// run plans, opens the --to targets of to (none when to is nil) and runs the
// pipeline with opts. It returns the run's report (nil when planning or
// opening a target failed) and the number of planned builds.
func (f *pipelineFlags) run(cmd *cobra.Command, to *targetFlags, opts publisher.RunOptions) (*publisher.RunReport, int, error) {
	ctx := cmd.Context()
	p, err := f.plan.planned(ctx, cmd.ErrOrStderr())
	if err != nil {
		return nil, 0, err
	}
	plan, dv := p.entries, p.dv
	opts.NotBuildable = p.notBuildable
	var targets []publisher.Target
	if to != nil {
		if targets, err = to.open(ctx); err != nil {
			return nil, 0, err
		}
	}
	b := f.build.builder(dv, cmd.ErrOrStderr())
	b.allowPrivateURLs = f.plan.allowPrivateURLs
	rep, err := publisher.Run(ctx, plan, b, targets, opts)
	return rep, len(plan), err
}

func newBuildCmd(configDir *string) *cobra.Command {
	f := pipelineFlags{plan: planFlags{configDir: configDir}}
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build every planned driver in containers into --out, with SHA256SUMS and manifest.json",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, _, err := f.run(cmd, nil, publisher.RunOptions{Out: f.build.out})
			if rep == nil || rep.Build == nil {
				return err
			}
			printSummary(cmd.OutOrStdout(), cmd.ErrOrStderr(), rep.Build, f.build.out)
			gha := actionsFromEnv()
			gha.builds(cmd.ErrOrStderr(), rep.Build)
			if err := gha.writeSummary(rep.Build, nil); err != nil {
				slog.Warn("job summary", "err", err)
			}
			return buildOutcome(cmd.Context(), rep.Build, err)
		},
	}
	f.bind(cmd)
	return cmd
}

// buildOutcome turns a run into the error that sets the exit code.
func buildOutcome(ctx context.Context, r *grid.Report, err error) error {
	switch {
	case err != nil:
		return err
	case ctx.Err() != nil:
		return fmt.Errorf("build %w: %d built, %d failed, %d not built", config.ErrInterrupted, r.Built, r.Failed, r.Skipped)
	case r.Infra:
		return fmt.Errorf("%w: some builds failed because of the infrastructure; see the reasons above", config.ErrInfra)
	case r.Failed > 0:
		return fmt.Errorf("%w: %d of %d", grid.ErrBuildsFailed, r.Failed, r.Total)
	}
	return nil
}

// builder is the build backend of build and run: the fetch cache, the
// Docker daemon and grid's builder, wired when there is something to build
// (a run with nothing to build needs no Docker).
type builder struct {
	dv       *config.DriverVersions
	opts     grid.BuildOptions
	cacheDir string
	// allowPrivateURLs lifts the fetcher's address policy (--allow-private-urls).
	allowPrivateURLs bool
	// bootDir is the boot check's cache; "": no boot check (--boot-check).
	bootDir string
}

var _ publisher.Builder = builder{}

func (f *buildFlags) builder(dv *config.DriverVersions, progress io.Writer) builder {
	b := builder{dv: dv, opts: f.options(progress), cacheDir: f.cacheDir}
	if f.bootCheck {
		b.bootDir = f.bootDir
	}
	return b
}

// Build wires the fetch cache, the Docker backend and grid's builder, and builds.
func (b builder) Build(ctx context.Context, plan []grid.Entry) (*grid.Report, error) {
	fetcher, err := grid.NewFetcher(b.cacheDir, grid.FetchOptions{AllowPrivate: b.allowPrivateURLs})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", config.ErrInfra, err)
	}
	docker, err := grid.NewDocker(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", config.ErrInfra, err)
	}
	defer docker.Close()
	if n, err := docker.RemoveLeftovers(ctx); err != nil {
		return nil, fmt.Errorf("%w: %w", config.ErrInfra, err)
	} else if n > 0 {
		slog.Info("removed containers left by an earlier run", "count", n)
	}
	opts := b.opts
	if b.bootDir != "" {
		opts.Boot = grid.NewBooter(fetcher, grid.BootOptions{Dir: b.bootDir})
	}
	report, err := grid.NewBuilder(docker, fetcher, b.dv, opts).Build(ctx, plan)
	if err != nil && !errors.Is(err, config.ErrInfra) {
		err = fmt.Errorf("%w: %w", config.ErrInfra, err)
	}
	st := fetcher.Stats()
	slog.Info("inputs", "downloads", st.Downloads, "bytes", st.BytesDownloaded, "cache_hits", st.Hits, "failures", st.Failures)
	return report, err
}
