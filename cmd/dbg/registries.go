package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/falcosecurity/dbg/config"
)

// registriesFlag is --allow-registry, repeatable: registries kernel
// configs may take their builderimage from, beside driverversions.yaml's
// registries: (each checked like those: a host, optional :port and path
// prefix, no scheme).
type registriesFlag []string

func (r *registriesFlag) String() string { return strings.Join(*r, ",") }
func (r *registriesFlag) Type() string   { return "registry" }

func (r *registriesFlag) Set(s string) error {
	if msg := config.CheckRegistry(s); msg != "" {
		return fmt.Errorf("registry %s", msg)
	}
	*r = append(*r, s)
	return nil
}

// bind adds --allow-registry to cmd.
func (r *registriesFlag) bind(cmd *cobra.Command) {
	cmd.Flags().Var(r, "allow-registry", "a registry kernel configs may take their builderimage from, pinned by digest (ghcr.io/falcosecurity), beside driverversions.yaml's registries; repeatable")
}
