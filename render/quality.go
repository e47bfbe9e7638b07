package render

import (
	"errors"
	"fmt"
	"image"
	"math"
	"time"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/rendercast/rendercast/scenes"
)

// ErrAborted is returned by RenderWith when Quality.Abort reported true before the frame
// was finished; the view's previous frame is then what ReadYCbCr returns.
var ErrAborted = errors.New("render: aborted")

// Quality says how RenderWith draws one frame.
type Quality struct {
	// Refined draws the best still picture this renderer makes, whatever the renderer's
	// interactive settings: PBR shading, the scene's full-detail meshes, and at least 4
	// samples per pixel (multisampling or supersampling). Scale is ignored.
	Refined bool
	// Scale is the internal render scale of an interactive frame, in (0, 1]; 0 means 1.
	// The scene is drawn at the view's size times Scale and scaled up to the view's size
	// on the GL side before conversion.
	Scale float64
	// Abort, when set, is polled between parts of a long frame (a refined frame is drawn
	// in parts); when it returns true RenderWith stops and returns ErrAborted.
	Abort func() bool
	// Shadows overrides the renderer's Config.Shadows for this frame: ShadowsOn or
	// ShadowsOff; ShadowsAuto (empty) follows Config.Shadows, whose automatic choice on
	// software rasterisers has shadows in refined frames and none in the others.
	Shadows Shadows
}

// RenderWith draws s with quality q and reads the result as I420, like Render.
//
// A refined frame (q.Refined) is drawn into a framebuffer of its own, multisampled
// (Info().RefinedSamples) or, where the driver has too few samples, at twice the size in
// each direction; on software rasterisers in horizontal bands, each a separate job on the
// GL goroutine so that other views' frames go on between them. Abort is polled before each
// band and before the result replaces the view's frame: ErrAborted leaves the view's
// previous frame as it was. The view's read-back lock is held throughout, so Close and
// Resize wait for the refined frame (or its abort).
//
// A scaled frame (0 < q.Scale < 1) is drawn at round(size*Scale) (at least 2x2) with the
// renderer's interactive settings and stretched to the view's size with linear filtering
// in a fullscreen pass; the frame marker is drawn at full size. The stretch has a cost of
// its own (on llvmpipe about what the demo's fast scene pass costs at full size): a lower
// scale saves time only where the scene pass is the larger part (docs/PERFORMANCE.md). A Scale outside [0, 1] gives ErrBadQuality.
func (v *View) RenderWith(s *scenes.Scene, dst *image.YCbCr, q Quality) (*image.YCbCr, error) {
	if s == nil {
		return nil, ErrNoScene
	}
	if !checkShadows(q.Shadows) {
		return nil, fmt.Errorf("%w: shadows %q (want %q, %q or empty for the renderer's)", ErrBadQuality, q.Shadows, ShadowsOn, ShadowsOff)
	}
	if q.Refined {
		return v.renderRefined(s, dst, q.Abort, q.Shadows)
	}
	if math.IsNaN(q.Scale) || q.Scale < 0 || q.Scale > 1 {
		return nil, fmt.Errorf("%w: scale %v (want a value in (0, 1], or 0 for 1)", ErrBadQuality, q.Scale)
	}
	if q.Scale == 0 || q.Scale == 1 {
		return v.render(dst, func() error { return v.draw(s, q.Shadows) })
	}
	return v.render(dst, func() error { return v.drawScaled(s, q.Scale, q.Shadows) })
}

// scaledSize is the size a frame of scale (0, 1) is drawn at, for a w x h view.
func scaledSize(w, h int, scale float64) (int, int) {
	sw := min(w, max(2, int(math.Round(float64(w)*scale))))
	sh := min(h, max(2, int(math.Round(float64(h)*scale))))
	return sw, sh
}

// drawScaled draws s at the view's size times scale into the scaled target and stretches
// it onto the view's colour texture with linear filtering (GL goroutine); shadows is the
// frame's Quality.Shadows.
func (v *View) drawScaled(s *scenes.Scene, scale float64, shadows Shadows) error {
	sw, sh := scaledSize(v.width, v.height, scale)
	if sw == v.width && sh == v.height {
		return v.draw(s, shadows)
	}
	start := time.Now()
	r := v.r
	r.frames++
	if err := v.scaled.ensure(&r.objs, sw, sh, 0); err != nil {
		return err
	}
	fb := v.scaled.fbo
	if r.info.MSAA > 0 {
		if err := v.scaledMS.ensure(&r.objs, sw, sh, r.info.MSAA); err != nil {
			return err
		}
		fb = v.scaledMS.fbo
	}
	v.scenePass(s, fb, sw, sh, passOptions{timed: true, shadows: r.shadowsFor(false, shadows)})
	if fb != v.scaled.fbo {
		blit(fb, v.scaled.fbo, sw, sh, sw, sh, gl.NEAREST)
	}
	// A fullscreen pass: on llvmpipe it costs about two thirds of a stretching
	// glBlitFramebuffer (docs/perf-render.md).
	v.upscale(&v.scaled)
	v.frameDone(s, start, true)
	return nil
}

// refinedBandRows is the height of one part of a refined frame on a software rasteriser
// (in the refined target's rows): 10 parts at 720p, each about a tenth of the frame's cost
// on llvmpipe, so other views' jobs wait little; bands of twice the height saved only a
// few percent (docs/perf-render.md).
const refinedBandRows = 72

// refinedBands is the number of parts a refined frame of a target th rows high is drawn
// in: one on GPUs, bands of about refinedBandRows on software rasterisers.
func (r *Renderer) refinedBands(th int) int {
	if !r.info.Software {
		return 1
	}
	return max(1, (th+r.bandRows/2)/r.bandRows)
}

