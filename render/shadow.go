package render

import (
	"encoding/binary"
	"hash/fnv"
	"math"
	"reflect"
	"unsafe"

	"github.com/go-gl/gl/v3.3-core/gl"
	"github.com/go-gl/mathgl/mgl32"

	"github.com/rendercast/rendercast/scenes"
)

// Shadows selects when the key light casts shadows.
//
// The key light is the scene's first directional light (of the first scenes.MaxLights
// usable lights, the ones the shaders receive), or, when it has none, the strongest point
// or spot light (intensity times its colour's largest channel): a directional light is
// what a sun or a studio key is, and the first one is the one the scene lists as its
// main light. It casts through a shadow map: a depth pass from the light fitted to the
// bounds of the scene (orthographic for a directional light; perspective along a spot
// light's cone, or toward the scene's centre for a point light, covering the scene or,
// from inside it, 80 degrees around that direction), 2048 texels square on GPUs and 1024
// on software rasterisers, sampled with percentage-closer filtering over 3x3 texels (four
// taps of a comparison sampler with linear filtering, each blending 2x2 depth
// comparisons: a tent filter), with a slope-scaled depth bias in the depth pass and a
// normal offset of about a texel where the map is read. Opaque and alpha-tested
// primitives cast (alpha-tested ones cut as the scene pass cuts them: base colour, vertex
// and texture alpha against the cutoff); blended and transmissive ones do not. Every lit
// material receives.
//
// Shadows are part of pbr.frag (its SHADOWS variants, built on the first frame with
// shadows). The fast shading (ShadingFast) has none: a frame that has shadows is drawn
// with PBR shading. Frames without shadows cost what they did before shadows existed.
//
// Shadow maps are kept per context (Renderer, or each context of a Pool) and shared by
// every view that draws the same scene state: a map is re-rendered only when what it
// depends on changes (the key light, or a casting primitive, its geometry or its world
// transform), never because only the camera moved. A context keeps one map per scene (a
// scene and its clones are one), the last state drawn, up to four scenes (16 MiB of depth
// texture on software rasterisers, 64 MiB on GPUs); one not used for 600 frames is freed,
// and ReleaseCache frees them all.
type Shadows string

// Shadow modes.
const (
	// ShadowsAuto draws shadows on GPUs; on software rasterisers only in refined frames
	// (Quality.Refined), whose PBR pass costs the most already, and not in interactive
	// ones, which stay as cheap as without shadows.
	ShadowsAuto Shadows = ""
	// ShadowsOn draws shadows in every frame (on software rasterisers interactive frames
	// are then PBR-shaded: several times the fast shading's cost).
	ShadowsOn Shadows = "on"
	// ShadowsOff draws no shadows.
	ShadowsOff Shadows = "off"
)

// Shadow map sizes (texels per side).
const (
	shadowMapGPU      = 2048
	shadowMapSoftware = 1024
	// shadowMapsKept is the number of shadow maps a context keeps: one per scene (clones
	// of a scene are one scene), up to this many.
	shadowMapsKept = 4
)

// shadowUnit is the texture unit of the shadow map (after the material's slots).
const shadowUnit = texSlots

// checkShadows reports whether sh is a Shadows value.
func checkShadows(sh Shadows) bool {
	return sh == ShadowsAuto || sh == ShadowsOn || sh == ShadowsOff
}

// shadowsFor reports whether a frame draws shadows: refined tells a refined frame, q is the
// frame's own choice (Quality.Shadows; ShadowsAuto follows the renderer's Config.Shadows).
func (r *Renderer) shadowsFor(refined bool, q Shadows) bool {
	sh := q
	if sh == ShadowsAuto {
		sh = r.cfg.Shadows
	}
	switch sh {
	case ShadowsOn:
		return true
	case ShadowsOff:
		return false
	}
	return refined || !r.info.Software
}

// shadowLocs are a scene program's shadow uniforms (-1 where the program has none).
type shadowLocs struct {
	light, matrix, texel int32
}

// shadowUniforms finds program id's shadow uniforms and points its shadow sampler at
// shadowUnit; the program must be in use.
func shadowUniforms(id uint32) shadowLocs {
	gl.Uniform1i(uniform(id, "uShadowMap"), shadowUnit)
	l := shadowLocs{light: uniform(id, "uShadowLight"), matrix: uniform(id, "uShadowMatrix"), texel: uniform(id, "uShadowTexel")}
	gl.Uniform1i(l.light, -1)
	return l
}

