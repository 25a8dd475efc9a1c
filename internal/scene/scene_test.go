package scene_test

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/annexb"
	"github.com/pscm/pscm/internal/scene"
	"github.com/pscm/pscm/internal/schema"
)

func TestTruth(t *testing.T) {
	tr := scene.Day().Truth()
	want := []scene.Interval{{20, 80}, {105, 140}, {215, 290}, {310, 345}}
	if !reflect.DeepEqual(tr.Sessions, want) {
		t.Fatalf("sessions %v, want %v (citizen-3 sits while the official is on a break)", tr.Sessions, want)
	}
	if got := tr.Occupied[scene.ZoneStaff]; !reflect.DeepEqual(got, []scene.Interval{{5, 150}, {200, 352}}) {
		t.Fatalf("staff %v", got)
	}
	if tr.StaffPresentS != 145+152 {
		t.Fatalf("staff present %g s", tr.StaffPresentS)
	}
	if !tr.OccupiedAt(scene.ZoneCitizen, 20) || tr.OccupiedAt(scene.ZoneCitizen, 80) || tr.OccupiedAt(scene.ZoneCitizen, 88) {
		t.Fatal("OccupiedAt disagrees with the intervals")
	}
	if len(tr.Passersby) != 1 {
		t.Fatalf("passers-by %v", tr.Passersby)
	}
	lo := scene.LeftObject().Truth()
	if !lo.ObjectAt(scene.ZoneCitizen, 200) || lo.OccupiedAt(scene.ZoneCitizen, 200) {
		t.Fatal("left object scene: the bag lies on an empty seat at 200 s")
	}
	if k := scene.Tampered().Truth().TamperedAt(80); k != scene.Shift {
		t.Fatalf("tamper at 80 s: %q", k)
	}
	// Sessions: a citizen seated while the official arrives counts from
	// the official's arrival; a gap shorter than SessionGapS joins visits.
	s := scene.PassersBy()
	s.Actors = []scene.Actor{
		{Name: "o", Kind: scene.Person, Zone: scene.ZoneStaff, In: 30, Out: 80, Side: scene.Left},
		{Name: "a", Kind: scene.Person, Zone: scene.ZoneCitizen, In: 20, Out: 50, Side: scene.Right},
		{Name: "b", Kind: scene.Person, Zone: scene.ZoneCitizen, In: 55, Out: 60, Side: scene.Right},
		{Name: "c", Kind: scene.Person, Zone: scene.ZoneCitizen, In: 78, Out: 89, Side: scene.Right},
	}
	if got := s.Truth().Sessions; !reflect.DeepEqual(got, []scene.Interval{{30, 60}}) {
		t.Fatalf("sessions %v", got)
	}
}

func TestValidate(t *testing.T) {
	for _, s := range scene.Ready() {
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	bad := func(name string, f func(*scene.Scene)) {
		s := scene.PassersBy()
		f(&s)
		if err := s.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	bad("odd width", func(s *scene.Scene) { s.W = 641 })
	bad("codec", func(s *scene.Scene) { s.Codec = "vp9" })
	bad("no gop", func(s *scene.Scene) { s.GOP = 0 })
	bad("unknown zone", func(s *scene.Scene) { s.Actors[0].Zone = "nowhere" })
	bad("out before in", func(s *scene.Scene) { s.Actors[0].Out = 1 })
	bad("gain", func(s *scene.Scene) { s.Lights = []scene.Light{{At: 1, Gain: 0}} })
	bad("tamper", func(s *scene.Scene) { s.Tampers = []scene.Tamper{{Kind: "paint", Start: 1, End: 2}} })
}

// TestGenerate makes a clip, checks it is what a camera sends (one picture
// per frame, a keyframe every GOP frames with its parameter sets in front)
// and that a second Generate finds it in the cache without ffmpeg.
func TestGenerate(t *testing.T) {
	dir, err := scene.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := scene.PassersBy()
	c, err := scene.Generate(ctx, dir, s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(c.Path, ".h264") || c.Codec != schema.CodecH264 {
		t.Fatalf("clip %s, codec %s", c.Path, c.Codec)
	}
	b, err := os.ReadFile(c.Path)
	if err != nil {
		t.Fatal(err)
	}
	aus := annexb.SplitAccessUnits(c.Codec, b)
	if want := int(s.Duration) * s.FPS; len(aus) != want {
		t.Fatalf("%d access units, want %d", len(aus), want)
	}
	for i, au := range aus {
		key := annexb.IsKeyframe(c.Codec, au)
		if key != (i%s.GOP == 0) {
			t.Fatalf("access unit %d: keyframe %v with a GOP of %d", i, key, s.GOP)
		}
		if n := annexb.Split(au); key && annexb.Type(c.Codec, n[0]) != annexb.H264SPS && annexb.Type(c.Codec, n[1]) != annexb.H264SPS {
			t.Fatalf("keyframe %d has no SPS in front", i)
		}
	}
	truth, err := scene.LoadTruth(c.TruthPath)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(truth, s.Truth()) {
		t.Fatalf("truth file differs from the scene's truth:\n%+v\n%+v", truth, s.Truth())
	}

	t.Setenv("PATH", t.TempDir())
	again, err := scene.Generate(ctx, dir, s)
	if err != nil || again.Path != c.Path {
		t.Fatalf("cached clip: %v, %s", err, again.Path)
	}
	// A changed scene is a new clip, which needs ffmpeg.
	s.Actors[0].Out++
	if _, err := scene.Generate(ctx, dir, s); err == nil || !strings.Contains(err.Error(), "apt-get install ffmpeg") {
		t.Fatalf("changed scene without ffmpeg: %v", err)
	}
}
