package config

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

// Every class keeps its exit code through wraps and joins, infrastructure
// wins over data, and a wrap keeps its cause.
func TestExitCode(t *testing.T) {
	dataErr := Classed(ErrData, "builds failed")
	infraErr := Classed(ErrInfra, "upload failed")
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, 0},
		{"invalid configs", fmt.Errorf("plan: %w: 3 problem(s)", ErrInvalid), 1},
		{"a data sentinel, wrapped twice", fmt.Errorf("run: %w", fmt.Errorf("x: %w", dataErr)), 1},
		{"infrastructure", fmt.Errorf("%w: docker: %w", ErrInfra, fs.ErrNotExist), 2},
		{"an infrastructure sentinel", fmt.Errorf("s3: %w: 2 upload(s)", infraErr), 2},
		{"data and infrastructure joined", errors.Join(dataErr, fmt.Errorf("publish: %w", infraErr)), 2},
		{"usage", fmt.Errorf("plan: %w", Classed(ErrUsage, "no driver version selected")), 2},
		{"interrupted", fmt.Errorf("run %w", ErrInterrupted), 2},
		{"no class", errors.New("surprise"), 2},
	} {
		if got := ExitCode(tc.err); got != tc.want {
			t.Errorf("%s: exit %d, want %d (%v)", tc.name, got, tc.want, tc.err)
		}
	}
	cause := &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrPermission}
	err := errors.Join(dataErr, fmt.Errorf("%w: write manifest: %w", ErrInfra, cause))
	var pe *fs.PathError
	if !errors.Is(err, fs.ErrPermission) || !errors.As(err, &pe) || !errors.Is(err, dataErr) {
		t.Errorf("the cause is lost in %v", err)
	}
}
