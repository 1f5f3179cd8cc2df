package gridtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/falcosecurity/dbg/config"
)

// Broken kernel modes for AddBrokenKernel.
const (
	Broken404     = "404"     // one header URL answers 404
	BrokenGarbage = "garbage" // the flavour headers URL serves bytes that are not a .deb
)

// garbage is what a BrokenGarbage URL serves: no ar archive ("!<arch>\n").
var garbage = []byte("this is not a Debian package\n")

// AddBrokenKernel writes into the config dir dir (l.ConfigDir, or one of
// WriteConfigDir) an extra valid config whose header URLs fail, and returns
// its path. Its release is made up and distinct from the real
// kernels': 6.1.999-1-amd64 for "404", 6.1.999-2-amd64 for "garbage". The
// other URLs are a real amd64 kernel's, so only the broken one makes it fail.
func (l *Lab) AddBrokenKernel(dir, mode string) (string, error) {
	amd64 := l.KernelsOf(config.AMD64)
	if len(amd64) == 0 {
		return "", errors.New("add broken kernel: the lab has no amd64 kernel")
	}
	files := amd64[0].Files
	urls := make([]string, len(files))
	for i, f := range files {
		urls[i] = l.URL + servePath("/debian/", f)
	}
	var release string
	switch mode {
	case Broken404:
		release = "6.1.999-1-amd64"
		// Nothing is served there: the server answers 404.
		urls[1] = l.URL + "/debian/linux-headers-6.1.999-common_6.1.999-1_all.deb"
	case BrokenGarbage:
		release = "6.1.999-2-amd64"
		p := "/debian/linux-headers-6.1.999-amd64_6.1.999-2_amd64.deb"
		l.srv.addBlob(p, garbage)
		urls[0] = l.URL + p
	default:
		return "", fmt.Errorf("add broken kernel: unknown mode %q (want %q or %q)", mode, Broken404, BrokenGarbage)
	}
	k := debianKernel(config.AMD64, release, urls)
	if _, err := config.WriteConfigs(dir, []*config.Kernel{k}); err != nil {
		return "", fmt.Errorf("add broken kernel: %w", err)
	}
	return filepath.Join(dir, filepath.FromSlash(config.ConfigPath(k))), nil
}

// Broken driver source modes for AddBrokenSource: the miniature driver
// with a build step that fails the way a real one does.
const (
	BrokenConfigure = "configure" // cmake stops: CMake Error at CMakeLists.txt
	BrokenCompile   = "compile"   // the compiler stops: main.c: error: ...
)

// Messages the broken sources fail with, for tests to look for.
const (
	ConfigureError = "dbg test: this driver source does not configure"
	CompileError   = "dbg test: this driver source does not compile"
)

// AddBrokenSource packs the miniature driver as version, broken as mode
// says, and serves it with the other sources (SourceTemplate).
func (l *Lab) AddBrokenSource(ctx context.Context, version, mode string) error {
	repo, err := RepoRoot()
	if err != nil {
		return err
	}
	src := filepath.Join(l.Root, "broken-"+mode)
	if err := os.RemoveAll(src); err != nil {
		return fmt.Errorf("add broken source: %w", err)
	}
	if err := os.CopyFS(src, os.DirFS(filepath.Join(repo, "deploy/minidriver"))); err != nil {
		return fmt.Errorf("add broken source: %w", err)
	}
	var file, add string
	switch mode {
	case BrokenConfigure:
		file, add = "CMakeLists.txt", "\nmessage(FATAL_ERROR \""+ConfigureError+"\")\n"
	case BrokenCompile:
		file, add = "driver/main.c", "\n#error \""+CompileError+"\"\n"
	default:
		return fmt.Errorf("add broken source: unknown mode %q (want %q or %q)", mode, BrokenConfigure, BrokenCompile)
	}
	f, err := os.OpenFile(filepath.Join(src, file), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString(add)
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		return fmt.Errorf("add broken source: %w", err)
	}
	dir := filepath.Join(l.Root, "src")
	out, err := exec.CommandContext(ctx, "bash", filepath.Join(src, "pack.sh"), version, dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pack broken source %s: %w: %s", version, err, strings.TrimSpace(string(out)))
	}
	l.serveSource(version, filepath.Join(dir, version+".tar.gz"))
	return nil
}