// shadowMap is one rendered shadow map.
type shadowMap struct {
	key uint64
	// scene identifies the scene the map was drawn for (its meshes, which clones share):
	// a new state of the same scene replaces it.
	scene    uintptr
	fbo, tex uint32
	size     int
	// slot is the key light's index in the lit programs' light arrays; -1 when the map
	// holds nothing (no key light, or one that casts none).
	slot int32
	// matrix maps world positions to the map: xy in 0..1, z the depth in 0..1 (after the
	// division by w for perspective maps).
	matrix mgl32.Mat4
	// texel is x: one texel in texture coordinates; y: one texel's world size at distance
	// 1 (perspective) or anywhere (orthographic, where w is 1).
	texel    mgl32.Vec2
	lastUsed uint64
}

// shadowCache holds the context's shadow maps, the depth program and the scene programs'
// SHADOWS variants (GL goroutine).
type shadowCache struct {
	maps []*shadowMap
	prog uint32
	// viewProj and model are the depth program's uniforms; progErr is why the programs
	// could not be built.
	viewProj, model int32
	progErr         error
	// mask is the depth program's ALPHA_MASK variant, for alpha-tested casters.
	mask struct {
		id                                    uint32
		viewProj, model, texSet, texTransform int32
		baseAlpha, cutoff, hasTexture         int32
	}
	// variants maps the lit PBR programs (litP, litMapsP, litMaskP) to their SHADOWS
	// variants, which frames with shadows draw with: the lookup costs every pixel on
	// software rasterisers, even behind a branch not taken.
	variants map[*sceneProgram]*sceneProgram
	// rendered counts depth passes (tests and benchmarks read it on the GL goroutine).
	rendered uint64
	// allocFailed is set while shadow maps cannot be allocated (warned once).
	allocFailed bool
}

// usableLight reports whether setLights passes l to the shaders (its checks, in its terms).
func usableLight(l scenes.Light) bool {
	switch l.Type {
	case scenes.Point:
		if !finiteVec3(l.Position) {
			return false
		}
	case scenes.Spot:
		if l.Direction.Len() == 0 || !finiteVec3(l.Direction) || !finiteVec3(l.Position) {
			return false
		}
	default:
		if l.Direction.Len() == 0 || !finiteVec3(l.Direction.Normalize()) {
			return false
		}
	}
	return finiteVec3(l.Color.Mul(l.Intensity))
}

// keyLight picks the light that casts shadows (see Shadows) and its slot in the shaders'
// light arrays, in setLights's order (the lights that are not spot lights first, then the
// spot lights, the first scenes.MaxLights usable ones); ok is false when there is none.
func keyLight(lights []scenes.Light) (l scenes.Light, slot int, ok bool) {
	var slots []scenes.Light
	for _, spot := range []bool{false, true} {
		for _, l := range lights {
			if (l.Type == scenes.Spot) == spot && usableLight(l) && len(slots) < scenes.MaxLights {
				slots = append(slots, l)
			}
		}
	}
	best, bestPower := -1, float32(0)
	for i, l := range slots {
		if l.Type == scenes.Directional {
			return l, i, true
		}
		p := l.Intensity * max(l.Color[0], l.Color[1], l.Color[2])
		if p > bestPower {
			best, bestPower = i, p
		}
	}
	if best < 0 {
		return scenes.Light{}, 0, false
	}
	return slots[best], best, true
}

// casts reports whether a primitive of material m casts shadows.
func casts(m *scenes.Material) bool {
	return m.AlphaMode != scenes.AlphaBlend && !(m.Transmission > 0)
}

