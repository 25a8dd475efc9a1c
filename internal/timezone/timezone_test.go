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
