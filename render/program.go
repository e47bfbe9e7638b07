package render

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/rendercast/rendercast/scenes"
)

// Shader files the renderer uses (names in the shaders package).
const (
	sceneVert      = "scene.vert"
	pbrFrag        = "pbr.frag"
	gouraudVert    = "gouraud.vert"
	gouraudFrag    = "gouraud.frag"
	fullscreenVert = "fullscreen.vert"
	yuvFrag        = "yuv420.frag"
	scaleFrag      = "scale.frag"
	shadowVert     = "shadow.vert"
	shadowFrag     = "shadow.frag"
)

// shaderPath is how errors name a shader file: as it sits in the repository.
func shaderPath(name string) string { return "shaders/" + name }

// buildProgram compiles and links vert and frag read from fsys (GL goroutine); defines are
// added to both shaders as "#define NAME 1". Errors are *ShaderError naming the file and
// carrying the driver's log.
func buildProgram(objs *glObjects, fsys fs.FS, vert, frag string, defines ...string) (uint32, error) {
	vs, err := compileShader(fsys, vert, gl.VERTEX_SHADER, defines...)
	if err != nil {
		return 0, err
	}
	defer gl.DeleteShader(vs)
	fsh, err := compileShader(fsys, frag, gl.FRAGMENT_SHADER, defines...)
	if err != nil {
		return 0, err
	}
	defer gl.DeleteShader(fsh)
	p := objs.createProgram()
	gl.AttachShader(p, vs)
	gl.AttachShader(p, fsh)
	gl.LinkProgram(p)
	var ok int32
	gl.GetProgramiv(p, gl.LINK_STATUS, &ok)
	if ok == gl.FALSE {
		log := programLog(p)
		objs.deleteProgram(&p)
		return 0, &ShaderError{File: shaderPath(vert) + " + " + shaderPath(frag), Stage: "link", Log: log}
	}
	gl.DetachShader(p, vs)
	gl.DetachShader(p, fsh)
	return p, nil
}

func compileShader(fsys fs.FS, name string, kind uint32, defines ...string) (uint32, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return 0, &ShaderError{File: shaderPath(name), Stage: "load", Log: err.Error()}
	}
	src := withDefines(string(b), defines)
	s := gl.CreateShader(kind)
	csrc, free := gl.Strs(src + "\x00")
	gl.ShaderSource(s, 1, csrc, nil)
	free()
	gl.CompileShader(s)
	var ok int32
	gl.GetShaderiv(s, gl.COMPILE_STATUS, &ok)
	if ok == gl.FALSE {
		var n int32
		gl.GetShaderiv(s, gl.INFO_LOG_LENGTH, &n)
		log := infoLog(n, func(buf *uint8) { gl.GetShaderInfoLog(s, n, nil, buf) })
		gl.DeleteShader(s)
		file := shaderPath(name)
		if len(defines) > 0 {
			file += " (" + strings.Join(defines, ", ") + ")"
		}
		return 0, &ShaderError{File: file, Stage: "compile", Log: log}
	}
	return s, nil
}

// withDefines inserts "#define NAME 1" lines after the #version line, then "#line 2" so
// the driver's log keeps the file's line numbers.
func withDefines(src string, defines []string) string {
	if len(defines) == 0 {
		return src
	}
	version, rest, ok := strings.Cut(src, "\n")
	if !ok || !strings.HasPrefix(strings.TrimSpace(version), "#version") {
		version, rest = "", src
	}
	var b strings.Builder
	if version != "" {
		b.WriteString(version + "\n")
	}
	for _, d := range defines {
		b.WriteString("#define " + d + " 1\n")
	}
	if version != "" {
		b.WriteString("#line 2\n")
	} else {
		b.WriteString("#line 1\n")
	}
	b.WriteString(rest)
	return b.String()
}

func programLog(p uint32) string {
	var n int32
	gl.GetProgramiv(p, gl.INFO_LOG_LENGTH, &n)
	return infoLog(n, func(buf *uint8) { gl.GetProgramInfoLog(p, n, nil, buf) })
}

func infoLog(n int32, get func(*uint8)) string {
	if n <= 1 {
		return "(no log from the driver)"
	}
	buf := make([]uint8, n+1)
	get(&buf[0])
	return strings.TrimRight(string(buf[:n]), "\x00\n ")
}

func uniform(p uint32, name string) int32 {
	return gl.GetUniformLocation(p, gl.Str(name+"\x00"))
}

// sceneProgram is a scene pass program with its uniform locations: scene.vert + pbr.frag
// (lit, or with UNLIT defined) or gouraud.vert + gouraud.frag (with or without TEXTURED).
// Uniforms a variant does not use are -1, which OpenGL ignores.
type sceneProgram struct {
	id                                    uint32
	model, normalMatrix, viewProj, camera int32
	baseColor, metallic, roughness, emit  int32
	hasTexture, hasNormals, texture       int32
	doubleSided                           int32
	ambient, exposure, lightCount         int32
	lightColor, lightVector               int32
	lightSpotDir, lightCone, spotStart    int32
	// material model (pbr.frag; gouraud uses the alpha ones and slot 0 of the arrays)
	hasTangents, hasTex, texSet, texTransform int32
	normalScale, occlusionStrength            int32
	alphaMode, alphaCutoff, transmitOpacity   int32
	dielectricF0, specularWeight              int32
	clearcoat, clearcoatRoughness             int32
	transmission                              int32
	shadow                                    shadowLocs // pbr.frag's shadow map (lit variants)
}

