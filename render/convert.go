package render

import (
	"fmt"
	"image"
	"time"
	"unsafe"

	"github.com/go-gl/gl/v3.3-core/gl"
)

// fenceTimeout bounds the wait for a read-back; a GPU that takes longer is hung, and its
// context is marked lost.
const fenceTimeout = 5 * time.Second

// convert runs the RGB to I420 pass on the frame last drawn, once per frame (ConvertGPU, GL
// goroutine).
func (v *View) convert() {
	if v.converted {
		return
	}
	start := time.Now()
	v.beginTimer(phaseConvert)
	p := v.r.yuvP
	gl.BindFramebuffer(gl.FRAMEBUFFER, v.yuvFBO)
	gl.Viewport(0, 0, int32(v.wp/4), int32(v.hp*3/2))
	gl.UseProgram(p.id)
	gl.Uniform2i(p.size, int32(v.width), int32(v.height))
	gl.Uniform2i(p.padded, int32(v.wp), int32(v.hp))
	gl.ActiveTexture(gl.TEXTURE0)
	gl.BindTexture(gl.TEXTURE_2D, v.color)
	gl.BindVertexArray(v.r.emptyVAO)
	gl.DrawArrays(gl.TRIANGLES, 0, 3)
	gl.BindVertexArray(0)
	gl.BindTexture(gl.TEXTURE_2D, 0)
	gl.UseProgram(0)
	v.endTimer()
	v.converted = true
	v.lastConvert = time.Since(start)
}

// readResult is what the GL goroutine's part of a read hands the caller's part: which frame
// was read and, when the caller copies or converts it (ConvertCPU, ReadbackPBO), where its
// pixels are.
type readResult struct {
	frame   uint64
	version uint32
	start   time.Time
	read    time.Duration
	pix     []byte // nil: dst was filled on the GL goroutine
	rgba    bool   // pix is the RGBA frame, bottom-up; else the padded I420 frame
}

// read reads the frame last drawn (GL goroutine). With ConvertGPU and sync read-back it
// converts and reads into dst; with ConvertCPU and sync read-back it reads the RGBA frame
// into the view's buffer; with ReadbackPBO it starts the transfer into the view's pixel
// buffer and leaves the job waiting for its fence (the GL goroutine serves other jobs
// meanwhile). The caller's part, finishRead, does the rest.
func (v *View) read(dst *image.YCbCr, rd *readResult) error {
	if v.drawn == 0 {
		return ErrNoFrame
	}
	rd.frame, rd.version, rd.start = v.drawn, v.drawnVersion, time.Now()
	switch {
	case v.r.info.Readback == ReadbackPBO:
		return v.startRead(rd)
	case v.r.info.Convert == ConvertCPU:
		v.readRGBAOnce()
		rd.pix, rd.rgba, rd.read = v.rgba, true, time.Since(rd.start)
		return nil
	}
	v.convert()
	start := time.Now()
	gl.BindFramebuffer(gl.READ_FRAMEBUFFER, v.yuvFBO)
	gl.ReadBuffer(gl.COLOR_ATTACHMENT0)
	v.readSync(dst)
	gl.BindFramebuffer(gl.READ_FRAMEBUFFER, 0)
	v.lastRead = time.Since(start)
	v.setStats(func(s *FrameStats) {
		s.Frame, s.Version = rd.frame, rd.version
		s.Convert, s.Readback = v.lastConvert, v.lastRead
	})
	return nil
}

