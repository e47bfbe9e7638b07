package render

import (
	"math"
	"time"

	"github.com/go-gl/gl/v3.3-core/gl"
	"github.com/go-gl/mathgl/mgl32"

	"github.com/rendercast/rendercast/scenes"
)

// draw renders s into the view's colour texture (GL goroutine): today's interactive frame,
// at the view's size with the renderer's shading and sample count.
func (v *View) draw(s *scenes.Scene) error {
	start := time.Now()
	v.r.frames++
	target := v.fbo
	if v.msaaFBO != 0 {
		target = v.msaaFBO
	}
	v.scenePass(s, target, v.width, v.height, passOptions{timed: true})
	if v.msaaFBO != 0 {
		blit(v.msaaFBO, v.fbo, v.width, v.height, v.width, v.height, gl.NEAREST)
	}
	v.frameDone(s, start, true)
	return nil
}

// passOptions select how a scene pass draws.
type passOptions struct {
	// pbr shades every lit material per pixel (pbr.frag), whatever Config.Shading says.
	pbr bool
	// full draws the meshes' full-detail geometry (scenes.Scene.FullDetailDraws).
	full bool
	// band, when not empty, limits the clear and the draw to these rows (GL window
	// coordinates: 0 is the bottom row), with the scissor test.
	band struct{ y, h int }
	// timed times the pass with the view's draw timer query (ended by frameDone).
	timed bool
}

// scenePass clears framebuffer fb, w x h pixels, to s's background and draws s into it
// (GL goroutine). The projection keeps the view's aspect ratio, whatever fb's size.
func (v *View) scenePass(s *scenes.Scene, fb uint32, w, h int, o passOptions) {
	r := v.r
	gl.BindFramebuffer(gl.FRAMEBUFFER, fb)
	gl.Viewport(0, 0, int32(w), int32(h))
	if o.band.h > 0 {
		gl.Enable(gl.SCISSOR_TEST)
		gl.Scissor(0, int32(o.band.y), int32(w), int32(o.band.h))
	} else {
		gl.Disable(gl.SCISSOR_TEST)
	}
	gl.Disable(gl.BLEND)
	// The colour target stores sRGB-encoded values and Background is sRGB: clear with it
	// as is, rounded to whole levels first (drivers differ on how they round halves).
	bg := s.Background
	gl.ClearColor(level(bg[0]), level(bg[1]), level(bg[2]), 1)
	gl.DepthMask(true)
	gl.ClearDepth(1)
	gl.Clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT)
	// Start the timer after the clear: Mesa binds the framebuffer to the driver when
	// something draws, and llvmpipe (22.3) records no start time for a query begun while
	// the previous, empty framebuffer 0 is bound, then reports the end timestamp itself
	// (the time since boot) as the elapsed time.
	if o.timed {
		v.beginTimer(phaseDraw)
	}
	gl.Enable(gl.DEPTH_TEST)
	gl.DepthFunc(gl.LESS)
	gl.CullFace(gl.BACK)
	gl.FrontFace(gl.CCW)

	cam := s.Camera
	viewProj := cam.Projection(float32(v.width) / float32(v.height)).Mul4(cam.View())
	switch {
	case finiteMat4(viewProj):
		v.badCamera = false
		r.drawScene(s, viewProj, o)
	case !v.badCamera: // warn once per bad spell, not every frame
		v.badCamera = true
		r.log.Warn("render: camera gives a non-finite projection; drawing the background only",
			"scene", s.Name, "eye", cam.Eye, "target", cam.Target, "up", cam.Up)
	}
	gl.Disable(gl.SCISSOR_TEST)
	gl.Disable(gl.DEPTH_TEST)
	gl.Disable(gl.CULL_FACE)
	gl.BindFramebuffer(gl.FRAMEBUFFER, 0)
}

// frameDone records that the view's colour texture holds a new frame of s, begun at start,
// and draws the frame marker on it (GL goroutine). timed ends the draw timer query.
func (v *View) frameDone(s *scenes.Scene, start time.Time, timed bool) {
	r := v.r
	v.drawn++
	v.drawnVersion = s.Version
	v.converted = false
	v.mu.Lock()
	marker := v.marker
	v.mu.Unlock()
	if marker {
		gl.BindFramebuffer(gl.FRAMEBUFFER, v.fbo)
		gl.Viewport(0, 0, int32(v.width), int32(v.height))
		drawBlocks(v.height, markerBlocks(v.width, v.height, uint32(v.drawn), s.Version))
	}
	if timed {
		v.endTimer()
	}
	gl.BindFramebuffer(gl.FRAMEBUFFER, 0)
	r.cache.sweep(&r.objs, r.frames)

	v.lastDraw = time.Since(start)
	v.setStats(func(st *FrameStats) {
		st.Drawn = v.drawn
		st.Draw = v.lastDraw
	})
}

