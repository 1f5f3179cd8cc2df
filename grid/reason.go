package grid

import (
	"bytes"
	"regexp"
	"strings"
)

// errorLine matches the lines that state a build's real error: CMake's
// "CMake Error at ...", a compiler's or driver's "error:" after a location
// or a program name (gcc, clang, ld, "fatal error:"), and kbuild's "ERROR:
// modpost: ...". make's "*** [...] Error 2" is a consequence, not a cause,
// and does not match; nor does another word's error ("expr: syntax error:",
// which libs' probe Makefile prints on its way).
var errorLine = regexp.MustCompile(`^CMake Error|(^|: ?)(fatal )?error: |^ERROR: `)

const (
	maxReasonLine = 300
	// maxLogLine is how much of one log line logScan keeps: the rest of a
	// longer line is dropped (its kept part ends in "...").
	maxLogLine = 4 << 10
	// tailLines is how many lines of a failed build's log its result keeps
	// (BuildResult.LogTail).
	tailLines = 20
)

// firstError is ": <the first line of log stating an error>", to put the
// cause of a failure into its reason. For a CMake error, whose message
// follows on the next line, both lines are kept. Without such a line it is
// the last line of the log that is not a shell trace.
func firstError(log []byte) string {
	s := newLogScan(0)
	_, _ = s.Write(log)
	return s.Reason()
}

// logScan reads a log as it is written to it, once, in bounded memory
// (about (tail+3) × maxLogLine bytes, whatever the log's size, allocated
// once): it keeps the first error line (errorLine) and, for a CMake error,
// the next non-blank line; the last line that is not a shell trace; and
// the last tail lines. Lines end at '\n'; each is cut at maxLogLine bytes.
type logScan struct {
	line  []byte // the line being read, at most maxLogLine bytes
	cut   bool   // line lost bytes past maxLogLine
	first string // the first error line, "" until found
	cmake bool   // first is a CMake error waiting for its next line
	probe bool   // inside the output of one of libs' configure probes
	found bool   // first is complete
	last  []byte // the last line that is not blank or a shell trace
	// tail is a ring of the last lines: next is where the next one goes,
	// n how many it holds.
	tail    [][]byte
	next, n int
	blank   int  // blank lines not yet in tail: they count only if a line follows
	done    bool // the last, unterminated line was taken
}

// cutMark ends a line that was cut.
const cutMark = "..."

func newLogScan(tail int) *logScan {
	return &logScan{tail: make([][]byte, tail)}
}

// Write takes the next bytes of the log; it never fails.
func (s *logScan) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if room := maxLogLine - len(s.line); len(chunk) > room {
			s.line = append(s.line, chunk[:room]...)
			s.cut = true
		} else {
			s.line = append(s.line, chunk...)
		}
		if i < 0 {
			break
		}
		s.take()
		p = p[i+1:]
	}
	return n, nil
}

// take ends the line being read.
func (s *logScan) take() {
	line := s.line
	if s.cut {
		line = append(line, cutMark...)
	}
	s.line, s.cut = line[:0], false
	s.addTail(line)
	l := bytes.TrimSpace(line)
	if len(l) == 0 {
		return
	}
	trace := l[0] == '+'
	if !trace {
		s.last = append(s.last[:0], l...)
	}
	s.probe = configureProbe(l, s.probe)
	switch {
	case s.found:
	case s.cmake:
		s.first += " " + string(l)
		s.found = true
	case !trace && !s.probe && mayBeError(l) && errorLine.Match(l):
		s.first = string(l)
		s.cmake = bytes.HasPrefix(l, []byte("CMake Error"))
		s.found = !s.cmake
	}
}

// configureProbe tells whether the log is inside the output of one of
// libs' configure probes after line l (in is the state before it). libs'
// driver makefiles (9.x: driver/configure and driver/bpf/configure)
// compile small test programs against the kernel to see what it has, and
// print the output of each, errors expected, between
// "[configure-kmod] Build output for HAS_X:" (or configure-bpf) and the
// next "[configure-...]" line of their own ("Setting HAS_X flag", ...);
// those errors are answers, not the build's error.
func configureProbe(l []byte, in bool) bool {
	if !bytes.HasPrefix(l, []byte("[configure-")) {
		return in
	}
	_, rest, ok := bytes.Cut(l, []byte("] "))
	switch {
	case !ok:
		return in
	case bytes.HasPrefix(rest, []byte("Build output for ")):
		return true
	case bytes.HasPrefix(rest, []byte("make")):
		return in
	}
	return false
}

// addTail keeps line among the last lines. Blank lines are held back until
// a line follows them: trailing blank lines are not part of the tail.
func (s *logScan) addTail(line []byte) {
	if len(s.tail) == 0 {
		return
	}
	if len(line) == 0 {
		s.blank++
		return
	}
	for ; s.blank > 0; s.blank-- {
		if s.blank <= len(s.tail) {
			s.push(nil)
		}
	}
	s.push(line)
}

func (s *logScan) push(line []byte) {
	s.tail[s.next] = append(s.tail[s.next][:0], line...)
	s.next = (s.next + 1) % len(s.tail)
	s.n = min(s.n+1, len(s.tail))
}

// finish takes the last line when the log does not end with a newline.
// No Write may follow.
func (s *logScan) finish() {
	if !s.done {
		s.done = true
		if len(s.line) > 0 || s.cut {
			s.take()
		}
	}
}

// mayBeError is a cheap test that errorLine may match l: the regexp runs
// only for lines that pass it (a regexp match takes a machine from a pool,
// which the race detector empties at random: millions of lines then
// allocate gigabytes).
func mayBeError(l []byte) bool {
	return bytes.Contains(l, []byte("error: ")) || bytes.HasPrefix(l, []byte("CMake Error")) || bytes.HasPrefix(l, []byte("ERROR: "))
}

// Reason is ": <the first error line>" (firstError's rule), else ": <the
// last line that is not a shell trace>", else "".
func (s *logScan) Reason() string {
	s.finish()
	switch {
	case s.first != "":
		return ": " + shorten(s.first)
	case len(s.last) > 0:
		return ": " + shorten(string(s.last))
	}
	return ""
}

// Tail is the last lines of the log, without its trailing newlines.
func (s *logScan) Tail() string {
	s.finish()
	var b strings.Builder
	for i := range s.n {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.Write(s.tail[(s.next-s.n+i+len(s.tail))%len(s.tail)])
	}
	return b.String()
}

func shorten(l string) string {
	if len(l) > maxReasonLine {
		return l[:maxReasonLine] + "..."
	}
	return l
}
