package render

import (
	"github.com/go-gl/gl/v3.3-core/gl"
	"github.com/go-gl/mathgl/mgl32"

	"github.com/rendercast/rendercast/scenes"
)

// Image-based light: each scenes.Environment a scene uses is prefiltered once per context
// on the GPU (shaders/envfilter.frag) into an irradiance panorama (diffuse) and a specular
// mip chain (GGX, one roughness per level); a BRDF table for the split sum is made once per
// context. pbr.frag samples them; the fast shading (gouraud.vert) reads the environment's 9
// spherical-harmonic coefficients alone, computed on the CPU when the environment is made,
// and so costs next to nothing per vertex (and no prefiltering for a scene it draws alone).
const (
	envIrradianceWidth = 32  // irradiance panorama: 32 x 16
	envSpecularWidth   = 256 // specular chain level 0: 256 x 128
	envLevels          = 6   // specular levels: roughness 0, 0.2, ..., 1
	envLUTSize         = 64  // BRDF table: 64 x 64
	envSumWidth        = 64  // the irradiance sum reads the source level nearest 64 wide
	envCacheMax        = 8   // prefiltered environments kept per context
	// envBackgroundLevel is the specular level the background shows (roughness 0.4).
	envBackgroundLevel = 2
)

// The environment's shader files (names in the shaders package).
const (
	envFilterFrag     = "envfilter.frag"
	envBackgroundFrag = "envbg.frag"
)

// Texture units of the environment's textures in the scene programs (after the material's
// and the shadow map's).
const (
	unitEnvIrradiance = shadowUnit + 1 + iota
	unitEnvSpecular
	unitEnvBRDF
)

// envState is what the renderer keeps for image-based light (GL goroutine).
type envState struct {
	cache map[*scenes.Environment]*gpuEnvironment
	lut   uint32
	// programs, built on first use; err is why they could not be (logged once; scenes
	// then draw with their ambient colour).
	irradianceP, specularP, lutP, backgroundP uint32
	built                                     bool
	err                                       error
	// variants maps each lit scene program (pbr.frag's and, with the fast shading,
	// gouraud's with their SPOT_LIGHTS variants) to its ENVIRONMENT variant, built on the
	// first frame of a scene with an environment (buildEnvVariants); variantErr is why they
	// could not be (logged once; scenes then draw with their ambient colour). Programs
	// without the define keep no trace of environments: scenes without one cost what they
	// did.
	variants   map[*sceneProgram]*envVariant
	variantErr error
}

// envVariant is a scene program built with ENVIRONMENT, its coefficients' location
// (gouraud.vert) and the environment whose coefficients it holds.
type envVariant struct {
	p   *sceneProgram
	sh  int32
	env *scenes.Environment
}

type gpuEnvironment struct {
	irradiance, specular uint32
	lastUsed             uint64
}

func (e *envState) release(objs *glObjects) {
	for k, g := range e.cache {
		objs.deleteTextures(&g.irradiance, &g.specular)
		delete(e.cache, k)
	}
	objs.deleteTextures(&e.lut)
	for _, p := range []*uint32{&e.irradianceP, &e.specularP, &e.lutP, &e.backgroundP} {
		if *p != 0 {
			objs.deleteProgram(p)
		}
	}
	for k, v := range e.variants {
		objs.deleteProgram(&v.p.id)
		delete(e.variants, k)
	}
	e.built = false
}

// buildEnvPrograms compiles the prefilter and background programs once.
func (r *Renderer) buildEnvPrograms() bool {
	e := &r.env
	if e.built || e.err != nil {
		return e.err == nil
	}
	for _, b := range []struct {
		dst     *uint32
		frag    string
		defines []string
	}{
		{&e.irradianceP, envFilterFrag, []string{"IRRADIANCE"}},
		{&e.specularP, envFilterFrag, []string{"SPECULAR"}},
		{&e.lutP, envFilterFrag, []string{"BRDF_LUT"}},
		{&e.backgroundP, envBackgroundFrag, nil},
	} {
		id, err := buildProgram(&r.objs, r.cfg.Shaders, fullscreenVert, b.frag, b.defines...)
		if err != nil {
			e.err = err
			r.log.Warn("render: image-based light unavailable; scenes with an environment use their ambient colour", "err", err)
			e.release(&r.objs)
			return false
		}
		*b.dst = id
		gl.UseProgram(id)
		gl.Uniform1i(uniform(id, "uSource"), 0)
		gl.Uniform1i(uniform(id, "uEnvSpecular"), 0)
	}
	gl.UseProgram(0)
	e.built = true
	return true
}

