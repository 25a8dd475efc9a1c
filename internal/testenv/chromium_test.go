package testenv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestChromium(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>Quầy 3</title><p id="p">Cảm ơn Ông/Bà!</p>`)
	}))
	defer srv.Close()

	ctx := Chromium(t)
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(actx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	text, err := chromedp.Run(actx, chromedp.Text(chromedp.ID("p")))
	if err != nil || text != "Cảm ơn Ông/Bà!" {
		t.Fatalf("text = %q, %v", text, err)
	}
	width, err := chromedp.Run(actx, chromedp.Evaluate[int](`window.innerWidth`))
	if err != nil || width != ChromiumWidth {
		t.Errorf("window.innerWidth = %d, %v; want %d", width, err, ChromiumWidth)
	}
	ua, err := chromedp.Run(actx, chromedp.Evaluate[string](`navigator.userAgent`))
	if err != nil || !strings.Contains(ua, "Headless") {
		t.Errorf("user agent %q, %v: not headless", ua, err)
	}
}

func TestFindChromium(t *testing.T) {
	notFound := func(string) (string, error) { return "", errors.New("not found") }
	found := func(string) (string, error) { return "/opt/bin/chromium", nil }
	missing := filepath.Join(t.TempDir(), "chromium")

	_, err := findChromium("", notFound, missing)
	if err == nil || !strings.Contains(err.Error(), chromiumInstall) || !strings.Contains(err.Error(), "make deps") {
		t.Errorf("missing chromium: %v", err)
	}
	_, err = findChromium(missing, found, missing)
	if err == nil || !strings.Contains(err.Error(), "PSCM_CHROMIUM="+missing) || !strings.Contains(err.Error(), chromiumInstall) {
		t.Errorf("bogus PSCM_CHROMIUM: %v", err)
	}
	if got, err := findChromium("", found, missing); err != nil || got != "/opt/bin/chromium" {
		t.Errorf("from PATH: %q, %v", got, err)
	}

	bin := filepath.Join(t.TempDir(), "chromium")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := findChromium("", found, bin); err != nil || got != bin {
		t.Errorf("Debian path first: %q, %v; want %q", got, err, bin)
	}
	if got, err := findChromium(bin, notFound, missing); err != nil || got != bin {
		t.Errorf("PSCM_CHROMIUM: %q, %v; want %q", got, err, bin)
	}
}

func TestArtifactsDir(t *testing.T) {
	dir := ArtifactsDir(t, "testenv")
	want := filepath.Join(RepoRoot(t), "artifacts", "testenv")
	if dir != want {
		t.Fatalf("ArtifactsDir = %q, want %q", dir, want)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("%s not created: %v", dir, err)
	}
}
