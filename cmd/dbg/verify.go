package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
	"github.com/falcosecurity/dbg/publisher"
)

// verifyFlags are dbg verify's flags: where from, which artifacts, and how
// to rebuild (the build flags; --out is a scratch folder).
type verifyFlags struct {
	from                                  string
	driverVersion, arch, target, kRelease string
	allowPrivateURLs                      bool
	registries                            registriesFlag
	build                                 buildFlags
	tf                                    targetFlags
	sig                                   publisher.VerifierOptions
}

func newVerifyCmd() *cobra.Command {
	var f verifyFlags
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Rebuild published drivers from their provenance and compare their sha256 with the published ones",
		Long: `Rebuild published drivers from their provenance and compare their sha256 with the published ones.

For every selected artifact of --from, dbg reads the prefix's
provenance.intoto.jsonl, fetches the recorded inputs (through --cache-dir,
each checked against its recorded sha256), rebuilds in the recorded builder
image (refused when the local image has another ID) and prints one line per
artifact: reproduced, differs, or cannot verify: <why>. Exit code 1 when
one differs, 2 when one could not be verified (or the target cannot be read).
The published digests are read from the objects' bytes, not from SHA256SUMS.

Each verified prefix's signature bundles (SHA256SUMS.sigstore.json and
provenance.intoto.jsonl.sigstore.json, made by the publish workflow's dbg
sign) are checked when present: with --key, against that public key (the
standard library); else keyless, by cosign verify-blob against the
publish workflow's identity (--certificate-identity-regexp,
--certificate-oidc-issuer, --trusted-root offline). A bad signature, or a
bundle made for other bytes (stale), exits 1; a file without a bundle, or a
keyless bundle with no cosign or trust root at hand, is reported only.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return f.run(cmd) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.from, "from", "", "target URL to verify: file://DIR, s3://BUCKET[/PREFIX], github://OWNER/REPO")
	_ = cmd.MarkFlagRequired("from")
	fl.StringVar(&f.driverVersion, "driver-version", "", "driver versions, a pattern")
	fl.StringVar(&f.arch, "arch", "", "architectures, a pattern (amd64 or x86_64, arm64 or aarch64)")
	fl.StringVar(&f.target, "target", "", "targets, a pattern")
	fl.StringVar(&f.kRelease, "kernelrelease", "", "kernel releases, a pattern")
	f.build.bind(cmd)
	_ = fl.MarkHidden("out") // rebuilds go to a scratch folder
	f.tf.bindOptions(cmd, false)
	bindAllowPrivateURLs(cmd, &f.allowPrivateURLs)
	fl.StringVar(&f.sig.Key, "key", "", "public key file (cosign.pub) the signatures must verify with; default: keyless, the publish workflow's identity")
	fl.StringVar(&f.sig.IdentityRegexp, "certificate-identity-regexp", "", "keyless: the signer identity, a regexp (default "+publisher.DefaultIdentityRegexp+")")
	fl.StringVar(&f.sig.Issuer, "certificate-oidc-issuer", "", "keyless: the signer's OIDC issuer (default "+publisher.GitHubIssuer+")")
	fl.StringVar(&f.sig.TrustedRoot, "trusted-root", "", "keyless: a Sigstore trusted_root.json, for checking offline")
	fl.StringVar(&f.sig.Cosign, "cosign", "", "the cosign binary for keyless checks (default: cosign on PATH)")
	cmd.Flags().Var(&f.registries, "allow-registry", "a registry recorded builder images may come from, pinned by digest (ghcr.io/falcosecurity); repeatable; default: local images only")
	return cmd
}

func (f *verifyFlags) run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	filter, err := grid.ParseFilter(f.driverVersion, f.arch, f.target, f.kRelease)
	if err != nil {
		return fmt.Errorf("%w: %w", config.ErrUsage, err)
	}
	t, err := publisher.Open(ctx, f.from, f.tf.opts)
	if err != nil {
		return fmt.Errorf("%w: %w", config.ErrInfra, err)
	}
	scratch, err := os.MkdirTemp("", "dbg-verify-")
	if err != nil {
		return fmt.Errorf("%w: create scratch folder: %w", config.ErrInfra, err)
	}
	defer os.RemoveAll(scratch)
	newBuilder := func(dv *config.DriverVersions, image, gcc string) publisher.Builder {
		b := f.build.builder(dv, cmd.ErrOrStderr())
		b.opts.Out, b.opts.BuilderImage, b.opts.GCCVersion = scratch, image, gcc
		b.allowPrivateURLs = f.allowPrivateURLs
		return b
	}
	sigs, err := publisher.NewSigVerifier(f.sig)
	if err != nil {
		return fmt.Errorf("%w: --key: %w", config.ErrUsage, err)
	}
	rep, err := publisher.VerifyTarget(ctx, t, newBuilder, publisher.VerifyOptions{
		Filter: filter, Load: config.LoadOptions{AllowPrivateURLs: f.allowPrivateURLs}, Registries: f.registries,
		Signatures: publisher.Signatures{Verifier: sigs}})
	if rep != nil {
		printVerifications(cmd.OutOrStdout(), rep)
	}
	return err
}

// printVerifications prints one line per prefix signature checked, one
// per artifact, then the counts.
func printVerifications(w io.Writer, rep *publisher.VerifyReport) {
	for _, s := range rep.Signatures {
		line := fmt.Sprintf("%s: signature: %s", s.Prefix.Key(""), s.Verdict)
		if s.Error != "" {
			line += ": " + s.Error
		}
		fmt.Fprintln(w, line)
	}
	vs := rep.Artifacts
	counts := map[publisher.Verdict]int{}
	for _, v := range vs {
		counts[v.Verdict]++
		switch v.Verdict {
		case publisher.Reproduced:
			fmt.Fprintf(w, "%s: reproduced (sha256 %s)\n", v.Key, v.Published)
		case publisher.Differs:
			line := fmt.Sprintf("%s: differs: published sha256 %s, rebuilt %s", v.Key, v.Published, v.Rebuilt)
			if v.Reason != "" {
				line += " (" + v.Reason + ")"
			}
			fmt.Fprintln(w, line)
		default:
			fmt.Fprintf(w, "%s: cannot verify: %s\n", v.Key, v.Reason)
		}
	}
	fmt.Fprintf(w, "%d reproduced, %d differ, %d cannot be verified\n", counts[publisher.Reproduced], counts[publisher.Differs], counts[publisher.CannotVerify])
}
