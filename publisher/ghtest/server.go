// Package ghtest is an in-process fake of the part of GitHub's REST API that
// the GitHub Releases publisher uses, laid out the way GitHub Enterprise
// serves it (go-github's WithEnterpriseURLs): the API under /api/v3/ on one
// host, uploads under /api/uploads/ on a second, and asset bytes on a third,
// the storage host GitHub redirects asset downloads to.
//
// It behaves as GitHub documents where the publisher depends on it:
// pagination with per_page, page and Link headers; drafts invisible to
// "get release by tag"; 422 already_exists on a duplicate asset name and 422
// file_count past 1000 assets; asset names renamed when they hold special
// characters; rate-limit answers with Retry-After; failed uploads that leave
// an asset in state "starter". It fails the test on any request it does not
// expect, on a missing or wrong token, and on a token sent to the storage host.
package ghtest

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"
)

// Server is the fake. Its exported fields are fixed by New.
type Server struct {
	Owner, Repo, Token string
	// API serves /api/v3/, Uploads /api/uploads/, Storage the asset bytes.
	API, Uploads, Storage *httptest.Server

	t  testing.TB
	mu sync.Mutex

	releases   []*release // by id
	nextID     int64
	assetLimit int
	push       bool
	badTokenOK bool
	rename     func(string) string
	faults     []fault
	starters   map[string]bool
	requests   map[string]int
}

// Release is a release as the fake holds it.
type Release struct {
	ID                   int64
	Tag, Name, Commitish string
	Draft                bool
}

// Asset is a release asset as the fake holds it.
type Asset struct {
	ID                              int64
	Name, Label, ContentType, State string
	Size                            int64
	SHA256                          string // of Data
	Data                            []byte
}

type release struct {
	Release
	created, published time.Time
	assets             []*Asset // by id
}

type fault struct {
	status     int
	retryAfter string
	plain      bool // no secondary-rate-limit message on a 403 or 429
}

// New starts the fake with an empty repository Owner/Repo that Token may push to.
func New(t testing.TB) *Server {
	s := &Server{
		Owner: "falcosecurity", Repo: "drivers", Token: "ghtest-token",
		t: t, nextID: 1000, assetLimit: 1000, push: true,
		rename: SafeName, starters: map[string]bool{}, requests: map[string]int{},
	}
	s.API = httptest.NewServer(http.HandlerFunc(s.serveAPI))
	s.Uploads = httptest.NewServer(http.HandlerFunc(s.serveUploads))
	s.Storage = httptest.NewServer(http.HandlerFunc(s.serveStorage))
	t.Cleanup(func() {
		s.API.Close()
		s.Uploads.Close()
		s.Storage.Close()
	})
	return s
}

// SetAssetLimit lowers GitHub's 1000 assets per release, for fast tests.
func (s *Server) SetAssetLimit(n int) { s.lock(); s.assetLimit = n; s.mu.Unlock() }

// SetPush sets the token's push permission on the repository.
func (s *Server) SetPush(push bool) { s.lock(); s.push = push; s.mu.Unlock() }

// ExpectBadToken makes a wrong token an expected 401, not a test failure.
func (s *Server) ExpectBadToken() { s.lock(); s.badTokenOK = true; s.mu.Unlock() }

// SetRename replaces how uploaded names are renamed (default SafeName), to
// check that clients record the name GitHub returns.
func (s *Server) SetRename(f func(string) string) { s.lock(); s.rename = f; s.mu.Unlock() }

// FailNext answers the next n requests, on any host, with status: 403 and
// 429 carry the secondary-rate-limit message, retryAfter (if not "") goes in
// Retry-After, and status 0 drops the connection without an answer.
func (s *Server) FailNext(n, status int, retryAfter string) {
	s.lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{status: status, retryAfter: retryAfter})
	}
}

