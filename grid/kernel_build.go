package grid

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/falcosecurity/dbg/config"
)

// kernelBuild is every planned build of one kernel: they share one
// container, one copy of the headers and one headers preparation.
type kernelBuild struct {
	kernel   *config.Kernel
	versions []versionBuild
}

// versionBuild is the plan entries of one driver version for the kernel.
type versionBuild struct {
	version config.DriverVersion
	entries []Entry
}

func (vb versionBuild) kinds() []config.Kind {
	kinds := make([]config.Kind, len(vb.entries))
	for i, e := range vb.entries {
		kinds[i] = e.Kind
	}
	return kinds
}

// buildKernel builds one kernel and returns a result per entry. Every
// result has a log: the build's, or one that says why it did not run.
func (b *Builder) buildKernel(ctx context.Context, kb kernelBuild) []BuildResult {
	rs := b.runKernel(ctx, kb)
	for i := range rs {
		if rs[i].Log == "" && rs[i].Status != Built {
			b.writeLogs(rs[i:i+1], []byte(rs[i].Reason+"\n"), nil)
		}
	}
	return rs
}

func (b *Builder) runKernel(ctx context.Context, kb kernelBuild) []BuildResult {
	start := time.Now()
	job, ready, failed := b.prepare(ctx, kb)
	if len(ready) == 0 {
		return failed
	}
	work, err := os.MkdirTemp(b.workDir, "job-")
	if err != nil {
		return append(failed, resultsOf(ready, Failed, "create work folder: "+err.Error(), true, time.Since(start))...)
	}
	defer os.RemoveAll(work)
	job.HostOut = work
	res, err := b.runner.Run(ctx, job)
	if err != nil {
		status, infra := Failed, true
		if ctx.Err() != nil {
			status, infra = Skipped, false
		}
		return append(failed, resultsOf(ready, status, "run build container: "+err.Error(), infra, time.Since(start))...)
	}
	if res.OutputErr != nil {
		return append(failed, resultsOf(ready, Failed, "build container output rejected: "+res.OutputErr.Error(), false, res.Duration)...)
	}
	built := b.collect(kb.kernel, ready, work, res)
	for i := range built {
		built[i].Container = res.Duration.Seconds()
	}
	return append(failed, built...)
}

// prepare fetches the inputs and renders the scripts. It returns the job,
// the versions ready to build and the results of those that failed already.
func (b *Builder) prepare(ctx context.Context, kb kernelBuild) (Job, []versionBuild, []BuildResult) {
	k := kb.kernel
	job := Job{
		Name: k.ID(), Image: b.imageFor(k), Cmd: []string{"/bin/bash", "/dbg/run.sh"},
		OutDir: "/out", Limits: b.opts.Limits, Scratch: []string{"/tmp"},
	}
	headers, err := b.headerFiles(ctx, k)
	if err != nil {
		return job, nil, failAll(ctx, kb.versions, "kernel headers: ", err)
	}
	job.Files = headers
	if k.KernelConfigData != "" {
		data, _ := base64.StdEncoding.DecodeString(k.KernelConfigData) // validated
		job.Files = append(job.Files, File{Path: kernelConfig, Mode: 0o644, Data: data})
	}
	var ready []versionBuild
	var failed []BuildResult
	for _, vb := range kb.versions {
		files, err := b.versionFiles(ctx, k, vb, len(ready))
		if err != nil {
			failed = append(failed, failAll(ctx, []versionBuild{vb}, "driver "+vb.version.Version+": ", err)...)
			continue
		}
		job.Files = append(job.Files, files...)
		ready = append(ready, vb)
	}
	job.Files = append(job.Files, File{Path: "/dbg/run.sh", Mode: 0o755, Data: []byte(wrapperScript(len(ready), b.opts.Timeout))})
	job.Timeout = time.Duration(len(ready)+1)*b.opts.Timeout + time.Minute
	return job, ready, failed
}

// headerFiles fetches the kernel's header packages and renders the script
// that unpacks them.
func (b *Builder) headerFiles(ctx context.Context, k *config.Kernel) ([]File, error) {
	script, err := renderHeaders(k)
	if err != nil {
		return nil, err
	}
	files := []File{{Path: "/dbg/headers.sh", Mode: 0o755, Data: []byte(script)}}
	for i, u := range headerURLs(k) {
		blob, err := b.fetcher.Fetch(ctx, u)
		if err != nil {
			return nil, err
		}
		files = append(files, File{Path: headerPath(i, u), Mode: 0o644, HostPath: blob.Path})
	}
	return files, nil
}

// versionFiles fetches the driver source and renders the scripts of the
// version that will run as /dbg/v<slot>.
func (b *Builder) versionFiles(ctx context.Context, k *config.Kernel, vb versionBuild, slot int) ([]File, error) {
	blob, err := b.fetcher.Fetch(ctx, b.versions.SourceURL(vb.version.Version))
	if err != nil {
		return nil, fmt.Errorf("fetch driver source: %w", err)
	}
	vs, err := renderVersion(k, vb.version, vb.kinds(), b.imageFor(k), b.gccFor(k))
	if err != nil {
		return nil, err
	}
	dir := fmt.Sprintf("/dbg/v%d/", slot)
	return []File{
		{Path: srcDir + "/" + vb.version.Version + ".tar.gz", Mode: 0o644, HostPath: blob.Path},
		{Path: dir + "libs.sh", Mode: 0o755, Data: []byte(vs.Libs)},
		{Path: dir + "build.sh", Mode: 0o755, Data: []byte(vs.Build)},
	}, nil
}

// failAll fails (or, when the run was interrupted, skips) every entry.
func failAll(ctx context.Context, vbs []versionBuild, what string, err error) []BuildResult {
	status, infra := Failed, isInfra(err)
	if ctx.Err() != nil {
		status, infra = Skipped, false
	}
	return resultsOf(vbs, status, what+err.Error(), infra, 0)
}

// isInfra tells whether a fetch error is the network's fault rather than
// the config's (a 404 is the config's: a transient error after retries is not).
func isInfra(err error) bool {
	var fe *FetchError
	if errors.As(err, &fe) {
		return !fe.Permanent()
	}
	return false
}

func resultsOf(vbs []versionBuild, status Status, reason string, infra bool, d time.Duration) []BuildResult {
	var out []BuildResult
	for _, vb := range vbs {
		out = append(out, results(vb.entries, status, reason, infra, d)...)
	}
	return out
}

func (b *Builder) imageFor(k *config.Kernel) string {
	if k.BuilderImage != "" {
		return k.BuilderImage
	}
	return expandImage(b.opts.BuilderImage, k.Target, b.gccFor(k))
}

func (b *Builder) gccFor(k *config.Kernel) string {
	if k.GCCVersion != "" {
		return k.GCCVersion
	}
	return b.opts.GCCVersion
}

func logPath(out string, e Entry) string {
	return filepath.Join(out, "logs", e.DriverVersion, e.Arch, e.Target+"_"+e.KernelRelease+"_"+e.KernelVersion+".log")
}
