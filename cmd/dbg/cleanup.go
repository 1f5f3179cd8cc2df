package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/publisher"
)

const cleanupLong = `Delete from each --to target the artifacts of the driver versions outside
the retention, once driverversions.yaml has moved the window.

The driver versions of a target are its <driver version>/<arch> folders.
A version is kept when it is:
  - in the window (the newest "window" versions of driverversions.yaml):
    never touched, whatever the other rules say;
  - among the newest N (--retention, default: the window's size + 1) by semver
    precedence, among the releases driverversions.yaml lists and those the
    target holds (a pre-release takes none of the N places unless it is in
    the window);
  - at or above the oldest window version in precedence (a newer pre-release);
  - not a semantic version (kept with a warning: dbg never deletes what it
    cannot order).
Every artifact of every folder of the other versions is deleted, then the
folder's SHA256SUMS (on GitHub: its releases' SHA256SUMS and index.json) is
rewritten to list nothing. Run dbg index afterwards to refresh
driver/index.json and index.html. --dry-run lists what would be deleted and
deletes nothing.

Prints, per target and driver version, whether it was kept or deleted and
its artifact count. A target error exits 2.`

func newCleanupCmd(configDir *string) *cobra.Command {
	var tf targetFlags
	var keep int
	var dryRun bool
	var output outputFormat
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Delete from each --to target the driver versions outside the retention",
		Long:  cleanupLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dv, err := config.LoadDriverVersions(filepath.Join(*configDir, config.DriverVersionsFile))
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("retention") {
				keep = publisher.DefaultRetention(dv)
			}
			ret, err := publisher.NewRetention(dv, keep)
			if err != nil {
				return fmt.Errorf("--retention: %w", err)
			}
			targets, err := tf.open(cmd.Context())
			if err != nil {
				return err
			}
			var reps []*publisher.CleanupReport
			for _, t := range targets {
				rep, err := publisher.Cleanup(cmd.Context(), t, ret, dryRun)
				if rep != nil {
					reps = append(reps, rep)
				}
				if err != nil {
					printCleanup(cmd.OutOrStdout(), reps, output)
					return err
				}
			}
			return printCleanup(cmd.OutOrStdout(), reps, output)
		},
	}
	tf.bind(cmd)
	cmd.Flags().IntVar(&keep, "retention", 0, "how many of the newest driver versions to keep, at least the window's size (default: the window's size + 1)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list what would be deleted, delete nothing")
	output.bind(cmd)
	return cmd
}

// printCleanup prints, per target and driver version, what was kept and
// deleted; in a dry run, every key that would be deleted first.
func printCleanup(w io.Writer, reps []*publisher.CleanupReport, output outputFormat) error {
	if output == "json" {
		return writeJSON(w, reps)
	}
	dry := false
	var rows [][]string
	for _, rep := range reps {
		dry = dry || rep.DryRun
		for _, v := range rep.Versions {
			if rep.DryRun {
				for _, k := range v.Deleted {
					fmt.Fprintf(w, "would delete %s %s\n", rep.Target, k)
				}
			}
			rows = append(rows, []string{rep.Target, v.DriverVersion, strings.Join(v.Arches, ","), cleanupAction(v, rep.DryRun), v.Reason, strconv.Itoa(v.Artifacts)})
		}
	}
	if err := writeTable(w, []string{"TARGET", "DRIVER VERSION", "ARCHES", "ACTION", "REASON", "ARTIFACTS"}, rows); err != nil {
		return err
	}
	if dry {
		_, err := fmt.Fprintln(w, "dry run: nothing was deleted")
		return err
	}
	return nil
}

func cleanupAction(v publisher.CleanupVersion, dryRun bool) string {
	switch {
	case v.Kept:
		return "kept"
	case dryRun:
		return "would delete"
	}
	return "deleted"
}
