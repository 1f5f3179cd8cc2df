package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

// workflowsDir holds the GitHub workflows, relative to this package, and
// scriptsDir the scripts they run.
const (
	workflowsDir = "../../.github/workflows"
	scriptsDir   = "../../.github/scripts"
)

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

// dbgCall is one dbg command line: the program as written ("dbg",
// "./bin/dbg", "$RUNNER_TEMP/dbg", "go run ./cmd/dbg") and its arguments
// after it.
type dbgCall struct {
	prog string
	args []string
	line int
	text string
}

// command is one simple command of a script: its words, quotes removed,
// and the line it starts on.
type command struct {
	words []string
	line  int
}

// scriptCommands splits a script into simple commands, with backslash
// continuations joined and comments dropped.
func scriptCommands(s script) []command {
	var cmds []command
	lines := strings.Split(s.text, "\n")
	for i := 0; i < len(lines); i++ {
		start := i
		logical := lines[i]
		for strings.HasSuffix(logical, "\\") && i+1 < len(lines) {
			i++
			logical = strings.TrimSuffix(logical, "\\") + " " + lines[i]
		}
		for _, words := range shellCommands(logical) {
			cmds = append(cmds, command{words: words, line: s.line + start})
		}
	}
	return cmds
}

// dbgCalls finds the dbg invocations of a script: commands run as dbg,
// ./bin/dbg (any path ending in /dbg) or go run ./cmd/dbg, with backslash
// continuations joined and comments dropped.
func dbgCalls(s script) []dbgCall {
	var calls []dbgCall
	for _, c := range scriptCommands(s) {
		if prog, args, ok := dbgArgs(c.words); ok {
			calls = append(calls, dbgCall{prog: prog, args: args, line: c.line, text: strings.Join(c.words, " ")})
		}
	}
	return calls
}

// dbgArgs returns the program and the arguments of a command if it runs
// dbg.
func dbgArgs(words []string) (string, []string, bool) {
	words = commandWords(words)
	switch {
	case len(words) >= 1 && (words[0] == "dbg" || strings.HasSuffix(words[0], "/dbg")):
		return words[0], words[1:], true
	case len(words) >= 3 && words[0] == "go" && words[1] == "run" && filepath.Clean(words[2]) == filepath.Join("cmd", "dbg"):
		return strings.Join(words[:3], " "), words[3:], true
	}
	return "", nil, false
}

// commandWords drops the variable assignments and the words that run the
// next one (sudo, env, if, ...) from the start of a command.
func commandWords(words []string) []string {
	for len(words) > 0 && (isAssignment(words[0]) || prefixWords[words[0]]) {
		words = words[1:]
	}
	return words
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

// runners is the runner of each architecture's shards.
var runners = map[string]string{"x86_64": "ubuntu-24.04", "aarch64": "ubuntu-24.04-arm"}

// matrixEntry is one job of the build matrix shard-matrix.sh prints.
type matrixEntry struct {
	Arch   string `json:"arch"`
	Shard  string `json:"shard"`
	Runner string `json:"runner"`
	Name   string `json:"name"`
}

// shardMatrix runs shard-matrix.sh with the given stdin and environment.
func shardMatrix(t *testing.T, stdin string, env ...string) (matrix []matrixEntry, stderr string, code int) {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	cmd := exec.Command("bash", filepath.Join(scriptsDir, "shard-matrix.sh"))
	// Only what is given: the workflows set BUILDS_PER_SHARD and MAX_SHARDS.
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return nil, errb.String(), exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	var m struct {
		Include *[]matrixEntry `json:"include"`
	}
	dec := json.NewDecoder(&out)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("matrix is not {\"include\":[...]}: %v\n%s", err, out.String())
	}
	if m.Include == nil {
		t.Fatalf("matrix has no include list: %s", out.String())
	}
	return *m.Include, errb.String(), 0
}

// TestWorkflowShardMatrix checks the shape of the build matrix of
// publish-shards.yml and kernel-pr.yml: per architecture with builds, N
// shards 1/N..N/N (no gap, no duplicate) on that architecture's runner, N
// from the builds, the requested count and the caps.
func TestWorkflowShardMatrix(t *testing.T) {
	type arch struct{ builds, kernels int }
	tests := []struct {
		name   string
		arches map[string]arch // stdin, one line each (x86_64 first)
		env    []string
		want   map[string]int // shards per architecture; absent: none
	}{
		{name: "nothing to build", want: map[string]int{}},
		{name: "both", arches: map[string]arch{"x86_64": {2000, 900}, "aarch64": {714, 357}},
			env: []string{"BUILDS_PER_SHARD=400", "MAX_SHARDS=20"}, want: map[string]int{"x86_64": 5, "aarch64": 2}},
		{name: "defaults are 400 and 20", arches: map[string]arch{"x86_64": {401, 401}, "aarch64": {400, 400}},
			want: map[string]int{"x86_64": 2, "aarch64": 1}},
		{name: "aarch64 only", arches: map[string]arch{"aarch64": {714, 357}},
			env: []string{"BUILDS_PER_SHARD=400"}, want: map[string]int{"aarch64": 2}},
		{name: "an architecture without builds gets no shard", arches: map[string]arch{"x86_64": {0, 0}, "aarch64": {3, 2}},
			want: map[string]int{"aarch64": 1}},
		{name: "capped per architecture", arches: map[string]arch{"x86_64": {90000, 45000}, "aarch64": {900, 450}},
			env: []string{"BUILDS_PER_SHARD=400", "MAX_SHARDS=20"}, want: map[string]int{"x86_64": 20, "aarch64": 3}},
		{name: "no more shards than kernels", arches: map[string]arch{"x86_64": {5000, 3}, "aarch64": {1, 1}},
			env: []string{"BUILDS_PER_SHARD=1"}, want: map[string]int{"x86_64": 3, "aarch64": 1}},
		{name: "requested count, capped", arches: map[string]arch{"x86_64": {10, 10}, "aarch64": {10, 2}},
			env: []string{"SHARDS=4", "MAX_SHARDS=3"}, want: map[string]int{"x86_64": 3, "aarch64": 2}},
		{name: "requested count", arches: map[string]arch{"x86_64": {10, 10}, "aarch64": {100000, 50000}},
			env: []string{"SHARDS=4"}, want: map[string]int{"x86_64": 4, "aarch64": 4}},
		{name: "zero requests the automatic count", arches: map[string]arch{"x86_64": {801, 801}},
			env: []string{"SHARDS=0", "BUILDS_PER_SHARD=400"}, want: map[string]int{"x86_64": 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdin strings.Builder
			for _, a := range []string{"x86_64", "aarch64"} {
				if c, ok := tt.arches[a]; ok {
					fmt.Fprintf(&stdin, "%s %d %d\n", a, c.builds, c.kernels)
				}
			}
			m, stderr, code := shardMatrix(t, stdin.String(), tt.env...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			got := checkMatrixShape(t, m)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("shards per architecture %v, want %v", got, tt.want)
			}
			// x86_64's shards come first.
			for i := 1; i < len(m); i++ {
				if m[i-1].Arch == "aarch64" && m[i].Arch == "x86_64" {
					t.Errorf("x86_64 shard after an aarch64 one: %+v", m)
					break
				}
			}
		})
	}
}

