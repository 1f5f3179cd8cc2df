package grid

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/falcosecurity/dbg/config"
)

// Compiler is the compiler a kernel was built with, as its headers' .config
// records it (CONFIG_CC_VERSION_TEXT, the first line of `$(CC) --version`,
// written by every kernel since 4.18).
type Compiler struct {
	Name    string // "gcc" or "clang"
	Major   int    // 12
	Version string // 12.2.0
	Text    string // gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0
}

func (c Compiler) String() string { return c.Text }

var (
	// ErrCompilerText: CONFIG_CC_VERSION_TEXT names no gcc or clang.
	ErrCompilerText = config.Classed(config.ErrData, "not a gcc or clang version line")
	// ErrNoCompilerText: a .config without CONFIG_CC_VERSION_TEXT (a kernel
	// older than 4.18, or not a kernel .config).
	ErrNoCompilerText = config.Classed(config.ErrData, "no CONFIG_CC_VERSION_TEXT (kernels before 4.18 do not record their compiler)")
)

var (
	// The version gcc prints after its "(pkgversion)": 12.2.0, 10.2.1, 4.8.5.
	versionWord = regexp.MustCompile(`^([0-9]+)(\.[0-9]+)*$`)
	// gcc's program name, the first word: gcc, gcc-12, x86_64-linux-gnu-gcc-14,
	// gcc10-gcc (Amazon Linux), cc. Not clang, not g++.
	gccProgram = regexp.MustCompile(`^(.*[-_])?g?cc(-[0-9]+(\.[0-9]+)*)?$`)
	// clang: "[vendor ]clang version 16.0.6[ (...)]".
	clangVersion = regexp.MustCompile(`(^|[ (])clang version ([0-9]+(\.[0-9]+)*)([ (]|$)`)
)

// ParseCCVersionText reads a kernel's CONFIG_CC_VERSION_TEXT (without its
// quotes), the first line of the compiler's --version:
//
//	gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0
//	x86_64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0
//	gcc-10 (Debian 10.2.1-6) 10.2.1 20210110
//	gcc (GCC) 8.5.0 20210514 (Red Hat 8.5.0-4)
//	Debian clang version 14.0.6
//	clang version 17.0.6 (Fedora 17.0.6-2.fc39)
//
// gcc's line is "<program> (<package version>) <version>[ <more>]": the
// version is the word after the first parenthesised group, and the program
// must be a gcc (gcc, gcc-N, <triplet>-gcc[-N], cc).
func ParseCCVersionText(text string) (Compiler, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return Compiler{}, fmt.Errorf("%w: empty", ErrCompilerText)
	}
	if m := clangVersion.FindStringSubmatch(text); m != nil {
		return newCompiler("clang", m[2], text)
	}
	prog, rest, ok := strings.Cut(text, " (")
	if !ok || !gccProgram.MatchString(prog) {
		return Compiler{}, fmt.Errorf("%w: %q", ErrCompilerText, text)
	}
	_, after, ok := cutGroup(rest)
	if !ok {
		return Compiler{}, fmt.Errorf("%w: %q: no closing parenthesis", ErrCompilerText, text)
	}
	version, _, _ := strings.Cut(strings.TrimSpace(after), " ")
	if !versionWord.MatchString(version) {
		return Compiler{}, fmt.Errorf("%w: %q: no version after the package version", ErrCompilerText, text)
	}
	return newCompiler("gcc", version, text)
}

// cutGroup splits s, which follows an opening parenthesis, at the
// parenthesis that closes it (nested groups count).
func cutGroup(s string) (inside, after string, ok bool) {
	depth := 1
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return s[:i], s[i+1:], true
			}
		}
	}
	return "", "", false
}

func newCompiler(name, version, text string) (Compiler, error) {
	major, _, _ := strings.Cut(version, ".")
	n, err := strconv.Atoi(major)
	if err != nil || n <= 0 || n > 999 {
		return Compiler{}, fmt.Errorf("%w: %q: major version %q", ErrCompilerText, text, major)
	}
	return Compiler{Name: name, Major: n, Version: version, Text: text}, nil
}

// maxConfigLine is the longest .config line read (real ones are < 1 KiB;
// CONFIG_CC_VERSION_TEXT is at most a few hundred bytes).
const maxConfigLine = 64 << 10

// ParseKernelConfig reads a kernel .config and parses its
// CONFIG_CC_VERSION_TEXT.
func ParseKernelConfig(r io.Reader) (Compiler, error) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 4096), maxConfigLine)
	for s.Scan() {
		v, ok := strings.CutPrefix(s.Text(), "CONFIG_CC_VERSION_TEXT=")
		if !ok {
			continue
		}
		text, err := strconv.Unquote(strings.TrimSpace(v))
		if err != nil {
			return Compiler{}, fmt.Errorf("%w: CONFIG_CC_VERSION_TEXT=%s is not a quoted string", ErrCompilerText, v)
		}
		return ParseCCVersionText(text)
	}
	if err := s.Err(); err != nil {
		return Compiler{}, fmt.Errorf("read .config: %w", err)
	}
	return Compiler{}, ErrNoCompilerText
}
