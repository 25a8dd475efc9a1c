// Package occupancy tells, from one camera's decoded keyframes, whether each
// zone of the picture (an official's seat, a citizen's seat, a waiting area)
// is occupied, and whether the camera has been tampered with. It sees small
// grayscale frames every 1-4 s (agent/camera/keyframe), never video.
//
// How a frame is judged:
//
//   - Contrast normalisation: each frame is blurred 3x3 and mapped into the
//     reference's lighting by a gain and offset fitted robustly (least
//     squares, refitted without the worst-fitting pixels). Lights switched
//     on or off or dimming scale and offset the whole picture, which the
//     mapping undoes; people and objects are a minority of pixels the refit
//     leaves out, so they neither bias the fit nor vanish in it. (Per-frame
//     statistics such as mean and deviation, or even percentiles, move when
//     a brightly dressed person enters, and then whole walls "change".)
//   - A learned empty-scene reference (the first frame, then adapting) is
//     compared pixel by pixel; a pixel is changed when it differs by more
//     than PixelThreshold. A zone's changed-area ratio is the fraction of its
//     pixels that changed.
//   - Hysteresis: a vacant zone needs EnterRatio to turn occupied, an
//     occupied zone stays so down to LeaveRatio; and minimum durations: the
//     new state must hold for MinOn (MinOff) before it is reported, so a
//     passer-by crossing a seat in 1-2 s never turns it on. A Change is
//     backdated to the first keyframe that showed it.
//   - The reference adapts slowly (AdaptRate per keyframe) only where
//     nothing changed and never inside an occupied zone, so a person sitting
//     still is not learned into the background.
//   - Global change: when more than GlobalChangeRatio of the picture
//     changes at once and the picture has not merely shifted, the lighting
//     changed in a way normalisation did not undo: zone states are held and
//     the reference is re-learned outside occupied zones over the next
//     RelearnFrames keyframes.
//   - Tamper: the view is covered when the frame is near uniform (standard
//     deviation under CoverStdDev grey levels); moved when more than
//     ShiftCheckRatio of the picture changed and the reference matches it
//     far better at an offset of a few pixels (the camera was knocked), or when after re-learning the
//     view no longer matches the last verified one (pointed elsewhere).
//     While tampered, zone states are held; a covered view clears as soon as
//     the picture is back, a shifted one when the view returns, a changed
//     view when Reanchor accepts it.
//
// The left-object rule: a change in a zone that has not moved for
// AbsorbAfter (default 30 s) and is smaller than a person (under
// PersonRatio of the zone) is an object, not a person: a bag on the
// citizen's seat, a jacket on a chair. Its pixels are kept in an object
// layer beside the empty-scene reference, never written into it, and only
// the pixels that changed in that zone and belong to no other zone that is
// occupied: the zone turns vacant, and when the object is taken away the
// pixels match the empty scene again, so no "ghost" of it is left. A
// person-sized change is never an object, however still: an official
// reading without a visible movement at this resolution stays present.
// In the official's seat, where a wrong "vacant" would accuse someone, a
// still change too small to be sure of is neither: the zone is reported
// Unsure (the event's state "unknown") until it moves or goes.
//
// Shape: a zone's ratios leave out its top CoreTop (a third) of rows, where
// someone standing behind a seat, or leaning over it, shows; a seated
// person fills the rest.
//
// Minimum durations count keyframes: a new state needs at least two
// keyframes, and as many as cover MinOn at the stream's keyframe interval
// (three keyframes 1 s apart cover 3 s), so a 3 s stay is seen with 1 s
// keyframes and a 1.3 s passer-by is not, with 4 s keyframes as with 1 s.
package occupancy

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"time"

	"github.com/pscm/pscm/agent/camera/keyframe"
	"github.com/pscm/pscm/internal/schema"
)

