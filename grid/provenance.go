package grid

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/falcosecurity/dbg/config"
)

// Provenance: for every artifact, one in-toto statement (v1) with the SLSA
// provenance v1 predicate, which says exactly what made it. The statements
// of a prefix's artifacts are one JSON-lines file, ProvenanceFile, beside
// its SHA256SUMS: one statement a line, sorted by subject name, merged
// when artifacts are added (MergeProvenance), so that a prefix filled by
// several runs and shards still describes each of its artifacts.

// ProvenanceFile is the name of a prefix's provenance bundle.
const ProvenanceFile = "provenance.intoto.jsonl"

// The URIs of the statement and of its parts.
const (
	StatementType  = "https://in-toto.io/Statement/v1"
	PredicateSLSA  = "https://slsa.dev/provenance/v1"
	BuildType      = "https://github.com/falcosecurity/dbg/buildtypes/driver/v1"
	BuilderID      = "https://github.com/falcosecurity/dbg"
	imageURIPrefix = "docker-image://"
)

// Statement is an in-toto statement about one artifact.
type Statement struct {
	Type          string     `json:"_type"`
	Subject       []Subject  `json:"subject"`
	PredicateType string     `json:"predicateType"`
	Predicate     Provenance `json:"predicate"`
}

// Subject is an artifact (its file name) and its digest.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// Provenance is the SLSA provenance v1 predicate.
type Provenance struct {
	BuildDefinition BuildDefinition `json:"buildDefinition"`
	RunDetails      RunDetails      `json:"runDetails"`
}

// BuildDefinition is what was built, from what.
type BuildDefinition struct {
	BuildType            string               `json:"buildType"`
	ExternalParameters   ExternalParameters   `json:"externalParameters"`
	InternalParameters   InternalParameters   `json:"internalParameters"`
	ResolvedDependencies []ResourceDescriptor `json:"resolvedDependencies"`
}

// ExternalParameters are what the user asked for: the kernel config and
// the driver version and kind. A rebuild needs nothing else.
type ExternalParameters struct {
	DriverVersion string      `json:"driverVersion"`
	Kind          config.Kind `json:"kind"`
	Key           string      `json:"key"` // the artifact's object key
	Kernel        KernelParam `json:"kernel"`
}

// KernelParam is the kernel config of a build (a config file's fields).
type KernelParam struct {
	Target           string      `json:"target"`
	KernelRelease    string      `json:"kernelrelease"`
	KernelVersion    string      `json:"kernelversion"`
	Architecture     config.Arch `json:"architecture"`
	KernelURLs       []string    `json:"kernelurls"`
	KernelConfigData string      `json:"kernelconfigdata,omitempty"`
}

// InternalParameters are what dbg chose: the builder image and compiler,
// the rendered scripts, and what the build and its checks found.
type InternalParameters struct {
	BuilderImage  ImageRef    `json:"builderImage"`
	GCCVersion    string      `json:"gccVersion,omitempty"`
	Compiler      string      `json:"compiler,omitempty"` // gcc --version, first line
	ScriptsSHA256 string      `json:"scriptsSha256"`
	UnameR        string      `json:"unameR"`
	Boot          *BootResult `json:"boot,omitempty"`
}

// ResourceDescriptor is an input (SLSA resolvedDependencies).
type ResourceDescriptor struct {
	Name   string            `json:"name,omitempty"`
	URI    string            `json:"uri"`
	Digest map[string]string `json:"digest"`
}

// RunDetails is who built it, and when.
type RunDetails struct {
	Builder  BuilderInfo   `json:"builder"`
	Metadata BuildMetadata `json:"metadata"`
}

// BuilderInfo is dbg and its version.
type BuilderInfo struct {
	ID      string            `json:"id"`
	Version map[string]string `json:"version"`
}

// BuildMetadata is the run's identity and times.
type BuildMetadata struct {
	InvocationID string    `json:"invocationId,omitempty"`
	StartedOn    time.Time `json:"startedOn"`
	FinishedOn   time.Time `json:"finishedOn"`
}

