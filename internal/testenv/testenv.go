// Package testenv is the harness every integration test of pscm uses to run
// against real components: a Mosquitto 2 broker and an InfluxDB 1.8 server,
// each started on a free loopback port in the test's temporary directory and
// stopped when the test ends.
//
// Tests may stop, kill and restart either server mid-test; a restart reuses
// the same port and data directory, so persistent MQTT sessions and stored
// points survive it exactly as they would in production. That is what lets
// the tests of the "nothing accepted is lost" rule use real failures instead
// of fakes.
//
// A missing binary fails the test with the command that installs it: the
// integration tests are part of `make test` and are never skipped silently.
package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// FreePort returns a TCP port that was free on 127.0.0.1 a moment ago.
// Another process may take it before the server binds it; StartMosquitto and
// StartInflux notice "address already in use" and retry once on new ports.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: find a free port: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatalf("testenv: release free port %d: %v", port, err)
	}
	return port
}

// RepoRoot returns the directory holding go.mod, found by walking up from the
// working directory, so tests find the repository's tools (.tools/bin) and
// fixtures whatever package they run in.
func RepoRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatalf("testenv: working directory: %v", err)
	}
	root, err := findRepoRoot(wd)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return root
}

func findRepoRoot(dir string) (string, error) {
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("look for go.mod in %s: %w", d, err)
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod in %s or any parent directory", dir)
		}
		d = parent
	}
}

// Eventually polls cond every tick until it returns true, and fails the test
// with the formatted message if timeout passes first. It is the only way
// tests wait: a bare sleep either wastes time or hopes, and on a loaded CI
// machine hoping fails.
//
// msgAndArgs is either empty, a format string followed by its arguments, or
// values printed with fmt.Sprint.
func Eventually(t testing.TB, timeout, tick time.Duration, cond func() bool, msgAndArgs ...any) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	for {
		if cond() {
			return
		}
		if !time.Now().Before(deadline) {
			t.Fatalf("testenv: condition not met within %v: %s", timeout, formatMsg(msgAndArgs))
		}
		<-ticker.C
	}
}

func formatMsg(msgAndArgs []any) string {
	if len(msgAndArgs) == 0 {
		return "(no message)"
	}
	if format, ok := msgAndArgs[0].(string); ok {
		return fmt.Sprintf(format, msgAndArgs[1:]...)
	}
	return fmt.Sprint(msgAndArgs...)
}

// isExecutable reports why path cannot be run, or nil when it can.
func isExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not executable", path)
	}
	return nil
}

// CheckMetrics runs `promtool check metrics` (Debian's prometheus package,
// installed by make deps) over a /metrics exposition and fails the test on
// any problem it reports: a metric name, help text or type that Prometheus
// and the alert rules would trip on.
func CheckMetrics(t testing.TB, exposition []byte) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: run `make deps` (Debian package prometheus)")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(exposition)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}