// Config holds the detector's thresholds. Ratios are fractions of a zone's
// (or the picture's) pixels; pixel thresholds are grey levels (0-255) of
// the reference's lighting.
type Config struct {
	// PixelThreshold: a pixel differing from the reference by more than
	// this is changed.
	PixelThreshold float64 `yaml:"pixel_threshold"`
	// EnterRatio turns a vacant zone occupied, LeaveRatio lets an
	// occupied one go vacant.
	EnterRatio float64 `yaml:"enter_ratio"`
	LeaveRatio float64 `yaml:"leave_ratio"`
	// MinOn and MinOff: how long a new state must hold before it counts.
	MinOn time.Duration `yaml:"min_on"`
	// StaffMinOn is MinOn for the official's seat: a colleague leaning
	// over the empty chair for a few seconds is not the official back; an
	// official who sits down stays, and the change is backdated to the
	// first keyframe all the same.
	StaffMinOn time.Duration `yaml:"staff_min_on"`
	MinOff     time.Duration `yaml:"min_off"`
	// AdaptRate is the reference's learning rate per keyframe where
	// nothing changed.
	AdaptRate float64 `yaml:"adapt_rate"`
	// AbsorbAfter: a change smaller than PersonRatio that does not move
	// for this long is an object (the left-object rule). 0 disables it.
	AbsorbAfter time.Duration `yaml:"absorb_after"`
	// PersonRatio: a change covering at least this share of a zone is
	// person-sized and never taken for an object.
	PersonRatio float64 `yaml:"person_ratio"`
	// StaffPersonRatio is PersonRatio for the official's seat, whose
	// zone a seated official fills more (a jacket on the chair back does
	// not).
	StaffPersonRatio float64 `yaml:"staff_person_ratio"`
	// CoreTop is the share of a zone's height, from its top, that its
	// ratios leave out: the band someone standing behind the seat covers.
	CoreTop float64 `yaml:"core_top"`
	// MotionThreshold and MotionRatio define motion between keyframes.
	MotionThreshold float64 `yaml:"motion_threshold"`
	MotionRatio     float64 `yaml:"motion_ratio"`
	// GlobalChangeRatio of the picture changing at once means lighting or
	// tampering, not people.
	GlobalChangeRatio float64 `yaml:"global_change_ratio"`
	// ShiftCheckRatio of the picture changing at once is checked for a
	// knocked camera: a shifted view changes only near edges, so less of
	// the picture than a lighting change does.
	ShiftCheckRatio float64 `yaml:"shift_check_ratio"`
	// RelearnFrames keyframes re-learn the reference after a global
	// change; zone states are held meanwhile.
	RelearnFrames int `yaml:"relearn_frames"`
	// CoverStdDev: a frame whose standard deviation (grey levels) is below
	// this is a covered lens.
	CoverStdDev float64 `yaml:"cover_stddev"`
	// MaxShift is the largest camera displacement searched, as a fraction
	// of the frame width.
	MaxShift float64 `yaml:"max_shift"`
}

// Defaults are tuned on the generated counter clips (internal/scene)
// at 160x90 with a keyframe every 1-2 s.
func Defaults() Config {
	return Config{
		PixelThreshold:    12,
		EnterRatio:        0.15,
		LeaveRatio:        0.07,
		MinOn:             3 * time.Second,
		StaffMinOn:        10 * time.Second,
		MinOff:            3 * time.Second,
		AdaptRate:         0.02,
		AbsorbAfter:       12 * time.Second,
		PersonRatio:       0.27,
		StaffPersonRatio:  0.45,
		CoreTop:           0.3,
		MotionThreshold:   12,
		MotionRatio:       0.01,
		GlobalChangeRatio: 0.45,
		ShiftCheckRatio:   0.25,
		RelearnFrames:     3,
		CoverStdDev:       8,
		MaxShift:          0.1,
	}
}

