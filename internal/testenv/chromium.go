package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumInstall is what a developer runs when the browser is missing.
const chromiumInstall = "sudo apt-get install -y chromium"

// chromiumFallback is where Debian installs the browser's launcher.
const chromiumFallback = "/usr/bin/chromium"

// ChromiumWidth and ChromiumHeight are the browser's window size: the
// landscape viewport of the 10-inch tablets the kiosk page runs on, so
// screenshots show what a citizen sees.
const (
	ChromiumWidth  = 1280
	ChromiumHeight = 800
)

// chromiumStartTimeout bounds the browser's start. A cold start on a loaded
// 2-core CI machine takes a few seconds; a minute means it is stuck.
const chromiumStartTimeout = 60 * time.Second

// Chromium starts a real headless Chromium for one test and returns a
// chromedp context whose tab runs in it; the browser is stopped, and its
// profile removed, when the test ends.
//
// The binary is $PSCM_CHROMIUM if set, else /usr/bin/chromium (Debian's),
// else chromium from PATH; a missing browser fails the test with the command
// that installs it. The browser starts before Chromium returns, so a browser
// that cannot start fails here with its own output rather than in the first
// action of the test.
//
// The flags keep the browser from talking to anything but the test's own
// servers (no background networking, component updates, sync or QUIC), which
// matters both because CI has no network and because a kiosk test that
// passes only thanks to an outside request would prove nothing. no-sandbox is
// needed because tests run as root, where Chromium refuses its sandbox.
func Chromium(t testing.TB) context.Context {
	t.Helper()
	bin, err := findChromium(os.Getenv("PSCM_CHROMIUM"), exec.LookPath, chromiumFallback)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	profile := t.TempDir() // removed after the cleanup below has stopped the browser
	out := &SyncBuffer{}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(ChromiumWidth, ChromiumHeight),
		chromedp.CombinedOutput(out),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc() // waits for the process to exit, so the profile can go
	})

	// The first action starts the browser and binds its life to the context
	// it is given, so it must not be one with a deadline: bound the wait
	// from outside instead.
	began := time.Now()
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("testenv: start %s: %v\n%s", bin, err, Tail(out.String(), logTailLines))
		}
	case <-time.After(chromiumStartTimeout):
		cancelCtx()
		err := <-started // what the cancelled start ended with
		t.Fatalf("testenv: %s did not start within %v (%v)\n%s", bin, chromiumStartTimeout, err, Tail(out.String(), logTailLines))
	}
	t.Logf("testenv: chromium (%s) ready in %v", bin, time.Since(began).Round(time.Millisecond))
	return ctx
}

// findChromium picks the browser binary: override (PSCM_CHROMIUM) if set,
// which must then work, else the Debian path, else chromium from PATH.
func findChromium(override string, lookPath func(string) (string, error), fallback string) (string, error) {
	if override != "" {
		if err := isExecutable(override); err != nil {
			return "", fmt.Errorf("PSCM_CHROMIUM=%s cannot be run (%w): point it at a Chromium binary, or unset it and install Chromium with `%s` (or run `make deps`)",
				override, err, chromiumInstall)
		}
		return override, nil
	}
	if err := isExecutable(fallback); err == nil {
		return fallback, nil
	}
	if p, err := lookPath("chromium"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("chromium not found at %s or in PATH: install it with `%s` (or run `make deps`), or set PSCM_CHROMIUM",
		fallback, chromiumInstall)
}

// ArtifactsDir returns <repo root>/artifacts/<sub>, created if needed: the
// git-ignored place where tests leave what a person should look at after a
// run, such as screenshots of the web pages.
func ArtifactsDir(t testing.TB, sub string) string {
	t.Helper()
	if sub == "" || filepath.IsAbs(sub) || !filepath.IsLocal(sub) {
		t.Fatalf("testenv: artifacts subdirectory %q must be a relative path inside artifacts/", sub)
	}
	dir := filepath.Join(RepoRoot(t), "artifacts", sub)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return dir
}
