package scene

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pscm/pscm/internal/schema"
)

// generator versions the rendering code itself; bump it when a change
// here alters clips without altering the scripts the hash covers.
const generator = "scene/1"

// Clip is a generated clip.
type Clip struct {
	// Path is the raw Annex B elementary stream (.h264 or .h265) with the
	// parameter sets repeated before every keyframe, as a camera sends it.
	Path string
	// TruthPath is the ground truth as JSON.
	TruthPath string
	Truth     Truth
	Codec     string
}

// look is a figure's clothing.
type look struct {
	r, g, b int
	pattern string // "", "stripes", "checks"
}

// looks are the clothes figures wear; Actor.Look picks one, modulo the
// count.
func looks() []look {
	return []look{
		{150, 190, 230, ""}, // officials' light blue shirt
		{200, 40, 40, ""},
		{225, 225, 220, "stripes"},
		{40, 100, 60, ""},
		{230, 200, 60, "checks"},
		{35, 35, 40, ""},
		{120, 60, 140, "stripes"},
		{190, 110, 50, ""},
	}
}

// job is one ffmpeg run.
type job struct {
	name string
	args []string
	// script, if set, is written to <name>.filter and passed with
	// -filter_complex_script.
	script string
}

// canvas is where a scene is composed: the picture plus a margin all
// round, so a knocked camera (Shift) can crop a displaced view.
type canvas struct {
	s      Scene
	mx, my int
}

func (c canvas) w() int { return c.s.W + 2*c.mx }
func (c canvas) h() int { return c.s.H + 2*c.my }

// px and py turn normalised picture coordinates into canvas pixels.
func (c canvas) px(u float64) int { return c.mx + int(math.Round(u*float64(c.s.W))) }
func (c canvas) py(v float64) int { return c.my + int(math.Round(v*float64(c.s.H))) }

func even(x float64) int { return int(math.Round(x/2)) * 2 }

func newCanvas(s Scene) canvas {
	return canvas{s: s, mx: even(0.1 * float64(s.W)), my: even(0.1 * float64(s.H))}
}

// jobs are the ffmpeg runs that make s in dir, in order.
func (s Scene) jobs() []job {
	c := newCanvas(s)
	jobs := []job{c.background()}
	used := map[string]bool{}
	for i, a := range s.Actors {
		for _, l := range c.layers(a, i) {
			if !used[l.sprite.name] {
				used[l.sprite.name] = true
				jobs = append(jobs, l.sprite)
			}
		}
	}
	return append(jobs, c.main())
}

func lavfiStill(src, filter, out string) []string {
	return []string{"-f", "lavfi", "-i", src, "-vf", filter, "-frames:v", "1", "-update", "1", out}
}

// background draws the empty counter: a wall with panels and a gentle
// texture, a tiled floor, a desk with a monitor, two chairs and a bench,
// with grain all over so no surface is flat.
func (c canvas) background() job {
	u := fmt.Sprintf("((X-%d)/%d)", c.mx, c.s.W)
	v := fmt.Sprintf("((Y-%d)/%d)", c.my, c.s.H)
	wall := fmt.Sprintf("165+12*sin(%[1]s*55)*sin(%[2]s*37)-45*lt(mod(%[1]s*7+10,1),0.025)", u, v)
	floor := fmt.Sprintf("105+22*mod(floor(%[1]s*10+10)+floor(%[2]s*7+10),2)", u, v)
	f := []string{fmt.Sprintf("format=gray,geq=lum='if(lt(%s,0.45),%s,%s)'", v, wall, floor), "format=yuv420p"}
	box := func(u0, v0, u1, v1 float64, grey int) {
		f = append(f, fmt.Sprintf("drawbox=x=%d:y=%d:w=%d:h=%d:color=0x%02x%02x%02x:t=fill",
			c.px(u0), c.py(v0), c.px(u1)-c.px(u0), c.py(v1)-c.py(v0), grey, grey, grey))
	}
	// Notice board with text blocks.
	box(0.40, 0.06, 0.55, 0.30, 70)
	for i := range 4 {
		vv := 0.09 + float64(i)*0.05
		box(0.42, vv, 0.53-float64(i%2)*0.04, vv+0.025, 210)
	}
	// Desk, its edge, and the monitor on it.
	box(0.33, 0.42, 0.57, 0.80, 140)
	box(0.33, 0.42, 0.57, 0.45, 85)
	box(0.38, 0.22, 0.48, 0.40, 40)
	box(0.39, 0.24, 0.47, 0.37, 110)
	box(0.425, 0.40, 0.435, 0.42, 40)
	// Chairs: backrest, seat, legs.
	for _, cu := range []float64{staffSeatU, citizenSeatU} {
		box(cu-0.07, 0.36, cu+0.07, 0.62, 80)
		box(cu-0.06, 0.38, cu+0.06, 0.40, 100)
		box(cu-0.075, 0.62, cu+0.075, 0.70, 60)
		box(cu-0.065, 0.70, cu-0.055, 0.86, 45)
		box(cu+0.055, 0.70, cu+0.065, 0.86, 45)
	}
	// Waiting bench.
	box(0.83, 0.58, 0.99, 0.66, 95)
	box(0.84, 0.66, 0.85, 0.82, 50)
	box(0.97, 0.66, 0.98, 0.82, 50)
	// Screens that flicker: a bezel and the dark screen (main draws what
	// they show).
	for _, fl := range c.s.Flickers {
		r := fl.Region
		box(r[0]-0.008, r[1]-0.012, r[2]+0.008, r[3]+0.012, 30)
		box(r[0], r[1], r[2], r[3], flickerDark)
	}
	f = append(f, "noise=alls=14:allf=0")
	src := fmt.Sprintf("color=c=gray:s=%dx%d:d=1", c.w(), c.h())
	return job{name: "background.png", args: lavfiStill(src, strings.Join(f, ","), "background.png")}
}

