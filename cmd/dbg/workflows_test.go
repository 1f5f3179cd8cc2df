package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

// workflowsDir holds the GitHub workflows, relative to this package.
const workflowsDir = "../../.github/workflows"

// TestWorkflowDbgInvocations checks every dbg command line of every workflow
// against the real command tree: the subcommand exists and takes each flag
// it is given. A renamed flag breaks the test, not a release.
func TestWorkflowDbgInvocations(t *testing.T) {
	calls, files := 0, map[string]bool{}
	for _, s := range workflowScripts(t) {
		files[s.file] = true
		for _, c := range dbgCalls(s.script) {
			calls++
			if err := checkDbgArgs(c.args); err != nil {
				t.Errorf("%s:%d: %s: %v", s.file, c.line, c.text, err)
			}
		}
	}
	if calls == 0 {
		t.Fatalf("no dbg invocation found in %s: the workflows no longer run dbg, or this parser is broken", workflowsDir)
	}
	t.Logf("%d dbg invocations checked in %d workflows", calls, len(files))
}

// TestWorkflowRunScriptsUseEnv keeps ${{ }} expressions out of run scripts:
// they are pasted into the script before the shell parses it (script
// injection); values reach the shell through env instead.
func TestWorkflowRunScriptsUseEnv(t *testing.T) {
	for _, s := range workflowScripts(t) {
		if strings.Contains(s.text, "${{") {
			t.Errorf("%s:%d: run script interpolates an expression; pass it through env", s.file, s.line)
		}
	}
}

// fileScript is a run script and the workflow file it is in.
type fileScript struct {
	file string
	script
}

// workflowScripts reads the run scripts of every workflow; no workflow at
// all fails the test.
func workflowScripts(t *testing.T) []fileScript {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(workflowsDir, "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no workflow in %s", workflowsDir)
	}
	var out []fileScript
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		scripts, err := runScripts(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, s := range scripts {
			out = append(out, fileScript{filepath.Base(f), s})
		}
	}
	return out
}

