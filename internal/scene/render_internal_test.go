package scene

import (
	"slices"
	"strings"
	"testing"
)

// inputs are the stills the main job overlays, in order.
func inputs(s Scene) []string {
	jobs := s.jobs()
	args := jobs[len(jobs)-1].args
	var in []string
	for i, a := range args {
		if a == "-i" && args[i+1] != "background.png" {
			in = append(in, args[i+1])
		}
	}
	return in
}

func script(s Scene) string {
	jobs := s.jobs()
	return jobs[len(jobs)-1].script
}

// TestSituationLayers: how the situations' new actors are drawn, from the
// same description as their truth.
func TestSituationLayers(t *testing.T) {
	// Reading: the whole figure outside the still stretch, body and head
	// apart within it, the head moving on its own.
	s := StillOfficial()
	in := inputs(s)
	if !slices.Contains(in, "body-0.png") || !slices.Contains(in, "head-0.png") {
		t.Errorf("still official: stills %v", in)
	}
	sc := script(s)
	if !strings.Contains(sc, "not(between(t,25,235))") || !strings.Contains(sc, "if(between(t,25,235),0.33,0)") {
		t.Errorf("still official: no head stretch in the script:\n%s", sc)
	}
	// Typing: a statue in the stretch (sway scaled to 0), no head layer.
	s = TypingStill()
	if in := inputs(s); slices.Contains(in, "head-0.png") {
		t.Errorf("typing: a head layer %v", in)
	}
	if !strings.Contains(script(s), "(if(between(t,20,620),0,1))*") {
		t.Error("typing: sway not scaled to 0 while typing")
	}
	// People queueing are drawn under the seated.
	in = inputs(StandingBehind())
	last := slices.IndexFunc(in, func(n string) bool { return strings.HasPrefix(n, "stand-") })
	first := slices.IndexFunc(in, func(n string) bool { return strings.HasPrefix(n, "person-") })
	if last < 0 || first < 0 || last > first {
		t.Errorf("standing behind: overlay order %v", in)
	}
	// A leaner: upright while walking, rotated while leaning.
	s = LeaningColleague()
	found := false
	for _, j := range s.jobs() {
		if strings.HasPrefix(j.name, "lean-") {
			found = strings.Contains(strings.Join(j.args, " "), "rotate=a=0.380:c=none")
		}
	}
	if !found {
		t.Error("leaning colleague: no rotated still")
	}
	// A flickering screen toggles every half period over the background.
	if sc := script(MonitorFlicker()); !strings.Contains(sc, "lt(mod(t-0,2.6),1.3)") {
		t.Errorf("flicker: script %s", sc)
	}
	// A scaled bag is its own still; a jacket too.
	if in := inputs(OverlappingZones()); !slices.ContainsFunc(in, func(n string) bool { return strings.HasPrefix(n, "bag-") }) {
		t.Errorf("overlap: stills %v", in)
	}
	if in := inputs(JacketOnChair()); !strings.HasPrefix(in[0], "jacket-5-") {
		t.Errorf("jacket: stills %v, want the jacket first (under the people)", in)
	}
}
