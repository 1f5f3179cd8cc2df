package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/falcosecurity/dbg/config"
)

func newValidateCmd(configDir *string) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check every kernel config and driverversions.yaml; list every problem as path:line:col: message",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			dvPath := filepath.Join(*configDir, config.DriverVersionsFile)
			_, probs := config.ReadDriverVersions(dvPath)
			kernels, kProbs, err := config.Load(cmd.Context(), *configDir)
			if err != nil {
				return err
			}
			probs = append(probs, kProbs...)
			for _, p := range probs {
				fmt.Fprintln(out, p)
			}
			actionsFromEnv().problems(cmd.ErrOrStderr(), probs)
			if len(probs) > 0 {
				fmt.Fprintf(out, "%d problem(s) in %d file(s); %d valid kernel config(s)\n", len(probs), probs.Files(), len(kernels))
				return fmt.Errorf("validate %s: %w", *configDir, config.ErrInvalid)
			}
			fmt.Fprintf(out, "ok: %d kernel config(s) valid\n", len(kernels))
			return nil
		},
	}
}