// shadowKey hashes what a shadow map depends on: the key light, its slot, the map size
// and each casting draw's primitive, geometry and world transform.
func shadowKey(l scenes.Light, slot, size int, items []drawItem) uint64 {
	h := fnv.New64a()
	var buf [8]byte
	word := func(v uint64) {
		binary.LittleEndian.PutUint64(buf[:], v)
		h.Write(buf[:])
	}
	f := func(vs ...float32) {
		for _, v := range vs {
			word(uint64(math.Float32bits(v)))
		}
	}
	word(uint64(l.Type))
	word(uint64(slot))
	word(uint64(size))
	f(l.Position[:]...)
	f(l.Direction[:]...)
	f(l.InnerCone, l.OuterCone)
	for _, it := range items {
		if !casts(it.draw.Material) {
			continue
		}
		p, m := it.draw.Primitive, it.draw.Material
		if m.AlphaMode == scenes.AlphaMask {
			// What the cut depends on (the image, shared by clones; not the material,
			// which each clone copies).
			f(m.AlphaCutoff, it.draw.BaseColor[3])
			if v := reflect.ValueOf(m.BaseColorTexture); v.Kind() == reflect.Pointer {
				word(uint64(v.Pointer()))
			}
			t := m.BaseColorInfo.Transform.Matrix()
			f(t[:]...)
			word(uint64(m.BaseColorInfo.TexCoord))
		}
		word(uint64(uintptr(unsafe.Pointer(p))))
		word(uint64(uintptr(unsafe.Pointer(unsafe.SliceData(p.Positions)))))
		word(uint64(len(p.Positions)))
		word(uint64(uintptr(unsafe.Pointer(it.gpu))))
		f(it.draw.World[:]...)
	}
	return h.Sum64()
}

// shadowFor returns the shadow map for s's current state, rendering it when the context
// has none (GL goroutine); nil when the scene has no key light, or it casts no shadow.
func (r *Renderer) shadowFor(s *scenes.Scene, full bool) *shadowMap {
	c := &r.shadows
	l, slot, ok := keyLight(s.Lights)
	if !ok || !r.buildShadowProgram() {
		return nil
	}
	size := shadowMapGPU
	if r.info.Software {
		size = shadowMapSoftware
	}
	items := r.drawItems(s, full)
	key := shadowKey(l, slot, size, items)
	for _, m := range c.maps {
		if m.key == key {
			m.lastUsed = r.frames
			return m.result()
		}
	}
	// A new state: it replaces the same scene's map (an animated scene holds one), else
	// takes a new one, else the least recently used.
	scene := uintptr(unsafe.Pointer(unsafe.SliceData(s.Meshes)))
	var m *shadowMap
	for _, o := range c.maps {
		if o.scene == scene {
			m = o
		}
	}
	switch {
	case m != nil:
	case len(c.maps) < shadowMapsKept:
		m = &shadowMap{}
		c.maps = append(c.maps, m)
	default:
		m = c.maps[0]
		for _, o := range c.maps[1:] {
			if o.lastUsed < m.lastUsed {
				m = o
			}
		}
	}
	m.scene = scene
	m.slot = -1
	if err := m.ensure(&r.objs, size); err != nil {
		if !c.allocFailed { // once per failing spell, not every frame
			r.log.Warn("render: shadow map unavailable; drawing without shadows", "err", err)
		}
		c.allocFailed = true
		return nil
	}
	c.allocFailed = false
	m.key, m.lastUsed = key, r.frames
	bounds := scenes.EmptyBounds()
	for _, it := range items {
		bounds.Union(it.draw.Primitive.Bounds().Transform(it.draw.World))
	}
	viewProj, texel, ok := lightProjection(l, bounds, size)
	// Clear the map even when nothing casts: stale depths must not shadow the scene.
	gl.BindFramebuffer(gl.FRAMEBUFFER, m.fbo)
	gl.Viewport(0, 0, int32(size), int32(size))
	gl.Disable(gl.SCISSOR_TEST)
	gl.DepthMask(true)
	gl.ClearDepth(1)
	gl.Clear(gl.DEPTH_BUFFER_BIT)
	c.rendered++
	if ok {
		r.drawDepth(viewProj, items)
		// Depth -1..1 and xy -1..1 to 0..1.
		bias := mgl32.Translate3D(0.5, 0.5, 0.5).Mul4(mgl32.Scale3D(0.5, 0.5, 0.5))
		m.matrix, m.texel, m.slot = bias.Mul4(viewProj), texel, int32(slot)
	}
	gl.BindFramebuffer(gl.FRAMEBUFFER, 0)
	return m.result()
}

// result is m when it holds a shadow, else nil.
func (m *shadowMap) result() *shadowMap {
	if m.slot < 0 {
		return nil
	}
	return m
}

