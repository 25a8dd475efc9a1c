package occupancy_test

import (
	"testing"
	"time"

	"github.com/pscm/pscm/agent/camera/keyframe"
	"github.com/pscm/pscm/agent/camera/occupancy"
	"github.com/pscm/pscm/internal/schema"
)

// block is a rectangle of pixels drawn on the synthetic picture, with a
// texture of its own so it differs from the background everywhere; dx
// shifts it (a person's sway).
type block struct {
	x0, y0, x1, y1 int
	dx             int
	shade          float64
}

// picture is a 160x90 checkerboard with blocks drawn on it.
func picture(blocks ...block) keyframe.Frame {
	f := keyframe.Frame{W: 160, H: 90, Pix: make([]byte, 160*90)}
	for y := range 90 {
		for x := range 160 {
			v := 100 + float64((x/8+y/8)%2)*60
			for _, b := range blocks {
				if x >= b.x0+b.dx && x < b.x1+b.dx && y >= b.y0 && y < b.y1 {
					v = b.shade + float64(y%7)*4
				}
			}
			f.Pix[y*160+x] = byte(v)
		}
	}
	return f
}

// feed runs frames one a second (or every gap) from base and returns the
// changes; frame(i) gives the i-th frame.
func feed(t *testing.T, d *occupancy.Detector, base time.Time, gap time.Duration, n int, frame func(i int) keyframe.Frame) []occupancy.Change {
	t.Helper()
	var out []occupancy.Change
	for i := range n {
		out = append(out, d.Observe(frame(i), base.Add(time.Duration(i)*gap))...)
	}
	return out
}

var base = time.Unix(1_800_000_000, 0)

