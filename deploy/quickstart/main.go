// Command quickstart builds real Falco drivers on this machine, end to end:
//
//	go run ./deploy/quickstart [-out out] [-kernels 6] [-jobs N] [-libs-dir DIR]
//
// It makes the local builder image (deploy/builder/build-image.sh), downloads
// the header packages of a few real Debian kernels from Debian's archive
// (once; they are cached) and serves them from 127.0.0.1, then runs `dbg
// build` on configs that point there, for the real driver (falcosecurity/libs)
// at the driver versions of kernels/driverversions.yaml's window plus the
// newest listed version with the legacy eBPF probe, so both kinds are built.
//
// The driver source is GitHub's archive (driverversions.yaml's source) when
// it answers; with -libs-dir (default $DBG_LIBS_DIR), a folder of
// <version>.tar.gz files with their SHA256SUMS, such as ../shared/data/libs,
// served from 127.0.0.1 with every digest pinned. When neither is available
// it says so in one line and builds the miniature stand-in driver
// (deploy/minidriver, two made-up versions) instead.
//
// The drivers land in <out>/driver/<version>/x86_64/ with a SHA256SUMS file.
// The exit code is dbg's, or 2 when the preparation fails.
//
// Needs: Docker, root (the first run debootstraps the builder image), a
// Debian host with apt (the header packages), and Go.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/blang/semver/v4"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
	"github.com/falcosecurity/dbg/grid/gridtest"
)

// options are the command line.
type options struct {
	out, cacheDir, image, libsDir string
	kernels, jobs                 int
}

func main() {
	os.Exit(run())
}

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	opts, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		return 2
	}
	code, err := quickstart(ctx, opts, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
	}
	return code
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.StringVar(&o.out, "out", "out", "output folder of the drivers")
	fs.StringVar(&o.cacheDir, "cache-dir", "", "cache folder (default: $DBG_CACHE_DIR, else $XDG_CACHE_HOME/dbg, else ~/.cache/dbg)")
	fs.IntVar(&o.kernels, "kernels", 6, "how many real Debian kernels to build for (at least 6)")
	fs.IntVar(&o.jobs, "jobs", runtime.NumCPU(), "kernels built at once")
	fs.StringVar(&o.image, "image", "dbg-builder:bookworm", "builder image, made by deploy/builder/build-image.sh when missing")
	fs.StringVar(&o.libsDir, "libs-dir", os.Getenv(gridtest.LibsEnv),
		"folder of real driver sources (<version>.tar.gz and their SHA256SUMS) to serve from 127.0.0.1, digests pinned (default $"+gridtest.LibsEnv+"; unset: GitHub's archive)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.kernels < 6 || o.jobs < 1 {
		return o, errors.New("-kernels must be at least 6 and -jobs at least 1")
	}
	var err error
	if o.cacheDir == "" {
		if o.cacheDir, err = gridtest.CacheDir(); err != nil {
			return o, err
		}
	}
	if o.cacheDir, err = filepath.Abs(o.cacheDir); err != nil {
		return o, err
	}
	return o, nil
}

// quickstart prepares everything, runs dbg build and reports. It returns the
// exit code: dbg's, or 2 when something before it failed.
func quickstart(ctx context.Context, o options, stdout io.Writer) (int, error) {
	repo, err := gridtest.RepoRoot()
	if err != nil {
		return 2, err
	}
	step("builder image " + o.image)
	if err := runTool(ctx, repo, "bash", filepath.Join(repo, "deploy/builder/build-image.sh"), o.image); err != nil {
		return 2, fmt.Errorf("make the builder image: %w", err)
	}
	root := filepath.Join(o.cacheDir, "quickstart")
	dbg := filepath.Join(root, "dbg")
	step("dbg binary " + dbg)
	if err := runTool(ctx, repo, "go", "build", "-o", dbg, "./cmd/dbg"); err != nil {
		return 2, fmt.Errorf("build dbg: %w", err)
	}
	step(fmt.Sprintf("lab: %d Debian kernels' headers and the stand-in driver's sources", o.kernels))
	lab, err := gridtest.NewLab(ctx, root, filepath.Join(o.cacheDir, "debian-headers"), o.kernels)
	if err != nil {
		return 2, fmt.Errorf("prepare the lab: %w", err)
	}
	for _, k := range lab.Kernels {
		slog.Info("kernel", "release", k.Release, "uname_r", k.UnameR)
	}
	d, err := chooseDrivers(ctx, repo, lab, o)
	if err != nil {
		lab.Close()
		return 2, err
	}
	names := make([]string, len(d.versions))
	for i, v := range d.versions {
		names[i] = v.Version + " " + kindList(v)
	}
	what := fmt.Sprintf("driver versions %s from %s: %d kernels x %d versions", strings.Join(names, ", "), d.from, len(lab.Kernels), len(d.versions))
	if d.real {
		what += "; the real driver takes about 17-40 s per build per kernel on 2 cores, so this takes a few minutes"
	}
	step(what)
	code := runDBG(ctx, dbg, d.configDir, o)
	if err := lab.Close(); err != nil {
		slog.Warn("stop the lab server", "err", err)
	}
	report(stdout, o.out, d, code)
	if code != 0 {
		return code, fmt.Errorf("dbg build exited with %d", code)
	}
	return 0, nil
}

