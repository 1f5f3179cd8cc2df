package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
	"github.com/falcosecurity/dbg/publisher"
	"github.com/falcosecurity/dbg/publisher/cosigntest"
)

// TestEndToEndVerify: dbg run fills a folder target with the real
// 10.2.0+driver module and 9.1.0+driver module and probe of one real Debian
// kernel, each with its provenance; dbg verify rebuilds them all from it
// and reports them reproduced; an object tampered with as an attacker
// would (bytes and SHA256SUMS line) differs, exit 1; an input the server no
// longer serves cannot be verified, exit 2; a run that rebuilds a published
// artifact and gets other bytes reports it and leaves it alone.
func TestEndToEndVerify(t *testing.T) {
	lab, image, dir := startLab(t, "10.2.0+driver", "9.1.0+driver")
	k := lab.KernelsOf(config.AMD64)[0]
	target, out := t.TempDir(), t.TempDir()
	common := []string{"--allow-private-urls", "--builder-image", image, "--jobs", "1", "--timeout", "10m"}
	stdout, stderr, code := dbg(t, append([]string{"--config-dir", dir, "run", "--kernelrelease", k.Release, "--to", "file://" + target,
		"--out", out, "--cache-dir", t.TempDir()}, common...)...)
	if code != 0 {
		t.Fatalf("run: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	m := readManifest(t, out)
	if m.Built != 3 {
		t.Fatalf("built %d, want 3", m.Built)
	}
	checkProvenance(t, target, m)

	// The publish workflow signs each prefix after the run (keyless there;
	// with a key pair here): verify checks those signatures.
	cosign := cosigntest.Binary(t)
	keys := cosigntest.NewKeyPair(t, cosign)
	if stdout, stderr, code := dbg(t, "sign", "--to", "file://"+target, "--key", keys.Private, "--cosign", cosign); code != 0 {
		t.Fatalf("sign: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	verify := func(t *testing.T, args ...string) (string, int) {
		t.Helper()
		stdout, stderr, code := dbg(t, append(append([]string{"verify", "--from", "file://" + target, "--cache-dir", t.TempDir(), "--key", keys.Public}, common...), args...)...)
		t.Logf("verify %v: exit %d\nstdout:\n%s\nstderr tail:\n%s", args, code, stdout, tail(stderr, 2000))
		return stdout, code
	}
	t.Run("every artifact reproduced", func(t *testing.T) {
		stdout, code := verify(t)
		if code != 0 || strings.Count(stdout, ": reproduced") != 3 {
			t.Fatalf("exit %d, want 0 with 3 reproduced", code)
		}
		// two prefixes (10.2.0 and 9.1.0 on x86_64), each with its
		// SHA256SUMS and provenance signed by the key
		if n := strings.Count(stdout, "signature: SHA256SUMS signed (key); provenance.intoto.jsonl signed (key)"); n != 2 {
			t.Errorf("%d prefixes with both signatures checked, want 2", n)
		}
	})

	b := m.Builds[0]
	for _, r := range m.Builds {
		if r.DriverVersion == "10.2.0+driver" {
			b = r
		}
	}
	t.Run("a tampered object differs", func(t *testing.T) {
		path := filepath.Join(target, filepath.FromSlash(b.Key))
		orig, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sums := filepath.Join(filepath.Dir(path), config.SumsFile)
		origSums, _ := os.ReadFile(sums)
		defer os.WriteFile(path, orig, 0o644)
		defer os.WriteFile(sums, origSums, 0o644)
		bad := append(bytes.Clone(orig), 0)
		if err := os.WriteFile(path, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		sum, _, _ := config.HashFile(path)
		os.WriteFile(sums, []byte(strings.ReplaceAll(string(origSums), b.SHA256, sum)), 0o644)
		stdout, code := verify(t, "--driver-version", b.DriverVersion)
		if code != 1 || !strings.Contains(stdout, b.Key+": differs: published sha256 "+sum+", rebuilt "+b.SHA256) {
			t.Fatalf("exit %d, want 1 with %s differs", code, b.Key)
		}
		// the rewritten SHA256SUMS is no longer what was signed
		if !strings.Contains(stdout, "signature: SHA256SUMS stale") {
			t.Errorf("the tampered SHA256SUMS is not reported stale")
		}
	})

	t.Run("a run rebuilding a published artifact with other bytes reports it and leaves it alone", func(t *testing.T) {
		path := filepath.Join(target, filepath.FromSlash(b.Key))
		orig, _ := os.ReadFile(path)
		defer os.WriteFile(path, orig, 0o644)
		os.WriteFile(path, append(bytes.Clone(orig), 0), 0o644)
		held, _ := os.ReadFile(path)
		second := t.TempDir() // lacks everything: the run rebuilds b for it
		out := t.TempDir()
		stdout, stderr, code := dbg(t, append([]string{"--config-dir", dir, "run", "--kernelrelease", k.Release, "--driver-version", b.DriverVersion,
			"--to", "file://" + target, "--to", "file://" + second, "--out", out, "--cache-dir", t.TempDir()}, common...)...)
		if code != 1 || !strings.Contains(stdout, "REBUILD DIFFERS file://"+target+" "+b.Key) {
			t.Fatalf("exit %d, want 1 with the finding\nstdout:\n%s\nstderr:\n%s", code, stdout, tail(stderr, 2000))
		}
		if now, _ := os.ReadFile(path); !bytes.Equal(now, held) {
			t.Errorf("%s was replaced without --force", b.Key)
		}
		var outs []publisher.Outcome
		data, _ := os.ReadFile(filepath.Join(out, publisher.PublishFile))
		if err := json.Unmarshal(data, &outs); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, o := range outs {
			found = found || (o.Action == publisher.RebuildDiffers && o.Key == b.Key && o.SHA256 == b.SHA256)
		}
		if !found {
			t.Errorf("publish.json has no rebuild_differs outcome for %s: %s", b.Key, data)
		}
	})

	t.Run("an input gone cannot be verified", func(t *testing.T) {
		bundle := filepath.Join(target, filepath.FromSlash(config.PrefixKey(b.DriverVersion, b.Arch)), grid.ProvenanceFile)
		orig, _ := os.ReadFile(bundle)
		defer os.WriteFile(bundle, orig, 0o644)
		var header string
		for _, in := range b.Inputs[1:] {
			header = in.URL
		}
		gone := lab.URL + "/gone/" + filepath.Base(header)
		os.WriteFile(bundle, []byte(strings.ReplaceAll(string(orig), header, gone)), 0o644)
		stdout, code := verify(t, "--driver-version", b.DriverVersion)
		if code != 2 || !strings.Contains(stdout, b.Key+": cannot verify: ") || !strings.Contains(stdout, "/gone/") {
			t.Fatalf("exit %d, want 2 with %s cannot verify, naming the input", code, b.Key)
		}
	})
}

// checkProvenance checks the target's provenance of every built artifact:
// its subject's digest is the artifact's, and it records every input with
// its digest, the builder image's ID, the scripts' digest and uname -r.
func checkProvenance(t *testing.T, target string, m grid.Report) {
	t.Helper()
	for _, b := range m.Builds {
		data, err := os.ReadFile(filepath.Join(target, filepath.FromSlash(config.PrefixKey(b.DriverVersion, b.Arch)), grid.ProvenanceFile))
		if err != nil {
			t.Fatal(err)
		}
		list, err := grid.ParseProvenance(data)
		if err != nil {
			t.Fatal(err)
		}
		var s *grid.Statement
		for i := range list {
			if list[i].SubjectName() == b.File {
				s = &list[i]
			}
		}
		if s == nil {
			t.Fatalf("%s: no statement in %s", b.Key, grid.ProvenanceFile)
		}
		published, _, _ := config.HashFile(filepath.Join(target, filepath.FromSlash(b.Key)))
		in := s.Predicate.BuildDefinition.InternalParameters
		deps := s.Predicate.BuildDefinition.ResolvedDependencies
		switch {
		case s.SubjectSHA256() != published || published != b.SHA256:
			t.Errorf("%s: subject sha256 %s, published %s, built %s", b.Key, s.SubjectSHA256(), published, b.SHA256)
		case !strings.HasPrefix(in.BuilderImage.ID, "sha256:"):
			t.Errorf("%s: builder image ID %q", b.Key, in.BuilderImage.ID)
		case len(in.ScriptsSHA256) != 64 || in.ScriptsSHA256 != b.ScriptsSHA256:
			t.Errorf("%s: scripts sha256 %q, built with %q", b.Key, in.ScriptsSHA256, b.ScriptsSHA256)
		case in.UnameR == "" || in.UnameR != b.UnameR:
			t.Errorf("%s: uname -r %q, built for %q", b.Key, in.UnameR, b.UnameR)
		case len(deps) != len(b.Inputs)+1 || len(b.Inputs) < 2:
			t.Errorf("%s: %d dependencies for %d inputs and the image", b.Key, len(deps), len(b.Inputs))
		case s.Predicate.RunDetails.Builder.Version["dbg"] == "":
			t.Errorf("%s: no dbg version", b.Key)
		}
		for i, in := range b.Inputs {
			if i < len(deps) && (deps[i].URI != in.URL || deps[i].Digest["sha256"] != in.SHA256 || len(in.SHA256) != 64) {
				t.Errorf("%s: dependency %d is %v, the build fetched %s %s", b.Key, i, deps[i], in.URL, in.SHA256)
			}
		}
		if b.Inputs[0].SHA256 != b.SourceSHA256 {
			t.Errorf("%s: first input %v is not the driver source %s", b.Key, b.Inputs[0], b.SourceSHA256)
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
