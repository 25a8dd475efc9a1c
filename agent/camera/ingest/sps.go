package ingest

import (
	"fmt"

	"github.com/deepch/vdk/codec/h264parser"
	"github.com/deepch/vdk/codec/h265parser"

	"github.com/pscm/pscm/internal/annexb"
	"github.com/pscm/pscm/internal/schema"
)

// maxNAL bounds one NAL unit; vdk itself flushes its reassembly buffer at
// about 4 MB, and no 4K keyframe slice comes near it.
const maxNAL = 4 << 20

// picture is what an SPS says about the pictures.
type picture struct {
	Width, Height int
	FPS           float64 // from VUI timing; 0 if absent
}

// parseSPS reads width, height and frame rate from an SPS NAL unit (with
// its header) through vdk's parsers. Those parsers index without checking
// on some malformed input, so a panic is turned into an error: an SPS comes
// from the camera, and a bad one must not take the agent down.
func parseSPS(codec string, sps []byte) (p picture, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s SPS of %d bytes: parser failed: %v", codec, len(sps), r)
		}
	}()
	if len(sps) > maxNAL {
		return p, fmt.Errorf("%s SPS of %d bytes: too long", codec, len(sps))
	}
	switch codec {
	case schema.CodecH264:
		if t := annexb.Type(codec, sps); t != annexb.H264SPS {
			return p, fmt.Errorf("h264: NAL type %d is not an SPS", t)
		}
		info, err := h264parser.ParseSPS(sps)
		if err != nil {
			return p, fmt.Errorf("h264 SPS: %w", err)
		}
		p = picture{Width: int(info.Width), Height: int(info.Height), FPS: float64(info.FPS)}
	case schema.CodecH265:
		if t := annexb.Type(codec, sps); t != annexb.H265SPS {
			return p, fmt.Errorf("h265: NAL type %d is not an SPS", t)
		}
		info, err := h265parser.ParseSPS(sps)
		if err != nil {
			return p, fmt.Errorf("h265 SPS: %w", err)
		}
		p = picture{Width: int(info.Width), Height: int(info.Height)}
	default:
		return p, fmt.Errorf("codec %q has no SPS", codec)
	}
	if p.Width <= 0 || p.Height <= 0 || p.Width > 16384 || p.Height > 16384 {
		return p, fmt.Errorf("%s SPS: implausible size %dx%d", codec, p.Width, p.Height)
	}
	if p.FPS > maxFPS {
		p.FPS = 0 // a VUI with a field rate or a garbled time scale: ignore it
	}
	return p, nil
}
