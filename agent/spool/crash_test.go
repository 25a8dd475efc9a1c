//go:build unix

package spool

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// helperEnv names the spool directory when the test binary runs as the
// child of TestCrashSIGKILL; helperRunEnv numbers the run.
const (
	helperEnv    = "PSCM_SPOOL_CRASH_DIR"
	helperRunEnv = "PSCM_SPOOL_CRASH_RUN"
)

// crashConfig uses small segments so that the kill also lands while
// segments are being created and removed.
func crashConfig(dir string) Config {
	c := Defaults()
	c.Dir = dir
	c.SegmentBytes = 32 << 10
	return c
}

// crashData is the j-th record of the i-th append of appender g in run r;
// the parent rebuilds it from the numbers the child prints.
func crashData(r, g, i, j int) []byte {
	return []byte(fmt.Sprintf("r%d g%d i%d j%d %s", r, g, i, j, strings.Repeat("x", (i*31+j*7)%300)))
}

// TestHelperProcess is the child of TestCrashSIGKILL, not a test of its own:
// it appends from several goroutines, printing "A seq r g i j" for each
// record once its Append has returned, while a consumer reads and
// acknowledges up to 1,000 records behind and prints "C seq". It runs until
// killed.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		return // run directly: nothing to do
	}
	run, _ := strconv.Atoi(os.Getenv(helperRunEnv))
	var outMu sync.Mutex
	say := func(format string, args ...any) {
		line := fmt.Sprintf(format+"\n", args...)
		outMu.Lock()
		defer outMu.Unlock()
		_, _ = os.Stdout.WriteString(line)
	}
	s, err := Open(crashConfig(dir), nil, nil)
	if err != nil {
		say("E open: %v", err)
		os.Exit(2)
	}
	ctx := context.Background()
	for g := range 4 {
		go func() {
			for i := 0; ; i++ {
				var data [][]byte
				for j := range 1 + i%3 {
					data = append(data, crashData(run, g, i, j))
				}
				seq, err := s.Append(ctx, data...)
				if err != nil {
					say("E append: %v", err)
					os.Exit(2)
				}
				for j := range data {
					say("A %d %d %d %d %d", seq+uint64(j), run, g, i, j)
				}
			}
		}()
	}
	go func() {
		var after uint64
		for {
			recs, err := s.Read(ctx, after, 100)
			if err != nil {
				say("E read: %v", err)
				os.Exit(2)
			}
			after = recs[len(recs)-1].Seq
			if after > 1000 {
				if err := s.Ack(after - 1000); err != nil {
					say("E ack: %v", err)
					os.Exit(2)
				}
				say("C %d", after-1000)
			}
		}
	}()
	select {}
}

// TestCrashSIGKILL kills a real appending process with SIGKILL, several
// times over the same directory, and checks after each kill that every
// record whose Append had returned is there, intact and in order, and that
// seqs only ever grow.
func TestCrashSIGKILL(t *testing.T) {
	dir := t.TempDir()
	var lastSeq uint64 // highest seq stored after the previous run
	for run := 1; run <= 4; run++ {
		acked := map[uint64][]byte{}
		var consumed uint64
		target := 1500 + 1500*run // acknowledged records before the kill

		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"="+dir, helperRunEnv+"="+strconv.Itoa(run))
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killed := false
		kill := func() {
			if !killed {
				killed = true
				if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
					t.Errorf("kill: %v", err)
				}
			}
		}
		// A wedged child must not hang the suite.
		timer := time.AfterFunc(2*time.Minute, kill)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) == 6 && f[0] == "A":
				n := make([]int, 5)
				for k := range n {
					n[k], _ = strconv.Atoi(f[k+1])
				}
				seq := uint64(n[0])
				if seq <= lastSeq {
					t.Errorf("run %d: seq %d reused (the last run stored up to %d)", run, seq, lastSeq)
				}
				acked[seq] = crashData(n[1], n[2], n[3], n[4])
			case len(f) == 2 && f[0] == "C":
				consumed, _ = strconv.ParseUint(f[1], 10, 64)
			default:
				t.Errorf("child: %s", sc.Text())
				kill()
			}
			if len(acked) >= target {
				kill() // keep reading what was printed before it died
			}
		}
		if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
			t.Errorf("reading the child: %v", err)
		}
		timer.Stop()
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("run %d: child ended with %v, not by SIGKILL", run, err)
		}
		if t.Failed() {
			return
		}

		cursor, _, err := readCursor(dir)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Open(crashConfig(dir), testLogger(t), nil)
		if err != nil {
			t.Fatalf("run %d: Open after SIGKILL: %v", run, err)
		}
		got := readAll(t, s)
		n, _, _ := s.Stats()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if n != len(got) {
			t.Fatalf("Stats says %d records, Read gave %d", n, len(got))
		}
		for i, r := range got {
			if r.Seq != cursor+1+uint64(i) {
				t.Fatalf("run %d: record %d has seq %d, want %d (cursor %d)", run, i, r.Seq, cursor+1+uint64(i), cursor)
			}
			if want, ok := acked[r.Seq]; ok && !bytes.Equal(r.Data, want) {
				t.Fatalf("run %d: seq %d holds %.40q, acknowledged as %.40q", run, r.Seq, r.Data, want)
			}
			// Records whose Append had not returned may or may not be
			// there, but what is there is one of the child's.
			if !bytes.HasPrefix(r.Data, []byte("r")) {
				t.Fatalf("run %d: seq %d holds %.40q", run, r.Seq, r.Data)
			}
		}
		var missing int
		var maxAcked uint64
		for seq := range acked {
			maxAcked = max(maxAcked, seq)
			if seq > cursor && (len(got) == 0 || seq > got[len(got)-1].Seq) {
				missing++
			}
		}
		if missing > 0 {
			t.Fatalf("run %d: %d acknowledged records lost", run, missing)
		}
		if len(got) > 0 {
			lastSeq = got[len(got)-1].Seq
		} else {
			lastSeq = max(lastSeq, cursor)
		}
		t.Logf("run %d: killed after %d acknowledged appends (highest seq %d); consumer acknowledged up to %d, cursor on disk %d; reopened with %d records, %d to %d",
			run, len(acked), maxAcked, consumed, cursor, len(got), cursor+1, lastSeq)
	}
}
