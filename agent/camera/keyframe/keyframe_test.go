package keyframe

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/annexb"
	"github.com/pscm/pscm/internal/scene"
	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/testenv"
)

// clip generates (or finds in the cache) a scene's clip and returns it with
// its keyframe access units.
func clip(t testing.TB, s scene.Scene) (scene.Clip, [][]byte) {
	t.Helper()
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
	var keys [][]byte
	for _, au := range annexb.SplitAccessUnits(c.Codec, b) {
		if annexb.IsKeyframe(c.Codec, au) {
			keys = append(keys, au)
		}
	}
	return c, keys
}

// shortTamper is a 16 s clip in codec: the official sits from 3 s, the
// lens is covered from 11 s.
func shortTamper(codec string) scene.Scene {
	s := scene.Tampered()
	s.Name, s.Codec, s.Duration = "short-"+codec, codec, 16
	s.Tampers = []scene.Tamper{{Kind: scene.Cover, Start: 11, End: 16}}
	s.Actors[0].Out = 14
	return s
}

// ffmpegKeyframes decodes a clip's keyframes with the ffmpeg program, scaled
// the same way, as the reference Decode must match.
func ffmpegKeyframes(t *testing.T, path string, w, h int) [][]byte {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-i", path,
		"-vf", "select='eq(pict_type,I)',scale="+itoa(w)+":"+itoa(h)+":flags=area,format=gray",
		"-fps_mode", "passthrough", "-f", "rawvideo", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	var frames [][]byte
	for len(out) >= w*h {
		frames = append(frames, out[:w*h])
		out = out[w*h:]
	}
	return frames
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestDecodeMatchesFFmpeg(t *testing.T) {
	for _, codec := range []string{schema.CodecH264, schema.CodecH265} {
		t.Run(codec, func(t *testing.T) {
			c, keys := clip(t, shortTamper(codec))
			if len(keys) != 16 {
				t.Fatalf("%d keyframes in 16 s at one a second", len(keys))
			}
			d, err := New(codec, 160)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			want := ffmpegKeyframes(t, c.Path, 160, 90)
			if len(want) != len(keys) {
				t.Fatalf("ffmpeg decoded %d keyframes, the splitter found %d", len(want), len(keys))
			}
			for i, au := range keys {
				f, err := d.Decode(au)
				if err != nil {
					t.Fatalf("keyframe %d: %v", i, err)
				}
				if f.W != 160 || f.H != 90 || len(f.Pix) != 160*90 {
					t.Fatalf("keyframe %d: %dx%d, %d bytes", i, f.W, f.H, len(f.Pix))
				}
				if mad := meanAbsDiff(f.Pix, want[i]); mad > 1.5 {
					t.Fatalf("keyframe %d differs from ffmpeg's by %.2f grey levels on average", i, mad)
				}
			}
			// The covered view (from 11 s) is near uniform, the scene is
			// not: the pictures are the right ones, in order.
			mid, _ := d.Decode(keys[6])
			cov, _ := d.Decode(keys[14])
			if sm, sc := stddev(mid.Pix), stddev(cov.Pix); sm < 20 || sc > 5 {
				t.Fatalf("scene stddev %.1f, covered stddev %.1f", sm, sc)
			}
		})
	}
}

// Each Decode stands alone: the same keyframe gives the same frame whatever
// was decoded before it, garbage included.
func TestDecodeIndependent(t *testing.T) {
	_, keys := clip(t, shortTamper(schema.CodecH264))
	d, err := New(schema.CodecH264, 160)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	first, err := d.Decode(keys[3])
	if err != nil {
		t.Fatal(err)
	}
	for _, au := range [][]byte{keys[12], keys[3][:len(keys[3])/2], {0, 0, 1, 0x65, 0xff}, keys[14]} {
		d.Decode(au)
	}
	again, err := d.Decode(keys[3])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Pix, again.Pix) {
		t.Fatal("same keyframe decoded differently after others")
	}
}

func TestDecodeRejects(t *testing.T) {
	_, keys := clip(t, shortTamper(schema.CodecH264))
	_, hkeys := clip(t, shortTamper(schema.CodecH265))
	good := keys[5]
	var withoutPPS [][]byte
	for _, n := range annexb.Split(good) {
		if annexb.Type(schema.CodecH264, n) != annexb.H264PPS {
			withoutPPS = append(withoutPPS, n)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	tiny, err := os.ReadFile("testdata/tiny.h264")
	if err != nil {
		t.Fatal(err)
	}
	nonKey := annexb.SplitAccessUnits(schema.CodecH264, tiny)[1]
	d, err := New(schema.CodecH264, 160)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, tc := range []struct {
		name string
		au   []byte
		want error
	}{
		{"empty", nil, ErrNotKeyframe},
		{"random bytes", random, ErrNotKeyframe},
		{"random bytes behind an IDR header", append(annexb.Join(annexb.Split(good)[:2]...), append([]byte{0, 0, 1, 0x65}, random...)...), ErrNoPicture},
		{"non-keyframe", nonKey, ErrNotKeyframe},
		{"no PPS", annexb.Join(withoutPPS...), ErrNoParameterSets},
		{"truncated to a third", good[:len(good)/3], ErrNoPicture},
		{"h265 keyframe to the h264 decoder", hkeys[0], ErrNotKeyframe},
		{"too large", make([]byte, MaxAccessUnit+1), ErrAccessUnitTooBig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := d.Decode(tc.au)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v (frame %dx%d), want %v", err, f.W, f.H, tc.want)
			}
			t.Log(err)
		})
	}
	// The decoder still works after all that.
	if _, err := d.Decode(good); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Decode(good); !errors.Is(err, ErrClosed) {
		t.Fatalf("decode after close: %v", err)
	}
}

