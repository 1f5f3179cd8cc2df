package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/falcosecurity/dbg/grid"
	"github.com/falcosecurity/dbg/publisher"
)

// runnerCommand is how the GitHub Actions runner reads one line as a
// workflow command (ActionCommand.TryParseV2: "::name ...::" after leading
// whitespace; else TryParse: "##[name ...]" anywhere): the command's name,
// or "".
func runnerCommand(line string) string {
	if t := strings.TrimLeftFunc(line, unicode.IsSpace); strings.HasPrefix(t, "::") {
		if end := strings.Index(t[2:], "::"); end >= 0 {
			name, _, _ := strings.Cut(t[2:2+end], " ")
			return name
		}
	}
	if i := strings.Index(line, "##["); i >= 0 {
		if j := strings.IndexByte(line[i:], ']'); j >= 0 {
			name, _, _ := strings.Cut(line[i+3:i+j], " ")
			return name
		}
	}
	return ""
}

// runnerLines splits output as the runner does: at '\n', '\r' and "\r\n".
func runnerLines(out string) []string {
	return strings.FieldsFunc(strings.ReplaceAll(out, "\r\n", "\n"), func(r rune) bool { return r == '\n' || r == '\r' })
}

var stopCommands = regexp.MustCompile(`^::stop-commands::(dbg-[0-9a-f]{32})$`)