// Texture slots of the scene programs: index into uHasTex/uTexSet/uTexTransform and texture
// unit (shaders/pbr.frag).
const (
	texBase = iota
	texMetalRough
	texNormal
	texOcclusion
	texEmissive
	texClearcoat
	texClearcoatRough
	texTransmission
	texSlots
)

func newSceneProgram(r *Renderer, vert, frag string, defines ...string) (*sceneProgram, error) {
	id, err := buildProgram(&r.objs, r.cfg.Shaders, vert, frag, defines...)
	if err != nil {
		return nil, err
	}
	p := &sceneProgram{
		id:                 id,
		model:              uniform(id, "uModel"),
		normalMatrix:       uniform(id, "uNormalMatrix"),
		viewProj:           uniform(id, "uViewProj"),
		camera:             uniform(id, "uCameraPos"),
		baseColor:          uniform(id, "uBaseColor"),
		metallic:           uniform(id, "uMetallic"),
		roughness:          uniform(id, "uRoughness"),
		emit:               uniform(id, "uEmissive"),
		hasTexture:         uniform(id, "uHasTexture"),
		hasNormals:         uniform(id, "uHasNormals"),
		doubleSided:        uniform(id, "uDoubleSided"),
		texture:            uniform(id, "uBaseColorTex"),
		ambient:            uniform(id, "uAmbient"),
		exposure:           uniform(id, "uExposure"),
		lightCount:         uniform(id, "uLightCount"),
		lightColor:         uniform(id, "uLightColor"),
		lightVector:        uniform(id, "uLightVector"),
		lightSpotDir:       uniform(id, "uLightSpotDir"),
		lightCone:          uniform(id, "uLightCone"),
		spotStart:          uniform(id, "uSpotStart"),
		hasTangents:        uniform(id, "uHasTangents"),
		hasTex:             uniform(id, "uHasTex"),
		texSet:             uniform(id, "uTexSet"),
		texTransform:       uniform(id, "uTexTransform"),
		normalScale:        uniform(id, "uNormalScale"),
		occlusionStrength:  uniform(id, "uOcclusionStrength"),
		alphaMode:          uniform(id, "uAlphaMode"),
		alphaCutoff:        uniform(id, "uAlphaCutoff"),
		transmitOpacity:    uniform(id, "uTransmitOpacity"),
		dielectricF0:       uniform(id, "uDielectricF0"),
		specularWeight:     uniform(id, "uSpecularWeight"),
		clearcoat:          uniform(id, "uClearcoat"),
		clearcoatRoughness: uniform(id, "uClearcoatRoughness"),
		transmission:       uniform(id, "uTransmission"),
	}
	// A lit program's light arrays must hold scenes.MaxLights entries.
	lit := !slices.Contains(defines, "UNLIT")
	if loc := uniform(id, fmt.Sprintf("uLightColor[%d]", scenes.MaxLights-1)); lit && loc < 0 {
		r.objs.deleteProgram(&p.id)
		return nil, &ShaderError{File: shaderPath(vert) + " + " + shaderPath(frag), Stage: "link",
			Log: fmt.Sprintf("uLightColor has fewer than scenes.MaxLights (%d) entries", scenes.MaxLights)}
	}
	gl.UseProgram(id)
	gl.Uniform1i(p.texture, texBase)
	gl.Uniform1i(uniform(id, "uMetalRoughTex"), texMetalRough)
	gl.Uniform1i(uniform(id, "uNormalTex"), texNormal)
	gl.Uniform1i(uniform(id, "uOcclusionTex"), texOcclusion)
	gl.Uniform1i(uniform(id, "uEmissiveTex"), texEmissive)
	gl.Uniform1i(uniform(id, "uClearcoatTex"), texClearcoat)
	gl.Uniform1i(uniform(id, "uClearcoatRoughTex"), texClearcoatRough)
	gl.Uniform1i(uniform(id, "uTransmissionTex"), texTransmission)
	gl.Uniform1f(p.exposure, 1)
	p.shadow = shadowUniforms(id)
	gl.UseProgram(0)
	return p, nil
}

// yuvProgram is fullscreen.vert + yuv420.frag.
type yuvProgram struct {
	id                   uint32
	source, size, padded int32
}

func newYUVProgram(r *Renderer) (*yuvProgram, error) {
	id, err := buildProgram(&r.objs, r.cfg.Shaders, fullscreenVert, yuvFrag)
	if err != nil {
		return nil, err
	}
	p := &yuvProgram{id: id, source: uniform(id, "uSource"), size: uniform(id, "uSize"), padded: uniform(id, "uPadded")}
	gl.UseProgram(id)
	gl.Uniform1i(p.source, 0)
	gl.UseProgram(0)
	return p, nil
}

// scaleProgram is fullscreen.vert + scale.frag.
type scaleProgram struct {
	id uint32
}

func newScaleProgram(r *Renderer) (*scaleProgram, error) {
	id, err := buildProgram(&r.objs, r.cfg.Shaders, fullscreenVert, scaleFrag)
	if err != nil {
		return nil, err
	}
	gl.UseProgram(id)
	gl.Uniform1i(uniform(id, "uSource"), 0)
	gl.UseProgram(0)
	return &scaleProgram{id: id}, nil
}