// NewStatement is the statement of a built result of the run rep.
func NewStatement(r BuildResult, rep *Report) Statement {
	k := r.Kernel
	deps := make([]ResourceDescriptor, 0, len(r.Inputs)+1)
	for i, in := range r.Inputs {
		name := "kernel header package"
		if i == 0 {
			name = "driver source"
		}
		deps = append(deps, ResourceDescriptor{Name: name, URI: in.URL, Digest: map[string]string{"sha256": in.SHA256}})
	}
	img := ImageRef{}
	if r.Image != nil {
		img = *r.Image
		if id, ok := strings.CutPrefix(img.ID, "sha256:"); ok {
			deps = append(deps, ResourceDescriptor{Name: "builder image", URI: imageURIPrefix + img.Ref, Digest: map[string]string{"sha256": id}})
		}
	}
	ext := ExternalParameters{DriverVersion: r.DriverVersion, Kind: r.Kind, Key: r.Key}
	if k != nil {
		ext.Kernel = KernelParam{Target: k.Target, KernelRelease: k.KernelRelease, KernelVersion: k.KernelVersion,
			Architecture: k.Architecture, KernelURLs: k.KernelURLs, KernelConfigData: k.KernelConfigData}
	}
	return Statement{
		Type:          StatementType,
		Subject:       []Subject{{Name: r.File, Digest: map[string]string{"sha256": r.SHA256}}},
		PredicateType: PredicateSLSA,
		Predicate: Provenance{
			BuildDefinition: BuildDefinition{
				BuildType:          BuildType,
				ExternalParameters: ext,
				InternalParameters: InternalParameters{BuilderImage: img, GCCVersion: r.GCCVersion, Compiler: r.Compiler,
					ScriptsSHA256: r.ScriptsSHA256, UnameR: r.UnameR, Boot: r.Boot},
				ResolvedDependencies: deps,
			},
			RunDetails: RunDetails{
				Builder:  BuilderInfo{ID: BuilderID, Version: map[string]string{"dbg": config.Version()}},
				Metadata: BuildMetadata{InvocationID: invocationID(), StartedOn: rep.Started, FinishedOn: rep.Finished},
			},
		},
	}
}

// invocationID is the GitHub Actions run dbg runs in, if any.
func invocationID() string {
	server, repo, run := os.Getenv("GITHUB_SERVER_URL"), os.Getenv("GITHUB_REPOSITORY"), os.Getenv("GITHUB_RUN_ID")
	if server == "" || repo == "" || run == "" {
		return ""
	}
	id := server + "/" + repo + "/actions/runs/" + run
	if a := os.Getenv("GITHUB_RUN_ATTEMPT"); a != "" {
		id += "/attempts/" + a
	}
	return id
}

// SubjectName is the artifact a statement is about ("" if none).
func (s Statement) SubjectName() string {
	if len(s.Subject) != 1 {
		return ""
	}
	return s.Subject[0].Name
}

// SubjectSHA256 is the digest the statement gives its artifact.
func (s Statement) SubjectSHA256() string {
	if len(s.Subject) != 1 {
		return ""
	}
	return s.Subject[0].Digest["sha256"]
}

// ParseProvenance reads a provenance bundle: one statement a line. A line
// that is not a dbg statement about one artifact is an error naming it.
func ParseProvenance(data []byte) ([]Statement, error) {
	var out []Statement
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var s Statement
		if err := json.Unmarshal(line, &s); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", ProvenanceFile, i+1, err)
		}
		if s.Type != StatementType || s.PredicateType != PredicateSLSA || s.SubjectName() == "" {
			return nil, fmt.Errorf("%s line %d: not an in-toto statement with SLSA provenance v1 about one artifact", ProvenanceFile, i+1)
		}
		out = append(out, s)
	}
	return out, nil
}

// MergeProvenance is the bundle old with the statements of add: a statement
// replaces the one about the same artifact; keep, when not nil, keeps only
// the statements whose artifact it tells is still there. Lines sorted by
// artifact, one statement each.
func MergeProvenance(old []byte, add []Statement, keep func(file string) bool) ([]byte, error) {
	prev, err := ParseProvenance(old)
	if err != nil {
		return nil, err
	}
	byName := map[string]Statement{}
	for _, s := range append(prev, add...) {
		byName[s.SubjectName()] = s
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		if keep == nil || keep(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var buf bytes.Buffer
	for _, n := range names {
		line, err := json.Marshal(byName[n])
		if err != nil {
			return nil, fmt.Errorf("encode provenance of %s: %w", n, err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
}
