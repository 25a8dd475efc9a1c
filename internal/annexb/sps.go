package annexb

import (
	"fmt"

	"github.com/deepch/vdk/codec/h264parser"
	"github.com/deepch/vdk/codec/h265parser"

	"github.com/pscm/pscm/internal/schema"
)

// Picture is what an SPS says about the pictures.
type Picture struct {
	Width, Height int
	FPS           float64 // from VUI timing; 0 if absent
}

// Bounds on what ParseSPS reads and believes.
const (
	// maxSPS bounds one SPS unit; vdk flushes its own reassembly at about
	// 4 MB, and a real SPS is tens of bytes.
	maxSPS = 4 << 20
	// maxSize is the largest width or height H.264 and H.265 levels allow.
	maxSize = 16384
	// maxVUIFPS: a VUI frame rate above it is a field rate or a garbled
	// time scale, and is ignored.
	maxVUIFPS = 240
)

// ParseSPS reads width, height and frame rate from an SPS NAL unit (with
// its header) through vdk's parsers. Those parsers index without checking
// on some malformed input, so a panic is turned into an error: an SPS comes
// from a camera, and a bad one must not take the agent down.
func ParseSPS(codec string, sps []byte) (p Picture, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s SPS of %d bytes: parser failed: %v", codec, len(sps), r)
		}
	}()
	if len(sps) > maxSPS {
		return p, fmt.Errorf("%s SPS of %d bytes: too long", codec, len(sps))
	}
	switch codec {
	case schema.CodecH264:
		if t := Type(codec, sps); t != H264SPS {
			return p, fmt.Errorf("h264: NAL type %d is not an SPS", t)
		}
		info, err := h264parser.ParseSPS(sps)
		if err != nil {
			return p, fmt.Errorf("h264 SPS: %w", err)
		}
		p = Picture{Width: int(info.Width), Height: int(info.Height), FPS: float64(info.FPS)}
	case schema.CodecH265:
		if t := Type(codec, sps); t != H265SPS {
			return p, fmt.Errorf("h265: NAL type %d is not an SPS", t)
		}
		info, err := h265parser.ParseSPS(sps)
		if err != nil {
			return p, fmt.Errorf("h265 SPS: %w", err)
		}
		p = Picture{Width: int(info.Width), Height: int(info.Height)}
	default:
		return p, fmt.Errorf("codec %q has no SPS", codec)
	}
	if p.Width <= 0 || p.Height <= 0 || p.Width > maxSize || p.Height > maxSize {
		return p, fmt.Errorf("%s SPS: implausible size %dx%d", codec, p.Width, p.Height)
	}
	if p.FPS > maxVUIFPS {
		p.FPS = 0
	}
	return p, nil
}
