package keyframe

import (
	"os"
	"testing"

	"github.com/pscm/pscm/internal/annexb"
	"github.com/pscm/pscm/internal/schema"
)

// FuzzDecode feeds both decoders what a camera or a broken network might
// send as a keyframe. Seeds beyond testdata/fuzz/FuzzDecode: each access
// unit of the tiny fixtures, whole and cut short. Decode must return a
// frame of the promised shape or an error, never crash or hang.
func FuzzDecode(f *testing.F) {
	for _, tc := range []struct {
		hevc bool
		file string
	}{{false, "testdata/tiny.h264"}, {true, "testdata/tiny.h265"}} {
		b, err := os.ReadFile(tc.file)
		if err != nil {
			f.Fatal(err)
		}
		codec := schema.CodecH264
		if tc.hevc {
			codec = schema.CodecH265
		}
		for _, au := range annexb.SplitAccessUnits(codec, b) {
			f.Add(tc.hevc, au)
			f.Add(tc.hevc, au[:len(au)*2/3])
		}
	}
	decoders := map[bool]*Decoder{}
	for _, hevc := range []bool{false, true} {
		codec := schema.CodecH264
		if hevc {
			codec = schema.CodecH265
		}
		d, err := New(codec, 32)
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() { d.Close() })
		decoders[hevc] = d
	}
	f.Fuzz(func(t *testing.T, hevc bool, au []byte) {
		fr, err := decoders[hevc].Decode(au)
		if err != nil {
			if fr.Pix != nil || fr.W != 0 {
				t.Fatalf("error %v with a frame", err)
			}
			return
		}
		if fr.W != 32 || fr.H < 2 || fr.H%2 != 0 || len(fr.Pix) != fr.W*fr.H {
			t.Fatalf("frame %dx%d with %d bytes", fr.W, fr.H, len(fr.Pix))
		}
	})
}
