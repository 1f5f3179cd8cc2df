package publisher

import "time"

// StatusFile is a prefix's merged build status, beside its SHA256SUMS:
// driver/<dv>/<arch>/status.json (on GitHub a release asset of that name).
const StatusFile = "status.json"

// KernelStatus is what became of one kernel × driver version × kind, as
// the last run that planned it recorded it.
type KernelStatus struct {
	File          string `json:"file"` // the artifact's file name in its prefix
	Target        string `json:"target"`
	KernelRelease string `json:"kernelrelease"`
	KernelVersion string `json:"kernelversion"`
	Kind          string `json:"kind"`
	UnameR        string `json:"uname_r,omitempty"`
	Status        string `json:"status"` // built | failed | not_buildable
	Reason        string `json:"reason,omitempty"`
	LogTail       string `json:"log_tail,omitempty"` // neutralised last log lines of a failure
	// Boot is the boot check's verdict on a module (--boot-check): "loaded",
	// "failed" or "not_booted", with the reason after ": ".
	Boot string    `json:"boot,omitempty"`
	Run  string    `json:"run"` // the run's id
	Time time.Time `json:"time"`
}

// PrefixStatus is the content of one prefix's status.json.
type PrefixStatus struct {
	DriverVersion string         `json:"driver_version"`
	Arch          string         `json:"arch"`
	Kernels       []KernelStatus `json:"kernels"`
}
