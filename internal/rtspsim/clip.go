package rtspsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/pscm/pscm/internal/scene"
)

// Codecs of a Clip.
const (
	H264 = "h264"
	H265 = "h265"
)

// MaxClipBytes bounds a clip file: the simulator holds clips in memory.
const MaxClipBytes = 64 << 20

// Clip is an Annex B elementary stream split into access units, held in
// memory and served in a loop.
type Clip struct {
	Codec string
	FPS   float64
	// AUs are the access units in decoding order, each a list of NAL units
	// without start codes (access unit delimiters dropped).
	AUs [][][]byte
	// VPS (H.265 only), SPS and PPS are the first parameter sets of the
	// file, announced in the SDP.
	VPS, SPS, PPS []byte
}

// LoadClip reads an Annex B file (.h264 or .h265, as `ffmpeg -f h264` or
// `-f hevc` writes it) of the given codec and frame rate.
func LoadClip(path, codec string, fps float64) (*Clip, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("rtspsim: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxClipBytes+1))
	if err != nil {
		return nil, fmt.Errorf("rtspsim: read %s: %w", path, err)
	}
	if len(data) > MaxClipBytes {
		return nil, fmt.Errorf("rtspsim: %s: larger than %d bytes", path, MaxClipBytes)
	}
	c, err := ParseClip(data, codec, fps)
	if err != nil {
		return nil, fmt.Errorf("rtspsim: %s: %w", path, err)
	}
	return c, nil
}

// ParseClip splits Annex B data into access units. A new access unit
// starts at a delimiter, parameter set or SEI that follows a slice, or at
// the first slice of a picture (first_mb_in_slice 0 in H.264,
// first_slice_segment_in_pic_flag in H.265).
func ParseClip(data []byte, codec string, fps float64) (*Clip, error) {
	if codec != H264 && codec != H265 {
		return nil, fmt.Errorf("codec %q is not h264 or h265", codec)
	}
	if !(fps > 0 && fps <= 240) {
		return nil, fmt.Errorf("fps %v is outside (0, 240]", fps)
	}
	nals := splitAnnexB(data)
	if len(nals) == 0 {
		return nil, errors.New("no Annex B NAL units (is it a raw .h264/.h265 file?)")
	}
	c := &Clip{Codec: codec, FPS: fps}
	var au [][]byte
	hasSlice := false
	for _, n := range nals {
		kind, firstOfPic := classify(codec, n)
		if kind == nalAUD {
			if hasSlice {
				c.AUs = append(c.AUs, au)
				au, hasSlice = nil, false
			}
			continue
		}
		if hasSlice && (kind == nalPrefix || kind == nalSlice && firstOfPic) {
			c.AUs = append(c.AUs, au)
			au, hasSlice = nil, false
		}
		switch kind {
		case nalVPS:
			if c.VPS == nil {
				c.VPS = n
			}
		case nalSPS:
			if c.SPS == nil {
				c.SPS = n
			}
		case nalPPS:
			if c.PPS == nil {
				c.PPS = n
			}
		case nalSlice:
			hasSlice = true
		}
		au = append(au, n)
	}
	if hasSlice {
		c.AUs = append(c.AUs, au)
	}
	if len(c.AUs) == 0 {
		return nil, errors.New("no picture in the stream")
	}
	if c.SPS == nil || c.PPS == nil || codec == H265 && c.VPS == nil {
		return nil, errors.New("no parameter sets in the stream")
	}
	return c, nil
}

type nalKind int

const (
	nalOther  nalKind = iota
	nalAUD            // access unit delimiter
	nalPrefix         // SEI and other units that precede a picture
	nalVPS
	nalSPS
	nalPPS
	nalSlice
)

func classify(codec string, n []byte) (nalKind, bool) {
	if codec == H264 {
		t := n[0] & 0x1f
		switch {
		case t == 9:
			return nalAUD, false
		case t == 7:
			return nalSPS, false
		case t == 8:
			return nalPPS, false
		case t == 6 || t >= 14 && t <= 18:
			return nalPrefix, false
		case t >= 1 && t <= 5:
			return nalSlice, len(n) > 1 && n[1]&0x80 != 0
		}
		return nalOther, false
	}
	if len(n) < 2 {
		return nalOther, false
	}
	t := n[0] >> 1 & 0x3f
	switch {
	case t == 35:
		return nalAUD, false
	case t == 32:
		return nalVPS, false
	case t == 33:
		return nalSPS, false
	case t == 34:
		return nalPPS, false
	case t == 39 || t >= 41 && t <= 44 || t >= 48 && t <= 55:
		return nalPrefix, false
	case t <= 31:
		return nalSlice, len(n) > 2 && n[2]&0x80 != 0
	}
	return nalOther, false
}

// splitAnnexB returns the NAL units between start codes (00 00 01 or
// 00 00 00 01), without trailing zero bytes; empty units are skipped.
func splitAnnexB(data []byte) [][]byte {
	var nals [][]byte
	start := -1
	for i := 0; i+2 < len(data); {
		if data[i] == 0 && data[i+1] == 0 && data[i+2] == 1 {
			if start >= 0 {
				nals = appendNAL(nals, data[start:i])
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 {
		nals = appendNAL(nals, data[start:])
	}
	return nals
}

func appendNAL(nals [][]byte, n []byte) [][]byte {
	n = bytes.TrimRight(n, "\x00")
	if len(n) == 0 {
		return nals
	}
	return append(nals, n)
}

// SceneClip returns a generated counter scene's clip (made with ffmpeg the
// first time, then cached; see internal/scene) loaded for serving, with
// the generated clip and its ground truth.
func SceneClip(ctx context.Context, s scene.Scene) (*Clip, scene.Clip, error) {
	gen, err := scene.Cached(ctx, s)
	if err != nil {
		return nil, gen, fmt.Errorf("scene %s: %w", s.Name, err)
	}
	c, err := LoadClip(gen.Path, gen.Codec, float64(s.FPS))
	return c, gen, err
}