func detector(t *testing.T, zones ...occupancy.Zone) *occupancy.Detector {
	t.Helper()
	d, err := occupancy.New(occupancy.Defaults(), zones)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// The seat's zone covers x 80..144, y 18..81 of 160x90.
var seat = occupancy.Zone{ID: "seat", Counter: "c01", Kind: schema.ZoneCitizen, Polygon: square(0.5, 0.2, 0.9, 0.9)}

// A bag put on a seat and left there is an object: the seat is vacant once
// it has lain still for AbsorbAfter; when it is picked up the seat stays
// vacant (no ghost of it), and the next citizen is seen as usual.
func TestObjectLeavesNoGhost(t *testing.T) {
	d := detector(t, seat)
	absorb := int(occupancy.Defaults().AbsorbAfter / time.Second)
	var changes []occupancy.Change
	changes = append(changes, feed(t, d, base, time.Second, 5, func(int) keyframe.Frame { return picture() })...)
	// 30x26 of the 64x63 zone: enough to turn it occupied, under a person.
	bag := block{x0: 95, y0: 52, x1: 125, y1: 78, shade: 40}
	at := base.Add(5 * time.Second)
	changes = append(changes, feed(t, d, at, time.Second, absorb+10, func(int) keyframe.Frame { return picture(bag) })...)
	at = at.Add(time.Duration(absorb+10) * time.Second)
	if len(changes) != 2 || !changes[0].Occupied || changes[1].Occupied {
		t.Fatalf("bag: changes %+v, want occupied then vacant (an object)", changes)
	}
	// Picked up: nothing changes.
	if ch := feed(t, d, at, time.Second, 20, func(int) keyframe.Frame { return picture() }); len(ch) != 0 {
		t.Fatalf("a ghost after the bag was taken: %+v", ch)
	}
	at = at.Add(20 * time.Second)
	person := block{x0: 90, y0: 25, x1: 135, y1: 80, shade: 30}
	ch := feed(t, d, at, time.Second, 10, func(i int) keyframe.Frame { p := person; p.dx = i % 3; return picture(p) })
	if len(ch) != 1 || !ch[0].Occupied {
		t.Fatalf("the next citizen: %+v", ch)
	}
}

// A person-sized change is never an object, however still: an official
// reading without a movement the camera can see stays present.
func TestStillPersonStays(t *testing.T) {
	staff := occupancy.Zone{ID: "staff", Counter: "c01", Kind: schema.ZoneStaff, Polygon: square(0.5, 0.2, 0.9, 0.9)}
	d := detector(t, staff)
	feed(t, d, base, time.Second, 5, func(int) keyframe.Frame { return picture() })
	person := block{x0: 88, y0: 22, x1: 138, y1: 81, shade: 30}
	ch := feed(t, d, base.Add(5*time.Second), time.Second, 600, func(int) keyframe.Frame { return picture(person) })
	if len(ch) != 1 || !ch[0].Occupied {
		t.Fatalf("a still person for 10 minutes: %+v, want occupied once and nothing more", ch)
	}
}

// In the official's seat a small still change (a jacket on the chair) is
// neither presence nor absence: Unsure, until it goes.
func TestStaffSeatUnsure(t *testing.T) {
	staff := occupancy.Zone{ID: "staff", Counter: "c01", Kind: schema.ZoneStaff, Polygon: square(0.5, 0.2, 0.9, 0.9)}
	d := detector(t, staff)
	feed(t, d, base, time.Second, 5, func(int) keyframe.Frame { return picture() })
	jacket := block{x0: 95, y0: 40, x1: 125, y1: 65, shade: 45}
	absorb := int(occupancy.Defaults().AbsorbAfter / time.Second)
	ch := feed(t, d, base.Add(5*time.Second), time.Second, absorb+10, func(int) keyframe.Frame { return picture(jacket) })
	if len(ch) != 2 || !ch[0].Occupied || !ch[1].Unsure || ch[1].Occupied {
		t.Fatalf("jacket: %+v, want occupied then unsure", ch)
	}
	if st := d.State(); !st[0].Unsure {
		t.Fatalf("state %+v", st)
	}
	at := base.Add(time.Duration(absorb+15) * time.Second)
	ch = feed(t, d, at, time.Second, 5, func(int) keyframe.Frame { return picture() })
	if len(ch) != 1 || ch[0].Occupied || ch[0].Unsure || !ch[0].At.Equal(at) {
		t.Fatalf("jacket taken: %+v, want vacant at %v", ch, at)
	}
}

// Someone standing behind the seat covers its top band only: it never
// turns the seat occupied, nor keeps it so once the citizen has left.
func TestStandingBehind(t *testing.T) {
	d := detector(t, seat)
	feed(t, d, base, time.Second, 5, func(int) keyframe.Frame { return picture() })
	behind := block{x0: 85, y0: 0, x1: 140, y1: 30, shade: 35} // down to y 30: the top 12 rows of the zone
	ch := feed(t, d, base.Add(5*time.Second), time.Second, 20, func(i int) keyframe.Frame { b := behind; b.dx = i % 3; return picture(b) })
	if len(ch) != 0 {
		t.Fatalf("standing behind an empty seat: %+v", ch)
	}
	person := block{x0: 90, y0: 30, x1: 135, y1: 80, shade: 60}
	ch = feed(t, d, base.Add(25*time.Second), time.Second, 20, func(i int) keyframe.Frame {
		b, p := behind, person
		b.dx, p.dx = i%3, i%2
		return picture(b, p)
	})
	if len(ch) != 1 || !ch[0].Occupied {
		t.Fatalf("citizen sits: %+v", ch)
	}
	ch = feed(t, d, base.Add(45*time.Second), time.Second, 20, func(i int) keyframe.Frame { b := behind; b.dx = i % 3; return picture(b) })
	if len(ch) != 1 || ch[0].Occupied || !ch[0].At.Equal(base.Add(45*time.Second)) {
		t.Fatalf("citizen left, someone still behind: %+v, want vacant at 45 s", ch)
	}
}

// A waiting area whose polygon overlaps the citizen's seat: a citizen
// seated in the overlap is the seat's, not the waiting area's, and an
// object left in the waiting area is taken for one without taking any of
// the citizen's pixels: when the citizen leaves, only the seat changes.
func TestOverlappingZonesAbsorb(t *testing.T) {
	waiting := occupancy.Zone{ID: "waiting", Counter: "c01", Kind: schema.ZoneWaiting, Polygon: square(0.3, 0.4, 0.7, 0.9)}
	d := detector(t, seat, waiting)
	feed(t, d, base, time.Second, 5, func(int) keyframe.Frame { return picture() })
	person := block{x0: 90, y0: 30, x1: 135, y1: 80, shade: 30} // in the seat, and where the two overlap
	box := block{x0: 52, y0: 55, x1: 78, y1: 80, shade: 50}     // in the waiting area only
	absorb := int(occupancy.Defaults().AbsorbAfter / time.Second)
	ch := feed(t, d, base.Add(5*time.Second), time.Second, absorb+20, func(int) keyframe.Frame { return picture(person, box) })
	if st := d.State(); !st[0].Occupied || st[1].Occupied {
		t.Fatalf("changes %+v, states %+v: want the seat occupied, the waiting area vacant (its box an object)", ch, st)
	}
	at := base.Add(time.Duration(absorb+25) * time.Second)
	ch = feed(t, d, at, time.Second, 10, func(int) keyframe.Frame { return picture(box) })
	if len(ch) != 1 || ch[0].Zone.ID != "seat" || ch[0].Occupied || !ch[0].At.Equal(at) {
		t.Fatalf("the citizen left: %+v, want only the seat vacant at %v", ch, at)
	}
}

// Minimum durations count keyframes: a 3 s stay with 1 s keyframes is
// three keyframes and counts; a 2 s one does not; with 4 s keyframes one
// keyframe is never enough.
func TestMinOnCountsKeyframes(t *testing.T) {
	person := block{x0: 90, y0: 25, x1: 135, y1: 80, shade: 30}
	for _, tc := range []struct {
		name       string
		gap        time.Duration
		showing    int
		wantChange bool
	}{
		{"3 s at 1 s keyframes", time.Second, 3, true},
		{"2 s at 1 s keyframes", time.Second, 2, false},
		{"one keyframe at 4 s", 4 * time.Second, 1, false},
		{"two keyframes at 4 s", 4 * time.Second, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := detector(t, seat)
			ch := feed(t, d, base, tc.gap, 3+tc.showing+3, func(i int) keyframe.Frame {
				if i >= 3 && i < 3+tc.showing {
					p := person
					p.dx = i % 2
					return picture(p)
				}
				return picture()
			})
			on := false
			for _, c := range ch {
				on = on || c.Occupied
			}
			if on != tc.wantChange {
				t.Fatalf("changes %+v, want occupied: %v", ch, tc.wantChange)
			}
		})
	}
}

