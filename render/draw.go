package render

import (
	"cmp"
	"image"
	"math"
	"slices"
	"time"

	"github.com/go-gl/gl/v3.3-core/gl"
	"github.com/go-gl/mathgl/mgl32"

	"github.com/rendercast/rendercast/scenes"
)

// draw renders s into the view's colour texture (GL goroutine): today's interactive frame,
// at the view's size with the renderer's shading and sample count; sh is the frame's
// Quality.Shadows.
func (v *View) draw(s *scenes.Scene, sh Shadows) error {
	start := time.Now()
	v.r.frames++
	target := v.fbo
	if v.msaaFBO != 0 {
		target = v.msaaFBO
	}
	v.scenePass(s, target, v.width, v.height, passOptions{timed: true, shadows: v.r.shadowsFor(false, sh)})
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
	// spots is set by drawScene when the scene has spot lights.
	spots bool
	// shadows asks for the key light's shadows; scenePass sets shadow to its map.
	shadows bool
	shadow  *shadowMap
}

// scenePass clears framebuffer fb, w x h pixels, to s's background and draws s into it
// (GL goroutine). The projection keeps the view's aspect ratio, whatever fb's size.
func (v *View) scenePass(s *scenes.Scene, fb uint32, w, h int, o passOptions) {
	r := v.r
	if o.shadows {
		// The depth pass first, into its own framebuffer; the fast shading has no
		// shadows, so a frame with them is PBR-shaded.
		if o.shadow = r.shadowFor(s, o.full); o.shadow != nil {
			o.pbr = true
		}
	}
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
		r.drawEnvironmentBackground(s, viewProj)
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
	r.shadows.sweep(&r.objs, r.frames)

	v.lastDraw = time.Since(start)
	v.setStats(func(st *FrameStats) {
		st.Drawn = v.drawn
		st.Draw = v.lastDraw
	})
}

// drawScene issues the scene pass into the bound framebuffer (GL goroutine). Primitives the
// GPU cannot take are skipped and logged once each; the rest of the frame still draws.
// Opaque and alpha-tested primitives draw first, in scene order; blended ones (alpha BLEND
// or transmission) then draw farthest first (by their bounding box centre's distance from
// the eye), blended over what is drawn (premultiplied colour) without writing depth.
func (r *Renderer) drawScene(s *scenes.Scene, viewProj mgl32.Mat4, o passOptions) {
	items := r.drawItems(s, o.full)
	cam := s.Camera
	// Spot cones are in pbr.frag's MATERIAL_MAPS variant and gouraud's SPOT_LIGHTS one only.
	o.spots = slices.ContainsFunc(s.Lights, func(l scenes.Light) bool { return l.Type == scenes.Spot })
	if o.spots && !o.pbr {
		r.buildFastSpot()
	}
	r.useEnvironment(s) // before the loop: it may build programs the loop sets up
	defer r.unbindEnvironment(s)
	for _, p := range r.scenePrograms() {
		if p == nil {
			continue
		}
		gl.UseProgram(p.id)
		gl.UniformMatrix4fv(p.viewProj, 1, false, &viewProj[0])
		gl.Uniform3fv(p.camera, 1, &cam.Eye[0])
		gl.Uniform3fv(p.ambient, 1, &s.Ambient[0])
		if p != r.unlitP && p != r.unlitMapsP && p != r.unlitMaskP {
			r.setLights(p, s.Lights)
			p.setShadow(o.shadow)
		}
	}
	bindShadow(o.shadow)
	// What primitives without the optional attributes read (scene.vert).
	gl.VertexAttrib2f(attribUV1, 0, 0)
	gl.VertexAttrib4f(attribTangent, 1, 0, 0, 1)
	gl.VertexAttrib4f(attribColor, 1, 1, 1, 1)

	var blended []drawItem
	var current *sceneProgram
	for _, it := range items {
		if m := it.draw.Material; m.AlphaMode == scenes.AlphaBlend || m.Transmission > 0 {
			blended = append(blended, it)
			continue
		}
		current = r.drawOne(s, it, o, current)
	}
	if len(blended) > 0 {
		// Farthest first, by the distance of each primitive's bounding box centre.
		dist := make([]float32, len(blended))
		order := make([]int, len(blended))
		for i, it := range blended {
			c := it.draw.World.Mul4x1(it.gpu.centre.Vec4(1)).Vec3()
			dist[i], order[i] = c.Sub(cam.Eye).Len(), i
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(dist[b], dist[a]) })
		gl.Enable(gl.BLEND)
		gl.BlendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA)
		gl.DepthMask(false)
		for _, i := range order {
			current = r.drawOne(s, blended[i], o, current)
		}
		gl.DepthMask(true)
		gl.Disable(gl.BLEND)
	}
	gl.BindVertexArray(0)
	for unit := texSlots - 1; unit >= 0; unit-- {
		gl.ActiveTexture(gl.TEXTURE0 + uint32(unit))
		gl.BindTexture(gl.TEXTURE_2D, 0)
	}
	bindShadow(nil)
	gl.UseProgram(0)
}

