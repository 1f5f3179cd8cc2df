package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/publisher"
)

func newIndexCmd() *cobra.Command {
	var tf targetFlags
	var verify bool
	cmd := &cobra.Command{
		Use:   "index",
		Short: "Rewrite each target's SHA256SUMS, index.json and index.html from what it actually holds",
		Long: `Rewrite each target's SHA256SUMS, index.json and index.html from what it actually holds.

Digests come from each prefix's SHA256SUMS for the objects it lists and that
were not written since, and from the objects themselves for the others (S3:
the stored checksum, with HeadObject; the bytes, with GetObject, when there
is none). The first index of a bucket published without dbg therefore reads
every object once; later ones trust the SHA256SUMS it wrote. --verify reads
every digest from the objects themselves.

Each folder's status parts (status-<run id>.json, one per run) are merged
into its status.json: the latest run wins per file, a file the target holds
is built, and the merged parts are deleted.

On S3 and folders, driver/index.html is the driver finder: a static page
that finds a kernel's drivers by uname -r, release, distro or file name,
with one data file per driver version folder (driver/finder-<dv>_<arch>.js).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			targets, err := tf.open(cmd.Context())
			if err != nil {
				return err
			}
			how := publisher.Digests
			if verify {
				how = publisher.Verify
			}
			for _, t := range targets {
				site, err := publisher.Index(cmd.Context(), t, how)
				if err != nil {
					return fmt.Errorf("%w: %w", config.ErrInfra, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %d artifacts in %d folders indexed; status: %s\n", t, site.Total, len(site.Prefixes), site.Status)
			}
			return nil
		},
	}
	tf.bind(cmd)
	cmd.Flags().BoolVar(&verify, "verify", false, "read every digest from the stored objects, trusting no SHA256SUMS")
	return cmd
}