func TestWorkflowChecker(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		calls   int
		wantErr string // substring of the first error; "" for none
	}{
		{
			name: "valid",
			yaml: `
jobs:
  a:
    steps:
      - run: |
          go run ./cmd/dbg validate
          ./bin/dbg --config-dir kernels plan -o json --arch "$ARCH" >plan.json
          n="$(./bin/dbg plan --output=json | jq length)"
          dbg run --shard "$I/$N" \
            --to "s3://$BUCKET" --s3-region eu-west-1 --dry-run \
            ${FORCE:+--force}
`,
			calls: 4,
		},
		{
			name:    "unknown flag",
			yaml:    "jobs: {a: {steps: [{run: 'dbg run --bogus'}]}}",
			calls:   1,
			wantErr: `unknown flag --bogus for "dbg run"`,
		},
		{
			name: "unknown flag after a continuation",
			yaml: `
jobs:
  a:
    steps:
      - run: |
          ./bin/dbg build \
            --out out \
            --to s3://bucket
`,
			calls:   1,
			wantErr: `unknown flag --to for "dbg build"`,
		},
		{
			name:    "flag of another command",
			yaml:    "jobs: {a: {steps: [{run: 'go run ./cmd/dbg index --changed-since HEAD~1 --to file://x'}]}}",
			calls:   1,
			wantErr: `unknown flag --changed-since for "dbg index"`,
		},
		{
			name:    "unknown shorthand",
			yaml:    "jobs: {a: {steps: [{run: 'dbg build -o json'}]}}",
			calls:   1,
			wantErr: `unknown flag -o for "dbg build"`,
		},
		{
			name:    "flag inside an expansion",
			yaml:    "jobs: {a: {steps: [{run: 'dbg publish --to file://x ${FORCE:+--forced}'}]}}",
			calls:   1,
			wantErr: `unknown flag --forced for "dbg publish"`,
		},
		{
			name:    "unknown command",
			yaml:    "jobs: {a: {steps: [{run: 'set -e; dbg frobnicate --arch x86_64'}]}}",
			calls:   1,
			wantErr: `unknown command "frobnicate"`,
		},
		{
			name:    "no command",
			yaml:    "jobs: {a: {steps: [{run: 'dbg --config-dir kernels'}]}}",
			calls:   1,
			wantErr: "no subcommand",
		},
		{
			name:  "not an invocation",
			yaml:  "jobs: {a: {steps: [{run: \"echo dbg run --bogus # dbg run --bogus\\nls bin/dbg-old\"}]}}",
			calls: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scripts, err := runScripts([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			var calls []dbgCall
			for _, s := range scripts {
				calls = append(calls, dbgCalls(s)...)
			}
			if len(calls) != tt.calls {
				t.Fatalf("found %d dbg invocations %+v, want %d", len(calls), calls, tt.calls)
			}
			var first error
			for _, c := range calls {
				if err := checkDbgArgs(c.args); err != nil && first == nil {
					first = err
				}
			}
			switch {
			case tt.wantErr == "" && first != nil:
				t.Errorf("unexpected error: %v", first)
			case tt.wantErr != "" && first == nil:
				t.Errorf("no error, want %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(first.Error(), tt.wantErr):
				t.Errorf("error %q, want it to contain %q", first, tt.wantErr)
			}
		})
	}
}

// script is the text of one run: key and the line it starts on.
type script struct {
	text string
	line int
}

// runScripts returns every scalar value of a "run" key, wherever it is
// (jobs.*.steps[*].run; defaults.run is a mapping and is skipped).
func runScripts(data []byte) ([]script, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	var out []script
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Value == "run" && v.Kind == yaml.ScalarNode {
					line := v.Line
					if v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
						line++ // the text starts below the | or >
					}
					out = append(out, script{text: v.Value, line: line})
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	return out, nil
}

// dbgCall is one dbg command line: its arguments after the program.
type dbgCall struct {
	args []string
	line int
	text string
}

// dbgCalls finds the dbg invocations of a script: commands run as dbg,
// ./bin/dbg (any path ending in /dbg) or go run ./cmd/dbg, with backslash
// continuations joined and comments dropped.
func dbgCalls(s script) []dbgCall {
	var calls []dbgCall
	lines := strings.Split(s.text, "\n")
	for i := 0; i < len(lines); i++ {
		start := i
		logical := lines[i]
		for strings.HasSuffix(logical, "\\") && i+1 < len(lines) {
			i++
			logical = strings.TrimSuffix(logical, "\\") + " " + lines[i]
		}
		for _, words := range shellCommands(logical) {
			if args, ok := dbgArgs(words); ok {
				calls = append(calls, dbgCall{args: args, line: s.line + start, text: strings.Join(words, " ")})
			}
		}
	}
	return calls
}

// dbgArgs returns the arguments of a command if it runs dbg.
func dbgArgs(words []string) ([]string, bool) {
	// Skip variable assignments and words that run the next one.
	for len(words) > 0 && (isAssignment(words[0]) || prefixWords[words[0]]) {
		words = words[1:]
	}
	switch {
	case len(words) >= 1 && (words[0] == "dbg" || strings.HasSuffix(words[0], "/dbg")):
		return words[1:], true
	case len(words) >= 3 && words[0] == "go" && words[1] == "run" && filepath.Clean(words[2]) == filepath.Join("cmd", "dbg"):
		return words[3:], true
	}
	return nil, false
}

var prefixWords = map[string]bool{
	"if": true, "then": true, "else": true, "elif": true, "do": true, "while": true, "until": true,
	"!": true, "time": true, "exec": true, "sudo": true, "env": true, "{": true,
}

var assignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

func isAssignment(w string) bool { return assignment.MatchString(w) }

// shellCommands splits one logical line into simple commands, each a list
// of words with quotes removed. It knows what a workflow script needs:
// quotes, comments, ; & | && || ( ) $( ) and backquotes; it is not a shell.
func shellCommands(line string) [][]string {
	var cmds [][]string
	var words []string
	var word strings.Builder
	inWord := false
	endWord := func() {
		if inWord {
			words = append(words, word.String())
			word.Reset()
			inWord = false
		}
	}
	endCmd := func() {
		endWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
			words = nil
		}
	}
	var quote byte   // 0, '\'' or '"'
	var outer []byte // the quote around each open $( )
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				word.WriteByte(c)
			}
		case c == '$' && i+1 < len(line) && line[i+1] == '(':
			endCmd() // a command substitution starts a command, in quotes too
			outer = append(outer, quote)
			quote = 0
			i++
		case c == ')' && quote == 0 && len(outer) > 0:
			endCmd()
			quote = outer[len(outer)-1]
			outer = outer[:len(outer)-1]
		case c == '`':
			endCmd()
		case quote == '"':
			switch {
			case c == '"':
				quote = 0
			case c == '\\' && i+1 < len(line):
				i++
				word.WriteByte(line[i])
			default:
				word.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote = c
			inWord = true
		case c == '\\' && i+1 < len(line):
			i++
			word.WriteByte(line[i])
			inWord = true
		case c == '#' && !inWord:
			endCmd()
			return cmds
		case c == ' ' || c == '\t':
			endWord()
		case strings.IndexByte(";&|()<>", c) >= 0:
			if c == '<' || c == '>' {
				// A redirection: drop its target with the operator.
				endWord()
				for i+1 < len(line) && strings.IndexByte("<>&", line[i+1]) >= 0 {
					i++
				}
				for i+1 < len(line) && line[i+1] == ' ' {
					i++
				}
				for i+1 < len(line) && strings.IndexByte(" ;&|()", line[i+1]) < 0 {
					i++
				}
				continue
			}
			endCmd()
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	endCmd()
	return cmds
}

