package occupancy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
)

// Background is what a detector has learned of its camera's view: the
// empty-scene reference and the last verified view, at the size of the
// frames they were learned from. The agent keeps it across restarts:
// without it a detector learns its empty scene from the first frame it
// sees, and an agent restarted while an official sits would learn her into
// the empty chair, report her seat vacant while she works and occupied
// once she has gone.
type Background struct {
	W, H        int
	Ref, Anchor []float32
}

// Background returns the detector's background, or false when it has none
// worth keeping: nothing learned yet, or the view is tampered with or
// being re-learned (the reference then mixes two views).
func (d *Detector) Background() (Background, bool) {
	if d.ref == nil || !d.judged {
		return Background{}, false
	}
	return Background{W: d.w, H: d.h, Ref: slices.Clone(d.ref), Anchor: slices.Clone(d.anchor)}, true
}

// Restore starts the detector from a background kept by an earlier run,
// before its first frame. A first frame of another size (the camera's
// stream was changed) discards it and learns anew, as without one.
func (d *Detector) Restore(b Background) error {
	if err := b.validate(); err != nil {
		return err
	}
	if d.ref != nil {
		return errors.New("occupancy: restore after the first frame")
	}
	d.resize(b.W, b.H)
	d.ref, d.anchor, d.prev = slices.Clone(b.Ref), slices.Clone(b.Anchor), slices.Clone(b.Ref)
	return nil
}

func (b Background) validate() error {
	if b.W < 8 || b.H < 8 || b.W > maxBackgroundSide || b.H > maxBackgroundSide {
		return fmt.Errorf("occupancy: background of %dx%d", b.W, b.H)
	}
	if len(b.Ref) != b.W*b.H || len(b.Anchor) != b.W*b.H {
		return fmt.Errorf("occupancy: background of %dx%d with %d and %d pixels", b.W, b.H, len(b.Ref), len(b.Anchor))
	}
	return nil
}

// maxBackgroundSide bounds a kept background's picture; the detector runs
// on small pictures (DecodeWidth, 160 by default), 4096 leaves room for any.
const maxBackgroundSide = 4096

// backgroundMagic starts the file form; its last byte is the version.
var backgroundMagic = []byte("PSCMBG\x00\x01")

// MarshalBinary is the file form: the magic, width and height (uint16 big
// endian), the reference's and the anchor's pixels one byte each (grey
// levels rounded: the detector's thresholds are many levels wide), and a
// CRC-32 of all that, so a torn or damaged file is refused, never half
// used.
func (b Background) MarshalBinary() ([]byte, error) {
	if err := b.validate(); err != nil {
		return nil, err
	}
	n := b.W * b.H
	out := make([]byte, 0, len(backgroundMagic)+4+2*n+4)
	out = append(out, backgroundMagic...)
	out = binary.BigEndian.AppendUint16(out, uint16(b.W))
	out = binary.BigEndian.AppendUint16(out, uint16(b.H))
	for _, px := range [][]float32{b.Ref, b.Anchor} {
		for _, v := range px {
			out = append(out, byte(math.Round(math.Max(0, math.Min(255, float64(v))))))
		}
	}
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out)), nil
}

// UnmarshalBinary reads the file form, refusing anything else whole.
func (b *Background) UnmarshalBinary(p []byte) error {
	head := len(backgroundMagic) + 4
	if len(p) < head+4 || string(p[:len(backgroundMagic)]) != string(backgroundMagic) {
		return errors.New("occupancy: not a background file of this version")
	}
	body, sum := p[:len(p)-4], binary.BigEndian.Uint32(p[len(p)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return errors.New("occupancy: background file damaged (checksum)")
	}
	w := int(binary.BigEndian.Uint16(p[len(backgroundMagic):]))
	h := int(binary.BigEndian.Uint16(p[len(backgroundMagic)+2:]))
	if w < 8 || h < 8 || w > maxBackgroundSide || h > maxBackgroundSide || len(body) != head+2*w*h {
		return fmt.Errorf("occupancy: background file of %dx%d and %d bytes", w, h, len(p))
	}
	px := body[head:]
	nb := Background{W: w, H: h, Ref: make([]float32, w*h), Anchor: make([]float32, w*h)}
	for i := range nb.Ref {
		nb.Ref[i], nb.Anchor[i] = float32(px[i]), float32(px[w*h+i])
	}
	*b = nb
	return nil
}
