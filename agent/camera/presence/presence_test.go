package presence

import (
	"errors"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/schema"
)

// Wednesday 25 November 2026, 08:00 in Vietnam.
var base = time.Date(2026, 11, 25, 8, 0, 0, 0, time.FixedZone("ICT", 7*3600))

func at(s int) time.Time { return base.Add(time.Duration(s) * time.Second) }

func TestSessionRule(t *testing.T) {
	c, err := NewCounter("c01", Defaults(), kpi.DefaultWorkHours())
	if err != nil {
		t.Fatal(err)
	}
	var got []Session
	step := func(k schema.Zone, on bool, s int) {
		ss, err := c.Update(k, on, at(s))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ss...)
	}
	step(schema.ZoneStaff, true, 0)
	step(schema.ZoneCitizen, true, 20) // seated 60 s: a session
	step(schema.ZoneCitizen, false, 80)
	step(schema.ZoneCitizen, true, 100) // 8 s only: not a session
	step(schema.ZoneCitizen, false, 108)
	step(schema.ZoneCitizen, true, 130) // stands up for 5 s: same session
	step(schema.ZoneCitizen, false, 160)
	step(schema.ZoneCitizen, true, 165)
	step(schema.ZoneStaff, false, 170) // the official leaves: the session goes on
	step(schema.ZoneCitizen, false, 200)
	got = append(got, c.Tick(at(214))...)
	if len(got) != 1 {
		t.Fatalf("sessions %v before the gap is over", got)
	}
	got = append(got, c.Tick(at(215))...)
	want := []Session{{"c01", at(20), at(80)}, {"c01", at(130), at(200)}}
	if len(got) != len(want) {
		t.Fatalf("sessions %v, want %v", got, want)
	}
	for i := range want {
		if !got[i].Start.Equal(want[i].Start) || !got[i].End.Equal(want[i].End) {
			t.Fatalf("session %d: %v, want %v", i, got[i], want[i])
		}
	}
	// Seated 170 s in working hours.
	if p := c.StaffPresent(at(300)); p != 170*time.Second {
		t.Fatalf("staff present %s", p)
	}
	if a := c.StaffAbsent(at(300)); a != 130*time.Second {
		t.Fatalf("staff absent %s", a)
	}
	if _, err := c.Update(schema.ZoneWaiting, true, at(301)); !errors.Is(err, ErrZoneKind) {
		t.Fatalf("waiting zone: %v", err)
	}
}

// A citizen seated before the official arrives starts a session when the
// official has been there SessionMin, from the official's arrival; the
// citizen's change may arrive after the official's (backdated changes).
func TestSessionStartsAtOverlap(t *testing.T) {
	c, _ := NewCounter("c01", Defaults(), kpi.DefaultWorkHours())
	c.Update(schema.ZoneCitizen, true, at(0))
	c.Update(schema.ZoneStaff, true, at(30))
	c.Tick(at(41))
	if start, ok := c.Open(); !ok || !start.Equal(at(30)) {
		t.Fatalf("open %v at %s", ok, start)
	}
}

func TestHours(t *testing.T) {
	h := kpi.DefaultWorkHours()
	mon := time.Date(2026, 11, 23, 0, 0, 0, 0, h.Loc)
	for _, tc := range []struct {
		from, to time.Time
		want     time.Duration
	}{
		{mon.Add(7 * time.Hour), mon.Add(12 * time.Hour), 4 * time.Hour},
		{mon.Add(11 * time.Hour), mon.Add(14 * time.Hour), time.Hour},
		{mon, mon.AddDate(0, 0, 7), 5*7*time.Hour + 5*30*time.Minute},
		{mon.AddDate(0, 0, 5), mon.AddDate(0, 0, 7), 0}, // the weekend
		{mon.Add(9 * time.Hour).UTC(), mon.Add(9*time.Hour + time.Minute).UTC(), time.Minute},
	} {
		if got := h.Overlap(tc.from, tc.to); got != tc.want {
			t.Errorf("Overlap(%s, %s) = %s, want %s", tc.from, tc.to, got, tc.want)
		}
	}
	if !h.Contains(mon.Add(8*time.Hour)) || h.Contains(mon.Add(12*time.Hour)) {
		t.Fatal("Contains")
	}
	bad := h
	bad.Shifts = []kpi.Shift{{From: 10 * time.Hour, To: 9 * time.Hour}}
	if bad.Validate() == nil {
		t.Fatal("backwards span accepted")
	}
	if (Config{SessionMin: 0, SessionGap: time.Second}).Validate() == nil {
		t.Fatal("zero session_min accepted")
	}
}

// An unknown official's seat (the camera cannot tell a still person from
// an object) is neither presence nor absence: the presence count stops,
// the absence clock never runs, and an open session goes on.
func TestUnknownSeat(t *testing.T) {
	c, err := NewCounter("c01", Defaults(), kpi.DefaultWorkHours())
	if err != nil {
		t.Fatal(err)
	}
	var got []Session
	step := func(k schema.Zone, st schema.ZoneState, s int) {
		t.Helper()
		ss, err := c.UpdateState(k, st, at(s))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ss...)
	}
	step(schema.ZoneStaff, schema.ZoneOccupied, 0)
	step(schema.ZoneCitizen, schema.ZoneOccupied, 10)
	step(schema.ZoneStaff, schema.ZoneUnknown, 100) // 100 s present
	if a := c.StaffAbsent(at(1000)); a != 0 {
		t.Fatalf("absent %v while unknown", a)
	}
	if p := c.StaffPresent(at(1000)); p != 100*time.Second {
		t.Fatalf("present %v, want the 100 s before unknown", p)
	}
	if _, open := c.Open(); !open {
		t.Fatal("the session did not go on while the seat was unknown")
	}
	step(schema.ZoneStaff, schema.ZoneOccupied, 1000)
	step(schema.ZoneCitizen, schema.ZoneVacant, 1100)
	got = append(got, c.Tick(at(1200))...)
	if len(got) != 1 || !got[0].Start.Equal(at(10)) || !got[0].End.Equal(at(1100)) {
		t.Fatalf("sessions %+v", got)
	}
	if p := c.StaffPresent(at(1200)); p != 300*time.Second {
		t.Fatalf("present %v, want 100 s + 200 s", p)
	}
	step(schema.ZoneStaff, schema.ZoneVacant, 1200)
	if a := c.StaffAbsent(at(1300)); a != 100*time.Second {
		t.Fatalf("absent %v after a real vacancy, want 100 s", a)
	}
}
