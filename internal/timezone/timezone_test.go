package timezone

import (
	"testing"
	"time"
)

func TestLocation(t *testing.T) {
	for _, name := range []string{"", Default} {
		loc, err := Location(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, off := time.Date(2026, 6, 10, 0, 0, 0, 0, loc).Zone(); off != 7*3600 {
			t.Fatalf("%q: offset %d, want UTC+7", name, off)
		}
	}
	if _, err := Location("Mars/Olympus"); err == nil {
		t.Fatal("an unknown zone was accepted")
	}
}

// TestFallback: without tzdata the default zone is still UTC+7, and an
// unknown zone is still an error.
func TestFallback(t *testing.T) {
	t.Setenv("ZONEINFO", t.TempDir()) // no tzdata there; the embedded copy may still answer
	if _, off := time.Date(2026, 7, 1, 0, 0, 0, 0, Vietnam()).Zone(); off != 7*3600 {
		t.Errorf("Vietnam(): offset %d, want UTC+7", off)
	}
	loc, err := Location("")
	if err != nil {
		t.Fatal(err)
	}
	if _, off := time.Date(2026, 7, 1, 0, 0, 0, 0, loc).Zone(); off != 7*3600 {
		t.Errorf("offset %d, want UTC+7", off)
	}
	if _, err := Location("No/Such_Zone"); err == nil {
		t.Error("unknown zone accepted")
	}
}