// flickerDark is the grey of a flickering screen's dark phase.
const flickerDark = 45

// scale is an actor's size factor (Actor.Scale).
func (a Actor) scale() float64 {
	if a.Scale == 0 {
		return 1
	}
	return a.Scale
}

// spriteSize is the size of an actor's figure before any rotation.
func (c canvas) spriteSize(a Actor) (w, h int) {
	W, H := float64(c.s.W), float64(c.s.H)
	switch a.Kind {
	case Bag:
		k := a.scale()
		return even(bagW * k * W), even(bagH * k * H)
	case Jacket:
		k := a.scale()
		return even(jacketW * k * W), even(jacketH * k * H)
	case Stander, Leaner:
		k := a.scale()
		return even(standW * k * W), even(standH * k * H)
	}
	return even(personW * W), even(personH * H)
}

func (c canvas) spriteName(a Actor) string {
	switch a.Kind {
	case Bag:
		if a.Scale != 0 {
			w, h := c.spriteSize(a)
			return fmt.Sprintf("bag-%dx%d.png", w, h)
		}
		return "bag.png"
	case Jacket:
		w, h := c.spriteSize(a)
		return fmt.Sprintf("jacket-%d-%dx%d.png", a.Look%len(looks()), w, h)
	case Stander, Leaner:
		w, h := c.spriteSize(a)
		return fmt.Sprintf("stand-%d-%dx%d.png", a.Look%len(looks()), w, h)
	}
	return fmt.Sprintf("person-%d.png", a.Look%len(looks()))
}

// layer is one overlay of an actor: the still it shows and where and
// when, as ffmpeg expressions of t in canvas pixels.
type layer struct {
	sprite     job
	x, y, when string
}

// layers are the overlays an actor is drawn with: one for most, two for a
// Leaner (upright while walking, tilted while leaning).
func (c canvas) layers(a Actor, idx int) []layer {
	if a.Kind == Leaner {
		return c.leaner(a, idx)
	}
	name := c.spriteName(a)
	x, y, en := c.motion(a, idx)
	whole := layer{sprite: c.sprite(a, name), x: x, y: y, when: en}
	heads := headStretches(a)
	if heads == "" {
		return []layer{whole}
	}
	// While the head moves on its own, the figure is drawn as its body
	// (swaying as Still.Sway says) and its head on top, moving by
	// Still.Head on its own slower, smaller nods and turns.
	n := a.Look % len(looks())
	whole.when = fmt.Sprintf("(%s)*not(%s)", en, heads)
	ph := 0.7 * float64(idx)
	W := float64(c.s.W)
	k := stillHead(a)
	hx := fmt.Sprintf("%s*%.2f*(sin(2*PI*t/2.9+%.2f)+0.6*sin(2*PI*t/7.3+%.2f))", k, 0.006*W, ph, 2*ph)
	hy := fmt.Sprintf("%s*%.2f*sin(2*PI*t/3.4+%.2f)", k, 0.004*W, ph)
	return []layer{
		whole,
		{sprite: c.spritePart(a, fmt.Sprintf("body-%d.png", n), partBody), x: x, y: y, when: heads},
		{sprite: c.spritePart(a, fmt.Sprintf("head-%d.png", n), partHead), x: x + "+" + hx, y: y + "+" + hy, when: heads},
	}
}

