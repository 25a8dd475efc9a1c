package occupancy

import (
	"errors"
	"fmt"
	"math"

	"github.com/pscm/pscm/internal/schema"
)

// Zone is a region of one camera's picture mapped to a counter and a zone
// kind. Polygon is in normalised coordinates: (0,0) the top left, (1,1) the
// bottom right of the picture, so zones survive a change of stream
// resolution.
type Zone struct {
	ID      string       `yaml:"id" json:"id"`
	Counter string       `yaml:"counter" json:"counter"`
	Kind    schema.Zone  `yaml:"kind" json:"kind"`
	Polygon [][2]float64 `yaml:"polygon" json:"polygon"`
}

// Limits on a zone's polygon.
const (
	MaxPolygonPoints = 64
	// minArea is the smallest polygon area accepted, as a fraction of the
	// picture: 0.2 %, about 30 pixels of a 160x90 frame.
	minArea = 0.002
)

// Validate checks the zone: IDs in the event contract's form, a known kind,
// and a polygon of 3 to 64 points inside [0,1] with a real area.
func (z Zone) Validate() error {
	if !schema.ValidID(z.ID) {
		return fmt.Errorf("zone %q: id must match ^[a-z0-9][a-z0-9_-]{0,62}$", z.ID)
	}
	if !schema.ValidID(z.Counter) {
		return fmt.Errorf("zone %s: counter %q must match ^[a-z0-9][a-z0-9_-]{0,62}$", z.ID, z.Counter)
	}
	if !z.Kind.Valid() {
		return fmt.Errorf("zone %s: kind %q: want staff, citizen or waiting", z.ID, z.Kind)
	}
	if n := len(z.Polygon); n < 3 || n > MaxPolygonPoints {
		return fmt.Errorf("zone %s: polygon has %d points: want 3 to %d", z.ID, n, MaxPolygonPoints)
	}
	for i, p := range z.Polygon {
		for _, c := range p {
			if math.IsNaN(c) || c < 0 || c > 1 {
				return fmt.Errorf("zone %s: point %d (%g, %g) outside [0,1]", z.ID, i, p[0], p[1])
			}
		}
	}
	if a := polygonArea(z.Polygon); a < minArea {
		return fmt.Errorf("zone %s: polygon area %.4f of the picture: degenerate (want at least %g)", z.ID, a, minArea)
	}
	return nil
}

// validateZones checks each zone and that IDs are unique.
func validateZones(zones []Zone) error {
	if len(zones) == 0 {
		return errors.New("occupancy: no zones")
	}
	seen := map[string]bool{}
	for _, z := range zones {
		if err := z.Validate(); err != nil {
			return fmt.Errorf("occupancy: %w", err)
		}
		if seen[z.ID] {
			return fmt.Errorf("occupancy: zone %s twice", z.ID)
		}
		seen[z.ID] = true
	}
	return nil
}

// polygonArea is the shoelace area, absolute, so either winding works.
func polygonArea(p [][2]float64) float64 {
	var a float64
	for i := range p {
		j := (i + 1) % len(p)
		a += p[i][0]*p[j][1] - p[j][0]*p[i][1]
	}
	return math.Abs(a) / 2
}

// inside reports whether (x, y) is inside the polygon (even-odd rule).
func inside(p [][2]float64, x, y float64) bool {
	in := false
	for i, j := 0, len(p)-1; i < len(p); j, i = i, i+1 {
		xi, yi, xj, yj := p[i][0], p[i][1], p[j][0], p[j][1]
		if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
			in = !in
		}
	}
	return in
}

// mask lists the pixels of a w x h frame whose centres lie in the polygon.
func mask(p [][2]float64, w, h int) []int32 {
	var m []int32
	for y := range h {
		fy := (float64(y) + 0.5) / float64(h)
		for x := range w {
			if inside(p, (float64(x)+0.5)/float64(w), fy) {
				m = append(m, int32(y*w+x))
			}
		}
	}
	return m
}
