package publisher

import (
	"strings"
	"sync"

	"github.com/google/go-github/v56/github"

	"github.com/falcosecurity/dbg/config"
	"github.com/falcosecurity/dbg/grid"
)

// ghPrefixState is what the target knows of one prefix's releases. Its mutex
// serialises placement, release creation and index writing for the prefix;
// uploads run outside it.
type ghPrefixState struct {
	mu       sync.Mutex
	loaded   bool
	releases []*ghRelease // by number
	planned  map[string]*ghSlot
}

// ghRelease is one release of a prefix.
type ghRelease struct {
	num     int
	id      int64
	tag     string
	draft   bool
	assets  []*ghAsset
	pending map[string]string // asset name -> file, for uploads in flight
}

// ghAsset is one release asset.
type ghAsset struct {
	id          int64
	name, label string
	state       string // "uploaded" once complete
	size        int64
	browserURL  string
}

func newGHAsset(a *github.ReleaseAsset) *ghAsset {
	return &ghAsset{
		id: a.GetID(), name: a.GetName(), label: a.GetLabel(), state: a.GetState(),
		size: int64(a.GetSize()), browserURL: a.GetBrowserDownloadURL(),
	}
}

// file is the falcoctl file name of the asset: its label, else its name.
func (a *ghAsset) file() string {
	if a.label != "" {
		return a.label
	}
	return a.name
}

func (a *ghAsset) complete() bool { return a.state == "uploaded" }

// meta tells the release's own files (SHA256SUMS, index.json, the
// provenance, signature bundles) from artifacts.
func (a *ghAsset) meta() bool {
	return a.name == config.SumsFile || a.name == ghIndexAsset || a.name == grid.ProvenanceFile || strings.HasSuffix(a.name, BundleSuffix)
}

// find returns the complete asset of file, or nil.
func (r *ghRelease) find(file string) *ghAsset {
	for _, a := range r.assets {
		if a.complete() && !a.meta() && a.file() == file {
			return a
		}
	}
	return nil
}

// named returns the asset called name, or nil.
func (r *ghRelease) named(name string) *ghAsset {
	for _, a := range r.assets {
		if a.name == name {
			return a
		}
	}
	return nil
}

// assetsOf returns every asset of file, complete or left by a failed upload.
func (r *ghRelease) assetsOf(file string) []*ghAsset {
	var out []*ghAsset
	for _, a := range r.assets {
		if !a.meta() && a.file() == file {
			out = append(out, a)
		}
	}
	return out
}

// incomplete returns the assets failed uploads of file left.
func (r *ghRelease) incomplete(file string) []*ghAsset {
	var out []*ghAsset
	for _, a := range r.assetsOf(file) {
		if !a.complete() {
			out = append(out, a)
		}
	}
	return out
}

// used is how many artifact slots are taken, uploads in flight included.
func (r *ghRelease) used() int {
	n := len(r.pending)
	for _, a := range r.assets {
		if !a.meta() {
			n++
		}
	}
	return n
}

// nameFor picks file's asset name in r: its safe name, or the alternative
// when another file has it.
func (r *ghRelease) nameFor(file string) (string, bool) {
	for _, name := range []string{config.AssetName(file), ghAltName(file)} {
		if _, busy := r.pending[name]; !busy && r.named(name) == nil {
			return name, true
		}
	}
	return "", false
}

// put records a, replacing what was known of it.
func (r *ghRelease) put(a *ghAsset) {
	r.remove(a.id)
	r.assets = append(r.assets, a)
}

func (r *ghRelease) remove(id int64) {
	for i, a := range r.assets {
		if a.id == id {
			r.assets = append(r.assets[:i:i], r.assets[i+1:]...)
			return
		}
	}
}

// find returns the release and complete asset of file, lowest release first.
func (st *ghPrefixState) find(file string) (*ghRelease, *ghAsset) {
	for _, r := range st.releases {
		if a := r.find(file); a != nil {
			return r, a
		}
	}
	return nil, nil
}