// startRead copies the frame last drawn into the view's pixel buffer (the I420 target,
// converting first, with ConvertGPU; the colour texture with ConvertCPU), fences the copy
// and makes the job wait for the fence; then the buffer is mapped for the caller
// (ReadbackPBO, GL goroutine). The buffer stays mapped until the view's next read.
func (v *View) startRead(rd *readResult) error {
	v.unmap()
	w, h := int32(v.width), int32(v.height)
	fb := v.fbo
	if v.r.info.Convert == ConvertGPU {
		v.convert()
		fb, w, h = v.yuvFBO, int32(v.wp/4), int32(v.hp*3/2)
	} else if v.r.info.Software {
		// llvmpipe (Mesa 22.3) can read a texture's previous contents unless the frame is
		// finished first (TestCPUConvertReadsNewFrame); a software read waits anyway.
		gl.Finish()
	}
	gl.BindFramebuffer(gl.READ_FRAMEBUFFER, fb)
	gl.ReadBuffer(gl.COLOR_ATTACHMENT0)
	gl.BindBuffer(gl.PIXEL_PACK_BUFFER, v.pbo)
	gl.ReadPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, nil)
	gl.BindBuffer(gl.PIXEL_PACK_BUFFER, 0)
	gl.BindFramebuffer(gl.READ_FRAMEBUFFER, 0)
	fence := v.r.objs.fence()
	gl.Flush()
	v.r.awaitFence(v, fence, func() error {
		if v.closed {
			return ErrClosed
		}
		size := v.readBytes()
		gl.BindBuffer(gl.PIXEL_PACK_BUFFER, v.pbo)
		ptr := gl.MapBufferRange(gl.PIXEL_PACK_BUFFER, 0, size, gl.MAP_READ_BIT)
		gl.BindBuffer(gl.PIXEL_PACK_BUFFER, 0)
		if ptr == nil {
			return fmt.Errorf("%w: glMapBufferRange of a %d-byte read-back buffer failed", ErrGL, size)
		}
		v.mapped = unsafe.Slice((*byte)(ptr), size)
		rd.pix, rd.rgba, rd.read = v.mapped, v.r.info.Convert == ConvertCPU, time.Since(rd.start)
		return nil
	})
	return nil
}

// unmap releases the pixel buffer a previous read left mapped (GL goroutine).
func (v *View) unmap() {
	if v.mapped == nil {
		return
	}
	gl.BindBuffer(gl.PIXEL_PACK_BUFFER, v.pbo)
	gl.UnmapBuffer(gl.PIXEL_PACK_BUFFER)
	gl.BindBuffer(gl.PIXEL_PACK_BUFFER, 0)
	v.mapped = nil
}

// finishRead is the caller's part of a read: it converts (ConvertCPU) or copies
// (ConvertGPU with ReadbackPBO) the pixels the GL goroutine read into dst and records the
// frame's statistics. v.readMu must be held across both parts, so that no other read of
// this view replaces the pixels meanwhile.
func (v *View) finishRead(dst *image.YCbCr, rd *readResult) {
	if rd.pix == nil {
		return
	}
	start := time.Now()
	if rd.rgba {
		convertI420(dst, &rgbaFrame{pix: rd.pix, stride: v.width * 4, width: v.width, height: v.height, bottomUp: true})
	} else {
		v.copyI420(dst, rd.pix)
	}
	took := time.Since(start)
	v.setStats(func(s *FrameStats) {
		s.Frame, s.Version = rd.frame, rd.version
		s.Readback = rd.read
		if rd.rgba {
			s.Convert = took
		} else {
			s.Convert, s.Readback = v.lastConvert, rd.read+took
		}
	})
}

// readRGBAOnce reads the frame last drawn into v.rgba, bottom-up, unless it holds it already
// (ConvertCPU with sync read-back; GL goroutine).
func (v *View) readRGBAOnce() {
	if v.converted {
		return
	}
	if len(v.rgba) != v.readBytes() {
		v.rgba = make([]byte, v.readBytes())
	}
	// The read waits for the frame anyway; waiting with glFinish first also rules out the
	// stale read llvmpipe showed in readRGBA (TestCPUConvertReadsNewFrame).
	gl.Finish()
	gl.BindFramebuffer(gl.READ_FRAMEBUFFER, v.fbo)
	gl.ReadBuffer(gl.COLOR_ATTACHMENT0)
	gl.ReadPixels(0, 0, int32(v.width), int32(v.height), gl.RGBA, gl.UNSIGNED_BYTE, unsafe.Pointer(&v.rgba[0]))
	gl.BindFramebuffer(gl.READ_FRAMEBUFFER, 0)
	v.converted = true
}

