package config

import (
	"fmt"
	"sort"
	"strings"
)

// ErrInvalid is wrapped by errors caused by invalid user data (configs,
// driver versions). Commands map it to exit code 1.
var ErrInvalid = Classed(ErrData, "invalid configuration")

// Severity tells whether a Problem makes its file invalid. The zero value
// is an error.
type Severity string

const (
	// SeverityError makes the file invalid (exit code 1).
	SeverityError Severity = ""
	// SeverityWarning is reported but changes nothing: it never fails a
	// command, never stops a plan and is not counted by Problems.Err.
	SeverityWarning Severity = "warning"
)

// Problem is one thing wrong with one config file, at a position when the
// YAML gives one (Line and Col are 1-based; 0 means unknown).
type Problem struct {
	Path     string   `json:"path"`
	Line     int      `json:"line,omitempty"`
	Col      int      `json:"col,omitempty"`
	Field    string   `json:"field,omitempty"`
	Msg      string   `json:"message"`
	Severity Severity `json:"severity,omitempty"`
}

// IsWarning tells whether p is a warning rather than an error.
func (p Problem) IsWarning() bool { return p.Severity == SeverityWarning }

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.Path)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", p.Line, p.Col)
	}
	b.WriteString(": ")
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	if p.IsWarning() {
		b.WriteString("warning: ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is a list of problems, sorted by SortProblems for stable output.
type Problems []Problem

// Err returns nil when there are no errors (warnings do not count), else an
// error wrapping ErrInvalid that lists every error.
func (ps Problems) Err() error {
	errs := ps.Errors()
	if len(errs) == 0 {
		return nil
	}
	lines := make([]string, len(errs))
	for i, p := range errs {
		lines[i] = p.String()
	}
	return fmt.Errorf("%w: %d problem(s):\n%s", ErrInvalid, len(errs), strings.Join(lines, "\n"))
}

// Errors returns the problems that are errors, in order.
func (ps Problems) Errors() Problems { return ps.filter(false) }

// Warnings returns the problems that are warnings, in order.
func (ps Problems) Warnings() Problems { return ps.filter(true) }

func (ps Problems) filter(warning bool) Problems {
	var out Problems
	for _, p := range ps {
		if p.IsWarning() == warning {
			out = append(out, p)
		}
	}
	return out
}

// Sort orders problems by path, line, column, then message.
func (ps Problems) Sort() {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return a.Msg < b.Msg
	})
}

// Files counts the distinct files with problems.
func (ps Problems) Files() int {
	seen := map[string]bool{}
	for _, p := range ps {
		seen[p.Path] = true
	}
	return len(seen)
}