// drawDepth draws the casting items' depth into the bound framebuffer (GL goroutine):
// opaque ones, then alpha-tested ones with the ALPHA_MASK program, which cuts them as the
// scene pass does.
func (r *Renderer) drawDepth(viewProj mgl32.Mat4, items []drawItem) {
	c := &r.shadows
	gl.Enable(gl.DEPTH_TEST)
	gl.DepthFunc(gl.LESS)
	// Both faces cast: open and double-sided meshes have no back to cast with.
	gl.Disable(gl.CULL_FACE)
	gl.Disable(gl.BLEND)
	// The slope-scaled bias: depth pushed away from the light by a texel's depth slope
	// (factor) and a few depth units.
	gl.Enable(gl.POLYGON_OFFSET_FILL)
	gl.PolygonOffset(2, 4)
	gl.UseProgram(c.prog)
	gl.UniformMatrix4fv(c.viewProj, 1, false, &viewProj[0])
	var masked []drawItem
	for _, it := range items {
		switch m := it.draw.Material; {
		case !casts(m):
		case m.AlphaMode == scenes.AlphaMask:
			masked = append(masked, it)
		default:
			gl.UniformMatrix4fv(c.model, 1, false, &it.draw.World[0])
			gl.BindVertexArray(it.gpu.vao)
			gl.DrawElementsWithOffset(gl.TRIANGLES, it.gpu.count, gl.UNSIGNED_INT, 0)
		}
	}
	if len(masked) > 0 {
		mp := &c.mask
		gl.UseProgram(mp.id)
		gl.UniformMatrix4fv(mp.viewProj, 1, false, &viewProj[0])
		// What primitives without the optional attributes read (as in drawScene).
		gl.VertexAttrib2f(attribUV1, 0, 0)
		gl.VertexAttrib4f(attribColor, 1, 1, 1, 1)
		gl.ActiveTexture(gl.TEXTURE0)
		for _, it := range masked {
			d, g, m := it.draw, it.gpu, it.draw.Material
			var tex uint32
			uncached := false
			info := m.BaseColorInfo
			if img := m.BaseColorTexture; img != nil && !img.Bounds().Empty() && ((info.TexCoord == 1 && g.hasUVs1) || (info.TexCoord != 1 && g.hasUVs)) {
				var cached bool
				tex, cached = r.cache.texture(&r.objs, img, true, info.Sampler, r.maxTexture, r.frames)
				uncached = tex != 0 && !cached
			}
			transform := info.Transform.Matrix()
			gl.UniformMatrix4fv(mp.model, 1, false, &d.World[0])
			gl.Uniform1i(mp.texSet, int32(info.TexCoord))
			gl.UniformMatrix3fv(mp.texTransform, 1, false, &transform[0])
			gl.Uniform1f(mp.baseAlpha, d.BaseColor[3])
			gl.Uniform1f(mp.cutoff, m.AlphaCutoff)
			gl.Uniform1i(mp.hasTexture, boolInt32(tex != 0))
			gl.BindTexture(gl.TEXTURE_2D, tex)
			gl.BindVertexArray(g.vao)
			gl.DrawElementsWithOffset(gl.TRIANGLES, g.count, gl.UNSIGNED_INT, 0)
			if uncached {
				r.objs.deleteTextures(&tex)
			}
		}
		gl.BindTexture(gl.TEXTURE_2D, 0)
	}
	gl.BindVertexArray(0)
	gl.Disable(gl.POLYGON_OFFSET_FILL)
	gl.UseProgram(0)
}

// maxShadowCone is the widest half-angle a perspective shadow map covers (80 degrees):
// spot cones wider than that cast shadows within it only.
const maxShadowCone = 80 * math.Pi / 180

