package occupancy_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/agent/camera/keyframe"
	"github.com/pscm/pscm/agent/camera/occupancy"
	"github.com/pscm/pscm/agent/camera/presence"
	"github.com/pscm/pscm/internal/kpi"
	"github.com/pscm/pscm/internal/scene"
	"github.com/pscm/pscm/internal/schema"
)

// Issue 15's situations (internal/scene.Situations), measured one by one
// and zone by zone against their ground truth.
//
// How a situation is scored, per zone:
//
//   - Seconds right: the zone's state at the middle of every second of the
//     clip (x+0.5 s), as the detector's changes say it (each change
//     backdated to its At, as the events are), against the truth, where
//     objects, people standing behind a seat and people leaning over it
//     never occupy it. Left out: the seconds within one keyframe interval
//     after a true transition (T <= x < T + GOP), before which no keyframe
//     can have shown it; every other second counts, before a transition
//     (reporting early is wrong) and after it. A wider window, say ±2 s,
//     would hide short situations (a 3 s linger lies wholly inside its
//     own transitions' windows); with this one a 3 s linger never seen
//     still loses 2 of its 3 seconds, a right detector loses nothing to
//     keyframe sampling, and a situation's share does not depend on where
//     its transitions fall between keyframes. A second the zone is Unsure (the staff seat's "unknown") is not
//     right, whatever the truth; those seconds are also counted apart.
//     Tampered seconds would be left out; no situation has any.
//   - False absence (staff zones): a run of seconds with the official
//     seated and the zone reported vacant (not unsure), leaving out the
//     seconds within 4 s of a true transition of the zone (those are the
//     transitions' latency, judged below). Counted as episodes and
//     seconds.
//   - False presence (any zone): the same for a vacant zone reported
//     occupied.
//   - Transitions: every true change of the zone (a person sits down or
//     stands up) must be reported, backdated, within 4 s of when it
//     happened: ok or missed. A change to or out of Unsure is not a
//     transition; any other change matching no true transition is
//     spurious.
//
// The goal (issue 15's acceptance, for the rewritten detector): in every
// situation every zone at least 98 % of seconds right, no false absence
// at all, every transition within 4 s. TestSituations holds the figures
// the detector reaches today as a floor (see situationFloors), so it
// catches regressions without asserting the goal; the log marks what
// fails the goal.

// goalRight is issue 15's acceptance: the share of seconds right in every
// zone of every situation.
const goalRight = 0.98

// transitionTolerance is how far from a true transition a reported one
// may be backdated, in seconds.
const transitionTolerance = 4.0

// floor is what a situation must reach today: the lowest share of seconds
// right per zone, and the most seconds of false absence in the staff zone.
type floor struct {
	right          map[string]float64
	falseAbsenceS  float64
	missedMax      int
	sessionsWithin int // detected sessions may differ from the truth's by this many
}

// situationFloors are the current detector's figures (2026-12-03), rounded
// down a little (up for the maxima), so a change that makes a situation
// worse fails. The goal is 98 % in every zone and zero false absence: raise
// these as the detector improves, never lower them to pass.
//
// Today: every situation meets the goal: 98 % or more in every zone, zero
// false absence, every transition within 4 s.
var situationFloors = map[string]floor{
	"still-official":    {right: rights(0.99, 0.99, 0.99)},
	"typing-still":      {right: rights(0.99, 0.99, 0.99)},
	"bag-pickup":        {right: rights(0.99, 0.99, 0.99)},
	"standing-behind":   {right: rights(0.99, 0.99, 0.99)},
	"overlapping-zones": {right: rights(0.99, 0.99, 0.98)},
	"linger":            {right: rights(0.99, 0.99, 0.99, 0.99)},
	"jacket-on-chair":   {right: rights(0.99, 0.99, 0.99)},
	"monitor-flicker":   {right: rights(0.99, 0.99, 0.99)},
	"leaning-colleague": {right: rights(0.99, 0.99, 0.99)},
	"substream-5fps":    {right: rights(0.99, 0.99, 0.99)},
}

// rights maps the ready zones (staff, citizen, waiting, then Linger's
// floor) to floors.
func rights(r ...float64) map[string]float64 {
	ids := []string{scene.ZoneStaff, scene.ZoneCitizen, scene.ZoneWaiting, scene.ZoneFloor}
	m := map[string]float64{}
	for i, x := range r {
		m[ids[i]] = x
	}
	return m
}

