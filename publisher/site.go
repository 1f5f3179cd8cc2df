package publisher

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"

	"github.com/falcosecurity/dbg/config"
)

// The site files under driver/: index.json (every prefix with digests),
// one finder data file per prefix, and index.html, the driver finder.

// siteName is every name writeSite may give a file under driver/: the
// data files' names are made of config.AssetName's characters.
var siteName = regexp.MustCompile(`^(index\.json|index\.html|finder-[A-Za-z0-9._-]+\.js)$`)

// writeSite writes the site of a target: driver/index.json, a data file
// per prefix, then driver/index.html (last, so the page a reader gets
// finds its data). status holds each prefix's merged build statuses
// (nil: none known).
func writeSite(ctx context.Context, sw SiteWriter, site *SiteIndex, status map[Prefix][]KernelStatus) error {
	data, err := json.MarshalIndent(site, "", "  ")
	if err != nil {
		return fmt.Errorf("write index.json: %w", err)
	}
	if err := putSite(ctx, sw, "index.json", append(data, '\n'), "application/json"); err != nil {
		return err
	}
	page, files, err := buildFinder(site, status)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := putSite(ctx, sw, f.name, f.data, "text/javascript; charset=utf-8"); err != nil {
			return err
		}
	}
	var html bytes.Buffer
	if err := finderPage.Execute(&html, page); err != nil {
		return fmt.Errorf("write index.html: %w", err)
	}
	return putSite(ctx, sw, "index.html", html.Bytes(), "text/html; charset=utf-8")
}

func putSite(ctx context.Context, sw SiteWriter, name string, data []byte, contentType string) error {
	if !siteName.MatchString(name) {
		return fmt.Errorf("write site file %q: not an allowed name", name)
	}
	if err := sw.PutFile(ctx, name, data, contentType); err != nil {
		return fmt.Errorf("write %s: %w", config.RootKey(name), err)
	}
	return nil
}

// siteFile is one data file of the finder.
type siteFile struct {
	name string
	data []byte
}

// buildFinder makes the page's model and its data files.
func buildFinder(site *SiteIndex, status map[Prefix][]KernelStatus) (*sitePage, []siteFile, error) {
	prefixes, held := finderPrefixes(site.Prefixes, status)
	kernels := make([][]*finderKernel, len(prefixes))
	files := make([]siteFile, len(prefixes))
	page := &sitePage{Site: site, Prefixes: make([]pagePrefix, len(prefixes))}
	names := dataNames(prefixes)
	for i, p := range prefixes {
		st := status[Prefix{p.DriverVersion, p.Arch}]
		kernels[i] = prefixKernels(p, st)
		js, err := dataScript(newFinderData(p, kernels[i]))
		if err != nil {
			return nil, nil, fmt.Errorf("write the finder data of %s/%s: %w", p.DriverVersion, p.Arch, err)
		}
		files[i] = siteFile{names[i], js}
		page.Prefixes[i] = pagePrefix{DriverVersion: p.DriverVersion, Arch: p.Arch,
			Artifacts: len(p.Artifacts), Data: names[i], Held: held[Prefix{p.DriverVersion, p.Arch}], HasStatus: len(st) > 0}
	}
	page.Coverage = coverage(kernels)
	return page, files, nil
}

// finderPrefixes are the site's prefixes plus those only statuses name (a
// driver version whose every build failed holds no artifact, and its
// failures are what a user needs to see), sorted as Index sorts them;
// seen tells the site's own.
func finderPrefixes(held []PrefixIndex, status map[Prefix][]KernelStatus) (out []PrefixIndex, seen map[Prefix]bool) {
	seen = make(map[Prefix]bool, len(held))
	for _, p := range held {
		seen[Prefix{p.DriverVersion, p.Arch}] = true
	}
	out = append([]PrefixIndex(nil), held...)
	for p, st := range status {
		if !seen[p] && len(st) > 0 {
			out = append(out, PrefixIndex{DriverVersion: p.DriverVersion, Arch: p.Arch})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		return Prefix{out[i].DriverVersion, out[i].Arch}.String() < Prefix{out[j].DriverVersion, out[j].Arch}.String()
	})
	return out, seen
}

// dataScript is a data file: a script that hands the data to the page
// (a <script src> loads from file:// too, where fetch() cannot).
// encoding/json escapes <, > and & so no value can end the script.
func dataScript(d finderData) ([]byte, error) {
	data, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow(len(data) + 32)
	b.WriteString("dbgFinder.add(")
	b.Write(data)
	b.WriteString(");\n")
	return b.Bytes(), nil
}

// dataNames names each prefix's data file finder-<dv>_<arch>.js, with
// config.AssetName's characters only, and a -N suffix where two prefixes
// would share a name.
func dataNames(prefixes []PrefixIndex) []string {
	names := make([]string, len(prefixes))
	used := map[string]bool{}
	for i, p := range prefixes {
		base := "finder-" + config.AssetName(p.DriverVersion) + "_" + config.AssetName(p.Arch)
		name := base + ".js"
		for n := 2; used[name]; n++ {
			name = fmt.Sprintf("%s-%d.js", base, n)
		}
		used[name] = true
		names[i] = name
	}
	return names
}