// readSync reads the I420 target with glReadPixels: straight into dst's planes when they
// have the padded layout, else through a scratch buffer.
func (v *View) readSync(dst *image.YCbCr) {
	tw := int32(v.wp / 4)
	hp := int32(v.hp)
	if v.directLayout(dst) {
		gl.ReadPixels(0, 0, tw, hp, gl.RGBA, gl.UNSIGNED_BYTE, unsafe.Pointer(&dst.Y[0]))
		gl.ReadPixels(0, hp, tw, hp/4, gl.RGBA, gl.UNSIGNED_BYTE, unsafe.Pointer(&dst.Cb[0]))
		gl.ReadPixels(0, hp+hp/4, tw, hp/4, gl.RGBA, gl.UNSIGNED_BYTE, unsafe.Pointer(&dst.Cr[0]))
		return
	}
	if len(v.scratch) != v.frameBytes() {
		v.scratch = make([]byte, v.frameBytes())
	}
	gl.ReadPixels(0, 0, tw, hp*3/2, gl.RGBA, gl.UNSIGNED_BYTE, unsafe.Pointer(&v.scratch[0]))
	v.copyI420(dst, v.scratch)
}

// directLayout reports whether dst's planes have exactly the padded layout of the I420
// target, so glReadPixels can write them in place.
func (v *View) directLayout(dst *image.YCbCr) bool {
	cSize := v.wp * v.hp / 4
	return dst.YStride == v.wp && dst.CStride == v.wp/2 &&
		len(dst.Y) >= v.wp*v.hp && len(dst.Cb) >= cSize && len(dst.Cr) >= cSize
}

// copyI420 copies a padded I420 frame (src) into dst's planes.
func (v *View) copyI420(dst *image.YCbCr, src []byte) {
	wp, hp := v.wp, v.hp
	ySize, cSize := wp*hp, wp*hp/4
	if v.directLayout(dst) {
		copy(dst.Y, src[:ySize])
		copy(dst.Cb, src[ySize:ySize+cSize])
		copy(dst.Cr, src[ySize+cSize:ySize+2*cSize])
		return
	}
	for y := 0; y < v.height; y++ {
		copy(dst.Y[y*dst.YStride:y*dst.YStride+v.width], src[y*wp:])
	}
	cw, ch, cs := (v.width+1)/2, (v.height+1)/2, wp/2
	cb, cr := src[ySize:], src[ySize+cSize:]
	for y := 0; y < ch; y++ {
		copy(dst.Cb[y*dst.CStride:y*dst.CStride+cw], cb[y*cs:])
		copy(dst.Cr[y*dst.CStride:y*dst.CStride+cw], cr[y*cs:])
	}
}

// readRGBA reads the colour texture into dst, flipping OpenGL's bottom-up rows.
func (v *View) readRGBA(dst *image.RGBA) error {
	start := time.Now()
	// Wait for the GPU first: llvmpipe (Mesa 22.3) can return the previous frame from
	// glReadPixels on a texture the I420 pass sampled (TestReadRGBAAfterConvert). The read
	// waits for the frame anyway; this is the screenshot path, not the per-frame one.
	gl.Finish()
	gl.BindFramebuffer(gl.READ_FRAMEBUFFER, v.fbo)
	gl.ReadBuffer(gl.COLOR_ATTACHMENT0)
	gl.PixelStorei(gl.PACK_ROW_LENGTH, int32(dst.Stride/4))
	gl.ReadPixels(0, 0, int32(v.width), int32(v.height), gl.RGBA, gl.UNSIGNED_BYTE, unsafe.Pointer(&dst.Pix[0]))
	gl.PixelStorei(gl.PACK_ROW_LENGTH, 0)
	gl.BindFramebuffer(gl.READ_FRAMEBUFFER, 0)
	flipRows(dst.Pix, dst.Stride, v.width*4, v.height)
	v.r.log.Debug("render: RGBA read-back", "size", dst.Rect.Size(), "took", time.Since(start))
	return nil
}

// flipRows reverses the order of h rows of n bytes, stride apart, in place.
func flipRows(pix []byte, stride, n, h int) {
	tmp := make([]byte, n)
	for top, bot := 0, h-1; top < bot; top, bot = top+1, bot-1 {
		a := pix[top*stride : top*stride+n]
		b := pix[bot*stride : bot*stride+n]
		copy(tmp, a)
		copy(a, b)
		copy(b, tmp)
	}
}
