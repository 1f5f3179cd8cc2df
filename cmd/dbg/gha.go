package main

import (
	"fmt"
	"io"
	"os"
	"strings"

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
		fmt.Fprintf(w, "::%s %s::%s\n", command, props, escapeData(p.Msg))
	}
}

// builds annotates each failed build on its config file.
func (a actions) builds(w io.Writer, r *grid.Report) {
	if !a.enabled || r == nil {
		return
	}
	for _, b := range r.Builds {
		if b.Status == grid.Failed {
			fmt.Fprintf(w, "::error file=%s,title=%s::%s\n", escapeProperty(b.Config), escapeProperty("build failed: "+b.File), escapeData(b.Reason))
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
		for _, res := range r.Builds {
			if res.Status != grid.Failed {
				continue
			}
			fmt.Fprintf(&b, "<details><summary>❌ <code>%s</code>: %s</summary>\n\n```\n%s\n```\n</details>\n\n", res.Key, mdEscape(res.Reason), strings.ReplaceAll(res.LogTail, "```", "'''"))
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
			fmt.Fprintf(&b, "| %s | %d |\n", k, counts[k])
		}
		b.WriteString("\n")
	}
	return b.String()
}

func mdEscape(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;", "|", "\\|", "\n", " ").Replace(s)
}

// escapeData and escapeProperty follow the workflow command encoding.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
