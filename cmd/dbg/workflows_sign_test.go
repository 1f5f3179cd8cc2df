package main

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/publisher/cosigntest"
)

// TestWorkflowSignsAfterTheLastWrite checks the signing of publish-shards.yml
// (see signProblems).
func TestWorkflowSignsAfterTheLastWrite(t *testing.T) {
	for _, p := range signProblems(readWorkflow(t, "publish-shards.yml")) {
		t.Errorf("publish-shards.yml: %s", p)
	}
}

// TestWorkflowCosignPin: the Makefile's cosign (what the workflow installs
// with make cosign) is the one the tests run.
func TestWorkflowCosignPin(t *testing.T) {
	data, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^COSIGN_VERSION := (\S+)$`).FindSubmatch(data)
	if m == nil {
		t.Fatal("Makefile: no COSIGN_VERSION := line")
	}
	if want := "@" + string(m[1]); !strings.HasSuffix(cosigntest.Install, want) {
		t.Errorf("Makefile pins cosign %s, publisher/cosigntest installs %q", m[1], cosigntest.Install)
	}
}

// TestWorkflowSignCheckerRefuses feeds signProblems the shapes it exists to
// refuse, and one it accepts.
func TestWorkflowSignCheckerRefuses(t *testing.T) {
	const (
		install = "{run: make cosign}"
		index   = `{run: './bin/dbg index --to "s3://$B" --to "github://$R"', env: {B: b, R: o/r}}`
		sign    = `{run: './bin/dbg sign --to "s3://$B" --to "github://$R"', env: {B: b, R: o/r}}`
		perms   = "{contents: write, id-token: write}"
	)
	job := func(name, needs, perms string, steps ...string) string {
		return fmt.Sprintf("  %s: {needs: [%s], permissions: %s, steps: [%s]}\n", name, needs, perms, strings.Join(steps, ", "))
	}
	publish := `{run: './bin/dbg publish --from out --to "s3://$B"', env: {B: b}}`
	tests := []struct {
		name, jobs string
		want       []string
	}{
		{"good", job("publish", "", perms, publish) + job("index", "publish", perms, install, index, sign), nil},
		{"sign before index", job("index", "", perms, install, sign, index), []string{"job index: dbg index (step 3) writes after dbg sign (step 2)"}},
		{"sign in a job that does not wait for publish", job("publish", "", perms, publish) + job("index", "", perms, install, index, sign),
			[]string{"job publish: dbg publish writes and job index (dbg sign) does not need it"}},
		{"a later job writes", job("index", "", perms, install, index, sign) + job("late", "index", perms, publish),
			[]string{"job late: dbg publish writes and job index (dbg sign) does not need it"}},
		{"no id-token", job("index", "", "{contents: write}", install, index, sign), []string{"job index signs without id-token: write (keyless signing needs the job's OIDC token)"}},
		{"with a key, no cosign install", job("index", "", perms, index, strings.Replace(sign, "sign ", "sign --key k ", 1)),
			[]string{"job index: dbg sign --key: the publish workflow signs keyless", "job index: no make cosign before dbg sign"}},
		{"signs fewer targets", job("index", "", perms, install, index, strings.Replace(sign, ` --to "github://$R"`, "", 1)),
			[]string{`job index: dbg sign signs [s3://b], but dbg index writes [github://o/r s3://b]`}},
		{"no sign", job("index", "", perms, index), []string{"no job runs dbg sign"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wf, err := parseWorkflow([]byte("jobs:\n" + tc.jobs))
			if err != nil {
				t.Fatal(err)
			}
			checkProblems(t, signProblems(wf), tc.want)
		})
	}
}

// signProblems checks that exactly one job runs dbg sign; that it signs
// keyless (no --key) with cosign installed by make cosign in an earlier
// step and the job's OIDC token (id-token: write); that it comes after the
// last write of every SHA256SUMS: every step that runs dbg publish, index
// or run is an earlier step of its job or in a job it needs (directly or
// not); and that it signs every target dbg index writes.
func signProblems(wf *workflow) []string {
	var problems []string
	p := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	signJob, signStep := "", -1
	var signCall dbgCall
	for _, name := range sortedJobs(wf) {
		for i, st := range wf.Jobs[name].Steps {
			for _, c := range stepCalls(st) {
				if subcommand(c.args) == "sign" {
					if signJob != "" && signJob != name {
						p("jobs %s and %s both run dbg sign", signJob, name)
					}
					signJob, signStep, signCall = name, i, c
				}
			}
		}
	}
	if signJob == "" {
		return []string{"no job runs dbg sign"}
	}
	j := wf.Jobs[signJob]
	if effectivePerms(wf, j)["id-token"] != "write" {
		p("job %s signs without id-token: write (keyless signing needs the job's OIDC token)", signJob)
	}
	if hasFlag(signCall.args, "--key") {
		p("job %s: dbg sign --key: the publish workflow signs keyless", signJob)
	}
	installed := false
	for _, st := range j.Steps[:signStep] {
		for _, c := range scriptCommands(script{text: st.Run}) {
			if w := commandWords(c.words); len(w) == 2 && w[0] == "make" && w[1] == "cosign" {
				installed = true
			}
		}
	}
	if !installed {
		p("job %s: no make cosign before dbg sign", signJob)
	}
	before := ancestors(wf, signJob)
	indexed := map[string]bool{}
	for _, name := range sortedJobs(wf) {
		for i, st := range wf.Jobs[name].Steps {
			for _, c := range stepCalls(st) {
				sub := subcommand(c.args)
				if sub != "publish" && sub != "index" && sub != "run" {
					continue
				}
				switch {
				case name == signJob && i > signStep:
					p("job %s: dbg %s (step %d) writes after dbg sign (step %d)", name, sub, i+1, signStep+1)
				case name != signJob && !before[name]:
					p("job %s: dbg %s writes and job %s (dbg sign) does not need it", name, sub, signJob)
				}
				if sub == "index" {
					for _, to := range flagValues(c.args, "--to") {
						indexed[expand(to, st.Env, wf.Jobs[name].Env)] = true
					}
				}
			}
		}
	}
	signed := map[string]bool{}
	for _, to := range flagValues(signCall.args, "--to") {
		signed[expand(to, j.Steps[signStep].Env, j.Env)] = true
	}
	if got, want := sortedSet(signed), sortedSet(indexed); strings.Join(got, " ") != strings.Join(want, " ") {
		p("job %s: dbg sign signs %v, but dbg index writes %v", signJob, got, want)
	}
	return problems
}

// expand replaces $NAME and ${NAME} in v through the step's env, then the
// job's (unknown names stay as written).
func expand(v string, envs ...map[string]string) string {
	return os.Expand(v, func(name string) string {
		for _, env := range envs {
			if e, ok := env[name]; ok {
				return strings.TrimSpace(e)
			}
		}
		return "$" + name
	})
}

// ancestors is every job that job needs, directly or not.
func ancestors(wf *workflow, job string) map[string]bool {
	out := map[string]bool{}
	var walk func(string)
	walk = func(name string) {
		j := wf.Jobs[name]
		if j == nil {
			return
		}
		for _, n := range j.Needs {
			if !out[n] {
				out[n] = true
				walk(n)
			}
		}
	}
	walk(job)
	return out
}

// flagValues is every value given to a repeatable flag.
func flagValues(args []string, name string) []string {
	var out []string
	for i, a := range args {
		if a == name && i+1 < len(args) {
			out = append(out, args[i+1])
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			out = append(out, v)
		}
	}
	return out
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
