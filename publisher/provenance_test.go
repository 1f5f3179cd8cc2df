package publisher

import (
	"testing"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
	"github.com/falcosecurity/dbg/publisher/ghtest"
)

// Provenance on every kind of target, over incremental runs: each run
// adds the statements of what it uploaded to the prefix's bundle, which
// keeps those of the artifacts published before (another run, another
// shard); a statement's subject is its artifact with its digest; cleanup
// removes the bundle with the prefix.
func TestProvenanceMergesAcrossRuns(t *testing.T) {
	s3t, _ := s3Target(t, "")
	targets := map[string]func() Target{
		"folder": func() Target { return NewDir(t.TempDir()) },
		"s3":     func() Target { return s3t },
		"github": func() Target { return newGitHubTest(t, ghtest.New(t)) },
	}
	k := &config.Kernel{KernelRelease: "6.1.170-3-amd64", KernelVersion: "1", Target: "debian", Architecture: config.AMD64,
		KernelURLs: []string{"https://deb.debian.org/debian/pool/main/l/linux/linux-headers-6.1.0-40-amd64_6.1.170-3_amd64.deb"}}
	k2 := &config.Kernel{KernelRelease: "6.1.171-1-amd64", KernelVersion: "1", Target: "debian", Architecture: config.AMD64}
	for name, open := range targets {
		t.Run(name, func(t *testing.T) {
			target := open()
			var built []string
			first, second := []grid.Entry{entry(k, config.Module), entry(k, config.Probe)}, []grid.Entry{entry(k2, config.Module)}
			out1, out2 := t.TempDir(), t.TempDir()
			rep1, err := Run(t.Context(), first, fakeBuild(t, out1, &built), []Target{target}, RunOptions{Out: out1})
			if err != nil {
				t.Fatal(err)
			}
			rep2, err := Run(t.Context(), append(first, second...), fakeBuild(t, out2, &built), []Target{target}, RunOptions{Out: out2})
			if err != nil || len(built) != 3 {
				t.Fatalf("second run: %v, built %v", err, built)
			}
			p := Prefix{first[0].DriverVersion, first[0].Arch}
			data, err := target.(ProvenanceStore).ReadProvenance(t.Context(), p)
			if err != nil {
				t.Fatal(err)
			}
			list, err := grid.ParseProvenance(data)
			if err != nil || len(list) != 3 {
				t.Fatalf("bundle: %v, %d statements, want 3:\n%s", err, len(list), data)
			}
			want := map[string]string{}
			for _, r := range append(rep1.Build.Builds, rep2.Build.Builds...) {
				if r.Status == grid.Built {
					want[r.File] = r.SHA256
				}
			}
			for _, s := range list {
				ext := s.Predicate.BuildDefinition.ExternalParameters
				if want[s.SubjectName()] == "" || s.SubjectSHA256() != want[s.SubjectName()] || ext.Key != p.Key(s.SubjectName()) {
					t.Errorf("statement about %s (sha256 %s, key %s), built %s", s.SubjectName(), s.SubjectSHA256(), ext.Key, want[s.SubjectName()])
				}
				if s.SubjectName() == first[0].File && (len(ext.Kernel.KernelURLs) != 1 || ext.Kernel.KernelRelease != k.KernelRelease) {
					t.Errorf("statement of %s: kernel %+v", s.SubjectName(), ext.Kernel)
				}
			}
			if _, err := Cleanup(t.Context(), target, Retention{Window: []string{"10.0.0+driver"}, Keep: 1}, false); err != nil {
				t.Fatal(err)
			}
			if data, err := target.(ProvenanceStore).ReadProvenance(t.Context(), p); err != nil || len(data) != 0 {
				t.Errorf("after cleanup: %v, %d bytes of provenance left", err, len(data))
			}
		})
	}
}