// headStretches is an ffmpeg expression of t, non-zero within a seated
// person's Still stretches where the head moves on its own (Head > 0), or
// "" if there are none.
func headStretches(a Actor) string {
	if a.Kind != Person {
		return ""
	}
	var parts []string
	for _, st := range a.Still {
		if st.Head > 0 {
			parts = append(parts, fmt.Sprintf("between(t,%g,%g)", st.From, st.To))
		}
	}
	return strings.Join(parts, "+")
}

// stillHead is the factor the head's own movement is scaled by, as an
// ffmpeg expression of t.
func stillHead(a Actor) string {
	k := "0"
	for i := len(a.Still) - 1; i >= 0; i-- {
		st := a.Still[i]
		k = fmt.Sprintf("if(between(t,%g,%g),%g,%s)", st.From, st.To, st.Head, k)
	}
	return "(" + k + ")"
}

// sprite draws a figure (head, hair, neck, shirt with sleeves and a
// pattern), a standing figure (the same with trousers and shoes), a bag
// (body, flap, handle) or a jacket (collar, back, sleeves hanging) on a
// transparent background.
func (c canvas) sprite(a Actor, name string) job {
	return c.spritePart(a, name, "")
}

// spritePart draws part of a figure (see spriteExpr) on a canvas of the
// whole figure's size, so the parts line up.
func (c canvas) spritePart(a Actor, name, part string) job {
	w, h := c.spriteSize(a)
	r, g, b, alpha := c.spriteExpr(a, part)
	src := fmt.Sprintf("color=c=black@0:s=%dx%d:d=1", w, h)
	filter := fmt.Sprintf("format=rgba,geq=r='%s':g='%s':b='%s':a='%s'", r, g, b, alpha)
	return job{name: name, args: lavfiStill(src, filter, name)}
}

// Parts of a seated figure drawn apart while its head moves on its own
// (Still.Head): "" is the whole figure.
const (
	partBody = "body"
	partHead = "head"
)

// spriteExpr is a sprite's colour and alpha as geq expressions; part
// picks a seated figure's body or head alone.
func (c canvas) spriteExpr(a Actor, part string) (r, g, b, alpha string) {
	const x, y = "(X/W)", "(Y/H)"
	switch a.Kind {
	case Jacket:
		return jacketExpr(a)
	case Stander, Leaner:
		return standExpr(a)
	}
	if a.Kind == Bag {
		body := fmt.Sprintf("between(%s,0.05,0.95)*between(%s,0.3,1)", x, y)
		flap := fmt.Sprintf("between(%s,0.45,0.52)", y)
		handle := fmt.Sprintf("between(pow((%s-0.5)/0.3,2)+pow((%s-0.32)/0.3,2),0.55,1)*lt(%s,0.32)", x, y, y)
		pick := func(bodyC, flapC, handleC int) string {
			return fmt.Sprintf("if(%s,%d,if(%s,%d,%d))", handle, handleC, flap, flapC, bodyC)
		}
		r, g, b = pick(200, 150, 90), pick(170, 120, 60), pick(120, 80, 30)
		alpha = fmt.Sprintf("255*gt(%s+%s,0)", body, handle)
	} else {
		ls := looks()
		l := ls[a.Look%len(ls)]
		head := fmt.Sprintf("lt(pow((%s-0.5)/0.2,2)+pow((%s-0.12)/0.1,2),1)", x, y)
		hair := fmt.Sprintf("(%s*lt(%s,0.09))", head, y)
		neck := fmt.Sprintf("(lt(abs(%s-0.5),0.07)*between(%s,0.2,0.27))", x, y)
		torso := fmt.Sprintf("(between(%[1]s,0.06,0.94)*between(%[2]s,0.26,1)*gt(gte(%[2]s,0.38)+lt(pow((%[1]s-0.5)/0.44,2)+pow((%[2]s-0.38)/0.13,2),1),0))", x, y)
		sleeve := fmt.Sprintf("(between(%[1]s,0.06,0.17)+between(%[1]s,0.83,0.94))", x)
		pattern := "0"
		switch l.pattern {
		case "stripes":
			pattern = "mod(floor(Y/(H*0.045)),2)"
		case "checks":
			pattern = "mod(floor(X/(W*0.12))+floor(Y/(H*0.08)),2)"
		}
		shade := fmt.Sprintf("(1-0.3*%s-0.2*%s)", pattern, sleeve)
		ch := func(skin, shirt int) string {
			return fmt.Sprintf("if(%s,30,if(%s+%s,%d,%d*%s))", hair, head, neck, skin, shirt, shade)
		}
		r, g, b = ch(205, l.r), ch(165, l.g), ch(135, l.b)
		switch part {
		case partHead:
			alpha = fmt.Sprintf("255*gt(%s,0)", head)
		case partBody:
			alpha = fmt.Sprintf("255*gt(%s+%s,0)*not(%s)", neck, torso, head)
		default:
			alpha = fmt.Sprintf("255*gt(%s+%s+%s,0)", head, neck, torso)
		}
	}
	return r, g, b, alpha
}

