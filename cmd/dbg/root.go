package main

import (
	"github.com/spf13/cobra"

	"github.com/falcosecurity/dbg/config"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "dbg",
		Short:         "dbg builds Falco drivers (kernel modules and eBPF probes) for every configured kernel",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       config.Version(),
	}
	var configDir string
	root.PersistentFlags().StringVar(&configDir, "config-dir", "kernels", "folder of kernel configs (<arch>/<target>_<release>_<version>.yaml) and driverversions.yaml")
	root.AddCommand(
		newValidateCmd(&configDir),
		newPlanCmd(&configDir),
		newStatsCmd(&configDir),
		newGenerateCmd(&configDir),
		newBuildCmd(&configDir),
		newRunCmd(&configDir),
		newPublishCmd(),
		newIndexCmd(),
		newSignCmd(),
		newCleanupCmd(&configDir),
		newVerifyCmd(),
	)
	return root
}