// drawOne draws one primitive with the program its material and the shading ask for
// (GL goroutine); current is the program in use, the one in use afterwards is returned.
func (r *Renderer) drawOne(s *scenes.Scene, it drawItem, o passOptions, current *sceneProgram) *sceneProgram {
	d, g, m := it.draw, it.gpu, it.draw.Material
	var uncached []uint32
	var slots [texSlots]uint32
	var infos [texSlots]scenes.TextureInfo
	// use uploads (or finds) a texture for a slot if the primitive has its coordinates.
	use := func(slot int, img image.Image, info scenes.TextureInfo, srgb bool) {
		if img == nil || img.Bounds().Empty() {
			return
		}
		if (info.TexCoord == 1 && !g.hasUVs1) || (info.TexCoord != 1 && !g.hasUVs) {
			return
		}
		_, wasBig := r.cache.tooBig[img]
		id, cached := r.cache.texture(&r.objs, img, srgb, info.Sampler, r.maxTexture, r.frames)
		if id == 0 {
			if !wasBig {
				r.log.Warn("render: texture larger than the GPU takes; drawn without it", "scene", s.Name,
					"material", m.Name, "size", img.Bounds().Size(), "max", r.maxTexture)
			}
			return
		}
		if !cached {
			uncached = append(uncached, id)
		}
		slots[slot], infos[slot] = id, info
	}
	use(texBase, m.BaseColorTexture, m.BaseColorInfo, true)

	mask := m.AlphaMode == scenes.AlphaMask
	p := r.litP
	switch {
	case m.Unlit && mask:
		p = r.unlitMaskP
	case m.Unlit && m.BaseColorInfo.TexCoord == 1:
		p = r.unlitMapsP
	case m.Unlit:
		p = r.unlitP
	case o.pbr || r.fastP == nil || !g.hasNormals:
		// Flat normals need per-pixel derivatives: pbr.frag has them.
		switch {
		case mask:
			p = r.litMaskP
		case needsMaps(m) || o.spots:
			p = r.litMapsP
		}
	case slots[texBase] != 0 && mask:
		p = r.fastTexMaskP
	case slots[texBase] != 0:
		p = r.fastTexP
	case mask:
		p = r.fastMaskP
	default:
		p = r.fastP
	}
	fast := p == r.fastP || p == r.fastTexP || p == r.fastMaskP || p == r.fastTexMaskP
	if sp := r.fastSpot[p]; fast && o.spots && sp != nil {
		p = sp
	}
	maps := p == r.litMapsP || p == r.litMaskP
	if maps {
		// The other programs read the base colour texture alone.
		tex := func(slot int, t *scenes.Texture, srgb bool) {
			if t != nil {
				use(slot, t.Image, t.TextureInfo, srgb)
			}
		}
		tex(texMetalRough, m.MetallicRoughnessTexture, false)
		tex(texNormal, m.NormalTexture, false)
		tex(texOcclusion, m.OcclusionTexture, false)
		tex(texEmissive, m.EmissiveTexture, true)
		tex(texClearcoat, m.ClearcoatTexture, false)
		tex(texClearcoatRough, m.ClearcoatRoughnessTexture, false)
		tex(texTransmission, m.TransmissionTexture, false)
	}
	if sp := r.shadows.variants[p]; o.shadow != nil && sp != nil {
		p = sp
	}
	p = r.envProgram(s, p)
	if p != current {
		gl.UseProgram(p.id)
	}
	normal := d.World.Mat3().Inv().Transpose()
	gl.UniformMatrix4fv(p.model, 1, false, &d.World[0])
	gl.UniformMatrix3fv(p.normalMatrix, 1, false, &normal[0])
	base := d.BaseColor
	gl.Uniform4fv(p.baseColor, 1, &base[0])
	gl.Uniform1f(p.metallic, m.Metallic)
	gl.Uniform1f(p.roughness, m.Roughness)
	gl.Uniform3fv(p.emit, 1, &m.Emissive[0])
	gl.Uniform1i(p.hasNormals, boolInt32(g.hasNormals))
	gl.Uniform1i(p.doubleSided, boolInt32(m.DoubleSided))
	gl.Uniform1i(p.alphaMode, int32(m.AlphaMode))
	gl.Uniform1f(p.alphaCutoff, m.AlphaCutoff)
	gl.Uniform1f(p.transmitOpacity, 1-mgl32.Clamp(m.Transmission, 0, 1)*(1-mgl32.Clamp(m.Metallic, 0, 1)))
	gl.Uniform1i(p.hasTexture, boolInt32(slots[texBase] != 0))
	var has, sets [texSlots]int32
	var transforms [texSlots]mgl32.Mat3
	for i := range slots {
		has[i] = boolInt32(slots[i] != 0)
		sets[i] = int32(infos[i].TexCoord)
		transforms[i] = infos[i].Transform.Matrix()
	}
	n := int32(texSlots)
	if fast {
		n = 1
	}
	gl.Uniform1iv(p.texSet, n, &sets[0])
	gl.UniformMatrix3fv(p.texTransform, n, false, &transforms[0][0])
	if !fast {
		gl.Uniform1iv(p.hasTex, n, &has[0])
		gl.Uniform1i(p.hasTangents, boolInt32(g.hasTangents))
		gl.Uniform1f(p.normalScale, m.NormalScale)
		gl.Uniform1f(p.occlusionStrength, m.OcclusionStrength)
		f0, weight := dielectricF0(m)
		gl.Uniform3fv(p.dielectricF0, 1, &f0[0])
		gl.Uniform1f(p.specularWeight, weight)
		gl.Uniform1f(p.clearcoat, mgl32.Clamp(m.Clearcoat, 0, 1))
		gl.Uniform1f(p.clearcoatRoughness, mgl32.Clamp(m.ClearcoatRoughness, 0, 1))
		gl.Uniform1f(p.transmission, mgl32.Clamp(m.Transmission, 0, 1))
	}
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
	units := 1
	if maps {
		units = texSlots
	}
	for unit := units - 1; unit >= 0; unit-- {
		gl.ActiveTexture(gl.TEXTURE0 + uint32(unit))
		gl.BindTexture(gl.TEXTURE_2D, slots[unit])
	}
	gl.BindVertexArray(g.vao)
	gl.DrawElementsWithOffset(gl.TRIANGLES, g.count, gl.UNSIGNED_INT, 0)
	for i := range uncached {
		r.objs.deleteTextures(&uncached[i])
	}
	return p
}

