package grid

import (
	"bytes"
	"regexp"
	"strings"
)

// errorLine matches the lines that state a build's real error: CMake's
// "CMake Error at ...", a compiler's or driver's "error:" (gcc, clang, ld,
// "fatal error:"), and kbuild's "ERROR: modpost: ...". make's "*** [...]
// Error 2" is a consequence, not a cause, and does not match.
var errorLine = regexp.MustCompile(`^CMake Error|(^|[\s:])(fatal )?error: |^ERROR: `)

const maxReasonLine = 300

// firstError is ": <the first line of log stating an error>", to put the
// cause of a failure into its reason. For a CMake error, whose message
// follows on the next line, both lines are kept. Without such a line it is
// the last line of the log that is not a shell trace.
func firstError(log []byte) string {
	lines := strings.Split(string(bytes.TrimSpace(log)), "\n")
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "+") || !errorLine.MatchString(l) {
			continue
		}
		if strings.HasPrefix(l, "CMake Error") {
			if next := nextNonBlank(lines[i+1:]); next != "" {
				l += " " + next
			}
		}
		return ": " + shorten(l)
	}
	return lastLine(lines)
}

func nextNonBlank(lines []string) string {
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// lastLine is ": <the last line that is not a shell trace>".
func lastLine(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" && !strings.HasPrefix(l, "+") {
			return ": " + shorten(l)
		}
	}
	return ""
}

func shorten(l string) string {
	if len(l) > maxReasonLine {
		return l[:maxReasonLine] + "..."
	}
	return l
}
