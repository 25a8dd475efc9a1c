package acklog

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestAppendRead: entries come back in order across a rotation, the older
// generation is dropped at the next one, files stay private, and a torn
// last line (a crash mid-write) is skipped.
func TestAppendRead(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	l, err := Open(dir, 600)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	for i := range 8 {
		e := Entry{At: at.Add(time.Duration(i) * time.Minute), Site: "anlao", Alert: "rating/r" + string(rune('0'+i)), Kind: "dissatisfied",
			TextVI: "Đánh giá không hài lòng tại Quầy 1", By: "lan", Name: "Nguyễn Thị Lan"}
		if err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := l.Read()
	if err != nil {
		t.Fatal(err)
	}
	// Each line is about 200 bytes: at most 3 per file, two files kept.
	if len(got) < 4 || len(got) > 6 || got[len(got)-1].Alert != "rating/r7" || got[len(got)-1].Name != "Nguyễn Thị Lan" {
		t.Fatalf("%d entries, last %+v", len(got), got[len(got)-1])
	}
	for i := 1; i < len(got); i++ {
		if !got[i].At.After(got[i-1].At) {
			t.Fatalf("out of order: %v then %v", got[i-1].At, got[i].At)
		}
	}
	for _, name := range []string{FileName, FileName + ".1"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Size() > 600 || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", name, fi, err)
		}
	}

	f, err := os.OpenFile(filepath.Join(dir, FileName), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"at":"2026-12-02T09:00:00Z","site":"an`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	again, err := l.Read()
	if err != nil || len(again) != len(got) || again[len(again)-1].Alert != "rating/r7" {
		t.Fatalf("after a torn line: %d entries (%v), want %d", len(again), err, len(got))
	}
	// The next entry is on a line of its own, not lost with the torn one.
	if err := l.Append(Entry{At: at.Add(time.Hour), Site: "anlao", Alert: "after", By: "lan"}); err != nil {
		t.Fatal(err)
	}
	if after, _ := l.Read(); after[len(after)-1].Alert != "after" {
		t.Errorf("entry after a torn line lost: %+v", after[len(after)-1])
	}
}