// buildEnvVariants builds the ENVIRONMENT variants of the lit scene programs there are
// (GL goroutine): pbr.frag's lit ones when the prefilter programs build, and the fast ones
// with their SPOT_LIGHTS variants once those are built.
func (r *Renderer) buildEnvVariants() {
	e := &r.env
	if e.variantErr != nil {
		return
	}
	type variant struct {
		p          *sceneProgram
		vert, frag string
		defines    []string
	}
	var all []variant
	if r.buildEnvPrograms() {
		lit := []variant{{r.litP, sceneVert, pbrFrag, nil},
			{r.litMapsP, sceneVert, pbrFrag, []string{"MATERIAL_MAPS"}},
			{r.litMaskP, sceneVert, pbrFrag, []string{"MATERIAL_MAPS", "ALPHA_MASK"}}}
		all = append(all, lit...)
		// The SHADOWS variants (shadow.go), once built, get theirs too: a scene with an
		// environment and a shadowed key light draws with both.
		for _, v := range lit {
			if sp := r.shadows.variants[v.p]; sp != nil {
				all = append(all, variant{sp, sceneVert, pbrFrag, append(append([]string(nil), v.defines...), "SHADOWS")})
			}
		}
	}
	if r.fastP != nil {
		base := []variant{
			{r.fastP, gouraudVert, gouraudFrag, nil}, {r.fastTexP, gouraudVert, gouraudFrag, []string{"TEXTURED"}},
			{r.fastMaskP, gouraudVert, gouraudFrag, []string{"ALPHA_MASK"}},
			{r.fastTexMaskP, gouraudVert, gouraudFrag, []string{"TEXTURED", "ALPHA_MASK"}},
		}
		all = append(all, base...)
		for _, v := range base {
			if sp := r.fastSpot[v.p]; sp != nil {
				all = append(all, variant{sp, gouraudVert, gouraudFrag, append(append([]string(nil), v.defines...), "SPOT_LIGHTS")})
			}
		}
	}
	if e.variants == nil {
		e.variants = map[*sceneProgram]*envVariant{}
	}
	for _, v := range all {
		if v.p == nil || e.variants[v.p] != nil {
			continue
		}
		p, err := newSceneProgram(r, v.vert, v.frag, append(v.defines, "ENVIRONMENT")...)
		if err != nil {
			for k, built := range e.variants {
				r.objs.deleteProgram(&built.p.id)
				delete(e.variants, k)
			}
			e.variantErr = err
			r.log.Warn("render: image-based light unavailable; scenes with an environment use their ambient colour", "err", err)
			return
		}
		gl.UseProgram(p.id)
		gl.Uniform1i(uniform(p.id, "uEnvIrradiance"), unitEnvIrradiance)
		gl.Uniform1i(uniform(p.id, "uEnvSpecular"), unitEnvSpecular)
		gl.Uniform1i(uniform(p.id, "uEnvBRDF"), unitEnvBRDF)
		gl.Uniform1f(uniform(p.id, "uEnvMaxLevel"), envLevels-1)
		e.variants[v.p] = &envVariant{p: p, sh: uniform(p.id, "uEnvSH")}
	}
	gl.UseProgram(0)
}

// glState is the state a prefilter pass changes and restores.
type glState struct {
	fb                         int32
	viewport                   [4]int32
	scissor, depth, cull, blnd bool
}

func saveGLState() glState {
	var s glState
	gl.GetIntegerv(gl.DRAW_FRAMEBUFFER_BINDING, &s.fb)
	gl.GetIntegerv(gl.VIEWPORT, &s.viewport[0])
	s.scissor = gl.IsEnabled(gl.SCISSOR_TEST)
	s.depth = gl.IsEnabled(gl.DEPTH_TEST)
	s.cull = gl.IsEnabled(gl.CULL_FACE)
	s.blnd = gl.IsEnabled(gl.BLEND)
	return s
}

func setEnabled(cap uint32, on bool) {
	if on {
		gl.Enable(cap)
	} else {
		gl.Disable(cap)
	}
}

func (s glState) restore() {
	gl.BindFramebuffer(gl.FRAMEBUFFER, uint32(s.fb))
	gl.Viewport(s.viewport[0], s.viewport[1], s.viewport[2], s.viewport[3])
	setEnabled(gl.SCISSOR_TEST, s.scissor)
	setEnabled(gl.DEPTH_TEST, s.depth)
	setEnabled(gl.CULL_FACE, s.cull)
	setEnabled(gl.BLEND, s.blnd)
}

