package grid

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/falcosecurity/dbg/config"
)

// wholeLogFirstError and wholeLogTail are the rules of the reason and the
// tail as they were written over the whole log in memory: the oracle the
// streaming logScan must agree with (for lines of at most maxLogLine).
func wholeLogFirstError(log []byte) string {
	lines := strings.Split(string(bytes.TrimSpace(log)), "\n")
	probe := false
	for i, l := range lines {
		l = strings.TrimSpace(l)
		probe = configureProbe([]byte(l), probe)
		if strings.HasPrefix(l, "+") || probe || !errorLine.MatchString(l) {
			continue
		}
		if strings.HasPrefix(l, "CMake Error") {
			for _, n := range lines[i+1:] {
				if n = strings.TrimSpace(n); n != "" {
					l += " " + n
					break
				}
			}
		}
		return ": " + shorten(l)
	}
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" && !strings.HasPrefix(l, "+") {
			return ": " + shorten(l)
		}
	}
	return ""
}

func wholeLogTail(data []byte, lines int) string {
	parts := strings.Split(string(bytes.TrimRight(data, "\n")), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

func TestLogScanAgreesWithTheWholeLogRules(t *testing.T) {
	logs := []string{
		"",
		"\n\n\n",
		"one line without newline",
		"a\nb\n\n\n",
		"a\n\nb\n\n",
		"-- Configuring\nCMake Error at x.cmake:1 (message):\n\n\n  the message\nmore\n",
		"CMake Error at x.cmake:1 (message):\n",
		"+ echo error: traced\nsomething went wrong\n+ exit 1\n",
		"  leading\r\nmain.c:1: error: crlf\r\nlast\r\n",
		"x\n" + strings.Repeat("\n", 30) + "y\n",
		strings.Repeat("line\n", 100) + "ld: error: undefined\n" + strings.Repeat("after\n", 5),
	}
	for i := range 25 {
		logs = append(logs, strings.Repeat("l\n", i))
	}
	for _, log := range logs {
		for _, chunk := range []int{1, 3, 7, 4096} {
			s := newLogScan(tailLines)
			for b := []byte(log); len(b) > 0; {
				n := min(chunk, len(b))
				_, _ = s.Write(b[:n])
				b = b[n:]
			}
			if got, want := s.Reason(), wholeLogFirstError([]byte(log)); got != want {
				t.Errorf("reason of %q (writes of %d): %q, want %q", log, chunk, got, want)
			}
			if got, want := s.Tail(), wholeLogTail([]byte(log), tailLines); got != want {
				t.Errorf("tail of %q (writes of %d): %q, want %q", log, chunk, got, want)
			}
		}
	}
}

// A line longer than maxLogLine is cut: what is kept of it is bounded.
func TestLogScanCutsLongLines(t *testing.T) {
	s := newLogScan(2)
	long := strings.Repeat("x", 1<<20)
	_, _ = s.Write([]byte("gcc: error: " + long + "\nlast " + long))
	if got := s.Reason(); got != ": gcc: error: "+strings.Repeat("x", maxReasonLine-len("gcc: error: "))+"..." {
		t.Errorf("reason %.80q...", got)
	}
	tail := strings.Split(s.Tail(), "\n")
	if len(tail) != 2 || len(tail[0]) != maxLogLine+len(cutMark) || !strings.HasPrefix(tail[1], "last xxx") || !strings.HasSuffix(tail[1], "x"+cutMark) {
		t.Errorf("tail lines of %d and %d bytes", len(tail[0]), len(tail[len(tail)-1]))
	}
}

// collect reads a 64 MiB build log once, streamed: it allocates a small,
// fixed amount whatever the log's size (reading the whole log, copying and
// splitting it allocated 1,344 MiB), and the reason, the tail and the log
// file written are right.
func TestCollectLargeLogInBoundedMemory(t *testing.T) {
	work, out := t.TempDir(), t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("headers/status", "0\n")
	write("headers/build.log", "dbg: building as nobody (uid 65534)\nheaders ready\n")
	write("b0/status", "2\n")
	write("b0/ms", "1234\n")

	const size = 64 << 20
	buildLog := filepath.Join(work, "b0", "build.log")
	f, err := os.Create(buildLog)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	n, wantTail := 0, []string(nil)
	for i := 0; n < size; i++ {
		var line string
		switch {
		case i == 50_000:
			line = "main.c:3:10: fatal error: linux/foo.h: No such file or directory"
		case i == 60_000:
			line = "other.c:1:1: error: a later error is not the reason"
		case i == 70_000:
			line = strings.Repeat("y", 1<<20) // one 1 MiB line
		default:
			line = fmt.Sprintf("  CC [M]  /tmp/driver/src/file%07d.o  -Wall -O2 -DMODULE -DKBUILD_MODNAME=falco", i)
		}
		fmt.Fprintln(w, line)
		n += len(line) + 1
		if i%1000 == 999 {
			fmt.Fprintln(w, "make[2]: *** [scripts/Makefile.build:250] Error 1")
			n += 51
		}
	}
	for i := range tailLines {
		line := fmt.Sprintf("make: *** [all] Error %d", i)
		fmt.Fprintln(w, line)
		wantTail = append(wantTail, line)
	}
	fmt.Fprint(w, "\n\n")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	k := debianKernel("6.1.170-3-amd64")
	e := Entry{DriverVersion: "10.2.0+driver", Arch: "x86_64", Kind: config.Module, File: "falco_debian_6.1.170-3-amd64_1.ko"}
	b := &Builder{opts: BuildOptions{Out: out}}

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rs := b.collect(t.Context(), k, []step{{Entry: e}}, work, Result{}, nil)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("collect of a %d MiB log allocated %.2f MiB", size>>20, float64(alloc)/(1<<20))
	if alloc > 16<<20 {
		t.Errorf("collect allocated %d MiB for a %d MiB log; want < 16 MiB", alloc>>20, size>>20)
	}

	if len(rs) != 1 {
		t.Fatalf("%d results", len(rs))
	}
	r := rs[0]
	if want := "building " + e.File + ": exit status 2: main.c:3:10: fatal error: linux/foo.h: No such file or directory"; r.Status != Failed || r.Reason != want {
		t.Errorf("status %s, reason %q; want %q", r.Status, r.Reason, want)
	}
	if r.LogTail != strings.Join(wantTail, "\n") {
		t.Errorf("tail:\n%s\nwant:\n%s", r.LogTail, strings.Join(wantTail, "\n"))
	}
	if r.Log != logPath(out, e) {
		t.Fatalf("log %q, want %q", r.Log, logPath(out, e))
	}
	// the log file is the headers' log, a newline, then the build's, byte for byte
	want := sha256.New()
	for _, p := range []string{filepath.Join(work, "headers", "build.log"), "", buildLog} {
		if p == "" {
			want.Write([]byte{'\n'})
			continue
		}
		in, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(want, in)
		in.Close()
	}
	sum, _, err := config.HashFile(r.Log)
	if err != nil || sum != fmt.Sprintf("%x", want.Sum(nil)) {
		t.Errorf("log file %s: %v, sha256 %s differs from its parts'", r.Log, err, sum)
	}
}

// When the headers failed, every build's log is the headers' log and the
// container's, its reason the headers' first error.
func TestCollectHeadersFailure(t *testing.T) {
	work, out := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(work, "headers"), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(work, "headers", "status"), []byte("1\n"), 0o644)
	_ = os.WriteFile(filepath.Join(work, "headers", "build.log"), []byte("+ tar x\ntar: error: bad archive\n"), 0o644)
	e := Entry{DriverVersion: "10.2.0+driver", Arch: "x86_64", Kind: config.Module, File: "falco_x.ko"}
	b := &Builder{opts: BuildOptions{Out: out}}
	rs := b.collect(t.Context(), debianKernel("6.1.170-3-amd64"), []step{{Entry: e}}, work, Result{Log: []byte("container said bye\n")}, nil)
	if len(rs) != 1 || rs[0].Reason != "preparing kernel headers: exit status 1: tar: error: bad archive" {
		t.Fatalf("results %+v", rs)
	}
	data, _ := os.ReadFile(rs[0].Log)
	if string(data) != "+ tar x\ntar: error: bad archive\ncontainer said bye\n" || rs[0].LogTail != "+ tar x\ntar: error: bad archive\ncontainer said bye" {
		t.Errorf("log %q, tail %q", data, rs[0].LogTail)
	}
}
