// Package web serves the managers' dashboard page: one HTML file, one script
// and one stylesheet, embedded in the binary, with nothing fetched from
// anywhere else and no build step.
//
// The page opens a websocket to the same origin and draws each JSON frame it
// receives; it holds no state the server does not send again. Frames:
//
//   - {"type":"snapshot", ...}: one site's full state (targets, stats per
//     period, the year's budget, counters, alerts). The latest replaces the
//     previous one; there are no deltas.
//   - {"type":"sites", "sites":[...]}: the province overview, shown at
//     /?view=sites.
//
// The websocket URL is /ws?site=<site> when the page's own URL names a site,
// /ws?view=sites for the overview, and plain /ws otherwise (the server then
// picks the user's site). A lost connection shows a banner and is retried
// after 1 s, doubling to at most 30 s.
//
// Colours of a KPI against a target of "more than T %": green above T+1,
// amber above T up to T+1 (meeting the target with less than a point to
// spare), red at or below T; grey while the period has no data.
//
// Other query parameters: tv=1 for the wall-TV mode (dark, large type, no
// controls, 1920x1080 without scrolling), lang=vi|en and period=today|month|
// half|year to start with a language or period other than the saved one.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"time"
)

// staticFiles is the page. index.html is served at /, the rest under
// /static/.
//
//go:embed static
var staticFiles embed.FS

const pageFile = "index.html"

// csp allows the page's own script, style and websocket and nothing else:
// no inline script or style, no framing, forms only to the dashboard itself
// (the logout button).
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"

// asset is one embedded file with its content type and ETag, so a browser
// revalidating its copy costs a 304.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// contentType names the only kinds of file static/ may hold; an explicit
// list rather than mime.TypeByExtension, whose answer depends on the host.
func contentType(ext string) (string, bool) {
	switch ext {
	case ".html":
		return "text/html; charset=utf-8", true
	case ".css":
		return "text/css; charset=utf-8", true
	case ".js":
		return "text/javascript; charset=utf-8", true
	}
	return "", false
}

func loadAssets(fsys fs.FS) (map[string]*asset, error) {
	as := map[string]*asset{}
	err := fs.WalkDir(fsys, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := contentType(path.Ext(p))
		if !ok {
			return fmt.Errorf("web: %s: no content type for %q files", p, path.Ext(p))
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		as[path.Base(p)] = &asset{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if as[pageFile] == nil {
		return nil, fmt.Errorf("web: static/%s is missing", pageFile)
	}
	return as, nil
}

// handler serves the assets; nothing in it changes after Handler returns.
type handler struct {
	assets map[string]*asset
}

// Handler serves GET / (the page) and /static/{name} (its script and
// stylesheet), with a strict Content-Security-Policy, nosniff and
// no-referrer on every answer. Everything is revalidated on each load
// (no-cache with an ETag), so a dashboard upgrade reaches an open wall TV on
// its next reload rather than when a cache expires. Any other path is 404.
func Handler() http.Handler {
	as, err := loadAssets(staticFiles)
	if err != nil {
		// The files are embedded at build time and checked by the tests:
		// a failure here is a broken build, not a runtime condition.
		panic(err)
	}
	return &handler{assets: as}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: with no-referrer Chromium sends
	// "Origin: null" on form posts, and the login's Origin check (rightly)
	// refuses those. Nothing leaves for other sites either way.
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Frame-Options", "DENY")

	var name string
	switch p := r.URL.Path; {
	case p == "/" || p == "/"+pageFile:
		name = pageFile
	case path.Dir(p) == "/static" && path.Base(p) != pageFile:
		name = path.Base(p)
	}
	// name is looked up in a map, never joined to a path, so ../ cannot
	// reach anything else.
	a := h.assets[name]
	if a == nil {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hd.Set("Cache-Control", "no-cache")
	hd.Set("Content-Type", a.contentType)
	hd.Set("ETag", a.etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}
