package publisher

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
)

// A published statement is untrusted input: what a rebuild takes from it
// (kernel config, driver version, source URL, image, gcc) passes the same
// validation as configs and driverversions.yaml before it reaches a script
// or the Docker API.

// rebuildJob is the rebuild a statement asks for.
type rebuildJob struct {
	entry  grid.Entry
	dv     *config.DriverVersions
	image  grid.ImageRef
	gcc    string
	inputs map[string]string // recorded input URL -> sha256
}

// groupKey is what one builder of the rebuild shares.
func (j rebuildJob) groupKey() string { return j.image.Ref + " " + j.gcc + " " + j.dv.Source }

// rebuildOf turns the statement of the artifact file of p into a rebuild,
// or says why it cannot be rebuilt.
func rebuildOf(s grid.Statement, p Prefix, file string, o config.LoadOptions, registries []string) (rebuildJob, error) {
	bd := s.Predicate.BuildDefinition
	ext, in := bd.ExternalParameters, bd.InternalParameters
	if bd.BuildType != grid.BuildType {
		return rebuildJob{}, fmt.Errorf("build type %q is not dbg's", bd.BuildType)
	}
	kp := ext.Kernel
	// The recorded image and gcc become the config's: validated as a
	// config's (an image local, or from an allowed registry pinned by
	// digest), so that a statement cannot make dbg pull any image.
	k := &config.Kernel{Target: kp.Target, KernelRelease: kp.KernelRelease, KernelVersion: kp.KernelVersion,
		Architecture: kp.Architecture, KernelURLs: kp.KernelURLs, KernelConfigData: kp.KernelConfigData,
		BuilderImage: in.BuilderImage.Ref, GCCVersion: in.GCCVersion}
	if in.BuilderImage.Ref == "" || in.GCCVersion == "" {
		return rebuildJob{}, fmt.Errorf("no builder image or gcc version recorded")
	}
	if probs := o.Validate(k, registries...); len(probs) > 0 {
		return rebuildJob{}, fmt.Errorf("recorded kernel config: %w", probs.Err())
	}
	deps := map[string]string{}
	source := ""
	for _, d := range bd.ResolvedDependencies {
		if d.Name == "builder image" {
			continue
		}
		deps[d.URI] = d.Digest["sha256"]
		if d.Name == "driver source" {
			source = d.URI
		}
	}
	if source == "" {
		return rebuildJob{}, fmt.Errorf("no driver source recorded")
	}
	dv, err := recordedVersions(ext.DriverVersion, ext.Kind, source, deps[source], o)
	if err != nil {
		return rebuildJob{}, err
	}
	if got := config.FileName(k, ext.Kind); got != file || p.Arch != k.Architecture.Machine() || p.DriverVersion != ext.DriverVersion {
		return rebuildJob{}, fmt.Errorf("the statement describes %s/%s/%s, not this artifact", ext.DriverVersion, k.Architecture.Machine(), got)
	}
	v := dv.Versions[0]
	e := grid.Entry{DriverVersion: v.Version, Arch: k.Architecture.Machine(), Target: k.Target,
		KernelRelease: k.KernelRelease, KernelVersion: k.KernelVersion, Kind: ext.Kind, File: file,
		Key: config.ObjectKey(v.Version, k.Architecture, file), Kernel: k, Version: v}
	return rebuildJob{entry: e, dv: dv, image: in.BuilderImage, gcc: in.GCCVersion, inputs: deps}, nil
}

// recordedVersions is the driverversions.yaml of one recorded driver
// version, its source pinned to the recorded digest, validated as the file.
func recordedVersions(version string, kind config.Kind, source, sum string, o config.LoadOptions) (*config.DriverVersions, error) {
	tmpl := strings.ReplaceAll(source, version, "{version}")
	data, err := yaml.Marshal(config.DriverVersions{Window: 1, Source: tmpl,
		Versions: []config.DriverVersion{{Version: version, Kinds: []config.Kind{kind}, SHA256: sum}}})
	if err != nil {
		return nil, err
	}
	dv, probs := o.DecodeDriverVersions("provenance", data)
	if err := probs.Err(); err != nil {
		return nil, fmt.Errorf("recorded driver version: %w", err)
	}
	if dv.SourceURL(version) != source {
		return nil, fmt.Errorf("recorded driver source %s is not the version's", source)
	}
	return dv, nil
}