// needsMaps reports whether m uses what only pbr.frag's MATERIAL_MAPS variant draws.
func needsMaps(m *scenes.Material) bool {
	return m.MetallicRoughnessTexture != nil || m.NormalTexture != nil || m.OcclusionTexture != nil ||
		m.EmissiveTexture != nil || m.Clearcoat > 0 || m.Transmission > 0 || m.BaseColorInfo.TexCoord == 1
}

// dielectricF0 returns the reflectance at normal incidence of m's dielectric part (from
// KHR_materials_ior and KHR_materials_specular; 0.04 for glTF's defaults) and the
// specular factor (the reflectance at grazing angles).
func dielectricF0(m *scenes.Material) (mgl32.Vec3, float32) {
	ior := m.IOR
	if !(ior >= 1) {
		ior = 1.5
	}
	r := (ior - 1) / (ior + 1)
	f := r * r
	f0 := mgl32.Vec3{f, f, f}
	weight := float32(1)
	if sp := m.Specular; sp != nil {
		weight = mgl32.Clamp(sp.Factor, 0, 1)
		for i := range 3 {
			f0[i] = min(f0[i]*max(sp.Color[i], 0), 1) * weight
		}
	}
	return f0, weight
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
// passed as the unit vector toward the light with w = 0, point and spot lights as their
// position with w = 1; spot lights add their direction and cone (the attenuation's scale
// and offset, KHR_lights_punctual), other lights a cone that never attenuates. Spot lights
// go after the others (uSpotStart says where they begin): pbr.frag applies cones to those
// alone.
func (r *Renderer) setLights(p *sceneProgram, lights []scenes.Light) {
	var colors, spotDirs [scenes.MaxLights]mgl32.Vec3
	var vectors [scenes.MaxLights]mgl32.Vec4
	var cones [scenes.MaxLights]mgl32.Vec2
	n := 0
	// The first scenes.MaxLights usable lights, in the scene's order, spot lights moved last.
	ordered := make([]scenes.Light, 0, len(lights))
	for _, l := range lights {
		if l.Type != scenes.Spot {
			ordered = append(ordered, l)
		}
	}
	spotStart := int32(-1)
	for _, l := range lights {
		if l.Type == scenes.Spot {
			ordered = append(ordered, l)
		}
	}
	for _, l := range ordered {
		if n == scenes.MaxLights {
			break
		}
		var vec mgl32.Vec4
		cone, dir := mgl32.Vec2{0, 1}, mgl32.Vec3{}
		switch l.Type {
		case scenes.Point:
			vec = l.Position.Vec4(1)
		case scenes.Spot:
			if l.Direction.Len() == 0 || !finiteVec3(l.Direction) {
				continue
			}
			vec = l.Position.Vec4(1)
			dir = l.Direction.Normalize()
			outer := float64(mgl32.Clamp(l.OuterCone, 1e-4, math.Pi/2))
			inner := min(float64(max(l.InnerCone, 0)), outer-1e-4)
			scale := 1 / max(1e-3, math.Cos(inner)-math.Cos(outer))
			cone = mgl32.Vec2{float32(scale), float32(-math.Cos(outer) * scale)}
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
		if l.Type == scenes.Spot && spotStart < 0 {
			spotStart = int32(n)
		}
		colors[n], vectors[n], spotDirs[n], cones[n] = c, vec, dir, cone
		n++
	}
	if spotStart < 0 {
		spotStart = int32(n)
	}
	gl.Uniform1i(p.lightCount, int32(n))
	gl.Uniform1i(p.spotStart, spotStart)
	gl.Uniform3fv(p.lightColor, scenes.MaxLights, &colors[0][0])
	gl.Uniform4fv(p.lightVector, scenes.MaxLights, &vectors[0][0])
	gl.Uniform3fv(p.lightSpotDir, scenes.MaxLights, &spotDirs[0][0])
	gl.Uniform2fv(p.lightCone, scenes.MaxLights, &cones[0][0])
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
