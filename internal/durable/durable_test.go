package durable

import (
	"os"
	"path/filepath"
	"testing"
)

// TestWriteFile: the file is replaced whole, owner-only, with no temporary
// left behind; a directory that cannot take the file is an error and
// leaves nothing.
func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	for _, body := range []string{"first\n", "second, longer than the first\n", ""} {
		if err := WriteFile(dir, "state", []byte(body)); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "state"))
		if err != nil || string(b) != body {
			t.Fatalf("state = %q, %v; want %q", b, err, body)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "state")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode: %v %v", fi, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "state.tmp")); !os.IsNotExist(err) {
		t.Errorf("temporary left: %v", err)
	}
	missing := filepath.Join(dir, "missing")
	if err := WriteFile(missing, "state", []byte("x")); err == nil {
		t.Error("a missing directory took the file")
	}
	if err := SyncDir(missing); err == nil {
		t.Error("SyncDir of a missing directory")
	}
}
