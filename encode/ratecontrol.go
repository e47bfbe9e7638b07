package encode

/*
#cgo pkg-config: libavcodec
#include <stdint.h>
#include <libavcodec/avcodec.h>

static int rc_ctx_matches(void *p, int w, int h) {
	const AVCodecContext *c = p;
	return c != NULL && c->av_class == avcodec_get_class() && c->width == w && c->height == h &&
		c->time_base.num == 1 && c->time_base.den == 1000;
}

static void rc_ctx_set_rate(void *p, int64_t bit_rate, int64_t max_rate, int buffer_size) {
	AVCodecContext *c = p;
	c->bit_rate = bit_rate;
	c->rc_max_rate = max_rate;
	c->rc_buffer_size = buffer_size;
}
*/
import "C"

import (
	"unsafe"

	"github.com/asticode/go-astiav"
)

// rateControl changes an open encoder's bitrate and VBV in place. libx264 compares
// bit_rate, rc_max_rate and rc_buffer_size with its parameters before every frame and calls
// x264_encoder_reconfig when they differ, so the change applies from the next frame without
// reopening. go-astiav v0.16.0 has setters for none but bit_rate and no accessor for the
// AVCodecContext pointer; the pointer is read from CodecContext's first field and checked
// (AVClass, size, time base) before it is trusted.
type rateControl struct {
	ctx unsafe.Pointer // *AVCodecContext, nil when the check failed
}

// newRateControl returns a rateControl for cc, which was opened with the given size and a
// 1 ms time base; ok is false when the AVCodecContext could not be found safely.
func newRateControl(cc *astiav.CodecContext, width, height int) (rc rateControl, ok bool) {
	p := *(*unsafe.Pointer)(unsafe.Pointer(cc))
	if C.rc_ctx_matches(p, C.int(width), C.int(height)) == 0 {
		return rateControl{}, false
	}
	return rateControl{ctx: p}, true
}

// set writes the target bitrate, the VBV max rate (= bitrate) and the VBV buffer size.
// x264 works in kbit/s: the values are rounded down to whole kbit/s there.
func (r rateControl) set(bitrate, bufferBits int) {
	C.rc_ctx_set_rate(r.ctx, C.int64_t(bitrate), C.int64_t(bitrate), C.int(bufferBits))
}