// Validate checks the thresholds and how they relate.
func (c Config) Validate() error {
	var errs []error
	check := func(ok bool, format string, a ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, a...))
		}
	}
	check(c.PixelThreshold >= 2 && c.PixelThreshold <= 128, "pixel_threshold %g: want 2 to 128 grey levels", c.PixelThreshold)
	check(c.LeaveRatio > 0 && c.LeaveRatio < c.EnterRatio && c.EnterRatio < 1,
		"leave_ratio %g and enter_ratio %g: want 0 < leave < enter < 1", c.LeaveRatio, c.EnterRatio)
	check(c.MinOn >= 0 && c.MinOn <= 10*time.Minute, "min_on %s: want 0 to 10m", c.MinOn)
	check(c.StaffMinOn >= 0 && c.StaffMinOn <= 10*time.Minute, "staff_min_on %s: want 0 to 10m", c.StaffMinOn)
	check(c.MinOff >= 0 && c.MinOff <= 10*time.Minute, "min_off %s: want 0 to 10m", c.MinOff)
	check(c.AdaptRate >= 0 && c.AdaptRate <= 0.5, "adapt_rate %g: want 0 to 0.5", c.AdaptRate)
	check(c.AbsorbAfter == 0 || (c.AbsorbAfter >= 10*time.Second && c.AbsorbAfter <= 24*time.Hour),
		"absorb_after %s: want 0 (off) or 10s to 24h", c.AbsorbAfter)
	check(c.PersonRatio > c.EnterRatio && c.PersonRatio <= 1, "person_ratio %g: want above enter_ratio, at most 1", c.PersonRatio)
	check(c.StaffPersonRatio > c.EnterRatio && c.StaffPersonRatio <= 1, "staff_person_ratio %g: want above enter_ratio, at most 1", c.StaffPersonRatio)
	check(c.CoreTop >= 0 && c.CoreTop <= 0.6, "core_top %g: want 0 to 0.6", c.CoreTop)
	check(c.MotionThreshold >= 2 && c.MotionThreshold <= 128, "motion_threshold %g: want 2 to 128 grey levels", c.MotionThreshold)
	check(c.MotionRatio > 0 && c.MotionRatio < 1, "motion_ratio %g: want (0, 1)", c.MotionRatio)
	check(c.GlobalChangeRatio > c.EnterRatio && c.GlobalChangeRatio < 1,
		"global_change_ratio %g: want above enter_ratio and below 1", c.GlobalChangeRatio)
	check(c.ShiftCheckRatio > 0 && c.ShiftCheckRatio <= c.GlobalChangeRatio,
		"shift_check_ratio %g: want above 0 and at most global_change_ratio", c.ShiftCheckRatio)
	check(c.RelearnFrames >= 1 && c.RelearnFrames <= 100, "relearn_frames %d: want 1 to 100", c.RelearnFrames)
	check(c.CoverStdDev >= 0 && c.CoverStdDev < 64, "cover_stddev %g: want 0 to 64", c.CoverStdDev)
	check(c.MaxShift >= 0 && c.MaxShift <= 0.25, "max_shift %g: want 0 to 0.25", c.MaxShift)
	if len(errs) > 0 {
		return fmt.Errorf("occupancy: %w", errors.Join(errs...))
	}
	return nil
}

// Tamper kinds.
const (
	tamperCovered = "covered"
	tamperMoved   = "moved"
	tamperChanged = "changed"
)

// Change is a zone's reported state change.
type Change struct {
	Zone     Zone
	Occupied bool
	// Unsure: the zone holds a still change the detector cannot tell a
	// person from an object by (the official's seat only): neither
	// present nor absent. Occupied is false then.
	Unsure     bool
	Confidence float64
	// At is when the change really began: the first keyframe that showed
	// it, before MinOn/MinOff confirmed it (or the absorption time).
	At time.Time
}

// ZoneState is a zone's current state and the figures behind it.
type ZoneState struct {
	Zone     Zone
	Occupied bool
	// Unsure: see Change.Unsure. Occupied says what the zone was before.
	Unsure bool
	// Since is when the current state began (zero before the first
	// change).
	Since time.Time
	// Ratio is the changed-area ratio of the last frame, Core the same
	// without the zone's top band (what enter and leave are judged on),
	// Motion the fraction of the zone's pixels that moved since the
	// keyframe before.
	Ratio, Core, Motion float64
	Confidence          float64
}

type zoneState struct {
	ZoneState
	pix []int32
	// core marks the pixels of pix below the zone's top band.
	core []bool
	// shared marks, in a waiting area, the pixels of a seat too, which
	// its ratios leave out; nil when none is shared.
	shared []bool
	// candSince is when the frames started to disagree with the state;
	// zero while they agree. candFrames counts the keyframes since.
	candSince  time.Time
	candFrames int
	// lastMotion is the last keyframe with motion in the zone.
	lastMotion time.Time
	// personAt is the last keyframe a person-sized change filled the
	// zone; still counts the keyframes in a row without motion.
	personAt time.Time
	still    int
}

// Detector judges one camera's zones. It is not safe for concurrent use:
// one goroutine per camera feeds it.
type Detector struct {
	cfg   Config
	zones []zoneState

	w, h      int
	ref, prev []float32
	// obj holds the objects taken for such (the left-object rule) where
	// objMask is set: the empty-scene reference under them stays as it
	// was, so a removed object leaves no ghost.
	obj     []float32
	objMask []bool
	objZone []int16 // the zone whose object a pixel of objMask is
	objects int     // pixels set in objMask
	// chg is the frame's changed pixels (in zones), against the reference
	// or, under an object, against the object.
	chg []bool
	// taken is withTaken's buffer.
	taken []bool
	// hist holds each zone pixel's changed state over the last 16
	// keyframes, newest in bit 0: how flickering is told.
	hist []uint16
	// gap is the latest interval between judged keyframes.
	gap      time.Duration
	judgedAt time.Time
	// anchor is the last verified view (normalised), for telling a
	// relit scene from a camera pointed elsewhere.
	anchor  []float32
	inZone  []bool
	last    time.Time
	judged  bool // the last frame was judged (see Judging)
	relearn int

	// tamper is "" or what is wrong: tamperCovered, tamperMoved,
	// tamperChanged; reason says it for people.
	tamper string
	reason string

	// cur is the frame being judged, blurred and relit; a buffer reused
	// per frame.
	cur []float32
}