// environment returns env's prefiltered textures, prefiltering it on first use (GL
// goroutine); nil when image-based light is unavailable.
func (r *Renderer) environment(env *scenes.Environment) *gpuEnvironment {
	e := &r.env
	if g := e.cache[env]; g != nil {
		g.lastUsed = r.frames
		return g
	}
	if !r.buildEnvPrograms() {
		return nil
	}
	if e.cache == nil {
		e.cache = map[*scenes.Environment]*gpuEnvironment{}
	}
	if len(e.cache) >= envCacheMax {
		var oldest *scenes.Environment
		for k, g := range e.cache {
			if oldest == nil || g.lastUsed < e.cache[oldest].lastUsed {
				oldest = k
			}
		}
		g := e.cache[oldest]
		r.objs.deleteTextures(&g.irradiance, &g.specular)
		delete(e.cache, oldest)
	}
	saved := saveGLState()
	gl.Disable(gl.SCISSOR_TEST)
	gl.Disable(gl.DEPTH_TEST)
	gl.Disable(gl.CULL_FACE)
	gl.Disable(gl.BLEND)
	fbo := r.objs.genFramebuffer()
	gl.BindFramebuffer(gl.FRAMEBUFFER, fbo)
	gl.BindVertexArray(r.emptyVAO)
	gl.ActiveTexture(gl.TEXTURE0)
	samples := int32(256)
	if r.info.Software {
		samples = 64
	}
	if e.lut == 0 {
		e.lut = envTexture(&r.objs, gl.RG16F, envLUTSize, envLUTSize, 1, gl.CLAMP_TO_EDGE)
		gl.UseProgram(e.lutP)
		gl.Uniform1i(uniform(e.lutP, "uSamples"), samples)
		drawInto(e.lut, 0, envLUTSize, envLUTSize)
	}

	// The source panorama, with mipmaps for filtered sampling.
	src := r.objs.genTexture()
	gl.BindTexture(gl.TEXTURE_2D, src)
	gl.TexImage2D(gl.TEXTURE_2D, 0, gl.RGB32F, int32(env.Width), int32(env.Height), 0, gl.RGB, gl.FLOAT, gl.Ptr(env.Pix))
	gl.GenerateMipmap(gl.TEXTURE_2D)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR_MIPMAP_LINEAR)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.REPEAT)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE)
	srcLevel := func(width int) (level float32, w, h int) {
		l := 0
		for env.Width>>(l+1) >= width && env.Height>>(l+1) >= 1 {
			l++
		}
		return float32(l), max(env.Width>>l, 1), max(env.Height>>l, 1)
	}

	g := &gpuEnvironment{lastUsed: r.frames}
	g.irradiance = envTexture(&r.objs, gl.RGBA16F, envIrradianceWidth, envIrradianceWidth/2, 1, gl.REPEAT)
	gl.UseProgram(e.irradianceP)
	lvl, sw, sh := srcLevel(envSumWidth)
	gl.Uniform1f(uniform(e.irradianceP, "uSumLevel"), lvl)
	gl.Uniform2f(uniform(e.irradianceP, "uSumSize"), float32(sw), float32(sh))
	gl.BindTexture(gl.TEXTURE_2D, src)
	drawInto(g.irradiance, 0, envIrradianceWidth, envIrradianceWidth/2)

	g.specular = envTexture(&r.objs, gl.RGBA16F, envSpecularWidth, envSpecularWidth/2, envLevels, gl.REPEAT)
	gl.UseProgram(e.specularP)
	gl.Uniform2f(uniform(e.specularP, "uSourceSize"), float32(env.Width), float32(env.Height))
	gl.Uniform1i(uniform(e.specularP, "uSamples"), samples)
	lvl, _, _ = srcLevel(envSpecularWidth)
	gl.Uniform1f(uniform(e.specularP, "uSumLevel"), lvl)
	for level := range envLevels {
		gl.Uniform1f(uniform(e.specularP, "uRoughness"), float32(level)/(envLevels-1))
		gl.BindTexture(gl.TEXTURE_2D, src)
		drawInto(g.specular, int32(level), max(envSpecularWidth>>level, 1), max(envSpecularWidth/2>>level, 1))
	}
	gl.BindTexture(gl.TEXTURE_2D, 0)
	r.objs.deleteTextures(&src)
	r.objs.deleteFramebuffers(&fbo)
	gl.BindVertexArray(0)
	gl.UseProgram(0)
	saved.restore()
	e.cache[env] = g
	return g
}

// envTexture makes an empty float texture of the given levels (linear filtering, mipmapped
// when levels > 1), wrapping horizontally with wrapS and clamped vertically.
func envTexture(objs *glObjects, internal int32, w, h, levels int, wrapS int32) uint32 {
	id := objs.genTexture()
	gl.BindTexture(gl.TEXTURE_2D, id)
	for l := range levels {
		gl.TexImage2D(gl.TEXTURE_2D, int32(l), internal, int32(max(w>>l, 1)), int32(max(h>>l, 1)), 0, gl.RGBA, gl.FLOAT, nil)
	}
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAX_LEVEL, int32(levels-1))
	minF := int32(gl.LINEAR)
	if levels > 1 {
		minF = gl.LINEAR_MIPMAP_LINEAR
	}
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, minF)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, wrapS)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE)
	return id
}

