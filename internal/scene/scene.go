// Package scene makes test clips of a service counter seen by one camera,
// with their ground truth, at test time with Debian's ffmpeg (lavfi sources,
// overlay, eq, drawbox, crop, noise; libx264 or libx265). Nothing binary is
// committed: a clip is generated once and cached under
// <repo>/.cache/clips/<hash>/, the hash covering the scene and every ffmpeg
// argument and filter script, so a changed scene or script makes a new clip
// and a rerun is instant.
//
// A Scene is data: size, frame rate, keyframe interval, zones, and actors
// (people who walk in, sit with a little sway, or nearly still, and walk
// out; passers-by; people standing, behind a seat or in a floor zone, and
// leaning over a seat; bags and jackets left on a seat), lighting changes,
// flickering screens and tampering. The ffmpeg filter graph and the ground
// truth both come from that one description, so they cannot disagree.
//
// The picture: a textured wall with panels and a notice board, a tiled
// floor, a desk with a monitor in the middle, the official's chair on the
// left, the citizen's chair on the right and a waiting bench at the far
// right. People are drawn as figures (head, hair, shirt with a pattern) in
// several colours; they enter from the side of their seat.
package scene

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/pscm/pscm/internal/schema"
)

// Counter is the counter ID of every ready scene's zones.
const Counter = "c01"

// Zone IDs of the ready scenes.
const (
	ZoneStaff   = "c01-staff"
	ZoneCitizen = "c01-citizen"
	ZoneWaiting = "c01-waiting"
)

// Zone is a region of the picture watched for occupancy, in normalised
// coordinates ([0,1] across and down the picture).
type Zone struct {
	ID      string       `json:"id"`
	Counter string       `json:"counter"`
	Kind    schema.Zone  `json:"kind"`
	Polygon [][2]float64 `json:"polygon"`
}

// ActorKind is what an actor is.
type ActorKind string

// Actor kinds.
const (
	// Person walks in from Side, sits in Zone from In to Out with a little
	// sway, and walks out.
	Person ActorKind = "person"
	// Passerby walks across the picture from Side, starting at In, taking
	// Out-In seconds; it never sits.
	Passerby ActorKind = "passerby"
	// Bag appears on Zone's seat at In and stays until Out (0: the end).
	Bag ActorKind = "bag"
	// Jacket is hung over the back of Zone's chair at In, draped down to
	// the seat, and stays until Out (0: the end). Like a bag it is an
	// object: it never occupies a zone.
	Jacket ActorKind = "jacket"
	// Stander walks in from Side, stands with their feet at (U, V) from
	// In to Out, swaying as standing people do, and walks out. With a
	// Zone they occupy it (someone lingering in a floor zone); without,
	// they occupy nothing, wherever their figure falls (someone queueing
	// behind a seat).
	Stander ActorKind = "stander"
	// Leaner walks in upright from Side to stand with their feet at
	// (U, V), leans towards the other side from In to Out (a colleague
	// leaning over an official's desk, their upper body over the seat),
	// straightens up and walks out. They never occupy a zone.
	Leaner ActorKind = "leaner"
)

// Side is where a person enters from and leaves to.
type Side string

// Sides.
const (
	Left  Side = "left"
	Right Side = "right"
)

// Actor is a person, passer-by or object in a scene.
type Actor struct {
	Name string    `json:"name"`
	Kind ActorKind `json:"kind"`
	Zone string    `json:"zone,omitempty"`
	// In and Out in seconds from the clip start; see ActorKind.
	In   float64 `json:"in"`
	Out  float64 `json:"out"`
	Side Side    `json:"side"`
	// Look picks the clothing (see looks).
	Look int `json:"look"`
	// U, if set, is a Person's, Bag's or Jacket's horizontal centre
	// instead of their zone's; (U, V) is where a Stander's or Leaner's
	// feet are. Normalised picture coordinates.
	U float64 `json:"u,omitempty"`
	V float64 `json:"v,omitempty"`
	// Scale sizes a Stander's or Leaner's figure (0: 1), someone further
	// back looking smaller, or a Bag or Jacket (a handbag, not a bulky
	// bag). A seated Person is always the same size.
	Scale float64 `json:"scale,omitempty"`
	// Still lists stretches where a Person, Stander or Leaner is nearly
	// still: their sway scaled by Still.Sway.
	Still []Still `json:"still,omitempty"`
}

