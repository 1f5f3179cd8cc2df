package grid

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/falcosecurity/dbg/config"
)

// Backend runs build jobs and makes sure their images exist and run their
// architecture's binaries (Docker.PrepareImage).
type Backend interface {
	Runner
	PrepareImage(ctx context.Context, image string, arch config.Arch) error
}

// BuildOptions configure a Builder.
type BuildOptions struct {
	Out      string        // output folder, laid out like the bucket
	Jobs     int           // kernels built at once; default: CPU count
	FailFast bool          // stop starting builds after the first failure
	Timeout  time.Duration // per build (one driver version of one kernel)
	// BuilderImage, when set, is the image of kernels whose config names
	// none ({arch}, {target} and {gcc} are replaced); "": picked from
	// Builders by the gcc (choose).
	BuilderImage string
	// GCCVersion, when set, is the gcc of kernels whose config names none;
	// "": the kernel's own compiler's major, else DefaultGCC.
	GCCVersion string
	// Builders is the table from gcc major to builder image; nil:
	// DefaultBuilders.
	Builders []BuilderImage

	Limits   Limits    // per container
	User     string    // the user builds run as (a name the image knows); "": the image's (root)
	Progress io.Writer // progress lines; nil: none
	// Boot, when set, boot-checks every module before it is installed
	// (--boot-check, boot_build.go).
	Boot *Booter
}

// The builder image and gcc used when neither the config, nor the options,
// nor the kernel's own compiler name one: the local Debian bookworm image of
// deploy/builder for the kernel's architecture (dbg-builder:bookworm-amd64,
// -arm64) and its gcc-12.
const (
	DefaultBuilderImage = "dbg-builder:bookworm-{arch}"
	DefaultGCC          = "12"
	// DefaultUser is who the build scripts run as: every driverkit target
	// dbg builds offline writes only below /tmp and the output folder, so
	// none needs root.
	DefaultUser = "nobody"
)

// Builder builds plans: one container per kernel, kernels in parallel.
type Builder struct {
	runner   Backend
	fetcher  *Fetcher
	versions *config.DriverVersions
	opts     BuildOptions
	workDir  string
	images   *imageSet // of the current Build
}

// NewBuilder wires a builder; nothing is started.
func NewBuilder(backend Backend, fetcher *Fetcher, dv *config.DriverVersions, opts BuildOptions) *Builder {
	if opts.Jobs < 1 {
		opts.Jobs = runtime.NumCPU()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 20 * time.Minute
	}
	if opts.Builders == nil {
		opts.Builders = DefaultBuilders()
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	return &Builder{runner: backend, fetcher: fetcher, versions: dv, opts: opts}
}

// Build builds every entry of plan: each artifact is checked, then
// installed atomically into the output folder. It returns one result per
// entry, in plan order, and writes nothing else (the run writes the
// SHA256SUMS and the manifest). The error is for failures that stop the run
// before any build (missing image, unwritable output); failed builds are in
// the results.
func (b *Builder) Build(ctx context.Context, plan []Entry) (*Report, error) {
	start := time.Now()
	groups := groupByKernel(plan)
	b.images = newImageSet(b.runner, b.describeImage)
	b.workDir = filepath.Join(b.opts.Out, ".work")
	if err := os.MkdirAll(b.workDir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: create output folder: %w", config.ErrInfra, err)
	}
	defer os.RemoveAll(b.workDir)
	rs := b.fanOut(ctx, groups, newProgress(b.opts.Progress, len(plan)))
	return NewReport(start, inPlanOrder(plan, rs)), nil
}

// inPlanOrder orders the kernels' results like the plan.
func inPlanOrder(plan []Entry, groups [][]BuildResult) []BuildResult {
	byKey := map[string]BuildResult{}
	for _, g := range groups {
		for _, r := range g {
			byKey[r.Key] = r
		}
	}
	out := make([]BuildResult, len(plan))
	for i, e := range plan {
		r, ok := byKey[e.Key]
		if !ok {
			r = Skip(e, "not built")
		}
		out[i] = r
	}
	return out
}

// fanOut builds the kernels, Jobs at a time. Kernels not started when the
// context ends (Ctrl-C, or --fail-fast after a failure) are skipped.
func (b *Builder) fanOut(ctx context.Context, groups []kernelBuild, p *progress) [][]BuildResult {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make([][]BuildResult, len(groups))
	g := errgroup.Group{}
	g.SetLimit(b.opts.Jobs)
	for i, kb := range groups {
		g.Go(func() error {
			if ctx.Err() != nil {
				out[i] = resultsOf(kb.versions, Skipped, "not started: run interrupted", false, 0)
			} else {
				out[i] = b.buildKernel(ctx, kb)
			}
			p.done(out[i])
			if b.opts.FailFast && anyFailed(out[i]) {
				cancel()
			}
			return nil
		})
	}
	_ = g.Wait()
	return out
}

func anyFailed(rs []BuildResult) bool {
	for _, r := range rs {
		if r.Status == Failed {
			return true
		}
	}
	return false
}

// groupByKernel gathers plan entries per kernel, then per driver version.
func groupByKernel(plan []Entry) []kernelBuild {
	var groups []kernelBuild
	byKernel := map[*config.Kernel]int{}
	for _, e := range plan {
		gi, ok := byKernel[e.Kernel]
		if !ok {
			gi = len(groups)
			byKernel[e.Kernel] = gi
			groups = append(groups, kernelBuild{kernel: e.Kernel})
		}
		g := &groups[gi]
		vi := -1
		for j := range g.versions {
			if g.versions[j].version.Version == e.DriverVersion {
				vi = j
			}
		}
		if vi < 0 {
			vi = len(g.versions)
			g.versions = append(g.versions, versionBuild{version: e.Version})
		}
		g.versions[vi].entries = append(g.versions[vi].entries, e)
	}
	return groups
}

// expandImage fills the placeholders of an image template: {arch} (the
// kernel's architecture as configs spell it: amd64, arm64), {target} and
// {gcc}.
func expandImage(tmpl string, arch config.Arch, target, gcc string) string {
	return strings.NewReplacer("{arch}", string(arch), "{target}", target, "{gcc}", gcc).Replace(tmpl)
}