// lightProjection fits l's view and projection around bounds (world space): texel is as
// in shadowMap. ok is false when the light casts no shadow on them (empty or non-finite
// bounds, a spot light facing away). A directional light's view is orthographic, fitted
// to the bounds; a spot light's a perspective along its cone; a point light's a
// perspective toward the bounds' centre, covering them when the light is outside their
// bounding sphere, else covering maxShadowCone around that direction (straight down when
// the light is at the centre): a point light inside the scene casts shadows within that
// cone alone.
func lightProjection(l scenes.Light, b scenes.Bounds, size int) (viewProj mgl32.Mat4, texel mgl32.Vec2, ok bool) {
	if b.Empty() || !finiteVec3(b.Min) || !finiteVec3(b.Max) {
		return mgl32.Mat4{}, texel, false
	}
	centre, radius := b.Center(), max(b.Radius(), 1e-3)
	texel[0] = 1 / float32(size)
	var dir, eye mgl32.Vec3
	half := maxShadowCone // perspective maps: the half-angle covered
	switch l.Type {
	case scenes.Directional:
		dir = l.Direction.Normalize()
		eye = centre.Sub(dir.Mul(2 * radius))
	case scenes.Spot:
		dir, eye = l.Direction.Normalize(), l.Position
		half = float64(l.OuterCone)
	default:
		eye = l.Position
		to := centre.Sub(eye)
		switch d := to.Len(); {
		case d > radius*1.05:
			dir = to.Normalize()
			half = math.Asin(float64(radius / d))
		case d > 1e-6:
			dir = to.Normalize()
		default:
			dir = mgl32.Vec3{0, -1, 0}
		}
	}
	up := mgl32.Vec3{0, 1, 0}
	if math.Abs(float64(dir.Dot(up))) > 0.99 {
		up = mgl32.Vec3{0, 0, 1}
	}
	view := mgl32.LookAtV(eye, eye.Add(dir), up)
	lo := mgl32.Vec3{float32(math.Inf(1)), float32(math.Inf(1)), float32(math.Inf(1))}
	hi := lo.Mul(-1)
	for _, p := range b.Corners() {
		v := view.Mul4x1(p.Vec4(1)).Vec3()
		for i := range 3 {
			lo[i], hi[i] = min(lo[i], v[i]), max(hi[i], v[i])
		}
	}
	// The view looks down -z: depth along the light is -z.
	near, far := -hi[2], -lo[2]
	var proj mgl32.Mat4
	if l.Type == scenes.Directional {
		pad := 0.02 * radius
		proj = mgl32.Ortho(lo[0]-pad, hi[0]+pad, lo[1]-pad, hi[1]+pad, near-pad, far+pad)
		texel[1] = max(hi[0]-lo[0], hi[1]-lo[1]) / float32(size)
	} else {
		if far <= 0 {
			return mgl32.Mat4{}, texel, false
		}
		near = max(near*0.95, far*1e-3, 1e-3)
		half = min(max(half, 1e-2), maxShadowCone)
		proj = mgl32.Perspective(float32(2*half), 1, near, far*1.02)
		texel[1] = float32(2*math.Tan(half)) / float32(size)
	}
	viewProj = proj.Mul4(view)
	return viewProj, texel, finiteMat4(viewProj)
}

// ensure allocates m's depth texture and framebuffer at size x size unless it has them.
func (m *shadowMap) ensure(o *glObjects, size int) error {
	if m.fbo != 0 && m.size == size {
		return nil
	}
	m.free(o)
	m.size = size
	m.tex = o.genTexture()
	gl.BindTexture(gl.TEXTURE_2D, m.tex)
	gl.TexImage2D(gl.TEXTURE_2D, 0, gl.DEPTH_COMPONENT24, int32(size), int32(size), 0, gl.DEPTH_COMPONENT, gl.UNSIGNED_INT, nil)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_BORDER)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_BORDER)
	border := [4]float32{1, 1, 1, 1} // beyond the map: lit
	gl.TexParameterfv(gl.TEXTURE_2D, gl.TEXTURE_BORDER_COLOR, &border[0])
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_COMPARE_MODE, gl.COMPARE_REF_TO_TEXTURE)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_COMPARE_FUNC, gl.LEQUAL)
	gl.BindTexture(gl.TEXTURE_2D, 0)
	m.fbo = o.genFramebuffer()
	gl.BindFramebuffer(gl.FRAMEBUFFER, m.fbo)
	gl.FramebufferTexture2D(gl.FRAMEBUFFER, gl.DEPTH_ATTACHMENT, gl.TEXTURE_2D, m.tex, 0)
	gl.DrawBuffer(gl.NONE)
	gl.ReadBuffer(gl.NONE)
	err := checkFramebuffer("shadow map")
	gl.BindFramebuffer(gl.FRAMEBUFFER, 0)
	if err == nil {
		err = glErrors()
	}
	if err != nil {
		m.free(o)
	}
	return err
}

