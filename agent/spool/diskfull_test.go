//go:build linux

package spool

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pscm/pscm/internal/testenv"
)

// TestDiskFull: on a filesystem that really runs out (a small tmpfs),
// Append refuses with ErrFull (wrapping ENOSPC), writes nothing and stays
// usable; once every record is acknowledged the next Append gets the space
// of the active segment back (reclaimActive) instead of refusing until an
// 8 MiB segment fills, even though the disk has no room left for a new
// cursor file; after a reopen every record appended is there once, in order.
func TestDiskFull(t *testing.T) {
	fs := filepath.Join(t.TempDir(), "fs")
	if err := testenv.MountTmpfs(t, fs, 512<<10); err != nil {
		t.Fatalf("%v: run the spool tests as root (make test does, in CI)", err)
	}
	cfg := Defaults() // 8 MiB segments: larger than the whole filesystem
	cfg.Dir = filepath.Join(fs, "spool")
	m := NewMetrics(prometheus.NewRegistry())
	s, err := Open(cfg, testLogger(t), m)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()

	// One record acknowledged and its cursor saved: the cursor file exists
	// before the disk fills, as on any agent that ever forwarded.
	first := appendOK(t, s, payload(0))
	if err := s.Ack(first); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the cursor saved", func() bool {
		seq, ok, err := readCursor(cfg.Dir)
		return err == nil && ok && seq == first
	})

	testenv.FillFS(t, fs, 32<<10)
	rec := make([]byte, 1000)
	var appended []uint64
	var full error
	for i := 0; full == nil; i++ {
		if i > 1000 {
			t.Fatal("32 KiB of free space took 1,000 records of 1 KB")
		}
		copy(rec, payload(i+1))
		seq, err := s.Append(context.Background(), rec)
		if err != nil {
			full = err
			break
		}
		appended = append(appended, seq)
	}
	if !errors.Is(full, ErrFull) || !errors.Is(full, syscall.ENOSPC) {
		t.Fatalf("Append on a full disk: %v, want ErrFull wrapping ENOSPC", full)
	}
	if len(appended) == 0 {
		t.Fatal("no record fitted in 32 KiB")
	}
	if n, _, _ := s.Stats(); n != len(appended) {
		t.Fatalf("%d records held after the refusal, want the %d appended", n, len(appended))
	}
	if got := testutil.ToFloat64(m.refusedFull); got != 1 {
		t.Errorf("spool_refused_total{reason=full} = %v, want 1", got)
	}
	// The agent's small state files (WriteFileAtomic) are refused alike,
	// leaving no temporary file behind.
	if err := WriteFileAtomic(cfg.Dir, "state", make([]byte, 8192)); !errors.Is(err, ErrFull) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("WriteFileAtomic on a full disk: %v, want ErrFull wrapping ENOSPC", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.Dir, "state.tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed WriteFileAtomic left its temporary file: %v", err)
	}
	// Still full, still not sticky: a second Append is refused the same way.
	if _, err := s.Append(context.Background(), rec); !errors.Is(err, ErrFull) {
		t.Fatalf("second Append on a full disk: %v, want ErrFull", err)
	}

	// The uplink catches up: everything acknowledged. The old segment is
	// the active one, so only reclaimActive can give its space back.
	got := readAll(t, s)
	if err := s.Ack(got[len(got)-1].Seq); err != nil {
		t.Fatal(err)
	}
	if free := testenv.FreeBytes(t, fs); free >= 4096 {
		t.Fatalf("%d bytes free: a new cursor file would fit, so the in-place save goes untested", free)
	}
	oldSeg := segPath(cfg.Dir, first)
	// The very Append refused twice above: it needs space nothing but
	// the acknowledged segment can give.
	copy(rec, "after the outage")
	after, err := s.Append(context.Background(), rec)
	if err != nil {
		t.Fatalf("Append after every record was acknowledged: %v", err)
	}
	if want := appended[len(appended)-1] + 1; after != want {
		t.Fatalf("seq %d after reclaiming, want %d", after, want)
	}
	if _, err := os.Stat(oldSeg); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("acknowledged segment %s still there: %v", oldSeg, err)
	}
	if seq, ok, err := readCursor(cfg.Dir); err != nil || !ok || seq != after-1 {
		t.Fatalf("cursor %d %v %v, want %d saved before the segment went", seq, ok, err, after-1)
	}
	if _, err := os.Stat(filepath.Join(cfg.Dir, cursorTmpName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed cursor write left %s behind: %v", cursorTmpName, err)
	}

	// What a restart finds: exactly the one unacknowledged record.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, cfg)
	rest := readAll(t, s)
	if len(rest) != 1 || rest[0].Seq != after || !bytes.Equal(rest[0].Data, rec) {
		t.Fatalf("after reopening: %d records (first %+v), want only seq %d", len(rest), rest, after)
	}
}
