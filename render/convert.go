package render

import (
	"fmt"
	"image"
	"time"
	"unsafe"

	"github.com/go-gl/gl/v3.3-core/gl"
)

// fenceTimeout bounds the wait for a read-back; a GPU that takes longer is hung.
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

// readYCbCr converts and reads the frame into dst (GL goroutine).
func (v *View) readYCbCr(dst *image.YCbCr) error {
	if v.drawn == 0 {
		return ErrNoFrame
	}
	if v.r.info.Convert == ConvertCPU {
		return v.readConvertCPU(dst)
	}
	v.convert()
	start := time.Now()
	gl.BindFramebuffer(gl.READ_FRAMEBUFFER, v.yuvFBO)
	gl.ReadBuffer(gl.COLOR_ATTACHMENT0)
	frame, version := v.drawn, v.drawnVersion
	var err error
	if v.r.info.Readback == ReadbackPBO {
		frame, version, err = v.readPBO(dst)
	} else {
		v.readSync(dst)
	}
	gl.BindFramebuffer(gl.READ_FRAMEBUFFER, 0)
	if err != nil {
		return err
	}
	v.lastRead = time.Since(start)
	v.setStats(func(s *FrameStats) {
		s.Frame, s.Version = frame, version
		s.Convert, s.Readback = v.lastConvert, v.lastRead
	})
	return nil
}

// readConvertCPU reads the frame as RGBA and converts it to I420 in Go into dst
// (ConvertCPU, GL goroutine). Synchronously, the frame is read once into the view's buffer
// (a second ReadYCbCr of the same frame converts it again without reading); with
// ReadbackPBO the conversion reads the mapped buffer of the previous call's frame.
func (v *View) readConvertCPU(dst *image.YCbCr) error {
	start := time.Now()
	frame, version := v.drawn, v.drawnVersion
	w, h := int32(v.width), int32(v.height)
	var slot *pboSlot
	if v.r.info.Readback == ReadbackPBO {
		gl.BindFramebuffer(gl.READ_FRAMEBUFFER, v.fbo)
		gl.ReadBuffer(gl.COLOR_ATTACHMENT0)
		pix, s, err := v.mapPBO(w, h)
		gl.BindFramebuffer(gl.READ_FRAMEBUFFER, 0)
		if err != nil {
			return err
		}
		slot, v.src.pix = s, pix
		frame, version = s.frame, s.version
	} else {
		v.readRGBAOnce()
		v.src.pix = v.rgba
	}
	v.lastRead = time.Since(start)

	start = time.Now()
	v.src.stride, v.src.width, v.src.height, v.src.bottomUp = v.width*4, v.width, v.height, true
	v.r.i420.convert(dst, &v.src)
	v.src.pix = nil
	if slot != nil {
		v.unmapPBO()
	}
	v.lastConvert = time.Since(start)
	v.setStats(func(s *FrameStats) {
		s.Frame, s.Version = frame, version
		s.Convert, s.Readback = v.lastConvert, v.lastRead
	})
	return nil
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

// convertsOffGL reports whether frames are converted off the GL goroutine: ConvertCPU with
// sync read-back (software rasterisers). The GL goroutine then only draws and reads the
// RGBA frame back, and the caller converts it (readConverted), so that with many views the
// one GL goroutine is free for the next view's draw while this one's frame is converted.
func (v *View) convertsOffGL() bool {
	return v.r.info.Convert == ConvertCPU && v.r.info.Readback != ReadbackPBO
}

// readRGBAJob is the GL goroutine's part of a read when convertsOffGL: it reads the frame
// last drawn into v.rgba and reports which frame that is and how long the read took.
func (v *View) readRGBAJob(frame *uint64, version *uint32, read *time.Duration) error {
	if v.drawn == 0 {
		return ErrNoFrame
	}
	start := time.Now()
	v.readRGBAOnce()
	*frame, *version, *read = v.drawn, v.drawnVersion, time.Since(start)
	return nil
}

// readConverted is the caller's part of a read when convertsOffGL: it converts v.rgba into
// dst on the calling goroutine and records the frame's statistics. v.cpuMu must be held
// across both parts, so that no other read of this view replaces v.rgba meanwhile.
func (v *View) readConverted(dst *image.YCbCr, frame uint64, version uint32, read time.Duration) {
	start := time.Now()
	convertI420(dst, &rgbaFrame{pix: v.rgba, stride: v.width * 4, width: v.width, height: v.height, bottomUp: true})
	conv := time.Since(start)
	v.setStats(func(s *FrameStats) {
		s.Frame, s.Version = frame, version
		s.Convert, s.Readback = conv, read
	})
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

// readPBO starts the transfer of the current I420 frame into one pixel buffer and copies
// out the frame the other one holds (see ReadbackPBO). It returns the number and scene
// version of the frame copied.
func (v *View) readPBO(dst *image.YCbCr) (uint64, uint32, error) {
	pix, slot, err := v.mapPBO(int32(v.wp/4), int32(v.hp*3/2))
	if err != nil {
		return 0, 0, err
	}
	v.copyI420(dst, pix)
	v.unmapPBO()
	return slot.frame, slot.version, nil
}

// mapPBO reads the bound read framebuffer (w x h RGBA8 texels, the current frame) into one
// pixel buffer and maps the other, which holds the previous call's frame (on the first call,
// the current frame's), for reading: the caller reads the pixels, then calls unmapPBO. It
// returns the pixels and the slot they belong to.
func (v *View) mapPBO(w, h int32) ([]byte, *pboSlot, error) {
	o := &v.r.objs
	cur, other := &v.pbos[v.nextPBO], &v.pbos[v.nextPBO^1]
	v.nextPBO ^= 1
	gl.BindBuffer(gl.PIXEL_PACK_BUFFER, cur.buf)
	gl.ReadPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, nil)
	o.deleteSync(&cur.fence)
	cur.fence = o.fence()
	gl.Flush()
	cur.pending, cur.frame, cur.version = true, v.drawn, v.drawnVersion

	src := other
	if !other.pending {
		src = cur // first frame: nothing older to return
	}
	switch gl.ClientWaitSync(src.fence, gl.SYNC_FLUSH_COMMANDS_BIT, uint64(fenceTimeout)) {
	case gl.ALREADY_SIGNALED, gl.CONDITION_SATISFIED:
	default:
		gl.BindBuffer(gl.PIXEL_PACK_BUFFER, 0)
		return nil, nil, fmt.Errorf("%w: read-back of frame %d did not finish within %v", ErrGL, src.frame, fenceTimeout)
	}
	gl.BindBuffer(gl.PIXEL_PACK_BUFFER, src.buf)
	size := v.readBytes()
	ptr := gl.MapBufferRange(gl.PIXEL_PACK_BUFFER, 0, size, gl.MAP_READ_BIT)
	if ptr == nil {
		gl.BindBuffer(gl.PIXEL_PACK_BUFFER, 0)
		return nil, nil, fmt.Errorf("%w: glMapBufferRange of a %d-byte read-back buffer failed", ErrGL, size)
	}
	if src == other {
		other.pending = false // on the first call cur stays pending: the next call returns it again
	}
	return unsafe.Slice((*byte)(ptr), size), src, nil
}

// unmapPBO releases the buffer mapPBO mapped.
func (v *View) unmapPBO() {
	gl.UnmapBuffer(gl.PIXEL_PACK_BUFFER)
	gl.BindBuffer(gl.PIXEL_PACK_BUFFER, 0)
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
