package publisher

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
)

// Prefix is one <driver version>/<arch> folder of a target: the unit of
// listing and of SHA256SUMS.
type Prefix struct {
	DriverVersion string // 10.0.0+driver
	Arch          string // x86_64 | aarch64
}

// Key is the object key of a file in the prefix, driver/<dv>/<arch>/<file>
// (config.PrefixKey); Key("") is the prefix's own.
func (p Prefix) Key(file string) string {
	return config.PrefixKey(p.DriverVersion, p.Arch) + file
}

func (p Prefix) String() string { return p.DriverVersion + "/" + p.Arch }

// Artifact is one built file to publish.
type Artifact struct {
	Prefix
	File   string // falco_<target>_<release>_<version>.ko|.o
	Path   string // the local file
	SHA256 string // hex digest of the local file
	Size   int64
	// Statement is the provenance of the artifact's build, if known.
	Statement *grid.Statement
}

// Key is the artifact's object key.
func (a Artifact) Key() string { return a.Prefix.Key(a.File) }

// Object is a file a target holds in a prefix.
type Object struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"` // hex; "" when the target could not tell
	Size   int64  `json:"size"`
	// Location is where a consumer downloads it (URL or path), for indexes.
	Location string `json:"location,omitempty"`
	// Modified is when an object listed without its digest (Presence) was
	// last written, where the target tells (S3, folders): WriteIndex uses it
	// to tell whether the prefix's index still vouches for the object.
	Modified time.Time `json:"-"`
}

// Listing is what List learns about each object of a prefix: presence is
// cheap, digests are read only where a decision needs them.
type Listing int

// The listings.
const (
	// Presence: names and sizes, from the target's listing alone (S3: one
	// ListObjectsV2 page per 1000 keys, no SHA256SUMS, no HeadObject; GitHub:
	// the releases' asset listing; a folder: no hashing). SHA256 is "".
	// What `dbg run`, `dbg stats --from` and `dbg cleanup` need.
	Presence Listing = iota
	// Digests: every object's sha256, as cheaply as it can be trusted: from
	// the prefix's index (SHA256SUMS; GitHub: index.json) for the objects it
	// lists and that were not written since, else from the object's stored
	// checksum (S3: HeadObject), else from its bytes. For the conflict check
	// of `dbg publish` and for `dbg index`.
	Digests
	// Verify: every sha256 from the stored objects themselves, never from an
	// index (`dbg index --verify`).
	Verify
)

func (l Listing) String() string {
	switch l {
	case Presence:
		return "presence"
	case Digests:
		return "digests"
	case Verify:
		return "verify"
	}
	return fmt.Sprintf("Listing(%d)", int(l))
}

// Target is one place artifacts are published to.
type Target interface {
	fmt.Stringer
	// Preflight checks, before any build, that the target is reachable and
	// writable with the credentials at hand.
	Preflight(ctx context.Context) error
	// Prefixes lists the <driver version>/<arch> folders the target holds.
	Prefixes(ctx context.Context) ([]Prefix, error)
	// List returns the artifact files the target holds in p (not its
	// SHA256SUMS or index files), sorted by file name, with what how asks
	// for: names and sizes (Presence), or their digests too (Digests,
	// Verify). A missing prefix is an empty list; a denied or failed request
	// is an error.
	List(ctx context.Context, p Prefix, how Listing) ([]Object, error)
	// Put uploads a, verifying its bytes on the way (sha256). When the key
	// exists Put fails with ErrExists unless replace is true.
	Put(ctx context.Context, a Artifact, replace bool) error
	// WriteIndex rewrites p's SHA256SUMS (and the target's own index of p)
	// to list objects. An object without a digest (from a Presence listing)
	// keeps the one p's current index vouches for (S3: its SHA256SUMS entry,
	// when the object was not written since; a folder hashes the file), and
	// is left out, with a warning, when there is none: `dbg index` (Digests)
	// adds it.
	WriteIndex(ctx context.Context, p Prefix, objects []Object) error
	// Delete removes the artifact file from p (for retiring driver versions).
	Delete(ctx context.Context, p Prefix, file string) error
}

// ErrExists is returned by Put when the key exists and replace is false.
var ErrExists = errors.New("already published")

// ErrUploadFailed marks uploads that failed: the target's fault, or the
// network's (exit code 2).
var ErrUploadFailed = config.Classed(config.ErrInfra, "upload failed")

// ErrConflict marks artifacts published with other bytes than the local
// ones: never replaced without --force (exit code 1).
var ErrConflict = config.Classed(config.ErrData, "published with different bytes")

// SiteWriter is implemented by targets that can hold files beside the
// driver folders: the top-level index.json and index.html under driver/.
type SiteWriter interface {
	PutFile(ctx context.Context, name string, data []byte, contentType string) error
}

// Planner is implemented by targets that place artifacts themselves
// (GitHub Releases fill numbered releases): Plan reserves places for the
// artifacts about to be uploaded, in a deterministic order, before the
// concurrent Puts.
type Planner interface {
	Plan(ctx context.Context, arts []Artifact) error
}
