package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/falcosecurity/dbg/grid"
)

func newStatsCmd(configDir *string) *cobra.Command {
	pf := planFlags{configDir: configDir}
	output := outputFormat("table")
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Count the planned builds by driver version, arch, target and kind",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			plan, _, err := pf.plan(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			st := grid.Summarize(plan)
			if output == "json" {
				return writeJSON(cmd.OutOrStdout(), st)
			}
			var rows [][]string
			for _, d := range []struct {
				name   string
				counts []grid.Count
			}{{"driver_version", st.DriverVersion}, {"arch", st.Arch}, {"target", st.Target}, {"kind", st.Kind}} {
				for _, c := range d.counts {
					rows = append(rows, []string{d.name, c.Value, strconv.Itoa(c.Count)})
				}
			}
			if err := writeTable(cmd.OutOrStdout(), []string{"DIMENSION", "VALUE", "BUILDS"}, rows); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "total: %d builds for %d kernels\n", st.Total, st.Kernels)
			return err
		},
	}
	pf.bind(cmd)
	cmd.Flags().VarP(&output, "output", "o", "output format: table or json")
	return cmd
}
