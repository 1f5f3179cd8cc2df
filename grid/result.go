package grid

import "time"

// Status of one planned build.
type Status string

// The statuses a build ends with.
const (
	Built   Status = "built"
	Failed  Status = "failed"
	Skipped Status = "skipped"
	// NotBuildable: dbg cannot build this kernel × version × kind at all
	// (kernel too old for the kind, a target whose recipe needs the network).
	NotBuildable Status = "not_buildable"
)

// BuildResult is what became of one plan entry (Result is a container run's).
type BuildResult struct {
	Entry
	Status   Status  `json:"status"`
	SHA256   string  `json:"sha256,omitempty"`
	Size     int64   `json:"size,omitempty"`
	Duration float64 `json:"duration_seconds"` // the build itself, in the container
	// Container is the wall time of the kernel's container, shared by all
	// the kernel's builds: headers, every build, copies in and out.
	Container float64 `json:"container_seconds,omitempty"`
	Log       string  `json:"log,omitempty"`
	// UnameR is the `uname -r` of the kernel headers the build used (read
	// from UTS_RELEASE in include/generated/utsrelease.h), which the artifact was checked
	// against: on Debian it differs from the consumer-visible release.
	UnameR string `json:"uname_r,omitempty"`
	// SourceSHA256 is the digest of the driver source tarball the build
	// used (pinned in driverversions.yaml or not).
	SourceSHA256 string `json:"source_sha256,omitempty"`
	Reason       string `json:"reason,omitempty"`
	// Infra marks a failure of the infrastructure (Docker, network), not of
	// the kernel or the driver.
	Infra bool `json:"infra,omitempty"`
	// LogTail is the end of the log of a failed build, for the summary.
	LogTail string `json:"-"`

	// What made the artifact (provenance).
	// Compiler is the first line of `gcc --version` of the compiler the
	// build used, in its builder image.
	Compiler string `json:"compiler,omitempty"`
	// GCCVersion is the gcc version the build asked for (the config's, or
	// the default): the image's /usr/bin/gcc-<version>.
	GCCVersion string `json:"gcc_version,omitempty"`
	// Image is the builder image the build ran in.
	Image *ImageRef `json:"image,omitempty"`
	// Inputs are the fetched inputs of the build: the driver source and
	// every header package, with their digests.
	Inputs []Input `json:"inputs,omitempty"`
	// ScriptsSHA256 is the digest of the rendered scripts the build ran.
	ScriptsSHA256 string `json:"scripts_sha256,omitempty"`
	// Boot is the boot check's result (--boot-check), nil when not asked.
	Boot *BootResult `json:"boot,omitempty"`
}

// ImageRef names a builder image: the reference a build asked for, the
// image ID it ran, and its registry digest when it came from a registry.
type ImageRef struct {
	Ref    string `json:"ref"`
	ID     string `json:"id,omitempty"`
	Digest string `json:"digest,omitempty"`
}

// Input is one fetched input of a build.
type Input struct {
	URL    string `json:"url"`
	SHA256 string `json:"sha256"`
}

// BootResult is what the boot check found for a module.
type BootResult struct {
	// Status is "loaded", "failed" (the module did not load: the build
	// fails) or "not_booted" (no kernel image, or the check could not run).
	Status  string  `json:"status"`
	Reason  string  `json:"reason,omitempty"`  // the kernel's message, or why it was not booted
	Kernel  string  `json:"kernel,omitempty"`  // URL of the kernel image booted
	Seconds float64 `json:"seconds,omitempty"` // boot + insmod wall time
}

func results(entries []Entry, status Status, reason string, infra bool, d time.Duration) []BuildResult {
	out := make([]BuildResult, len(entries))
	for i, e := range entries {
		out[i] = BuildResult{Entry: e, Status: status, Reason: reason, Infra: infra, Duration: d.Seconds()}
	}
	return out
}
