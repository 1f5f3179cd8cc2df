package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
	"github.com/falcosecurity/dbg/publisher"
)

// actions writes GitHub Actions workflow commands and the job summary
// when dbg runs in a workflow (GITHUB_ACTIONS=true); otherwise it does
// nothing.
type actions struct {
	enabled bool
	summary string // $GITHUB_STEP_SUMMARY
}

func actionsFromEnv() actions {
	return actions{enabled: os.Getenv("GITHUB_ACTIONS") == "true", summary: os.Getenv("GITHUB_STEP_SUMMARY")}
}

// problems annotates each config problem on its file and line: errors as
// ::error, warnings as ::warning.
func (a actions) problems(w io.Writer, probs config.Problems) {
	if !a.enabled {
		return
	}
	for _, p := range probs {
		props := "file=" + escapeProperty(p.Path)
		if p.Line > 0 {
			props += fmt.Sprintf(",line=%d,col=%d", p.Line, p.Col)
		}
		if p.Field != "" {
			props += ",title=" + escapeProperty(p.Field)
		}
		command := "error"
		if p.IsWarning() {
			command = "warning"
		}
		writeCommand(w, fmt.Sprintf("::%s %s::%s", command, props, escapeData(p.Msg)))
	}
}

// builds annotates each failed build on its config file.
func (a actions) builds(w io.Writer, r *grid.Report) {
	if !a.enabled || r == nil {
		return
	}
	for _, b := range r.Builds {
		if b.Status == grid.Failed {
			writeCommand(w, fmt.Sprintf("::error file=%s,title=%s::%s", escapeProperty(b.Config), escapeProperty("build failed: "+b.File), escapeData(b.Reason)))
		}
	}
}

// writeSummary appends the Markdown summary of a run to $GITHUB_STEP_SUMMARY.
func (a actions) writeSummary(r *grid.Report, outs []publisher.Outcome) error {
	if !a.enabled || a.summary == "" {
		return nil
	}
	f, err := os.OpenFile(a.summary, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("write the job summary: %w", err)
	}
	defer f.Close()
	_, err = io.WriteString(f, markdownSummary(r, outs))
	return err
}

// markdownSummary renders counts, failures with log excerpts, and what was
// published.
func markdownSummary(r *grid.Report, outs []publisher.Outcome) string {
	var b strings.Builder
	b.WriteString("## dbg\n\n")
	if r != nil {
		fmt.Fprintf(&b, "| planned | built | failed | skipped |\n|---|---|---|---|\n| %d | %d | %d | %d |\n\n", r.Total, r.Built, r.Failed, r.Skipped)
		fmt.Fprintf(&b, "Status: %s\n\n", publisher.RunCounts(r, outs))
		for _, res := range r.Builds {
			if res.Status != grid.Failed {
				continue
			}
			fence := mdFence(res.LogTail)
			fmt.Fprintf(&b, "<details><summary>❌ <code>%s</code>: %s</summary>\n\n%s\n%s\n%s\n</details>\n\n", mdEscape(res.Key), mdEscape(res.Reason), fence, res.LogTail, fence)
		}
	}
	if len(outs) > 0 {
		counts := map[string]int{}
		var order []string
		for _, o := range outs {
			k := o.Target + " | " + string(o.Action)
			if counts[k] == 0 {
				order = append(order, k)
			}
			counts[k]++
		}
		b.WriteString("| target | action | artifacts |\n|---|---|---|\n")
		for _, k := range order {
			fmt.Fprintf(&b, "| %s | %d |\n", k, counts[k]) // k: a --to URL and an action
		}
		b.WriteString("\n")
	}
	return b.String()
}

// mdEscape makes s plain text on one line of the summary's HTML and tables.
func mdEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "|", "\\|", "\r", " ", "\n", " ", "`", "&#96;").Replace(s)
}

