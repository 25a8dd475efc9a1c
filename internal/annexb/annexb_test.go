package annexb

import (
	"bytes"
	"encoding/binary"
	"os"
	"slices"
	"testing"

	"github.com/pscm/pscm/internal/schema"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want [][]byte
	}{
		{"empty", nil, nil},
		{"no start code", []byte{1, 2, 3, 4}, nil},
		{"4-byte start codes", []byte{0, 0, 0, 1, 0x67, 1, 0, 0, 0, 1, 0x68, 2}, [][]byte{{0x67, 1}, {0x68, 2}}},
		{"3-byte start codes", []byte{0, 0, 1, 0x65, 9, 9, 0, 0, 1, 0x41, 7}, [][]byte{{0x65, 9, 9}, {0x41, 7}}},
		{"leading junk and trailing zeros", []byte{7, 7, 0, 0, 1, 0x67, 5, 0, 0, 0, 0, 0, 1, 0x68}, [][]byte{{0x67, 5}, {0x68}}},
		{"empty units skipped", []byte{0, 0, 1, 0, 0, 1, 0x06, 0, 0, 1}, [][]byte{{0x06}}},
		{"emulation prevention kept", []byte{0, 0, 1, 0x65, 0, 0, 3, 1, 0x80}, [][]byte{{0x65, 0, 0, 3, 1, 0x80}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Split(tc.in)
			if !slices.EqualFunc(got, tc.want, bytes.Equal) {
				t.Fatalf("got %x, want %x", got, tc.want)
			}
		})
	}
}

func TestSplitCapsUnits(t *testing.T) {
	stream := []byte{0, 0, 1, 0x67, 1, 0, 0, 1, 0x68, 2}
	units := Split(stream)
	_ = append(units[0], 0xff, 0xff, 0xff)
	if !bytes.Equal(units[1], []byte{0x68, 2}) {
		t.Fatalf("appending to a unit overwrote the next: %x", units[1])
	}
}

func TestJoinRoundTrip(t *testing.T) {
	units := [][]byte{{0x67, 1, 2}, {0x68, 3}, {0x65, 0x88, 0, 0, 3, 1}}
	joined := Join(units...)
	if !bytes.HasPrefix(joined, []byte(StartCode+"\x67")) || len(joined) != 4*3+3+2+6 {
		t.Fatalf("Join = %x", joined)
	}
	if got := Split(joined); !slices.EqualFunc(got, units, bytes.Equal) {
		t.Fatalf("got %x, want %x", got, units)
	}
	if got := Append([]byte{9}, units[1]); !bytes.Equal(got, []byte{9, 0, 0, 0, 1, 0x68, 3}) {
		t.Fatalf("Append = %x", got)
	}
}