// FailNextPlain answers the next n requests, on any host, with status and
// GitHub's plain error body: a 403 so answered is a permission refused, not
// a rate limit.
func (s *Server) FailNextPlain(n, status int) {
	s.lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{status: status, plain: true})
	}
}

// LeaveStarter makes the next upload named name fail with 500 after leaving
// an asset in state "starter", as an interrupted upload does on GitHub.
func (s *Server) LeaveStarter(name string) { s.lock(); s.starters[name] = true; s.mu.Unlock() }

// Requests is how many requests a route got. Routes: "GET repo",
// "GET releases", "POST releases", "GET release", "GET release by tag",
// "PATCH release", "GET assets", "GET asset", "DELETE asset", "POST upload",
// "GET storage"; and "fault", "unauthorized" for the answers so given.
func (s *Server) Requests(route string) int { s.lock(); defer s.mu.Unlock(); return s.requests[route] }

// Releases returns the releases, oldest first.
func (s *Server) Releases() []Release {
	s.lock()
	defer s.mu.Unlock()
	out := make([]Release, len(s.releases))
	for i, r := range s.releases {
		out[i] = r.Release
	}
	return out
}

// Assets returns the assets of the release tagged tag, sorted by name.
func (s *Server) Assets(tag string) []Asset {
	s.lock()
	defer s.mu.Unlock()
	var out []Asset
	for _, r := range s.releases {
		if r.Tag == tag {
			for _, a := range r.assets {
				out = append(out, *a)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// AddRelease creates a release directly, for setting up a test.
func (s *Server) AddRelease(tag string, draft bool) Release {
	s.lock()
	defer s.mu.Unlock()
	r := &release{Release: Release{ID: s.id(), Tag: tag, Name: tag, Draft: draft}, created: time.Now()}
	if !draft {
		r.published = r.created
	}
	s.releases = append(s.releases, r)
	return r.Release
}

// AddAsset adds an asset named name (as is) to the release tagged tag.
func (s *Server) AddAsset(tag, name, label string, data []byte, state string) Asset {
	s.lock()
	defer s.mu.Unlock()
	r := s.byTag(tag, true)
	if r == nil {
		s.t.Fatalf("ghtest: AddAsset: no release %q", tag)
	}
	a := newAsset(s.id(), name, label, "application/octet-stream", state, data)
	r.assets = append(r.assets, a)
	return *a
}

// SafeName is GitHub's renaming of asset names: every character outside
// [A-Za-z0-9._-] becomes '.'.
func SafeName(name string) string {
	out := []rune(name)
	for i, c := range out {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			out[i] = '.'
		}
	}
	return string(out)
}

func newAsset(id int64, name, label, contentType, state string, data []byte) *Asset {
	sum := sha256.Sum256(data)
	return &Asset{
		ID: id, Name: name, Label: label, ContentType: contentType, State: state,
		Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), Data: data,
	}
}

func (s *Server) lock() { s.mu.Lock() }

func (s *Server) id() int64 { s.nextID++; return s.nextID }

// byTag finds a release by tag; drafts only when withDrafts (GitHub's "get
// release by tag" does not see drafts).
func (s *Server) byTag(tag string, withDrafts bool) *release {
	for _, r := range s.releases {
		if r.Tag == tag && (withDrafts || !r.Draft) {
			return r
		}
	}
	return nil
}

// releaseOr404 returns the release id, or answers 404 and returns nil; the
// caller holds s.mu.
func (s *Server) releaseOr404(w http.ResponseWriter, id int64) *release {
	rel := s.byID(id)
	if rel == nil {
		notFound(w)
	}
	return rel
}

func (s *Server) byID(id int64) *release {
	for _, r := range s.releases {
		if r.ID == id {
			return r
		}
	}
	return nil
}

func (s *Server) assetByID(id int64) (*release, int) {
	for _, r := range s.releases {
		for i, a := range r.assets {
			if a.ID == id {
				return r, i
			}
		}
	}
	return nil, -1
}
