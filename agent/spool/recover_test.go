package spool

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// logBuffer collects log output to check what recovery reports.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The spool buildSpool writes, with 1 KiB segments: five records of
// recData a segment, so 38 singles leave three in the last segment, then
// the append of three joins them there.
const (
	singles  = 38 // single-record appends, each its own write
	unitSize = 3  // then one append of this many records
	stored   = singles + unitSize
)

func recData(i int) []byte {
	return []byte(fmt.Sprintf("%03d:%s", i, strings.Repeat(string(rune('a'+i%26)), 196)))
}

// buildSpool writes a closed spool of several small segments and returns
// the data of each record, seq i+1 at index i.
func buildSpool(t *testing.T, cfg Config) [][]byte {
	t.Helper()
	s, err := Open(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	for i := range singles {
		appendOK(t, s, recData(i))
		want = append(want, recData(i))
	}
	var unit [][]byte
	for j := range unitSize {
		unit = append(unit, recData(100+j))
	}
	appendOK(t, s, unit...)
	want = append(want, unit...)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return want
}

// encoded is a valid record, sealed, as the spool would write it.
func encoded(flags byte, seq uint64, data string) []byte {
	b := appendRecord(nil, flags, seq, 1, []byte(data))
	seal(b)
	return b
}

func appendFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

// flip damages one byte of a file.
func flip(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0x5A
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func truncateBy(t *testing.T, path string, n int64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()-n); err != nil {
		t.Fatal(err)
	}
}

// offsetOfSeq finds where record seq starts in a segment file.
func offsetOfSeq(t *testing.T, path string, seq uint64) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(b); {
		rec, _, n, err := decodeRecord(b[off:])
		if err != nil {
			t.Fatalf("%s at %d: %v", path, off, err)
		}
		if rec.Seq == seq {
			return int64(off)
		}
		off += n
	}
	t.Fatalf("seq %d not in %s", seq, path)
	return 0
}

