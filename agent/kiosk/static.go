package kiosk

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"time"
)

// staticFiles is the page: HTML, one stylesheet and one script, no build
// step and nothing fetched from elsewhere, so a tablet needs only the agent.
//
//go:embed static
var staticFiles embed.FS

// pageFile is served at /kiosk/{id}/ rather than under /kiosk/static/, so the
// page's relative URLs (config, ping, press) name its own kiosk.
const pageFile = "index.html"

// asset is one file served from memory, with an ETag so that a tablet
// revalidating its cached copy costs a 304.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

func newAsset(body []byte, contentType string) *asset {
	sum := sha256.Sum256(body)
	return &asset{body: body, contentType: contentType, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
}

// serve writes a, answering conditional requests. The caller sets
// Cache-Control.
func (a *asset) serve(w http.ResponseWriter, r *http.Request, name string) {
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("ETag", a.etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}

// assets maps a file name in static/ to its content.
type assets map[string]*asset

func (as assets) names() []string {
	names := make([]string, 0, len(as))
	for n := range as {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// contentType names the only kinds of file static/ may hold; an explicit
// list rather than mime.TypeByExtension, whose answer depends on the host's
// /etc/mime.types.
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

func loadAssets() (assets, error) {
	as := assets{}
	err := fs.WalkDir(staticFiles, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := contentType(path.Ext(p))
		if !ok {
			return fmt.Errorf("kiosk: %s: no content type for %q files", p, path.Ext(p))
		}
		b, err := staticFiles.ReadFile(p)
		if err != nil {
			return err
		}
		as[path.Base(p)] = newAsset(b, ct)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if as[pageFile] == nil {
		return nil, fmt.Errorf("kiosk: static/%s is missing", pageFile)
	}
	return as, nil
}

// servePage serves the page. no-cache, not max-age: the tablet revalidates
// on every load (a 304 while nothing changed), so an agent upgrade reaches
// every tablet on its next reload rather than when a cache expires.
func (h *handler) servePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	h.assets[pageFile].serve(w, r, pageFile)
}

// serveStatic serves /kiosk/static/{name}. name is looked up in a map, never
// joined to a path, so ../ cannot reach anything else.
func (h *handler) serveStatic(w http.ResponseWriter, r *http.Request, name string) {
	a := h.assets[name]
	if a == nil || name == pageFile {
		writeError(w, http.StatusNotFound, reasonNotFound, "no static file "+short(name))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, reasonMethod, r.Method+" is not allowed here; use GET")
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	a.serve(w, r, name)
}