// patternExpr is a look's shirt pattern as a geq expression (1 on the
// darker stripes or checks).
func patternExpr(l look) string {
	switch l.pattern {
	case "stripes":
		return "mod(floor(Y/(H*0.045)),2)"
	case "checks":
		return "mod(floor(X/(W*0.12))+floor(Y/(H*0.08)),2)"
	}
	return "0"
}

// standExpr is a standing figure, taller than a seated one: head, neck,
// shirt with sleeves, then trousers (two legs) and shoes.
func standExpr(a Actor) (r, g, b, alpha string) {
	const x, y = "(X/W)", "(Y/H)"
	ls := looks()
	l := ls[a.Look%len(ls)]
	head := fmt.Sprintf("lt(pow((%s-0.5)/0.2,2)+pow((%s-0.09)/0.082,2),1)", x, y)
	hair := fmt.Sprintf("(%s*lt(%s,0.068))", head, y)
	neck := fmt.Sprintf("(lt(abs(%s-0.5),0.07)*between(%s,0.165,0.22))", x, y)
	torso := fmt.Sprintf("(between(%[1]s,0.06,0.94)*between(%[2]s,0.215,0.6)*gt(gte(%[2]s,0.31)+lt(pow((%[1]s-0.5)/0.44,2)+pow((%[2]s-0.31)/0.1,2),1),0))", x, y)
	legs := fmt.Sprintf("(between(%[2]s,0.6,1)*(between(%[1]s,0.17,0.47)+between(%[1]s,0.53,0.83)))", x, y)
	shoes := fmt.Sprintf("(%s*gte(%s,0.965))", legs, y)
	sleeve := fmt.Sprintf("(between(%[1]s,0.06,0.17)+between(%[1]s,0.83,0.94))", x)
	shade := fmt.Sprintf("(1-0.3*%s-0.2*%s)", patternExpr(l), sleeve)
	ch := func(skin, shirt, trousers int) string {
		return fmt.Sprintf("if(%s+%s,25,if(%s,%d,if(%s+%s,%d,%d*%s)))", hair, shoes, legs, trousers, head, neck, skin, shirt, shade)
	}
	r, g, b = ch(205, l.r, 55), ch(165, l.g, 58), ch(135, l.b, 70)
	alpha = fmt.Sprintf("255*gt(%s+%s+%s+%s,0)", head, neck, torso, legs)
	return r, g, b, alpha
}

// jacketExpr is a jacket hung over a chair's back: the collar folded over
// the top of the backrest, the back panel with a seam, the sleeves
// hanging down both sides to the seat; a darker version of the look's
// colour.
func jacketExpr(a Actor) (r, g, b, alpha string) {
	const x, y = "(X/W)", "(Y/H)"
	ls := looks()
	l := ls[a.Look%len(ls)]
	collar := fmt.Sprintf("(between(%s,0.08,0.92)*lt(%s,0.14))", x, y)
	back := fmt.Sprintf("(between(%[1]s,0.12+0.06*%[2]s,0.88-0.06*%[2]s)*lt(%[2]s,0.82))", x, y)
	sleeves := fmt.Sprintf("((between(%[1]s,0,0.15)+between(%[1]s,0.85,1))*between(%[2]s,0.06,1))", x, y)
	seam := fmt.Sprintf("lt(abs(%s-0.5),0.015)", x)
	ch := func(v int) string {
		d := v * 45 / 100
		return fmt.Sprintf("if(%s,%d,if(%s+%s,%d,%d))", collar, d*7/10, sleeves, seam, d*8/10, d)
	}
	r, g, b = ch(l.r), ch(l.g), ch(l.b)
	alpha = fmt.Sprintf("255*gt(%s+%s+%s,0)", collar, back, sleeves)
	return r, g, b, alpha
}