func TestFromAVCC(t *testing.T) {
	data := []byte{0, 0, 0, 2, 0x65, 0x88, 0, 0, 0, 1, 0x06}
	got, err := FromAVCC([]byte{9}, data, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{9, 0, 0, 0, 1, 0x65, 0x88, 0, 0, 0, 1, 0x06}; !bytes.Equal(got, want) {
		t.Fatalf("got %x want %x", got, want)
	}
	for _, bad := range [][]byte{nil, {0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 5, 1}, {0, 0, 0, 1, 0x65, 0}, {0xff, 0xff, 0xff, 0xff, 1}} {
		if got, err := FromAVCC([]byte{9}, bad, 1<<20); err == nil || !bytes.Equal(got, []byte{9}) {
			t.Errorf("FromAVCC(%x) = %x, %v: want an error and dst unchanged", bad, got, err)
		}
	}
	if _, err := SplitAVCC([]byte{0, 0, 0, 3, 1, 2, 3}, 2); err == nil {
		t.Error("a unit over maxUnit accepted")
	}
}

func TestTypes(t *testing.T) {
	h264, h265 := schema.CodecH264, schema.CodecH265
	for _, tc := range []struct {
		codec           string
		unit            []byte
		typ             int
		key, param, vcl bool
	}{
		{h264, []byte{0x67, 0x42}, H264SPS, false, true, false},
		{h264, []byte{0x68}, H264PPS, false, true, false},
		{h264, []byte{0x65, 0x88}, H264IDR, true, false, true},
		{h264, []byte{0x41, 0x9a}, H264NonIDR, false, false, true},
		{h264, []byte{0x06, 0x05}, H264SEI, false, false, false},
		{h264, nil, -1, false, false, false},
		{h265, []byte{0x40, 0x01}, H265VPS, false, true, false},
		{h265, []byte{0x42, 0x01}, H265SPS, false, true, false},
		{h265, []byte{0x44, 0x01}, H265PPS, false, true, false},
		{h265, []byte{0x26, 0x01, 0xaf}, 19, true, false, true}, // IDR_W_RADL
		{h265, []byte{0x2a, 0x01, 0xaf}, 21, true, false, true}, // CRA
		{h265, []byte{0x02, 0x01, 0xd0}, 1, false, false, true}, // TRAIL_R
		{h265, []byte{0x26}, -1, false, false, false},           // half a header
		{"mjpeg", []byte{0x65, 0x88}, -1, false, false, false},
	} {
		if got := Type(tc.codec, tc.unit); got != tc.typ {
			t.Errorf("Type(%s, %x) = %d, want %d", tc.codec, tc.unit, got, tc.typ)
		}
		if got := IsKeyUnit(tc.codec, tc.unit); got != tc.key {
			t.Errorf("IsKeyUnit(%s, %x) = %v", tc.codec, tc.unit, got)
		}
		if got := IsParameterSet(tc.codec, tc.unit); got != tc.param {
			t.Errorf("IsParameterSet(%s, %x) = %v", tc.codec, tc.unit, got)
		}
		if got := IsVCL(tc.codec, tc.unit); got != tc.vcl {
			t.Errorf("IsVCL(%s, %x) = %v", tc.codec, tc.unit, got)
		}
	}
}

func TestAccessUnits(t *testing.T) {
	for _, tc := range []struct {
		name  string
		codec string
		units [][]byte
		want  [][][]byte
	}{
		{"H.264: AUD, parameter sets and SEI stay with their picture; two slices are one picture", schema.CodecH264,
			[][]byte{{0x09, 0xf0}, {0x67, 0x42}, {0x68, 0xce}, {0x06, 5}, {0x65, 0x88, 1}, {0x65, 0x40, 2}, {0x41, 0x9a, 3}, {0x41, 0x9a, 4}},
			[][][]byte{{{0x09, 0xf0}, {0x67, 0x42}, {0x68, 0xce}, {0x06, 5}, {0x65, 0x88, 1}, {0x65, 0x40, 2}}, {{0x41, 0x9a, 3}}, {{0x41, 0x9a, 4}}}},
		{"H.264: parameter sets after a picture start the next", schema.CodecH264,
			[][]byte{{0x41, 0x9a, 1}, {0x67, 0x42}, {0x68, 0xce}, {0x65, 0x88, 2}},
			[][][]byte{{{0x41, 0x9a, 1}}, {{0x67, 0x42}, {0x68, 0xce}, {0x65, 0x88, 2}}}},
		{"H.264: what follows the last picture is a last access unit", schema.CodecH264,
			[][]byte{{0x65, 0x88, 1}, {0x06, 5}},
			[][][]byte{{{0x65, 0x88, 1}}, {{0x06, 5}}}},
		{"H.265: VPS SPS PPS IDR, then a trailing picture; half a header dropped", schema.CodecH265,
			[][]byte{{0x40, 0x01}, {0x42, 0x01}, {0x44, 0x01}, {0x26, 0x01, 0xaf}, {0x26, 0x01, 0x20}, {0x02}, {0x02, 0x01, 0xd0}},
			[][][]byte{{{0x40, 0x01}, {0x42, 0x01}, {0x44, 0x01}, {0x26, 0x01, 0xaf}, {0x26, 0x01, 0x20}}, {{0x02, 0x01, 0xd0}}}},
		{"H.265: AUD after a picture starts the next", schema.CodecH265,
			[][]byte{{0x02, 0x01, 0xd0}, {0x46, 0x01, 0x50}, {0x02, 0x01, 0xd0}},
			[][][]byte{{{0x02, 0x01, 0xd0}}, {{0x46, 0x01, 0x50}, {0x02, 0x01, 0xd0}}}},
		{"unknown codec", "mjpeg", [][]byte{{0x65, 0x88}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := AccessUnits(tc.codec, tc.units)
			if !slices.EqualFunc(got, tc.want, func(a, b [][]byte) bool { return slices.EqualFunc(a, b, bytes.Equal) }) {
				t.Fatalf("got  %x\nwant %x", got, tc.want)
			}
		})
	}
}

// The tiny fixtures are 5 pictures of ffmpeg's testsrc, 64x48, a keyframe
// first (libx264: IDR; libx265: IDR) with the parameter sets repeated.
func TestSplitAccessUnitsTiny(t *testing.T) {
	for _, tc := range []struct{ codec, file string }{
		{schema.CodecH264, "testdata/tiny.h264"},
		{schema.CodecH265, "testdata/tiny.h265"},
	} {
		t.Run(tc.codec, func(t *testing.T) {
			b, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			aus := SplitAccessUnits(tc.codec, b)
			if len(aus) != 5 {
				t.Fatalf("%d access units, want 5", len(aus))
			}
			if !IsKeyframe(tc.codec, aus[0]) || !HasParameterSets(tc.codec, aus[0]) {
				t.Fatal("first access unit is not a keyframe with parameter sets")
			}
			for i, au := range aus[1:] {
				if IsKeyframe(tc.codec, au) {
					t.Fatalf("access unit %d is a keyframe; the clip has one", i+1)
				}
			}
			// Nothing lost or invented: the units of all access units are
			// the units of the stream.
			var n int
			for _, au := range aus {
				n += len(Split(au))
			}
			if want := len(Split(b)); n != want {
				t.Fatalf("%d units in access units, %d in the stream", n, want)
			}
		})
	}
	if SplitAccessUnits("mjpeg", []byte{0, 0, 1, 0x65}) != nil {
		t.Fatal("unknown codec split")
	}
}

// FuzzAVCC: vdk's packets are split as AVCC; any input gives an error or
// units that round-trip.
func FuzzAVCC(f *testing.F) {
	f.Add([]byte{0, 0, 0, 2, 0x65, 0x88, 0, 0, 0, 1, 0x06})
	f.Add([]byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		units, err := SplitAVCC(data, 4<<20)
		if err != nil {
			return
		}
		var back []byte
		for _, u := range units {
			if len(u) == 0 {
				t.Fatal("empty unit")
			}
			back = binary.BigEndian.AppendUint32(back, uint32(len(u)))
			back = append(back, u...)
		}
		if !bytes.Equal(back, data) {
			t.Fatalf("round trip %x != %x", back, data)
		}
	})
}