// mdFence is a code fence for text: backticks, at least three and more
// than the longest run of backticks in text, so that no line of it can
// close the block.
func mdFence(text string) string {
	longest, run := 0, 0
	for i := 0; i < len(text); i++ {
		if text[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

// escapeData and escapeProperty follow the workflow command encoding.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// ciWriter is the one place where dbg's output meets the GitHub Actions
// runner, which reads every line of a step's stdout and stderr for
// workflow commands: "::name ...::" at the start of a line (after
// whitespace) and "##[name ...]" anywhere in it. Much of what dbg prints
// is not its own (build log tails, failure reasons, file names and values
// from configs, errors that quote servers), and a build that prints
// "::add-mask::..." or "::error ...::" must not have it run. execute wraps
// the command's stdout and stderr, and slog's output, in a ciWriter when
// GITHUB_ACTIONS=true, so every printer goes through it and none can
// forget; the workflow commands dbg means (annotations) go through
// writeCommand.
//
// Each line (the runner ends lines at '\n' and at '\r') that the runner
// would take for a command is escaped: a '\' before the leading "::", and
// "##\[" for "##[", and a run of such lines is wrapped in
// "::stop-commands::<token>" ... "::<token>::" (GitHub's way to stop
// command processing), the token random per run. The escape is what makes
// it safe: the runner drains stderr and stdout separately (stderr first),
// so a block on one stream can be ended by the other's token while lines
// of its own are still to come; an escaped line is inert however the two
// streams interleave. Other lines pass as they are.
type ciWriter struct {
	mu    sync.Mutex
	w     io.Writer
	token string
	line  []byte // a line not ended yet
	mid   bool   // what was written last did not end its line
}

// ciMaxLine is how much of a line ciWriter holds before it writes it out
// unended (its end then goes out as the rest of that line).
const ciMaxLine = 64 << 10

// ciGuard returns stdout and stderr wrapped in ciWriters when dbg runs in
// GitHub Actions, with one new random token; a writer that already is one
// is kept as it is.
func ciGuard(stdout, stderr io.Writer) (io.Writer, io.Writer) {
	if !actionsFromEnv().enabled {
		return stdout, stderr
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	token := "dbg-" + hex.EncodeToString(b[:])
	wrap := func(w io.Writer) io.Writer {
		if _, ok := w.(*ciWriter); ok {
			return w
		}
		return &ciWriter{w: w, token: token}
	}
	return wrap(stdout), wrap(stderr)
}

// Write writes the lines of p that are complete, escaped as needed, and
// holds back the rest of a line (at most ciMaxLine bytes).
func (c *ciWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.line = append(c.line, p...)
	end := bytes.LastIndexAny(c.line, "\r\n") + 1
	if end == 0 && len(c.line) >= ciMaxLine {
		end = len(bytes.TrimRight(c.line, "#")) // "##[" may go on in the next write
		if end == 0 {
			end = len(c.line)
		}
	}
	if end == 0 {
		return len(p), nil
	}
	err := c.emit(c.line[:end])
	c.line = append(c.line[:0], c.line[end:]...)
	return len(p), err
}

// flush writes out the line held back.
func (c *ciWriter) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.line) == 0 {
		return nil
	}
	err := c.emit(c.line)
	c.line = c.line[:0]
	return err
}

// command writes line, a workflow command dbg means, as it is, on a line
// of its own.
func (c *ciWriter) command(line string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.line) > 0 { // end the line held back: the command must start one
		err := c.emit(append(c.line, '\n'))
		c.line = c.line[:0]
		if err != nil {
			return err
		}
	}
	if c.mid {
		line = "\n" + line
	}
	c.mid = false
	_, err := io.WriteString(c.w, line+"\n")
	return err
}

// emit writes text, lines ended by '\r' or '\n' (but maybe its last),
// escaping the lines that the runner would read as workflow commands.
func (c *ciWriter) emit(text []byte) error {
	var out bytes.Buffer
	open := false
	for len(text) > 0 {
		n := bytes.IndexAny(text, "\r\n") + 1
		if n == 0 {
			n = len(text)
		}
		seg := text[:n]
		text = text[n:]
		body := bytes.TrimRight(seg, "\r\n")
		escaped, command := ciEscape(body)
		continued := c.mid && out.Len() == 0 // the rest of a line begun before: no block can start there
		switch {
		case continued:
		case command && !open:
			out.WriteString("::stop-commands::" + c.token + "\n")
			open = true
		case !command && open:
			out.WriteString("::" + c.token + "::\n")
			open = false
		}
		out.Write(escaped)
		out.Write(seg[len(body):])
	}
	if open {
		if b := out.Bytes(); b[len(b)-1] != '\n' && b[len(b)-1] != '\r' {
			out.WriteByte('\n')
		}
		out.WriteString("::" + c.token + "::\n")
	}
	if b := out.Bytes(); len(b) > 0 {
		c.mid = b[len(b)-1] != '\n' && b[len(b)-1] != '\r'
	}
	_, err := c.w.Write(out.Bytes())
	return err
}

// ciEscape returns line so that the runner does not read it as a workflow
// command, and whether it would have (config.EscapeCommand).
func ciEscape(line []byte) ([]byte, bool) { return config.EscapeCommand(line) }

// writeCommand writes line, a workflow command dbg means, to w: as it is
// when w is a ciWriter (which would escape it otherwise), else as a line.
// Its message and properties must be escaped (escapeData, escapeProperty).
func writeCommand(w io.Writer, line string) {
	if c, ok := w.(*ciWriter); ok {
		_ = c.command(line)
		return
	}
	fmt.Fprintln(w, line)
}

// flushCI writes out what the ciWriters among ws hold back.
func flushCI(ws ...io.Writer) {
	for _, w := range ws {
		if c, ok := w.(*ciWriter); ok {
			_ = c.flush()
		}
	}
}