// Still is a stretch from From to To (seconds from the clip start) where
// a person is nearly still: their sway and bob scaled by Sway, 0 a statue,
// 1 the usual sway (about ±1 % of the picture's width across, ±0.4 % up
// and down: ±3 cm in a view 3 m wide). Head, for a seated Person, moves
// the head alone on top of that, by the same measure: someone reading,
// body still and head moving ±1 cm, is Sway 0, Head 0.33. Rendered
// positions are whole pairs of pixels (2 px of a 640-wide picture is 1 cm
// of a 3 m view), so smaller movements round to none.
type Still struct {
	From float64 `json:"from"`
	To   float64 `json:"to"`
	Sway float64 `json:"sway"`
	Head float64 `json:"head,omitempty"`
}

// Flicker is a screen in the picture (Region: left, top, right, bottom in
// normalised coordinates) whose picture toggles between dark and Grey
// every half Period seconds from From to To (0: the end), as a display
// cycling slides or a faulty monitor does. It changes no zone's truth.
type Flicker struct {
	Region [4]float64 `json:"region"`
	Period float64    `json:"period_s"`
	From   float64    `json:"from"`
	To     float64    `json:"to,omitempty"`
	Grey   int        `json:"grey"`
}

// Light is a lighting change: from At the light level moves from the
// previous level (1 at the start) to Gain over Ramp seconds (0: a step,
// lights switched). The level multiplies the picture's luma.
type Light struct {
	At   float64 `json:"at"`
	Ramp float64 `json:"ramp"`
	Gain float64 `json:"gain"`
}

// TamperKind is how a camera is tampered with.
type TamperKind string

// Tamper kinds.
const (
	// Cover: the lens is covered (a hand, a cloth): a near-uniform dark
	// picture.
	Cover TamperKind = "cover"
	// Shift: the camera is knocked so the view moves by DX, DY (fractions
	// of the width and height).
	Shift TamperKind = "shift"
)

// Tamper is a tampering interval.
type Tamper struct {
	Kind  TamperKind `json:"kind"`
	Start float64    `json:"start"`
	End   float64    `json:"end"`
	DX    float64    `json:"dx,omitempty"`
	DY    float64    `json:"dy,omitempty"`
}

// Scene is one clip's description.
type Scene struct {
	Name string `json:"name"`
	// Codec is "h264" (libx264, the default) or "h265" (libx265).
	Codec    string  `json:"codec"`
	W        int     `json:"w"`
	H        int     `json:"h"`
	FPS      int     `json:"fps"`
	GOP      int     `json:"gop"` // frames between keyframes
	Duration float64 `json:"duration_s"`
	// KbitRate > 0 encodes at a constant bit rate (with -maxrate and
	// -bufsize); 0 encodes at constant quality.
	KbitRate int      `json:"kbit_rate,omitempty"`
	Zones    []Zone   `json:"zones"`
	Actors   []Actor  `json:"actors"`
	Lights   []Light  `json:"lights,omitempty"`
	Tampers  []Tamper `json:"tampers,omitempty"`
	// Flickers are screens whose picture changes; they are drawn on the
	// background, under every actor.
	Flickers []Flicker `json:"flickers,omitempty"`
	// SessionMinS and SessionGapS are the session rule the truth's
	// sessions follow: a citizen seated at least SessionMinS while the
	// official is seated starts one; the seat vacant SessionGapS ends it.
	SessionMinS float64 `json:"session_min_s"`
	SessionGapS float64 `json:"session_gap_s"`
}

// Interval is [start_s, end_s] from the clip start.
type Interval [2]float64

// Truth is what happens in a clip, derived from its Scene.
type Truth struct {
	Scene    string  `json:"scene"`
	Duration float64 `json:"duration_s"`
	FPS      int     `json:"fps"`
	GOP      int     `json:"gop"`
	W        int     `json:"w"`
	H        int     `json:"h"`
	Zones    []Zone  `json:"zones"`
	// Occupied lists, per zone ID, the intervals a person sits there.
	Occupied map[string][]Interval `json:"occupied"`
	// Objects lists, per zone ID, the intervals a bag or jacket lies
	// there; objects never occupy a zone.
	Objects map[string][]Interval `json:"objects,omitempty"`
	// Passersby are the intervals someone walks across without sitting.
	Passersby []Interval `json:"passersby,omitempty"`
	// Standing are the intervals someone stands or leans near a zone
	// without occupying any (a Stander with no zone, a Leaner).
	Standing []Interval `json:"standing,omitempty"`
	// Sessions are the citizens served: citizen seated at least
	// SessionMinS while the official is seated, ended by the seat being
	// vacant SessionGapS.
	Sessions []Interval `json:"sessions"`
	// StaffPresentS is the seconds the official's seat is occupied.
	StaffPresentS float64   `json:"staff_present_s"`
	Lights        []Light   `json:"lights,omitempty"`
	Tampers       []Tamper  `json:"tampers,omitempty"`
	Flickers      []Flicker `json:"flickers,omitempty"`
}

