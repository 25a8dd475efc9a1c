package rtspsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/pscm/pscm/internal/annexb"
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

// ParseClip splits Annex B data into access units as annexb.AccessUnits
// groups them: a new one starts at a delimiter, parameter set or SEI that
// follows a picture's slices, or at the first slice of the next picture.
// Access unit delimiters are dropped (the RTP packetizer has no use for
// them), and so is anything after the last picture.
func ParseClip(data []byte, codec string, fps float64) (*Clip, error) {
	if codec != H264 && codec != H265 {
		return nil, fmt.Errorf("codec %q is not h264 or h265", codec)
	}
	if !(fps > 0 && fps <= 240) {
		return nil, fmt.Errorf("fps %v is outside (0, 240]", fps)
	}
	units := annexb.Split(data)
	if len(units) == 0 {
		return nil, errors.New("no Annex B NAL units (is it a raw .h264/.h265 file?)")
	}
	c := &Clip{Codec: codec, FPS: fps}
	for _, au := range annexb.AccessUnits(codec, units) {
		var kept [][]byte
		picture := false
		for _, u := range au {
			switch t := annexb.Type(codec, u); {
			case codec == H264 && t == annexb.H264AUD, codec == H265 && t == annexb.H265AUD:
				continue
			case codec == H265 && t == annexb.H265VPS:
				if c.VPS == nil {
					c.VPS = u
				}
			case codec == H264 && t == annexb.H264SPS, codec == H265 && t == annexb.H265SPS:
				if c.SPS == nil {
					c.SPS = u
				}
			case codec == H264 && t == annexb.H264PPS, codec == H265 && t == annexb.H265PPS:
				if c.PPS == nil {
					c.PPS = u
				}
			}
			picture = picture || annexb.IsVCL(codec, u)
			kept = append(kept, u)
		}
		if picture {
			c.AUs = append(c.AUs, kept)
		}
	}
	if len(c.AUs) == 0 {
		return nil, errors.New("no picture in the stream")
	}
	if c.SPS == nil || c.PPS == nil || codec == H265 && c.VPS == nil {
		return nil, errors.New("no parameter sets in the stream")
	}
	return c, nil
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
