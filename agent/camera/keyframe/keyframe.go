// Package keyframe decodes single keyframes of an H.264 or H.265 camera
// stream into small grayscale frames, in process, through libavcodec's
// send_packet/receive_frame API and libswscale (cgo, FFmpeg 5.x as Debian
// bookworm ships it). Occupancy needs only a small luma picture every few
// seconds, so the agent decodes keyframes alone: a fraction of the cost of
// decoding every frame, and a lost non-key frame never matters.
//
// Each Decode is independent: the access unit carries its parameter sets,
// and after its picture is drained the decoder is flushed, so nothing of one
// keyframe is left for the next. Flushing a long-lived codec context was
// measured cheaper than opening a fresh one per keyframe (see
// BenchmarkDecodeKeyframe1080p), so that is what Decode does.
//
// Garbage (random bytes, a truncated access unit, the wrong codec) gives an
// error, never a crash and never a half-concealed picture: frames the decoder
// marks corrupt or concealed are refused.
package keyframe

/*
#cgo pkg-config: libavcodec libavutil libswscale
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

typedef struct {
	const AVCodec *codec;
	AVCodecContext *ctx;
	int64_t max_pixels;
	AVPacket *pkt;
	AVFrame *frame;
	struct SwsContext *sws;
	uint8_t *buf;
	unsigned int buf_size;
} kf_dec;

static int kf_open_ctx(kf_dec *d) {
	d->ctx = avcodec_alloc_context3(d->codec);
	if (!d->ctx) return AVERROR(ENOMEM);
	// One thread: frame threading would hold pictures back and cost a
	// thread pool per camera for one picture every few seconds.
	d->ctx->thread_count = 1;
	d->ctx->flags |= AV_CODEC_FLAG_LOW_DELAY;
	// A hostile stream may declare any size; libavcodec refuses to
	// allocate a picture above this instead of taking hundreds of MiB.
	d->ctx->max_pixels = d->max_pixels;
	int ret = avcodec_open2(d->ctx, d->codec, NULL);
	if (ret < 0) avcodec_free_context(&d->ctx);
	return ret;
}

static void kf_free(kf_dec *d) {
	if (!d) return;
	avcodec_free_context(&d->ctx);
	av_packet_free(&d->pkt);
	av_frame_free(&d->frame);
	sws_freeContext(d->sws);
	av_freep(&d->buf);
	free(d);
}

// kf_new returns a decoder, or NULL with *err set.
static kf_dec *kf_new(int hevc, int64_t max_pixels, int *err) {
	// libav logs every damaged slice to stderr; errors come back through
	// return values instead.
	av_log_set_level(AV_LOG_QUIET);
	kf_dec *d = calloc(1, sizeof(kf_dec));
	if (!d) { *err = AVERROR(ENOMEM); return NULL; }
	d->max_pixels = max_pixels;
	d->codec = avcodec_find_decoder(hevc ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264);
	if (!d->codec) { *err = AVERROR_DECODER_NOT_FOUND; kf_free(d); return NULL; }
	d->pkt = av_packet_alloc();
	d->frame = av_frame_alloc();
	if (!d->pkt || !d->frame) { *err = AVERROR(ENOMEM); kf_free(d); return NULL; }
	*err = kf_open_ctx(d);
	if (*err < 0) { kf_free(d); return NULL; }
	return d;
}

// kf_decode decodes one access unit into d->frame. It returns 0 with a
// picture, or a negative AVERROR. *send_err is what send_packet said, which
// explains a missing picture better than EOF does.
static int kf_decode(kf_dec *d, int fresh, const uint8_t *data, int size, int *send_err) {
	int ret;
	*send_err = 0;
	if (fresh) {
		avcodec_free_context(&d->ctx);
		ret = kf_open_ctx(d);
		if (ret < 0) return ret;
	}
	av_fast_padded_malloc(&d->buf, &d->buf_size, (size_t)size);
	if (!d->buf) return AVERROR(ENOMEM);
	memcpy(d->buf, data, size);
	av_frame_unref(d->frame);
	d->pkt->data = d->buf;
	d->pkt->size = size;
	*send_err = avcodec_send_packet(d->ctx, d->pkt);
	d->pkt->data = NULL;
	d->pkt->size = 0;
	// Drain: the one picture comes out now, not when the next packet
	// arrives.
	avcodec_send_packet(d->ctx, NULL);
	// One picture is all a keyframe holds; anything more is dropped by
	// the flush.
	ret = avcodec_receive_frame(d->ctx, d->frame);
	// Back to a clean state for the next keyframe (also ends draining).
	avcodec_flush_buffers(d->ctx);
	if (ret < 0 && ret == AVERROR_EOF && *send_err < 0) return *send_err;
	return ret;
}

static int kf_frame_ok(kf_dec *d, char *why, int why_len) {
	AVFrame *f = d->frame;
	if (f->width <= 0 || f->height <= 0 || f->width > 16384 || f->height > 16384) {
		snprintf(why, why_len, "picture size %dx%d", f->width, f->height);
		return 0;
	}
	if (f->decode_error_flags || (f->flags & AV_FRAME_FLAG_CORRUPT)) {
		snprintf(why, why_len, "damaged picture (decode error flags %d, frame flags %d)", f->decode_error_flags, f->flags);
		return 0;
	}
	if (!sws_isSupportedInput(f->format)) {
		const char *n = av_get_pix_fmt_name(f->format);
		snprintf(why, why_len, "pixel format %s not supported", n ? n : "unknown");
		return 0;
	}
	return 1;
}

// kf_scale scales d->frame's picture to out (w x h gray, stride w).
static int kf_scale(kf_dec *d, uint8_t *out, int w, int h) {
	AVFrame *f = d->frame;
	d->sws = sws_getCachedContext(d->sws, f->width, f->height, f->format,
		w, h, AV_PIX_FMT_GRAY8, SWS_AREA, NULL, NULL, NULL);
	if (!d->sws) return AVERROR(EINVAL);
	uint8_t *dst[4] = {out, NULL, NULL, NULL};
	int stride[4] = {w, 0, 0, 0};
	int ret = sws_scale(d->sws, (const uint8_t * const *)f->data, f->linesize, 0, f->height, dst, stride);
	av_frame_unref(f);
	return ret == h ? 0 : AVERROR(EINVAL);
}

static void kf_strerror(int err, char *buf, int len) {
	av_strerror(err, buf, len);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"github.com/pscm/pscm/internal/annexb"
	"github.com/pscm/pscm/internal/schema"
)

// Frame is a small grayscale picture: W*H luma bytes, row stride W.
type Frame struct {
	W, H int
	Pix  []byte
}

// Limits on what Decode accepts.
const (
	// MaxAccessUnit bounds one access unit; a 4K keyframe at a high bit
	// rate is well under it.
	MaxAccessUnit = 16 << 20
	// MinWidth and MaxWidth bound the output width New accepts.
	MinWidth = 16
	MaxWidth = 1920
)

// Errors Decode returns for access units it will not decode; errors.Is
// finds them in the wrapped error.
var (
	ErrNotKeyframe      = errors.New("keyframe: access unit holds no keyframe")
	ErrNoParameterSets  = errors.New("keyframe: keyframe without its parameter sets")
	ErrNoPicture        = errors.New("keyframe: decoder gave no picture")
	ErrClosed           = errors.New("keyframe: decoder closed")
	ErrAccessUnitTooBig = errors.New("keyframe: access unit too large")
	// ErrPictureTooLarge: the stream's parameter sets declare a picture
	// larger than the decoder takes (WithMaxPicture).
	ErrPictureTooLarge = errors.New("keyframe: picture larger than allowed")
)

// DefaultMaxPicture is the largest picture a decoder takes by default:
// 4K UHD's width by 2304 lines (a 16:9 4K camera's main stream). A camera's
// sub-stream, what the agent should read, is far smaller.
const (
	DefaultMaxPictureWidth  = 4096
	DefaultMaxPictureHeight = 2304
)

// CheckMaxPicture reports what WithMaxPicture would refuse: a bound below
// what a camera's smallest sub-stream sends or above what H.264 and H.265
// allow.
func CheckMaxPicture(w, h int) error {
	if w < 64 || h < 64 || w > 16384 || h > 16384 {
		return fmt.Errorf("max picture %dx%d outside 64x64..16384x16384", w, h)
	}
	return nil
}

// Option changes a default of New.
type Option func(*Decoder)

// WithMaxPicture sets the largest picture decoded: a keyframe whose SPS
// declares more is refused before libavcodec sees it, and libavcodec
// itself refuses to allocate more pixels than w*h.
func WithMaxPicture(w, h int) Option {
	return func(d *Decoder) { d.maxW, d.maxH = w, h }
}

// Decoder decodes keyframes of one stream. Its methods may be called from
// several goroutines; decodes run one at a time.
type Decoder struct {
	mu    sync.Mutex
	codec string
	width int
	d     *C.kf_dec
	// fresh opens a new codec context per keyframe instead of flushing
	// one; only the benchmark that chose between the two sets it.
	fresh bool
	// maxW, maxH bound the picture (WithMaxPicture); noSPSCheck leaves
	// the bound to libavcodec alone (a test of that backstop).
	maxW, maxH int
	noSPSCheck bool
}

// New returns a decoder of codec ("h264" or "h265") keyframes into frames
// width pixels wide (rounded down to even); the height follows the
// source's aspect ratio, rounded to even. Close frees it.
func New(codec string, width int, opts ...Option) (*Decoder, error) {
	if codec != schema.CodecH264 && codec != schema.CodecH265 {
		return nil, fmt.Errorf("keyframe: codec %q: want %q or %q", codec, schema.CodecH264, schema.CodecH265)
	}
	if width < MinWidth || width > MaxWidth {
		return nil, fmt.Errorf("keyframe: width %d outside [%d, %d]", width, MinWidth, MaxWidth)
	}
	dec := &Decoder{codec: codec, width: width &^ 1, maxW: DefaultMaxPictureWidth, maxH: DefaultMaxPictureHeight}
	for _, o := range opts {
		o(dec)
	}
	if err := CheckMaxPicture(dec.maxW, dec.maxH); err != nil {
		return nil, fmt.Errorf("keyframe: %w", err)
	}
	var cerr C.int
	hevc := C.int(0)
	if codec == schema.CodecH265 {
		hevc = 1
	}
	d := C.kf_new(hevc, C.int64_t(dec.maxW*dec.maxH), &cerr)
	if d == nil {
		return nil, fmt.Errorf("keyframe: open %s decoder: %w", codec, averror(cerr))
	}
	dec.d = d
	return dec, nil
}

// checkSize refuses au when its SPS declares a picture above the bound.
// An SPS that does not parse is left to libavcodec, which refuses above
// max_pixels all the same.
func (d *Decoder) checkSize(au []byte) error {
	for _, u := range annexb.Split(au) {
		p, err := annexb.ParseSPS(d.codec, u)
		if err != nil {
			continue // not an SPS, or one libavcodec judges
		}
		if p.Width > d.maxW || p.Height > d.maxH {
			return fmt.Errorf("%w: the SPS declares %dx%d, limit %dx%d", ErrPictureTooLarge, p.Width, p.Height, d.maxW, d.maxH)
		}
	}
	return nil
}

// Decode decodes au, one Annex B access unit of a keyframe (H.264 IDR,
// H.265 IRAP) with its parameter sets (SPS and PPS, and VPS for H.265) in
// front, into a new Frame.
func (d *Decoder) Decode(au []byte) (Frame, error) {
	if len(au) > MaxAccessUnit {
		return Frame{}, fmt.Errorf("%w: %d bytes, limit %d", ErrAccessUnitTooBig, len(au), MaxAccessUnit)
	}
	if !annexb.IsKeyframe(d.codec, au) {
		return Frame{}, ErrNotKeyframe
	}
	if !annexb.HasParameterSets(d.codec, au) {
		return Frame{}, ErrNoParameterSets
	}
	if !d.noSPSCheck {
		if err := d.checkSize(au); err != nil {
			return Frame{}, err
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.d == nil {
		return Frame{}, ErrClosed
	}
	fresh := C.int(0)
	if d.fresh {
		fresh = 1
	}
	var sendErr C.int
	ret := C.kf_decode(d.d, fresh, (*C.uint8_t)(unsafe.Pointer(&au[0])), C.int(len(au)), &sendErr)
	if ret < 0 {
		if sendErr < 0 {
			return Frame{}, fmt.Errorf("%w: %w", ErrNoPicture, averror(sendErr))
		}
		return Frame{}, fmt.Errorf("%w: %w", ErrNoPicture, averror(ret))
	}
	var why [160]C.char
	if C.kf_frame_ok(d.d, &why[0], C.int(len(why))) == 0 {
		C.av_frame_unref(d.d.frame)
		return Frame{}, fmt.Errorf("%w: %s", ErrNoPicture, C.GoString(&why[0]))
	}
	sw, sh := int(d.d.frame.width), int(d.d.frame.height)
	w, h := OutputSize(sw, sh, d.width)
	pix := make([]byte, w*h)
	if ret := C.kf_scale(d.d, (*C.uint8_t)(unsafe.Pointer(&pix[0])), C.int(w), C.int(h)); ret < 0 {
		return Frame{}, fmt.Errorf("keyframe: scale %dx%d to %dx%d: %w", sw, sh, w, h, averror(ret))
	}
	return Frame{W: w, H: h, Pix: pix}, nil
}

// OutputSize is the size Decode gives a srcW x srcH picture for the given
// output width: width rounded down to even, height by the source aspect
// rounded to the nearest even number, at least 2.
func OutputSize(srcW, srcH, width int) (w, h int) {
	w = width &^ 1
	h = int((int64(srcH)*int64(w)+int64(srcW))/(2*int64(srcW))) * 2
	return w, max(h, 2)
}

// Close frees the decoder's C memory. Decode after Close returns ErrClosed.
func (d *Decoder) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.d != nil {
		C.kf_free(d.d)
		d.d = nil
	}
	return nil
}

// averror turns a libav error code into a Go error.
func averror(code C.int) error {
	var buf [128]C.char
	C.kf_strerror(code, &buf[0], C.int(len(buf)))
	return fmt.Errorf("libav error %d: %s", int(code), C.GoString(&buf[0]))
}