// Walk is how long a person takes to walk between the picture's edge and
// their seat.
const Walk = 1.5

// Validate checks the scene is one Generate can render.
func (s Scene) Validate() error {
	switch {
	case s.Name == "":
		return fmt.Errorf("scene: no name")
	case s.Codec != "" && s.Codec != schema.CodecH264 && s.Codec != schema.CodecH265:
		return fmt.Errorf("scene %s: codec %q", s.Name, s.Codec)
	case s.W < 64 || s.H < 64 || s.W > 3840 || s.H > 2160 || s.W%2 != 0 || s.H%2 != 0:
		return fmt.Errorf("scene %s: size %dx%d: want even, 64..3840 x 64..2160", s.Name, s.W, s.H)
	case s.FPS < 1 || s.FPS > 60:
		return fmt.Errorf("scene %s: fps %d", s.Name, s.FPS)
	case s.GOP < 1:
		return fmt.Errorf("scene %s: gop %d", s.Name, s.GOP)
	case s.Duration <= 0 || s.Duration > 3600:
		return fmt.Errorf("scene %s: duration %g s", s.Name, s.Duration)
	}
	zones := map[string]Zone{}
	for _, z := range s.Zones {
		if len(z.Polygon) < 3 || !z.Kind.Valid() {
			return fmt.Errorf("scene %s: zone %q: kind %q, %d points", s.Name, z.ID, z.Kind, len(z.Polygon))
		}
		zones[z.ID] = z
	}
	for _, a := range s.Actors {
		if err := a.validate(zones); err != nil {
			return fmt.Errorf("scene %s: actor %s: %w", s.Name, a.Name, err)
		}
	}
	for _, f := range s.Flickers {
		r := f.Region
		if r[0] < 0 || r[1] < 0 || r[2] > 1 || r[3] > 1 || r[2] <= r[0] || r[3] <= r[1] ||
			f.Period <= 0 || f.Grey < 0 || f.Grey > 255 || (f.To != 0 && f.To <= f.From) {
			return fmt.Errorf("scene %s: flicker %+v", s.Name, f)
		}
	}
	for _, l := range s.Lights {
		if l.Gain <= 0 || l.Gain > 2 || l.Ramp < 0 {
			return fmt.Errorf("scene %s: light at %g: gain %g, ramp %g", s.Name, l.At, l.Gain, l.Ramp)
		}
	}
	for _, t := range s.Tampers {
		if t.End <= t.Start || (t.Kind != Cover && t.Kind != Shift) || math.Abs(t.DX) > 0.2 || math.Abs(t.DY) > 0.2 {
			return fmt.Errorf("scene %s: tamper %+v", s.Name, t)
		}
	}
	return nil
}

// object reports whether an actor is a thing, not a person.
func (a Actor) object() bool { return a.Kind == Bag || a.Kind == Jacket }

func (a Actor) validate(zones map[string]Zone) error {
	if a.Out <= a.In && (!a.object() || a.Out != 0) {
		return fmt.Errorf("out %g not after in %g", a.Out, a.In)
	}
	_, known := zones[a.Zone]
	switch a.Kind {
	case Person, Bag, Jacket:
		if !known {
			return fmt.Errorf("unknown zone %q", a.Zone)
		}
	case Stander, Leaner:
		if a.Kind == Stander && a.Zone != "" && !known {
			return fmt.Errorf("unknown zone %q", a.Zone)
		}
		if a.Kind == Leaner && a.Zone != "" {
			return fmt.Errorf("a leaner occupies no zone (zone %q)", a.Zone)
		}
		if a.U <= 0 || a.U >= 1 || a.V <= 0 || a.V > 1.1 {
			return fmt.Errorf("feet at (%g, %g): want u in (0,1), v in (0,1.1]", a.U, a.V)
		}
	case Passerby:
	default:
		return fmt.Errorf("kind %q", a.Kind)
	}
	if !a.object() && a.Side != Left && a.Side != Right {
		return fmt.Errorf("side %q", a.Side)
	}
	if a.U < 0 || a.U >= 1 {
		return fmt.Errorf("u %g", a.U)
	}
	if a.Scale != 0 && (a.Scale < 0.3 || a.Scale > 2 || a.Kind == Person || a.Kind == Passerby) {
		return fmt.Errorf("scale %g: want 0 (1) or 0.3 to 2", a.Scale)
	}
	for _, st := range a.Still {
		if a.object() || a.Kind == Passerby || st.To <= st.From || st.Sway < 0 || st.Sway > 1 ||
			st.Head < 0 || st.Head > 1 || (st.Head > 0 && a.Kind != Person) || st.From < a.In || st.To > a.Out {
			return fmt.Errorf("still %+v: want within in-out, sway and head 0 to 1, head for a seated person only", st)
		}
	}
	return nil
}

