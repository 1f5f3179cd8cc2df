package ghtest

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

func (s *Server) listAssets(w http.ResponseWriter, r *http.Request, id int64) {
	s.count("GET assets")
	s.lock()
	defer s.mu.Unlock()
	rel := s.releaseOr404(w, id)
	if rel == nil {
		return
	}
	page := paginate(w, r, rel.assets)
	out := make([]map[string]any, len(page))
	for i, a := range page {
		out[i] = s.assetJSON(rel, a)
	}
	writeJSON(w, http.StatusOK, out)
}

// asset serves GET (metadata, or with Accept: application/octet-stream a
// redirect to the storage host) and DELETE /releases/assets/{id}.
func (s *Server) asset(w http.ResponseWriter, r *http.Request, id int64) {
	s.lock()
	defer s.mu.Unlock()
	rel, i := s.assetByID(id)
	switch r.Method {
	case http.MethodGet:
		s.requests["GET asset"]++
	case http.MethodDelete:
		s.requests["DELETE asset"]++
	default:
		s.unexpected(w, r)
		return
	}
	if rel == nil {
		notFound(w)
		return
	}
	switch {
	case r.Method == http.MethodDelete:
		rel.assets = append(rel.assets[:i:i], rel.assets[i+1:]...)
		w.WriteHeader(http.StatusNoContent)
	case r.Header.Get("Accept") == "application/octet-stream":
		http.Redirect(w, r, fmt.Sprintf("%s/assets/%d?sig=signed", s.Storage.URL, id), http.StatusFound)
	default:
		writeJSON(w, http.StatusOK, s.assetJSON(rel, rel.assets[i]))
	}
}

// serveUploads is POST /api/uploads/repos/{o}/{r}/releases/{id}/assets?name=&label=.
func (s *Server) serveUploads(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) || s.fault(w, r) {
		return
	}
	prefix := fmt.Sprintf("/api/uploads/repos/%s/%s/releases/", s.Owner, s.Repo)
	id, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, prefix), "/assets")
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, prefix) || !ok || !isID(id) {
		s.unexpected(w, r)
		return
	}
	s.count("POST upload")
	name, label := r.URL.Query().Get("name"), r.URL.Query().Get("label")
	contentType := r.Header.Get("Content-Type")
	data, err := io.ReadAll(r.Body)
	switch {
	case err != nil:
		return // the client went away
	case name == "":
		s.t.Errorf("ghtest: upload without a name: %s", r.URL)
		validationFailed(w, "ReleaseAsset", "missing_field", "name")
		return
	case contentType == "":
		s.t.Errorf("ghtest: upload of %s without Content-Type", name)
		apiError(w, http.StatusBadRequest, "Content-Type header is required")
		return
	case r.ContentLength != int64(len(data)):
		s.t.Errorf("ghtest: upload of %s: Content-Length %d, body %d bytes", name, r.ContentLength, len(data))
	}
	s.upload(w, atoi(id), name, label, contentType, data)
}

func (s *Server) upload(w http.ResponseWriter, id int64, name, label, contentType string, data []byte) {
	s.lock()
	defer s.mu.Unlock()
	rel := s.releaseOr404(w, id)
	if rel == nil {
		return
	}
	renamed := s.rename(name)
	for _, a := range rel.assets {
		if a.Name == renamed {
			validationFailed(w, "ReleaseAsset", "already_exists", "name")
			return
		}
	}
	if len(rel.assets) >= s.assetLimit {
		validationFailed(w, "ReleaseAsset", "file_count", "assets")
		return
	}
	if s.starters[name] || s.starters[renamed] {
		delete(s.starters, name)
		delete(s.starters, renamed)
		rel.assets = append(rel.assets, newAsset(s.id(), renamed, label, contentType, "starter", nil))
		apiError(w, http.StatusInternalServerError, "Server Error")
		return
	}
	a := newAsset(s.id(), renamed, label, contentType, "uploaded", data)
	rel.assets = append(rel.assets, a)
	writeJSON(w, http.StatusCreated, s.assetJSON(rel, a))
}

// serveStorage serves asset bytes at /assets/{id}; a token sent here leaks.
func (s *Server) serveStorage(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" {
		s.t.Errorf("ghtest: %s %s: Authorization sent to the storage host", r.Method, r.URL.Path)
	}
	if s.fault(w, r) {
		return
	}
	id, ok := strings.CutPrefix(r.URL.Path, "/assets/")
	if r.Method != http.MethodGet || !ok || !isID(id) {
		s.unexpected(w, r)
		return
	}
	s.count("GET storage")
	s.lock()
	rel, i := s.assetByID(atoi(id))
	var data []byte
	found := rel != nil && rel.assets[i].State == "uploaded"
	if found {
		data = rel.assets[i].Data
	}
	s.mu.Unlock()
	if !found {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(data)
}

// assetJSON renders an asset as GitHub does; the caller holds s.mu.
func (s *Server) assetJSON(rel *release, a *Asset) map[string]any {
	tag := rel.Tag
	if rel.Draft {
		tag = fmt.Sprintf("untagged-%d", rel.ID)
	}
	return map[string]any{
		"id": a.ID, "name": a.Name, "label": a.Label, "state": a.State,
		"content_type": a.ContentType, "size": a.Size, "download_count": 0,
		"url":                  fmt.Sprintf("%s/api/v3/repos/%s/%s/releases/assets/%d", s.API.URL, s.Owner, s.Repo, a.ID),
		"browser_download_url": fmt.Sprintf("%s/%s/%s/releases/download/%s/%s", s.API.URL, s.Owner, s.Repo, tag, a.Name),
		"created_at":           time.Now().UTC().Format(time.RFC3339),
	}
}
