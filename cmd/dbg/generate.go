package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/falcosecurity/dbg/config"
)

func newGenerateCmd(configDir *string) *cobra.Command {
	var from, arch string
	var distros []string
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Write kernel configs from kernel-crawler output (both formats); skips what dbg cannot build",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := config.ParseArch(arch)
			if err != nil {
				return err
			}
			f, err := os.Open(from)
			if err != nil {
				return fmt.Errorf("generate: %w", err)
			}
			defer f.Close()
			kernels, skipped, err := config.FromCrawler(f, a, distros)
			if err != nil {
				return err
			}
			rep, err := config.WriteConfigs(*configDir, kernels)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "added %d, changed %d, unchanged %d, skipped %d\n", rep.Added, rep.Changed, rep.Unchanged, skipped.Total())
			reasons := make([]string, 0, len(skipped))
			for r := range skipped {
				reasons = append(reasons, r)
			}
			sort.Strings(reasons)
			for _, r := range reasons {
				fmt.Fprintf(out, "  skipped %d: %s\n", skipped[r], r)
			}
			if rep.Added+rep.Changed == 0 {
				fmt.Fprintln(out, "nothing changed")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "kernel-crawler JSON file")
	cmd.Flags().StringVar(&arch, "arch", "", "architecture of the crawler file: x86_64 or aarch64")
	cmd.Flags().StringSliceVar(&distros, "distro", nil, "only these crawler distros ("+strings.Join([]string{"Debian", "Ubuntu", "..."}, ", ")+")")
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("arch")
	return cmd
}
