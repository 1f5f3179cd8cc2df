package gridtest

import (
	"errors"
	"fmt"
	"path/filepath"

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
// other URLs are a real kernel's, so only the broken one makes it fail.
func (l *Lab) AddBrokenKernel(dir, mode string) (string, error) {
	if len(l.Kernels) == 0 {
		return "", errors.New("add broken kernel: the lab has no kernel")
	}
	files := l.Kernels[0].Files
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
	k := debianKernel(release, urls)
	if _, err := config.WriteConfigs(dir, []*config.Kernel{k}); err != nil {
		return "", fmt.Errorf("add broken kernel: %w", err)
	}
	return filepath.Join(dir, filepath.FromSlash(config.ConfigPath(k))), nil
}
