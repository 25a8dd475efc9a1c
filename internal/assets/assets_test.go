package assets

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func testBundle(t *testing.T) *Bundle {
	t.Helper()
	b, err := Load(fstest.MapFS{
		"static/index.html": {Data: []byte(`<!doctype html><script src="static/app.js"></script>`)},
		"static/app.js":     {Data: []byte("'use strict';")},
		"static/app.css":    {Data: []byte("body { margin: 0 }")},
		"other/secret.js":   {Data: []byte("not served")},
	}, "static", "index.html")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestServe(t *testing.T) {
	b := testBundle(t)
	tests := []struct {
		name        string
		serve       func(w http.ResponseWriter, r *http.Request) error
		contentType string
		body        string
	}{
		{"page", b.ServePage, "text/html; charset=utf-8", `<!doctype html>`},
		{"script", func(w http.ResponseWriter, r *http.Request) error { return b.ServeFile(w, r, "app.js") }, "text/javascript; charset=utf-8", "'use strict';"},
		{"stylesheet", func(w http.ResponseWriter, r *http.Request) error { return b.ServeFile(w, r, "app.css") }, "text/css; charset=utf-8", "body {"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			if err := tt.serve(w, httptest.NewRequest(http.MethodGet, "/", nil)); err != nil {
				t.Fatal(err)
			}
			h := w.Header()
			if w.Code != http.StatusOK || !strings.HasPrefix(w.Body.String(), tt.body) {
				t.Fatalf("status %d, body %q", w.Code, w.Body)
			}
			if h.Get("Content-Type") != tt.contentType || h.Get("Cache-Control") != "no-cache" ||
				h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Last-Modified") != "" {
				t.Errorf("headers %v", h)
			}
			etag := h.Get("ETag")
			if len(etag) != 26 || etag[0] != '"' || etag[25] != '"' {
				t.Errorf("ETag %q: want 24 quoted hex digits", etag)
			}

			// A browser revalidating its copy gets a 304.
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("If-None-Match", etag)
			w = httptest.NewRecorder()
			if err := tt.serve(w, r); err != nil || w.Code != http.StatusNotModified || w.Body.Len() != 0 {
				t.Errorf("revalidation: %v, status %d, %d bytes", err, w.Code, w.Body.Len())
			}

			// HEAD: the headers, no body.
			w = httptest.NewRecorder()
			if err := tt.serve(w, httptest.NewRequest(http.MethodHead, "/", nil)); err != nil || w.Code != http.StatusOK ||
				w.Body.Len() != 0 || w.Header().Get("Content-Type") != tt.contentType {
				t.Errorf("HEAD: %v, status %d, %d bytes, Content-Type %q", err, w.Code, w.Body.Len(), w.Header().Get("Content-Type"))
			}

			// Any other method is the caller's 405, with Allow set.
			for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions} {
				w = httptest.NewRecorder()
				if err := tt.serve(w, httptest.NewRequest(m, "/", nil)); !errors.Is(err, ErrMethod) {
					t.Errorf("%s: %v, want ErrMethod", m, err)
				}
				if w.Header().Get("Allow") != "GET, HEAD" || w.Header().Get("Content-Type") != "" || w.Body.Len() != 0 {
					t.Errorf("%s: wrote %v %q", m, w.Header(), w.Body)
				}
			}
		})
	}
}

func TestServeFileRefuses(t *testing.T) {
	b := testBundle(t)
	for _, name := range []string{"", "index.html", "missing.js", "../app.js", "static/app.js", "app.js/", ".", "secret.js", "other/secret.js"} {
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			w := httptest.NewRecorder()
			if err := b.ServeFile(w, httptest.NewRequest(m, "/", nil), name); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s %q: %v, want ErrNotFound", m, name, err)
			}
			if len(w.Header()) != 0 || w.Body.Len() != 0 {
				t.Errorf("%s %q: wrote %v %q", m, name, w.Header(), w.Body)
			}
		}
	}
}

func TestRange(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Range", "bytes=0-5")
	w := httptest.NewRecorder()
	if err := testBundle(t).ServeFile(w, r, "app.js"); err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusPartialContent || w.Body.String() != "'use s" {
		t.Fatalf("status %d, body %q", w.Code, w.Body)
	}
}

func TestNamesAndETags(t *testing.T) {
	b := testBundle(t)
	if got, want := b.Names(), []string{"app.css", "app.js", "index.html"}; !slices.Equal(got, want) {
		t.Fatalf("names %v, want %v", got, want)
	}
	if b.File("nope") != nil || b.File("index.html") == nil {
		t.Fatal("File lookup")
	}
	same, other := NewFile([]byte("'use strict';"), "text/javascript; charset=utf-8"), NewFile([]byte("x"), "text/plain")
	if same.ETag() != b.File("app.js").ETag() || other.ETag() == same.ETag() {
		t.Fatalf("ETags %s %s %s: want one per content", same.ETag(), b.File("app.js").ETag(), other.ETag())
	}
}

// TestFileServe is the kiosk's officer photo: a file of any type outside a
// bundle, with the caller's Cache-Control.
func TestFileServe(t *testing.T) {
	f := NewFile([]byte("\x89PNG\r\n\x1a\nrest"), "image/png")
	w := httptest.NewRecorder()
	w.Header().Set("Cache-Control", "no-store")
	f.Serve(w, httptest.NewRequest(http.MethodGet, "/", nil))
	h := w.Header()
	if w.Code != http.StatusOK || h.Get("Content-Type") != "image/png" || h.Get("Cache-Control") != "no-store" ||
		h.Get("ETag") != f.ETag() || w.Body.Len() != 12 {
		t.Fatalf("status %d, headers %v, %d bytes", w.Code, h, w.Body.Len())
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		fs   fstest.MapFS
		want string
	}{
		{"no page", fstest.MapFS{"static/a.js": {Data: []byte("x")}}, "static/index.html is missing"},
		{"unknown type", fstest.MapFS{"static/index.html": {Data: []byte("x")}, "static/logo.svg": {Data: []byte("x")}}, `no content type for ".svg" files`},
		{"no extension", fstest.MapFS{"static/index.html": {Data: []byte("x")}, "static/README": {Data: []byte("x")}}, `no content type for "" files`},
		{"subfolder", fstest.MapFS{"static/index.html": {Data: []byte("x")}, "static/js/a.js": {Data: []byte("x")}}, "static/js is a folder"},
		{"no folder", fstest.MapFS{}, "static"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.fs, "static", "index.html")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
}
