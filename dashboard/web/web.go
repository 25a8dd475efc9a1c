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
// The period tabs (today, week, month, the reporting half-year and year)
// show each its dates from the snapshot's bounds. The date-range picker
// asks GET /api/range?site=<site>&range=<first>..<last> for a chosen range's
// figures (board.RangeJSON) and shows them on the cards, marked as a custom
// range and not updated live, until a tab or "back" is pressed.
//
// Other query parameters: tv=1 for the wall-TV mode (dark, large type, no
// controls, 1920x1080 without scrolling), lang=vi|en and period=today|week|
// month|half|year to start with a language or period other than the saved
// one.
package web

import (
	"embed"
	"errors"
	"net/http"
	"path"

	"github.com/pscm/pscm/internal/assets"
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

// handler serves the page and its files; nothing in it changes after
// Handler returns.
type handler struct {
	files *assets.Bundle
}

// Handler serves GET / (the page) and /static/{name} (its script and
// stylesheet), with a strict Content-Security-Policy, nosniff and
// same-origin referrers on every answer. Everything is revalidated on each
// load (no-cache with an ETag), so a dashboard upgrade reaches an open wall
// TV on its next reload rather than when a cache expires. Any other path is
// 404.
func Handler() http.Handler {
	files, err := assets.Load(staticFiles, "static", pageFile)
	if err != nil {
		// The files are embedded at build time and checked by the tests:
		// a failure here is a broken build, not a runtime condition.
		panic(err)
	}
	return &handler{files: files}
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

	err := assets.ErrNotFound
	switch p := r.URL.Path; {
	case p == "/" || p == "/"+pageFile:
		err = h.files.ServePage(w, r)
	case path.Dir(p) == "/static":
		err = h.files.ServeFile(w, r, path.Base(p))
	}
	switch {
	case errors.Is(err, assets.ErrNotFound):
		http.Error(w, "404 page not found", http.StatusNotFound)
	case errors.Is(err, assets.ErrMethod):
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}
