package config

import "runtime/debug"

// version is dbg's version, set at link time:
//
//	go build -ldflags "-X github.com/falcosecurity/dbg/config.version=v1.2.3" ./cmd/dbg
var version = ""

// Version is dbg's version: the one set at link time, else the module
// version Go recorded (a tagged `go install`), else the VCS revision of the
// build (with "-dirty" for a modified tree), else "devel".
func Version() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}
