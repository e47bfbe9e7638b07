package render

import (
	"errors"
	"fmt"
	"image"
	"sync"
	"time"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/rendercast/rendercast/scenes"
)

// FrameStats times one view's most recent frame. CPU durations are wall time on the GL
// goroutine. With ConvertGPU on a GPU, Draw and Convert mostly measure command submission
// and the GPU fields say what the GPU spent. On software rasterisers (llvmpipe) drawing is
// deferred until its pixels are needed: with ConvertGPU the scene pass is mostly paid in
// Convert (which samples the drawn image) and the conversion in Readback; with ConvertCPU
// (their default) the scene pass is paid in Readback (the RGBA read waits for it) and
// Convert is the Go conversion alone. Draw+Convert+Readback is the frame's cost.
type FrameStats struct {
	// Frame is the number (from 1) of the frame in the image last returned by ReadYCbCr or
	// Render: the frame last drawn, in every read-back and conversion mode.
	Frame uint64
	// Version is the scenes.Scene.Version drawn in that frame.
	Version uint32
	// Drawn is the number of frames drawn by the view.
	Drawn uint64
	// Draw is the CPU time of the last scene pass (including the MSAA resolve and the
	// marker). Convert is the last RGB to I420 conversion: with ConvertGPU the submission
	// of the shader pass, with ConvertCPU the Go conversion into the caller's image.
	// Readback is the last read-back, waiting for the GPU and copying: with ConvertGPU of
	// the I420 planes into the caller's image, with ConvertCPU of the RGBA frame into the
	// view's buffer; with ReadbackPBO it runs from the start of the transfer to the mapped
	// buffer, other views' work included.
	Draw, Convert, Readback time.Duration
	// GPUDraw and GPUConvert are GPU times measured with timer queries, a frame or two old
	// (results are collected without waiting); zero when unsupported or not yet available.
	// GPUConvert stays zero with ConvertCPU. On llvmpipe a query times the rasteriser's
	// work on tiles, not the frame: its values say little.
	GPUDraw, GPUConvert time.Duration
}

// View is one offscreen render target (one per viewer): its size, framebuffers, I420
// conversion target (ConvertGPU) and read-back buffers. Methods are safe for concurrent
// use, but a view draws one frame at a time: draw with Render (or Draw then ReadYCbCr /
// ReadRGBA).
type View struct {
	r *Renderer

	mu     sync.Mutex // guards size, marker and stats (read from any goroutine)
	size   image.Point
	marker bool
	stats  FrameStats
	// readMu is held by ReadYCbCr and Render across both parts of a read whose pixels are
	// copied or converted off the GL goroutine (ConvertCPU, ReadbackPBO): v.rgba and the
	// mapped read-back buffer belong to that read. A refined frame holds it across its
	// parts, and Resize and Close take it, so that neither happens under a read or between
	// a refined frame's parts.
	readMu sync.Mutex

	// GL goroutine only (written there under readMu, so a read's part on the caller's
	// goroutine, which holds readMu, may use them too).
	width, height int
	wp, hp        int // padded for the I420 packing (multiples of 8 and 4)

	// GL goroutine only.
	closed                          bool
	refined                         target // RenderWith Refined: multisampled or supersampled, allocated on first use
	scaled, scaledMS                target // RenderWith Scale: the smaller frame (scaledMS: multisampled, with Info().MSAA)
	msaaFBO, msaaColor, msaaDepth   uint32
	fbo, color, depth               uint32
	yuvFBO, yuvTex                  uint32           // ConvertGPU
	pbo                             uint32           // ReadbackPBO: the frame's read-back buffer
	mapped                          []byte           // ReadbackPBO: pbo mapped for the caller, until the next read
	timers                          [2][2]timerQuery // [draw, convert][slot]
	nextTimer                       [2]int
	drawn                           uint64
	drawnVersion                    uint32
	converted                       bool // the I420 target (ConvertCPU: rgba) holds the last frame
	badCamera                       bool // the last frame's camera was unusable (warned)
	scratch                         []byte
	rgba                            []byte // ConvertCPU, sync: the frame last read, bottom-up
	lastDraw, lastConvert, lastRead time.Duration
}

type timerQuery struct {
	id     uint32
	issued bool
}

const (
	phaseDraw = iota
	phaseConvert
)

