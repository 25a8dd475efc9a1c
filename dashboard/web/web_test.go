package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandlerServes(t *testing.T) {
	h := Handler()
	tests := []struct {
		path, contentType, contains string
	}{
		{"/", "text/html; charset=utf-8", `<script src="static/dashboard.js" defer></script>`},
		{"/index.html", "text/html; charset=utf-8", `<link rel="stylesheet" href="static/dashboard.css">`},
		{"/static/dashboard.js", "text/javascript; charset=utf-8", "'use strict';"},
		{"/static/dashboard.css", "text/css; charset=utf-8", ".tv {"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			hd := w.Header()
			if got := hd.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			checkSecurityHeaders(t, hd)
			if hd.Get("Cache-Control") != "no-cache" || hd.Get("ETag") == "" {
				t.Errorf("Cache-Control %q, ETag %q: want no-cache with an ETag", hd.Get("Cache-Control"), hd.Get("ETag"))
			}
			if !strings.Contains(w.Body.String(), tt.contains) {
				t.Errorf("body does not contain %q", tt.contains)
			}

			// A browser revalidating its copy gets a 304.
			r := httptest.NewRequest(http.MethodGet, tt.path, nil)
			r.Header.Set("If-None-Match", hd.Get("ETag"))
			w2 := httptest.NewRecorder()
			h.ServeHTTP(w2, r)
			if w2.Code != http.StatusNotModified {
				t.Errorf("revalidation: status %d, want 304", w2.Code)
			}
		})
	}
}

func checkSecurityHeaders(t *testing.T, hd http.Header) {
	t.Helper()
	csp := hd.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "connect-src 'self'", "img-src 'self' data:", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP %q allows inline or eval", csp)
	}
	if hd.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("X-Content-Type-Options %q", hd.Get("X-Content-Type-Options"))
	}
	if hd.Get("Referrer-Policy") != "same-origin" {
		t.Errorf("Referrer-Policy %q", hd.Get("Referrer-Policy"))
	}
}

func TestHandlerRefuses(t *testing.T) {
	h := Handler()
	tests := []struct {
		method, path string
		code         int
	}{
		{http.MethodGet, "/static/missing.js", http.StatusNotFound},
		{http.MethodGet, "/static/index.html", http.StatusNotFound},
		{http.MethodGet, "/static/", http.StatusNotFound},
		{http.MethodGet, "/static/../web.go", http.StatusNotFound},
		{http.MethodGet, "/static/sub/dashboard.js", http.StatusNotFound},
		{http.MethodGet, "/dashboard.js", http.StatusNotFound},
		{http.MethodGet, "/anything", http.StatusNotFound},
		{http.MethodPost, "/", http.StatusMethodNotAllowed},
		{http.MethodDelete, "/static/dashboard.js", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/", nil)
			r.URL.Path = tt.path // unclean on purpose: no redirect, no escape
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d", w.Code, tt.code)
			}
			checkSecurityHeaders(t, w.Header())
			if tt.code == http.StatusMethodNotAllowed && w.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q", w.Header().Get("Allow"))
			}
		})
	}
}

func TestHead(t *testing.T) {
	w := httptest.NewRecorder()
	Handler().ServeHTTP(w, httptest.NewRequest(http.MethodHead, "/static/dashboard.css", nil))
	if w.Code != http.StatusOK || w.Body.Len() != 0 || w.Header().Get("Content-Type") != "text/css; charset=utf-8" {
		t.Fatalf("HEAD: status %d, %d body bytes, Content-Type %q", w.Code, w.Body.Len(), w.Header().Get("Content-Type"))
	}
}

// TestNoInline keeps the page CSP-clean: no inline script, style attribute
// or event handler that the policy would block, and nothing from elsewhere.
func TestNoInline(t *testing.T) {
	for _, name := range []string{"static/index.html", "static/dashboard.js", "static/dashboard.css"} {
		b, err := staticFiles.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for _, bad := range []string{"<style", "style=\"", " onclick=", " onload=", "http://", "https://", "//cdn", "@import", "url(http", "innerHTML", "eval("} {
			if strings.Contains(s, bad) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
		if name == "static/index.html" && strings.Count(s, "<script") != 1 {
			t.Errorf("index.html has %d script tags, want the one external script", strings.Count(s, "<script"))
		}
	}
}
