package publisher

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/falcosecurity/dbg/config"
)

// PrefixIndex is what a target holds in one prefix, with verified digests.
type PrefixIndex struct {
	DriverVersion string   `json:"driver_version"`
	Arch          string   `json:"arch"`
	Artifacts     []Object `json:"artifacts"`
}

// SiteIndex is driver/index.json: every prefix of a target.
type SiteIndex struct {
	Generated time.Time     `json:"generated"`
	Target    string        `json:"target"`
	Prefixes  []PrefixIndex `json:"prefixes"`
	Total     int           `json:"total"`
	// Status counts the merged status.json entries of every prefix
	// (published: Total).
	Status StatusCounts `json:"status"`
}

// Index rewrites the target's indexes from what it actually holds: each
// prefix is listed with its digests (how: Digests or Verify), its
// SHA256SUMS is rewritten, and, where the target can hold them, a
// driver/index.json and driver/index.html list every artifact, and each
// prefix's status parts are merged into its status.json (MergeStatus). This is
// also what reconciles shards that published in parallel, and what adopts
// objects published without dbg: with Digests, the SHA256SUMS it writes is
// trusted afterwards for every object not written since, so only new
// objects cost a request of their own (S3: HeadObject, and GetObject when
// the object has no stored sha256).
func Index(ctx context.Context, t Target, how Listing) (*SiteIndex, error) {
	if how != Digests && how != Verify {
		return nil, fmt.Errorf("index %s: listing %s has no digests", t, how)
	}
	prefixes, err := t.Prefixes(ctx)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", t, err)
	}
	sort.Slice(prefixes, func(i, j int) bool { return prefixes[i].String() < prefixes[j].String() })
	site := &SiteIndex{Generated: time.Now().UTC(), Target: t.String()}
	status := map[Prefix][]KernelStatus{}
	for _, p := range prefixes {
		objs, err := t.List(ctx, p, how)
		if err != nil {
			return nil, fmt.Errorf("index %s: %w", t, err)
		}
		if err := t.WriteIndex(ctx, p, objs); err != nil {
			return nil, fmt.Errorf("index %s %s: %w", t, p, err)
		}
		ps, err := MergeStatus(ctx, t, p, objs)
		if err != nil {
			return nil, fmt.Errorf("index %s %s: %w", t, p, err)
		}
		if ps != nil {
			status[p] = ps.Kernels
			site.Status.Add(ps)
		}
		site.Prefixes = append(site.Prefixes, PrefixIndex{p.DriverVersion, p.Arch, objs})
		site.Total += len(objs)
	}
	site.Status.Published = site.Total
	if sw, ok := t.(SiteWriter); ok {
		if err := writeSite(ctx, sw, site, status); err != nil {
			return nil, fmt.Errorf("index %s: %w", t, err)
		}
	}
	return site, nil
}

// writeSite writes driver/index.json and driver/index.html; status is
// every prefix's merged status.json entries (the page may show them).
func writeSite(ctx context.Context, sw SiteWriter, site *SiteIndex, status map[Prefix][]KernelStatus) error {
	_ = status // the current page lists artifacts only
	data, err := json.MarshalIndent(site, "", "  ")
	if err != nil {
		return err
	}
	if err := sw.PutFile(ctx, "index.json", append(data, '\n'), "application/json"); err != nil {
		return err
	}
	var page bytes.Buffer
	if err := siteHTML.Execute(&page, site); err != nil {
		return err
	}
	return sw.PutFile(ctx, "index.html", page.Bytes(), "text/html; charset=utf-8")
}

// link is the path of a file relative to driver/index.html, with "+"
// escaped: S3 and some CDNs read a literal "+" in a URL path as a space.
func link(parts ...string) string {
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(url.PathEscape(p), "+", "%2B")
	}
	return strings.Join(parts, "/")
}

var siteHTML = template.Must(template.New("index").Funcs(template.FuncMap{"link": link, "sumsFile": func() string { return config.SumsFile }}).Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Falco drivers</title>
<style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:left}code{font-size:90%}</style></head>
<body><h1>Falco drivers</h1>
<p>{{.Total}} artifacts, generated {{.Generated.Format "2006-01-02 15:04 UTC"}}.</p>
{{range $p := .Prefixes}}<h2 id="{{.DriverVersion}}-{{.Arch}}">{{.DriverVersion}} / {{.Arch}}</h2>
<p><a href="{{link $p.DriverVersion $p.Arch sumsFile}}">{{sumsFile}}</a></p>
<table><tr><th>file</th><th>size</th><th>sha256</th></tr>
{{range .Artifacts}}<tr><td><a href="{{link $p.DriverVersion $p.Arch .File}}">{{.File}}</a></td><td>{{.Size}}</td><td><code>{{.SHA256}}</code></td></tr>
{{end}}</table>
{{end}}</body></html>
`))