// NewView creates a view of width x height pixels with its own framebuffers. Any size from
// 2x2 up to Info().MaxSize works; widths that are multiples of 8 and heights that are
// multiples of 4 (720p, 1080p) avoid padding.
func (r *Renderer) NewView(width, height int) (*View, error) {
	if err := r.checkSize(width, height); err != nil {
		return nil, err
	}
	wp, hp := paddedSize(width, height)
	v := &View{r: r, width: width, height: height, wp: wp, hp: hp, size: image.Pt(width, height)}
	err := r.do(func() error {
		if err := v.allocate(); err != nil {
			v.free()
			return err
		}
		r.views[v] = struct{}{}
		r.pixels.Add(int64(width * height))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// checkSize returns ErrBadSize (wrapped, with the limits) for a view size out of range.
func (r *Renderer) checkSize(width, height int) error {
	if width < 2 || height < 2 || width > r.info.MaxSize || height > r.info.MaxSize {
		return fmt.Errorf("%w: %dx%d (want 2x2 to %dx%d)", ErrBadSize, width, height, r.info.MaxSize, r.info.MaxSize)
	}
	if _, hp := paddedSize(width, height); hp*3/2 > r.info.MaxSize {
		return fmt.Errorf("%w: %dx%d needs an I420 target %d rows high (limit %d)", ErrBadSize, width, height, hp*3/2, r.info.MaxSize)
	}
	return nil
}

// allocate creates the view's GL objects (GL goroutine).
func (v *View) allocate() error {
	r := v.r
	o := &r.objs
	w, h := int32(v.width), int32(v.height)

	// Single-sample target: an RGBA8 colour texture holding sRGB-encoded values (the scene
	// shader encodes), sampled by the I420 pass and read by ReadRGBA.
	v.fbo = o.genFramebuffer()
	gl.BindFramebuffer(gl.FRAMEBUFFER, v.fbo)
	v.color = o.genTexture()
	gl.BindTexture(gl.TEXTURE_2D, v.color)
	gl.TexImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, w, h, 0, gl.RGBA, gl.UNSIGNED_BYTE, nil)
	setFilter(gl.NEAREST) // read with texelFetch (a bilinear 2x2 average was slower on llvmpipe)
	gl.FramebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, v.color, 0)
	if r.info.MSAA == 0 {
		v.depth = o.genRenderbuffer()
		gl.BindRenderbuffer(gl.RENDERBUFFER, v.depth)
		gl.RenderbufferStorage(gl.RENDERBUFFER, gl.DEPTH_COMPONENT24, w, h)
		gl.FramebufferRenderbuffer(gl.FRAMEBUFFER, gl.DEPTH_ATTACHMENT, gl.RENDERBUFFER, v.depth)
	}
	if err := checkFramebuffer("colour"); err != nil {
		return err
	}
	if r.info.MSAA > 0 {
		samples := int32(r.info.MSAA)
		v.msaaFBO = o.genFramebuffer()
		gl.BindFramebuffer(gl.FRAMEBUFFER, v.msaaFBO)
		v.msaaColor = o.genRenderbuffer()
		gl.BindRenderbuffer(gl.RENDERBUFFER, v.msaaColor)
		gl.RenderbufferStorageMultisample(gl.RENDERBUFFER, samples, gl.RGBA8, w, h)
		gl.FramebufferRenderbuffer(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.RENDERBUFFER, v.msaaColor)
		v.msaaDepth = o.genRenderbuffer()
		gl.BindRenderbuffer(gl.RENDERBUFFER, v.msaaDepth)
		gl.RenderbufferStorageMultisample(gl.RENDERBUFFER, samples, gl.DEPTH_COMPONENT24, w, h)
		gl.FramebufferRenderbuffer(gl.FRAMEBUFFER, gl.DEPTH_ATTACHMENT, gl.RENDERBUFFER, v.msaaDepth)
		if err := checkFramebuffer("multisample"); err != nil {
			return err
		}
	}

	// I420 target: (Wp/4) x (3Hp/2) RGBA8 texels = Wp*Hp*3/2 bytes, an I420 frame.
	if r.info.Convert == ConvertGPU {
		v.yuvFBO = o.genFramebuffer()
		gl.BindFramebuffer(gl.FRAMEBUFFER, v.yuvFBO)
		v.yuvTex = o.genTexture()
		gl.BindTexture(gl.TEXTURE_2D, v.yuvTex)
		gl.TexImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, int32(v.wp/4), int32(v.hp*3/2), 0, gl.RGBA, gl.UNSIGNED_BYTE, nil)
		setFilter(gl.NEAREST)
		gl.FramebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, v.yuvTex, 0)
		if err := checkFramebuffer("I420"); err != nil {
			return err
		}
	}
	gl.BindFramebuffer(gl.FRAMEBUFFER, 0)
	gl.BindTexture(gl.TEXTURE_2D, 0)
	gl.BindRenderbuffer(gl.RENDERBUFFER, 0)

	if r.info.Readback == ReadbackPBO {
		v.pbo = o.genBuffer()
		gl.BindBuffer(gl.PIXEL_PACK_BUFFER, v.pbo)
		gl.BufferData(gl.PIXEL_PACK_BUFFER, v.readBytes(), nil, gl.STREAM_READ)
		gl.BindBuffer(gl.PIXEL_PACK_BUFFER, 0)
	}
	if r.info.TimerQueries && v.timers[0][0].id == 0 {
		for p := range v.timers {
			for s := range v.timers[p] {
				v.timers[p][s].id = o.genQuery()
			}
		}
	}
	return glErrors()
}