func TestNewRejects(t *testing.T) {
	for _, tc := range []struct {
		codec string
		width int
	}{{"mjpeg", 160}, {"", 160}, {schema.CodecH264, 8}, {schema.CodecH264, 4000}} {
		if d, err := New(tc.codec, tc.width); err == nil {
			d.Close()
			t.Errorf("New(%q, %d) succeeded", tc.codec, tc.width)
		}
	}
}

func TestOutputSize(t *testing.T) {
	for _, tc := range []struct{ sw, sh, w, wantW, wantH int }{
		{1920, 1080, 160, 160, 90},
		{640, 360, 160, 160, 90},
		{1280, 720, 161, 160, 90},
		{704, 576, 160, 160, 130},
		{2560, 1440, 320, 320, 180},
		{1000, 10, 16, 16, 2},
	} {
		if w, h := OutputSize(tc.sw, tc.sh, tc.w); w != tc.wantW || h != tc.wantH {
			t.Errorf("OutputSize(%d, %d, %d) = %dx%d, want %dx%d", tc.sw, tc.sh, tc.w, w, h, tc.wantW, tc.wantH)
		}
	}
}

// TestDecodeNoLeak decodes 2,000 keyframes, garbage among them, and checks
// the process's resident memory does not grow: every C allocation is freed.
func TestDecodeNoLeak(t *testing.T) {
	_, keys := clip(t, shortTamper(schema.CodecH264))
	d, err := New(schema.CodecH264, 160)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	decode := func(i int) {
		au := keys[i%len(keys)]
		if i%10 == 9 {
			au = au[:len(au)/2]
		}
		d.Decode(au)
	}
	// Warm up: libav's pools and the Go heap reach their working size.
	for i := range 200 {
		decode(i)
	}
	runtime.GC()
	before := testenv.ProcStatusKB(t, os.Getpid(), "VmRSS:")
	for i := range 2000 {
		decode(i)
		if i%500 == 0 {
			runtime.GC()
		}
	}
	runtime.GC()
	after := testenv.ProcStatusKB(t, os.Getpid(), "VmRSS:")
	t.Logf("RSS %d kB before, %d kB after 2,000 decodes", before, after)
	// A leaked 640x360 picture is 350 kB; 4 MB over 2,000 decodes allows
	// allocator noise and nothing per decode.
	if after-before > 4096 {
		t.Fatalf("RSS grew by %d kB over 2,000 decodes", after-before)
	}
}

func meanAbsDiff(a, b []byte) float64 {
	var s int
	for i := range a {
		d := int(a[i]) - int(b[i])
		s += max(d, -d)
	}
	return float64(s) / float64(len(a))
}

func stddev(p []byte) float64 {
	var s, ss float64
	for _, v := range p {
		s += float64(v)
		ss += float64(v) * float64(v)
	}
	n := float64(len(p))
	m := s / n
	return math.Sqrt(ss/n - m*m)
}

// TestHugePictureRefused (issue 13, row 4): a keyframe declaring 8192x4320
// (real H.264 from ffmpeg) is refused from its SPS before libavcodec
// allocates for it, and libavcodec's own max_pixels refuses it too when the
// SPS check is skipped; raising the limit decodes it, so it is the limit
// that refused, not damage.
func TestHugePictureRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes an 8192x4320 picture with ffmpeg")
	}
	path := filepath.Join(t.TempDir(), "huge.h264")
	out, err := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=gray:s=8192x4320",
		"-frames:v", "1", "-c:v", "libx264", "-preset", "ultrafast", "-bsf:v", "h264_mp4toannexb", "-f", "h264", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	au, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(schema.CodecH264, 160)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Decode(au); !errors.Is(err, ErrPictureTooLarge) || !strings.Contains(err.Error(), "8192x4320") {
		t.Fatalf("Decode of 8192x4320: %v, want ErrPictureTooLarge naming the size", err)
	}
	d.noSPSCheck = true
	if _, err := d.Decode(au); err == nil {
		t.Fatal("libavcodec decoded 8192x4320 with max_pixels at 4096x2304")
	}
	big, err := New(schema.CodecH264, 160, WithMaxPicture(8192, 4320))
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	if f, err := big.Decode(au); err != nil || f.W != 160 {
		t.Fatalf("with the limit raised: %+v, %v", f.W, err)
	}
}
