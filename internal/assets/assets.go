// Package assets serves a program's web page and the files it loads (one
// stylesheet, one script) from memory: the kiosk page of the agent and the
// managers' dashboard. Each program embeds its own folder with //go:embed
// beside its server and hands it to Load.
//
// What both need is done here once: a content type from a fixed list,
// never the host's /etc/mime.types; an ETag with Cache-Control: no-cache,
// so a browser revalidates on every load (a 304 while nothing changed) and
// an upgrade reaches an open page on its next reload; nosniff; GET and HEAD
// only; and names looked up in a map, never joined to a path, so ../
// reaches nothing and no folder is ever listed. The page is served only at
// its own URL (ServePage), never as one of the files.
//
// The security policy (Content-Security-Policy, Referrer-Policy, framing)
// differs between the programs and covers their other answers too, so each
// program sets its own; so is the body of an error, which each program
// writes in its own format when ServePage or ServeFile refuses.
package assets

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"time"
)

// Errors ServePage and ServeFile return without writing an answer; the
// caller answers 404 or 405 in its own format.
var (
	ErrNotFound = errors.New("assets: no such file")
	// ErrMethod is a method other than GET or HEAD; the Allow header is
	// already set.
	ErrMethod = errors.New("assets: method not allowed")
)

// File is one file held in memory, with an ETag so that a browser
// revalidating its copy costs a 304.
type File struct {
	body        []byte
	contentType string
	etag        string
}

// NewFile holds body to be served as contentType, for a file that is not
// part of a Bundle (the kiosk's officer photo).
func NewFile(body []byte, contentType string) *File {
	sum := sha256.Sum256(body)
	return &File{body: body, contentType: contentType, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
}

// ETag is the file's quoted entity tag, a digest of its content.
func (f *File) ETag() string { return f.etag }

// Serve writes f with its Content-Type, ETag and nosniff, answering
// conditional and range requests and HEAD. The caller has checked the
// method and sets Cache-Control.
func (f *File) Serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("ETag", f.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	// No modification time: the ETag alone answers conditional requests.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}

// Bundle is a page and the files it loads, read once from one folder.
// Nothing in it changes after Load, so it serves without locking.
type Bundle struct {
	page  string
	files map[string]*File
}

// Load reads every file of the folder dir of fsys. page names the page,
// which must be there. Every file must have a content type (.html, .css,
// .js) and the folder no subfolder: files are served by name, and a name
// must mean one file.
func Load(fsys fs.FS, dir, page string) (*Bundle, error) {
	b := &Bundle{page: page, files: map[string]*File{}}
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		if d.IsDir() {
			return fmt.Errorf("assets: %s is a folder; files are served by name from %s alone", p, dir)
		}
		ct, ok := contentType(path.Ext(p))
		if !ok {
			return fmt.Errorf("assets: %s: no content type for %q files", p, path.Ext(p))
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		b.files[path.Base(p)] = NewFile(body, ct)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if b.files[page] == nil {
		return nil, fmt.Errorf("assets: %s/%s is missing", dir, page)
	}
	return b, nil
}

// contentType names the only kinds of file a Bundle may hold; an explicit
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

// Names returns the names of the bundle's files, the page's among them,
// sorted.
func (b *Bundle) Names() []string {
	names := make([]string, 0, len(b.files))
	for n := range b.files {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// File returns the named file, the page included, or nil.
func (b *Bundle) File(name string) *File { return b.files[name] }

// ServePage answers GET and HEAD with the page, or returns ErrMethod.
func (b *Bundle) ServePage(w http.ResponseWriter, r *http.Request) error {
	return b.serve(w, r, b.files[b.page])
}

// ServeFile answers GET and HEAD with the named file. It returns
// ErrNotFound for a name it does not hold and for the page's (the page is
// served at its own URL only, so its relative URLs resolve one way), then
// ErrMethod for another method.
func (b *Bundle) ServeFile(w http.ResponseWriter, r *http.Request, name string) error {
	f := b.files[name]
	if f == nil || name == b.page {
		return ErrNotFound
	}
	return b.serve(w, r, f)
}

func (b *Bundle) serve(w http.ResponseWriter, r *http.Request, f *File) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return ErrMethod
	}
	w.Header().Set("Cache-Control", "no-cache")
	f.Serve(w, r)
	return nil
}