// drawScene issues the scene pass into the bound framebuffer (GL goroutine). Primitives the
// GPU cannot take are skipped and logged once each; the rest of the frame still draws.
func (r *Renderer) drawScene(s *scenes.Scene, viewProj mgl32.Mat4, o passOptions) {
	items := r.drawItems(s, o.full)
	cam := s.Camera
	for _, p := range r.scenePrograms() {
		if p == nil {
			continue
		}
		gl.UseProgram(p.id)
		gl.UniformMatrix4fv(p.viewProj, 1, false, &viewProj[0])
		gl.Uniform3fv(p.camera, 1, &cam.Eye[0])
		gl.Uniform3fv(p.ambient, 1, &s.Ambient[0])
		if p != r.unlitP {
			r.setLights(p, s.Lights)
		}
	}
	gl.ActiveTexture(gl.TEXTURE0)

	var current *sceneProgram
	for _, it := range items {
		d, g, m := it.draw, it.gpu, it.draw.Material
		var tex uint32
		cachedTex := true
		if m.BaseColorTexture != nil && g.hasUVs && !m.BaseColorTexture.Bounds().Empty() {
			tex, cachedTex = r.cache.texture(&r.objs, m.BaseColorTexture, r.frames)
		}
		p := r.litP
		switch {
		case m.Unlit:
			p = r.unlitP
		case o.pbr || r.fastP == nil || !g.hasNormals:
			// Flat normals need per-pixel derivatives: pbr.frag has them.
		case tex != 0:
			p = r.fastTexP
		default:
			p = r.fastP
		}
		if p != current {
			gl.UseProgram(p.id)
			current = p
		}
		normal := d.World.Mat3().Inv().Transpose()
		gl.UniformMatrix4fv(p.model, 1, false, &d.World[0])
		gl.UniformMatrix3fv(p.normalMatrix, 1, false, &normal[0])
		gl.Uniform4fv(p.baseColor, 1, &d.BaseColor[0])
		gl.Uniform1f(p.metallic, m.Metallic)
		gl.Uniform1f(p.roughness, m.Roughness)
		gl.Uniform3fv(p.emit, 1, &m.Emissive[0])
		gl.Uniform1i(p.hasNormals, boolInt32(g.hasNormals))
		gl.Uniform1i(p.doubleSided, boolInt32(m.DoubleSided))
		if m.DoubleSided {
			gl.Disable(gl.CULL_FACE)
		} else {
			gl.Enable(gl.CULL_FACE)
		}
		// A mirroring transform (negative determinant) turns counter-clockwise triangles
		// clockwise; glTF asks renderers to flip the front face for it.
		if d.World.Mat3().Det() < 0 {
			gl.FrontFace(gl.CW)
		} else {
			gl.FrontFace(gl.CCW)
		}
		gl.Uniform1i(p.hasTexture, boolInt32(tex != 0))
		gl.BindTexture(gl.TEXTURE_2D, tex)
		gl.BindVertexArray(g.vao)
		gl.DrawElementsWithOffset(gl.TRIANGLES, g.count, gl.UNSIGNED_INT, 0)
		if !cachedTex {
			r.objs.deleteTextures(&tex)
		}
	}
	gl.BindVertexArray(0)
	gl.BindTexture(gl.TEXTURE_2D, 0)
	gl.UseProgram(0)
}

// drawItem is one primitive to draw and its uploaded geometry.
type drawItem struct {
	draw scenes.Draw
	gpu  *gpuPrimitive
}

// drawItems resolves the scene's draws (at full detail with full) to uploaded geometry, in
// scene order. (Drawing small objects before big ones, for the early depth test, was
// measured on llvmpipe with the demo scene and gained nothing.)
func (r *Renderer) drawItems(s *scenes.Scene, full bool) []drawItem {
	draws := s.Draws()
	if full {
		draws = s.FullDetailDraws()
	}
	items := make([]drawItem, 0, len(draws))
	for _, d := range draws {
		if !finiteMat4(d.World) {
			continue
		}
		if _, bad := r.cache.bad[d.Primitive]; bad {
			continue
		}
		g, err := r.cache.primitive(&r.objs, d.Mesh, d.Primitive, r.frames)
		if err != nil {
			r.cache.markBad(d.Primitive, err)
			r.log.Warn("render: primitive skipped", "scene", s.Name, "err", err)
			continue
		}
		if g.count == 0 {
			continue
		}
		if d.Material == nil {
			d.Material = &scenes.DefaultMaterial
		}
		items = append(items, drawItem{draw: d, gpu: g})
	}
	return items
}

// setLights loads up to scenes.MaxLights lights into the lit scene program p, which must be
// in use; lights with non-finite values or no direction are skipped. Directional lights are
// passed as the unit vector toward the light with w = 0, point lights as their position with
// w = 1.
func (r *Renderer) setLights(p *sceneProgram, lights []scenes.Light) {
	var colors [scenes.MaxLights]mgl32.Vec3
	var vectors [scenes.MaxLights]mgl32.Vec4
	n := 0
	for _, l := range lights {
		if n == scenes.MaxLights {
			break
		}
		var vec mgl32.Vec4
		switch l.Type {
		case scenes.Point:
			vec = l.Position.Vec4(1)
		default:
			if l.Direction.Len() == 0 {
				continue
			}
			vec = l.Direction.Normalize().Mul(-1).Vec4(0)
		}
		c := l.Color.Mul(l.Intensity)
		if !finiteVec3(c) || !finiteVec3(vec.Vec3()) {
			continue
		}
		colors[n], vectors[n] = c, vec
		n++
	}
	gl.Uniform1i(p.lightCount, int32(n))
	gl.Uniform3fv(p.lightColor, scenes.MaxLights, &colors[0][0])
	gl.Uniform4fv(p.lightVector, scenes.MaxLights, &vectors[0][0])
}

func boolInt32(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// level rounds a 0..1 channel to the nearest of the 256 UNORM8 levels (NaN gives 0).
func level(f float32) float32 {
	if !(f > 0) {
		return 0
	}
	return float32(math.Round(float64(min(f, 1))*255)) / 255
}

func finite(f float32) bool { return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) }

func finiteVec3(v mgl32.Vec3) bool { return finite(v[0]) && finite(v[1]) && finite(v[2]) }

func finiteMat4(m mgl32.Mat4) bool {
	for _, f := range m {
		if !finite(f) {
			return false
		}
	}
	return true
}
