package ghtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// releaseBody is what create and update accept; anything else fails the test.
type releaseBody struct {
	TagName                *string `json:"tag_name"`
	TargetCommitish        *string `json:"target_commitish"`
	Name                   *string `json:"name"`
	Body                   *string `json:"body"`
	Draft                  *bool   `json:"draft"`
	Prerelease             *bool   `json:"prerelease"`
	MakeLatest             *string `json:"make_latest"`
	GenerateReleaseNotes   *bool   `json:"generate_release_notes"`
	DiscussionCategoryName *string `json:"discussion_category_name"`
}

func (s *Server) listReleases(w http.ResponseWriter, r *http.Request) {
	s.count("GET releases")
	s.lock()
	defer s.mu.Unlock()
	all := slices.Clone(s.releases)
	slices.Reverse(all) // newest first, as GitHub lists them
	page := paginate(w, r, all)
	out := make([]map[string]any, len(page))
	for i, rel := range page {
		out[i] = s.releaseJSON(rel)
	}
	writeJSON(w, http.StatusOK, out)
}

// createRelease refuses a tag any release already has. GitHub lets drafts
// share a tag; the fake is stricter because a second draft is a client bug.
func (s *Server) createRelease(w http.ResponseWriter, r *http.Request) {
	s.count("POST releases")
	var b releaseBody
	if !s.decode(w, r, &b) {
		return
	}
	if b.TagName == nil || *b.TagName == "" {
		validationFailed(w, "Release", "missing_field", "tag_name")
		return
	}
	s.lock()
	defer s.mu.Unlock()
	if s.byTag(*b.TagName, true) != nil {
		validationFailed(w, "Release", "already_exists", "tag_name")
		return
	}
	rel := &release{Release: Release{ID: s.id(), Tag: *b.TagName}, created: time.Now()}
	apply(rel, b)
	s.releases = append(s.releases, rel)
	writeJSON(w, http.StatusCreated, s.releaseJSON(rel))
}

func (s *Server) getReleaseByTag(w http.ResponseWriter, tag string) {
	s.count("GET release by tag")
	s.lock()
	defer s.mu.Unlock()
	if rel := s.byTag(tag, false); rel != nil {
		writeJSON(w, http.StatusOK, s.releaseJSON(rel))
		return
	}
	notFound(w)
}

// release serves GET and PATCH /releases/{id}.
func (s *Server) release(w http.ResponseWriter, r *http.Request, id int64) {
	var b releaseBody
	switch r.Method {
	case http.MethodGet:
		s.count("GET release")
	case http.MethodPatch:
		s.count("PATCH release")
		if !s.decode(w, r, &b) {
			return
		}
	default:
		s.unexpected(w, r)
		return
	}
	s.lock()
	defer s.mu.Unlock()
	rel := s.releaseOr404(w, id)
	if rel == nil {
		return
	}
	if b.TagName != nil && *b.TagName != rel.Tag && s.byTag(*b.TagName, true) != nil {
		validationFailed(w, "Release", "already_exists", "tag_name")
		return
	}
	apply(rel, b)
	writeJSON(w, http.StatusOK, s.releaseJSON(rel))
}

func apply(rel *release, b releaseBody) {
	if b.TagName != nil {
		rel.Tag = *b.TagName
	}
	if b.Name != nil {
		rel.Name = *b.Name
	}
	if b.TargetCommitish != nil {
		rel.Commitish = *b.TargetCommitish
	}
	if b.Draft != nil {
		rel.Draft = *b.Draft
	}
	if !rel.Draft && rel.published.IsZero() {
		rel.published = time.Now()
	}
}

func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	d := json.NewDecoder(r.Body)
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		s.t.Errorf("ghtest: %s %s: body: %v", r.Method, r.URL.Path, err)
		apiError(w, http.StatusBadRequest, "Problems parsing JSON")
		return false
	}
	return true
}

// releaseJSON renders a release as GitHub does; the caller holds s.mu.
func (s *Server) releaseJSON(rel *release) map[string]any {
	api := fmt.Sprintf("%s/api/v3/repos/%s/%s/releases/%d", s.API.URL, s.Owner, s.Repo, rel.ID)
	m := map[string]any{
		"id": rel.ID, "tag_name": rel.Tag, "name": rel.Name, "draft": rel.Draft,
		"prerelease": false, "target_commitish": rel.Commitish,
		"url": api, "assets_url": api + "/assets",
		"html_url":   fmt.Sprintf("%s/%s/%s/releases/tag/%s", s.API.URL, s.Owner, s.Repo, rel.Tag),
		"upload_url": fmt.Sprintf("%s/api/uploads/repos/%s/%s/releases/%d/assets{?name,label}", s.Uploads.URL, s.Owner, s.Repo, rel.ID),
		"created_at": rel.created.UTC().Format(time.RFC3339), "published_at": nil,
	}
	if !rel.published.IsZero() {
		m["published_at"] = rel.published.UTC().Format(time.RFC3339)
	}
	return m
}
