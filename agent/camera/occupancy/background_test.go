package occupancy_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/pscm/pscm/agent/camera/keyframe"
	"github.com/pscm/pscm/agent/camera/occupancy"
	"github.com/pscm/pscm/internal/scene"
	"github.com/pscm/pscm/internal/schema"
)

// TestRestartWhileSeated: an agent restarted while the official sits keeps
// seeing her, because the empty scene it learned before is kept; without
// it the detector learns her into the empty chair (the control), says
// nothing of her while she works and shows a ghost once she has gone.
// Real H.264 of the staffed scene, decoded by libavcodec.
func TestRestartWhileSeated(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the generated clip (ffmpeg)")
	}
	s := scene.Staffed()
	d := decode(t, s)
	staffOf := func(chs []occupancy.Change) []occupancy.Change {
		var out []occupancy.Change
		for _, c := range chs {
			if c.Zone.Kind == schema.ZoneStaff {
				out = append(out, c)
			}
		}
		return out
	}
	// The first run: the empty chair, then the official sitting.
	first := detector(t, zonesOf(s)...)
	for i := range 40 {
		first.Observe(d.frames[i], d.at[i])
	}
	if st := first.State(); !st[0].Occupied || st[0].Zone.Kind != schema.ZoneStaff {
		t.Fatalf("first run: official's seat %+v, want occupied", st[0])
	}
	bg, ok := first.Background()
	if !ok {
		t.Fatal("no background to keep after 40 keyframes")
	}
	b, err := bg.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var kept occupancy.Background
	if err := kept.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}

	// The restart, a minute on, while she sits; then the chair empty again
	// (the clip's first keyframe, later).
	run := func(restore bool) []occupancy.Change {
		det := detector(t, zonesOf(s)...)
		if restore {
			if err := det.Restore(kept); err != nil {
				t.Fatal(err)
			}
		}
		var chs []occupancy.Change
		at := d.at[len(d.at)-1].Add(time.Minute)
		for i := 40; i < 100; i++ {
			chs = append(chs, det.Observe(d.frames[i], at)...)
			at = at.Add(time.Second)
		}
		for range 30 {
			chs = append(chs, det.Observe(d.frames[0], at)...)
			at = at.Add(time.Second)
		}
		return staffOf(chs)
	}
	got := run(true)
	if len(got) != 2 || !got[0].Occupied || got[1].Occupied || got[0].Unsure || got[1].Unsure {
		t.Errorf("restarted with the kept background: %+v, want occupied (she sits) then vacant (she has gone)", got)
	}
	control := run(false)
	gone := d.at[len(d.at)-1].Add(time.Minute + 60*time.Second)
	for _, c := range control {
		if c.Occupied && c.At.Before(gone) {
			t.Fatalf("control: without the kept background the seated official was seen (%+v): the test proves nothing", c)
		}
	}
	if len(control) == 0 || !control[0].Occupied {
		t.Fatalf("control: %+v, want no word of her while she sits and a ghost once she has gone", control)
	}
}

// A kept background survives its file form (to a grey level) and a damaged
// or foreign file is refused whole.
func TestBackgroundFile(t *testing.T) {
	d := detector(t, seat)
	if _, ok := d.Background(); ok {
		t.Fatal("a background before any frame")
	}
	feed(t, d, base, time.Second, 3, func(int) keyframe.Frame { return picture() })
	bg, ok := d.Background()
	if !ok {
		t.Fatal("no background after three frames")
	}
	b, err := bg.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back occupancy.Background
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	for i := range bg.Ref {
		if diff := back.Ref[i] - bg.Ref[i]; diff > 0.5 || diff < -0.5 {
			t.Fatalf("pixel %d: %v kept as %v", i, bg.Ref[i], back.Ref[i])
		}
	}
	for name, bad := range map[string][]byte{
		"empty":     nil,
		"truncated": b[:len(b)/2],
		"bit flip":  append(append([]byte{}, b[:40]...), append([]byte{b[40] ^ 1}, b[41:]...)...),
		"foreign":   append([]byte("PSCMBG\x00\x02"), b[8:]...),
	} {
		var got occupancy.Background
		if err := got.UnmarshalBinary(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := detector(t, seat).Restore(occupancy.Background{W: 4, H: 4}); err == nil {
		t.Error("a 4x4 background restored")
	}
	if err := d.Restore(back); err == nil {
		t.Error("restored after the first frame")
	}
	// Restored, the same empty seat is vacant and a person on it is seen.
	r := detector(t, seat)
	if err := r.Restore(back); err != nil {
		t.Fatal(err)
	}
	person := block{x0: 90, y0: 25, x1: 135, y1: 80, shade: 30}
	ch := feed(t, r, base, time.Second, 10, func(i int) keyframe.Frame { p := person; p.dx = i % 3; return picture(p) })
	if len(ch) != 1 || !ch[0].Occupied || !ch[0].At.Equal(base) {
		t.Fatalf("a person seen from the first frame after a restore: %+v", ch)
	}
}

func FuzzBackgroundFile(f *testing.F) {
	bg := occupancy.Background{W: 8, H: 8, Ref: make([]float32, 64), Anchor: make([]float32, 64)}
	b, _ := bg.MarshalBinary()
	f.Add(b)
	f.Add([]byte("PSCMBG\x00\x01\x00\x08\x00\x08"))
	f.Fuzz(func(t *testing.T, p []byte) {
		var got occupancy.Background
		if err := got.UnmarshalBinary(p); err != nil {
			return
		}
		again, err := got.MarshalBinary()
		if err != nil {
			t.Fatalf("accepted %d bytes that do not marshal: %v", len(p), err)
		}
		if !bytes.Equal(again, p) {
			t.Fatal("accepted bytes are not the file form of what they decode to")
		}
	})
}