// free deletes the view's GL objects (GL goroutine). Safe to call twice.
func (v *View) free() {
	o := &v.r.objs
	v.r.failReadsOf(v, ErrClosed)
	v.freeTargets()
	for p := range v.timers {
		for s := range v.timers[p] {
			o.deleteQueries(&v.timers[p][s].id)
		}
	}
	v.closed = true
	if _, ok := v.r.views[v]; ok {
		delete(v.r.views, v)
		v.r.pixels.Add(-int64(v.width * v.height))
	}
}

// freeTargets deletes the view's framebuffers, textures and read-back buffer: everything
// that has the view's size (GL goroutine). Safe to call twice.
func (v *View) freeTargets() {
	o := &v.r.objs
	o.deleteFramebuffers(&v.fbo, &v.msaaFBO, &v.yuvFBO)
	o.deleteTextures(&v.color, &v.yuvTex)
	o.deleteRenderbuffers(&v.depth, &v.msaaColor, &v.msaaDepth)
	v.refined.free(o)
	v.scaled.free(o)
	v.scaledMS.free(o)
	v.unmap()
	o.deleteBuffers(&v.pbo)
}

// Close frees the view's GL objects. Later calls on the view return ErrClosed. It waits for
// a read in progress on another goroutine.
func (v *View) Close() error {
	v.readMu.Lock()
	defer v.readMu.Unlock()
	err := v.r.do(func() error {
		if !v.closed {
			v.free()
		}
		return nil
	})
	if errors.Is(err, ErrClosed) || errors.Is(err, ErrContextLost) {
		return nil // the renderer freed it already, or its context is gone
	}
	return err
}

// Size returns the view's width and height in pixels.
func (v *View) Size() (width, height int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.size.X, v.size.Y
}

// SetMarker turns the frame marker on or off (off by default): a strip of black and white
// blocks in the bottom-left corner encoding the frame number (FrameStats.Drawn, truncated
// to 32 bits) and the scene's Version, laid out as scenes/marker.go documents
// (scenes.DecodeMarker reads it). Views smaller than scenes.MarkerWidth x
// scenes.MarkerHeight get no marker.
func (v *View) SetMarker(on bool) {
	v.mu.Lock()
	v.marker = on
	v.mu.Unlock()
}

// Stats returns the timings of the view's most recent frame.
func (v *View) Stats() FrameStats {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.stats
}

// Draw renders s, seen through s.Camera, into the view. It reads the scene and never
// modifies it (call s.Animate first for moving scenes); the caller must not modify s until
// Draw returns.
func (v *View) Draw(s *scenes.Scene) error {
	if s == nil {
		return ErrNoScene
	}
	return v.r.do(func() error {
		if v.closed {
			return ErrClosed
		}
		return v.draw(s, ShadowsAuto)
	})
}

// ReadYCbCr converts the frame last drawn to I420 (on the GPU or the CPU: Info().Convert)
// and reads it into dst, which is returned. dst is used when it is 4:2:0 with the view's
// size (rectangle at the origin); otherwise a new image is returned (allocated by
// NewFrame). dst's memory is written only during the call and not kept: the caller owns it
// before and after. Converting on the GPU and reading synchronously, frames from NewFrame,
// or image.NewYCbCr at sizes that are multiples of 8 x 4, are filled without a copy; the
// CPU conversion writes into any fitting dst directly, the image area only (not a
// NewFrame's padding). In every mode the image is the frame last drawn.
func (v *View) ReadYCbCr(dst *image.YCbCr) (*image.YCbCr, error) {
	return v.render(dst, nil)
}

// Render draws s (see Draw) and reads the result as I420 (see ReadYCbCr) in one trip to
// the GL goroutine: the streamer's per-frame call.
func (v *View) Render(s *scenes.Scene, dst *image.YCbCr) (*image.YCbCr, error) {
	if s == nil {
		return nil, ErrNoScene
	}
	return v.render(dst, func() error { return v.draw(s, ShadowsAuto) })
}

// offGL reports whether reads finish on the caller's goroutine (ConvertCPU, ReadbackPBO),
// which must then hold v.readMu across both parts.
func (v *View) offGL() bool {
	return v.r.info.Convert == ConvertCPU || v.r.info.Readback == ReadbackPBO
}

