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
// plan job makes the matrix with shard-matrix.sh.
func TestWorkflowBuildsRoute(t *testing.T) {
	for _, file := range []string{"publish-shards.yml", "kernel-pr.yml"} {
		t.Run(file, func(t *testing.T) {
			wf := readWorkflow(t, file)
			plan, build := wf.Jobs["plan"], wf.Jobs["build"]
			if plan == nil || build == nil {
				t.Fatalf("no plan or build job")
			}
			if !strings.Contains(plan.scripts(), "bash .github/scripts/shard-matrix.sh") {
				t.Errorf("plan job does not run .github/scripts/shard-matrix.sh")
			}
			if build.RunsOn != "${{ matrix.runner }}" {
				t.Errorf("build runs-on %q, want ${{ matrix.runner }}", build.RunsOn)
			}
			if m := strings.TrimSpace(build.Strategy.Matrix); m != "${{ fromJSON(needs.plan.outputs.matrix) }}" {
				t.Errorf("build matrix %q, want ${{ fromJSON(needs.plan.outputs.matrix) }}", m)
			}
			if img := build.Env["DBG_BUILDER_IMAGE"]; !strings.Contains(img, "${{ matrix.arch }}") {
				t.Errorf("build env DBG_BUILDER_IMAGE %q, want an image named after ${{ matrix.arch }}", img)
			}
			if !strings.Contains(build.scripts(), `bash deploy/builder/build-image.sh "$DBG_BUILDER_IMAGE"`) {
				t.Errorf("build job does not make $DBG_BUILDER_IMAGE with deploy/builder/build-image.sh")
			}
			routed := false
			for _, st := range build.Steps {
				if st.Uses != "" && strings.HasPrefix(st.Uses, "actions/cache@") && !strings.Contains(st.With["key"], "runner.arch") {
					t.Errorf("cache key %q lacks runner.arch", st.With["key"])
				}
				for _, c := range dbgCalls(script{text: st.Run}) {
					if c.args[0] != "build" && c.args[0] != "run" {
						continue
					}
					arch, shard := flagValue(c.args, "--arch"), flagValue(c.args, "--shard")
					if arch != "$"+envNamed(st.Env, "${{ matrix.arch }}") || shard != "$"+envNamed(st.Env, "${{ matrix.shard }}") {
						t.Errorf("%s: --arch %q --shard %q, want the matrix's arch and shard through env (env %v)", c.text, arch, shard, st.Env)
					}
					if img := flagValue(c.args, "--builder-image"); img != "$DBG_BUILDER_IMAGE" {
						t.Errorf("%s: --builder-image %q, want $DBG_BUILDER_IMAGE", c.text, img)
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
				switch c.args[0] {
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

// workflow is what these tests read of a workflow file.
type workflow struct {
	On          map[string]any    `yaml:"on"`
	Permissions map[string]string `yaml:"permissions"`
	Jobs        map[string]*job   `yaml:"jobs"`
}

type job struct {
	RunsOn      string            `yaml:"runs-on"`
	Permissions map[string]string `yaml:"permissions"`
	Env         map[string]string `yaml:"env"`
	Strategy    struct {
		Matrix string `yaml:"matrix"`
	} `yaml:"strategy"`
	Steps []step `yaml:"steps"`
}

type step struct {
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	With map[string]string `yaml:"with"`
	Env  map[string]string `yaml:"env"`
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
	var wf workflow
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return &wf
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
