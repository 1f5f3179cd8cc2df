package grid

import (
	"context"
	"errors"
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

// Backend runs build jobs and makes sure their images exist.
type Backend interface {
	Runner
	EnsureImage(ctx context.Context, image string) error
}

// BuildOptions configure a Builder.
type BuildOptions struct {
	Out          string        // output folder, laid out like the bucket
	Jobs         int           // kernels built at once; default: CPU count
	FailFast     bool          // stop starting builds after the first failure
	Timeout      time.Duration // per build (one driver version of one kernel)
	BuilderImage string        // default image; {target} and {gcc} are replaced
	GCCVersion   string        // default gcc when a config names none
	Limits       Limits        // per container
	Progress     io.Writer     // progress lines; nil: none
}

// The builder image and gcc used when neither the config nor the options
// name one: the local Debian bookworm image of deploy/builder.
const (
	DefaultBuilderImage = "dbg-builder:bookworm"
	DefaultGCC          = "12"
)

// ErrInfra marks a run in which the infrastructure failed.
var ErrInfra = errors.New("infrastructure failure")

// Builder builds plans: one container per kernel, kernels in parallel.
type Builder struct {
	runner   Backend
	fetcher  *Fetcher
	versions *config.DriverVersions
	opts     BuildOptions
	workDir  string
}

// NewBuilder wires a builder; nothing is started.
func NewBuilder(backend Backend, fetcher *Fetcher, dv *config.DriverVersions, opts BuildOptions) *Builder {
	if opts.Jobs < 1 {
		opts.Jobs = runtime.NumCPU()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 20 * time.Minute
	}
	if opts.BuilderImage == "" {
		opts.BuilderImage = DefaultBuilderImage
	}
	if opts.GCCVersion == "" {
		opts.GCCVersion = DefaultGCC
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	return &Builder{runner: backend, fetcher: fetcher, versions: dv, opts: opts}
}

// Build builds every entry of plan, writes the artifacts, SHA256SUMS and
// manifest.json into the output folder, and returns one result per entry
// in plan order. The error is for failures that stop the run before any
// build (missing image, unwritable output); failed builds are in the results.
func (b *Builder) Build(ctx context.Context, plan []Entry) (*Report, error) {
	start := time.Now()
	groups := groupByKernel(plan, b.versions)
	if err := b.ensureImages(ctx, groups); err != nil {
		return nil, err
	}
	b.workDir = filepath.Join(b.opts.Out, ".work")
	if err := os.MkdirAll(b.workDir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: create output folder: %v", ErrInfra, err)
	}
	defer os.RemoveAll(b.workDir)
	rs := b.fanOut(ctx, groups, newProgress(b.opts.Progress, len(plan)))
	report := newReport(plan, rs, start)
	if err := b.writeOutputs(report); err != nil {
		return report, fmt.Errorf("%w: %v", ErrInfra, err)
	}
	return report, nil
}

func (b *Builder) ensureImages(ctx context.Context, groups []kernelBuild) error {
	seen := map[string]bool{}
	for _, g := range groups {
		img := b.imageFor(g.kernel)
		if seen[img] {
			continue
		}
		seen[img] = true
		if err := b.runner.EnsureImage(ctx, img); err != nil {
			return fmt.Errorf("%w: %v", ErrInfra, err)
		}
	}
	return nil
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
func groupByKernel(plan []Entry, dv *config.DriverVersions) []kernelBuild {
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
			g.versions = append(g.versions, versionBuild{version: findVersion(dv, e.DriverVersion)})
		}
		g.versions[vi].entries = append(g.versions[vi].entries, e)
	}
	return groups
}

func findVersion(dv *config.DriverVersions, v string) config.DriverVersion {
	for _, x := range dv.Versions {
		if x.Version == v {
			return x
		}
	}
	return config.DriverVersion{Version: v}
}

// expandImage fills the {target} and {gcc} placeholders of an image template.
func expandImage(tmpl, target, gcc string) string {
	return strings.NewReplacer("{target}", target, "{gcc}", gcc).Replace(tmpl)
}