// zoneFigures are one zone's figures in one situation.
type zoneFigures struct {
	zone                  scene.Zone
	seconds, right        int
	falseAbsence          int     // episodes
	falseAbsenceS         float64 // seconds
	falsePresence         int
	falsePresenceS        float64
	unsure                int // episodes
	unsureS               float64
	transOK, transMissed  int
	spurious              int
	missed                []string // "on at 15.0 s" of each missed transition
	worstDelay, worstSkew float64  // report delay and backdating error of matched transitions
}

func (z zoneFigures) rightShare() float64 {
	if z.seconds == 0 {
		return 1
	}
	return float64(z.right) / float64(z.seconds)
}

// situationFigures are one situation's figures.
type situationFigures struct {
	name                        string
	keyframes                   int
	gopS                        float64
	zones                       []zoneFigures
	excusedS                    int // seconds per zone left out after true transitions (at most)
	sessionsTruth, sessionsSeen int
}

// fails lists why a situation misses issue 15's goal, empty if it meets
// it.
func (f situationFigures) fails() []string {
	var why []string
	for _, z := range f.zones {
		if z.rightShare() < goalRight {
			why = append(why, fmt.Sprintf("%s %.1f %% right", kindName(z.zone), 100*z.rightShare()))
		}
		if z.falseAbsence > 0 {
			why = append(why, fmt.Sprintf("%s absent %d times (%.0f s) while seated", kindName(z.zone), z.falseAbsence, z.falseAbsenceS))
		}
		if z.transMissed > 0 {
			why = append(why, fmt.Sprintf("%s %d transitions missed", kindName(z.zone), z.transMissed))
		}
	}
	return why
}

func kindName(z scene.Zone) string {
	if z.ID == scene.ZoneFloor {
		return "floor"
	}
	return string(z.Kind)
}

// runSituation feeds a clip's keyframes to a detector with default
// thresholds, as run does, for tests and benchmarks alike.
func runSituation(tb testing.TB, s scene.Scene) (*decoded, []emitted) {
	tb.Helper()
	d := decode(tb, s)
	det, err := occupancy.New(occupancy.Defaults(), zonesOf(s))
	if err != nil {
		tb.Fatal(err)
	}
	var out []emitted
	for i, f := range d.frames {
		for _, c := range det.Observe(f, d.at[i]) {
			out = append(out, emitted{c, d.at[i]})
		}
	}
	return d, out
}

