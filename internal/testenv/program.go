package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// builds caches one build per package path for the life of the test binary:
// several tests of a package start the same program.
type builds struct {
	mu   sync.Mutex
	bins map[string]string
}

// The build cache is the one piece of package state here: a test binary
// builds each program once, whichever test asks first.
var programBuilds = &builds{bins: map[string]string{}}

// BuildProgram builds the Go program at pkg (a path relative to the test's
// package directory, e.g. "../collector"), without -race so its CPU and
// memory are what production sees, and returns the binary's path.
func BuildProgram(t testing.TB, pkg string) string {
	t.Helper()
	abs, err := filepath.Abs(pkg)
	if err != nil {
		t.Fatal(err)
	}
	programBuilds.mu.Lock()
	defer programBuilds.mu.Unlock()
	if bin, ok := programBuilds.bins[abs]; ok {
		return bin
	}
	dir, err := os.MkdirTemp("", "pscm-testenv-bin")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, filepath.Base(abs))
	if out, err := exec.Command("go", "build", "-o", bin, abs).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	programBuilds.bins[abs] = bin
	return bin
}

// SyncBuffer is a bytes.Buffer safe for a program's logs written from many
// goroutines while a test reads them.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Tail returns the last n lines of s, for failure logs.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
