package scene_test

import (
	"reflect"
	"testing"

	"github.com/pscm/pscm/internal/scene"
	"github.com/pscm/pscm/internal/schema"
)

// TestReadyHashesUnchanged: what issue 15's situations added to the
// generator (still stretches, objects' and figures' scale and place,
// jackets, standing and leaning people, flickering screens) leaves every
// clip made before the same: these are their hashes before the change, so
// caches stay valid and the accuracy figures measured on them still stand.
func TestReadyHashesUnchanged(t *testing.T) {
	short := func(codec string) scene.Scene { // agent/camera/keyframe's shortTamper
		s := scene.Tampered()
		s.Name, s.Codec, s.Duration = "short-"+codec, codec, 16
		s.Tampers = []scene.Tamper{{Kind: scene.Cover, Start: 11, End: 16}}
		s.Actors[0].Out = 14
		return s
	}
	for _, tc := range []struct {
		s    scene.Scene
		hash string
	}{
		{scene.Day(), "80721e57b277f03f9879"},
		{scene.PassersBy(), "c7c3c2419c9cb34bc0fc"},
		{scene.Lighting(), "2483ec927d1b0b9fc9e8"},
		{scene.LeftObject(), "c40b9d62ba7478ce4783"},
		{scene.Tampered(), "50e043b9c41cd4a7c6df"},
		{scene.Brief(), "ad2d4659d0af23b54799"},
		{scene.Bench1080p(20), "57187724aa212adef8ea"},
		{scene.Bench1080p(4), "8235298f4787c11bddc4"},
		{short(schema.CodecH264), "f1ca20443b90326cf6ea"},
		{short(schema.CodecH265), "e39395b36518def4a015"},
	} {
		if got := tc.s.Hash(); got != tc.hash {
			t.Errorf("%s (%g s): hash %s, was %s: the clip would be made anew", tc.s.Name, tc.s.Duration, got, tc.hash)
		}
	}
}

