package accesslog

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Entries are appended as JSON lines, kept across a reopening, owner-only.
func TestLog(t *testing.T) {
	p := filepath.Join(t.TempDir(), "access.jsonl")
	for i := range 2 {
		l, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Append(Entry{At: time.Unix(int64(i), 0).UTC(), User: "lan", Site: "anlao", Subject: "anlao-2026-000001", What: "message, phone"}); err != nil {
			t.Fatal(err)
		}
		l.Close()
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", fi.Mode(), err)
	}
	f, _ := os.Open(p)
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.User != "lan" || e.At.Unix() != int64(n) {
			t.Fatalf("line %d: %s (%v)", n, sc.Text(), err)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("%d lines", n)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "no", "such", "dir", "x")); err == nil {
		t.Fatal("opened in a missing directory")
	}
}
