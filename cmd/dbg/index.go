package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/publisher"
)

func newIndexCmd() *cobra.Command {
	var tf targetFlags
	cmd := &cobra.Command{
		Use:   "index",
		Short: "Rewrite each target's SHA256SUMS, index.json and index.html from what it actually holds",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			targets, err := tf.open(cmd.Context())
			if err != nil {
				return err
			}
			for _, t := range targets {
				site, err := publisher.Index(cmd.Context(), t)
				if err != nil {
					return fmt.Errorf("%w: %w", config.ErrInfra, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %d artifacts in %d folders indexed\n", t, site.Total, len(site.Prefixes))
			}
			return nil
		},
	}
	tf.bind(cmd)
	return cmd
}
