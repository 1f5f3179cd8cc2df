package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/falcosecurity/dbg/config"
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
			rep, planned, err := f.run(cmd, &tf, opts)
			return runOutcome(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), rep, planned, opts, err)
		},
	}
	f.bind(cmd)
	tf.bind(cmd)
	cmd.Flags().BoolVar(&opts.Force, "force", false, "rebuild everything and replace what is published with other bytes")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print what would be built and published; build, upload and write nothing")
	cmd.Flags().IntVar(&opts.Jobs, "upload-jobs", 4, "uploads at once per target")
	return cmd
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
