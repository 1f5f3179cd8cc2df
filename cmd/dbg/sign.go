package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/publisher"
)

func newSignCmd() *cobra.Command {
	var tf targetFlags
	var signer publisher.CosignSigner
	var opts publisher.SignOptions
	cmd := &cobra.Command{
		Use:   "sign",
		Short: "Sign each prefix's SHA256SUMS (and provenance) with cosign, writing the bundle beside it",
		Long: `Sign each prefix's SHA256SUMS (and provenance.intoto.jsonl, when present) of
every --to target with cosign, and write the Sigstore bundle beside it as
<file>.sigstore.json (on GitHub: an asset of each release, beside that
release's SHA256SUMS).

A file whose bundle already records its current bytes is kept (--force signs
it again); a missing or stale bundle (made for other bytes: the file was
rewritten since) is made anew. Run it after the last write of the target's
SHA256SUMS, i.e. after dbg index.

Without --key, signing is keyless: cosign takes the OIDC token from its
environment (GitHub Actions: a job with id-token: write), gets a Fulcio
certificate for the workflow's identity and records the signature in Rekor.
With --key, cosign signs with that key pair (password in COSIGN_PASSWORD)
and, without --tlog-upload, uploads nothing to Rekor.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, f := range opts.Files {
				if err := publisher.CheckSignedFile(f); err != nil {
					return fmt.Errorf("%w: --file: %w", config.ErrUsage, err)
				}
			}
			targets, err := tf.open(cmd.Context())
			if err != nil {
				return err
			}
			for _, t := range targets {
				acts, err := publisher.Sign(cmd.Context(), t, signer, opts)
				printSigned(cmd, t, acts)
				if err != nil {
					return fmt.Errorf("%w: %w", config.ErrInfra, err)
				}
			}
			return nil
		},
	}
	tf.bind(cmd)
	fl := cmd.Flags()
	fl.StringVar(&signer.Cosign, "cosign", "", "the cosign binary (default: cosign on PATH)")
	fl.StringVar(&signer.Key, "key", "", "sign with this cosign private key (default: keyless, through the OIDC token of the environment)")
	fl.BoolVar(&signer.TlogUpload, "tlog-upload", false, "with --key: record the signature in Rekor too")
	fl.StringArrayVar(&opts.Files, "file", nil, "a prefix file to sign when present, repeatable (default: SHA256SUMS, provenance.intoto.jsonl)")
	fl.BoolVar(&opts.Force, "force", false, "sign again files whose bundle is for their current bytes")
	return cmd
}

// printSigned prints one line per signed or kept file, then the counts.
func printSigned(cmd *cobra.Command, t publisher.Target, acts []publisher.SignAction) {
	w := cmd.OutOrStdout()
	n := map[string]int{}
	for _, a := range acts {
		n[a.Action]++
		where := ""
		if a.Where != "" {
			where = " (release " + a.Where + ")"
		}
		fmt.Fprintf(w, "%s %s%s\n", a.Action, a.Key, where)
	}
	fmt.Fprintf(w, "%s: %d signed, %d kept\n", t, n["signed"], n["kept"])
}