// motion is an actor's position over time as ffmpeg expressions of t, in
// canvas pixels, and when it is on screen.
func (c canvas) motion(a Actor, idx int) (x, y, enable string) {
	w, _ := c.spriteSize(a)
	W := float64(c.s.W)
	off := func(side Side) float64 { // just outside the picture on that side
		if side == Left {
			return float64(c.mx) - float64(w) - 2
		}
		return float64(c.mx) + W + 2
	}
	other := map[Side]Side{Left: Right, Right: Left}
	top := float64(c.py(seatTopV))
	switch a.Kind {
	case Bag:
		return fmt.Sprint(c.px(c.seatU(a)) - w/2), fmt.Sprint(c.py(bagTopV)),
			fmt.Sprintf("between(t,%g,%g)", a.In, c.until(a))
	case Jacket:
		return fmt.Sprint(c.px(c.seatU(a)) - w/2), fmt.Sprint(c.py(jacketTopV)),
			fmt.Sprintf("between(t,%g,%g)", a.In, c.until(a))
	case Passerby:
		x0, x1 := off(a.Side), off(other[a.Side])
		x = fmt.Sprintf("%.1f+%.3f*(t-%g)", x0, (x1-x0)/(a.Out-a.In), a.In)
		y = fmt.Sprintf("%.1f+%.1f*sin(t*9)", top+0.02*float64(c.s.H), 0.005*float64(c.s.H))
		return x, y, fmt.Sprintf("between(t,%g,%g)", a.In, a.Out)
	}
	seat := float64(c.px(c.seatU(a)) - w/2)
	if a.Kind == Stander {
		_, h := c.spriteSize(a)
		seat = float64(c.px(a.U) - w/2)
		top = float64(c.py(a.V) - h)
	}
	from := off(a.Side)
	t0, t1, t2, t3 := a.In-Walk, a.In, a.Out, a.Out+Walk
	// A seated person is never still: two slow sways of incommensurate
	// periods (so keyframes at any interval see different phases) of about
	// 1 % of the width, and a small bob; nearly still (a.Still) they are
	// scaled down.
	ph := 0.7 * float64(idx)
	sway := fmt.Sprintf("%.2f*(sin(2*PI*t/3.7+%.2f)+0.7*sin(2*PI*t/6.1+%.2f))", 0.006*W, ph, 2*ph)
	bob := fmt.Sprintf("%.2f*sin(2*PI*t/4.3+%.2f)", 0.004*W, ph)
	if k := stillness(a); k != "" {
		sway, bob = k+"*"+sway, k+"*"+bob
	}
	x = fmt.Sprintf("if(lt(t,%g),%.1f+%.3f*(t-%g),if(lt(t,%g),%.1f+%s,%.1f+%.3f*(t-%g)))",
		t1, from, (seat-from)/Walk, t0, t2, seat, sway, seat, (from-seat)/Walk, t2)
	y = fmt.Sprintf("%.1f+%s", top, bob)
	return x, y, fmt.Sprintf("between(t,%g,%g)", t0, t3)
}

// stillness is the factor a.Still scales a person's sway by, as an ffmpeg
// expression of t, or "" when they are never still.
func stillness(a Actor) string {
	if len(a.Still) == 0 {
		return ""
	}
	k := "1"
	for i := len(a.Still) - 1; i >= 0; i-- {
		st := a.Still[i]
		k = fmt.Sprintf("if(between(t,%g,%g),%g,%s)", st.From, st.To, st.Sway, k)
	}
	return "(" + k + ")"
}

// leanAngle is how far a Leaner tilts, in radians, clockwise (to the
// right) when they came from the left.
const leanAngle = 0.38

