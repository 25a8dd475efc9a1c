package occupancy

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"

	"github.com/pscm/pscm/agent/camera/keyframe"
	"github.com/pscm/pscm/internal/schema"
)

// renderWidth is the width RenderPNG enlarges small frames to, so an
// installer can place zones by eye.
const renderWidth = 640

// RenderPNG writes f as a PNG, enlarged to about 640 pixels wide, with each
// zone's outline drawn in its kind's colour (staff blue, citizen green,
// waiting amber) and, for zones whose state says occupied, a tint inside.
// It is the calibration page's picture; nothing else ever shows a frame.
func RenderPNG(w io.Writer, f keyframe.Frame, zones []Zone, states ...ZoneState) error {
	if f.W < 1 || f.H < 1 || len(f.Pix) != f.W*f.H {
		return fmt.Errorf("occupancy: render: frame %dx%d with %d bytes", f.W, f.H, len(f.Pix))
	}
	for _, z := range zones {
		if err := z.Validate(); err != nil {
			return fmt.Errorf("occupancy: render: %w", err)
		}
	}
	s := max(1, renderWidth/f.W)
	W, H := f.W*s, f.H*s
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	for y := range H {
		for x := range W {
			v := f.Pix[(y/s)*f.W+x/s]
			img.SetRGBA(x, y, color.RGBA{v, v, v, 255})
		}
	}
	occupied := map[string]bool{}
	for _, st := range states {
		occupied[st.Zone.ID] = st.Occupied
	}
	for _, z := range zones {
		c := kindColor(z.Kind)
		if occupied[z.ID] {
			for _, p := range mask(z.Polygon, W, H) {
				x, y := int(p)%W, int(p)/W
				o := img.RGBAAt(x, y)
				img.SetRGBA(x, y, color.RGBA{mix(o.R, c.R), mix(o.G, c.G), mix(o.B, c.B), 255})
			}
		}
		for i, p := range z.Polygon {
			q := z.Polygon[(i+1)%len(z.Polygon)]
			line(img, p[0]*float64(W-1), p[1]*float64(H-1), q[0]*float64(W-1), q[1]*float64(H-1), c)
		}
	}
	return png.Encode(w, img)
}

func kindColor(k schema.Zone) color.RGBA {
	switch k {
	case schema.ZoneStaff:
		return color.RGBA{40, 120, 255, 255}
	case schema.ZoneCitizen:
		return color.RGBA{40, 200, 80, 255}
	default:
		return color.RGBA{255, 170, 0, 255}
	}
}

// mix tints a pixel 40 % towards the zone colour.
func mix(a, b uint8) uint8 { return uint8((int(a)*3 + int(b)*2) / 5) }

// line draws a 2-pixel-wide line by stepping along its longer axis.
func line(img *image.RGBA, x0, y0, x1, y1 float64, c color.RGBA) {
	n := int(math.Max(math.Abs(x1-x0), math.Abs(y1-y0))) + 1
	for i := 0; i <= n; i++ {
		t := float64(i) / float64(n)
		x, y := int(math.Round(x0+(x1-x0)*t)), int(math.Round(y0+(y1-y0)*t))
		for _, d := range [][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
			if image.Pt(x+d[0], y+d[1]).In(img.Rect) {
				img.SetRGBA(x+d[0], y+d[1], c)
			}
		}
	}
}
