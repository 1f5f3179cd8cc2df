package publisher

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"html/template"
	"net/url"
	"strconv"
	"strings"

	"github.com/falcosecurity/dbg/config"
)

// sitePage is what driver/index.html is made of: the static part (the
// prefixes with their SHA256SUMS, the coverage) works without JavaScript;
// the inline script adds the search over the data files.
type sitePage struct {
	Site     *SiteIndex
	Prefixes []pagePrefix
	Coverage []coverageRow
}

// pagePrefix is one prefix on the page.
type pagePrefix struct {
	DriverVersion, Arch string
	Artifacts           int
	Data                string // the data file's name, beside index.html
	Held                bool   // the target lists the prefix (it has a SHA256SUMS)
	HasStatus           bool   // the prefix has a status.json
}

var (
	//go:embed site/index.html.tmpl
	pageTemplate string
	//go:embed site/finder.js
	pageScript string
	//go:embed site/finder.css
	pageStyle string
)

// pageDone is the inline script after the data files.
const pageDone = "dbgFinder.done();"

// pagePolicy is the page's Content-Security-Policy: its own inline script
// and style (by hash) and scripts beside it, nothing else; no value from
// the data can add script even if one reached the page as HTML.
var pagePolicy = "default-src 'none'; script-src 'self' " + cspHash(pageScript) + " " + cspHash(pageDone) +
	"; style-src " + cspHash(pageStyle) + "; img-src 'self'; base-uri 'none'; form-action 'self'"

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

var finderPage = template.Must(template.New("index.html").Funcs(template.FuncMap{
	"link":       link,
	"sumsFile":   func() string { return config.SumsFile },
	"statusFile": func() string { return StatusFile },
	"script":     func() template.JS { return template.JS(pageScript) },
	"done":       func() template.JS { return template.JS(pageDone) },
	"style":      func() template.CSS { return template.CSS(pageStyle) },
	"policy":     func() string { return pagePolicy },
	"count":      func(n int) string { return thousands(n) },
}).Parse(pageTemplate))

// thousands writes n with comma separators: 20104 is 20,104.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// link is the path of a file relative to driver/index.html, with "+"
// escaped: S3 and some CDNs read a literal "+" in a URL path as a space.
func link(parts ...string) string {
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(url.PathEscape(p), "+", "%2B")
	}
	return strings.Join(parts, "/")
}