// leaner is a Leaner's two layers: their standing figure walking in and
// out, and the same figure rotated about their feet while leaning, with a
// small sway.
func (c canvas) leaner(a Actor, idx int) []layer {
	stand := c.sprite(a, c.spriteName(a))
	w, h := c.spriteSize(a)
	W := float64(c.s.W)
	footX, footY := float64(c.px(a.U)), float64(c.py(a.V))
	spot := footX - float64(w)/2
	from := float64(c.mx) - float64(w) - 2
	ang := leanAngle
	if a.Side == Right {
		from, ang = float64(c.mx)+W+2, -leanAngle
	}
	t0, t1, t2, t3 := a.In-Walk, a.In, a.Out, a.Out+Walk
	walk := layer{
		sprite: stand,
		x: fmt.Sprintf("if(lt(t,%g),%.1f+%.3f*(t-%g),%.1f+%.3f*(t-%g))",
			t1, from, (spot-from)/Walk, t0, spot, (from-spot)/Walk, t2),
		y:    fmt.Sprintf("%.1f", footY-float64(h)),
		when: fmt.Sprintf("between(t,%g,%g)+between(t,%g,%g)", t0, t1-0.001, t2+0.001, t3),
	}
	// The rotated still: ffmpeg's rotate turns it clockwise by ang about
	// its centre onto an rw x rh canvas; the feet, h/2 below the centre,
	// end up at (-h/2 sin ang, h/2 cos ang) from it.
	fw, fh := float64(w), float64(h)
	rw := even(math.Abs(fw*math.Cos(ang)) + math.Abs(fh*math.Sin(ang)))
	rh := even(math.Abs(fw*math.Sin(ang)) + math.Abs(fh*math.Cos(ang)))
	cx, cy := footX+fh/2*math.Sin(ang), footY-fh/2*math.Cos(ang)
	r, g, b, alpha := c.spriteExpr(a, "")
	name := fmt.Sprintf("lean-%d-%s-%dx%d.png", a.Look%len(looks()), a.Side, w, h)
	src := fmt.Sprintf("color=c=black@0:s=%dx%d:d=1", w, h)
	filter := fmt.Sprintf("format=rgba,geq=r='%s':g='%s':b='%s':a='%s',rotate=a=%.3f:c=none:ow=%d:oh=%d",
		r, g, b, alpha, ang, rw, rh)
	ph := 0.7 * float64(idx)
	sway := fmt.Sprintf("%.2f*(sin(2*PI*t/3.7+%.2f)+0.7*sin(2*PI*t/6.1+%.2f))", 0.006*W, ph, 2*ph)
	bob := fmt.Sprintf("%.2f*sin(2*PI*t/4.3+%.2f)", 0.004*W, ph)
	if k := stillness(a); k != "" {
		sway, bob = k+"*"+sway, k+"*"+bob
	}
	lean := layer{
		sprite: job{name: name, args: lavfiStill(src, filter, name)},
		x:      fmt.Sprintf("%.1f+%s", cx-float64(rw)/2, sway),
		y:      fmt.Sprintf("%.1f+%s", cy-float64(rh)/2, bob),
		when:   fmt.Sprintf("between(t,%g,%g)", t1, t2),
	}
	return []layer{walk, lean}
}

func (c canvas) until(a Actor) float64 {
	if a.Out == 0 {
		return c.s.Duration + 1
	}
	return a.Out
}

// seatU is the horizontal centre of an actor's seat: U if set, else the
// centre of its zone.
func (c canvas) seatU(a Actor) float64 {
	if a.U > 0 {
		return a.U
	}
	for _, z := range c.s.Zones {
		if z.ID == a.Zone {
			var sum float64
			for _, p := range z.Polygon {
				sum += p[0]
			}
			return sum / float64(len(z.Polygon))
		}
	}
	return 0.5
}

// level is the light level over time as an ffmpeg expression of t.
func (c canvas) level() string {
	e, prev := "1", 1.0
	for _, l := range c.s.Lights {
		to := fmt.Sprintf("%g", l.Gain)
		if l.Ramp > 0 {
			to = fmt.Sprintf("if(lt(t,%g),%g+%g*(t-%g)/%g,%g)", l.At+l.Ramp, prev, l.Gain-prev, l.At, l.Ramp, l.Gain)
		}
		e = fmt.Sprintf("if(lt(t,%g),%s,%s)", l.At, e, to)
		prev = l.Gain
	}
	return e
}

