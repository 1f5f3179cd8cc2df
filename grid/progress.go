package grid

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress prints one line per finished build to a writer (stderr): it
// stays readable in CI logs, where carriage-return tricks do not.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	total    int
	finished int
	failed   int
	started  time.Time
}

func newProgress(w io.Writer, total int) *progress {
	return &progress{w: w, total: total, started: time.Now()}
}

func (p *progress) line(r BuildResult) {
	p.finished++
	if r.Status == Failed {
		p.failed++
	}
	elapsed := time.Since(p.started)
	eta := time.Duration(0)
	if p.finished > 0 {
		eta = elapsed / time.Duration(p.finished) * time.Duration(p.total-p.finished)
	}
	fmt.Fprintf(p.w, "[%*d/%d] %-7s %s %s (%.1fs) | failed %d | elapsed %s | eta %s\n",
		len(fmt.Sprint(p.total)), p.finished, p.total, r.Status, r.DriverVersion, r.File, r.Duration,
		p.failed, elapsed.Round(time.Second), eta.Round(time.Second))
}

// done reports the results of one kernel.
func (p *progress) done(rs []BuildResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range rs {
		p.line(r)
	}
}
