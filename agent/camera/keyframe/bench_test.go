package keyframe

import (
	"testing"

	"github.com/pscm/pscm/internal/scene"
	"github.com/pscm/pscm/internal/schema"
)

// BenchmarkDecodeKeyframe1080p decodes one 1920x1080 IDR (4 Mbit/s, main
// profile) to 160x90 gray: what occupancy costs per keyframe and camera.
// "flush" is what Decode does (one codec context, flushed after each
// picture); "fresh" opens a new context per keyframe, the alternative it
// was chosen over.
func BenchmarkDecodeKeyframe1080p(b *testing.B) {
	_, keys := clip(b, scene.Bench1080p(4))
	if len(keys) == 0 {
		b.Fatal("no keyframes")
	}
	for _, mode := range []struct {
		name  string
		fresh bool
	}{{"flush", false}, {"fresh", true}} {
		b.Run(mode.name, func(b *testing.B) {
			d, err := New(schema.CodecH264, 160)
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			d.fresh = mode.fresh
			au := keys[len(keys)-1]
			b.SetBytes(int64(len(au)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.Decode(au); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