// measure scores one situation's run.
func measure(tb testing.TB, s scene.Scene, d *decoded, ch []emitted) situationFigures {
	tb.Helper()
	tr := s.Truth()
	f := situationFigures{name: s.Name, keyframes: len(d.frames), gopS: float64(s.GOP) / float64(s.FPS)}
	used := make([]bool, len(ch))
	for _, z := range s.Zones {
		zf := zoneFigures{zone: z}
		var trans []transition
		for _, iv := range tr.Occupied[z.ID] {
			if iv[0] > 0 {
				trans = append(trans, transition{z.ID, true, iv[0]})
			}
			if iv[1] < s.Duration {
				trans = append(trans, transition{z.ID, false, iv[1]})
			}
		}
		justAfter := func(x float64) bool {
			for _, w := range trans {
				if x >= w.at && x < w.at+f.gopS {
					return true
				}
			}
			return false
		}
		nearTransition := func(x float64) bool {
			for _, w := range trans {
				if math.Abs(x-w.at) <= transitionTolerance {
					return true
				}
			}
			return false
		}
		var absentRun, presentRun bool
		excused := 0
		for x := 0.5; x < s.Duration; x++ {
			if tr.TamperedAt(x) != "" {
				continue
			}
			if justAfter(x) {
				excused++
				absentRun, presentRun = false, false
				continue
			}
			want, got := tr.OccupiedAt(z.ID, x), stateAt(ch, z.ID, x)
			zf.seconds++
			if got == unsure {
				zf.unsureS++
				if x < 1 || stateAt(ch, z.ID, x-1) != unsure {
					zf.unsure++
				}
			}
			if (got == occupied) == want && got != unsure {
				zf.right++
			}
			absent := want && got == vacant && !nearTransition(x) && z.Kind == schema.ZoneStaff
			present := !want && got == occupied && !nearTransition(x)
			if absent {
				zf.falseAbsenceS++
				if !absentRun {
					zf.falseAbsence++
				}
			}
			if present {
				zf.falsePresenceS++
				if !presentRun {
					zf.falsePresence++
				}
			}
			absentRun, presentRun = absent, present
		}
		for _, w := range trans {
			found := false
			for i, c := range ch {
				if !used[i] && !c.Unsure && c.Zone.ID == w.zone && c.Occupied == w.on && math.Abs(sec(c.At)-w.at) <= transitionTolerance {
					used[i], found = true, true
					zf.worstSkew = math.Max(zf.worstSkew, math.Abs(sec(c.At)-w.at))
					zf.worstDelay = math.Max(zf.worstDelay, sec(c.seen)-w.at)
					break
				}
			}
			if found {
				zf.transOK++
			} else {
				zf.transMissed++
				zf.missed = append(zf.missed, fmt.Sprintf("%s at %.1f s", onOff(w.on), w.at))
			}
		}
		f.zones = append(f.zones, zf)
		f.excusedS = max(f.excusedS, excused)
	}
	lastUnsure := map[string]bool{}
	for i, c := range ch {
		// A change into Unsure, or the one that ends it, is not a
		// transition.
		ends := lastUnsure[c.Zone.ID]
		lastUnsure[c.Zone.ID] = c.Unsure
		if c.Unsure || ends {
			continue
		}
		if !used[i] && tr.TamperedAt(sec(c.At)) == "" {
			for zi := range f.zones {
				if f.zones[zi].zone.ID == c.Zone.ID {
					f.zones[zi].spurious++
				}
			}
		}
	}
	f.sessionsTruth = len(tr.Sessions)
	f.sessionsSeen = len(sessionsOf(tb, s, d, ch))
	return f
}

// A zone's detected state.
type state int

const (
	vacant state = iota
	occupied
	unsure
)