// renderRefined draws the refined frame of s in parts, polling abort before each, then
// resolves it onto the view's colour texture and reads it into dst; shadows is the
// frame's Quality.Shadows.
func (v *View) renderRefined(s *scenes.Scene, dst *image.YCbCr, abort func() bool, shadows Shadows) (*image.YCbCr, error) {
	v.readMu.Lock()
	defer v.readMu.Unlock()
	r := v.r
	aborted := func() bool { return abort != nil && abort() }
	var busy time.Duration // time spent on the GL goroutine, other views' jobs excluded
	bands := 1
	for i := 0; i < bands; i++ {
		if aborted() {
			return nil, ErrAborted
		}
		err := r.do(func() error {
			if v.closed {
				return ErrClosed
			}
			start := time.Now()
			t := &v.refined
			if i == 0 {
				if err := v.ensureRefined(); err != nil {
					return err
				}
				bands = r.refinedBands(t.h)
				r.frames++
			}
			y0, y1 := i*t.h/bands, (i+1)*t.h/bands
			o := passOptions{pbr: true, full: true, shadows: r.shadowsFor(true, shadows)}
			if bands > 1 {
				o.band.y, o.band.h = y0, y1-y0
			}
			v.scenePass(s, t.fbo, t.w, t.h, o)
			if r.info.Software {
				gl.Finish() // rasterise the band now, inside this job
			} else {
				gl.Flush()
			}
			busy += time.Since(start)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if aborted() {
		return nil, ErrAborted
	}
	return v.renderLocked(dst, func() error {
		start := time.Now()
		t := &v.refined
		if t.fbo == 0 || t.w < v.width || t.h < v.height {
			return fmt.Errorf("%w: refined target %dx%d lost before its resolve", ErrGL, t.w, t.h)
		}
		filter := uint32(gl.NEAREST) // a multisample resolve
		if t.samples == 0 {
			filter = gl.LINEAR // 2x2 supersampled: one bilinear tap per pixel averages its four
		}
		blit(t.fbo, v.fbo, t.w, t.h, v.width, v.height, filter)
		v.frameDone(s, start.Add(-busy), false)
		return nil
	})
}

// ensureRefined allocates the view's refined target unless it has it (GL goroutine).
func (v *View) ensureRefined() error {
	r := v.r
	if r.refinedSamples > 0 {
		return v.refined.ensure(&r.objs, v.width, v.height, r.refinedSamples)
	}
	return v.refined.ensure(&r.objs, 2*v.width, 2*v.height, 0)
}

// Resize changes the view's size (the same range as NewView, else ErrBadSize); the next
// frame is drawn at the new size, and images from ReadYCbCr, Render and ReadRGBA have it
// (a dst of the old size is replaced by a new image). Until the next frame, reads return
// the last frame stretched to the new size. The view stays on its context. It waits for a
// read or a refined frame in progress on another goroutine.
func (v *View) Resize(width, height int) error {
	if err := v.r.checkSize(width, height); err != nil {
		return err
	}
	v.readMu.Lock()
	defer v.readMu.Unlock()
	return v.r.do(func() error {
		if v.closed {
			return ErrClosed
		}
		if width == v.width && height == v.height {
			return nil
		}
		ow, oh := v.width, v.height
		err := v.reallocate(width, height)
		if v.closed {
			return err
		}
		v.r.pixels.Add(int64(v.width*v.height - ow*oh))
		v.mu.Lock()
		v.size = image.Pt(v.width, v.height)
		v.mu.Unlock()
		return err
	})
}

// reallocate replaces the view's size-bound GL objects with ones of w x h, stretching the
// last frame onto the new colour texture (GL goroutine). When the new objects cannot be
// had, the view keeps its old size (and the error is returned); when even that fails, the
// view is freed (closed).
func (v *View) reallocate(w, h int) error {
	o := &v.r.objs
	oldFBO, oldColor, ow, oh := v.fbo, v.color, v.width, v.height
	v.fbo, v.color = 0, 0 // kept until the last frame is copied
	defer func() {
		o.deleteFramebuffers(&oldFBO)
		o.deleteTextures(&oldColor)
	}()
	v.freeTargets()
	setSize := func(w, h int) {
		v.width, v.height = w, h
		v.wp, v.hp = paddedSize(w, h)
	}
	setSize(w, h)
	err := v.allocate()
	if err != nil {
		v.freeTargets()
		setSize(ow, oh)
		if err2 := v.allocate(); err2 != nil {
			v.free()
			return fmt.Errorf("%w; restoring %dx%d failed too (view closed): %v", err, ow, oh, err2)
		}
		err = fmt.Errorf("resizing to %dx%d: %w", w, h, err)
	}
	if v.drawn > 0 {
		blit(oldFBO, v.fbo, ow, oh, v.width, v.height, gl.LINEAR)
		v.converted = false
	}
	return err
}

// upscale stretches src's colour texture over the view's colour texture with linear
// filtering, in a fullscreen pass (GL goroutine).
func (v *View) upscale(src *target) {
	r := v.r
	gl.BindFramebuffer(gl.FRAMEBUFFER, v.fbo)
	gl.Viewport(0, 0, int32(v.width), int32(v.height))
	gl.UseProgram(r.scaleP.id)
	gl.ActiveTexture(gl.TEXTURE0)
	gl.BindTexture(gl.TEXTURE_2D, src.color)
	gl.BindVertexArray(r.emptyVAO)
	gl.DrawArrays(gl.TRIANGLES, 0, 3)
	gl.BindVertexArray(0)
	gl.BindTexture(gl.TEXTURE_2D, 0)
	gl.UseProgram(0)
	gl.BindFramebuffer(gl.FRAMEBUFFER, 0)
}
