package publisher

// The release scheme of the GitHub target. It is defined here and nowhere else.
//
// Releases are keyed by driver version and architecture: the prefix
// 10.0.0+driver/x86_64 maps to the release tagged "10.0.0+driver_x86_64",
// and, once that one is full, to "10.0.0+driver_x86_64_2", "_3", ... (the
// release name is the tag). GitHub holds at most 1000 assets per release;
// each release keeps five of them for its SHA256SUMS, index.json,
// provenance.intoto.jsonl and the signature bundles of SHA256SUMS and the
// provenance, so it holds at most 995 artifacts.
//
// Placement is deterministic and stable. An artifact already published stays
// in its release (replace re-uploads it there, under the same name). A new
// artifact goes to the lowest-numbered release with room, so artifacts put in
// file name order (as Publish does) fill the releases in that order. A
// release is created, as a draft, only when every release of the prefix is
// full; WriteIndex publishes it.
//
// Asset names: GitHub renames names with special characters. The target does
// it first, with config.AssetName (the naming contract; dbg validate refuses
// configs whose artifacts would share a name): every character outside
// [A-Za-z0-9._-] becomes '.', so
// falco_cos_6.1.58+_1.ko is uploaded as falco_cos_6.1.58._1.ko. The file name
// falcoctl asks for goes into the asset label, and the file name of an asset
// is its label (its name when it has none). When two files of one release
// would get the same safe name, the later one in file name order gets
// ".<first 8 hex digits of sha256(file name)>" before its extension; a name
// already published is never changed. The name recorded is always the one
// the API returns.
//
// Each release carries two more assets, rewritten by WriteIndex, and keeps a
// slot for a third, SHA256SUMS.sigstore.json, the signature bundle of its
// SHA256SUMS that `dbg sign` writes (see signature.go):
//   - SHA256SUMS, in sha256sum's format over the release's artifacts under
//     their ASSET names, so that `sha256sum -c SHA256SUMS` passes in a folder
//     holding a download of the release's assets;
//   - index.json, mapping each file name to {release, asset, sha256, size};
//     List trusts its digests when the asset's name and size still match.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/falcosecurity/dbg/config"
)

const (
	ghMaxAssets  = 1000         // GitHub's limit of assets per release
	ghMetaAssets = 5            // SHA256SUMS, index.json, provenance.intoto.jsonl and their two signature bundles
	ghIndexAsset = "index.json" // the per-release index asset
)

// ghIndexEntry is one file of a release's index.json.
type ghIndexEntry struct {
	Release string `json:"release"` // tag
	Asset   string `json:"asset"`   // asset name, as GitHub returned it
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"`
}

// ghTag is the tag of release number n (from 1) of p.
func ghTag(p Prefix, n int) string {
	tag := p.DriverVersion + "_" + p.Arch
	if n > 1 {
		tag += "_" + strconv.Itoa(n)
	}
	return tag
}

// parseGHTag inverts ghTag; ok is false for the tags of other releases.
func parseGHTag(tag string) (p Prefix, n int, ok bool) {
	if p, ok := ghSplitArch(tag); ok {
		return p, 1, true
	}
	i := strings.LastIndexByte(tag, '_')
	if i < 0 {
		return Prefix{}, 0, false
	}
	n, err := strconv.Atoi(tag[i+1:])
	if err != nil || n < 2 || strconv.Itoa(n) != tag[i+1:] {
		return Prefix{}, 0, false
	}
	if p, ok = ghSplitArch(tag[:i]); !ok {
		return Prefix{}, 0, false
	}
	return p, n, true
}

func ghSplitArch(s string) (Prefix, bool) {
	for _, arch := range config.Machines() {
		if dv, ok := strings.CutSuffix(s, "_"+arch); ok && dv != "" {
			return Prefix{DriverVersion: dv, Arch: arch}, true
		}
	}
	return Prefix{}, false
}

// ghCheckPrefix refuses prefixes the scheme cannot name.
func ghCheckPrefix(p Prefix) error {
	if q, n, ok := parseGHTag(ghTag(p, 1)); !ok || n != 1 || q != p || strings.ContainsAny(p.DriverVersion, "/ ") {
		return fmt.Errorf("prefix %s has no GitHub release tag (arch must be one of %s)", p, strings.Join(config.Machines(), ", "))
	}
	return nil
}

// ghAltName is file's safe name (config.AssetName, the name GitHub keeps
// as is) when another file of the release has it.
func ghAltName(file string) string {
	safe := config.AssetName(file)
	sum := sha256.Sum256([]byte(file))
	ext := path.Ext(safe)
	return strings.TrimSuffix(safe, ext) + "." + hex.EncodeToString(sum[:])[:8] + ext
}

// ghLocation is where a consumer downloads asset name of the release tagged
// tag once published, built from the browser_download_url GitHub gave (a
// draft's says "untagged-..." instead of the tag).
func ghLocation(browserURL, tag, name string) string {
	i := strings.LastIndex(browserURL, "/releases/download/")
	if i < 0 {
		return browserURL
	}
	return browserURL[:i] + "/releases/download/" + ghPathEscape(tag) + "/" + ghPathEscape(name)
}

// ghPathEscape escapes s as one path segment, '+' included (a CDN may read a
// literal '+' as a space).
func ghPathEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '~' {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	return b.String()
}
