package spool

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckDir: a directory Open could use passes, one it could not is
// named, and the check creates nothing (it runs beside a live agent).
func TestCheckDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ dir, want string }{
		{dir, ""},
		{filepath.Join(dir, "a", "b", "spool"), ""},
		{file, "dir: " + file + " is not a directory"},
		{filepath.Join(file, "spool"), "dir: " + file + " is not a directory"},
	} {
		c := Defaults()
		c.Dir = tc.dir
		err := c.CheckDir()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.dir, err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); !os.IsNotExist(err) {
		t.Errorf("CheckDir created a directory: %v", err)
	}
}
