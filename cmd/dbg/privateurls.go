package main

import (
	"github.com/spf13/cobra"

	"github.com/falcosecurity/dbg/grid/netpolicy"
)

// bindAllowPrivateURLs adds --allow-private-urls to cmd, the commands that
// download (build, run, generate) or judge what would be (validate).
func bindAllowPrivateURLs(cmd *cobra.Command, allow *bool) {
	cmd.Flags().BoolVar(allow, "allow-private-urls", false,
		"accept and fetch URLs on loopback, private and other non-public addresses (labs and tests serving from 127.0.0.1; never on a CI runner with cloud credentials)")
}

// downloadPolicy is where dbg's downloads may connect: public addresses
// only, unless --allow-private-urls.
func downloadPolicy(allowPrivate bool) netpolicy.Policy {
	if allowPrivate {
		return netpolicy.Policy{Allow: netpolicy.Any}
	}
	return netpolicy.Policy{Allow: netpolicy.Public}
}
