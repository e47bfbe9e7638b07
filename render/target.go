package render

import "github.com/go-gl/gl/v3.3-core/gl"

// target is an offscreen framebuffer the scene pass draws into besides the view's own:
// the refined frame's multisampled (or supersampled) one and the scaled frame's smaller
// one. Its colour is a texture when samples is 0, else a multisample renderbuffer; its
// depth is a renderbuffer. GL goroutine only.
type target struct {
	fbo, color, depth uint32
	w, h, samples     int
}

// ensure (re)allocates t at w x h with samples per pixel (0: single-sampled colour
// texture, linearly filtered for scaling) unless it has that shape already.
func (t *target) ensure(o *glObjects, w, h, samples int) error {
	if t.fbo != 0 && t.w == w && t.h == h && t.samples == samples {
		return nil
	}
	t.free(o)
	t.w, t.h, t.samples = w, h, samples
	t.fbo = o.genFramebuffer()
	gl.BindFramebuffer(gl.FRAMEBUFFER, t.fbo)
	if samples == 0 {
		t.color = o.genTexture()
		gl.BindTexture(gl.TEXTURE_2D, t.color)
		gl.TexImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, int32(w), int32(h), 0, gl.RGBA, gl.UNSIGNED_BYTE, nil)
		setFilter(gl.LINEAR)
		gl.BindTexture(gl.TEXTURE_2D, 0)
		gl.FramebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, t.color, 0)
	} else {
		t.color = o.genRenderbuffer()
		gl.BindRenderbuffer(gl.RENDERBUFFER, t.color)
		gl.RenderbufferStorageMultisample(gl.RENDERBUFFER, int32(samples), gl.RGBA8, int32(w), int32(h))
		gl.FramebufferRenderbuffer(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.RENDERBUFFER, t.color)
	}
	t.depth = o.genRenderbuffer()
	gl.BindRenderbuffer(gl.RENDERBUFFER, t.depth)
	if samples == 0 {
		gl.RenderbufferStorage(gl.RENDERBUFFER, gl.DEPTH_COMPONENT24, int32(w), int32(h))
	} else {
		gl.RenderbufferStorageMultisample(gl.RENDERBUFFER, int32(samples), gl.DEPTH_COMPONENT24, int32(w), int32(h))
	}
	gl.FramebufferRenderbuffer(gl.FRAMEBUFFER, gl.DEPTH_ATTACHMENT, gl.RENDERBUFFER, t.depth)
	gl.BindRenderbuffer(gl.RENDERBUFFER, 0)
	err := checkFramebuffer("offscreen")
	gl.BindFramebuffer(gl.FRAMEBUFFER, 0)
	if err == nil {
		err = glErrors()
	}
	if err != nil {
		t.free(o)
	}
	return err
}

// free deletes t's GL objects. Safe to call twice.
func (t *target) free(o *glObjects) {
	o.deleteFramebuffers(&t.fbo)
	if t.samples == 0 {
		o.deleteTextures(&t.color)
	} else {
		o.deleteRenderbuffers(&t.color)
	}
	o.deleteRenderbuffers(&t.depth)
	t.w, t.h, t.samples = 0, 0, 0
}

// blit copies the sw x sh colour of framebuffer src onto dw x dh of dst with filter: a multisample resolve (NEAREST, same size), a 2x2
// downsample or an upscale (LINEAR).
func blit(src, dst uint32, sw, sh, dw, dh int, filter uint32) {
	gl.BindFramebuffer(gl.READ_FRAMEBUFFER, src)
	gl.BindFramebuffer(gl.DRAW_FRAMEBUFFER, dst)
	gl.BlitFramebuffer(0, 0, int32(sw), int32(sh), 0, 0, int32(dw), int32(dh), gl.COLOR_BUFFER_BIT, filter)
	gl.BindFramebuffer(gl.READ_FRAMEBUFFER, 0)
	gl.BindFramebuffer(gl.DRAW_FRAMEBUFFER, 0)
}