// expansionFlags are the words of ${NAME:+WORDS}, the idiom for an optional
// flag.
var expansionFlags = regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*:\+([^}]*)\}$`)

// checkDbgArgs checks a dbg command line against the command tree: the
// subcommand exists and defines (or inherits) every flag given.
func checkDbgArgs(args []string) error {
	var expanded []string
	for _, a := range args {
		if m := expansionFlags.FindStringSubmatch(a); m != nil {
			expanded = append(expanded, strings.Fields(m[1])...)
			continue
		}
		expanded = append(expanded, a)
	}
	root := newRootCmd()
	cmd, _, err := root.Find(expanded)
	if err != nil {
		return err
	}
	if cmd == root {
		return fmt.Errorf("no subcommand in dbg %s", strings.Join(args, " "))
	}
	for i := 0; i < len(expanded); i++ {
		a := expanded[i]
		if a == "--" {
			break
		}
		if len(a) < 2 || a[0] != '-' {
			continue // the subcommand, a flag's value or an argument
		}
		short := !strings.HasPrefix(a, "--")
		name, hasValue := strings.TrimLeft(a, "-"), false
		if short && len(name) > 1 {
			name, hasValue = name[:1], true // -ojson, -o=json
		} else if j := strings.IndexByte(name, '='); j >= 0 {
			name, hasValue = name[:j], true
		}
		noOptDefVal, ok := lookupFlag(cmd, name, short)
		if !ok {
			return fmt.Errorf("unknown flag %s for %q", strings.SplitN(a, "=", 2)[0], cmd.CommandPath())
		}
		if !hasValue && noOptDefVal == "" {
			i++ // the next word is the flag's value
		}
	}
	return nil
}

// lookupFlag finds a flag the command defines or inherits, and returns its
// value when given without one ("" when it needs a value).
func lookupFlag(cmd *cobra.Command, name string, short bool) (noOptDefVal string, ok bool) {
	local, inherited := cmd.Flags(), cmd.InheritedFlags()
	f := local.Lookup(name)
	if f == nil {
		f = inherited.Lookup(name)
	}
	if short {
		if f = local.ShorthandLookup(name); f == nil {
			f = inherited.ShorthandLookup(name)
		}
	}
	if f != nil {
		return f.NoOptDefVal, true
	}
	if name == "help" || (short && name == "h") { // cobra adds it when it runs
		return "true", true
	}
	return "", false
}
