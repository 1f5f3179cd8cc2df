package ghtest

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that keeps what the fake reports.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) reported(t *testing.T, want string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.errs {
		if strings.Contains(e, want) {
			r.errs = nil
			return
		}
	}
	t.Errorf("the fake did not report %q (reported %q)", want, r.errs)
}

func TestGitHubFakeFailsOnUnexpected(t *testing.T) {
	rec := &recorder{TB: t}
	s := New(rec)
	get := func(url, token string) int {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	repo := s.API.URL + "/api/v3/repos/" + s.Owner + "/" + s.Repo
	if code := get(repo+"/pulls", s.Token); code != http.StatusNotFound {
		t.Errorf("unknown route: %d", code)
	}
	rec.reported(t, "unexpected request GET")
	if code := get(repo, "wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", code)
	}
	rec.reported(t, "without the right token")
	s.AddRelease("v1", false)
	a := s.AddAsset("v1", "a.ko", "a.ko", []byte("a"), "uploaded")
	if code := get(fmt.Sprintf("%s/assets/%d", s.Storage.URL, a.ID), s.Token); code != http.StatusOK {
		t.Errorf("storage: %d", code)
	}
	rec.reported(t, "Authorization sent to the storage host")
	if code := get(repo, s.Token); code != http.StatusOK {
		t.Errorf("repository: %d", code)
	}
	if len(rec.errs) > 0 {
		t.Errorf("expected request reported: %q", rec.errs)
	}
}

func TestGitHubFakeReleases(t *testing.T) {
	s := New(t)
	s.AddRelease("draft", true)
	s.AddRelease("published", false)
	get := func(path string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.API.URL+"/api/v3/repos/"+s.Owner+"/"+s.Repo+path, nil)
		req.Header.Set("Authorization", "Bearer "+s.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Link")
	}
	if code, _ := get("/releases/tags/draft"); code != http.StatusNotFound {
		t.Errorf("draft by tag: %d, want 404 (GitHub hides drafts)", code)
	}
	if code, _ := get("/releases/tags/published"); code != http.StatusOK {
		t.Errorf("published by tag: %d", code)
	}
	if _, link := get("/releases?per_page=1"); !strings.Contains(link, `page=2&per_page=1>; rel="next"`) {
		t.Errorf("Link: %s", link)
	}
	if _, link := get("/releases?per_page=1&page=2"); strings.Contains(link, `rel="next"`) || !strings.Contains(link, `rel="prev"`) {
		t.Errorf("Link of the last page: %s", link)
	}
	if got := SafeName("falco_a b~c:(d)+é.ko"); got != "falco_a.b.c..d....ko" {
		t.Errorf("SafeName: %s", got)
	}
}