// A screen in the seat's zone going dark and bright every keyframe or two
// is not someone: once its pixels are seen flickering the seat stays
// vacant; a person sitting in front of it is seen as usual.
func TestFlickerIsNotSomeone(t *testing.T) {
	staff := occupancy.Zone{ID: "staff", Counter: "c01", Kind: schema.ZoneStaff, Polygon: square(0.5, 0.2, 0.9, 0.9)}
	d := detector(t, staff)
	screen := block{x0: 92, y0: 45, x1: 122, y1: 70, shade: 230}
	on := func(i int) bool { return (i/2+i/3)%2 == 1 } // irregular, as a 1.3 s period seen at 1 s keyframes
	frame := func(i int, extra ...block) keyframe.Frame {
		bs := append([]block(nil), extra...)
		if on(i) {
			bs = append([]block{screen}, bs...)
		}
		return picture(bs...)
	}
	var after []occupancy.Change
	for i := range 120 {
		ch := d.Observe(frame(i), base.Add(time.Duration(i)*time.Second))
		if i >= 30 { // past the first 15 keyframes the flicker is known
			after = append(after, ch...)
		}
	}
	if st := d.State(); st[0].Occupied || len(after) != 0 {
		t.Fatalf("a flickering screen: state %+v, changes after it was learnt %+v", st, after)
	}
	person := block{x0: 88, y0: 22, x1: 138, y1: 81, shade: 30}
	var ch []occupancy.Change
	for i := 120; i < 140; i++ {
		p := person
		p.dx = i % 3
		ch = append(ch, d.Observe(frame(i, p), base.Add(time.Duration(i)*time.Second))...)
	}
	if len(ch) != 1 || !ch[0].Occupied {
		t.Fatalf("someone sitting in front of the screen: %+v", ch)
	}
}