// New returns a detector of zones with cfg's thresholds.
func New(cfg Config, zones []Zone) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := validateZones(zones); err != nil {
		return nil, err
	}
	d := &Detector{cfg: cfg}
	for _, z := range zones {
		z.Polygon = slices.Clone(z.Polygon)
		d.zones = append(d.zones, zoneState{ZoneState: ZoneState{Zone: z, Confidence: 1}})
	}
	return d, nil
}

// Observe judges one keyframe taken at at and returns the zones whose
// state changed. Frames must come in time order; an older or equal time,
// or a malformed frame, is ignored. A frame of a new size restarts
// learning (states are kept until the new reference judges otherwise).
func (d *Detector) Observe(f keyframe.Frame, at time.Time) []Change {
	if f.W < 8 || f.H < 8 || len(f.Pix) != f.W*f.H || (!d.last.IsZero() && !at.After(d.last)) {
		return nil
	}
	d.last = at
	d.judged = false // until judge runs on this frame
	if f.W != d.w || f.H != d.h {
		d.resize(f.W, f.H)
	}
	std := d.blurFrame(f)
	if std < d.cfg.CoverStdDev {
		d.tamper, d.reason = tamperCovered, fmt.Sprintf("covered: the view is uniform (standard deviation %.1f grey levels)", std)
		return nil
	}
	if d.ref == nil {
		d.ref, d.prev, d.anchor = slices.Clone(d.cur), slices.Clone(d.cur), slices.Clone(d.cur)
		d.tamper, d.reason = "", ""
		return nil
	}
	defer copy(d.prev, d.cur)

	_, lit := d.relight()
	changed := d.changedRatio(d.ref, 0, 0, 1)
	if changed > d.cfg.ShiftCheckRatio {
		if dx, dy, ok := d.shifted(changed); ok {
			d.tamper, d.reason = tamperMoved, fmt.Sprintf("moved: the view shifted by %d,%d pixels of %dx%d", dx, dy, d.w, d.h)
			return nil
		}
	}
	if changed > d.cfg.GlobalChangeRatio || !lit {
		// Relit unevenly, or pointed elsewhere: hold states, re-learn.
		d.relearn = d.cfg.RelearnFrames
	}
	if d.tamper == tamperCovered || d.tamper == tamperMoved { // the view is back
		d.tamper, d.reason = "", ""
	}
	if d.relearn > 0 {
		d.relearnStep()
		return nil
	}
	if d.tamper != "" {
		return nil
	}
	return d.judge(at)
}

// relearnStep copies the frame into the reference outside occupied zones;
// after the last relearning frame it checks the new view against the
// anchor.
func (d *Detector) relearnStep() {
	occ := d.occupiedMask()
	for i := range d.ref {
		if !occ[i] {
			// Re-learnt with whatever lies there: after a change of light
			// the empty scene under an object is not known any more.
			if d.objMask[i] {
				d.objMask[i] = false
				d.objects--
			}
			d.ref[i] = d.cur[i]
		}
	}
	d.relearn--
	if d.relearn > 0 {
		return
	}
	if d.changedRatio(d.anchor, 0, 0, 1) > d.cfg.GlobalChangeRatio {
		d.tamper, d.reason = tamperChanged, "changed: the view no longer matches the calibrated one"
		return
	}
	copy(d.anchor, d.ref)
	if d.tamper == tamperChanged { // aimed back
		d.tamper, d.reason = "", ""
	}
}

// Reanchor accepts the current view as the calibrated one, after an
// installer checked a "changed" tamper (the camera was re-aimed on
// purpose), and clears the tamper.
func (d *Detector) Reanchor() {
	if d.ref != nil {
		copy(d.anchor, d.ref)
	}
	d.tamper, d.reason = "", ""
}

