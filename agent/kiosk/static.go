package kiosk

import (
	"embed"
	"errors"
	"fmt"
	"net/http"

	"github.com/pscm/pscm/internal/assets"
	"github.com/pscm/pscm/internal/textclip"
)

// staticFiles is the page: HTML, one stylesheet and one script, no build
// step and nothing fetched from elsewhere, so a tablet needs only the agent.
//
//go:embed static
var staticFiles embed.FS

// pageFile is served at /kiosk/{id}/ rather than under /kiosk/static/, so the
// page's relative URLs (config, ping, press) name its own kiosk.
const pageFile = "index.html"

func loadAssets() (*assets.Bundle, error) {
	b, err := assets.Load(staticFiles, "static", pageFile)
	if err != nil {
		return nil, fmt.Errorf("kiosk: %w", err)
	}
	return b, nil
}

// servePage serves the page. no-cache, not max-age: the tablet revalidates
// on every load (a 304 while nothing changed), so an agent upgrade reaches
// every tablet on its next reload rather than when a cache expires.
func (h *handler) servePage(w http.ResponseWriter, r *http.Request, k *kioskState) {
	if err := h.assets.ServePage(w, r); errors.Is(err, assets.ErrMethod) {
		h.fail(w, r, k, http.StatusMethodNotAllowed, reasonMethod, r.Method+" is not allowed here; use GET")
	}
}

// serveStatic serves /kiosk/static/{name}, revalidated like the page.
func (h *handler) serveStatic(w http.ResponseWriter, r *http.Request, name string) {
	switch err := h.assets.ServeFile(w, r, name); {
	case errors.Is(err, assets.ErrNotFound):
		writeError(w, http.StatusNotFound, reasonNotFound, "no static file "+textclip.Quote(name, maxQuoted))
	case errors.Is(err, assets.ErrMethod):
		writeError(w, http.StatusMethodNotAllowed, reasonMethod, r.Method+" is not allowed here; use GET")
	}
}
