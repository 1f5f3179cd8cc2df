package config

import "regexp"

// Allowlists for every config value that reaches a shell script, a file name,
// a container path or an object key. Values are rejected, never escaped.
var (
	// kernelrelease: starts with a digit; letters, digits and . _ + ~ -
	releaseChars = regexp.MustCompile(`^[0-9][A-Za-z0-9._+~-]{0,127}$`)
	// kernelversion: starts with a letter or digit; letters, digits and . _ + ~ -
	versionChars = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+~-]{0,63}$`)
	// target: lowercase words joined by single dashes or dots (ubuntu-hwe-5.4).
	targetChars = regexp.MustCompile(`^[a-z0-9]+([.-][a-z0-9]+)*$`)
	// builderimage: a docker reference: an optional registry host with a
	// port (localhost:5000/), the name, optional tag and digest. Whether it
	// may name a registry is image.go's policy.
	imageChars = regexp.MustCompile(`^([a-z0-9]+([.-][a-z0-9]+)*:[0-9]{1,5}/)?[a-z0-9]+([._/-][a-z0-9]+)*(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(@sha256:[a-f0-9]{64})?$`)
	// gccversion: 12, 12.2 or 12.2.0
	gccChars = regexp.MustCompile(`^[0-9]{1,2}(\.[0-9]{1,2}){0,2}$`)
	// kernelurls: http(s), no userinfo, query, fragment, quotes, spaces or shell syntax.
	urlChars = regexp.MustCompile(`^https?://[A-Za-z0-9._~:/%+-]+$`)
	// longDigits guards driverkit's release parser, which exits on integer overflow.
	longDigits = regexp.MustCompile(`[0-9]{10,}`)
	// driver versions: semver with build metadata (10.0.0+driver).
	driverVersionChars = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$`)
	// a driver version's sha256 pin: exactly 64 lowercase hex digits.
	sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

const maxURLLen = 2048

// MaxKernelURLs is the most header URLs a kernel config may list (the
// targets that need most need 6).
const MaxKernelURLs = 16

// ValidGCCVersion tells whether s is a gcc version dbg accepts (12, 12.2,
// 12.2.0): it reaches the build script as /usr/bin/gcc-<s>.
func ValidGCCVersion(s string) bool { return gccChars.MatchString(s) }

// ValidImage tells whether s is an image reference dbg accepts.
func ValidImage(s string) bool { return len(s) <= MaxImageLen && imageChars.MatchString(s) }

// ValidDriverVersion tells whether s is a driver version dbg accepts (it
// names folders, keys and release tags).
func ValidDriverVersion(s string) bool { return driverVersionChars.MatchString(s) }

// ValidRelease tells whether s is a kernel release dbg accepts, as
// kernelrelease or as a `uname -r` read from kernel headers.
func ValidRelease(s string) bool { return releaseChars.MatchString(s) }