// FuzzSplit: clip files and access units are outside bytes. Any input
// splits into non-empty units that Join and Split give back unchanged, and
// the access units hold exactly the units that have a type, in order.
func FuzzSplit(f *testing.F) {
	for _, file := range []string{"testdata/tiny.h264", "testdata/tiny.h265"} {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, file == "testdata/tiny.h264")
	}
	f.Add([]byte{0, 0, 1, 0, 0, 1}, true)
	f.Add([]byte{0, 0, 0, 1, 0x26, 0, 0, 1, 0x26, 0x01, 0x80, 0, 0}, false)
	f.Fuzz(func(t *testing.T, stream []byte, h264 bool) {
		codec := schema.CodecH265
		if h264 {
			codec = schema.CodecH264
		}
		units := Split(stream)
		for _, u := range units {
			if len(u) == 0 || u[len(u)-1] == 0 {
				t.Fatalf("unit %x: empty or with a trailing zero", u)
			}
		}
		if again := Split(Join(units...)); !slices.EqualFunc(again, units, bytes.Equal) {
			t.Fatalf("Split(Join(units)) = %x, want %x", again, units)
		}
		var typed, grouped [][]byte
		for _, u := range units {
			if Type(codec, u) >= 0 {
				typed = append(typed, u)
			}
		}
		for _, au := range AccessUnits(codec, units) {
			if len(au) == 0 {
				t.Fatal("empty access unit")
			}
			grouped = append(grouped, au...)
		}
		if !slices.EqualFunc(grouped, typed, bytes.Equal) {
			t.Fatalf("access units hold %x, want %x", grouped, typed)
		}
	})
}
