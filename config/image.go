package config

import (
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// The builder image policy. A kernel config's builderimage runs every build
// of that kernel, so a config (an untrusted pull request) may name only:
//   - a local name: no registry (Docker's rule: a first path component
//     without '.' or ':' that is not "localhost" is not a registry) and one
//     path component, such as dbg-builder:bookworm-amd64. Docker resolves a
//     local name it does not have to Docker Hub's official images
//     (docker.io/library/...), which only Docker publishes;
//   - an image of an allowed registry (driverversions.yaml's registries:,
//     --allow-registry), pinned by digest (@sha256:<64 hex>): a tag can be
//     moved to other bytes, a digest cannot.
//
// A name of several path components without a registry (owned/builder) is
// a Docker Hub repository that anyone can publish (docker.io/owned/builder):
// it is a registry image, allowed only when docker.io (or docker.io/owned)
// is listed, and pinned.

// MaxImageLen is the longest builder image reference dbg accepts.
const MaxImageLen = 255

// dockerHub is how Docker spells the registry of names without one.
const dockerHub = "docker.io"

var (
	// registryHost: a registry's host name and optional port, lowercase.
	registryHost = regexp.MustCompile(`^[a-z0-9]+([.-][a-z0-9]+)*(:[0-9]{1,5})?$`)
	// imagePathComponent: one path component of an image name (or of a
	// registry entry's path prefix).
	imagePathComponent = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*$`)
)

// imageRef is an image reference split as Docker reads it.
type imageRef struct {
	registry string // "" for a local name; docker.io for Docker Hub repositories
	implicit bool   // the registry is Docker Hub's, not named (owned/builder)
	path     string // the repository below the registry
	digest   string // "sha256:<hex>" or ""
}

// repository is registry/path, what a registry entry is a prefix of.
func (r imageRef) repository() string { return r.registry + "/" + r.path }

// splitImage splits a reference that matches imageChars.
func splitImage(ref string) imageRef {
	var r imageRef
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref, r.digest = ref[:i], ref[i+1:]
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		ref = ref[:i] // the tag
	}
	first, rest, several := strings.Cut(ref, "/")
	switch {
	case !several:
		r.path = ref // a local name
	case strings.ContainsAny(first, ".:") || first == "localhost":
		r.registry, r.path = normaliseRegistry(first), rest
	default:
		r.registry, r.implicit, r.path = dockerHub, true, ref
	}
	return r
}

// normaliseRegistry spells Docker Hub's aliases as docker.io.
func normaliseRegistry(host string) string {
	if host == "index.docker.io" || host == "registry-1.docker.io" {
		return dockerHub
	}
	return host
}

// CheckRegistry checks an allowed-registry entry (driverversions.yaml's
// registries:, --allow-registry): a registry host, lowercase, with an
// optional port and path prefix, and no scheme (ghcr.io/falcosecurity,
// localhost:5000, docker.io/falcosecurity). It returns "" when it is one,
// else why not.
func CheckRegistry(entry string) string {
	switch {
	case entry == "":
		return "is empty"
	case len(entry) > MaxImageLen:
		return fmt.Sprintf("is %d characters long, more than the %d allowed", len(entry), MaxImageLen)
	case strings.Contains(entry, "://"):
		return fmt.Sprintf("%q must be a registry host with an optional port and path (ghcr.io/falcosecurity), without a scheme", entry)
	}
	host, path, _ := strings.Cut(entry, "/")
	if !registryHost.MatchString(host) {
		return fmt.Sprintf("%q must start with a lowercase registry host name and an optional :port (ghcr.io, localhost:5000)", entry)
	}
	if !strings.ContainsAny(host, ".:") && host != "localhost" {
		return fmt.Sprintf("%q does not name a registry: a registry host has a '.' or a ':port', or is localhost (Docker Hub is docker.io)", entry)
	}
	if path != "" {
		for _, c := range strings.Split(path, "/") {
			if !imagePathComponent.MatchString(c) {
				return fmt.Sprintf("%q has an invalid path: lowercase components joined by '/', without tag or digest", entry)
			}
		}
	}
	return ""
}

// allowedBy tells whether the repository ref names is below the registry
// entry (a whole path component: ghcr.io/falco does not allow
// ghcr.io/falcosecurity).
func (r imageRef) allowedBy(entry string) bool {
	host, path, _ := strings.Cut(entry, "/")
	prefix := normaliseRegistry(host)
	if path != "" {
		prefix += "/" + path
	}
	repo := r.repository()
	return repo == prefix || strings.HasPrefix(repo, prefix+"/")
}

// checkImage returns "" when a kernel config may name ref as its builder
// image, the registries listed being allowed, else why not.
func checkImage(ref string, registries []string) string {
	if len(ref) > MaxImageLen {
		return fmt.Sprintf("is %d characters long; an image reference has at most %d", len(ref), MaxImageLen)
	}
	if !imageChars.MatchString(ref) {
		return fmt.Sprintf("%q is not a valid image reference (lowercase name, optional :tag and @sha256:digest)", ref)
	}
	r := splitImage(ref)
	if r.registry == "" {
		return ""
	}
	allowed := false
	for _, e := range registries {
		if CheckRegistry(e) == "" && r.allowedBy(e) {
			allowed = true
			break
		}
	}
	what := "the registry " + r.registry
	if r.implicit {
		what = "the Docker Hub repository " + r.repository() + ", which anyone can publish"
	}
	switch {
	case !allowed && len(registries) == 0:
		return fmt.Sprintf("%q names %s: no registry is allowed (list it under registries: in %s, or pass --allow-registry; without a registry only local names such as dbg-builder:bookworm-amd64 are allowed)", ref, what, DriverVersionsFile)
	case !allowed:
		return fmt.Sprintf("%q names %s, which is not allowed (allowed: %s; list it under registries: in %s, or pass --allow-registry)", ref, what, strings.Join(registries, ", "), DriverVersionsFile)
	case r.digest == "":
		return fmt.Sprintf("%q is not pinned by digest: an image of a registry must end in @sha256:<64 hex digits> (a tag can be moved to other bytes)", ref)
	}
	return ""
}

// registryProblems checks every entry of driverversions.yaml's registries:
// list, at its position (root.Decode reported a value that is no list of
// strings).
func registryProblems(path string, root *yaml.Node) Problems {
	var ps Problems
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "registries" {
			continue
		}
		for _, item := range root.Content[i+1].Content {
			if msg := CheckRegistry(item.Value); msg != "" {
				ps = append(ps, Problem{Path: path, Line: item.Line, Col: item.Column, Field: "registries", Msg: msg})
			}
		}
	}
	return ps
}

// ValidRegistries returns the entries of registries that CheckRegistry
// accepts, in order.
func ValidRegistries(registries []string) []string {
	var out []string
	for _, e := range registries {
		if CheckRegistry(e) == "" {
			out = append(out, e)
		}
	}
	return out
}
