package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/publisher"
)

// targetFlags choose and configure publishing targets.
type targetFlags struct {
	to   []string
	opts publisher.OpenOptions
}

// bind adds the required, repeatable --to and the target options.
func (f *targetFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&f.to, "to", nil, "target URL, repeatable: file://DIR, s3://BUCKET[/PREFIX], github://OWNER/REPO")
	_ = cmd.MarkFlagRequired("to")
	f.bindOptions(cmd, true)
}

// bindOptions adds the options of S3 and GitHub targets; the ACL only for
// commands that write.
func (f *targetFlags) bindOptions(cmd *cobra.Command, write bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.opts.S3.Endpoint, "s3-endpoint", "", "S3 endpoint URL, for S3-compatible servers (default: AWS configuration)")
	fl.BoolVar(&f.opts.S3.PathStyle, "s3-path-style", false, "address buckets by path (S3-compatible servers)")
	fl.StringVar(&f.opts.S3.Region, "s3-region", "", "S3 region (default: AWS configuration)")
	if write {
		fl.StringVar(&f.opts.S3.ACL, "s3-acl", "", "canned ACL of uploaded objects, e.g. public-read (default: none; new buckets forbid ACLs)")
	}
	fl.StringVar(&f.opts.GitHub.APIURL, "github-api-url", "", "GitHub API URL (GitHub Enterprise, tests); the token comes from GITHUB_TOKEN")
	fl.StringVar(&f.opts.GitHub.UploadURL, "github-upload-url", "", "GitHub upload URL (GitHub Enterprise, tests)")
}

// open opens every --to target and runs its preflight; a target that
// cannot be opened is an infrastructure error.
func (f *targetFlags) open(ctx context.Context) ([]publisher.Target, error) {
	targets, err := publisher.OpenAll(ctx, f.to, f.opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", config.ErrInfra, err)
	}
	return targets, nil
}

func newPublishCmd() *cobra.Command {
	var tf targetFlags
	var from, run string
	var opts publisher.Options
	cmd := &cobra.Command{
		Use:   "publish",
		Short: "Publish what dbg build wrote into --from to every --to target, skipping what is already there",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			run, err := runID(run, "")
			if err != nil {
				return err
			}
			manifest, err := publisher.ReadManifest(from)
			if err != nil {
				return err
			}
			arts, err := publisher.FromResults(from, manifest.Builds)
			if err != nil {
				return err
			}
			targets, err := tf.open(cmd.Context())
			if err != nil {
				return err
			}
			outs, err := publisher.Publish(cmd.Context(), targets, arts, opts)
			printOutcomes(cmd.OutOrStdout(), outs, opts.DryRun)
			if !opts.DryRun && cmd.Context().Err() == nil {
				// the build's time: a later run's status wins over this one
				err = errors.Join(err, publisher.WriteStatus(cmd.Context(), targets, manifest.Builds, run, manifest.Started))
			}
			return err
		},
	}
	bindRunID(cmd, &run)
	tf.bind(cmd)
	cmd.Flags().StringVar(&from, "from", "out", "output folder of dbg build (its manifest.json lists what was built)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "replace artifacts published with other bytes")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print what would be uploaded, change nothing")
	cmd.Flags().IntVar(&opts.Jobs, "upload-jobs", 4, "uploads at once per target")
	return cmd
}

// printOutcomes prints counts per target and action, then every conflict
// and failure.
func printOutcomes(w io.Writer, outs []publisher.Outcome, dryRun bool) {
	type key struct{ target, action string }
	counts := map[key]int{}
	var order []key
	for _, o := range outs {
		k := key{o.Target, string(o.Action)}
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	rows := make([][]string, 0, len(order))
	for _, k := range order {
		rows = append(rows, []string{k.target, k.action, fmt.Sprint(counts[k])})
	}
	_ = writeTable(w, []string{"TARGET", "ACTION", "ARTIFACTS"}, rows)
	for _, o := range outs {
		switch o.Action {
		case publisher.Conflict:
			fmt.Fprintf(w, "CONFLICT %s %s: published sha256 %s, local %s\n", o.Target, o.Key, o.Existing, o.SHA256)
		case publisher.Failed:
			fmt.Fprintf(w, "FAILED %s %s: %s\n", o.Target, o.Key, o.Error)
		case publisher.RebuildDiffers:
			fmt.Fprintf(w, "REBUILD DIFFERS %s %s: published sha256 %s, rebuilt %s; left alone (--force replaces it)\n", o.Target, o.Key, o.Existing, o.SHA256)
		}
	}
	if dryRun {
		fmt.Fprintln(w, "dry run: nothing was changed")
	}
}
