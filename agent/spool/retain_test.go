package spool

import (
	"sync"
	"testing"
	"time"
)

// fakeClock is the spool's clock of acknowledgements, moved by the test.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// withClock gives s a fake clock starting now.
func withClock(s *Spool) *fakeClock {
	c := &fakeClock{t: time.Now()}
	s.mu.Lock()
	s.now = c.now
	s.mu.Unlock()
	return c
}

func retainConfig(t *testing.T) Config {
	c := testConfig(t)
	c.RetainAcked = time.Minute
	c.SegmentBytes = minSegmentBytes // a few records per segment, so removal shows
	return c
}

func seqsOf(recs []Record) []uint64 {
	var out []uint64
	for _, r := range recs {
		out = append(out, r.Seq)
	}
	return out
}

// readFromAll reads every record ReadFrom gives after after.
func readFromAll(t *testing.T, s *Spool, after uint64) []Record {
	t.Helper()
	var out []Record
	for {
		recs, err := s.ReadFrom(after, 1000)
		if err != nil {
			t.Fatalf("ReadFrom(%d): %v", after, err)
		}
		if len(recs) == 0 {
			return out
		}
		out = append(out, recs...)
		after = recs[len(recs)-1].Seq
	}
}

// TestRetainKeepsAcknowledged: acknowledged records stay readable for
// RetainAcked after the latest acknowledgement, then go with their segments.
func TestRetainKeepsAcknowledged(t *testing.T) {
	cfg := retainConfig(t)
	s := open(t, cfg)
	clock := withClock(s)
	for i := range 40 {
		appendOK(t, s, payload(i))
	}
	if err := s.Ack(40); err != nil {
		t.Fatal(err)
	}
	if err := s.saveCursor(false); err != nil {
		t.Fatal(err)
	}
	if after, last := s.Retained(); after != 0 || last != 40 {
		t.Fatalf("Retained() = %d, %d; want 0, 40", after, last)
	}
	if got := seqsOf(readFromAll(t, s, 0)); len(got) != 40 || got[0] != 1 || got[39] != 40 {
		t.Fatalf("ReadFrom(0) gave seqs %v, want 1..40", got)
	}
	if n := len(segFiles(t, cfg.Dir)); n < 3 {
		t.Fatalf("%d segment files after the ack; the retained ones were removed", n)
	}

	// Time passes without acks (an outage): nothing is released.
	clock.add(10 * time.Minute)
	if after, _ := s.Retained(); after != 0 {
		t.Fatalf("after an outage without acks Retained starts after %d, want 0", after)
	}
	// The next ack, a minute and more after the first, releases 1..40.
	appendOK(t, s, payload(41))
	if err := s.Ack(41); err != nil {
		t.Fatal(err)
	}
	if err := s.saveCursor(false); err != nil {
		t.Fatal(err)
	}
	if after, last := s.Retained(); after != 40 || last != 41 {
		t.Fatalf("Retained() = %d, %d; want 40, 41", after, last)
	}
	if n := len(segFiles(t, cfg.Dir)); n != 1 {
		t.Fatalf("%d segment files once released, want only the active one", n)
	}
	if got := seqsOf(readFromAll(t, s, 40)); len(got) != 1 || got[0] != 41 {
		t.Fatalf("ReadFrom(40) gave %v, want [41]", got)
	}
}

// TestRetainReleasesByAckTime: records acknowledged less than RetainAcked
// before the latest ack stay; older ones are released.
func TestRetainReleasesByAckTime(t *testing.T) {
	s := open(t, retainConfig(t))
	clock := withClock(s)
	for i := range 3 {
		appendOK(t, s, payload(i))
		if err := s.Ack(uint64(i + 1)); err != nil {
			t.Fatal(err)
		}
		clock.add(40 * time.Second)
	}
	// Acks at 0 s, 40 s and 80 s: the one at 0 s is more than a minute
	// before the last.
	if after, last := s.Retained(); after != 1 || last != 3 {
		t.Fatalf("Retained() = %d, %d; want 1, 3", after, last)
	}
	// Renew: all kept records count as acknowledged now.
	s.Renew()
	clock.add(50 * time.Second)
	appendOK(t, s, payload(3))
	if err := s.Ack(4); err != nil {
		t.Fatal(err)
	}
	if after, _ := s.Retained(); after != 1 {
		t.Fatalf("50 s after Renew Retained starts after %d, want 1", after)
	}
	clock.add(20 * time.Second)
	appendOK(t, s, payload(4))
	if err := s.Ack(5); err != nil {
		t.Fatal(err)
	}
	if after, last := s.Retained(); after != 3 || last != 5 {
		t.Fatalf("70 s after Renew Retained() = %d, %d; want 3, 5", after, last)
	}
}

// TestRetainMarksBounded: a long run of acks keeps at most maxMarks marks.
func TestRetainMarksBounded(t *testing.T) {
	s := open(t, retainConfig(t))
	clock := withClock(s)
	for i := range 2000 {
		appendOK(t, s, payload(i))
		if err := s.Ack(uint64(i + 1)); err != nil {
			t.Fatal(err)
		}
		clock.add(100 * time.Millisecond)
	}
	s.mu.Lock()
	n := len(s.marks)
	s.mu.Unlock()
	if n > maxMarks+1 {
		t.Fatalf("%d marks, want at most %d", n, maxMarks+1)
	}
	after, last := s.Retained()
	// 100 ms apart, a minute is about 600 records; a mark spans at most
	// a 64th of a minute more.
	if kept := last - after; kept < 600 || kept > 620 {
		t.Fatalf("%d records retained, want a minute's worth (600..620)", kept)
	}
}

// TestRetainAcrossRestart: what was acknowledged just before a stop is on
// disk after Open and readable with ReadFrom; with RetainAcked 0 it is gone.
func TestRetainAcrossRestart(t *testing.T) {
	for _, keep := range []time.Duration{time.Minute, 0} {
		cfg := retainConfig(t)
		cfg.RetainAcked = keep
		s := open(t, cfg)
		for i := range 30 {
			appendOK(t, s, payload(i))
		}
		if err := s.Ack(25); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = open(t, cfg)
		got := seqsOf(readFromAll(t, s, 0))
		after, last := s.Retained()
		switch {
		case keep > 0 && (len(got) != 30 || got[0] != 1 || after != 0 || last != 25):
			t.Errorf("retain %v: after reopening ReadFrom gave %v and Retained %d, %d; want 1..30 and 0, 25", keep, got, after, last)
		case keep == 0 && (len(got) == 0 || got[0] > 26 || got[len(got)-1] != 30 || after < got[0]-1 || last != 25):
			t.Errorf("retain 0: after reopening ReadFrom gave %v and Retained %d, %d; want at least 26..30 and nothing retained", got, after, last)
		}
		// Unacknowledged records are still read by Read, from 26.
		recs := readAll(t, s)
		if len(recs) != 5 || recs[0].Seq != 26 {
			t.Errorf("retain %v: Read gave %v, want 26..30", keep, seqsOf(recs))
		}
		_ = s.Close()
	}
}
