package occupancy_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pscm/pscm/agent/camera/keyframe"
	"github.com/pscm/pscm/agent/camera/occupancy"
	"github.com/pscm/pscm/internal/annexb"
	"github.com/pscm/pscm/internal/scene"
)

// t0 is the clips' start in wall time: 08:00 on a Wednesday in Hanoi, so
// working hours cover every clip.
var t0 = time.Date(2026, 11, 25, 8, 0, 0, 0, time.FixedZone("ICT", 7*3600))

// keyframes of a clip: decoded frames and their times.
type decoded struct {
	clip   scene.Clip
	frames []keyframe.Frame
	at     []time.Time
}

// clips caches decoded clips within the test binary: several tests use the
// same scene.
type clipCache struct {
	mu sync.Mutex
	m  map[string]*decoded
}

var cache = clipCache{m: map[string]*decoded{}}

// decode generates a scene's clip (or finds it cached on disk) and decodes
// its keyframes with libavcodec to 160-wide frames; benchmarks use it too.
func decode(t testing.TB, s scene.Scene) *decoded {
	t.Helper()
	cache.mu.Lock()
	defer cache.mu.Unlock()
	if d, ok := cache.m[s.Name]; ok {
		return d
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := scene.Cached(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(c.Path)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := keyframe.New(c.Codec, 160)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	d := &decoded{clip: c}
	for i, au := range annexb.SplitAccessUnits(c.Codec, b) {
		if !annexb.IsKeyframe(c.Codec, au) {
			continue
		}
		f, err := dec.Decode(au)
		if err != nil {
			t.Fatalf("%s: access unit %d: %v", s.Name, i, err)
		}
		d.frames = append(d.frames, f)
		d.at = append(d.at, t0.Add(time.Duration(i)*time.Second/time.Duration(s.FPS)))
	}
	cache.m[s.Name] = d
	return d
}

func zonesOf(s scene.Scene) []occupancy.Zone {
	var zs []occupancy.Zone
	for _, z := range s.Zones {
		zs = append(zs, occupancy.Zone{ID: z.ID, Counter: z.Counter, Kind: z.Kind, Polygon: z.Polygon})
	}
	return zs
}