// checkInert fails t unless every line of out that the runner would take
// for a command is one dbg means: a stop-commands line, the resume of its
// token, or one of the annotations allowed. Every line that would be a
// command once unescaped, and that holds one of payloads, must stand
// between a stop and its resume (nil payloads: escaped is enough). It
// returns the tokens used.
func checkInert(t *testing.T, stream, out string, payloads []string, annotations ...string) []string {
	t.Helper()
	var tokens []string
	open := ""
	for _, l := range runnerLines(out) {
		name := runnerCommand(l)
		if m := stopCommands.FindStringSubmatch(l); m != nil {
			if open != "" {
				t.Errorf("%s: a block opens inside another: %q", stream, l)
			}
			open = m[1]
			tokens = append(tokens, open)
			continue
		}
		if open != "" && l == "::"+open+"::" {
			open = ""
			continue
		}
		if name != "" && !allowedName(annotations, name) {
			t.Errorf("%s: the runner would run %q from %.200q", stream, name, l)
		}
		for _, p := range payloads {
			if strings.Contains(l, p) && name == "" && open == "" && !allowedName(annotations, runnerCommand(l)) {
				if runnerCommand(strings.ReplaceAll(l, `\`, "")) != "" {
					t.Errorf("%s: %.200q, a command once unescaped, is outside a stop-commands block", stream, l)
				}
			}
		}
	}
	if open != "" {
		t.Errorf("%s: block %s is not closed", stream, open)
	}
	return tokens
}

func allowedName(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// hostileLog is what a malicious build prints.
const hostileLog = "make[1]: *** [driver] Error 2\n" +
	"::add-mask::secret\n" +
	"  ::error::pwned\n" +
	"\t::set-output name=x::y\r::warning file=a.c::carriage return\n" +
	"note: ##[add-mask]secret2 in the middle of a line\n" +
	"::stop-commands::dbg-00000000000000000000000000000000\n" +
	"main.c:3: error: <oops>"

// A build log with workflow commands, printed by the real printers of a
// run (printSummary, printOutcomes, the annotations and the job summary)
// under GITHUB_ACTIONS=true: no line of it is a command to the runner; each
// stands escaped in a stop-commands block whose token is random per run;
// dbg's own annotations still are commands.
func TestCIOutputOfHostileLogsIsInert(t *testing.T) {
	t.Setenv("GITHUB_ACTIONS", "true")
	summary := filepath.Join(t.TempDir(), "summary.md")
	t.Setenv("GITHUB_STEP_SUMMARY", summary)
	rep := &publisher.RunReport{
		Build: &grid.Report{Total: 1, Failed: 1, Builds: []grid.BuildResult{{
			Entry:  grid.Entry{Key: "driver/1.0.0+driver/x86_64/falco_debian_6.1.0-2-amd64_1.ko", Config: "kernels/x86_64/debian_6.1.0-2-amd64_1.yaml", File: "falco_debian_6.1.0-2-amd64_1.ko"},
			Status: grid.Failed, Reason: "building falco_debian_6.1.0-2-amd64_1.ko: exit status 2: ::add-mask::secret", LogTail: hostileLog + "\n```\n</details>"}}},
		Outcomes: []publisher.Outcome{{Target: "s3://bucket", Key: "k1", Action: publisher.Failed, Error: "server said:\n::add-mask::secret3\n##[error]pwned"}},
	}
	payloads := []string{"add-mask", "::error::pwned", "set-output", "##[", "stop-commands::dbg-0000"}
	var tokens []string
	for run := 0; run < 2; run++ {
		var rawOut, rawErr bytes.Buffer
		stdout, stderr := ciGuard(&rawOut, &rawErr)
		_ = runOutcome(t.Context(), stdout, stderr, rep, 1, publisher.RunOptions{Out: "out"}, nil)
		flushCI(stdout, stderr)
		for _, p := range []string{"::add-mask::secret", "::error::pwned", "##[add-mask]secret2"} {
			if !strings.Contains(strings.ReplaceAll(rawErr.String(), `\`, ""), p) {
				t.Errorf("the log tail lost %q:\n%s", p, rawErr.String())
			}
		}
		tokens = append(tokens, checkInert(t, "stdout", rawOut.String(), payloads)...)
		tokens = append(tokens, checkInert(t, "stderr", rawErr.String(), payloads, "error")...)
		if !strings.Contains(rawErr.String(), "\n::error file=kernels/x86_64/debian_6.1.0-2-amd64_1.yaml,title=build failed%3A falco_debian_6.1.0-2-amd64_1.ko::building falco_debian_6.1.0-2-amd64_1.ko: exit status 2: ::add-mask::secret\n") {
			t.Errorf("dbg's own annotation is missing or altered:\n%s", rawErr.String())
		}
	}
	if len(tokens) < 2 {
		t.Fatalf("tokens %q: want stop-commands blocks", tokens)
	}
	if tokens[0] == tokens[len(tokens)-1] {
		t.Errorf("two runs used the same token %s", tokens[0])
	}

	// The job summary: the tail in a fence it cannot close, the rest escaped.
	md, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "\n````\n"+hostileLog+"\n```\n</details>\n````\n</details>") {
		t.Errorf("summary:\n%s", md)
	}
}

// The guard at the root of every command: validate through execute prints
// a hostile key escaped, while its annotation still is one; a config file
// whose name has a newline is refused, named escaped.
func TestExecuteGuardsEveryPrinter(t *testing.T) {
	dir := t.TempDir()
	copyTestKernels(t, dir)
	appendToFile(t, filepath.Join(dir, "x86_64", "ubuntu-generic_5.15.0-91-generic_101.yaml"), "\"##[add-mask]secret\": 1\n")
	if err := os.WriteFile(filepath.Join(dir, "x86_64", "x\n::add-mask::secret\x1b[2J.yaml"), []byte("x: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GITHUB_ACTIONS", "true")
	stdout, stderr, code := dbg(t, "--config-dir", dir, "validate")
	if code != 1 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	checkInert(t, "stdout", stdout, []string{"add-mask"})
	checkInert(t, "stderr", stderr, []string{"add-mask"}, "error", "warning")
	if !strings.Contains(stdout, `x86_64/"x\n::add-mask::secret\x1b[2J.yaml": file name has control or bidirectional-text characters`) {
		t.Errorf("the file is not refused by its escaped name:\n%s", stdout)
	}
	if strings.ContainsAny(stdout+stderr, "\x1b") {
		t.Errorf("a raw ESC reached the output")
	}
	if !strings.Contains(stdout, `##\[add-mask]secret: unknown key`) || !strings.Contains(stdout, "::stop-commands::dbg-") {
		t.Errorf("the key is not escaped in a block:\n%s", stdout)
	}
}

// Printers write to the command's stdout and stderr, which execute
// guards; none may write to the process's own streams behind its back.
func TestNoPrinterBypassesTheGuard(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range strings.Split(string(data), "\n") {
			if strings.Contains(l, "os.Stdout") || strings.Contains(l, "os.Stderr") {
				if f == "main.go" && strings.Contains(l, "ciGuard(os.Stdout, os.Stderr)") {
					continue
				}
				t.Errorf("%s:%d writes to the process's stream, not through ciGuard: %s", f, i+1, strings.TrimSpace(l))
			}
		}
	}
}

func TestCIEscape(t *testing.T) {
	for line, want := range map[string]string{
		"plain text":            "plain text",
		"a :: b":                "a :: b",
		"::add-mask::x":         `\::add-mask::x`,
		" \t::error::x":         " \t\\::error::x",
		"\u00a0::error::x":      "\u00a0\\::error::x",
		"\ufeff::error::x":      "\ufeff\\::error::x",
		"x ##[add-mask]y ##[z]": `x ##\[add-mask]y ##\[z]`,
		"::a:: ##[b]":           `\::a:: ##\[b]`,
	} {
		got, command := ciEscape([]byte(line))
		if string(got) != want || command != (want != line) {
			t.Errorf("ciEscape(%q) = %q, %v; want %q", line, got, command, want)
		}
		if runnerCommand(string(got)) != "" {
			t.Errorf("ciEscape(%q) = %q is still a command", line, got)
		}
	}
}

// Lines written in pieces are judged whole; a "##[" split over writes too.
func TestCIWriterJoinsPieces(t *testing.T) {
	t.Setenv("GITHUB_ACTIONS", "true")
	var raw bytes.Buffer
	w, _ := ciGuard(&raw, &bytes.Buffer{})
	for _, piece := range []string{":", ":add-", "mask::x\nok\n#", "#[error]y\n", strings.Repeat("z", ciMaxLine) + "#", "#[error]w\n"} {
		_, _ = w.Write([]byte(piece))
	}
	flushCI(w)
	// the "##[" that goes on a line begun before is escaped where it stands
	checkInert(t, "stdout", raw.String(), nil)
	if strings.Count(raw.String(), "::stop-commands::") != 2 || !strings.HasSuffix(raw.String(), "z##\\[error]w\n") {
		t.Errorf("want 2 blocks and the long line escaped in place:\n%.300s", raw.String())
	}
}