// judge updates every zone from the current frame.
func (d *Detector) judge(at time.Time) []Change {
	d.judged = true
	if !d.judgedAt.IsZero() {
		d.gap = at.Sub(d.judgedAt)
	}
	d.judgedAt = at
	d.markChanged()
	var out []Change
	mthr := float32(d.cfg.MotionThreshold)
	for zi := range d.zones {
		z := &d.zones[zi]
		var nmov, n int
		for i, p := range z.pix {
			if z.shared != nil && z.shared[i] {
				continue // a seat's: its citizen moving is not this area's
			}
			n++
			if abs32(d.cur[p]-d.prev[p]) > mthr {
				nmov++
			}
		}
		z.Motion = float64(nmov) / float64(max(n, 1))
		z.Ratio, z.Core = d.ratios(z)
		moved := z.Motion >= d.cfg.MotionRatio
		if moved {
			z.still = 0
		} else {
			z.still++
		}
		own, person := d.ownRatio(zi), d.personRatio(z)
		if own >= person {
			z.personAt = at
		}
		// Left behind: a person-sized change went, moving, within the last
		// few seconds, and what stays is smaller and still: what they left
		// (a bag, a jacket), not them. It is an object at once.
		leftBehind := !z.personAt.IsZero() && at.Sub(z.personAt) <= leftWithin && own < person &&
			z.Core >= d.cfg.LeaveRatio && z.still >= 2
		if moved || z.lastMotion.IsZero() || z.Core < d.cfg.LeaveRatio {
			// Vacant-looking zones restart the clock too: only a change
			// that stays still is an object.
			z.lastMotion = at
		}
		if z.Unsure {
			if !moved && z.Core >= d.cfg.LeaveRatio && own < person {
				continue // still unsure
			}
			// It moved, grew to a person's size, or went: judged again
			// from this frame, reported whatever it is.
			z.Unsure, z.candSince, z.candFrames = false, time.Time{}, 0
			z.Occupied, z.Since = z.Core >= d.cfg.LeaveRatio, at
			z.Confidence = d.confidence(z)
			out = append(out, Change{Zone: z.Zone, Occupied: z.Occupied, Confidence: z.Confidence, At: at})
			continue
		}
		if leftBehind || d.cfg.AbsorbAfter > 0 && at.Sub(z.lastMotion) >= d.cfg.AbsorbAfter && own < person {
			if z.Zone.Kind == schema.ZoneStaff && !leftBehind {
				z.Unsure, z.Since, z.candSince, z.candFrames = true, at, time.Time{}, 0
				z.Confidence = 0
				out = append(out, Change{Zone: z.Zone, Unsure: true, At: at})
				continue
			}
			d.absorb(zi)
			z.Ratio, z.Core = d.ratios(z)
			z.lastMotion, z.candSince, z.candFrames = at, time.Time{}, 0
			// What is left is someone of another zone where the two
			// overlap: the zone stays as it was.
			if z.Occupied && z.Core < d.cfg.LeaveRatio {
				z.Occupied, z.Since = false, at
				z.Confidence = d.confidence(z)
				out = append(out, Change{Zone: z.Zone, Occupied: false, Confidence: z.Confidence, At: at})
			}
			continue
		}
		raw := z.Core >= d.cfg.EnterRatio
		if z.Occupied {
			raw = z.Core >= d.cfg.LeaveRatio
		}
		z.Confidence = d.confidence(z)
		if raw == z.Occupied {
			z.candSince, z.candFrames = time.Time{}, 0
			continue
		}
		if z.candSince.IsZero() {
			z.candSince = at
		}
		z.candFrames++
		need := d.cfg.MinOn
		if z.Zone.Kind == schema.ZoneStaff {
			need = d.cfg.StaffMinOn
		}
		if !raw {
			need = d.cfg.MinOff
		}
		if d.confirmed(z.candFrames, need) {
			z.Occupied, z.Since, z.candSince, z.candFrames = raw, z.candSince, time.Time{}, 0
			z.Confidence = d.confidence(z)
			out = append(out, Change{Zone: z.Zone, Occupied: raw, Confidence: z.Confidence, At: z.Since})
		}
	}
	d.adapt()
	return out
}

// leftWithin is how soon after a person-sized change went what stays
// still is taken for what they left behind.
const leftWithin = 10 * time.Second

// personRatio is the share of z a change must fill to be a person.
func (d *Detector) personRatio(z *zoneState) float64 {
	if z.Zone.Kind == schema.ZoneStaff {
		return d.cfg.StaffPersonRatio
	}
	return d.cfg.PersonRatio
}

// ratios are z's changed-area ratios, whole and core, on d.chg.
func (d *Detector) ratios(z *zoneState) (ratio, core float64) {
	var n, nch, ncore, ncoreCh int
	for i, p := range z.pix {
		if z.shared != nil && z.shared[i] {
			continue
		}
		n++
		if d.chg[p] {
			nch++
		}
		if z.core[i] {
			ncore++
			if d.chg[p] {
				ncoreCh++
			}
		}
	}
	ratio = float64(nch) / float64(max(n, 1))
	core = ratio
	if ncore > 0 {
		core = float64(ncoreCh) / float64(ncore)
	}
	return ratio, core
}

