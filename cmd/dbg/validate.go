package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/falcosecurity/dbg/config"
)

func newValidateCmd(configDir *string) *cobra.Command {
	var load config.LoadOptions
	var registries registriesFlag
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check every kernel config and driverversions.yaml; list every problem (and warning) as path:line:col: message",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			dvPath := filepath.Join(*configDir, config.DriverVersionsFile)
			dv, probs := load.ReadDriverVersions(dvPath)
			if dv != nil && probs.Err() == nil {
				probs = append(probs, dv.Warnings(dvPath)...)
				probs.Sort()
			}
			kernels, kProbs, err := load.Load(cmd.Context(), *configDir, registries...)
			if err != nil {
				return err
			}
			probs = append(probs, kProbs...)
			for _, p := range probs {
				fmt.Fprintln(out, p)
			}
			actionsFromEnv().problems(cmd.ErrOrStderr(), probs)
			errs, warnings := probs.Errors(), ""
			if n := len(probs) - len(errs); n > 0 {
				warnings = fmt.Sprintf("; %d warning(s)", n)
			}
			if len(errs) > 0 {
				fmt.Fprintf(out, "%d problem(s) in %d file(s); %d valid kernel config(s)%s\n", len(errs), errs.Files(), len(kernels), warnings)
				return fmt.Errorf("validate %s: %w", *configDir, config.ErrInvalid)
			}
			fmt.Fprintf(out, "ok: %d kernel config(s) valid%s\n", len(kernels), warnings)
			return nil
		},
	}
	bindAllowPrivateURLs(cmd, &load.AllowPrivateURLs)
	registries.bind(cmd)
	return cmd
}