// checkMatrixShape checks every entry and returns the shard count of each
// architecture.
func checkMatrixShape(t *testing.T, m []matrixEntry) map[string]int {
	t.Helper()
	shards := map[string]map[int]bool{}
	counts := map[string]int{}
	safe := regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	for _, e := range m {
		runner, ok := runners[e.Arch]
		if !ok {
			t.Errorf("%+v: architecture not one of x86_64, aarch64", e)
			continue
		}
		if e.Runner != runner {
			t.Errorf("%+v: runner %q, want %q", e, e.Runner, runner)
		}
		var i, n int
		if _, err := fmt.Sscanf(e.Shard, "%d/%d", &i, &n); err != nil || e.Shard != fmt.Sprintf("%d/%d", i, n) || i < 1 || i > n {
			t.Errorf("%+v: shard is not I/N with 1 <= I <= N", e)
			continue
		}
		if _, err := grid.ParseShard(e.Shard); err != nil {
			t.Errorf("%+v: dbg refuses the shard: %v", e, err)
		}
		if want := fmt.Sprintf("%s-%d-of-%d", e.Arch, i, n); e.Name != want || !safe.MatchString(e.Name) {
			t.Errorf("%+v: name %q, want %q", e, e.Name, want)
		}
		if c, ok := counts[e.Arch]; ok && c != n {
			t.Errorf("%+v: %s has shards of %d and of %d", e, e.Arch, c, n)
		}
		counts[e.Arch] = n
		if shards[e.Arch] == nil {
			shards[e.Arch] = map[int]bool{}
		}
		if shards[e.Arch][i] {
			t.Errorf("%+v: duplicate shard", e)
		}
		shards[e.Arch][i] = true
	}
	for a, n := range counts {
		for i := 1; i <= n; i++ {
			if !shards[a][i] {
				t.Errorf("%s: shard %d/%d missing", a, i, n)
			}
		}
	}
	return counts
}

// TestWorkflowShardMatrixRefuses: input the matrix cannot route fails the
// plan job (exit 2) instead of building on the wrong runner.
func TestWorkflowShardMatrixRefuses(t *testing.T) {
	tests := []struct {
		name, stdin string
		env         []string
		wantErr     string
	}{
		{"another spelling", "amd64 10 5\n", nil, "unknown architecture 'amd64'"},
		{"unknown architecture", "riscv64 10 5\n", nil, "unknown architecture"},
		{"twice", "x86_64 10 5\nx86_64 1 1\n", nil, "given twice"},
		{"no kernel count", "x86_64 10\n", nil, "kernels must be an integer"},
		{"extra field", "x86_64 10 5 7\n", nil, "want ARCH BUILDS KERNELS"},
		{"not a number", "x86_64 ten 5\n", nil, "builds must be an integer"},
		{"builds without kernels", "x86_64 10 0\n", nil, "0 kernels"},
		{"negative shards", "x86_64 10 5\n", []string{"SHARDS=-1"}, "SHARDS must be an integer"},
		{"fractional shards", "x86_64 10 5\n", []string{"SHARDS=2.5"}, "SHARDS must be an integer"},
		{"zero per shard", "x86_64 10 5\n", []string{"BUILDS_PER_SHARD=0"}, "BUILDS_PER_SHARD must be at least 1"},
		{"zero cap", "x86_64 10 5\n", []string{"MAX_SHARDS=0"}, "MAX_SHARDS must be at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, stderr, code := shardMatrix(t, tt.stdin, tt.env...)
			if code != 2 {
				t.Fatalf("exit %d (matrix %+v), want 2", code, m)
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr %q, want it to contain %q", stderr, tt.wantErr)
			}
		})
	}
}

// TestWorkflowShardMatrixFromPlan feeds the script what the workflows feed
// it: the per-architecture counts of a real dbg plan -o json, made with the
// plan step's own jq program.
func TestWorkflowShardMatrixFromPlan(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Fatal("no jq (the workflows' runners have it; make tools installs it)")
	}
	data, err := os.ReadFile(filepath.Join(workflowsDir, "publish-shards.yml"))
	if err != nil {
		t.Fatal(err)
	}
	prog := regexp.MustCompile(`jq -r '(group_by\(\.arch\)[^']*)'`).FindSubmatch(data)
	if prog == nil {
		t.Fatal("publish-shards.yml: no jq -r 'group_by(.arch)...' counting the plan per architecture")
	}
	var plan bytes.Buffer
	for i := 0; i < 7; i++ { // 7 aarch64 kernels, 2 builds each
		for _, v := range []string{"10.2.0+driver", "10.1.0+driver"} {
			fmt.Fprintf(&plan, `{"arch":"aarch64","driver_version":%q,"config":"kernels/aarch64/k%d.yaml"}`, v, i)
		}
	}
	for i := 0; i < 3; i++ { // 3 x86_64 kernels, 3 builds each
		for _, k := range []string{"module", "module", "probe"} {
			fmt.Fprintf(&plan, `{"arch":"x86_64","kind":%q,"config":"kernels/x86_64/k%d.yaml"}`, k, i)
		}
	}
	jq := exec.Command("jq", "-rs", string(prog[1]))
	jq.Stdin = &plan
	counts, err := jq.Output()
	if err != nil {
		t.Fatalf("jq: %v", err)
	}
	if got, want := string(counts), "aarch64 14 7\nx86_64 9 3\n"; got != want {
		t.Fatalf("counts %q, want %q", got, want)
	}
	m, stderr, code := shardMatrix(t, string(counts), "BUILDS_PER_SHARD=4", "MAX_SHARDS=20")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := checkMatrixShape(t, m); fmt.Sprint(got) != fmt.Sprint(map[string]int{"x86_64": 3, "aarch64": 4}) {
		t.Errorf("shards per architecture %v, want x86_64 3 (its kernels), aarch64 4", got)
	}
}

// TestWorkflowBuildsRoute checks how the build jobs use the matrix: each
// runs on its entry's runner, passes its architecture and shard to dbg
// through env, makes a builder image named after its architecture and
// builds with it, and caches the builder root per runner architecture; the
// plan job makes the matrix with shard-matrix.sh. kernel-pr.yml takes the
// scripts from its base branch checkout (base/), publish-shards.yml from its
// own; publish-shards.yml's publish jobs run over the same matrix.
func TestWorkflowBuildsRoute(t *testing.T) {
	for file, root := range map[string]string{"publish-shards.yml": "", "kernel-pr.yml": "base/"} {
		t.Run(file, func(t *testing.T) {
			wf := readWorkflow(t, file)
			plan, build := wf.Jobs["plan"], wf.Jobs["build"]
			if plan == nil || build == nil {
				t.Fatalf("no plan or build job")
			}
			if !strings.Contains(plan.scripts(), "bash "+root+".github/scripts/shard-matrix.sh") {
				t.Errorf("plan job does not run %s.github/scripts/shard-matrix.sh", root)
			}
			if build.RunsOn != "${{ matrix.runner }}" {
				t.Errorf("build runs-on %q, want ${{ matrix.runner }}", build.RunsOn)
			}
			const fromPlan = "${{ fromJSON(needs.plan.outputs.matrix) }}"
			if m := strings.TrimSpace(build.Strategy.Matrix); m != fromPlan {
				t.Errorf("build matrix %q, want %s", m, fromPlan)
			}
			if pub := wf.Jobs["publish"]; pub != nil {
				if m := strings.TrimSpace(pub.Strategy.Matrix); m != fromPlan {
					t.Errorf("publish matrix %q, want %s (one publish job per build shard)", m, fromPlan)
				}
			} else if file == "publish-shards.yml" {
				t.Errorf("no publish job")
			}
			// every Debian release's builder, for the shard's arch: dbg
			// picks each kernel's by its compiler
			if rel := strings.Fields(build.Env["DBG_BUILDER_RELEASES"]); !slices.Equal(rel, []string{"bullseye", "bookworm", "trixie", "sid"}) {
				t.Errorf("build env DBG_BUILDER_RELEASES %q, want every Debian release of grid's builder table", rel)
			}
			if !strings.Contains(build.scripts(), "for release in $DBG_BUILDER_RELEASES; do") ||
				!strings.Contains(build.scripts(), "bash "+root+`deploy/builder/build-image.sh "" "$ARCH" "$release"`) {
				t.Errorf("build job does not make every release's image for the shard's arch with %sdeploy/builder/build-image.sh", root)
			}
			routed := false
			for _, st := range build.Steps {
				if st.Uses != "" && strings.HasPrefix(st.Uses, "actions/cache@") {
					if key := st.With["key"]; !strings.Contains(key, "runner.arch") || !strings.Contains(key, "hashFiles('"+root+"deploy/builder/build-image.sh')") {
						t.Errorf("cache key %q lacks runner.arch or hashFiles('%sdeploy/builder/build-image.sh')", key, root)
					}
				}
				for _, c := range dbgCalls(script{text: st.Run}) {
					if sub := subcommand(c.args); sub != "build" && sub != "run" {
						continue
					}
					arch, shard := flagValue(c.args, "--arch"), flagValue(c.args, "--shard")
					if arch != "$"+envNamed(st.Env, "${{ matrix.arch }}") || shard != "$"+envNamed(st.Env, "${{ matrix.shard }}") {
						t.Errorf("%s: --arch %q --shard %q, want the matrix's arch and shard through env (env %v)", c.text, arch, shard, st.Env)
					}
					if img := flagValue(c.args, "--builder-image"); img != "" {
						t.Errorf("%s: --builder-image %q: it would pin every kernel to one compiler", c.text, img)
					}
					routed = true
				}
			}
			if !routed {
				t.Errorf("no dbg build or dbg run in the build job")
			}
		})
	}
}

