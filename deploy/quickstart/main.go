// Command quickstart builds real Falco drivers on this machine, end to end:
//
//	go run ./deploy/quickstart [-out out] [-kernels 6] [-jobs N]
//
// It makes the local builder image (deploy/builder/build-image.sh), downloads
// the header packages of a few real Debian kernels from Debian's archive
// (once; they are cached), serves them and the miniature driver source
// (deploy/minidriver, two made-up driver versions) from 127.0.0.1, and runs
// `dbg build` on the configs that point there. The drivers land in
// <out>/driver/<version>/x86_64/ with a SHA256SUMS file. The exit code is
// dbg's, or 2 when the preparation fails.
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
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/falcosecurity/dbg/grid/gridtest"
)

// options are the command line.
type options struct {
	out, cacheDir, image string
	kernels, jobs        int
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
	step(fmt.Sprintf("lab: %d Debian kernels' headers and the driver sources", o.kernels))
	lab, err := gridtest.NewLab(ctx, root, filepath.Join(o.cacheDir, "debian-headers"), o.kernels)
	if err != nil {
		return 2, fmt.Errorf("prepare the lab: %w", err)
	}
	for _, k := range lab.Kernels {
		slog.Info("kernel", "release", k.Release, "uname_r", k.UnameR)
	}
	code := runDBG(ctx, dbg, lab, o)
	if err := lab.Close(); err != nil {
		slog.Warn("stop the lab server", "err", err)
	}
	report(stdout, o.out, lab.DriverVersions, code)
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
func runDBG(ctx context.Context, dbg string, lab *gridtest.Lab, o options) int {
	args := []string{"build", "--config-dir", lab.ConfigDir, "--out", o.out,
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

// report prints where the drivers are and how to check them.
func report(w io.Writer, out string, versions []string, code int) {
	if code == 0 {
		fmt.Fprintln(w, "\nDrivers built:")
	} else {
		fmt.Fprintf(w, "\ndbg build failed (exit %d); what was built:\n", code)
	}
	for _, v := range versions {
		dir := filepath.Join(out, "driver", v, "x86_64")
		mods, _ := filepath.Glob(filepath.Join(dir, "*.ko"))
		probes, _ := filepath.Glob(filepath.Join(dir, "*.o"))
		fmt.Fprintf(w, "  %s/  %d kernel modules, %d eBPF probes\n", dir, len(mods), len(probes))
		if len(mods) == 0 {
			continue
		}
		sort.Strings(mods)
		fmt.Fprintf(w, "    check: cd %s && sha256sum -c SHA256SUMS\n", dir)
		fmt.Fprintf(w, "           modinfo -F vermagic %s\n", filepath.Base(mods[0]))
		if vm, err := gridtest.ReadVermagic(mods[0]); err == nil {
			fmt.Fprintf(w, "           (built for: %s)\n", strings.TrimSpace(vm))
		}
	}
}
