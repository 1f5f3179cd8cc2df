package config

import "errors"

// The error classes. Every error dbg returns is of one of them, and its
// class sets the exit code (README "Exit codes"). errors.Is(err, ErrData)
// (or ErrInfra, ErrUsage) tells the class of err through wraps and
// errors.Join; when a joined error holds several classes, infrastructure
// and usage win over data.
var (
	// ErrData: the user's data failed (invalid configs or driver versions,
	// failed builds, artifacts published with other bytes). Exit code 1.
	ErrData = errors.New("data error")
	// ErrInfra: dbg could not do its work (Docker, the network, S3,
	// GitHub, the disk), or the run was interrupted. Exit code 2.
	ErrInfra = errors.New("infrastructure failure")
	// ErrUsage: the command line asks for something dbg cannot do (a bad
	// flag, pattern or shard, nothing selected). Exit code 2.
	ErrUsage = errors.New("usage error")
)

// ErrInterrupted marks a run stopped by Ctrl-C or SIGTERM: an
// infrastructure failure (exit code 2), whatever it had built.
var ErrInterrupted = Classed(ErrInfra, "interrupted")

// The exit codes of the classes.
const (
	ExitOK    = 0
	ExitData  = 1
	ExitInfra = 2 // infrastructure and usage errors, and any error of no class
)

// ExitCode is the exit code of err: 0 for nil, 1 for data errors, 2 for
// infrastructure or usage errors and for errors of no class (an error dbg
// did not expect is not the user's data).
func ExitCode(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrInfra), errors.Is(err, ErrUsage):
		return ExitInfra
	case errors.Is(err, ErrData):
		return ExitData
	}
	return ExitInfra
}

// Classed returns a sentinel error with msg that is of class: errors.Is
// of it matches both itself and the class.
func Classed(class error, msg string) error {
	return &classed{msg: msg, class: class}
}

type classed struct {
	msg   string
	class error
}

func (e *classed) Error() string        { return e.msg }
func (e *classed) Is(target error) bool { return target == e.class }
