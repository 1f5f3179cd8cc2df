package grid

import (
	"fmt"
	"strings"

	"github.com/falcosecurity/driverkit/pkg/kernelrelease"

	"github.com/falcosecurity/dbg/config"
)

// Every change dbg makes to the scripts driverkit renders is in this file,
// and nowhere else; README's "What dbg changes in driverkit's scripts" says
// the same: scriptPatches for the build scripts, debianTemplateData for the
// Debian headers script.

// scriptPatch is one change dbg makes to a build script driverkit rendered.
type scriptPatch struct {
	why      string
	old, new string
}

// scriptPatches are applied to every rendered build script. Each must match
// exactly once: a driverkit whose templates changed fails to render, loudly,
// instead of building without the change.
var scriptPatches = []scriptPatch{
	{
		why: "build offline: use the builder image's libelf (libelf-dev) instead of " +
			"fetching libelf at configure time (libs 9.x with USE_BUNDLED_DEPS), and " +
			"never let FetchContent reach for the network",
		old: "-DUSE_BUNDLED_DEPS=On \\\n",
		new: "-DUSE_BUNDLED_DEPS=On \\\n  -DUSE_BUNDLED_LIBELF=Off \\\n  -DFETCHCONTENT_FULLY_DISCONNECTED=On \\\n",
	},
	{
		why: "stop at a failed configure: `cmake ... && sed ...` is an AND list, " +
			"which `set -e` does not stop on, so a failed cmake went on to make and strip",
		old: " .. && \\\n  sed -i ",
		new: " ..\nsed -i ",
	},
}

// patchScript applies scriptPatches to a rendered build script.
func patchScript(script string) (string, error) {
	for _, p := range scriptPatches {
		if n := strings.Count(script, p.old); n != 1 {
			return "", fmt.Errorf("patch driverkit's build script (%s): found %q %d times, want once", p.why, p.old, n)
		}
		script = strings.Replace(script, p.old, p.new, 1)
	}
	return script, nil
}

// debianTemplateData fixes a driverkit trap: its pattern linux-headers-*<arch>
// matches every flavour, and Debian configs list the headers of all
// flavours, so the first folder found may be another flavour's. The pattern
// here names the config's flavour; the plain flavour is "a digit, then -arch".
func debianTemplateData(kr kernelrelease.KernelRelease, urls []string) any {
	pattern := "linux-headers-*[0-9]-" + kr.Architecture.String()
	if flavour, arch, ok := config.DebianFlavour(kr.FullExtraversion); ok && flavour != "" {
		pattern = "linux-headers-*-" + flavour + string(arch)
	}
	return struct {
		KernelDownloadURLS   []string
		KernelLocalVersion   string
		KernelHeadersPattern string
	}{urls, kr.FullExtraversion, pattern}
}
