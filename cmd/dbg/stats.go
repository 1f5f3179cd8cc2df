package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
	"github.com/falcosecurity/dbg/publisher"
)

const statsLong = `Count the planned builds by driver version, arch, target and kind.

With --from URL (repeatable; file://, s3:// or github:// as for --to), also
ask each target what it holds (one listing per folder, read-only: no
preflight write) and report, per target:
  - held: the planned builds it holds, by the same dimensions (an object is
    matched to a build by its key);
  - missing: the planned builds it does not hold, by the same dimensions,
    and the first missing keys;
  - extra: the artifacts it holds that are not planned, in any folder,
    counted by folder (driver version/arch) and by kind (.ko module, .o
    probe); -o json lists their keys;
  - status: what the target's status.json files (and the status parts not
    merged yet by dbg index) say of all its folders: "failed 12, not built
    3, published 20,104" (published: the artifacts it holds).
The selection flags choose what should be there. Missing builds are a
finding, not a failure: exit 0; a target that cannot be read exits 2.`

// statsReport is stats -o json with --from.
type statsReport struct {
	Plan    grid.Stats              `json:"plan"`
	Targets []*publisher.Comparison `json:"targets"`
}

func newStatsCmd(configDir *string) *cobra.Command {
	pf := planFlags{configDir: configDir}
	var from targetFlags
	var output outputFormat
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Count the planned builds by driver version, arch, target and kind; with --from, what each target holds, misses and has in extra",
		Long:  statsLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			plan, _, err := pf.plan(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			st := grid.Summarize(plan)
			if len(from.to) == 0 {
				return printStats(cmd.OutOrStdout(), st, output)
			}
			rep, err := compareTargets(cmd.Context(), from, plan)
			if err != nil {
				return err
			}
			rep.Plan = st
			if output == "json" {
				return writeJSON(cmd.OutOrStdout(), rep)
			}
			return printComparisons(cmd.OutOrStdout(), st, rep.Targets)
		},
	}
	pf.bind(cmd)
	bindFrom(cmd, &from)
	output.bind(cmd)
	return cmd
}

// bindFrom binds the repeatable --from and the read-side target options.
func bindFrom(cmd *cobra.Command, f *targetFlags) {
	cmd.Flags().StringArrayVar(&f.to, "from", nil, "target URL to compare with the plan, repeatable: file://DIR, s3://BUCKET[/PREFIX], github://OWNER/REPO")
	f.bindOptions(cmd, false)
}

// compareTargets opens each target (no preflight: stats only reads) and
// compares it with the plan.
func compareTargets(ctx context.Context, from targetFlags, plan []grid.Entry) (*statsReport, error) {
	rep := &statsReport{}
	for _, raw := range from.to {
		t, err := publisher.Open(ctx, raw, from.opts)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", config.ErrInfra, err)
		}
		c, err := publisher.Compare(ctx, t, plan)
		if err != nil {
			return nil, err
		}
		rep.Targets = append(rep.Targets, c)
	}
	return rep, nil
}

func printStats(w io.Writer, st grid.Stats, output outputFormat) error {
	if output == "json" {
		return writeJSON(w, st)
	}
	var rows [][]string
	for _, d := range dimensions(st) {
		for _, c := range d.counts {
			rows = append(rows, []string{d.name, c.Value, strconv.Itoa(c.Count)})
		}
	}
	if err := writeTable(w, []string{"DIMENSION", "VALUE", "BUILDS"}, rows); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "total: %d builds for %d kernels\n", st.Total, st.Kernels)
	return err
}

type dimension struct {
	name   string
	counts []grid.Count
}

func dimensions(st grid.Stats) []dimension {
	return []dimension{{"driver_version", st.DriverVersion}, {"arch", st.Arch}, {"target", st.Target}, {"kind", st.Kind}}
}

// printComparisons prints, per target, planned/held/missing counts by
// dimension, the first missing keys, and the extra artifacts' counts.
func printComparisons(w io.Writer, plan grid.Stats, cs []*publisher.Comparison) error {
	for i, c := range cs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s: holds %d of %d planned builds, misses %d, has %d extra\n",
			c.Target, c.Held.Total, plan.Total, c.Missing.Total, c.Extra.Total)
		fmt.Fprintf(w, "status: %s\n", c.Status)
		if err := writeTable(w, []string{"DIMENSION", "VALUE", "PLANNED", "HELD", "MISSING"}, comparisonRows(plan, c)); err != nil {
			return err
		}
		if c.Missing.Total > 0 {
			fmt.Fprintf(w, "missing (first %d of %d):\n", len(c.Missing.First), c.Missing.Total)
			for _, k := range c.Missing.First {
				fmt.Fprintf(w, "  %s\n", k)
			}
		}
		if c.Extra.Total > 0 {
			var rows [][]string
			for _, d := range []dimension{{"prefix", c.Extra.Prefix}, {"kind", c.Extra.Kind}} {
				for _, n := range d.counts {
					rows = append(rows, []string{d.name, n.Value, strconv.Itoa(n.Count)})
				}
			}
			if err := writeTable(w, []string{"EXTRA", "VALUE", "ARTIFACTS"}, rows); err != nil {
				return err
			}
		}
	}
	return nil
}

// comparisonRows has one row per planned value of each dimension.
func comparisonRows(plan grid.Stats, c *publisher.Comparison) [][]string {
	held, missing := dimensions(c.Held), dimensions(c.Missing.Stats)
	var rows [][]string
	for i, d := range dimensions(plan) {
		for _, n := range d.counts {
			rows = append(rows, []string{d.name, n.Value, strconv.Itoa(n.Count),
				strconv.Itoa(countOf(held[i].counts, n.Value)), strconv.Itoa(countOf(missing[i].counts, n.Value))})
		}
	}
	return rows
}

func countOf(counts []grid.Count, value string) int {
	for _, c := range counts {
		if c.Value == value {
			return c.Count
		}
	}
	return 0
}
