package occupancy_test

import (
	"math"
	"testing"
	"time"

	"github.com/pscm/pscm/agent/camera/occupancy"
	"github.com/pscm/pscm/agent/camera/presence"
	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/scene"
	"github.com/pscm/pscm/internal/schema"
)

// emitted is a Change and the keyframe time it was reported at.
type emitted struct {
	occupancy.Change
	seen time.Time
}

// run feeds a clip's keyframes to a detector with default thresholds.
func run(t *testing.T, s scene.Scene) (*decoded, []emitted, []bool) {
	t.Helper()
	d := decode(t, s)
	det, err := occupancy.New(occupancy.Defaults(), zonesOf(s))
	if err != nil {
		t.Fatal(err)
	}
	var out []emitted
	tampered := make([]bool, len(d.frames))
	for i, f := range d.frames {
		for _, c := range det.Observe(f, d.at[i]) {
			out = append(out, emitted{c, d.at[i]})
		}
		tampered[i], _ = det.Tamper()
	}
	return d, out, tampered
}

func sec(t time.Time) float64 { return t.Sub(t0).Seconds() }

// detectedAt is a zone's detected state at x seconds: the last change
// that began at or before x.
func detectedAt(ch []emitted, zone string, x float64) bool {
	on, at := false, math.Inf(-1)
	for _, c := range ch {
		if c.Zone.ID == zone && sec(c.At) <= x && sec(c.At) >= at {
			on, at = c.Occupied, sec(c.At)
		}
	}
	return on
}

// transition is an expected state change of a zone.
type transition struct {
	zone string
	on   bool
	at   float64
}

// check compares a run with what the scene should give: per-second state
// (in seconds not tampered with) at least 95 % right, every expected
// transition detected (backdated) within 4 s, no change that matches none.
func check(t *testing.T, s scene.Scene, ch []emitted, expected func(zone string, x float64) bool) {
	t.Helper()
	tr := s.Truth()
	var right, total int
	for x := 0.5; x < s.Duration; x++ {
		if tr.TamperedAt(x) != "" {
			continue
		}
		for _, z := range s.Zones {
			total++
			if detectedAt(ch, z.ID, x) == expected(z.ID, x) {
				right++
			}
		}
	}
	var want []transition
	for _, z := range s.Zones {
		prev := false
		for x := 0.0; x < s.Duration; x += 0.1 {
			if e := expected(z.ID, x); e != prev {
				if tr.TamperedAt(x) == "" {
					want = append(want, transition{z.ID, e, x})
				}
				prev = e
			}
		}
	}
	used := make([]bool, len(ch))
	var worstAt, worstSeen float64
	for _, w := range want {
		found := false
		for i, c := range ch {
			if !used[i] && c.Zone.ID == w.zone && c.Occupied == w.on && math.Abs(sec(c.At)-w.at) <= 4 {
				used[i], found = true, true
				worstAt = math.Max(worstAt, math.Abs(sec(c.At)-w.at))
				worstSeen = math.Max(worstSeen, sec(c.seen)-w.at)
				break
			}
		}
		if !found {
			t.Errorf("%s: zone %s turning %v at %.1f s: not detected within 4 s", s.Name, w.zone, w.on, w.at)
		}
	}
	for i, c := range ch {
		if !used[i] && tr.TamperedAt(sec(c.At)) == "" {
			t.Errorf("%s: zone %s turned %v at %.1f s (reported at %.1f s): no such transition", s.Name, c.Zone.ID, c.Occupied, sec(c.At), sec(c.seen))
		}
	}
	acc := float64(right) / float64(total)
	t.Logf("%s: %d keyframes (GOP %.1f s), per-second zone state right %.1f %% (%d/%d), %d transitions, worst start error %.1f s, worst report delay %.1f s",
		s.Name, int(s.Duration*float64(s.FPS))/s.GOP, float64(s.GOP)/float64(s.FPS), 100*acc, right, total, len(want), worstAt, worstSeen)
	if acc < 0.95 {
		t.Errorf("%s: per-second accuracy %.1f %%, want at least 95 %%", s.Name, 100*acc)
	}
}

func TestAccuracyDay(t *testing.T) {
	s := scene.Day()
	_, ch, _ := run(t, s)
	check(t, s, ch, s.Truth().OccupiedAt)
}

// The passers-by each cross the citizen seat in 1-2 s: it never turns on.
func TestAccuracyPassersBy(t *testing.T) {
	s := scene.PassersBy()
	_, ch, _ := run(t, s)
	check(t, s, ch, s.Truth().OccupiedAt)
	for _, c := range ch {
		if c.Zone.Kind == schema.ZoneCitizen {
			t.Errorf("citizen seat turned %v at %.1f s", c.Occupied, sec(c.At))
		}
	}
}

