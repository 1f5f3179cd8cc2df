package ghtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// serveAPI routes /api/v3/repos/{owner}/{repo}/...
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) || s.fault(w, r) {
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/api/v3/repos/")
	if !ok {
		s.unexpected(w, r)
		return
	}
	seg := strings.Split(strings.Trim(path, "/"), "/")
	if len(seg) < 2 {
		s.unexpected(w, r)
		return
	}
	if seg[0] != s.Owner || seg[1] != s.Repo {
		if len(seg) == 2 && r.Method == http.MethodGet {
			s.count("GET repo")
			notFound(w)
			return
		}
		s.unexpected(w, r)
		return
	}
	seg = seg[2:]
	switch {
	case len(seg) == 0 && r.Method == http.MethodGet:
		s.getRepo(w)
	case len(seg) == 1 && seg[0] == "releases" && r.Method == http.MethodGet:
		s.listReleases(w, r)
	case len(seg) == 1 && seg[0] == "releases" && r.Method == http.MethodPost:
		s.createRelease(w, r)
	case len(seg) == 3 && seg[0] == "releases" && seg[1] == "tags" && r.Method == http.MethodGet:
		s.getReleaseByTag(w, seg[2])
	case len(seg) == 3 && seg[0] == "releases" && seg[1] == "assets" && isID(seg[2]):
		s.asset(w, r, atoi(seg[2]))
	case len(seg) == 2 && seg[0] == "releases" && isID(seg[1]):
		s.release(w, r, atoi(seg[1]))
	case len(seg) == 3 && seg[0] == "releases" && isID(seg[1]) && seg[2] == "assets" && r.Method == http.MethodGet:
		s.listAssets(w, r, atoi(seg[1]))
	default:
		s.unexpected(w, r)
	}
}

// authorized checks the Bearer token; a wrong one fails the test unless
// ExpectBadToken was called.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") == "Bearer "+s.Token {
		return true
	}
	s.lock()
	ok := s.badTokenOK
	s.requests["unauthorized"]++
	s.mu.Unlock()
	if !ok {
		s.t.Errorf("ghtest: %s %s without the right token", r.Method, r.URL.Path)
	}
	apiError(w, http.StatusUnauthorized, "Bad credentials")
	return false
}

// fault serves the next injected failure, if any.
func (s *Server) fault(w http.ResponseWriter, r *http.Request) bool {
	s.lock()
	if len(s.faults) == 0 {
		s.mu.Unlock()
		return false
	}
	f := s.faults[0]
	s.faults = s.faults[1:]
	s.requests["fault"]++
	s.mu.Unlock()
	if f.status == 0 {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			s.t.Errorf("ghtest: hijack: %v", err)
			return true
		}
		conn.Close()
		return true
	}
	if f.retryAfter != "" {
		w.Header().Set("Retry-After", f.retryAfter)
	}
	switch {
	case f.plain:
		apiError(w, f.status, "Resource not accessible by integration")
	case f.status == http.StatusForbidden, f.status == http.StatusTooManyRequests:
		writeJSON(w, f.status, map[string]string{
			"message":           "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
		})
	default:
		apiError(w, f.status, http.StatusText(f.status))
	}
	return true
}

func (s *Server) unexpected(w http.ResponseWriter, r *http.Request) {
	s.t.Errorf("ghtest: unexpected request %s %s", r.Method, r.URL)
	notFound(w)
}

func (s *Server) count(route string) { s.lock(); s.requests[route]++; s.mu.Unlock() }

func (s *Server) getRepo(w http.ResponseWriter) {
	s.count("GET repo")
	s.lock()
	push := s.push
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"id": 1, "name": s.Repo, "full_name": s.Owner + "/" + s.Repo,
		"owner":          map[string]string{"login": s.Owner},
		"default_branch": "main",
		"permissions":    map[string]bool{"admin": false, "push": push, "pull": true},
	})
}

// paginate returns the page of items asked for by per_page (default 30, at
// most 100) and page, and sets the Link header the way GitHub does.
func paginate[T any](w http.ResponseWriter, r *http.Request, items []T) []T {
	q := r.URL.Query()
	per := 30
	if v := q.Get("per_page"); v != "" {
		per = min(max(int(atoi(v)), 1), 100)
	}
	page := max(int(atoi(q.Get("page"))), 1)
	last := max((len(items)+per-1)/per, 1)
	link := func(n int, rel string) string {
		q.Set("page", strconv.Itoa(n))
		q.Set("per_page", strconv.Itoa(per))
		return fmt.Sprintf(`<http://%s%s?%s>; rel="%s"`, r.Host, r.URL.Path, q.Encode(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	start := min((page-1)*per, len(items))
	return items[start:min(start+per, len(items))]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError answers GitHub's error shape; errs are {resource, code, field}.
func apiError(w http.ResponseWriter, status int, message string, errs ...map[string]string) {
	body := map[string]any{"message": message, "documentation_url": "https://docs.github.com/rest"}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	writeJSON(w, status, body)
}

// notFound answers 404 Not Found, as GitHub does for what does not exist.
func notFound(w http.ResponseWriter) { apiError(w, http.StatusNotFound, "Not Found") }

// validationFailed answers 422 Validation Failed about one field of a
// resource; code says what is wrong (missing_field, already_exists, ...).
func validationFailed(w http.ResponseWriter, resource, code, field string) {
	apiError(w, http.StatusUnprocessableEntity, "Validation Failed",
		map[string]string{"resource": resource, "code": code, "field": field})
}

func isID(s string) bool { _, err := strconv.ParseInt(s, 10, 64); return err == nil }

func atoi(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