func TestSituationsValid(t *testing.T) {
	names := map[string]bool{}
	for _, s := range scene.Situations() {
		if err := s.Validate(); err != nil {
			t.Error(err)
		}
		if names[s.Name] {
			t.Errorf("%s twice", s.Name)
		}
		names[s.Name] = true
		if s.W != 640 || s.H != 360 || s.FPS != 5 || s.KbitRate == 0 || s.Duration > 700 {
			t.Errorf("%s: %dx%d %d fps %g s: keep the situations cheap to make", s.Name, s.W, s.H, s.FPS, s.Duration)
		}
		if s.Hash() == scene.Day().Hash() {
			t.Errorf("%s hashes as the day scene", s.Name)
		}
	}
	if len(names) != 10 {
		t.Fatalf("%d situations", len(names))
	}
	bad := func(name string, f func(*scene.Scene)) {
		s := scene.LeaningColleague()
		f(&s)
		if err := s.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	leaner := 3 // colleague-1
	bad("leaner in a zone", func(s *scene.Scene) { s.Actors[leaner].Zone = scene.ZoneStaff })
	bad("leaner without feet", func(s *scene.Scene) { s.Actors[leaner].U = 0 })
	bad("stander in no known zone", func(s *scene.Scene) {
		s.Actors[leaner].Kind, s.Actors[leaner].Zone = scene.Stander, "nowhere"
	})
	bad("scale", func(s *scene.Scene) { s.Actors[leaner].Scale = 5 })
	bad("seated person scaled", func(s *scene.Scene) { s.Actors[0].Scale = 0.5 })
	bad("still outside the stay", func(s *scene.Scene) { s.Actors[0].Still = []scene.Still{{From: 1, To: 50}} })
	bad("still backwards", func(s *scene.Scene) { s.Actors[0].Still = []scene.Still{{From: 50, To: 40}} })
	bad("head of a leaner", func(s *scene.Scene) { s.Actors[leaner].Still = []scene.Still{{From: 41, To: 45, Head: 0.3}} })
	bad("jacket nowhere", func(s *scene.Scene) {
		s.Actors = append(s.Actors, scene.Actor{Name: "j", Kind: scene.Jacket, Zone: "nowhere", In: 1})
	})
	bad("flicker outside", func(s *scene.Scene) {
		s.Flickers = []scene.Flicker{{Region: [4]float64{0.9, 0.1, 1.1, 0.2}, Period: 2, Grey: 200}}
	})
	bad("flicker period", func(s *scene.Scene) {
		s.Flickers = []scene.Flicker{{Region: [4]float64{0.1, 0.1, 0.2, 0.2}, Grey: 200}}
	})
}

// TestSituationsTruth: what each situation's truth says; objects, people
// standing behind a seat and people leaning over one occupy nothing.
func TestSituationsTruth(t *testing.T) {
	iv := func(x ...float64) []scene.Interval {
		out := []scene.Interval{}
		for i := 0; i < len(x); i += 2 {
			out = append(out, scene.Interval{x[i], x[i+1]})
		}
		return out
	}
	eq := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}

	tr := scene.StillOfficial().Truth()
	eq("still official: staff", tr.Occupied[scene.ZoneStaff], iv(5, 245))
	eq("still official: sessions", tr.Sessions, iv(60, 120))
	if st := scene.StillOfficial().Actors[0].Still; len(st) != 1 || st[0].Sway != 0 || st[0].Head < 0.3 || st[0].To-st[0].From < 180 {
		t.Errorf("still official: %+v, want body still and the head moving about ±1 cm for 3+ minutes", st)
	}

	tr = scene.TypingStill().Truth()
	eq("typing: staff", tr.Occupied[scene.ZoneStaff], iv(5, 635))
	eq("typing: sessions", len(tr.Sessions), 3)
	if st := scene.TypingStill().Actors[0].Still; len(st) != 1 || st[0].Sway != 0 || st[0].Head != 0 || st[0].To-st[0].From < 600 {
		t.Errorf("typing: %+v, want 10 minutes without a visible movement", st)
	}

	tr = scene.BagPickup().Truth()
	eq("bag pickup: bag", tr.Objects[scene.ZoneCitizen], iv(14, 222))
	eq("bag pickup: citizen seat", tr.Occupied[scene.ZoneCitizen], iv(10, 40, 216, 222, 290, 330))
	eq("bag pickup: sessions", tr.Sessions, iv(10, 40, 290, 330)) // picking it up in 6 s is no session
	if tr.OccupiedAt(scene.ZoneCitizen, 100) || !tr.ObjectAt(scene.ZoneCitizen, 100) || tr.ObjectAt(scene.ZoneCitizen, 230) {
		t.Error("bag pickup: the bag lies alone on a vacant seat at 100 s and is gone at 230 s")
	}

	s := scene.StandingBehind()
	tr = s.Truth()
	eq("standing behind: citizen seat", tr.Occupied[scene.ZoneCitizen], iv(15, 80, 150, 200, 228, 255))
	eq("standing behind: standing", tr.Standing, iv(45, 140, 170, 225))
	eq("standing behind: sessions", tr.Sessions, iv(15, 80, 150, 200, 228, 255))
	for _, a := range s.Actors {
		if a.Kind == scene.Stander && (a.Zone != "" || a.V > 0.45 || a.V < 0.35) {
			t.Errorf("standing behind: %s stands at v %g in %q, want behind the seat's zone (its top at 0.30)", a.Name, a.V, a.Zone)
		}
	}

	s = scene.OverlappingZones()
	tr = s.Truth()
	c, w := s.Zones[1].Polygon, s.Zones[2].Polygon
	if w[0][0] >= c[1][0] { // the waiting zone's left edge inside the seat zone's right edge
		t.Errorf("overlapping zones: waiting %v does not overlap citizen %v", w, c)
	}
	eq("overlap: waiting", tr.Occupied[scene.ZoneWaiting], iv(8, 25))
	eq("overlap: bag", tr.Objects[scene.ZoneWaiting], iv(22, 300))
	eq("overlap: citizen", tr.Occupied[scene.ZoneCitizen], iv(40, 220))

	s = scene.Linger()
	tr = s.Truth()
	if z := s.Zones[3]; z.ID != scene.ZoneFloor || z.Kind != schema.ZoneWaiting {
		t.Errorf("linger: zone %+v", z)
	}
	eq("linger: floor", tr.Occupied[scene.ZoneFloor], iv(15, 18, 35.5, 38.5, 55, 60, 85, 95))
	eq("linger: passers-by", tr.Passersby, iv(70, 74))

	tr = scene.JacketOnChair().Truth()
	eq("jacket: staff", tr.Occupied[scene.ZoneStaff], iv(5, 60, 160, 260))
	eq("jacket: jacket", tr.Objects[scene.ZoneStaff], iv(5, 260))
	if tr.OccupiedAt(scene.ZoneStaff, 100) || tr.StaffPresentS != 55+100 {
		t.Errorf("jacket: the jacket alone is no presence (present %g s)", tr.StaffPresentS)
	}

	s = scene.MonitorFlicker()
	tr = s.Truth()
	if len(tr.Flickers) != 1 {
		t.Fatalf("flicker: %v", tr.Flickers)
	}
	r, z := tr.Flickers[0].Region, s.Zones[0].Polygon
	if r[0] < z[3][0] || r[2] > z[1][0] || r[1] < z[0][1] || r[3] > z[2][1] {
		t.Errorf("flicker: screen %v outside the staff zone %v", r, z)
	}
	eq("flicker: staff", tr.Occupied[scene.ZoneStaff], iv(5, 90, 200, 290))

	tr = scene.LeaningColleague().Truth()
	eq("leaning: staff", tr.Occupied[scene.ZoneStaff], iv(5, 100, 180, 262))
	eq("leaning: standing", tr.Standing, iv(40, 48, 130, 138, 220, 224))
	if tr.OccupiedAt(scene.ZoneStaff, 134) {
		t.Error("leaning: the colleague leaning over the empty chair is not seated")
	}

	s = scene.Substream5fps()
	if k := float64(s.GOP) / float64(s.FPS); k != 4 || s.FPS != 5 || s.KbitRate == 0 {
		t.Errorf("substream: %d fps, keyframe every %g s, %d kbit/s", s.FPS, k, s.KbitRate)
	}
	for id, ivs := range s.Truth().Occupied {
		for _, x := range ivs {
			if x[1] > s.Duration-12 {
				t.Errorf("substream: %s changes at %g s, too late for three 4 s keyframes to see it", id, x[1])
			}
		}
	}
}

// TestStaffed: the fault suite's camera shows the empty chair for its
// first seconds, then its official to the end, and nobody else: no session
// to count.
func TestStaffed(t *testing.T) {
	s := scene.Staffed()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	tr := s.Truth()
	if len(tr.Sessions) != 0 || len(tr.Occupied[scene.ZoneCitizen]) != 0 || len(tr.Occupied[scene.ZoneWaiting]) != 0 {
		t.Errorf("staffed scene: sessions %v, occupied %v: want the official alone", tr.Sessions, tr.Occupied)
	}
	if st := tr.Occupied[scene.ZoneStaff]; len(st) != 1 || st[0][0] < 3 || st[0][0] > 10 || st[0][1] != s.Duration {
		t.Errorf("official seated %v: want from a few seconds in to the end", st)
	}
}