func step(what string) { slog.Info("quickstart: " + what) }

// runTool runs a preparation command in dir with its output on stderr.
func runTool(ctx context.Context, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// runDBG runs `dbg build` with its output passed through, and returns its
// exit code (2 when it could not run or was killed). The lab serves until
// dbg exits. On a signal dbg gets SIGTERM, and time to clean up.
func runDBG(ctx context.Context, dbg, configDir string, o options) int {
	// The lab serves from 127.0.0.1: lift the download address policy.
	args := []string{"build", "--allow-private-urls", "--config-dir", configDir, "--out", o.out,
		"--cache-dir", filepath.Join(o.cacheDir, "fetch"), "--builder-image", o.image, "--jobs", strconv.Itoa(o.jobs)}
	step("dbg " + strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, dbg, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit) && exit.ExitCode() > 0:
		return exit.ExitCode()
	default:
		slog.Error("dbg build", "err", err)
		return 2
	}
}

// drivers is what the quickstart builds: a config dir for the lab's
// kernels and its driver versions.
type drivers struct {
	configDir string
	versions  []config.DriverVersion
	from      string // where the sources come from
	real      bool   // the real driver, not the stand-in
}

// realConfigDir is the quickstart's config dir for the real driver, under
// the lab's root.
const realConfigDir = "kernels-real"

// chooseDrivers picks the driver versions and their source: the real
// driver from -libs-dir when given, else from the repository's source
// (GitHub) when it answers, else the stand-in of the lab's own config dir.
func chooseDrivers(ctx context.Context, repo string, lab *gridtest.Lab, o options) (drivers, error) {
	repoDV, err := config.LoadDriverVersions(filepath.Join(repo, "kernels", config.DriverVersionsFile))
	if err != nil {
		return drivers{}, fmt.Errorf("read the driver versions: %w", err)
	}
	want := quickstartVersions(repoDV)
	dir := filepath.Join(lab.Root, realConfigDir)
	if o.libsDir != "" {
		step("real driver sources from " + o.libsDir)
		libs, err := lab.AddLibs(o.libsDir)
		if err != nil {
			return drivers{}, fmt.Errorf("%s=%s: %w", gridtest.LibsEnv, o.libsDir, err)
		}
		pinned, err := pinVersions(want, libs, o.libsDir)
		if err != nil {
			return drivers{}, err
		}
		if err := lab.WriteConfigDir(dir, config.DriverVersions{Window: len(pinned), Versions: pinned}); err != nil {
			return drivers{}, err
		}
		return drivers{configDir: dir, versions: pinned, real: true,
			from: o.libsDir + " (served from " + lab.URL + ", sha256 pinned)"}, nil
	}
	host := sourceHost(repoDV.Source)
	step("is " + host + " reachable? (the real driver source)")
	if err := reachable(ctx, repoDV, want, reachTimeout); err != nil {
		fmt.Fprintf(os.Stderr, "quickstart: real driver source unavailable (%s unreachable: %v; %s unset): building the stand-in deploy/minidriver instead\n",
			host, err, gridtest.LibsEnv)
		mini := make([]config.DriverVersion, len(lab.DriverVersions))
		for i, v := range lab.DriverVersions {
			mini[i] = config.DriverVersion{Version: v, Kinds: []config.Kind{config.Module, config.Probe}}
		}
		return drivers{configDir: lab.ConfigDir, versions: mini, from: "deploy/minidriver (the stand-in)"}, nil
	}
	if err := lab.WriteConfigDir(dir, config.DriverVersions{Window: len(want), Source: repoDV.Source, Versions: want}); err != nil {
		return drivers{}, err
	}
	return drivers{configDir: dir, versions: want, real: true, from: host}, nil
}

// quickstartVersions is the window of dv plus, when no version in it has
// the legacy eBPF probe, the newest listed version that has one, so that
// both kinds are built. Pre-releases count only when they opt in, as in the
// window.
func quickstartVersions(dv *config.DriverVersions) []config.DriverVersion {
	out := dv.Newest()
	if slices.ContainsFunc(out, func(v config.DriverVersion) bool { return v.Has(config.Probe) }) {
		return out
	}
	for _, v := range dv.Sorted() {
		sv, err := semver.Parse(v.Version)
		if err != nil || (len(sv.Pre) > 0 && !v.Prerelease) || !v.Has(config.Probe) {
			continue
		}
		return append(out, v)
	}
	return out
}

