package config

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"
)

// EscapeCommand returns line so that the GitHub Actions runner does not
// read it as a workflow command, and whether it would have: "::" at its
// start after whitespace (or invisible format characters) gets a '\'
// before it, and every "##[" becomes "##\[". It is the one rule both CI
// output (cmd/dbg's ciWriter) and published log excerpts (NeutralTail) use.
func EscapeCommand(line []byte) ([]byte, bool) {
	lead := len(bytes.TrimLeftFunc(line, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError || r == 0x180e
	}))
	start := len(line) - lead
	v2 := bytes.HasPrefix(line[start:], []byte("::"))
	v1 := bytes.Contains(line, []byte("##["))
	if !v2 && !v1 {
		return line, false
	}
	var b bytes.Buffer
	b.Write(line[:start])
	if v2 {
		b.WriteByte('\\')
	}
	b.Write(bytes.ReplaceAll(line[start:], []byte("##["), []byte("##\\[")))
	return b.Bytes(), true
}

// The bounds of a published log excerpt.
const (
	TailLines = 20
	TailBytes = 4 << 10
)

// NeutralTail is the end of a build log as dbg publishes it (status.json):
// at most TailLines lines and TailBytes bytes, valid UTF-8, without control
// characters (terminal escapes included) but tabs, each line escaped as CI
// output is (EscapeCommand), and the value of any "add-mask" command
// replaced by "***": what a log asked to keep secret is never published.
func NeutralTail(log string) string {
	lines := strings.Split(strings.ReplaceAll(strings.TrimRight(log, "\r\n"), "\r\n", "\n"), "\n")
	if len(lines) > TailLines {
		lines = lines[len(lines)-TailLines:]
	}
	out := make([]string, 0, len(lines))
	size := 0
	for i := len(lines) - 1; i >= 0; i-- {
		line := neutralLine(lines[i])
		if size+len(line)+1 > TailBytes {
			break
		}
		size += len(line) + 1
		out = append(out, line)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return strings.Join(out, "\n")
}

func neutralLine(line string) string {
	line = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || (unicode.IsControl(r) && r != '\t') || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(line, ""))
	if i := strings.Index(strings.ToLower(line), "add-mask"); i >= 0 {
		line = line[:i] + "add-mask::***"
	}
	if len(line) > TailBytes/4 {
		line = line[:TailBytes/4] + "…"
		line = strings.ToValidUTF8(line, "")
	}
	escaped, _ := EscapeCommand([]byte(line))
	return string(escaped)
}
