package encode

/*
#cgo pkg-config: libavutil libswscale
#include <stdint.h>
#include <string.h>
#include <libavutil/frame.h>
#include <libswscale/swscale.h>

static void rc_copy_plane(uint8_t *dst, int dst_stride, const uint8_t *src, int src_stride, int w, int h) {
	if (dst_stride == src_stride && dst_stride == w) {
		memcpy(dst, src, (size_t)w * h);
		return;
	}
	for (int i = 0; i < h; i++) {
		memcpy(dst + (ptrdiff_t)i * dst_stride, src + (ptrdiff_t)i * src_stride, w);
	}
}

// rc_fill_yuv420 copies three 4:2:0 planes into an allocated YUV420P frame.
static int rc_fill_yuv420(AVFrame *f, const uint8_t *y, int y_stride,
		const uint8_t *cb, const uint8_t *cr, int c_stride) {
	int ret = av_frame_make_writable(f);
	if (ret < 0) {
		return ret;
	}
	int cw = (f->width + 1) / 2, ch = (f->height + 1) / 2;
	rc_copy_plane(f->data[0], f->linesize[0], y, y_stride, f->width, f->height);
	rc_copy_plane(f->data[1], f->linesize[1], cb, c_stride, cw, ch);
	rc_copy_plane(f->data[2], f->linesize[2], cr, c_stride, cw, ch);
	return 0;
}

// rc_sws_rgba returns a converter from RGBA to BT.709 limited-range YUV420P of the same size.
static struct SwsContext *rc_sws_rgba(int w, int h) {
	struct SwsContext *s = sws_getContext(w, h, AV_PIX_FMT_RGBA, w, h, AV_PIX_FMT_YUV420P,
		SWS_BILINEAR, NULL, NULL, NULL);
	if (s == NULL) {
		return NULL;
	}
	const int *bt709 = sws_getCoefficients(SWS_CS_ITU709);
	sws_setColorspaceDetails(s, bt709, 1, bt709, 0, 0, 1 << 16, 1 << 16);
	return s;
}

static int rc_fill_rgba(struct SwsContext *s, AVFrame *f, const uint8_t *pix, int stride) {
	int ret = av_frame_make_writable(f);
	if (ret < 0) {
		return ret;
	}
	const uint8_t *src[4] = {pix, NULL, NULL, NULL};
	const int src_stride[4] = {stride, 0, 0, 0};
	ret = sws_scale(s, src, src_stride, 0, f->height, f->data, f->linesize);
	return ret < 0 ? ret : 0;
}
*/
import "C"