// main composes the clip: background, bags, then people in order of
// arrival, the light level, the camera's view (shifted when knocked), the
// cover, sensor noise; and encodes it.
func (c canvas) main() job {
	s := c.s
	d := fmt.Sprintf("%g", s.Duration)
	fps := strconv.Itoa(s.FPS)
	// Each still is decoded once and repeated by the loop filter: an
	// image input with -loop 1 would decode the PNG again every frame.
	still := func(in int, format string) string {
		return fmt.Sprintf("[%d:v]format=%s,loop=loop=-1:size=1,setpts=N/(%s*TB)", in, format, fps)
	}
	args := []string{"-i", "background.png"}
	bg := still(0, "yuv420p")
	for _, fl := range s.Flickers {
		r := fl.Region
		to := fl.To
		if to == 0 {
			to = s.Duration + 1
		}
		bg += fmt.Sprintf(",drawbox=x=%d:y=%d:w=%d:h=%d:color=0x%02x%02x%02x:t=fill:enable='between(t,%g,%g)*lt(mod(t-%g,%g),%g)'",
			c.px(r[0]), c.py(r[1]), c.px(r[2])-c.px(r[0]), c.py(r[3])-c.py(r[1]), fl.Grey, fl.Grey, fl.Grey,
			fl.From, to, fl.From, fl.Period, fl.Period/2)
	}
	lines := []string{bg + "[v0]"}
	last := "[v0]"
	// Objects lie under people, people standing behind the seats under
	// those seated on them.
	var order []int
	for _, pass := range []func(Actor) bool{
		Actor.object,
		func(a Actor) bool { return a.Kind == Stander || a.Kind == Leaner },
		func(a Actor) bool { return a.Kind == Person || a.Kind == Passerby },
	} {
		for i, a := range s.Actors {
			if pass(a) {
				order = append(order, i)
			}
		}
	}
	n := 0
	for _, i := range order {
		for _, l := range c.layers(s.Actors[i], i) {
			n++
			args = append(args, "-i", l.sprite.name)
			out := fmt.Sprintf("[v%d]", n)
			lines = append(lines, fmt.Sprintf("%s[s%d]", still(n, "yuva420p"), n),
				fmt.Sprintf("%s[s%d]overlay=x='%s':y='%s':enable='%s':eval=frame%s", last, n, l.x, l.y, l.when, out))
			last = out
		}
	}
	var post []string
	if len(s.Lights) > 0 {
		k := c.level()
		// eq maps v to contrast*(v-0.5)+0.5+brightness: with contrast k
		// and brightness (k-1)/2 that is k*v, a light level.
		post = append(post, fmt.Sprintf("eq=eval=frame:contrast='%s':brightness='(%s-1)/2'", k, k))
	}
	dx, dy := "0", "0"
	for _, t := range s.Tampers {
		if t.Kind == Shift {
			dx = fmt.Sprintf("if(between(t,%g,%g),%d,%s)", t.Start, t.End, even(t.DX*float64(s.W)), dx)
			dy = fmt.Sprintf("if(between(t,%g,%g),%d,%s)", t.Start, t.End, even(t.DY*float64(s.H)), dy)
		}
	}
	post = append(post, fmt.Sprintf("crop=w=%d:h=%d:x='%d+%s':y='%d+%s'", s.W, s.H, c.mx, dx, c.my, dy))
	for _, t := range s.Tampers {
		if t.Kind == Cover {
			post = append(post, fmt.Sprintf("drawbox=x=0:y=0:w=iw:h=ih:color=0x262626:t=fill:enable='between(t,%g,%g)'", t.Start, t.End))
		}
	}
	// Sensor noise, weaker at high resolutions where a real sensor's
	// noise is finer than a pixel of the picture and the encoder smooths it.
	noise := 5
	if s.W > 1000 {
		noise = 2
	}
	post = append(post, fmt.Sprintf("noise=alls=%d:allf=t", noise), "format=yuv420p")
	lines = append(lines, last+strings.Join(post, ",")+"[out]")
	args = append(args, "-filter_complex_script", "main.filter", "-map", "[out]", "-t", d, "-r", fps)
	args = append(args, c.encoder()...)
	return job{name: "main", args: args, script: strings.Join(lines, ";\n") + "\n"}
}

// encoder is the encoder's arguments: constant keyframe interval with no
// scene-cut keyframes, no B-frames, parameter sets before every keyframe.
func (c canvas) encoder() []string {
	s := c.s
	g := strconv.Itoa(s.GOP)
	var rate []string
	if s.KbitRate > 0 {
		k := strconv.Itoa(s.KbitRate) + "k"
		// A one-second buffer, as IP cameras' CBR modes keep: it bounds a
		// keyframe to about a second's worth of bits.
		rate = []string{"-b:v", k, "-maxrate", k, "-bufsize", k}
	} else {
		rate = []string{"-crf", "23"}
	}
	if s.codec() == schema.CodecH265 {
		return append(append([]string{"-c:v", "libx265", "-preset", "veryfast"}, rate...),
			"-x265-params", fmt.Sprintf("keyint=%s:min-keyint=%s:scenecut=0:bframes=0:repeat-headers=1:pools=2:log-level=error", g, g),
			"-pix_fmt", "yuv420p", "-f", "hevc", "clip.h265")
	}
	return append(append([]string{"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-profile:v", "main",
		"-bf", "0", "-g", g, "-keyint_min", g, "-sc_threshold", "0", "-x264-params", "repeat-headers=1", "-threads", "2"}, rate...),
		"-pix_fmt", "yuv420p", "-f", "h264", "clip.h264")
}

func (s Scene) codec() string {
	if s.Codec == "" {
		return schema.CodecH264
	}
	return s.Codec
}

func (s Scene) clipName() string {
	if s.codec() == schema.CodecH265 {
		return "clip.h265"
	}
	return "clip.h264"
}