// confirmed reports whether a new state seen on frames keyframes in a row
// has held for need: at least two keyframes (one could be anyone passing),
// and enough of them, at the stream's keyframe interval, to cover need.
// Counting keyframes rather than the time between the first and the last
// keeps a 3 s stay with 1 s keyframes (three of them, 2 s apart end to
// end) and refuses a 1.3 s passer-by at any interval.
func (d *Detector) confirmed(frames int, need time.Duration) bool {
	if need <= 0 {
		return true
	}
	if frames < 2 {
		return false
	}
	gap := d.gap
	if gap <= 0 {
		gap = time.Second
	}
	return time.Duration(frames)*gap >= need
}

// markChanged fills d.chg for the pixels of zones: changed against the
// empty-scene reference, or, under an object, against the object. An
// object is taken away when most of its pixels (ObjectGone) show the empty
// scene again; judged on the whole object, since a pixel of someone
// sitting on or beside it may match the empty scene by chance.
func (d *Detector) markChanged() {
	thr := float32(d.cfg.PixelThreshold)
	if d.objects > 0 {
		for zi := range d.zones {
			var n, back int
			for _, p := range d.zones[zi].pix {
				if d.objMask[p] && int(d.objZone[p]) == zi {
					n++
					if abs32(d.cur[p]-d.ref[p]) <= thr {
						back++
					}
				}
			}
			if n > 0 && float64(back) >= objectGone*float64(n) {
				for _, p := range d.zones[zi].pix {
					if d.objMask[p] && int(d.objZone[p]) == zi {
						d.objMask[p] = false
						d.objects--
					}
				}
			}
		}
	}
	for i, in := range d.inZone {
		if !in {
			continue
		}
		c := d.cur[i]
		if d.objMask[i] {
			d.chg[i] = abs32(c-d.obj[i]) > thr
		} else {
			d.chg[i] = abs32(c-d.ref[i]) > thr
		}
		// A pixel that keeps turning changed and unchanged, keyframe after
		// keyframe, is a screen flickering or a light blinking, not
		// someone: a seated body stays changed, and only its edges come
		// and go with its movements.
		h := d.hist[i]<<1 | uint16(b2u(d.chg[i]))
		d.hist[i] = h
		if bits.OnesCount16((h^(h>>1))&flickerWindow) >= flickerToggles {
			d.chg[i] = false
		}
	}
}

// A pixel is flickering when its changed state flipped flickerToggles
// times over the last 15 keyframes.
const (
	flickerWindow  = 0x3fff // 14 flips between 15 keyframes
	flickerToggles = 6
)

func b2u(b bool) uint {
	if b {
		return 1
	}
	return 0
}

// objectGone is the share of an object's pixels that must show the empty
// scene for the object to be gone.
const objectGone = 0.6

// ownRatio is the share of zone zi's pixels changed and in no other zone
// that is occupied or unsure: how big the change is that this zone alone
// would take for an object (a citizen seated where the waiting area
// overlaps the seat is the seat's, not the waiting area's).
func (d *Detector) ownRatio(zi int) float64 {
	var n int
	d.withTaken(zi, func(taken []bool) {
		for _, p := range d.zones[zi].pix {
			if d.chg[p] && !taken[p] {
				n++
			}
		}
	})
	return float64(n) / float64(len(d.zones[zi].pix))
}

// withTaken runs f with the pixels of the zones other than zi that are
// occupied or unsure marked in d.taken, a buffer kept between keyframes
// (this runs for every zone of every keyframe) and left clear after.
func (d *Detector) withTaken(zi int, f func(taken []bool)) {
	mark := func(v bool) {
		for j, o := range d.zones {
			if j != zi && (o.Occupied || o.Unsure) {
				for _, p := range o.pix {
					d.taken[p] = v
				}
			}
		}
	}
	mark(true)
	f(d.taken)
	mark(false)
}

// absorb takes zone zi's changed pixels for an object: into the object
// layer, never the reference, and never a pixel of another zone that is
// occupied or unsure (overlapping zones: the waiting area's bag must not
// swallow the citizen sitting beside it).
func (d *Detector) absorb(zi int) {
	d.withTaken(zi, func(taken []bool) {
		for _, p := range d.zones[zi].pix {
			if d.chg[p] && !taken[p] {
				if !d.objMask[p] {
					d.objects++
				}
				d.objMask[p], d.obj[p], d.objZone[p] = true, d.cur[p], int16(zi)
				d.chg[p] = false
			}
		}
	})
}

