package grid

import "time"

// Status of one planned build.
type Status string

// The statuses a build ends with.
const (
	Built   Status = "built"
	Failed  Status = "failed"
	Skipped Status = "skipped"
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
}

func results(entries []Entry, status Status, reason string, infra bool, d time.Duration) []BuildResult {
	out := make([]BuildResult, len(entries))
	for i, e := range entries {
		out[i] = BuildResult{Entry: e, Status: status, Reason: reason, Infra: infra, Duration: d.Seconds()}
	}
	return out
}
