package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrInvalid is wrapped by errors caused by invalid user data (configs,
// driver versions). Commands map it to exit code 1.
var ErrInvalid = errors.New("invalid configuration")

// Problem is one thing wrong with one config file, at a position when the
// YAML gives one (Line and Col are 1-based; 0 means unknown).
type Problem struct {
	Path  string `json:"path"`
	Line  int    `json:"line,omitempty"`
	Col   int    `json:"col,omitempty"`
	Field string `json:"field,omitempty"`
	Msg   string `json:"message"`
}

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
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is a list of problems, sorted by SortProblems for stable output.
type Problems []Problem

// Err returns nil when there are no problems, else an error wrapping
// ErrInvalid that lists them all.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return fmt.Errorf("%w: %d problem(s):\n%s", ErrInvalid, len(ps), strings.Join(lines, "\n"))
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