// pinVersions pins each wanted version to the digest of its tarball in the
// libs folder; every wanted version must be there.
func pinVersions(want, libs []config.DriverVersion, dir string) ([]config.DriverVersion, error) {
	byVersion := map[string]config.DriverVersion{}
	var have []string
	for _, l := range libs {
		byVersion[l.Version] = l
		have = append(have, l.Version)
	}
	var missing []string
	out := make([]config.DriverVersion, len(want))
	for i, w := range want {
		l, ok := byVersion[w.Version]
		if !ok {
			missing = append(missing, w.Version+".tar.gz")
			continue
		}
		if w.SHA256 != "" && w.SHA256 != l.SHA256 {
			slog.Warn("driverversions.yaml pins another digest than the libs folder's; using the folder's", "version", w.Version, "pinned", w.SHA256, "folder", l.SHA256)
		}
		if kindList(w) != kindList(l) {
			slog.Warn("driverversions.yaml lists other kinds than the source has", "version", w.Version, "listed", kindList(w), "source", kindList(l))
		}
		w.SHA256 = l.SHA256
		out[i] = w
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s=%s has no %s (the quickstart builds %s; the folder has %s)",
			gridtest.LibsEnv, dir, strings.Join(missing, ", "), versionList(want), strings.Join(have, ", "))
	}
	return out, nil
}

// reachTimeout bounds the check that the driver source answers.
const reachTimeout = 10 * time.Second

// reachable asks, in parallel, for the first byte of each version's source
// tarball (redirects followed); it fails when one does not answer 200 or
// 206 within timeout.
func reachable(ctx context.Context, dv *config.DriverVersions, versions []config.DriverVersion, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	errs := make(chan error, len(versions))
	for _, v := range versions {
		go func(u string) { errs <- probeURL(ctx, u, timeout) }(dv.SourceURL(v.Version))
	}
	for range versions {
		if err := <-errs; err != nil {
			return err
		}
	}
	return nil
}

func probeURL(ctx context.Context, u string, timeout time.Duration) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Range", "bytes=0-0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var ue *url.Error
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return fmt.Errorf("no answer from %s within %s", u, timeout)
		case errors.As(err, &ue):
			return ue.Err
		}
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return nil
}

// sourceHost is the host of a source template, for messages.
func sourceHost(src string) string {
	if u, err := url.Parse(strings.ReplaceAll(src, "{version}", "0")); err == nil && u.Host != "" {
		return u.Host
	}
	return src
}

func kindList(v config.DriverVersion) string {
	ks := make([]string, len(v.Kinds))
	for i, k := range v.Kinds {
		ks[i] = string(k)
	}
	return "[" + strings.Join(ks, ", ") + "]"
}

func versionList(vs []config.DriverVersion) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Version
	}
	return strings.Join(out, ", ")
}

// report prints where the drivers are, what one module and one probe of
// each driver version say about themselves, and how to check them.
func report(w io.Writer, out string, d drivers, code int) {
	if code == 0 {
		fmt.Fprintln(w, "\nDrivers built:")
	} else {
		fmt.Fprintf(w, "\ndbg build failed (exit %d); what was built:\n", code)
	}
	fmt.Fprintf(w, "  driver source: %s\n", d.from)
	for _, v := range d.versions {
		dir := filepath.Join(out, filepath.FromSlash(config.PrefixKey(v.Version, config.AMD64.Machine())))
		mods, _ := filepath.Glob(filepath.Join(dir, "*.ko"))
		probes, _ := filepath.Glob(filepath.Join(dir, "*.o"))
		sort.Strings(mods)
		sort.Strings(probes)
		fmt.Fprintf(w, "  %s/  %d kernel modules, %d eBPF probes\n", dir, len(mods), len(probes))
		if len(mods) > 0 {
			fmt.Fprintf(w, "    %s\n", describe(mods[0], config.Module, v.Version))
		}
		if len(probes) > 0 {
			fmt.Fprintf(w, "    %s\n", describe(probes[0], config.Probe, v.Version))
		}
		if len(mods)+len(probes) == 0 {
			continue
		}
		fmt.Fprintf(w, "    check: cd %s && sha256sum -c SHA256SUMS\n", dir)
		if len(mods) > 0 {
			fmt.Fprintf(w, "           modinfo -F vermagic %s\n", filepath.Base(mods[0]))
		}
	}
}

// describe is one line of what an artifact says about itself.
func describe(path string, kind config.Kind, version string) string {
	name := filepath.Base(path)
	sd, err := grid.Describe(path, kind)
	if err != nil {
		return fmt.Sprintf("%s: cannot read what it says about itself: %v", name, err)
	}
	var line string
	if kind == config.Probe {
		line = fmt.Sprintf("%s: probe_version %s, kernel_version %s", name, sd.Version, sd.KernelRelease)
	} else {
		line = fmt.Sprintf("%s: version %s, vermagic %s", name, sd.Version, strings.TrimSpace(sd.Vermagic))
	}
	if sd.Version != version {
		line += " (not the driver version " + version + "!)"
	}
	return line
}