// drawInto draws the program in use over level of texture tex (w x h) through the bound
// framebuffer.
func drawInto(tex uint32, level int32, w, h int) {
	gl.FramebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, tex, level)
	gl.Viewport(0, 0, int32(w), int32(h))
	gl.DrawArrays(gl.TRIANGLES, 0, 3)
	gl.FramebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, 0, 0)
}

// useEnvironment prepares s's environment for the scene pass (GL goroutine): the
// ENVIRONMENT program variants (built once), the fast variants' coefficients (set when the
// environment changes) and, when the environment is prefiltered already, its textures
// bound to their units (envProgram prefilters it when a per-pixel program first needs it:
// a scene the fast shading draws entirely never pays for it). unbindEnvironment undoes the
// binding. Nothing happens for a scene without an environment.
func (r *Renderer) useEnvironment(s *scenes.Scene) {
	if s.Environment == nil {
		return
	}
	r.buildEnvVariants()
	var g *gpuEnvironment
	if g = r.env.cache[s.Environment]; g != nil {
		g.lastUsed = r.frames
	}
	sh := s.Environment.SH()
	for _, v := range r.env.variants {
		if v.sh >= 0 && v.env != s.Environment {
			gl.UseProgram(v.p.id)
			gl.Uniform3fv(v.sh, 9, &sh[0][0])
			v.env = s.Environment
		}
	}
	if g != nil {
		r.bindEnvironment(g)
	}
}

// bindEnvironment binds g's textures (and the BRDF table) to their units.
func (r *Renderer) bindEnvironment(g *gpuEnvironment) {
	for _, b := range []struct{ unit, id uint32 }{
		{unitEnvIrradiance, g.irradiance}, {unitEnvSpecular, g.specular}, {unitEnvBRDF, r.env.lut},
	} {
		gl.ActiveTexture(gl.TEXTURE0 + b.unit)
		gl.BindTexture(gl.TEXTURE_2D, b.id)
	}
	gl.ActiveTexture(gl.TEXTURE0)
}

// envProgram returns p's ENVIRONMENT variant for a scene with an environment (p itself
// when there is none or it could not be built), in a scene pass after useEnvironment.
// Per-pixel variants need the prefiltered textures: the first one prefilters the
// environment (which leaves the pass's framebuffer, viewport and capabilities as they
// were) and binds them.
func (r *Renderer) envProgram(s *scenes.Scene, p *sceneProgram) *sceneProgram {
	if s.Environment == nil {
		return p
	}
	v := r.env.variants[p]
	if v == nil {
		return p
	}
	if v.sh < 0 && r.env.cache[s.Environment] == nil {
		g := r.environment(s.Environment)
		if g == nil {
			return p
		}
		r.bindEnvironment(g)
	}
	return v.p
}

func (r *Renderer) unbindEnvironment(s *scenes.Scene) {
	if s.Environment == nil {
		return // nothing was bound
	}
	for _, unit := range []uint32{unitEnvIrradiance, unitEnvSpecular, unitEnvBRDF} {
		gl.ActiveTexture(gl.TEXTURE0 + unit)
		gl.BindTexture(gl.TEXTURE_2D, 0)
	}
	gl.ActiveTexture(gl.TEXTURE0)
}

// drawEnvironmentBackground draws s's environment, blurred, over the framebuffer when the
// scene asks for it (GL goroutine), before the scene.
func (r *Renderer) drawEnvironmentBackground(s *scenes.Scene, viewProj mgl32.Mat4) {
	if s.Environment == nil || !s.EnvironmentBackground {
		return
	}
	g := r.environment(s.Environment)
	if g == nil {
		return
	}
	inv := viewProj.Inv()
	if !finiteMat4(inv) {
		return
	}
	p := r.env.backgroundP
	depth := gl.IsEnabled(gl.DEPTH_TEST)
	gl.Disable(gl.DEPTH_TEST)
	gl.DepthMask(false)
	gl.UseProgram(p)
	gl.UniformMatrix4fv(uniform(p, "uInvViewProj"), 1, false, &inv[0])
	gl.Uniform3fv(uniform(p, "uCameraPos"), 1, &s.Camera.Eye[0])
	gl.Uniform1f(uniform(p, "uLevel"), envBackgroundLevel)
	gl.Uniform1f(uniform(p, "uExposure"), 1)
	gl.ActiveTexture(gl.TEXTURE0)
	gl.BindTexture(gl.TEXTURE_2D, g.specular)
	gl.BindVertexArray(r.emptyVAO)
	gl.DrawArrays(gl.TRIANGLES, 0, 3)
	gl.BindVertexArray(0)
	gl.BindTexture(gl.TEXTURE_2D, 0)
	gl.UseProgram(0)
	gl.DepthMask(true)
	setEnabled(gl.DEPTH_TEST, depth)
}
