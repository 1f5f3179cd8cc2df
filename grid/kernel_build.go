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

// step is one build of a job: one plan entry, with what its build found
// out before the container ran.
type step struct {
	Entry
	sourceSHA256 string  // digest of the driver source tarball
	inputs       []Input // the driver source, then every header package
	scripts      string  // sha256 of the step's rendered scripts (scriptsDigest)
	rendered     []File  // the step's own scripts, until withInputs digests them
	gcc          string  // the gcc major it builds with (choose)
}

// buildKernel builds one kernel and returns a result per entry. Every
// result has a log: the build's, or one that says why it did not run.
func (b *Builder) buildKernel(ctx context.Context, kb kernelBuild) []BuildResult {
	rs := b.runKernel(ctx, kb)
	for i := range rs {
		if rs[i].Log == "" && rs[i].Status != Built {
			b.writeLog(&rs[i], []byte(rs[i].Reason+"\n"))
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
	image, err := b.images.prepare(ctx, job.Image, job.Arch)
	if err != nil {
		return append(failed, stepResults(ready, Failed, "builder image: "+err.Error(), true, time.Since(start))...)
	}
	work, err := os.MkdirTemp(b.workDir, "job-")
	if err != nil {
		return append(failed, stepResults(ready, Failed, "create work folder: "+err.Error(), true, time.Since(start))...)
	}
	defer os.RemoveAll(work)
	job.HostOut = work
	res, err := b.runner.Run(ctx, job)
	if err != nil {
		status, infra := Failed, true
		if ctx.Err() != nil {
			status, infra = Skipped, false
		}
		return append(failed, stepResults(ready, status, "run build container: "+err.Error(), infra, time.Since(start))...)
	}
	if res.OutputErr != nil {
		return append(failed, stepResults(ready, Failed, "build container output rejected: "+res.OutputErr.Error(), false, res.Duration)...)
	}
	built := b.collect(ctx, kb.kernel, ready, work, res, image)
	for i := range built {
		built[i].Container = res.Duration.Seconds()
	}
	return append(failed, built...)
}

// prepare fetches the inputs, picks the builder image and gcc (choose) and
// renders the scripts. It returns the job, the builds ready to run and the
// results of those that failed already.
func (b *Builder) prepare(ctx context.Context, kb kernelBuild) (Job, []step, []BuildResult) {
	k := kb.kernel
	job := Job{
		Name: k.ID(), Arch: k.Architecture, Cmd: []string{"/bin/bash", "/dbg/run.sh"},
		OutDir: outDir, User: b.opts.User, Limits: b.opts.Limits, Scratch: []string{"/tmp"},
	}
	if why, ok := offlineUnsupported[k.Target]; ok {
		// not a failure: dbg cannot build this target at all (no fetch, no container)
		return job, nil, resultsOf(kb.versions, NotBuildable, "target "+k.Target+" needs the network: "+why, false, 0)
	}
	headers, headerInputs, err := b.headerFiles(ctx, k)
	if err != nil {
		return job, nil, failAll(ctx, kb.versions, "kernel headers: ", err)
	}
	headersScript := headers[0].Data
	kc, kcErr := b.kernelCompilerOf(k, headers)
	c, err := b.choose(k, kc, kcErr)
	if err != nil {
		return job, nil, failAll(ctx, kb.versions, "builder image: ", err)
	}
	job.Image = c.image
	job.Files = append(headers, File{Path: outDir, Dir: true})
	if k.KernelConfigData != "" {
		data, _ := base64.StdEncoding.DecodeString(k.KernelConfigData) // validated
		job.Files = append(job.Files, File{Path: kernelConfig, Mode: 0o644, Data: data})
	}
	var ready []step
	var failed []BuildResult
	for _, vb := range kb.versions {
		steps, files, err := b.versionFiles(ctx, k, vb, len(ready), c)
		if err != nil {
			rs := failAll(ctx, []versionBuild{vb}, "driver "+vb.version.Version+": ", err)
			failed = append(failed, withSource(rs, steps)...)
			continue
		}
		job.Files = append(job.Files, files...)
		ready = append(ready, withInputs(steps, headerInputs, headersScript, c.gcc)...)
	}
	kinds := make([]config.Kind, len(ready))
	for i, s := range ready {
		kinds[i] = s.Kind
	}
	job.Files = append(job.Files, File{Path: "/dbg/run.sh", Mode: 0o755, Data: []byte(wrapperScript(kinds, b.opts.Timeout, c.gcc))})
	job.Timeout = time.Duration(len(ready)+1)*b.opts.Timeout + time.Minute
	return job, ready, failed
}

// headerFiles fetches the kernel's header packages and renders the script
// that unpacks them (the first file), and returns them as inputs too.
func (b *Builder) headerFiles(ctx context.Context, k *config.Kernel) ([]File, []Input, error) {
	script, err := renderHeaders(k)
	if err != nil {
		return nil, nil, err
	}
	files := []File{{Path: "/dbg/headers.sh", Mode: 0o755, Data: []byte(script)}}
	var inputs []Input
	for i, u := range headerURLs(k) {
		blob, err := b.fetcher.Fetch(ctx, u)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, File{Path: headerPath(i, u), Mode: 0o644, HostPath: blob.Path})
		inputs = append(inputs, Input{URL: u, SHA256: blob.SHA256})
	}
	return files, inputs, nil
}

// versionFiles fetches the driver source of one version, checks it against
// its pin, and renders the scripts of each of its builds; the first runs as
// step first. The steps come back even on error once the source is known,
// to record its digest.
func (b *Builder) versionFiles(ctx context.Context, k *config.Kernel, vb versionBuild, first int, c choice) ([]step, []File, error) {
	url := b.versions.SourceURL(vb.version.Version)
	blob, err := b.fetcher.Fetch(ctx, url)
	if err != nil {
		return nil, nil, fmt.Errorf("fetch driver source: %w", err)
	}
	steps := make([]step, len(vb.entries))
	for i, e := range vb.entries {
		steps[i] = step{Entry: e, sourceSHA256: blob.SHA256, inputs: []Input{{URL: url, SHA256: blob.SHA256}}}
	}
	if pin := vb.version.SHA256; pin != "" && pin != blob.SHA256 {
		return steps, nil, fmt.Errorf("driver source %s has sha256 %s, but driverversions.yaml pins %s", url, blob.SHA256, pin)
	}
	files := []File{{Path: srcDir + "/" + vb.version.Version + ".tar.gz", Mode: 0o644, HostPath: blob.Path}}
	for i, s := range steps {
		vs, err := renderVersion(k, vb.version, s.Kind, c.image, c.gcc)
		if err != nil {
			return steps, nil, err
		}
		dir := "/dbg/" + buildStep(first+i) + "/"
		own := []File{
			{Path: dir + "libs.sh", Mode: 0o755, Data: []byte(vs.Libs)},
			{Path: dir + "build.sh", Mode: 0o755, Data: []byte(vs.Build)}}
		steps[i].rendered = own
		files = append(files, own...)
	}
	return steps, files, nil
}

// withSource records the source digest of steps in their results.
func withSource(rs []BuildResult, steps []step) []BuildResult {
	for i := range rs {
		for _, s := range steps {
			if s.Key == rs[i].Key {
				rs[i].SourceSHA256 = s.sourceSHA256
			}
		}
	}
	return rs
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

// stepResults are results of steps that did not run, with what they knew.
func stepResults(steps []step, status Status, reason string, infra bool, d time.Duration) []BuildResult {
	out := make([]BuildResult, len(steps))
	for i, s := range steps {
		out[i] = results([]Entry{s.Entry}, status, reason, infra, d)[0]
		out[i].SourceSHA256 = s.sourceSHA256
	}
	return out
}

// logPath is the log file of one build: logs/<driver version>/<arch>/<file>.log.
func logPath(out string, e Entry) string {
	return filepath.Join(out, LogRel(e))
}

// LogRel is where, relative to the output folder, the log of e is.
func LogRel(e Entry) string {
	return filepath.Join("logs", e.DriverVersion, e.Arch, e.File+".log")
}
