package testenv

import (
	"path/filepath"
	"reflect"
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

// ValidateKeeps loads path twice with load, calls Validate on one copy and
// checks that it still equals the other: a Validate that fills defaults or
// normalises would let -config.check and the start judge different
// configurations. Validate's answer is not this test's business.
func ValidateKeeps[C interface{ Validate() error }](t *testing.T, path string, load func(path string) (C, error)) {
	t.Helper()
	got, err := load(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	want, err := load(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	_ = got.Validate()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: Validate changed the configuration:\n got %+v\nwant %+v", path, got, want)
	}
}