func (m *shadowMap) free(o *glObjects) {
	o.deleteFramebuffers(&m.fbo)
	o.deleteTextures(&m.tex)
	m.size, m.key = 0, 0
}

// buildShadowProgram builds the depth pass's program and the SHADOWS variants once (GL
// goroutine); it reports whether they are there. A failure is logged once; frames then
// draw without shadows.
func (r *Renderer) buildShadowProgram() bool {
	c := &r.shadows
	if c.prog != 0 {
		return true
	}
	if c.progErr != nil {
		return false
	}
	fail := func(err error) bool {
		for _, p := range c.variants {
			r.objs.deleteProgram(&p.id)
		}
		c.variants = nil
		c.progErr = err
		r.log.Warn("render: no shadows: a shader failed", "err", err)
		return false
	}
	variants := map[*sceneProgram]*sceneProgram{}
	c.variants = variants
	for _, v := range []struct {
		p       *sceneProgram
		defines []string
	}{
		{r.litP, nil}, {r.litMapsP, []string{"MATERIAL_MAPS"}}, {r.litMaskP, []string{"MATERIAL_MAPS", "ALPHA_MASK"}},
	} {
		sp, err := newSceneProgram(r, sceneVert, pbrFrag, append(v.defines, "SHADOWS")...)
		if err != nil {
			return fail(err)
		}
		variants[v.p] = sp
	}
	mask, err := buildProgram(&r.objs, r.cfg.Shaders, shadowVert, shadowFrag, "ALPHA_MASK")
	if err != nil {
		return fail(err)
	}
	id, err := buildProgram(&r.objs, r.cfg.Shaders, shadowVert, shadowFrag)
	if err != nil {
		r.objs.deleteProgram(&mask)
		return fail(err)
	}
	c.prog, c.viewProj, c.model = id, uniform(id, "uViewProj"), uniform(id, "uModel")
	m := &c.mask
	m.id, m.viewProj, m.model = mask, uniform(mask, "uViewProj"), uniform(mask, "uModel")
	m.texSet, m.texTransform = uniform(mask, "uTexSet"), uniform(mask, "uTexTransform")
	m.baseAlpha, m.cutoff, m.hasTexture = uniform(mask, "uBaseAlpha"), uniform(mask, "uAlphaCutoff"), uniform(mask, "uHasTexture")
	gl.UseProgram(mask)
	gl.Uniform1i(uniform(mask, "uBaseColorTex"), 0)
	gl.UseProgram(0)
	return true
}

// setShadow loads m (nil: no shadows) into the lit scene program p, which must be in use.
func (p *sceneProgram) setShadow(m *shadowMap) {
	if m == nil {
		gl.Uniform1i(p.shadow.light, -1)
		return
	}
	gl.Uniform1i(p.shadow.light, m.slot)
	gl.UniformMatrix4fv(p.shadow.matrix, 1, false, &m.matrix[0])
	gl.Uniform2fv(p.shadow.texel, 1, &m.texel[0])
}

// bindShadow binds m's depth texture (0 for nil) to shadowUnit.
func bindShadow(m *shadowMap) {
	var tex uint32
	if m != nil {
		tex = m.tex
	}
	gl.ActiveTexture(gl.TEXTURE0 + shadowUnit)
	gl.BindTexture(gl.TEXTURE_2D, tex)
	gl.ActiveTexture(gl.TEXTURE0)
}

// sweep frees shadow maps no frame used in the last cacheIdleFrames frames.
func (c *shadowCache) sweep(o *glObjects, frame uint64) {
	if frame%sweepEvery != 0 || frame < cacheIdleFrames {
		return
	}
	kept := c.maps[:0]
	for _, m := range c.maps {
		if frame-m.lastUsed > cacheIdleFrames {
			m.free(o)
			continue
		}
		kept = append(kept, m)
	}
	clear(c.maps[len(kept):])
	c.maps = kept
}

// release frees every shadow map; with programs, the depth program too (the SHADOWS
// variants are among Renderer.scenePrograms, freed with them).
func (c *shadowCache) release(o *glObjects, programs bool) {
	for _, m := range c.maps {
		m.free(o)
	}
	c.maps = nil
	if programs && c.prog != 0 {
		o.deleteProgram(&c.prog)
		o.deleteProgram(&c.mask.id)
	}
}
