package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
)

// planFlags are the selection flags shared by every command that plans.
type planFlags struct {
	configDir                                  *string
	driverVersion, arch, target, kernelRelease string
	shard, changedSince                        string
	allowPrivateURLs                           bool // --allow-private-urls, of the commands that build
	registries                                 registriesFlag
}

func (f *planFlags) bind(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.driverVersion, "driver-version", "", "driver versions to build, a pattern over all listed versions (default: the window of newest versions)")
	fl.StringVar(&f.arch, "arch", "", "architectures, a pattern (amd64 or x86_64, arm64 or aarch64)")
	fl.StringVar(&f.target, "target", "", "targets, a pattern (ubuntu-*,debian)")
	fl.StringVar(&f.kernelRelease, "kernelrelease", "", "kernel releases, a pattern (6.1.*)")
	fl.StringVar(&f.changedSince, "changed-since", "", "only kernels whose configs were added or modified since this git revision (everything when driverversions.yaml moved the window; every kernel for a version whose source or sha256 changed)")
	fl.StringVar(&f.shard, "shard", "", "build only part I of N of the plan (I/N, 1-based); a kernel's builds stay in one shard")
	f.registries.bind(cmd)
}

func (f *planFlags) options() (grid.Options, error) {
	filter, err := grid.ParseFilter(f.driverVersion, f.arch, f.target, f.kernelRelease)
	if err != nil {
		return grid.Options{}, err
	}
	shard, err := grid.ParseShard(f.shard)
	if err != nil {
		return grid.Options{}, err
	}
	return grid.Options{Filter: filter, Shard: shard}, nil
}

// plan loads the configs and driver versions and plans. Invalid configs stop
// it: they are listed on stderr and the error wraps config.ErrInvalid.
func (f *planFlags) plan(ctx context.Context, stderr io.Writer) ([]grid.Entry, *config.DriverVersions, error) {
	p, err := f.planned(ctx, stderr)
	if err != nil {
		return nil, nil, err
	}
	return p.entries, p.dv, nil
}

// planned is a plan, with what the same selection cannot build.
type planned struct {
	entries      []grid.Entry
	dv           *config.DriverVersions
	notBuildable []grid.BuildResult // grid.NotBuildableOf
}

func (f *planFlags) planned(ctx context.Context, stderr io.Writer) (*planned, error) {
	opts, err := f.options()
	if err != nil {
		return nil, err
	}
	load := config.LoadOptions{AllowPrivateURLs: f.allowPrivateURLs}
	dv, err := load.LoadDriverVersions(filepath.Join(*f.configDir, config.DriverVersionsFile))
	if err != nil {
		return nil, err
	}
	kernels, probs, err := load.Load(ctx, *f.configDir, f.registries...)
	if err != nil {
		return nil, err
	}
	if len(probs) > 0 {
		for _, p := range probs {
			fmt.Fprintln(stderr, p)
		}
		actionsFromEnv().problems(stderr, probs)
		return nil, fmt.Errorf("plan: %w: %d problem(s) in %d file(s); run dbg validate", config.ErrInvalid, len(probs), probs.Files())
	}
	if opts.Only, opts.AllKernels, err = f.changed(ctx, stderr); err != nil {
		return nil, err
	}
	plan, err := grid.Plan(kernels, dv, opts)
	if err != nil {
		return nil, err
	}
	nb, err := grid.NotBuildableOf(kernels, dv, opts)
	if err != nil {
		return nil, err
	}
	slog.Debug("planned", "kernels", len(kernels), "builds", len(plan), "not_buildable", len(nb), "shard", opts.Shard)
	return &planned{entries: plan, dv: dv, notBuildable: nb}, nil
}

// changed applies --changed-since: the config paths to keep (nil: all) and
// the driver versions to build for every kernel (their source or sha256
// changed). Deleted configs are reported, not built.
func (f *planFlags) changed(ctx context.Context, stderr io.Writer) (only, allKernels map[string]bool, err error) {
	if f.changedSince == "" {
		return nil, nil, nil
	}
	ch, err := config.LoadOptions{AllowPrivateURLs: f.allowPrivateURLs}.ChangedSince(ctx, *f.configDir, f.changedSince)
	if err != nil {
		return nil, nil, fmt.Errorf("--changed-since %s: %w", f.changedSince, err)
	}
	for _, d := range ch.Deleted {
		fmt.Fprintf(stderr, "deleted since %s (not built): %s\n", f.changedSince, d)
	}
	if ch.WindowMoved {
		slog.Info("driverversions.yaml moved the window: planning every kernel", "since", f.changedSince)
		return nil, nil, nil
	}
	if len(ch.Versions) > 0 {
		versions := make([]string, 0, len(ch.Versions))
		for v := range ch.Versions {
			versions = append(versions, v)
		}
		sort.Strings(versions)
		slog.Info("driverversions.yaml changed the source or sha256 of driver versions: planning every kernel for them", "since", f.changedSince, "versions", versions)
	}
	return ch.Configs, ch.Versions, nil
}
