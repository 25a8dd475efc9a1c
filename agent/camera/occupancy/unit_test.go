package occupancy_test

import (
	"bytes"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/agent/camera/keyframe"
	"github.com/pscm/pscm/agent/camera/occupancy"
	"github.com/pscm/pscm/internal/schema"
)

func square(x0, y0, x1, y1 float64) [][2]float64 {
	return [][2]float64{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}
}

func TestNewRejects(t *testing.T) {
	good := occupancy.Zone{ID: "c01-staff", Counter: "c01", Kind: schema.ZoneStaff, Polygon: square(0.1, 0.1, 0.3, 0.5)}
	for _, tc := range []struct {
		name string
		z    occupancy.Zone
		want string
	}{
		{"two points", occupancy.Zone{ID: "z", Counter: "c", Kind: schema.ZoneStaff, Polygon: [][2]float64{{0, 0}, {1, 1}}}, "2 points"},
		{"outside", occupancy.Zone{ID: "z", Counter: "c", Kind: schema.ZoneStaff, Polygon: square(0.5, 0.5, 1.2, 0.9)}, "outside [0,1]"},
		{"degenerate line", occupancy.Zone{ID: "z", Counter: "c", Kind: schema.ZoneStaff, Polygon: [][2]float64{{0.1, 0.1}, {0.5, 0.5}, {0.9, 0.9}}}, "degenerate"},
		{"kind", occupancy.Zone{ID: "z", Counter: "c", Kind: "desk", Polygon: square(0, 0, 1, 1)}, "kind"},
		{"id", occupancy.Zone{ID: "Z 1", Counter: "c", Kind: schema.ZoneStaff, Polygon: square(0, 0, 1, 1)}, "id must match"},
		{"duplicate", good, "twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			zones := []occupancy.Zone{good, tc.z}
			if _, err := occupancy.New(occupancy.Defaults(), zones); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
	if _, err := occupancy.New(occupancy.Defaults(), nil); err == nil {
		t.Fatal("no zones accepted")
	}
	cfg := occupancy.Defaults()
	cfg.LeaveRatio = cfg.EnterRatio
	if _, err := occupancy.New(cfg, []occupancy.Zone{good}); err == nil || !strings.Contains(err.Error(), "leave_ratio") {
		t.Fatalf("leave = enter: %v", err)
	}
	if err := occupancy.Defaults().Validate(); err != nil {
		t.Fatal(err)
	}
}

// A synthetic scene: a textured picture, a dark block entering the zone and
// staying with a little movement, the whole picture dimmed, the block
// leaving. Minimal durations and backdating hold on frames without video.
func TestObserveSynthetic(t *testing.T) {
	z := occupancy.Zone{ID: "seat", Counter: "c01", Kind: schema.ZoneCitizen, Polygon: square(0.5, 0.2, 0.9, 0.9)}
	d, err := occupancy.New(occupancy.Defaults(), []occupancy.Zone{z})
	if err != nil {
		t.Fatal(err)
	}
	frame := func(person bool, dx int, gain float64) keyframe.Frame {
		f := keyframe.Frame{W: 160, H: 90, Pix: make([]byte, 160*90)}
		for y := range 90 {
			for x := range 160 {
				v := 100 + float64((x/8+y/8)%2)*60
				if person && x >= 95+dx && x < 130+dx && y >= 25 && y < 80 {
					v = 30 + float64(y%7)*4
				}
				f.Pix[y*160+x] = byte(v * gain)
			}
		}
		return f
	}
	base := time.Unix(1_800_000_000, 0)
	var changes []occupancy.Change
	for s := range 60 {
		person := s >= 10 && s < 40
		gain := 1.0
		if s >= 20 {
			gain = 0.6 // lights dimmed while the person sits
		}
		changes = append(changes, d.Observe(frame(person, s%3, gain), base.Add(time.Duration(s)*time.Second))...)
	}
	if len(changes) != 2 || !changes[0].Occupied || changes[1].Occupied {
		t.Fatalf("changes %+v", changes)
	}
	if !changes[0].At.Equal(base.Add(10*time.Second)) || !changes[1].At.Equal(base.Add(40*time.Second)) {
		t.Fatalf("backdated to %s and %s", changes[0].At.Sub(base), changes[1].At.Sub(base))
	}
	if c := changes[0].Confidence; c < 0.5 || c > 1 {
		t.Fatalf("confidence %g", c)
	}
	if st := d.State(); len(st) != 1 || st[0].Occupied {
		t.Fatalf("state %+v", st)
	}
	// Bad frames change nothing.
	before := d.State()
	d.Observe(keyframe.Frame{W: 160, H: 90, Pix: make([]byte, 10)}, base.Add(time.Hour))
	d.Observe(frame(true, 0, 1), base) // older than the last
	if after := d.State(); after[0].Occupied != before[0].Occupied || after[0].Ratio != before[0].Ratio {
		t.Fatal("a bad frame changed the state")
	}
	// A uniform frame is a covered lens.
	flat := keyframe.Frame{W: 160, H: 90, Pix: bytes.Repeat([]byte{40}, 160*90)}
	d.Observe(flat, base.Add(2*time.Hour))
	if tp, why := d.Tamper(); !tp || !strings.HasPrefix(why, "covered") {
		t.Fatalf("tamper %v %q", tp, why)
	}
	d.Observe(frame(false, 0, 0.6), base.Add(2*time.Hour+time.Second))
	if tp, _ := d.Tamper(); tp {
		t.Fatal("tamper not cleared when the view came back")
	}
}

func TestRenderPNG(t *testing.T) {
	f := keyframe.Frame{W: 160, H: 90, Pix: bytes.Repeat([]byte{128}, 160*90)}
	zones := []occupancy.Zone{
		{ID: "staff", Counter: "c01", Kind: schema.ZoneStaff, Polygon: square(0.1, 0.1, 0.4, 0.9)},
		{ID: "citizen", Counter: "c01", Kind: schema.ZoneCitizen, Polygon: square(0.6, 0.1, 0.9, 0.9)},
	}
	var buf bytes.Buffer
	err := occupancy.RenderPNG(&buf, f, zones, occupancy.ZoneState{Zone: zones[1], Occupied: true})
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 640 || b.Dy() != 360 {
		t.Fatalf("size %v", b)
	}
	// Staff outline is blue, the occupied citizen zone is tinted green,
	// the rest is the frame's grey.
	if r, g, b, _ := img.At(64, 180).RGBA(); !(b>>8 > 200 && r>>8 < 100) {
		t.Fatalf("staff outline %d,%d,%d", r>>8, g>>8, b>>8)
	}
	if r, g, _, _ := img.At(480, 180).RGBA(); g>>8 <= r>>8+30 {
		t.Fatalf("occupied zone not tinted: %d,%d", r>>8, g>>8)
	}
	if r, g, b, _ := img.At(320, 180).RGBA(); r>>8 != 128 || g>>8 != 128 || b>>8 != 128 {
		t.Fatalf("frame pixel %d,%d,%d", r>>8, g>>8, b>>8)
	}
	if err := occupancy.RenderPNG(&buf, keyframe.Frame{W: 4, H: 4}, zones); err == nil {
		t.Fatal("frame without pixels rendered")
	}
}