// TestWorkflowBuilderCacheKeys: every cache of the builder root, in every
// workflow, is keyed by the runner's architecture.
func TestWorkflowBuilderCacheKeys(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(workflowsDir, "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		for name, job := range readWorkflow(t, filepath.Base(f)).Jobs {
			for _, st := range job.Steps {
				if strings.HasPrefix(st.Uses, "actions/cache@") && strings.Contains(st.With["path"], "builder") {
					n++
					if !strings.Contains(st.With["key"], "runner.arch") {
						t.Errorf("%s: job %s: builder cache key %q lacks runner.arch", filepath.Base(f), name, st.With["key"])
					}
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no builder cache found")
	}
}

// TestWorkflowKernelConfigs checks what kernel-configs.yml may do: daily
// and on demand, dbg generate --prune for both architectures from
// kernel-crawler's lists, a pull request through gh; no build, no publish,
// no permission beyond contents and pull requests, no secret but the
// optional pull request token.
func TestWorkflowKernelConfigs(t *testing.T) {
	const file = "kernel-configs.yml"
	wf := readWorkflow(t, file)
	schedule, _ := wf.On["schedule"].([]any)
	if _, dispatch := wf.On["workflow_dispatch"]; len(schedule) == 0 || !dispatch || len(wf.On) != 2 {
		t.Errorf("triggers %v: want schedule and workflow_dispatch only", wf.On)
	}
	if len(wf.Permissions) != 0 {
		t.Errorf("top-level permissions %v, want {}", wf.Permissions)
	}
	data, err := os.ReadFile(filepath.Join(workflowsDir, file))
	if err != nil {
		t.Fatal(err)
	}
	secrets := regexp.MustCompile(`secrets\.[A-Za-z0-9_]+`).FindAllString(string(data), -1)
	for _, s := range secrets {
		if s != "secrets.DBG_CONFIGS_TOKEN" {
			t.Errorf("uses %s: the only secret allowed is DBG_CONFIGS_TOKEN", s)
		}
	}
	var generated []string
	for name, job := range wf.Jobs {
		want := map[string]string{"contents": "write", "pull-requests": "write"}
		if fmt.Sprint(job.Permissions) != fmt.Sprint(want) {
			t.Errorf("job %s: permissions %v, want %v", name, job.Permissions, want)
		}
		for _, st := range job.Steps {
			if st.Uses != "" && !regexp.MustCompile(`^[^@]+@[0-9a-f]{40}$`).MatchString(strings.Fields(st.Uses)[0]) {
				t.Errorf("job %s: %s is not pinned to a commit SHA", name, st.Uses)
			}
			if strings.Contains(st.Uses, "aws-actions/") {
				t.Errorf("job %s: %s: no AWS here", name, st.Uses)
			}
			for _, c := range dbgCalls(script{text: st.Run}) {
				switch subcommand(c.args) {
				case "build", "run", "publish", "index", "cleanup":
					t.Errorf("job %s: %s: the configs workflow builds and publishes nothing", name, c.text)
				case "generate":
					if flagValue(c.args, "--from") != "$CRAWLER/$arch/list.json" || flagValue(c.args, "--arch") != "$arch" || !hasFlag(c.args, "--prune") {
						t.Errorf("job %s: %s: want generate --from \"$CRAWLER/$arch/list.json\" --arch \"$arch\" --prune", name, c.text)
					}
					if !strings.Contains(st.Run, "for arch in x86_64 aarch64; do") {
						t.Errorf("job %s: generate does not loop over x86_64 and aarch64", name)
					}
					generated = append(generated, c.text)
				}
			}
		}
		if job.Env["CRAWLER"] != "https://falcosecurity.github.io/kernel-crawler" {
			t.Errorf("job %s: CRAWLER %q, want https://falcosecurity.github.io/kernel-crawler", name, job.Env["CRAWLER"])
		}
		if !strings.Contains(job.scripts(), "gh pr create") || !strings.Contains(job.scripts(), "gh pr edit") {
			t.Errorf("job %s: want gh pr create and gh pr edit", name)
		}
	}
	if len(generated) == 0 {
		t.Error("no dbg generate")
	}
}

// TestWorkflowConfigsPRBody checks the pull request body kernel-configs.yml
// writes from dbg generate -o json: the counts per architecture and the
// skipped entries per reason, from the report's real JSON.
func TestWorkflowConfigsPRBody(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Fatal("no jq (the workflows' runners have it; make tools installs it)")
	}
	dir := t.TempDir()
	reports := map[string]generateReport{
		"x86_64": {
			WriteReport: config.WriteReport{Added: 12, Changed: 3, Unchanged: 4000},
			Removed:     []string{"kernels/x86_64/a.yaml", "kernels/x86_64/b.yaml"},
			Skipped:     config.Skipped{"kernel too old": 7, "unknown target": 5},
			ByDistro:    map[string]int{"ubuntu": 4015},
		},
		"aarch64": {WriteReport: config.WriteReport{Unchanged: 357}, Skipped: config.Skipped{"kernel too old": 1}},
	}
	var args []string
	for _, a := range []string{"x86_64", "aarch64"} {
		f := filepath.Join(dir, a+".json")
		var buf bytes.Buffer
		if err := writeJSON(&buf, reports[a]); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, a+"="+f)
	}
	cmd := exec.Command("bash", append([]string{filepath.Join(scriptsDir, "configs-pr-body.sh")}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "GITHUB_SERVER_URL=https://github.com", "GITHUB_REPOSITORY=o/r", "GITHUB_RUN_ID=42"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	body := string(out)
	for _, want := range []string{
		"| arch | added | changed | unchanged | removed | skipped |",
		"| x86_64 | 12 | 3 | 4000 | 2 | 12 |",
		"| aarch64 | 0 | 0 | 357 | 0 | 1 |",
		"| reason | x86_64 | aarch64 |",
		"| kernel too old | 7 | 1 |",
		"| unknown target | 5 | 0 |",
		"| ubuntu | 4015 | 0 |",
		"https://github.com/o/r/actions/runs/42",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
}

// Kernel-config pull requests are untrusted input, and so are the kernel
// headers their configs point at: a build runs the headers' own build code
// (in the sealed builder containers, but on the runner). The tests below
// hold the workflows to these rules:
//
//   - a job that builds (dbg build, dbg run) holds no credential: it
//     declares its own permissions, all read (or none), has no id-token, no
//     AWS role, no secret, no github.token, no environment;
//   - a job that holds a credential builds nothing, runs no go run, and
//     restores no cache (a build job can write the repository's caches);
//   - a job that publishes takes a build job's artifact and checks it
//     (dbg publish --from, which checks each file against its manifest
//     digest; sha256sum -c; the manifest against the plan it makes itself)
//     before it takes the AWS role;
//   - kernel-pr.yml runs the base branch's dbg, built from a base/
//     checkout, on the pull request's pr/kernels, and nothing of pr/.

// TestWorkflowCredentialsNeverBuild checks the first two rules on every job
// of every workflow.
func TestWorkflowCredentialsNeverBuild(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(workflowsDir, "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	builders, holders := 0, 0
	for _, f := range files {
		file := filepath.Base(f)
		wf := readWorkflow(t, file)
		for _, name := range sortedJobs(wf) {
			j := wf.Jobs[name]
			if len(buildCalls(j)) > 0 {
				builders++
			}
			if len(credentials(wf, j)) > 0 {
				holders++
			}
			for _, p := range jobSecurityProblems(wf, j) {
				t.Errorf("%s: job %s: %s", file, name, p)
			}
		}
	}
	if builders == 0 || holders == 0 {
		t.Fatalf("%d building jobs, %d jobs with credentials: the workflows changed shape, or this parser is broken", builders, holders)
	}
}

// TestWorkflowPublishVerifies checks the publish jobs of publish-shards.yml.
func TestWorkflowPublishVerifies(t *testing.T) {
	wf := readWorkflow(t, "publish-shards.yml")
	problems, n := publishProblems(wf)
	for _, p := range problems {
		t.Errorf("publish-shards.yml: %s", p)
	}
	if n == 0 {
		t.Fatal("publish-shards.yml: no job runs dbg publish")
	}
}

// TestWorkflowKernelPRUsesBaseTool checks kernel-pr.yml.
func TestWorkflowKernelPRUsesBaseTool(t *testing.T) {
	problems, n := kernelPRProblems(readWorkflow(t, "kernel-pr.yml"))
	for _, p := range problems {
		t.Errorf("kernel-pr.yml: %s", p)
	}
	if n == 0 {
		t.Fatal("kernel-pr.yml: no dbg invocation")
	}
}

// TestWorkflowManifestCheck runs the publish job's own jq program (read
// from publish-shards.yml) on a made-up plan and manifests: it prints the
// built entries that are not the plan's, and nothing for a good manifest.
func TestWorkflowManifestCheck(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Fatal("no jq (the workflows' runners have it; make tools installs it)")
	}
	data, err := os.ReadFile(filepath.Join(workflowsDir, "publish-shards.yml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)unplanned="\$\(jq -r --slurpfile plan "\$RUNNER_TEMP/plan.json" '(.*?)' out/manifest.json\)"`).FindSubmatch(data)
	if m == nil {
		t.Fatal(`publish-shards.yml: no unplanned="$(jq -r --slurpfile plan "$RUNNER_TEMP/plan.json" '...' out/manifest.json)"`)
	}
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.json")
	entry := func(dv, file string) grid.Entry {
		return grid.Entry{DriverVersion: dv, Arch: "x86_64", File: file, Key: "driver/" + dv + "/x86_64/" + file}
	}
	a, b := entry("10.2.0+driver", "falco_debian_6.1.1-1-amd64_1.ko"), entry("10.2.0+driver", "falco_debian_6.1.2-1-amd64_1.ko")
	var buf bytes.Buffer
	if err := writeJSON(&buf, []grid.Entry{a, b}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plan, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	built := func(e grid.Entry) grid.BuildResult {
		return grid.BuildResult{Entry: e, Status: grid.Built, SHA256: "00", Size: 1}
	}
	escape, renamed, other := a, b, entry("9.1.0+driver", "falco_debian_6.1.1-1-amd64_1.ko")
	escape.Key = "driver/../../../home/runner/secret"
	renamed.File = "falco_other.ko"
	failed := grid.BuildResult{Entry: other, Status: grid.Failed}
	tests := []struct {
		name     string
		manifest string
		want     string
	}{
		{"the plan's entries", "", ""},
		{"a subset, and failed entries of no plan", "", ""},
		{"a key outside out/", "", escape.Key + "\n"},
		{"another file name under a planned key", "", renamed.Key + "\n"},
		{"another shard's entry", "", other.Key + "\n"},
		{"no key", `{"builds":[{"status":"built","driver_version":"10.2.0+driver","arch":"x86_64","file":"x.ko"}]}`, "null\n"},
		{"a key that is not a string", `{"builds":[{"status":"built","key":7}]}`, "7\n"},
		{"no builds", `{"builds":null}`, ""},
	}
	reports := map[string][]grid.BuildResult{
		"the plan's entries":                      {built(a), built(b)},
		"a subset, and failed entries of no plan": {built(b), failed},
		"a key outside out/":                      {built(a), built(escape)},
		"another file name under a planned key":   {built(renamed)},
		"another shard's entry":                   {built(a), built(other)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			manifest := tt.manifest
			if manifest == "" {
				var buf bytes.Buffer
				if err := writeJSON(&buf, grid.Report{Builds: reports[tt.name]}); err != nil {
					t.Fatal(err)
				}
				manifest = buf.String()
			}
			jq := exec.Command("jq", "-r", "--slurpfile", "plan", plan, string(m[1]))
			jq.Stdin = strings.NewReader(manifest)
			var stderr bytes.Buffer
			jq.Stderr = &stderr
			out, err := jq.Output()
			if err != nil {
				t.Fatalf("jq: %v: %s", err, stderr.String())
			}
			if string(out) != tt.want {
				t.Errorf("unplanned %q, want %q", out, tt.want)
			}
		})
	}
}

// TestWorkflowNoPullRequestTarget: no workflow runs with the base
// repository's secrets on a pull request's code.
func TestWorkflowNoPullRequestTarget(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(workflowsDir, "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		wf := readWorkflow(t, filepath.Base(f))
		if _, ok := wf.On["pull_request_target"]; ok {
			t.Errorf("%s: triggered by pull_request_target", filepath.Base(f))
		}
		if _, ok := wf.On["workflow_run"]; ok {
			t.Errorf("%s: triggered by workflow_run (it runs with secrets after a pull request's run)", filepath.Base(f))
		}
	}
}

// TestWorkflowActionsPinned: every action is pinned to a full commit SHA,
// the same one wherever it is used; jobs call only local reusable workflows.
func TestWorkflowActionsPinned(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(workflowsDir, "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	pinned := regexp.MustCompile(`^([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)(/[^@]*)?@([0-9a-f]{40})$`)
	shas := map[string]map[string][]string{} // owner/repo -> sha -> where
	for _, f := range files {
		file := filepath.Base(f)
		wf := readWorkflow(t, file)
		for _, name := range sortedJobs(wf) {
			j := wf.Jobs[name]
			if j.Uses != "" && !strings.HasPrefix(j.Uses, "./.github/workflows/") {
				t.Errorf("%s: job %s calls %s: only this repository's reusable workflows", file, name, j.Uses)
			}
			for _, st := range j.Steps {
				if st.Uses == "" {
					continue
				}
				m := pinned.FindStringSubmatch(st.Uses)
				if m == nil {
					t.Errorf("%s: job %s: %s is not pinned to a full commit SHA", file, name, st.Uses)
					continue
				}
				if shas[m[1]] == nil {
					shas[m[1]] = map[string][]string{}
				}
				shas[m[1]][m[3]] = append(shas[m[1]][m[3]], file+":"+name)
			}
		}
	}
	for action, bySHA := range shas {
		if len(bySHA) > 1 {
			t.Errorf("%s is pinned to %d commits: %v", action, len(bySHA), bySHA)
		}
	}
}

// TestWorkflowSecurityCheckers feeds the checkers above the shapes they
// exist to refuse, among them the workflows as they were before the split
// (publish-shards.yml's build job building and publishing with the AWS role
// and the releases token; kernel-pr.yml running the pull request's own
// go run ./cmd/dbg), and one shape each that they accept.
func TestWorkflowSecurityCheckers(t *testing.T) {
	const setupGo = "{uses: actions/setup-go@40f1582b2485089dde7abd97c1529aa768e1baff, with: {go-version-file: go.mod, cache: false}}"
	jobTests := []struct {
		name string
		yaml string
		want []string // substrings of the problems, all of them; none: accepted
	}{
		{
			name: "build and publish with credentials (publish-shards.yml before the split)",
			yaml: `
permissions: {}
jobs:
  build:
    runs-on: ${{ matrix.runner }}
    permissions:
      contents: write
      id-token: write
    steps:
      - run: make build
      - uses: aws-actions/configure-aws-credentials@7474bc4690e29a8392af63c5b98e7449536d5c3a
        with:
          role-to-assume: ${{ vars.DBG_AWS_ROLE_ARN }}
      - env:
          GITHUB_TOKEN: ${{ secrets.DBG_RELEASES_TOKEN || github.token }}
          SHARD: ${{ matrix.shard }}
        run: |
          ./bin/dbg run --shard "$SHARD" \
            --to "s3://$BUCKET" --to "github://$RELEASES"
`,
			want: []string{"builds (./bin/dbg run", "contents: write", "id-token: write", "AWS credentials", "secrets.DBG_RELEASES_TOKEN", "github.token"},
		},
		{
			name: "a build job with a secret in its env",
			yaml: `
jobs:
  build:
    permissions: {contents: read}
    env: {GH_TOKEN: "${{ secrets.SOME_TOKEN }}"}
    steps: [{run: 'dbg build --out out'}]
`,
			want: []string{"builds (dbg build", "secrets.SOME_TOKEN"},
		},
		{
			name: "a build job that inherits its permissions",
			yaml: `
permissions: {contents: read}
jobs:
  build:
    steps: [{run: 'dbg build --out out'}]
`,
			want: []string{"no permissions of its own"},
		},
		{
			name: "a build job with write-all",
			yaml: "jobs: {build: {permissions: write-all, steps: [{run: 'go run ./cmd/dbg build'}]}}",
			want: []string{"*: write", "go run"},
		},
		{
			name: "a build job in an environment",
			yaml: "jobs: {build: {permissions: {contents: read}, environment: release, steps: [{run: 'dbg build'}]}}",
			want: []string{"environment"},
		},
		{
			name: "a publish job restoring caches",
			yaml: `
jobs:
  publish:
    permissions: {contents: read, id-token: write}
    steps:
      - uses: actions/checkout@34e114876b0b11c390a56381ad16ebd13914f8d5
      - uses: actions/setup-go@40f1582b2485089dde7abd97c1529aa768e1baff
        with: {go-version-file: go.mod}
      - uses: actions/cache@0057852bfaa89a56745cba8c7296529d2fc39830
        with: {path: x, key: y}
      - run: go run ./tools/x
`,
			want: []string{"persist-credentials", "setup-go", "actions/cache", "runs go run ./tools/x"},
		},
		{
			name: "split: a bare build job and a publish job",
			yaml: `
permissions: {}
jobs:
  build:
    permissions: {contents: read}
    steps:
      - ` + setupGo + `
      - {uses: actions/cache@0057852bfaa89a56745cba8c7296529d2fc39830, with: {path: x, key: y}}
      - run: ./bin/dbg build --shard "$SHARD" --out out
  publish:
    permissions: {contents: write, id-token: write}
    steps:
      - {uses: actions/checkout@34e114876b0b11c390a56381ad16ebd13914f8d5, with: {persist-credentials: false}}
      - ` + setupGo + `
      - run: make build
      - {uses: aws-actions/configure-aws-credentials@7474bc4690e29a8392af63c5b98e7449536d5c3a}
      - env: {GITHUB_TOKEN: "${{ secrets.DBG_RELEASES_TOKEN || github.token }}"}
        run: ./bin/dbg publish --from out --to "s3://$BUCKET"
`,
		},
	}
	for _, tt := range jobTests {
		t.Run(tt.name, func(t *testing.T) {
			wf, err := parseWorkflow([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, name := range sortedJobs(wf) {
				got = append(got, jobSecurityProblems(wf, wf.Jobs[name])...)
			}
			checkProblems(t, got, tt.want)
		})
	}

	const (
		checkout = "actions/checkout@34e114876b0b11c390a56381ad16ebd13914f8d5"
		upload   = "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02"
		download = "actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093"
		aws      = "aws-actions/configure-aws-credentials@7474bc4690e29a8392af63c5b98e7449536d5c3a"
	)
	buildJob := `
  build:
    permissions: {contents: read}
    steps:
      - env: {ARCH: "${{ matrix.arch }}", SHARD: "${{ matrix.shard }}", SINCE: "${{ needs.plan.outputs.since }}"}
        run: ./bin/dbg build --changed-since "$SINCE" --arch "$ARCH" --shard "$SHARD" --out out
      - {uses: ` + upload + `, with: {name: "dbg-shard-${{ matrix.name }}", path: out/}}
`
	planCheck := `
      - env: {A: "${{ matrix.arch }}", S: "${{ matrix.shard }}", SINCE: "${{ needs.plan.outputs.since }}"}
        run: |
          ./bin/dbg plan -o json --changed-since "$SINCE" --arch "$A" --shard "$S" >plan.json
          jq --slurpfile plan plan.json '.builds' out/manifest.json
          (cd out/driver/v/x86_64 && sha256sum -c SHA256SUMS)
`
	publishTests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "publishes with credentials, downloading and checking nothing",
			yaml: "jobs:\n  publish:\n    steps:\n      - {uses: " + aws + "}\n      - run: ./bin/dbg publish --from out --to s3://b\n",
			want: []string{"downloads no artifact", "no sha256sum -c", "no dbg plan"},
		},
		{
			name: "checks after taking the role, publishes another folder",
			yaml: "jobs:" + buildJob + `
  publish:
    steps:
      - run: make build
      - {uses: ` + download + `, with: {name: "dbg-shard-${{ matrix.name }}", path: out}}
      - {uses: ` + aws + `}` + planCheck + `
      - run: ./bin/dbg publish --from elsewhere --to s3://b
`,
			want: []string{`--from "elsewhere"`, "takes the AWS role before"},
		},
		{
			name: "builds dbg after the download, checks another shard's plan",
			yaml: "jobs:" + buildJob + `
  publish:
    steps:
      - {uses: ` + download + `, with: {name: "dbg-shard-${{ matrix.name }}", path: out}}
      - run: make build
      - env: {A: "${{ matrix.arch }}", S: "1/1", SINCE: ""}
        run: |
          ./bin/dbg plan -o json --changed-since "$SINCE" --arch "$A" --shard "$S" >plan.json
          jq '.builds' out/manifest.json
          sha256sum -c out/SHA256SUMS
      - {uses: ` + aws + `}
      - run: ./bin/dbg publish --from out --to s3://b
`,
			want: []string{"runs make build after", `--shard: "1/1"`, `--changed-since: ""`},
		},
		{
			name: "downloads what no build uploads",
			yaml: "jobs:" + buildJob + `
  publish:
    steps:
      - run: make build
      - {uses: ` + download + `, with: {name: other, path: out}}` + planCheck + `
      - {uses: ` + aws + `}
      - run: ./bin/dbg publish --from out --to s3://b
`,
			want: []string{`"other", which no build job uploads`},
		},
		{
			name: "the split",
			yaml: "jobs:" + buildJob + `
  publish:
    steps:
      - run: make build
      - {uses: ` + download + `, with: {name: "dbg-shard-${{ matrix.name }}", path: out}}` + planCheck + `
      - {uses: ` + aws + `}
      - run: ./bin/dbg publish --from out --to s3://b ${FORCE:+--force}
`,
		},
	}
	for _, tt := range publishTests {
		t.Run(tt.name, func(t *testing.T) {
			wf, err := parseWorkflow([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			got, n := publishProblems(wf)
			if n != 1 {
				t.Fatalf("%d publishing jobs, want 1", n)
			}
			checkProblems(t, got, tt.want)
		})
	}

	prTests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "the pull request's own go run ./cmd/dbg (kernel-pr.yml before)",
			yaml: `
on: {pull_request: {paths: ["kernels/**"]}}
permissions: {}
jobs:
  plan:
    permissions: {contents: read}
    steps:
      - {uses: ` + checkout + `, with: {fetch-depth: 0, persist-credentials: false}}
      - {uses: actions/setup-go@40f1582b2485089dde7abd97c1529aa768e1baff, with: {go-version-file: go.mod}}
      - run: go run ./cmd/dbg validate
      - run: |
          go run ./cmd/dbg plan -o json --changed-since "origin/$BASE_REF" >plan.json
          matrix="$(bash .github/scripts/shard-matrix.sh <arches.txt)"
`,
			want: []string{`checks out into "."`, "go run ./cmd/dbg validate", "go-version-file", "cache", "runs go outside base/",
				"bash .github/scripts/shard-matrix.sh", "no checkout of the base branch into base/"},
		},
		{
			name: "pull_request_target, a PR tool, PR scripts and a local action",
			yaml: `
on: {pull_request_target: {}}
jobs:
  build:
    permissions: {contents: read, pull-requests: write}
    steps:
      - {uses: ` + checkout + `, with: {ref: "${{ github.event.pull_request.head.sha }}", path: base, persist-credentials: false}}
      - {uses: ` + checkout + `, with: {path: pr}}
      - {uses: ./pr/.github/actions/x}
      - {working-directory: pr, run: 'go build -o "$RUNNER_TEMP/dbg" ./cmd/dbg'}
      - {working-directory: pr, run: './bin/dbg build && bash ../base/x.sh && bash deploy/builder/build-image.sh && make image'}
      - {run: '"$RUNNER_TEMP/dbg" --config-dir kernels validate'}
`,
			want: []string{"pull_request_target", "not triggered by pull_request", "permissions map[contents:read pull-requests:write]",
				`ref "${{ github.event.pull_request.head.sha }}"`, "persist-credentials", "local action", "runs go outside base/",
				"runs ./bin/dbg", "bash deploy/builder/build-image.sh", "runs make", `reads "kernels"`, "before building it from base/"},
		},
		{
			name: "the base tool on the pull request's configs",
			yaml: `
on: {pull_request: {paths: ["kernels/**"]}}
permissions: {}
jobs:
  plan:
    permissions: {contents: read}
    steps:
      - {uses: ` + checkout + `, with: {ref: "${{ github.event.pull_request.base.sha }}", path: base, persist-credentials: false}}
      - {uses: ` + checkout + `, with: {path: pr, fetch-depth: 0, persist-credentials: false}}
      - {uses: actions/setup-go@40f1582b2485089dde7abd97c1529aa768e1baff, with: {go-version-file: base/go.mod, cache: false}}
      - {working-directory: base, run: 'go build -o "$RUNNER_TEMP/dbg" ./cmd/dbg'}
      - {working-directory: pr, run: '"$RUNNER_TEMP/dbg" --config-dir kernels validate'}
      - {run: '"$RUNNER_TEMP/dbg" --config-dir=pr/kernels plan -o json && bash base/.github/scripts/shard-matrix.sh <a.txt'}
`,
		},
	}
	for _, tt := range prTests {
		t.Run(tt.name, func(t *testing.T) {
			wf, err := parseWorkflow([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			got, n := kernelPRProblems(wf)
			if n == 0 {
				t.Fatal("no dbg invocation found")
			}
			checkProblems(t, got, tt.want)
		})
	}
}

// checkProblems: every wanted substring is in some problem; no problem at
// all when none is wanted.
func checkProblems(t *testing.T, got, want []string) {
	t.Helper()
	all := strings.Join(got, "\n")
	if len(want) == 0 && len(got) > 0 {
		t.Errorf("unexpected problems:\n%s", all)
	}
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("no problem mentions %q; problems:\n%s", w, all)
		}
	}
}

func sortedJobs(wf *workflow) []string {
	names := make([]string, 0, len(wf.Jobs))
	for n := range wf.Jobs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// subcommand is the dbg subcommand of an invocation's arguments, past the
// global flag --config-dir.
func subcommand(args []string) string {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--config-dir":
			i++
		case strings.HasPrefix(a, "--config-dir="):
		default:
			return a
		}
	}
	return ""
}

// stepCalls is every dbg invocation of a step.
func stepCalls(st step) []dbgCall { return dbgCalls(script{text: st.Run}) }

// buildCalls is the job's dbg build and dbg run invocations.
func buildCalls(j *job) []string {
	var out []string
	for _, st := range j.Steps {
		for _, c := range stepCalls(st) {
			if sub := subcommand(c.args); sub == "build" || sub == "run" {
				out = append(out, c.text)
			}
		}
	}
	return out
}

// effectivePerms is what the job's token may do: its own block, else the
// workflow's, else the repository's default, which may be write.
func effectivePerms(wf *workflow, j *job) perms {
	switch {
	case j.Permissions != nil:
		return j.Permissions
	case wf.Permissions != nil:
		return wf.Permissions
	}
	return perms{"*": "write"}
}

var secretRef = regexp.MustCompile(`\bsecrets\b(\.[A-Za-z0-9_]+)?`)

// credentials lists what the job holds beyond a read-only token: write
// permissions (id-token: write is the AWS role's OIDC token), the AWS role,
// secrets, the token itself named in an expression, an environment (which
// has secrets of its own).
func credentials(wf *workflow, j *job) []string {
	var why []string
	p := effectivePerms(wf, j)
	scopes := make([]string, 0, len(p))
	for s := range p {
		scopes = append(scopes, s)
	}
	sort.Strings(scopes)
	for _, s := range scopes {
		if p[s] == "write" {
			why = append(why, s+": write")
		}
	}
	for _, st := range j.Steps {
		if isAction(st.Uses, "aws-actions/configure-aws-credentials") {
			why = append(why, "AWS credentials ("+st.Uses+")")
		}
	}
	seen := map[string]bool{}
	for _, m := range secretRef.FindAllString(j.raw, -1) {
		if !seen[m] {
			seen[m] = true
			why = append(why, m)
		}
	}
	if strings.Contains(j.raw, "github.token") {
		why = append(why, "github.token")
	}
	if j.Environment != nil {
		why = append(why, "an environment (its secrets)")
	}
	return why
}

// isAction tells whether uses names the action (owner/repo), at any ref.
func isAction(uses, action string) bool { return strings.HasPrefix(uses, action+"@") }

// jobSecurityProblems checks one job against the first two rules.
func jobSecurityProblems(wf *workflow, j *job) []string {
	var problems []string
	builds := buildCalls(j)
	creds := credentials(wf, j)
	if len(builds) > 0 {
		if j.Permissions == nil {
			problems = append(problems, fmt.Sprintf("builds (%s) with no permissions of its own: it inherits the workflow's or the caller's", builds[0]))
		}
		if len(creds) > 0 {
			problems = append(problems, fmt.Sprintf("builds (%s) with credentials: %s", builds[0], strings.Join(creds, ", ")))
		}
	}
	if len(creds) == 0 {
		return problems
	}
	for _, st := range j.Steps {
		for _, c := range scriptCommands(script{text: st.Run}) {
			if w := commandWords(c.words); len(w) >= 2 && w[0] == "go" && w[1] == "run" {
				problems = append(problems, fmt.Sprintf("has credentials (%s) and runs %s", strings.Join(creds, ", "), strings.Join(w, " ")))
			}
		}
		switch {
		case isAction(st.Uses, "actions/cache"), strings.HasPrefix(st.Uses, "actions/cache/"):
			problems = append(problems, fmt.Sprintf("has credentials and restores a cache (%s): a build job can write the caches", st.Uses))
		case isAction(st.Uses, "actions/setup-go") && st.With["cache"] != "false":
			problems = append(problems, "has credentials and restores setup-go's Go cache (want cache: false): a build job can write the caches")
		case isAction(st.Uses, "actions/checkout") && st.With["persist-credentials"] != "false":
			problems = append(problems, "has credentials and checks out without persist-credentials: false")
		}
	}
	return problems
}

// resolve is the value a flag's word stands for: $NAME or ${NAME} through
// the step's env, then the job's; anything else as it is.
func resolve(v string, envs ...map[string]string) string {
	name := strings.TrimPrefix(v, "$")
	name = strings.TrimSuffix(strings.TrimPrefix(name, "{"), "}")
	if name == v || !regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`).MatchString(name) {
		return v
	}
	for _, env := range envs {
		if e, ok := env[name]; ok {
			return strings.TrimSpace(e)
		}
	}
	return v
}

// selectionFlags are the flags that choose what a shard's plan holds.
var selectionFlags = []string{"--config-dir", "--changed-since", "--driver-version", "--arch", "--target", "--kernelrelease", "--shard"}

// located is a dbg invocation and where it is.
type located struct {
	job  *job
	step int
	call dbgCall
}

// publishProblems checks every job that runs dbg publish: it downloads a
// build job's artifact (after building its own dbg), checks it (the plan
// it makes itself with the build's selection, against which the manifest
// is compared; sha256sum -c), then takes the AWS role, then runs dbg
// publish --from the downloaded folder. It returns the problems and the
// number of publishing jobs.
func publishProblems(wf *workflow) ([]string, int) {
	var problems []string
	uploads := map[string]located{} // artifact name -> the dbg build whose --out it uploads
	for _, name := range sortedJobs(wf) {
		j := wf.Jobs[name]
		var build *located
		for i, st := range j.Steps {
			for _, c := range stepCalls(st) {
				if subcommand(c.args) == "build" {
					build = &located{j, i, c}
				}
			}
		}
		if build == nil {
			continue
		}
		out := flagValue(build.call.args, "--out")
		if out == "" {
			out = "out"
		}
		for _, st := range j.Steps {
			if isAction(st.Uses, "actions/upload-artifact") && filepath.Clean(st.With["path"]) == filepath.Clean(out) {
				uploads[st.With["name"]] = *build
			}
		}
	}
	n := 0
	for _, name := range sortedJobs(wf) {
		j := wf.Jobs[name]
		pub, down, sums, plan, role := -1, -1, -1, -1, -1
		var pubCall dbgCall
		var planAt located
		downPath := ""
		for i, st := range j.Steps {
			for _, c := range stepCalls(st) {
				if subcommand(c.args) == "publish" {
					pub, pubCall = i, c
				}
			}
		}
		if pub < 0 {
			continue
		}
		n++
		p := func(format string, args ...any) {
			problems = append(problems, fmt.Sprintf("job %s: ", name)+fmt.Sprintf(format, args...))
		}
		var built *located
		for i, st := range j.Steps {
			switch {
			case isAction(st.Uses, "actions/download-artifact") && down < 0:
				down, downPath = i, filepath.Clean(st.With["path"])
				b, ok := uploads[st.With["name"]]
				if !ok {
					p("downloads %q, which no build job uploads", st.With["name"])
				} else {
					built = &b
				}
			case isAction(st.Uses, "aws-actions/configure-aws-credentials") && role < 0:
				role = i
			}
			for _, c := range stepCalls(st) {
				if subcommand(c.args) == "plan" && down >= 0 && plan < 0 {
					plan, planAt = i, located{j, i, c}
				}
			}
			for _, c := range scriptCommands(script{text: st.Run}) {
				w := commandWords(c.words)
				if len(w) == 0 {
					continue
				}
				if w[0] == "sha256sum" && (hasFlag(w, "-c") || hasFlag(w, "--check")) && down >= 0 && sums < 0 {
					sums = i
				}
				if (w[0] == "make" || w[0] == "go") && down >= 0 && i > down {
					p("runs %s after the artifact is downloaded: build the tool first", strings.Join(w, " "))
				}
			}
		}
		if down < 0 || down > pub {
			p("downloads no artifact before dbg publish: it must publish a build job's output, never build")
			down = pub
		}
		if from := flagValue(pubCall.args, "--from"); filepath.Clean(cmpOr(from, "out")) != downPath {
			p("dbg publish --from %q, want the downloaded folder %q (dbg publish --from checks every file against the manifest)", from, downPath)
		}
		if sums < 0 || sums > pub {
			p("no sha256sum -c of the downloaded SHA256SUMS before dbg publish")
		}
		if plan < 0 || plan > pub {
			p("no dbg plan of the shard between the download and dbg publish: the manifest is not checked against the plan")
		} else {
			if !strings.Contains(j.Steps[plan].Run, downPath+"/manifest.json") {
				p("the dbg plan step does not read %s/manifest.json", downPath)
			}
			if built != nil {
				be := []map[string]string{built.job.Steps[built.step].Env, built.job.Env}
				pe := []map[string]string{j.Steps[plan].Env, j.Env}
				for _, f := range selectionFlags {
					bv, pv := resolve(flagValue(built.call.args, f), be...), resolve(flagValue(planAt.call.args, f), pe...)
					if bv != pv {
						p("dbg plan %s: %q, but the build ran %s %q: the plan is not the shard's", f, pv, f, bv)
					}
				}
			}
		}
		if role >= 0 && (role < sums || role < plan || role < down) {
			p("takes the AWS role before the artifact is checked")
		}
	}
	return problems, n
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// baseRefs are the refs kernel-pr.yml may take its tool from.
var baseRefs = map[string]bool{"${{ github.base_ref }}": true, "${{ github.event.pull_request.base.sha }}": true}

// kernelPRProblems checks kernel-pr.yml: pull_request only, read-only, the
// base branch checked out into base/ and the pull request into pr/ (no
// credentials kept), dbg built in base/ into $RUNNER_TEMP/dbg and only that
// binary run, on configs under pr/, and no program or script but base/'s.
// It returns the problems and the number of dbg invocations.
func kernelPRProblems(wf *workflow) ([]string, int) {
	var problems []string
	p := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if _, ok := wf.On["pull_request_target"]; ok {
		p("triggered by pull_request_target: the pull request's data would meet the base repository's secrets")
	}
	if _, ok := wf.On["pull_request"]; !ok {
		p("not triggered by pull_request")
	}
	if wf.Permissions == nil || len(wf.Permissions) != 0 {
		p("top-level permissions %v, want {}", wf.Permissions)
	}
	n := 0
	for _, name := range sortedJobs(wf) {
		j := wf.Jobs[name]
		jp := func(format string, args ...any) { p("job %s: "+format, append([]any{name}, args...)...) }
		if fmt.Sprint(j.Permissions) != fmt.Sprint(map[string]string{"contents": "read"}) {
			jp("permissions %v, want contents: read only", j.Permissions)
		}
		base, pr, tool, calls := false, false, -1, 0
		for i, st := range j.Steps {
			if strings.HasPrefix(st.Uses, "./") {
				jp("runs the local action %s: the pull request's code", st.Uses)
			}
			if isAction(st.Uses, "actions/checkout") {
				if st.With["persist-credentials"] != "false" {
					jp("checkout without persist-credentials: false")
				}
				switch path := filepath.Clean(st.With["path"]); path {
				case "base":
					if !baseRefs[strings.TrimSpace(st.With["ref"])] {
						jp("checks out ref %q into base/: want the base branch (${{ github.base_ref }} or ${{ github.event.pull_request.base.sha }})", st.With["ref"])
					} else {
						base = true
					}
				case "pr":
					pr = true
				default:
					jp("checks out into %q: only base/ (the tool) and pr/ (the data)", path)
				}
			}
			if isAction(st.Uses, "actions/setup-go") {
				if st.With["go-version-file"] != "base/go.mod" {
					jp("setup-go go-version-file %q, want base/go.mod", st.With["go-version-file"])
				}
				if st.With["cache"] != "false" {
					jp("setup-go restores a cache (want cache: false): an earlier run of the pull request could have written it")
				}
			}
			wd := filepath.Clean(st.WorkingDirectory)
			inBase := func(path string) bool {
				return strings.HasPrefix(filepath.Join(wd, path), "base/")
			}
			for _, c := range scriptCommands(script{text: st.Run}) {
				w := commandWords(c.words)
				if len(w) == 0 {
					continue
				}
				text := strings.Join(w, " ")
				prog, args, isDbg := dbgArgs(w)
				if isDbg {
					calls++
				}
				switch {
				case w[0] == "go":
					if wd != "base" {
						jp("runs go outside base/: %s", text)
					}
					if len(w) > 1 && w[1] == "run" {
						jp("runs %s: the tool is built once from base/, never run from source", text)
					}
					if text == `go build -o $RUNNER_TEMP/dbg ./cmd/dbg` && wd == "base" && tool < 0 {
						tool = i
					}
				case w[0] == "make":
					jp("runs make (%s): a Makefile is code", text)
				case isDbg:
					if prog != "$RUNNER_TEMP/dbg" {
						jp("runs %s: only the base branch's $RUNNER_TEMP/dbg", text)
						break
					}
					if tool < 0 || tool >= i {
						jp("runs %s before building it from base/", text)
					}
					cfg := cmpOr(flagValue(args, "--config-dir"), "kernels")
					if !strings.HasPrefix(filepath.Join(wd, cfg), "pr/") {
						jp("%s reads %q from %q: want the pull request's pr/kernels", text, cfg, wd)
					}
				case w[0] == "bash" || w[0] == "sh" || w[0] == "source" || w[0] == ".":
					script := ""
					for _, a := range w[1:] {
						if !strings.HasPrefix(a, "-") {
							script = a
							break
						}
					}
					if !inBase(script) {
						jp("runs %s: only base/'s scripts", text)
					}
				case strings.Contains(w[0], "/") && !inBase(w[0]):
					jp("runs %s: only base/'s programs and $RUNNER_TEMP/dbg", text)
				}
			}
		}
		n += calls
		if calls > 0 && !base {
			jp("no checkout of the base branch into base/")
		}
		if calls > 0 && !pr {
			jp("no checkout of the pull request into pr/")
		}
	}
	return problems, n
}

// workflow is what these tests read of a workflow file.
type workflow struct {
	On          map[string]any  `yaml:"on"`
	Permissions perms           `yaml:"permissions"`
	Jobs        map[string]*job `yaml:"jobs"`
}

type job struct {
	Name        string            `yaml:"name"`
	Uses        string            `yaml:"uses"` // a reusable workflow the job calls
	Needs       stringList        `yaml:"needs"`
	RunsOn      string            `yaml:"runs-on"`
	Environment any               `yaml:"environment"`
	Permissions perms             `yaml:"permissions"`
	Env         map[string]string `yaml:"env"`
	Strategy    struct {
		Matrix string `yaml:"matrix"`
	} `yaml:"strategy"`
	Steps []step `yaml:"steps"`

	// raw is the job's YAML without its comments, for what the fields above
	// do not hold (secrets referenced anywhere).
	raw string
}

type step struct {
	Name             string            `yaml:"name"`
	Uses             string            `yaml:"uses"`
	Run              string            `yaml:"run"`
	WorkingDirectory string            `yaml:"working-directory"`
	With             map[string]string `yaml:"with"`
	Env              map[string]string `yaml:"env"`
}

// perms is a permissions block, scope -> level; read-all and write-all
// become {"*": "read"} and {"*": "write"}. nil: the key is absent (the job
// inherits the workflow's, or the caller's, permissions).
type perms map[string]string

func (p *perms) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		switch n.Value {
		case "read-all":
			*p = perms{"*": "read"}
		case "write-all":
			*p = perms{"*": "write"}
		default:
			return fmt.Errorf("line %d: permissions %q: want a mapping, read-all or write-all", n.Line, n.Value)
		}
		return nil
	}
	var m map[string]string
	if err := n.Decode(&m); err != nil {
		return err
	}
	if m == nil {
		m = map[string]string{}
	}
	*p = m
	return nil
}

// stringList is a string or a list of strings (needs:).
type stringList []string

func (l *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = stringList{n.Value}
		return nil
	}
	var s []string
	if err := n.Decode(&s); err != nil {
		return err
	}
	*l = s
	return nil
}

// scripts is every run script of the job.
func (j *job) scripts() string {
	var b strings.Builder
	for _, s := range j.Steps {
		b.WriteString(s.Run + "\n")
	}
	return b.String()
}

func readWorkflow(t *testing.T, file string) *workflow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(workflowsDir, file))
	if err != nil {
		t.Fatal(err)
	}
	wf, err := parseWorkflow(data)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return wf
}

// parseWorkflow reads a workflow, and each job's YAML without comments
// into its raw.
func parseWorkflow(data []byte) (*workflow, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	var wf workflow
	if err := doc.Decode(&wf); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return &wf, nil
	}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value != "jobs" || top.Content[i+1].Kind != yaml.MappingNode {
			continue
		}
		jobs := top.Content[i+1]
		for k := 0; k+1 < len(jobs.Content); k += 2 {
			j := wf.Jobs[jobs.Content[k].Value]
			if j == nil {
				continue
			}
			n := jobs.Content[k+1]
			dropComments(n)
			raw, err := yaml.Marshal(n)
			if err != nil {
				return nil, err
			}
			j.raw = string(raw)
		}
	}
	return &wf, nil
}

func dropComments(n *yaml.Node) {
	n.HeadComment, n.LineComment, n.FootComment = "", "", ""
	for _, c := range n.Content {
		dropComments(c)
	}
}

// flagValue is the value given to a flag (--name V or --name=V), "" if absent.
func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// envNamed is the name of the env variable holding value ("" if none).
func envNamed(env map[string]string, value string) string {
	for k, v := range env {
		if strings.TrimSpace(v) == value {
			return k
		}
	}
	return ""
}
