// Package annexb reads the NAL units of H.264 and H.265 video in the two
// framings the system meets: Annex B byte streams (start codes: .h264 and
// .h265 files as ffmpeg writes them, and what libavcodec decodes) and AVCC
// packets (4-byte length prefixes: what vdk's RTSP client hands over). It
// cuts a stream into access units, tells keyframes apart and reads the
// picture size an SPS declares (ParseSPS).
//
// The camera ingest, the keyframe decoder, the RTSP simulator and the scene
// tests all read the same bitstreams; this is their one reading of them, so
// that what the simulator sends as a picture is what the agent counts as
// one. Codecs are named as in events, schema.CodecH264 and
// schema.CodecH265; any other codec has no NAL units here.
package annexb

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/pscm/pscm/internal/schema"
)

// StartCode is the 4-byte start code Append and Join put before each unit.
const StartCode = "\x00\x00\x00\x01"

// NAL unit types (H.264 and H.265, table 7-1 of each) this package and its
// users look at.
const (
	H264NonIDR = 1
	H264IDR    = 5
	H264SEI    = 6
	H264SPS    = 7
	H264PPS    = 8
	H264AUD    = 9

	// H.265 IRAP pictures (BLA, IDR, CRA: 16..21) all decode without
	// earlier pictures, which is what a keyframe is for occupancy. x265's
	// default open GOP makes every keyframe after the first a CRA.
	H265IRAPFirst = 16 // BLA_W_LP
	H265IRAPLast  = 21 // CRA_NUT
	H265VCLLast   = 31
	H265VPS       = 32
	H265SPS       = 33
	H265PPS       = 34
	H265AUD       = 35
	H265PrefixSEI = 39
)

// Split returns the NAL units of an Annex B byte stream, without their
// start codes (3 or 4 bytes) and without trailing zero bytes (a zero_byte
// or trailing_zero_8bits belongs to no NAL unit). The units share stream's
// memory, each capped at its own length so appending to one cannot
// overwrite the next. Bytes before the first start code are not a NAL unit
// and are dropped; empty units are skipped. Emulation prevention bytes
// stay: the units are as a decoder or an RTP packetizer takes them.
func Split(stream []byte) [][]byte {
	var units [][]byte
	start := -1
	for i := 0; i+2 < len(stream); {
		if stream[i] == 0 && stream[i+1] == 0 && stream[i+2] == 1 {
			if start >= 0 {
				units = appendUnit(units, stream[start:i])
			}
			i += 3
			start = i
			continue
		}
		// A start code begins at a zero; if stream[i+2] > 1 no start code
		// can begin at i, i+1 or i+2.
		if stream[i+2] > 1 {
			i += 3
		} else {
			i++
		}
	}
	if start >= 0 {
		units = appendUnit(units, stream[start:])
	}
	return units
}

func appendUnit(units [][]byte, u []byte) [][]byte {
	for len(u) > 0 && u[len(u)-1] == 0 {
		u = u[:len(u)-1]
	}
	if len(u) == 0 {
		return units
	}
	return append(units, u[:len(u):len(u)])
}

// Append appends the units to dst in Annex B, each behind StartCode.
func Append(dst []byte, units ...[]byte) []byte {
	for _, u := range units {
		dst = append(dst, StartCode...)
		dst = append(dst, u...)
	}
	return dst
}

// Join returns the units as one Annex B access unit, each behind
// StartCode: what a decoder takes, built from the units an RTSP
// depacketizer gives.
func Join(units ...[]byte) []byte {
	n := 0
	for _, u := range units {
		n += len(StartCode) + len(u)
	}
	return Append(make([]byte, 0, n), units...)
}

// SplitAVCC returns the NAL units of an AVCC packet, each prefixed by a
// 4-byte big-endian length, without copying. It refuses lengths that
// overrun the packet, empty units, units over maxUnit bytes and an empty
// packet.
func SplitAVCC(data []byte, maxUnit int) ([][]byte, error) {
	var units [][]byte
	for len(data) > 0 {
		if len(data) < 4 {
			return nil, fmt.Errorf("avcc: %d trailing bytes, shorter than a length prefix", len(data))
		}
		n := binary.BigEndian.Uint32(data)
		data = data[4:]
		if n == 0 || uint64(n) > uint64(maxUnit) || uint64(n) > uint64(len(data)) {
			return nil, fmt.Errorf("avcc: NAL unit length %d invalid with %d bytes left", n, len(data))
		}
		units = append(units, data[:n:n])
		data = data[n:]
	}
	if len(units) == 0 {
		return nil, errors.New("avcc: empty packet")
	}
	return units, nil
}

// FromAVCC appends to dst the units of the AVCC packet data in Annex B, as
// SplitAVCC splits them. On an error dst comes back unchanged.
func FromAVCC(dst, data []byte, maxUnit int) ([]byte, error) {
	units, err := SplitAVCC(data, maxUnit)
	if err != nil {
		return dst, err
	}
	return Append(dst, units...), nil
}

// Type is the unit's NAL unit type, or -1 for a unit too short to have
// one (H.265's header is two bytes) or a codec other than H.264 and H.265.
func Type(codec string, u []byte) int {
	switch codec {
	case schema.CodecH264:
		if len(u) < 1 {
			return -1
		}
		return int(u[0] & 0x1f)
	case schema.CodecH265:
		if len(u) < 2 {
			return -1
		}
		return int(u[0]>>1) & 0x3f
	}
	return -1
}

