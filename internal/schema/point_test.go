package schema

import (
	"testing"
	"time"
)

func TestPointKeyOf(t *testing.T) {
	ts := time.Date(2026, 11, 25, 1, 2, 10, 0, time.UTC)
	q := &Queue{Header: Header{ID: "q1", TS: ts, Site: "anlao"}, Ticket: "A012", Service: "ho-tich", Counter: "c03", Step: StepCalled}
	k := PointKeyOf(q)
	if k.NS != ts.UnixNano() || k.Series != "queue,counter=c03,service=ho-tich,site=anlao,step=called" {
		t.Fatalf("PointKeyOf = %+v", k)
	}
	other := *q
	other.ID, other.Ticket = "q2", "A013" // fields differ, the point does not
	if PointKeyOf(&other) != k {
		t.Fatal("two events of one series and ts must share a point key")
	}
}

// TestPointTime: the millisecond is kept, the same ID always gets the same
// time, and distinct IDs in one millisecond and series all get their own.
func TestPointTime(t *testing.T) {
	ts := time.Date(2026, 11, 25, 1, 2, 10, 123_456_789, time.UTC)
	all := func(time.Time) bool { return true }
	if got := PointTime("q1", ts, all); got != ts {
		t.Fatalf("a source's own nanoseconds, when free, are kept: %v, want %v", got, ts)
	}
	ts = ts.Truncate(time.Second) // a queue system's whole second
	a := PointTime("q1", ts, all)
	if !a.Truncate(time.Millisecond).Equal(ts) || a.Equal(ts) && fnv1a("q1")%1e6 != 0 {
		t.Fatalf("PointTime %v: want the millisecond of %v and the ID's slot", a, ts)
	}
	if PointTime("q1", ts, all) != a || PointTime("q1", a, all) != a {
		t.Fatal("the same event must get the same time, also from its own placed time")
	}
	w := NewPointWindow(100)
	seen := map[time.Time]bool{}
	for _, id := range []string{"q1", "q2", "q3", "q4", "q5"} {
		got := PointTime(id, ts, func(c time.Time) bool { return w.Claim(PointKey{"s", c.UnixNano()}, id) })
		if seen[got] {
			t.Fatalf("%s: %v given twice", id, got)
		}
		seen[got] = true
		again := PointTime(id, ts, func(c time.Time) bool { return w.Claim(PointKey{"s", c.UnixNano()}, id) })
		if again != got {
			t.Fatalf("%s: %v then %v", id, got, again)
		}
	}
	// A crowded millisecond: a slot is free only for its owner.
	taken := PointTime("x", ts, func(time.Time) bool { return false })
	if taken != ts {
		t.Fatalf("no free slot: want ts back, got %v", taken)
	}
}

func TestPointWindow(t *testing.T) {
	w := NewPointWindow(2)
	a, b, c := PointKey{"s", 1}, PointKey{"s", 2}, PointKey{"s", 3}
	first := w.Claim(a, "x")
	again := w.Claim(a, "x")
	other := w.Claim(a, "y")
	if !first || !again || other {
		t.Fatalf("a point is its first holder's, again for it (%v, %v), refused for another (%v)", first, again, other)
	}
	w.Claim(b, "y")
	w.Claim(c, "z") // forgets a, the oldest
	if w.Len() != 2 || !w.Claim(a, "y") {
		t.Fatalf("after eviction a is free again; %d held", w.Len())
	}
	if NewPointWindow(0).max != 1 {
		t.Fatal("a window holds at least one point")
	}
}
