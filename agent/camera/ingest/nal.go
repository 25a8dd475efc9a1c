package ingest

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/deepch/vdk/codec/h264parser"
	"github.com/deepch/vdk/codec/h265parser"

	"github.com/pscm/pscm/internal/schema"
)

// maxNAL bounds one NAL unit; vdk itself flushes its reassembly buffer at
// about 4 MB, and no 4K keyframe slice comes near it.
const maxNAL = 4 << 20

var startCode = []byte{0, 0, 0, 1}

// NAL unit types that matter here.
const (
	h264IDR = 5
	h264SPS = 7
	h264PPS = 8
	h265VPS = 32
	h265SPS = 33
	h265PPS = 34
	// H.265 IRAP pictures (BLA, IDR, CRA: 16..21) all decode without
	// earlier pictures, which is what a keyframe is for occupancy. x265's
	// default open GOP makes every keyframe after the first a CRA.
	h265IRAPFirst = 16
	h265IRAPLast  = 21
)

func nalType(codec string, nal []byte) int {
	if len(nal) == 0 {
		return -1
	}
	if codec == schema.CodecH265 {
		return int(nal[0]>>1) & 0x3f
	}
	return int(nal[0] & 0x1f)
}

// isKeyNAL reports whether nal is a slice of a picture that decodes on its
// own (with the parameter sets).
func isKeyNAL(codec string, nal []byte) bool {
	t := nalType(codec, nal)
	if codec == schema.CodecH265 {
		return t >= h265IRAPFirst && t <= h265IRAPLast
	}
	return t == h264IDR
}

// avccToAnnexB appends to dst the NAL units of data, which holds NAL units
// each prefixed by a 4-byte big-endian length (vdk's av.Packet.Data), each
// behind an Annex B start code.
func avccToAnnexB(dst, data []byte) ([]byte, error) {
	nals, err := nalsOfAVCC(data)
	if err != nil {
		return dst, err
	}
	for _, n := range nals {
		dst = append(dst, startCode...)
		dst = append(dst, n...)
	}
	return dst, nil
}

// nalsOfAVCC splits AVCC data without copying. It refuses lengths that
// overrun the buffer, empty units and units over maxNAL.
func nalsOfAVCC(data []byte) ([][]byte, error) {
	var nals [][]byte
	for len(data) > 0 {
		if len(data) < 4 {
			return nil, fmt.Errorf("avcc: %d trailing bytes, shorter than a length prefix", len(data))
		}
		n := binary.BigEndian.Uint32(data)
		data = data[4:]
		if n == 0 || n > maxNAL || int(n) > len(data) {
			return nil, fmt.Errorf("avcc: NAL unit length %d invalid with %d bytes left", n, len(data))
		}
		nals = append(nals, data[:n])
		data = data[n:]
	}
	if len(nals) == 0 {
		return nil, errors.New("avcc: empty packet")
	}
	return nals, nil
}

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
		if nalType(codec, sps) != h264SPS {
			return p, fmt.Errorf("h264: NAL type %d is not an SPS", nalType(codec, sps))
		}
		info, err := h264parser.ParseSPS(sps)
		if err != nil {
			return p, fmt.Errorf("h264 SPS: %w", err)
		}
		p = picture{Width: int(info.Width), Height: int(info.Height), FPS: float64(info.FPS)}
	case schema.CodecH265:
		if nalType(codec, sps) != h265SPS {
			return p, fmt.Errorf("h265: NAL type %d is not an SPS", nalType(codec, sps))
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
