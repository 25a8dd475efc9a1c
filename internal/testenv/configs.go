package testenv

import (
	"path/filepath"
	"strings"
	"testing"
)

// InvalidConfigs loads every testdata/invalid-*.yml of the calling package
// with load and checks that each fails with an error containing want[file].
// A file without an expectation, or an expectation without a file, fails
// the test, so the table and the fixtures stay in step.
func InvalidConfigs(t *testing.T, want map[string]string, load func(path string) error) {
	t.Helper()
	files, err := filepath.Glob("testdata/invalid-*.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(want) {
		t.Fatalf("%d invalid files, %d expectations: keep them in step", len(files), len(want))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			w, ok := want[filepath.Base(f)]
			if !ok {
				t.Fatal("no expectation for this file")
			}
			if err := load(f); err == nil || !strings.Contains(err.Error(), w) {
				t.Fatalf("error = %v\nwant it to contain %q", err, w)
			}
		})
	}
}