// adapt moves the reference towards the frame where nothing changed,
// outside occupied zones; changed pixels outside every zone adapt too, a
// quarter as fast, so a chair moved in the corridor is learned in time.
func (d *Detector) adapt() {
	a := float32(d.cfg.AdaptRate)
	if a == 0 {
		return
	}
	occ := d.occupiedMask()
	thr := float32(d.cfg.PixelThreshold)
	for i := range d.ref {
		if occ[i] {
			continue
		}
		if d.objMask[i] {
			// An object follows the light as the scene does; the empty
			// scene under it waits.
			if diff := d.cur[i] - d.obj[i]; abs32(diff) <= thr {
				d.obj[i] += a * diff
			}
			continue
		}
		diff := d.cur[i] - d.ref[i]
		switch {
		case abs32(diff) <= thr:
			d.ref[i] += a * diff
		case !d.inZone[i]:
			d.ref[i] += a / 4 * diff
		}
	}
}

// occupiedMask marks the pixels of occupied zones; it reuses no buffer
// since it is needed only on adaptation and relearning.
func (d *Detector) occupiedMask() []bool {
	occ := make([]bool, d.w*d.h)
	for _, z := range d.zones {
		if z.Occupied || z.Unsure {
			for _, p := range z.pix {
				occ[p] = true
			}
		}
	}
	return occ
}

func (d *Detector) confidence(z *zoneState) float64 {
	mid := (d.cfg.EnterRatio + d.cfg.LeaveRatio) / 2
	return math.Min(1, 0.5+math.Abs(z.Core-mid)/(2*mid))
}

// resize restarts learning for frames of a new size.
func (d *Detector) resize(w, h int) {
	d.w, d.h = w, h
	d.ref, d.prev, d.anchor = nil, nil, nil
	d.relearn = 0
	d.cur = make([]float32, w*h)
	d.obj = make([]float32, w*h)
	d.objMask = make([]bool, w*h)
	d.objZone = make([]int16, w*h)
	d.objects = 0
	d.chg = make([]bool, w*h)
	d.taken = make([]bool, w*h)
	d.hist = make([]uint16, w*h)
	d.inZone = make([]bool, w*h)
	d.gap, d.judgedAt = 0, time.Time{}
	for i := range d.zones {
		z := &d.zones[i]
		z.pix = mask(z.Zone.Polygon, w, h)
		if len(z.pix) == 0 { // a sliver between pixel centres
			cx, cy := centroid(z.Zone.Polygon)
			z.pix = []int32{int32(min(int(cy*float64(h)), h-1)*w + min(int(cx*float64(w)), w-1))}
		}
		z.core = coreOf(z.pix, w, d.cfg.CoreTop)
		for _, p := range z.pix {
			d.inZone[p] = true
		}
		z.candSince, z.candFrames, z.lastMotion = time.Time{}, 0, time.Time{}
	}
	d.shareSeats(w * h)
}

// shareSeats marks, in each waiting area, the pixels it shares with a
// seat: where the polygons overlap, a citizen seated is the seat's, and the
// waiting area is judged on the rest of it (unless it has no rest).
func (d *Detector) shareSeats(size int) {
	seat := make([]bool, size)
	for _, z := range d.zones {
		if z.Zone.Kind == schema.ZoneStaff || z.Zone.Kind == schema.ZoneCitizen {
			for _, p := range z.pix {
				seat[p] = true
			}
		}
	}
	for i := range d.zones {
		z := &d.zones[i]
		z.shared = nil
		if z.Zone.Kind == schema.ZoneStaff || z.Zone.Kind == schema.ZoneCitizen {
			continue
		}
		shared, n := make([]bool, len(z.pix)), 0
		for j, p := range z.pix {
			if seat[p] {
				shared[j] = true
				n++
			}
		}
		if n > 0 && n < len(z.pix) {
			z.shared = shared
		}
	}
}

// coreOf marks the pixels of pix (indices in a w-wide frame) below the
// top share of its rows.
func coreOf(pix []int32, w int, top float64) []bool {
	core := make([]bool, len(pix))
	if len(pix) == 0 {
		return core
	}
	y0, y1 := int(pix[0])/w, int(pix[0])/w
	for _, p := range pix {
		y := int(p) / w
		y0, y1 = min(y0, y), max(y1, y)
	}
	cut := float64(y0) + top*float64(y1-y0+1)
	for i, p := range pix {
		core[i] = float64(int(p)/w) >= cut
	}
	return core
}

func centroid(p [][2]float64) (x, y float64) {
	for _, q := range p {
		x += q[0]
		y += q[1]
	}
	return x / float64(len(p)), y / float64(len(p))
}

