package keyframe

import (
	"bytes"
	"os"
	"testing"

	"github.com/pscm/pscm/internal/schema"
)

func TestSplitAnnexB(t *testing.T) {
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
			got := SplitAnnexB(tc.in)
			if len(got) != len(tc.want) {
				t.Fatalf("got %x, want %x", got, tc.want)
			}
			for i := range got {
				if !bytes.Equal(got[i], tc.want[i]) {
					t.Fatalf("unit %d: got %x, want %x", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestJoinAnnexBRoundTrip(t *testing.T) {
	nals := [][]byte{{0x67, 1, 2}, {0x68, 3}, {0x65, 0x88, 0, 0, 3, 1}}
	got := SplitAnnexB(JoinAnnexB(nals...))
	if len(got) != len(nals) {
		t.Fatalf("got %d units", len(got))
	}
	for i := range nals {
		if !bytes.Equal(got[i], nals[i]) {
			t.Fatalf("unit %d: %x, want %x", i, got[i], nals[i])
		}
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
			if !IsKeyframe(tc.codec, aus[0]) || !hasParameterSets(tc.codec, aus[0]) {
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
				n += len(SplitAnnexB(au))
			}
			if want := len(SplitAnnexB(b)); n != want {
				t.Fatalf("%d units in access units, %d in the stream", n, want)
			}
		})
	}
	if SplitAccessUnits("mjpeg", []byte{0, 0, 1, 0x65}) != nil {
		t.Fatal("unknown codec split")
	}
}
