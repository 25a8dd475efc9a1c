// Package scene makes test clips of a service counter seen by one camera,
// with their ground truth, at test time with Debian's ffmpeg (lavfi sources,
// overlay, eq, drawbox, crop, noise; libx264 or libx265). Nothing binary is
// committed: a clip is generated once and cached under
// <repo>/.cache/clips/<hash>/, the hash covering the scene and every ffmpeg
// argument and filter script, so a changed scene or script makes a new clip
// and a rerun is instant.
//
// A Scene is data: size, frame rate, keyframe interval, zones, and actors
// (people who walk in, sit with a little sway and walk out; passers-by; bags
// left on a seat), lighting changes and tampering. The ffmpeg filter graph
// and the ground truth both come from that one description, so they cannot
// disagree.
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
	// Objects lists, per zone ID, the intervals a bag lies there.
	Objects map[string][]Interval `json:"objects,omitempty"`
	// Passersby are the intervals someone walks across without sitting.
	Passersby []Interval `json:"passersby,omitempty"`
	// Sessions are the citizens served: citizen seated at least
	// SessionMinS while the official is seated, ended by the seat being
	// vacant SessionGapS.
	Sessions []Interval `json:"sessions"`
	// StaffPresentS is the seconds the official's seat is occupied.
	StaffPresentS float64  `json:"staff_present_s"`
	Lights        []Light  `json:"lights,omitempty"`
	Tampers       []Tamper `json:"tampers,omitempty"`
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
		if a.Out <= a.In && (a.Kind != Bag || a.Out != 0) {
			return fmt.Errorf("scene %s: actor %s: out %g not after in %g", s.Name, a.Name, a.Out, a.In)
		}
		switch a.Kind {
		case Person, Bag:
			if _, ok := zones[a.Zone]; !ok {
				return fmt.Errorf("scene %s: actor %s: unknown zone %q", s.Name, a.Name, a.Zone)
			}
		case Passerby:
		default:
			return fmt.Errorf("scene %s: actor %s: kind %q", s.Name, a.Name, a.Kind)
		}
		if a.Kind != Bag && a.Side != Left && a.Side != Right {
			return fmt.Errorf("scene %s: actor %s: side %q", s.Name, a.Name, a.Side)
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

// Truth derives the ground truth from the scene.
func (s Scene) Truth() Truth {
	t := Truth{
		Scene: s.Name, Duration: s.Duration, FPS: s.FPS, GOP: s.GOP, W: s.W, H: s.H,
		Zones: s.Zones, Occupied: map[string][]Interval{}, Lights: s.Lights, Tampers: s.Tampers,
	}
	for _, z := range s.Zones {
		t.Occupied[z.ID] = []Interval{}
	}
	for _, a := range s.Actors {
		switch a.Kind {
		case Person:
			t.Occupied[a.Zone] = append(t.Occupied[a.Zone], Interval{a.In, a.Out})
		case Bag:
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