// blur writes f blurred 3x3 into d.cur (grey levels) and returns f's
// standard deviation in grey levels.
func (d *Detector) blurFrame(f keyframe.Frame) float64 {
	w, h := f.W, f.H
	var sum, sum2 float64
	for y := range h {
		y0, y1 := max(y-1, 0), min(y+1, h-1)
		for x := range w {
			x0, x1 := max(x-1, 0), min(x+1, w-1)
			var s, n int
			for yy := y0; yy <= y1; yy++ {
				row := f.Pix[yy*w:]
				s += int(row[x0]) + int(row[x]) + int(row[x1])
				n += 3
			}
			d.cur[y*w+x] = float32(s) / float32(n)
			v := float64(f.Pix[y*w+x])
			sum += v
			sum2 += v * v
		}
	}
	n := float64(w * h)
	mean := sum / n
	return math.Sqrt(math.Max(0, sum2/n-mean*mean))
}

// relight maps d.cur into the reference's lighting: it fits cur = a*ref + b
// by least squares, refitted twice without the pixels that fit worst
// (people, objects), and replaces cur by (cur - b) / a. Lights switched or
// dimmed scale and offset the whole picture; after the mapping they are
// gone, while what really changed stands out. It returns the gain a; ok is
// false when no sane fit exists (a change too large to be lighting).
func (d *Detector) relight() (gain float64, ok bool) {
	a, b := 1.0, 0.0
	limit := math.Inf(1)
	res := make([]float64, 0, len(d.cur)/4+1)
	for range 3 {
		var n, sr, sc, srr, src float64
		for i, c := range d.cur {
			r, cv := float64(d.ref[i]), float64(c)
			if math.Abs(cv-(a*r+b)) > limit {
				continue
			}
			n++
			sr += r
			sc += cv
			srr += r * r
			src += r * cv
		}
		vr := srr/n - (sr/n)*(sr/n)
		if n < 16 || vr < 1 {
			return 1, false
		}
		a = (src/n - (sr/n)*(sc/n)) / vr
		b = sc/n - a*sr/n
		// The next pass keeps pixels within 3 median residuals of this
		// fit (at least 6 grey levels), sampled every 4th pixel.
		res = res[:0]
		for i := 0; i < len(d.cur); i += 4 {
			res = append(res, math.Abs(float64(d.cur[i])-(a*float64(d.ref[i])+b)))
		}
		slices.Sort(res)
		limit = math.Max(3*res[len(res)/2], 6)
	}
	if a < 0.2 || a > 5 {
		return a, false
	}
	ia, fb := float32(1/a), float32(b)
	for i, c := range d.cur {
		d.cur[i] = (c - fb) * ia
	}
	return a, true
}

// changedRatio is the fraction of pixels of d.cur, displaced by (dx, dy),
// that differ from ref by more than the pixel threshold, sampling every
// step-th pixel in each direction.
func (d *Detector) changedRatio(ref []float32, dx, dy, step int) float64 {
	thr := float32(d.cfg.PixelThreshold)
	var n, ch int
	for y := max(0, -dy); y < d.h && y+dy < d.h; y += step {
		for x := max(0, -dx); x < d.w && x+dx < d.w; x += step {
			n++
			if abs32(d.cur[(y+dy)*d.w+x+dx]-ref[y*d.w+x]) > thr {
				ch++
			}
		}
	}
	if n == 0 {
		return 1
	}
	return float64(ch) / float64(n)
}

// shifted searches displacements up to MaxShift for one under which the
// frame matches the reference far better than in place: the camera moved.
func (d *Detector) shifted(inPlace float64) (dx, dy int, ok bool) {
	s := int(d.cfg.MaxShift * float64(d.w))
	best := inPlace
	for y := -s; y <= s; y++ {
		for x := -s; x <= s; x++ {
			if x == 0 && y == 0 {
				continue
			}
			if r := d.changedRatio(d.ref, x, y, 2); r < best {
				best, dx, dy = r, x, y
			}
		}
	}
	return dx, dy, (dx != 0 || dy != 0) && best < inPlace/2 && best < d.cfg.GlobalChangeRatio/2
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

// State returns every zone's current state, in the order New was given.
func (d *Detector) State() []ZoneState {
	out := make([]ZoneState, len(d.zones))
	for i, z := range d.zones {
		out[i] = z.ZoneState
	}
	return out
}

// Judging reports whether the last frame was judged, so that the zones'
// states say what the camera sees: false before the first reference is
// learned, while re-learning after a change of light, and while the view is
// tampered with (states are then held, not seen).
func (d *Detector) Judging() bool {
	return d.judged
}

// Tamper reports whether the camera looks tampered with, and why.
func (d *Detector) Tamper() (bool, string) {
	return d.tamper != "", d.reason
}
