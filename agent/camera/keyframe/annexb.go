package keyframe

import (
	"github.com/pscm/pscm/internal/schema"
)

// NAL unit types this package looks at.
const (
	h264NonIDR = 1
	h264IDR    = 5
	h264SEI    = 6
	h264SPS    = 7
	h264PPS    = 8
	h264AUD    = 9

	h265VPS       = 32
	h265SPS       = 33
	h265PPS       = 34
	h265AUD       = 35
	h265PrefixSEI = 39
	h265IRAPFirst = 16 // BLA_W_LP
	h265IRAPLast  = 21 // CRA_NUT
	h265VCLLast   = 31
)

// SplitAnnexB returns the NAL units of an Annex B byte stream, without their
// start codes and without trailing zero bytes (a zero_byte or
// trailing_zero_8bits belongs to no NAL unit). The units share stream's
// memory. Bytes before the first start code are not a NAL unit and are
// dropped; empty units are skipped.
func SplitAnnexB(stream []byte) [][]byte {
	var nals [][]byte
	start := -1
	for i := 0; i+2 < len(stream); {
		if stream[i] == 0 && stream[i+1] == 0 && stream[i+2] == 1 {
			if start >= 0 {
				nals = appendNAL(nals, stream[start:i])
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
		nals = appendNAL(nals, stream[start:])
	}
	return nals
}

func appendNAL(nals [][]byte, n []byte) [][]byte {
	for len(n) > 0 && n[len(n)-1] == 0 {
		n = n[:len(n)-1]
	}
	if len(n) == 0 {
		return nals
	}
	return append(nals, n[:len(n):len(n)])
}

// JoinAnnexB returns the NAL units as one Annex B access unit, each behind
// a 4-byte start code: what Decode takes, built from the units an RTSP
// depacketizer gives.
func JoinAnnexB(nals ...[]byte) []byte {
	n := 0
	for _, u := range nals {
		n += 4 + len(u)
	}
	au := make([]byte, 0, n)
	for _, u := range nals {
		au = append(au, 0, 0, 0, 1)
		au = append(au, u...)
	}
	return au
}

// nalType is the unit's type, or -1 for a unit too short to have one.
func nalType(codec string, nal []byte) int {
	if codec == schema.CodecH265 {
		if len(nal) < 2 {
			return -1
		}
		return int(nal[0]>>1) & 0x3f
	}
	if len(nal) < 1 {
		return -1
	}
	return int(nal[0] & 0x1f)
}

// isVCL reports whether the unit holds a slice of a picture.
func isVCL(codec string, typ int) bool {
	if codec == schema.CodecH265 {
		return typ >= 0 && typ <= h265VCLLast
	}
	return typ >= h264NonIDR && typ <= h264IDR
}

// firstSliceOfPicture reports whether a VCL unit starts a new picture:
// first_mb_in_slice == 0 for H.264 (the ue(v) is the single bit '1'),
// first_slice_segment_in_pic_flag for H.265; both are the first bit after
// the NAL header.
func firstSliceOfPicture(codec string, nal []byte) bool {
	if codec == schema.CodecH265 {
		return len(nal) > 2 && nal[2]&0x80 != 0
	}
	return len(nal) > 1 && nal[1]&0x80 != 0
}

// startsAU reports whether a non-VCL unit of this type, met after a picture's
// slices, begins the next access unit (H.264 7.4.1.2.3, H.265 7.4.2.4.4).
func startsAU(codec string, typ int) bool {
	if codec == schema.CodecH265 {
		return typ == h265VPS || typ == h265SPS || typ == h265PPS || typ == h265AUD ||
			typ == h265PrefixSEI || (typ >= 41 && typ <= 44) || (typ >= 48 && typ <= 55)
	}
	return typ == h264AUD || typ == h264SPS || typ == h264PPS || typ == h264SEI || (typ >= 14 && typ <= 18)
}

// SplitAccessUnits cuts an Annex B elementary stream (a .h264 or .h265 file
// as ffmpeg writes it) into access units, one picture each, as Annex B
// bytes with 4-byte start codes: the parameter sets and SEI in front of a
// picture stay with it. codec is "h264" or "h265"; an unknown codec gives
// nil.
func SplitAccessUnits(codec string, stream []byte) [][]byte {
	if codec != schema.CodecH264 && codec != schema.CodecH265 {
		return nil
	}
	var (
		aus    [][]byte
		cur    [][]byte
		hasVCL bool
	)
	flush := func() {
		if len(cur) > 0 {
			aus = append(aus, JoinAnnexB(cur...))
		}
		cur, hasVCL = nil, false
	}
	for _, nal := range SplitAnnexB(stream) {
		typ := nalType(codec, nal)
		if typ < 0 {
			continue
		}
		if isVCL(codec, typ) {
			if hasVCL && firstSliceOfPicture(codec, nal) {
				flush()
			}
			hasVCL = true
		} else if hasVCL && startsAU(codec, typ) {
			flush()
		}
		cur = append(cur, nal)
	}
	flush()
	return aus
}

// IsKeyframe reports whether an Annex B access unit holds a picture that
// decodes without earlier ones: an H.264 IDR, or an H.265 IRAP (BLA, IDR
// or CRA; x265's open GOP makes later keyframes CRA). It does not check
// that the parameter sets are present; Decode does.
func IsKeyframe(codec string, au []byte) bool {
	for _, nal := range SplitAnnexB(au) {
		typ := nalType(codec, nal)
		switch codec {
		case schema.CodecH264:
			if typ == h264IDR {
				return true
			}
		case schema.CodecH265:
			if typ >= h265IRAPFirst && typ <= h265IRAPLast {
				return true
			}
		}
	}
	return false
}

// hasParameterSets reports whether au carries the parameter sets a fresh
// decoder needs: SPS and PPS, and a VPS for H.265.
func hasParameterSets(codec string, au []byte) bool {
	var vps, sps, pps bool
	for _, nal := range SplitAnnexB(au) {
		switch t := nalType(codec, nal); {
		case codec == schema.CodecH265 && t == h265VPS:
			vps = true
		case codec == schema.CodecH265 && t == h265SPS, codec == schema.CodecH264 && t == h264SPS:
			sps = true
		case codec == schema.CodecH265 && t == h265PPS, codec == schema.CodecH264 && t == h264PPS:
			pps = true
		}
	}
	return sps && pps && (vps || codec == schema.CodecH264)
}