func TestRecovery(t *testing.T) {
	for _, tc := range []struct {
		name string
		// damage changes the closed spool; segs are its segment files in order.
		damage func(t *testing.T, dir string, segs []string)
		// keep is how many records survive recovery, when it succeeds.
		keep int
		// wantErr, when set, is a part of Open's error (which must wrap
		// ErrCorrupt); "<seg N>" is replaced by the name of segment N and
		// "<last>" by the last segment's.
		wantErr string
		wantLog string
	}{
		{
			name: "garbage after the last record",
			damage: func(t *testing.T, dir string, segs []string) {
				appendFile(t, last(segs), []byte("garbage from a torn write"))
			},
			keep:    stored,
			wantLog: "truncated a torn tail",
		},
		{
			name:    "zeros after the last record",
			damage:  func(t *testing.T, dir string, segs []string) { appendFile(t, last(segs), make([]byte, 4096)) },
			keep:    stored,
			wantLog: "reason=\"version byte 0x00, want 0xb1\"",
		},
		{
			name: "partial header",
			damage: func(t *testing.T, dir string, segs []string) {
				appendFile(t, last(segs), encoded(flagUnitEnd|flagCommitStart, stored+1, "next")[:10])
			},
			keep:    stored,
			wantLog: "too few for a record header",
		},
		{
			name: "partial data",
			damage: func(t *testing.T, dir string, segs []string) {
				r := encoded(flagUnitEnd|flagCommitStart, stored+1, "the next record, cut short")
				appendFile(t, last(segs), r[:len(r)-5])
			},
			keep:    stored,
			wantLog: "runs past the end of the file",
		},
		{
			name: "an append whose last record never reached the disk",
			damage: func(t *testing.T, dir string, segs []string) {
				appendFile(t, last(segs), encoded(flagCommitStart, stored+1, "first of two"))
			},
			keep:    stored,
			wantLog: "records_of_unfinished_append=1",
		},
		{
			name:    "the last append cut inside its last record",
			damage:  func(t *testing.T, dir string, segs []string) { truncateBy(t, last(segs), 3) },
			keep:    singles, // all of the last append goes: it is all-or-nothing
			wantLog: "records_of_unfinished_append=2",
		},
		{
			name: "the first record of the last write damaged, the later ones intact",
			// Pages of one write may reach the disk in any order.
			damage: func(t *testing.T, dir string, segs []string) {
				flip(t, last(segs), offsetOfSeq(t, last(segs), singles+1)+headerSize+1)
			},
			keep:    singles,
			wantLog: "checksum mismatch",
		},
		{
			name: "an empty last segment",
			damage: func(t *testing.T, dir string, segs []string) {
				if err := os.WriteFile(segPath(dir, stored+1), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			},
			keep: stored,
		},
		{
			name: "a last segment holding only a torn write",
			damage: func(t *testing.T, dir string, segs []string) {
				r := encoded(flagUnitEnd|flagCommitStart, stored+1, "torn")
				if err := os.WriteFile(segPath(dir, stored+1), r[:len(r)-1], 0o600); err != nil {
					t.Fatal(err)
				}
			},
			keep:    stored,
			wantLog: "truncated a torn tail",
		},
		{
			name:    "damage in a middle segment",
			damage:  func(t *testing.T, dir string, segs []string) { flip(t, segs[1], headerSize+3) },
			wantErr: "spool: corrupt: <seg 1> at offset 0: checksum mismatch",
		},
		{
			name: "a middle segment cut short",
			damage: func(t *testing.T, dir string, segs []string) {
				truncateBy(t, segs[1], 1)
			},
			wantErr: "<seg 1> at offset",
		},
		{
			name: "damage in the last segment before a later write",
			damage: func(t *testing.T, dir string, segs []string) {
				flip(t, last(segs), headerSize+3)
			},
			wantErr: "a later write starts at offset",
		},
		{
			name: "a checksummed record with the wrong seq",
			damage: func(t *testing.T, dir string, segs []string) {
				appendFile(t, last(segs), encoded(flagUnitEnd|flagCommitStart, 99, "from elsewhere"))
			},
			wantErr: "seq 99 where 42 was expected",
		},
		{
			name: "a missing middle segment",
			damage: func(t *testing.T, dir string, segs []string) {
				if err := os.Remove(segs[1]); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "<seg 2> starts at seq",
		},
		{
			name: "a missing first segment",
			damage: func(t *testing.T, dir string, segs []string) {
				if err := writeCursor(dir, 0); err != nil {
					t.Fatal(err)
				}
				if err := os.Remove(segs[0]); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "the ack cursor is 0: records 1 to",
		},
		{
			name: "a damaged cursor",
			damage: func(t *testing.T, dir string, segs []string) {
				if err := os.WriteFile(filepath.Join(dir, cursorName), []byte("PSCMACK1 garbage...."), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "ack is not a valid ack cursor",
		},
		{
			name: "a stray segment name",
			damage: func(t *testing.T, dir string, segs []string) {
				if err := os.WriteFile(filepath.Join(dir, "copy.seg"), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "copy.seg is not a segment file",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.SegmentBytes = 1 << 10
			want := buildSpool(t, cfg)
			segs := segFiles(t, cfg.Dir)
			if len(segs) < 4 {
				t.Fatalf("only %d segments", len(segs))
			}
			tc.damage(t, cfg.Dir, segs)

			var logs logBuffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			s, err := Open(cfg, log, nil)
			if tc.wantErr != "" {
				if err == nil {
					s.Close()
					t.Fatalf("Open succeeded, want an error with %q", tc.wantErr)
				}
				wantErr := strings.ReplaceAll(tc.wantErr, "<last>", last(segs))
				for i, seg := range segs {
					wantErr = strings.ReplaceAll(wantErr, "<seg "+string(rune('0'+i))+">", seg)
				}
				if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), wantErr) {
					t.Fatalf("Open: %v\nwant ErrCorrupt with %q", err, wantErr)
				}
				t.Logf("Open: %v", err)
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			t.Logf("recovery log:\n%s", logs.String())
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log does not say %q:\n%s", tc.wantLog, logs.String())
			}
			check := func(s *Spool) {
				t.Helper()
				got := readAll(t, s)
				if len(got) != tc.keep {
					t.Fatalf("%d records after recovery, want %d", len(got), tc.keep)
				}
				for i, r := range got {
					if r.Seq != uint64(i+1) || !bytes.Equal(r.Data, want[i]) {
						t.Fatalf("record %d: seq %d %q, want %q", i, r.Seq, r.Data, want[i])
					}
				}
			}
			check(s)
			// Appending carries on right after what was kept.
			if seq := appendOK(t, s, []byte("after recovery")); seq != uint64(tc.keep+1) {
				t.Fatalf("seq after recovery %d, want %d", seq, tc.keep+1)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			// The repair is on disk: a second Open finds nothing to fix.
			logs = logBuffer{}
			s, err = Open(cfg, slog.New(slog.NewTextHandler(&logs, nil)), nil)
			if err != nil {
				t.Fatalf("second Open: %v", err)
			}
			defer s.Close()
			if strings.Contains(logs.String(), "truncated") {
				t.Errorf("second Open repaired again:\n%s", logs.String())
			}
			want = append(want[:tc.keep], []byte("after recovery"))
			tc.keep++
			check(s)
		})
	}
}

// TestRecoveryWithoutCursorFile: a cursor file removed by hand after
// segments were deleted is not damage: every stored record is delivered.
func TestRecoveryWithoutCursorFile(t *testing.T) {
	cfg := testConfig(t)
	cfg.SegmentBytes = 1 << 10
	buildSpool(t, cfg)
	s, err := Open(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(20); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(cfg.Dir, cursorName)); err != nil {
		t.Fatal(err)
	}
	s = open(t, cfg)
	got := readAll(t, s)
	if len(got) < stored-20 || got[len(got)-1].Seq != stored || got[0].Seq > 21 {
		t.Fatalf("%d records %d..%d", len(got), got[0].Seq, got[len(got)-1].Seq)
	}
}

func last(segs []string) string { return segs[len(segs)-1] }
