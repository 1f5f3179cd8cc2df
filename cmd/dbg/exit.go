package main

import "github.com/falcosecurity/dbg/config"

// exitCode is the exit code of a command's error: the class of the error
// decides (config/errors.go; README "Exit codes").
func exitCode(err error) int { return config.ExitCode(err) }
