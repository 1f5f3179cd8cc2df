package main

import (
	"errors"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
	"github.com/falcosecurity/dbg/publisher"
)

// Exit codes, documented in README.md.
const (
	exitOK    = 0 // success
	exitData  = 1 // the user's data failed: invalid configs, failed builds
	exitInfra = 2 // usage or infrastructure error (Docker, network, S3, GitHub)
)

// errInfra wraps failures of the infrastructure found by the commands.
var errInfra = grid.ErrInfra

// infraErrors win over data errors: a run with both exits 2.
var infraErrors = []error{grid.ErrInfra, publisher.ErrUploadFailed}

// dataErrors are the errors that mean "your data failed", not "dbg could not run".
var dataErrors = []error{config.ErrInvalid, grid.ErrBuildsFailed, publisher.ErrConflict}

func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	for _, e := range infraErrors {
		if errors.Is(err, e) {
			return exitInfra
		}
	}
	for _, d := range dataErrors {
		if errors.Is(err, d) {
			return exitData
		}
	}
	return exitInfra
}
