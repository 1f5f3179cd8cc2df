package grid

import (
	"errors"
	"time"
)

// Report is the outcome of a build run: what manifest.json holds.
type Report struct {
	Started  time.Time     `json:"started"`
	Finished time.Time     `json:"finished"`
	Total    int           `json:"total"`
	Built    int           `json:"built"`
	Failed   int           `json:"failed"`
	Skipped  int           `json:"skipped"`
	Builds   []BuildResult `json:"builds"`
	// Infra tells that some failure was the infrastructure's.
	Infra bool `json:"infra_failure"`
}

// newReport orders the results like the plan and counts them.
func newReport(plan []Entry, groups [][]BuildResult, start time.Time) *Report {
	byKey := map[string]BuildResult{}
	for _, g := range groups {
		for _, r := range g {
			byKey[r.Key] = r
		}
	}
	r := &Report{Started: start.UTC(), Finished: time.Now().UTC(), Total: len(plan), Builds: make([]BuildResult, len(plan))}
	for i, e := range plan {
		res, ok := byKey[e.Key]
		if !ok {
			res = BuildResult{Entry: e, Status: Skipped, Reason: "not built"}
		}
		r.Builds[i] = res
		r.count(res)
	}
	return r
}

func (r *Report) count(res BuildResult) {
	switch res.Status {
	case Built:
		r.Built++
	case Failed:
		r.Failed++
	default:
		r.Skipped++
	}
	r.Infra = r.Infra || res.Infra
}

// ErrBuildsFailed is returned when some builds failed (exit code 1).
var ErrBuildsFailed = errors.New("builds failed")

// Complete returns a report over the whole plan: the entries r has keep
// their results, the others are skipped with reason (r may be nil).
func Complete(plan []Entry, r *Report, reason string) *Report {
	var groups [][]BuildResult
	start := time.Now()
	if r != nil {
		groups, start = [][]BuildResult{r.Builds}, r.Started
	}
	out := newReport(plan, groups, start)
	for i := range out.Builds {
		if out.Builds[i].Reason == "not built" {
			out.Builds[i].Reason = reason
		}
	}
	return out
}