import (
	"fmt"
	"image"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// picture is the encoder's input frame and what fills it from Go images: a plain copy for
// 4:2:0 YCbCr, swscale for RGBA. go-astiav v0.16.0 has no setter for plane bytes, so the
// copies happen here, in C, through the frame's pointer.
type picture struct {
	frame *astiav.Frame
	sws   *C.struct_SwsContext // created on the first RGBA image, then reused
}

// newPicture allocates a reference-counted YUV420P frame (AllocBuffer: AllocImage memory
// is never freed).
func newPicture(width, height int) (*picture, error) {
	f := astiav.AllocFrame()
	if f == nil {
		return nil, fmt.Errorf("%w: av_frame_alloc failed", ErrEncode)
	}
	f.SetWidth(width)
	f.SetHeight(height)
	f.SetPixelFormat(astiav.PixelFormatYuv420P)
	if err := f.AllocBuffer(0); err != nil {
		f.Free()
		return nil, fmt.Errorf("%w: allocating a %dx%d frame: %w", ErrEncode, width, height, err)
	}
	return &picture{frame: f}, nil
}

// free releases the frame and the converter. It is safe to call twice.
func (p *picture) free() {
	if p.sws != nil {
		C.sws_freeContext(p.sws)
		p.sws = nil
	}
	if p.frame != nil {
		p.frame.Free()
		p.frame = nil
	}
}

// fill copies or converts img into the frame, making the frame writable first (the encoder
// may still hold a reference to the previous contents).
func (p *picture) fill(img image.Image) error {
	w, h := p.frame.Width(), p.frame.Height()
	switch m := img.(type) {
	case *image.YCbCr:
		if m == nil {
			return fmt.Errorf("%w: nil *image.YCbCr", ErrImageFormat)
		}
		if m.SubsampleRatio != image.YCbCrSubsampleRatio420 {
			return fmt.Errorf("%w: *image.YCbCr with %v, want %v", ErrImageFormat, m.SubsampleRatio, image.YCbCrSubsampleRatio420)
		}
		if err := checkSize(m.Rect, w, h); err != nil {
			return err
		}
		yOff := m.YOffset(m.Rect.Min.X, m.Rect.Min.Y)
		cOff := m.COffset(m.Rect.Min.X, m.Rect.Min.Y)
		cw, ch := (w+1)/2, (h+1)/2
		if m.YStride < w || m.CStride < cw || yOff < 0 || cOff < 0 ||
			len(m.Y) < yOff+(h-1)*m.YStride+w ||
			len(m.Cb) < cOff+(ch-1)*m.CStride+cw || len(m.Cr) < cOff+(ch-1)*m.CStride+cw {
			return fmt.Errorf("%w: *image.YCbCr planes too short for %v (strides %d/%d, lengths %d/%d/%d)",
				ErrImageFormat, m.Rect, m.YStride, m.CStride, len(m.Y), len(m.Cb), len(m.Cr))
		}
		ret := C.rc_fill_yuv420((*C.AVFrame)(p.frame.UnsafePointer()),
			(*C.uint8_t)(unsafe.Pointer(&m.Y[yOff])), C.int(m.YStride),
			(*C.uint8_t)(unsafe.Pointer(&m.Cb[cOff])), (*C.uint8_t)(unsafe.Pointer(&m.Cr[cOff])), C.int(m.CStride))
		if ret < 0 {
			return fmt.Errorf("%w: making the frame writable: %w", ErrEncode, astiav.Error(ret))
		}
		return nil
	case *image.RGBA:
		if m == nil {
			return fmt.Errorf("%w: nil *image.RGBA", ErrImageFormat)
		}
		if err := checkSize(m.Rect, w, h); err != nil {
			return err
		}
		off := m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y)
		if m.Stride < 4*w || off < 0 || len(m.Pix) < off+(h-1)*m.Stride+4*w {
			return fmt.Errorf("%w: *image.RGBA pixels too short for %v (stride %d, length %d)", ErrImageFormat, m.Rect, m.Stride, len(m.Pix))
		}
		if p.sws == nil {
			if p.sws = C.rc_sws_rgba(C.int(w), C.int(h)); p.sws == nil {
				return fmt.Errorf("%w: sws_getContext RGBA->YUV420P %dx%d failed", ErrEncode, w, h)
			}
		}
		ret := C.rc_fill_rgba(p.sws, (*C.AVFrame)(p.frame.UnsafePointer()), (*C.uint8_t)(unsafe.Pointer(&m.Pix[off])), C.int(m.Stride))
		if ret < 0 {
			return fmt.Errorf("%w: converting RGBA: %w", ErrEncode, astiav.Error(ret))
		}
		return nil
	case nil:
		return fmt.Errorf("%w: nil image, want *image.YCbCr (4:2:0) or *image.RGBA", ErrImageFormat)
	default:
		return fmt.Errorf("%w: %T, want *image.YCbCr (4:2:0) or *image.RGBA", ErrImageFormat, img)
	}
}

func checkSize(r image.Rectangle, w, h int) error {
	if r.Dx() != w || r.Dy() != h {
		return fmt.Errorf("%w: %dx%d, want %dx%d", ErrImageSize, r.Dx(), r.Dy(), w, h)
	}
	return nil
}
