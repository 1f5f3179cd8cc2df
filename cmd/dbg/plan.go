package main

import (
	"github.com/spf13/cobra"

	"github.com/falcosecurity/dbg/grid"
)

func newPlanCmd(configDir *string) *cobra.Command {
	pf := planFlags{configDir: configDir}
	var output outputFormat
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "List the builds: kernels × driver versions × kinds",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			plan, _, err := pf.plan(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if output == "json" {
				if plan == nil {
					plan = []grid.Entry{}
				}
				return writeJSON(cmd.OutOrStdout(), plan)
			}
			rows := make([][]string, len(plan))
			for i, e := range plan {
				rows[i] = []string{e.DriverVersion, e.Arch, string(e.Kind), e.Target, e.KernelRelease, e.KernelVersion, e.Key}
			}
			return writeTable(cmd.OutOrStdout(), []string{"DRIVER VERSION", "ARCH", "KIND", "TARGET", "KERNELRELEASE", "KERNELVERSION", "KEY"}, rows)
		},
	}
	pf.bind(cmd)
	output.bind(cmd)
	return cmd
}