// stateAt is a zone's detected state at x seconds: the last change that
// began at or before x (detectedAt with Unsure).
func stateAt(ch []emitted, zone string, x float64) state {
	st, at := vacant, math.Inf(-1)
	for _, c := range ch {
		if c.Zone.ID == zone && sec(c.At) <= x && sec(c.At) >= at {
			at = sec(c.At)
			switch {
			case c.Unsure:
				st = unsure
			case c.Occupied:
				st = occupied
			default:
				st = vacant
			}
		}
	}
	return st
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// sessionsOf turns a run's staff and citizen changes into sessions with
// agent/camera/presence, as TestSessionsFromClips does.
func sessionsOf(tb testing.TB, s scene.Scene, d *decoded, ch []emitted) []presence.Session {
	tb.Helper()
	cfg := presence.Config{SessionMin: time.Duration(s.SessionMinS * float64(time.Second)), SessionGap: time.Duration(s.SessionGapS * float64(time.Second))}
	c, err := presence.NewCounter(scene.Counter, cfg, kpi.DefaultWorkHours())
	if err != nil {
		tb.Fatal(err)
	}
	var got []presence.Session
	next := 0
	for i := range d.frames {
		for ; next < len(ch) && !ch[next].seen.After(d.at[i]); next++ {
			if k := ch[next].Zone.Kind; k == schema.ZoneStaff || k == schema.ZoneCitizen {
				ss, err := c.Update(k, ch[next].Occupied, ch[next].At)
				if err != nil {
					tb.Fatal(err)
				}
				got = append(got, ss...)
			}
		}
		got = append(got, c.Tick(d.at[i])...)
	}
	end := t0.Add(time.Duration(s.Duration * float64(time.Second)))
	return append(got, c.Tick(end.Add(time.Minute))...)
}

// table is the figures as a Markdown table, situations failing the goal
// marked.
func table(all []situationFigures) string {
	var b strings.Builder
	b.WriteString("| situation | keyframe | zone | seconds right | false absence | false presence | unsure | transitions ok/missed (spurious) | sessions truth/seen | goal |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, f := range all {
		goal := "meets"
		if why := f.fails(); len(why) > 0 {
			goal = "**FAILS**"
		}
		for i, z := range f.zones {
			name, key, sess, g := "", "", "", ""
			if i == 0 {
				name, key, sess, g = f.name, fmt.Sprintf("%.0f s", f.gopS), fmt.Sprintf("%d/%d", f.sessionsTruth, f.sessionsSeen), goal
			}
			fa := "-"
			if z.zone.Kind == schema.ZoneStaff {
				fa = fmt.Sprintf("%d (%.0f s)", z.falseAbsence, z.falseAbsenceS)
			}
			mark := ""
			if z.rightShare() < goalRight || z.falseAbsence > 0 || z.transMissed > 0 {
				mark = " ✗"
			}
			un := "-"
			if z.unsure > 0 {
				un = fmt.Sprintf("%d (%.0f s)", z.unsure, z.unsureS)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %.1f %%%s | %s | %d (%.0f s) | %s | %d/%d (%d) | %s | %s |\n",
				name, key, kindName(z.zone), 100*z.rightShare(), mark, fa, z.falsePresence, z.falsePresenceS, un,
				z.transOK, z.transMissed, z.spurious, sess, g)
		}
	}
	return b.String()
}

// TestSituations measures every situation of issue 15 and holds each to
// today's floor (situationFloors); the goal, not asserted yet, is 98 % of
// seconds right in every zone, zero false absence and every transition
// within 4 s. With -v it logs the full table.
func TestSituations(t *testing.T) {
	var all []situationFigures
	for _, s := range scene.Situations() {
		t.Run(s.Name, func(t *testing.T) {
			d, ch := runSituation(t, s)
			f := measure(t, s, d, ch)
			all = append(all, f)
			for _, z := range f.zones {
				t.Logf("%s %s: %.1f %% right (%d/%d s), false absence %d (%.0f s), false presence %d (%.0f s), unsure %d (%.0f s), transitions %d ok %d missed %v, %d spurious, worst backdating %.1f s, worst report delay %.1f s",
					s.Name, kindName(z.zone), 100*z.rightShare(), z.right, z.seconds, z.falseAbsence, z.falseAbsenceS,
					z.falsePresence, z.falsePresenceS, z.unsure, z.unsureS, z.transOK, z.transMissed, z.missed, z.spurious, z.worstSkew, z.worstDelay)
			}
			if why := f.fails(); len(why) > 0 {
				t.Logf("%s misses issue 15's goal: %s", s.Name, strings.Join(why, "; "))
			}
			fl, ok := situationFloors[s.Name]
			if !ok {
				t.Fatalf("%s: no floor in situationFloors", s.Name)
			}
			for _, z := range f.zones {
				lo, ok := fl.right[z.zone.ID]
				if !ok {
					t.Errorf("%s: zone %s has no floor", s.Name, z.zone.ID)
					continue
				}
				if z.rightShare() < lo {
					t.Errorf("%s %s: %.1f %% of seconds right, floor %.1f %% (goal 98 %%)", s.Name, kindName(z.zone), 100*z.rightShare(), 100*lo)
				}
				if z.zone.Kind == schema.ZoneStaff && z.falseAbsenceS > fl.falseAbsenceS {
					t.Errorf("%s: false absence %.0f s, at most %.0f s today (goal 0)", s.Name, z.falseAbsenceS, fl.falseAbsenceS)
				}
			}
			var missed int
			for _, z := range f.zones {
				missed += z.transMissed
			}
			if missed > fl.missedMax {
				t.Errorf("%s: %d transitions missed, at most %d today (goal 0)", s.Name, missed, fl.missedMax)
			}
			if diff := f.sessionsSeen - f.sessionsTruth; diff > fl.sessionsWithin || -diff > fl.sessionsWithin {
				t.Errorf("%s: %d sessions seen, truth %d (%d allowed today)", s.Name, f.sessionsSeen, f.sessionsTruth, fl.sessionsWithin)
			}
		})
	}
	t.Logf("issue 15's situations, current detector (✗: misses the goal of 98 %% right, no false absence, transitions within 4 s):\n%s", table(all))
}

// BenchmarkSituations runs the detector over every situation's keyframes
// (clips generated and decoded once, outside the timing) and prints the
// per-situation table; ns/keyframe is the detector alone.
func BenchmarkSituations(b *testing.B) {
	ss := scene.Situations()
	var frames int
	for _, s := range ss {
		frames += len(decode(b, s).frames)
	}
	b.ResetTimer()
	for range b.N {
		for _, s := range ss {
			runSituation(b, s)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*frames), "ns/keyframe")
	var all []situationFigures
	worst := 1.0
	for _, s := range ss {
		d, ch := runSituation(b, s)
		f := measure(b, s, d, ch)
		all = append(all, f)
		for _, z := range f.zones {
			worst = math.Min(worst, z.rightShare())
		}
	}
	b.ReportMetric(100*worst, "worst-%right")
	b.Logf("\n%s", table(all))
}

// TestSituationCoverage checks the situations put in the zones what issue
// 15 describes, on the decoded keyframes (3x3 blur, 12 grey levels, as
// the detector sees them): the person queueing behind the citizen's seat
// covers 6-10 % of its zone (the issue measured 7-9 %); it logs what the
// colleague leaning over the empty staff chair, the jacket and the
// flickering screen cover.
func TestSituationCoverage(t *testing.T) {
	for _, tc := range []struct {
		s             scene.Scene
		zone          string
		empty, filled float64 // keyframe times
		min, max      float64
	}{
		{scene.StandingBehind(), scene.ZoneCitizen, 10, 110, 0.06, 0.10},
		{scene.LeaningColleague(), scene.ZoneStaff, 120, 134, 0, 1},
		{scene.JacketOnChair(), scene.ZoneStaff, 1, 100, 0, 1},
		{scene.MonitorFlicker(), scene.ZoneStaff, 100, 101, 0, 1}, // bright and dark
		{scene.BagPickup(), scene.ZoneCitizen, 5, 100, 0, 1},
		{scene.OverlappingZones(), scene.ZoneWaiting, 5, 30, 0, 1}, // the bag alone
	} {
		d := decode(t, tc.s)
		a, b := frameAt(t, d, tc.empty), frameAt(t, d, tc.filled)
		var z scene.Zone
		for _, x := range tc.s.Zones {
			if x.ID == tc.zone {
				z = x
			}
		}
		cov := changedIn(a, b, z.Polygon)
		t.Logf("%s: %s zone %.1f %% changed between %.0f s and %.0f s", tc.s.Name, kindName(z), 100*cov, tc.empty, tc.filled)
		if cov < tc.min || cov > tc.max {
			t.Errorf("%s: %.1f %% of the %s zone, want %.0f-%.0f %%", tc.s.Name, 100*cov, kindName(z), 100*tc.min, 100*tc.max)
		}
	}
}

func frameAt(t *testing.T, d *decoded, x float64) keyframe.Frame {
	t.Helper()
	for i, at := range d.at {
		if math.Abs(sec(at)-x) < 0.01 {
			return d.frames[i]
		}
	}
	t.Fatalf("%s: no keyframe at %g s", d.clip.Truth.Scene, x)
	return keyframe.Frame{}
}

// changedIn is the share of a polygon's pixels that differ by more than
// 12 grey levels between two frames, each blurred 3x3.
func changedIn(a, b keyframe.Frame, poly [][2]float64) float64 {
	ba, bb := blur3(a), blur3(b)
	var n, ch int
	for y := range a.H {
		for x := range a.W {
			if !insidePoly(poly, (float64(x)+0.5)/float64(a.W), (float64(y)+0.5)/float64(a.H)) {
				continue
			}
			n++
			if math.Abs(ba[y*a.W+x]-bb[y*a.W+x]) > 12 {
				ch++
			}
		}
	}
	return float64(ch) / float64(max(n, 1))
}

func blur3(f keyframe.Frame) []float64 {
	out := make([]float64, f.W*f.H)
	for y := range f.H {
		for x := range f.W {
			var s, n float64
			for yy := max(y-1, 0); yy <= min(y+1, f.H-1); yy++ {
				for xx := max(x-1, 0); xx <= min(x+1, f.W-1); xx++ {
					s += float64(f.Pix[yy*f.W+xx])
					n++
				}
			}
			out[y*f.W+x] = s / n
		}
	}
	return out
}

// insidePoly is the even-odd rule, as the detector's zone masks use.
func insidePoly(p [][2]float64, x, y float64) bool {
	in := false
	for i, j := 0, len(p)-1; i < len(p); j, i = i, i+1 {
		xi, yi, xj, yj := p[i][0], p[i][1], p[j][0], p[j][1]
		if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
			in = !in
		}
	}
	return in
}
