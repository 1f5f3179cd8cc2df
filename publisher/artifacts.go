package publisher

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
)

// FromBuild returns the artifacts a build wrote into out: the entries of
// out/manifest.json with status built, after checking that each file is
// still there with the digest the manifest recorded. Nothing half-built or
// changed since is published.
func FromBuild(out string) ([]Artifact, error) {
	data, err := os.ReadFile(filepath.Join(out, grid.ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("read the build manifest: %w", err)
	}
	var r grid.Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("read the build manifest: %w", err)
	}
	arts, err := FromResults(out, r.Builds)
	return localStatements(arts), err
}

// FromResults turns built results into artifacts, verifying that each file
// still has the digest the build recorded.
func FromResults(out string, results []grid.BuildResult) ([]Artifact, error) {
	arts := builtArtifacts(out, results)
	for _, a := range arts {
		sum, size, err := config.HashFile(a.Path)
		if err != nil {
			return nil, fmt.Errorf("artifact %s: %w", a.Key(), err)
		}
		if sum != a.SHA256 || size != a.Size {
			return nil, fmt.Errorf("artifact %s: the file changed since it was built (sha256 %s, manifest says %s)", a.Key(), sum, a.SHA256)
		}
	}
	return arts, nil
}

// builtArtifacts are the artifacts of the built results, with the digests
// computed while they were installed.
func builtArtifacts(out string, results []grid.BuildResult) []Artifact {
	var arts []Artifact
	for _, b := range results {
		if b.Status == grid.Built {
			arts = append(arts, Artifact{Prefix: Prefix{b.DriverVersion, b.Arch}, File: b.File,
				Path: filepath.Join(out, filepath.FromSlash(b.Key)), SHA256: b.SHA256, Size: b.Size})
		}
	}
	return arts
}
