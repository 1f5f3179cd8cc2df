package main

import (
	"errors"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
)

// Exit codes, documented in README.md.
const (
	exitOK    = 0 // success
	exitData  = 1 // the user's data failed: invalid configs, failed builds
	exitInfra = 2 // usage or infrastructure error (Docker, network, S3, GitHub)
)

// dataErrors are the errors that mean "your data failed", not "dbg could not run".
var dataErrors = []error{config.ErrInvalid, grid.ErrBuildsFailed}

func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	for _, d := range dataErrors {
		if errors.Is(err, d) {
			return exitData
		}
	}
	return exitInfra
}