// render runs draw (unless nil) on the GL goroutine and reads the frame into dst, taking
// v.readMu when the read finishes off the GL goroutine.
func (v *View) render(dst *image.YCbCr, draw func() error) (*image.YCbCr, error) {
	if v.offGL() {
		v.readMu.Lock()
		defer v.readMu.Unlock()
	}
	return v.renderLocked(dst, draw)
}

// renderLocked is render for a caller that holds v.readMu (or needs not: see offGL). The
// GL goroutine does the GL work; pixels that need copying or converting (ConvertCPU,
// ReadbackPBO) are handled on the calling goroutine afterwards, so the GL goroutine is free
// for other views meanwhile. A dst that does not fit the view's size (checked on the GL
// goroutine, where the size cannot change) is replaced by a new frame.
func (v *View) renderLocked(dst *image.YCbCr, draw func() error) (*image.YCbCr, error) {
	var rd readResult
	err := v.r.do(func() error {
		if v.closed {
			return ErrClosed
		}
		if draw != nil {
			if err := draw(); err != nil {
				return err
			}
		}
		if !v.fits(dst) {
			dst = NewFrame(v.width, v.height)
		}
		return v.read(dst, &rd)
	})
	if err != nil {
		return nil, err
	}
	v.finishRead(dst, &rd)
	return dst, nil
}

// ReadRGBA reads the frame last drawn as RGBA (sRGB, opaque, top-down rows) into dst,
// which is returned; a dst of another size (or nil) is replaced by a new image. It always
// reads synchronously: it is meant for screenshots and tests, not for every frame.
func (v *View) ReadRGBA(dst *image.RGBA) (*image.RGBA, error) {
	err := v.r.do(func() error {
		if v.closed {
			return ErrClosed
		}
		if v.drawn == 0 {
			return ErrNoFrame
		}
		if dst == nil || dst.Rect != image.Rect(0, 0, v.width, v.height) {
			dst = image.NewRGBA(image.Rect(0, 0, v.width, v.height))
		}
		return v.readRGBA(dst)
	})
	if err != nil {
		return nil, err
	}
	return dst, nil
}

func (v *View) fits(dst *image.YCbCr) bool {
	return dst != nil && dst.SubsampleRatio == image.YCbCrSubsampleRatio420 &&
		dst.Rect == image.Rect(0, 0, v.width, v.height) &&
		dst.YStride >= v.width && dst.CStride >= (v.width+1)/2 &&
		len(dst.Y) >= dst.YStride*(v.height-1)+v.width &&
		len(dst.Cb) >= dst.CStride*((v.height+1)/2-1)+(v.width+1)/2 &&
		len(dst.Cr) >= dst.CStride*((v.height+1)/2-1)+(v.width+1)/2
}

// frameBytes is the size of the padded I420 frame the conversion target holds.
func (v *View) frameBytes() int { return v.wp * v.hp * 3 / 2 }

// readBytes is the size of a frame as read back: padded I420 (ConvertGPU) or RGBA.
func (v *View) readBytes() int {
	if v.r.info.Convert == ConvertCPU {
		return v.width * v.height * 4
	}
	return v.frameBytes()
}

func (v *View) setStats(f func(*FrameStats)) {
	v.mu.Lock()
	f(&v.stats)
	v.mu.Unlock()
}

func setFilter(filter int32) {
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, filter)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, filter)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE)
}

func checkFramebuffer(which string) error {
	if s := gl.CheckFramebufferStatus(gl.FRAMEBUFFER); s != gl.FRAMEBUFFER_COMPLETE {
		return fmt.Errorf("%w: %s framebuffer incomplete (status 0x%x)", ErrGL, which, s)
	}
	return nil
}

// beginTimer starts the timer query of phase, first collecting the result the slot held
// if it is ready (never waiting).
func (v *View) beginTimer(phase int) {
	if !v.r.info.TimerQueries {
		return
	}
	slot := v.nextTimer[phase]
	v.nextTimer[phase] ^= 1
	q := &v.timers[phase][slot]
	v.collectTimer(phase, q)
	gl.BeginQuery(gl.TIME_ELAPSED, q.id)
	q.issued = true
}

func (v *View) endTimer() {
	if v.r.info.TimerQueries {
		gl.EndQuery(gl.TIME_ELAPSED)
	}
}

func (v *View) collectTimer(phase int, q *timerQuery) {
	if !q.issued {
		return
	}
	var ready uint32
	gl.GetQueryObjectuiv(q.id, gl.QUERY_RESULT_AVAILABLE, &ready)
	if ready == gl.FALSE {
		return
	}
	var ns uint64
	gl.GetQueryObjectui64v(q.id, gl.QUERY_RESULT, &ns)
	q.issued = false
	d := time.Duration(ns)
	v.setStats(func(s *FrameStats) {
		if phase == phaseDraw {
			s.GPUDraw = d
		} else {
			s.GPUConvert = d
		}
	})
}
