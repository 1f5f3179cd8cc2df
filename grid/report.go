package grid

import (
	"time"

	"github.com/falcosecurity/dbg/config"
)

// Report is the outcome of a build run: what manifest.json holds.
type Report struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Total    int       `json:"total"`
	Built    int       `json:"built"`
	Failed   int       `json:"failed"`
	Skipped  int       `json:"skipped"`
	// NotBuildable counts the entries dbg cannot build at all (kernel too
	// old for the kind, a target that needs the network).
	NotBuildable int           `json:"not_buildable"`
	Builds       []BuildResult `json:"builds"`
	// Infra tells that some failure was the infrastructure's.
	Infra bool `json:"infra_failure"`
}

// NewReport counts the results of a run, one per plan entry in plan order.
func NewReport(started time.Time, builds []BuildResult) *Report {
	r := &Report{Started: started.UTC(), Finished: time.Now().UTC(), Total: len(builds), Builds: builds}
	for _, b := range builds {
		r.count(b)
	}
	return r
}

// Skip is the result of an entry that was not built, and why.
func Skip(e Entry, reason string) BuildResult {
	return BuildResult{Entry: e, Status: Skipped, Reason: reason}
}

func (r *Report) count(res BuildResult) {
	switch res.Status {
	case Built:
		r.Built++
	case Failed:
		r.Failed++
	case NotBuildable:
		r.NotBuildable++
	default:
		r.Skipped++
	}
	r.Infra = r.Infra || res.Infra
}

// ErrBuildsFailed is returned when some builds failed: a data error.
var ErrBuildsFailed = config.Classed(config.ErrData, "builds failed")