// Truth derives the ground truth from the scene.
func (s Scene) Truth() Truth {
	t := Truth{
		Scene: s.Name, Duration: s.Duration, FPS: s.FPS, GOP: s.GOP, W: s.W, H: s.H,
		Zones: s.Zones, Occupied: map[string][]Interval{}, Lights: s.Lights, Tampers: s.Tampers,
		Flickers: s.Flickers,
	}
	for _, z := range s.Zones {
		t.Occupied[z.ID] = []Interval{}
	}
	for _, a := range s.Actors {
		switch a.Kind {
		case Person:
			t.Occupied[a.Zone] = append(t.Occupied[a.Zone], Interval{a.In, a.Out})
		case Stander, Leaner:
			if a.Zone != "" {
				t.Occupied[a.Zone] = append(t.Occupied[a.Zone], Interval{a.In, a.Out})
			} else {
				t.Standing = append(t.Standing, Interval{a.In, a.Out})
			}
		case Bag, Jacket:
			if t.Objects == nil {
				t.Objects = map[string][]Interval{}
			}
			out := a.Out
			if out == 0 {
				out = s.Duration
			}
			t.Objects[a.Zone] = append(t.Objects[a.Zone], Interval{a.In, out})
		case Passerby:
			t.Passersby = append(t.Passersby, Interval{a.In, a.Out})
		}
	}
	for id, iv := range t.Occupied {
		t.Occupied[id] = merge(iv, 0)
	}
	var staff, citizen []Interval
	for _, z := range s.Zones {
		switch z.Kind {
		case schema.ZoneStaff:
			staff = append(staff, t.Occupied[z.ID]...)
		case schema.ZoneCitizen:
			citizen = append(citizen, t.Occupied[z.ID]...)
		}
	}
	staff = merge(staff, 0)
	for _, iv := range staff {
		t.StaffPresentS += iv[1] - iv[0]
	}
	t.Sessions = sessions(merge(citizen, s.SessionGapS), staff, s.SessionMinS)
	return t
}

// sessions applies the session rule to merged citizen intervals: the first
// stretch of at least minS where the official is seated too starts the
// session; it ends when the citizen leaves.
func sessions(citizen, staff []Interval, minS float64) []Interval {
	out := []Interval{}
	for _, c := range citizen {
		for _, st := range staff {
			a, b := max(c[0], st[0]), min(c[1], st[1])
			if b-a >= minS {
				out = append(out, Interval{a, c[1]})
				break
			}
		}
	}
	return out
}

// merge sorts intervals and joins those separated by less than gap.
func merge(iv []Interval, gap float64) []Interval {
	iv = slices.Clone(iv)
	slices.SortFunc(iv, func(a, b Interval) int { return cmp.Compare(a[0], b[0]) })
	var out []Interval
	for _, x := range iv {
		if n := len(out); n > 0 && x[0]-out[n-1][1] < gap {
			out[n-1][1] = max(out[n-1][1], x[1])
			continue
		}
		out = append(out, x)
	}
	if out == nil {
		out = []Interval{}
	}
	return out
}

// OccupiedAt reports whether a person sits in zone at t seconds.
func (t Truth) OccupiedAt(zone string, at float64) bool {
	return in(t.Occupied[zone], at)
}

// ObjectAt reports whether an object lies in zone at t seconds.
func (t Truth) ObjectAt(zone string, at float64) bool {
	return in(t.Objects[zone], at)
}

// TamperedAt reports the tamper kind at t seconds, "" if none.
func (t Truth) TamperedAt(at float64) TamperKind {
	for _, x := range t.Tampers {
		if at >= x.Start && at < x.End {
			return x.Kind
		}
	}
	return ""
}

func in(iv []Interval, at float64) bool {
	for _, x := range iv {
		if at >= x[0] && at < x[1] {
			return true
		}
	}
	return false
}
