// Command dbg is the Falco Driver Build Grid. The commands only bind flags
// to options and call into config, grid and publisher; wiring lives here.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(run())
}

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stdout, stderr := ciGuard(os.Stdout, os.Stderr) // slog's lines too (gha.go)
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	return execute(ctx, newRootCmd(), os.Args[1:], stdout, stderr)
}

// execute runs the command line and returns the exit code; errors go to
// stderr. In GitHub Actions, everything written to stdout and stderr goes
// through ciWriter (gha.go).
func execute(ctx context.Context, root *cobra.Command, args []string, stdout, stderr io.Writer) int {
	stdout, stderr = ciGuard(stdout, stderr)
	defer flushCI(stdout, stderr)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "dbg:", err)
	}
	return exitCode(err)
}