// Lights off, on and a slow dim to 60 %, with keyframes every 2 s: no zone
// flips (check fails on any change that matches no person), and no tamper.
func TestAccuracyLighting(t *testing.T) {
	s := scene.Lighting()
	_, ch, tampered := run(t, s)
	check(t, s, ch, s.Truth().OccupiedAt)
	for i, tp := range tampered {
		if tp {
			t.Fatalf("tamper raised at keyframe %d by a lighting change", i)
		}
	}
}

// The left-object rule: a bag is not a person. When the citizen who
// brought it leaves, what stays is smaller than a person and still: the
// seat is vacant within a few seconds (what they left behind), and the
// next citizen to sit on it is seen.
func TestAccuracyLeftObject(t *testing.T) {
	s := scene.LeftObject()
	_, ch, _ := run(t, s)
	check(t, s, ch, s.Truth().OccupiedAt)
}

// Covering the lens and knocking the camera raise the tamper signal within
// 4 s; uncovering clears it within 4 s; zone states hold meanwhile.
func TestTamper(t *testing.T) {
	s := scene.Tampered()
	d, ch, tampered := run(t, s)
	check(t, s, ch, s.Truth().OccupiedAt)
	tr := s.Truth()
	var wrong int
	for i, tp := range tampered {
		x := sec(d.at[i])
		want := tr.TamperedAt(x) != ""
		near := false
		for _, tm := range tr.Tampers {
			near = near || math.Abs(x-tm.Start) < 4 || math.Abs(x-tm.End) < 4
		}
		if tp != want && !near {
			wrong++
			t.Errorf("tamper %v at %.0f s, want %v", tp, x, want)
		}
	}
	for _, tm := range tr.Tampers {
		var raised bool
		for i, tp := range tampered {
			x := sec(d.at[i])
			raised = raised || (tp && x >= tm.Start && x < tm.Start+4)
		}
		if !raised {
			t.Errorf("%s from %.0f s not raised within 4 s", tm.Kind, tm.Start)
		}
	}
	t.Logf("tamper: %d keyframes, %d wrong outside 4 s of a tamper start or end", len(tampered), wrong)
}

// TestSessionsFromClips turns the day's changes into sessions and presence
// time with agent/camera/presence and compares them with the truth: every
// session within 5 s at both ends, presence within 5 s per stay.
func TestSessionsFromClips(t *testing.T) {
	for _, s := range []scene.Scene{scene.Day(), scene.Lighting(), scene.PassersBy()} {
		t.Run(s.Name, func(t *testing.T) {
			d, ch, _ := run(t, s)
			cfg := presence.Config{SessionMin: time.Duration(s.SessionMinS * float64(time.Second)), SessionGap: time.Duration(s.SessionGapS * float64(time.Second))}
			c, err := presence.NewCounter(scene.Counter, cfg, kpi.DefaultWorkHours())
			if err != nil {
				t.Fatal(err)
			}
			var got []presence.Session
			next := 0
			for i := range d.frames {
				for ; next < len(ch) && !ch[next].seen.After(d.at[i]); next++ {
					if k := ch[next].Zone.Kind; k == schema.ZoneStaff || k == schema.ZoneCitizen {
						ss, err := c.Update(k, ch[next].Occupied, ch[next].At)
						if err != nil {
							t.Fatal(err)
						}
						got = append(got, ss...)
					}
				}
				got = append(got, c.Tick(d.at[i])...)
			}
			end := t0.Add(time.Duration(s.Duration * float64(time.Second)))
			got = append(got, c.Tick(end.Add(time.Minute))...)
			tr := s.Truth()
			if len(got) != len(tr.Sessions) {
				t.Fatalf("%d sessions, truth has %d: %v", len(got), len(tr.Sessions), got)
			}
			var worst float64
			for i, g := range got {
				ds, de := sec(g.Start)-tr.Sessions[i][0], sec(g.End)-tr.Sessions[i][1]
				worst = math.Max(worst, math.Max(math.Abs(ds), math.Abs(de)))
				if math.Abs(ds) > 5 || math.Abs(de) > 5 {
					t.Errorf("session %d: %.1f-%.1f s, truth %.0f-%.0f s", i, sec(g.Start), sec(g.End), tr.Sessions[i][0], tr.Sessions[i][1])
				}
			}
			present := c.StaffPresent(end).Seconds()
			stays := len(tr.Occupied[scene.ZoneStaff])
			t.Logf("%s: %d sessions, worst end error %.1f s; staff present %.0f s, truth %.0f s", s.Name, len(got), worst, present, tr.StaffPresentS)
			if math.Abs(present-tr.StaffPresentS) > 5*float64(stays) {
				t.Errorf("staff present %.0f s, truth %.0f s", present, tr.StaffPresentS)
			}
		})
	}
}
