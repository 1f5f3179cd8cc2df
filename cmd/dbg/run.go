package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
	"github.com/falcosecurity/dbg/publisher"
)

func newRunCmd(configDir *string) *cobra.Command {
	f := pipelineFlags{plan: planFlags{configDir: configDir}}
	var tf targetFlags
	var opts publisher.RunOptions
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Plan, ask each target what it holds, build only what is missing, publish, write the manifest",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Out = f.build.out
			var err error
			if opts.RunID, err = runID(opts.RunID, f.plan.shard); err != nil {
				return err
			}
			rep, planned, err := f.run(cmd, &tf, opts)
			return runOutcome(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), rep, planned, opts, err)
		},
	}
	f.bind(cmd)
	tf.bind(cmd)
	cmd.Flags().BoolVar(&opts.Force, "force", false, "rebuild everything and replace what is published with other bytes")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print what would be built and published; build, upload and write nothing")
	cmd.Flags().IntVar(&opts.Jobs, "upload-jobs", 4, "uploads at once per target")
	bindRunID(cmd, &opts.RunID)
	return cmd
}

func bindRunID(cmd *cobra.Command, id *string) {
	cmd.Flags().StringVar(id, "run-id", "", "name of the status part this run writes to each target, [A-Za-z0-9._-] (default: gh-<GITHUB_RUN_ID>-<GITHUB_RUN_ATTEMPT> in GitHub Actions, else the time; then a random suffix, and -shard-IofN for a shard)")
}

// runID is the run id given (checked), else a new one for the shard.
func runID(given, shard string) (string, error) {
	if given != "" {
		if err := publisher.CheckRunID(given); err != nil {
			return "", fmt.Errorf("%w: --run-id: %w", config.ErrUsage, err)
		}
		return given, nil
	}
	sh, err := grid.ParseShard(shard)
	if err != nil {
		return "", fmt.Errorf("%w: --shard: %w", config.ErrUsage, err)
	}
	return publisher.NewRunID(os.Getenv, sh, time.Now()), nil
}

// runOutcome prints what the run did and returns the error that sets the
// exit code.
func runOutcome(ctx context.Context, stdout, stderr io.Writer, rep *publisher.RunReport, planned int, opts publisher.RunOptions, err error) error {
	if rep == nil {
		return err
	}
	if opts.DryRun {
		for _, e := range rep.ToBuild {
			fmt.Fprintf(stdout, "would build and publish %s\n", e.Key)
		}
		fmt.Fprintf(stdout, "dry run: %d of %d planned builds missing from some target; nothing was changed\n", len(rep.ToBuild), planned)
		return err
	}
	if rep.Build != nil {
		printSummary(stdout, stderr, rep.Build, opts.Out)
	}
	printOutcomes(stdout, rep.Outcomes, false)
	gha := actionsFromEnv()
	gha.builds(stderr, rep.Build)
	if err := gha.writeSummary(rep.Build, rep.Outcomes); err != nil {
		slog.Warn("job summary", "err", err)
	}
	if err != nil {
		return err
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("run %w", config.ErrInterrupted)
	}
	return buildOutcome(ctx, rep.Build, nil)
}