// IsKeyUnit reports whether u is a slice of a picture that decodes without
// earlier pictures (with the parameter sets): an H.264 IDR, an H.265 IRAP.
func IsKeyUnit(codec string, u []byte) bool {
	t := Type(codec, u)
	if codec == schema.CodecH265 {
		return t >= H265IRAPFirst && t <= H265IRAPLast
	}
	return t == H264IDR
}

// IsParameterSet reports whether u is an SPS or a PPS, or for H.265 a VPS:
// what a fresh decoder needs before a keyframe.
func IsParameterSet(codec string, u []byte) bool {
	switch t := Type(codec, u); codec {
	case schema.CodecH264:
		return t == H264SPS || t == H264PPS
	case schema.CodecH265:
		return t == H265VPS || t == H265SPS || t == H265PPS
	}
	return false
}

// IsKeyframe reports whether an Annex B access unit holds a picture that
// decodes without earlier ones (see IsKeyUnit). It does not check that
// the parameter sets are present; HasParameterSets does.
func IsKeyframe(codec string, au []byte) bool {
	for _, u := range Split(au) {
		if IsKeyUnit(codec, u) {
			return true
		}
	}
	return false
}

// HasParameterSets reports whether an Annex B access unit carries the
// parameter sets a fresh decoder needs: SPS and PPS, and a VPS for H.265.
func HasParameterSets(codec string, au []byte) bool {
	var vps, sps, pps bool
	for _, u := range Split(au) {
		switch t := Type(codec, u); {
		case codec == schema.CodecH265 && t == H265VPS:
			vps = true
		case codec == schema.CodecH265 && t == H265SPS, codec == schema.CodecH264 && t == H264SPS:
			sps = true
		case codec == schema.CodecH265 && t == H265PPS, codec == schema.CodecH264 && t == H264PPS:
			pps = true
		}
	}
	return sps && pps && (vps || codec == schema.CodecH264)
}

// IsVCL reports whether u holds a slice of a picture (a video coding layer
// unit), as opposed to parameter sets, SEI, delimiters and the like.
func IsVCL(codec string, u []byte) bool {
	t := Type(codec, u)
	return t >= 0 && isVCL(codec, t)
}

// isVCL reports whether a unit of this type holds a slice of a picture.
func isVCL(codec string, t int) bool {
	if codec == schema.CodecH265 {
		return t >= 0 && t <= H265VCLLast
	}
	return t >= H264NonIDR && t <= H264IDR
}

// firstSliceOfPicture reports whether a VCL unit starts a new picture:
// first_mb_in_slice == 0 for H.264 (the ue(v) is the single bit '1'),
// first_slice_segment_in_pic_flag for H.265; both are the first bit after
// the NAL header.
func firstSliceOfPicture(codec string, u []byte) bool {
	if codec == schema.CodecH265 {
		return len(u) > 2 && u[2]&0x80 != 0
	}
	return len(u) > 1 && u[1]&0x80 != 0
}

// startsAU reports whether a non-VCL unit of this type, met after a
// picture's slices, begins the next access unit (H.264 7.4.1.2.3, H.265
// 7.4.2.4.4): a delimiter, a parameter set, SEI and the types reserved to
// precede a picture.
func startsAU(codec string, t int) bool {
	if codec == schema.CodecH265 {
		return t == H265VPS || t == H265SPS || t == H265PPS || t == H265AUD ||
			t == H265PrefixSEI || (t >= 41 && t <= 44) || (t >= 48 && t <= 55)
	}
	return t == H264AUD || t == H264SPS || t == H264PPS || t == H264SEI || (t >= 14 && t <= 18)
}

// AccessUnits groups the NAL units of a stream, in decoding order, into
// access units, one picture each: the delimiter, parameter sets and SEI in
// front of a picture stay with it. Units too short to have a type are
// dropped. Every access unit but the last holds a picture; the last may be
// only what followed the last picture. An unknown codec gives nil.
func AccessUnits(codec string, units [][]byte) [][][]byte {
	if codec != schema.CodecH264 && codec != schema.CodecH265 {
		return nil
	}
	var (
		aus    [][][]byte
		cur    [][]byte
		hasVCL bool
	)
	for _, u := range units {
		t := Type(codec, u)
		if t < 0 {
			continue
		}
		vcl := isVCL(codec, t)
		if hasVCL && (vcl && firstSliceOfPicture(codec, u) || !vcl && startsAU(codec, t)) {
			aus = append(aus, cur)
			cur, hasVCL = nil, false
		}
		hasVCL = hasVCL || vcl
		cur = append(cur, u)
	}
	if len(cur) > 0 {
		aus = append(aus, cur)
	}
	return aus
}

// SplitAccessUnits cuts an Annex B stream (a .h264 or .h265 file as ffmpeg
// writes it) into access units as AccessUnits groups them, each as Annex B
// bytes with 4-byte start codes. An unknown codec gives nil.
func SplitAccessUnits(codec string, stream []byte) [][]byte {
	var aus [][]byte
	for _, au := range AccessUnits(codec, Split(stream)) {
		aus = append(aus, Join(au...))
	}
	return aus
}