// Hash identifies a scene's clip: the generator version, the scene and every
// ffmpeg argument and filter script that makes it.
func (s Scene) Hash() string {
	h := sha256.New()
	fmt.Fprintln(h, generator)
	j, _ := json.Marshal(s)
	h.Write(j)
	for _, jb := range s.jobs() {
		fmt.Fprintf(h, "\n%q %q %q", jb.name, jb.args, jb.script)
	}
	return hex.EncodeToString(h.Sum(nil))[:20]
}

// CacheEnv names a directory that overrides where clips are cached.
const CacheEnv = "PSCM_CLIP_CACHE"

// CacheDir is where clips are cached: $PSCM_CLIP_CACHE if set, else
// <repo>/.cache/clips for the repository found by walking up from the
// working directory to go.mod, else (an installed pscm-sim run elsewhere)
// the user's cache directory, pscm/clips.
func CacheDir() (string, error) {
	if d := os.Getenv(CacheEnv); d != "" {
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, ".cache", "clips"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	user, err := os.UserCacheDir()
	if err != nil {
		return "", errors.New("scene: no go.mod above the working directory and no user cache directory")
	}
	return filepath.Join(user, "pscm", "clips"), nil
}

// Generate makes s's clip under dir/<hash>/ unless it is there already,
// and returns it. Several processes may generate the same clip at once:
// each renders into its own temporary directory and the first rename
// wins.
func Generate(ctx context.Context, dir string, s Scene) (Clip, error) {
	if err := s.Validate(); err != nil {
		return Clip{}, err
	}
	final := filepath.Join(dir, s.Name+"-"+s.Hash())
	clip := Clip{Path: filepath.Join(final, s.clipName()), TruthPath: filepath.Join(final, "truth.json"), Truth: s.Truth(), Codec: s.codec()}
	if _, err := os.Stat(clip.TruthPath); err == nil {
		return clip, nil
	}
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		return Clip{}, fmt.Errorf("scene: ffmpeg not found (apt-get install ffmpeg): %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Clip{}, fmt.Errorf("scene: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, "tmp-"+s.Name+"-")
	if err != nil {
		return Clip{}, fmt.Errorf("scene: %w", err)
	}
	defer os.RemoveAll(tmp)
	for _, jb := range s.jobs() {
		if jb.script != "" {
			if err := os.WriteFile(filepath.Join(tmp, jb.name+".filter"), []byte(jb.script), 0o644); err != nil {
				return Clip{}, fmt.Errorf("scene: %w", err)
			}
		}
		args := append([]string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-threads", "2"}, jb.args...)
		cmd := exec.CommandContext(ctx, ffmpeg, args...)
		cmd.Dir = tmp
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return Clip{}, fmt.Errorf("scene %s: ffmpeg %s: %w: %s", s.Name, jb.name, err, tail(stderr.String()))
		}
	}
	if fi, err := os.Stat(filepath.Join(tmp, s.clipName())); err != nil || fi.Size() == 0 {
		return Clip{}, fmt.Errorf("scene %s: ffmpeg wrote no clip", s.Name)
	}
	// Keep the clip, the truth and the filter script (to see how the clip
	// was made); the stills are intermediate.
	stills, _ := filepath.Glob(filepath.Join(tmp, "*.png"))
	for _, p := range stills {
		os.Remove(p)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return Clip{}, fmt.Errorf("scene: %w", err)
	}
	tj, err := json.MarshalIndent(clip.Truth, "", "  ")
	if err != nil {
		return Clip{}, fmt.Errorf("scene: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "truth.json"), tj, 0o644); err != nil {
		return Clip{}, fmt.Errorf("scene: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil && !errors.Is(err, fs.ErrExist) {
		if _, serr := os.Stat(clip.TruthPath); serr != nil { // not another process's clip
			return Clip{}, fmt.Errorf("scene: %w", err)
		}
	}
	return clip, nil
}

// tail is the end of ffmpeg's error output, enough to see why it failed.
func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 2000 {
		s = "..." + s[len(s)-2000:]
	}
	return s
}

// Cached is Generate into CacheDir: what tests and benchmarks call.
func Cached(ctx context.Context, s Scene) (Clip, error) {
	dir, err := CacheDir()
	if err != nil {
		return Clip{}, err
	}
	return Generate(ctx, dir, s)
}

// LoadTruth reads a truth file Generate wrote.
func LoadTruth(path string) (Truth, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Truth{}, err
	}
	var t Truth
	if err := json.Unmarshal(b, &t); err != nil {
		return Truth{}, fmt.Errorf("scene: %s: %w", path, err)
	}
	return t, nil
}
