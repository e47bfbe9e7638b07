package render

import (
	"fmt"
	"image"
	"image/draw"
	"reflect"
	"unsafe"

	"github.com/go-gl/gl/v3.3-core/gl"
	"github.com/go-gl/mathgl/mgl32"

	"github.com/rendercast/rendercast/scenes"
)

// cacheIdleFrames is how many frames (drawn by any view) a cached primitive or texture may
// go unused before it is freed.
const cacheIdleFrames = 600

// sweepEvery is how often (in frames) the cache looks for idle entries.
const sweepEvery = 120

// gpuCache holds geometry and textures uploaded once and shared by every view. Primitives
// are keyed by their address, textures by the image value; a cache entry keeps its key
// alive, so an address is never reused for different data while cached. Geometry is taken
// as immutable: a primitive whose slices were replaced (other length or backing array) is
// uploaded again, but contents changed in place are not noticed. GL goroutine only.
type gpuCache struct {
	prims    map[*scenes.Primitive]*gpuPrimitive
	textures map[textureKey]*gpuTexture
	// tooBig remembers images over the GPU's texture size (logged once each, drawn without).
	tooBig map[image.Image]bool
	// bad remembers primitives that failed to upload, so each is logged once, not per frame.
	bad map[*scenes.Primitive]error
}

// maxBad bounds the bad-primitive memory; past it, it starts over.
const maxBad = 1024

func newGPUCache() gpuCache {
	return gpuCache{
		prims:    map[*scenes.Primitive]*gpuPrimitive{},
		textures: map[textureKey]*gpuTexture{},
		tooBig:   map[image.Image]bool{},
		bad:      map[*scenes.Primitive]error{},
	}
}

func (c *gpuCache) markBad(p *scenes.Primitive, err error) {
	if len(c.bad) >= maxBad {
		clear(c.bad)
	}
	c.bad[p] = err
}

type gpuPrimitive struct {
	vao, vbo, ebo uint32
	// extra holds texture coordinate set 1, tangents and colours (0 when the primitive has
	// none of them).
	extra       uint32
	count       int32
	hasNormals  bool
	hasUVs      bool
	hasUVs1     bool
	hasTangents bool
	hasColors   bool
	// centre is the middle of the primitive's bounding box (object space), for sorting
	// blended primitives.
	centre   mgl32.Vec3
	lastUsed uint64
	// identity of the uploaded data, to notice replaced slices
	pos, idx unsafe.Pointer
	nPos     int
	nIdx     int
}

// textureKey identifies an uploaded texture: the image and whether its texels are sRGB
// (colour) or linear (data) values.
type textureKey struct {
	img  image.Image
	srgb bool
}

type gpuTexture struct {
	id       uint32
	lastUsed uint64
	// the sampler state last set on the texture, and whether it has mipmaps
	sampler scenes.Sampler
	mipmaps bool
}

// primitive returns p's GPU geometry, uploading it if needed. mesh names errors.
func (c *gpuCache) primitive(objs *glObjects, mesh *scenes.Mesh, p *scenes.Primitive, frame uint64) (*gpuPrimitive, error) {
	g := c.prims[p]
	if g != nil && g.matches(p) {
		g.lastUsed = frame
		return g, nil
	}
	if g != nil && g.deformed(p) {
		g.refresh(p)
		g.lastUsed = frame
		return g, nil
	}
	if g != nil {
		g.free(objs)
		delete(c.prims, p)
	}
	if err := checkPrimitive(p); err != nil {
		return nil, fmt.Errorf("%w: mesh %q: %v", ErrBadMesh, mesh.Name, err)
	}
	g = uploadPrimitive(objs, p)
	g.lastUsed = frame
	c.prims[p] = g
	return g, nil
}

func (g *gpuPrimitive) matches(p *scenes.Primitive) bool {
	return len(p.Positions) == g.nPos && len(p.Indices) == g.nIdx &&
		unsafe.Pointer(unsafe.SliceData(p.Positions)) == g.pos &&
		unsafe.Pointer(unsafe.SliceData(p.Indices)) == g.idx &&
		(p.Normals != nil) == g.hasNormals && (p.UVs != nil) == g.hasUVs &&
		(p.UVs1 != nil) == g.hasUVs1 && (p.Tangents != nil) == g.hasTangents && (p.Colors != nil) == g.hasColors
}

func checkPrimitive(p *scenes.Primitive) error {
	n := len(p.Positions)
	if p.Normals != nil && len(p.Normals) != n {
		return fmt.Errorf("%d normals for %d positions", len(p.Normals), n)
	}
	if p.UVs != nil && len(p.UVs) != n {
		return fmt.Errorf("%d texture coordinates for %d positions", len(p.UVs), n)
	}
	if p.UVs1 != nil && len(p.UVs1) != n {
		return fmt.Errorf("%d texture coordinates (set 1) for %d positions", len(p.UVs1), n)
	}
	if p.Tangents != nil && len(p.Tangents) != n {
		return fmt.Errorf("%d tangents for %d positions", len(p.Tangents), n)
	}
	if p.Colors != nil && len(p.Colors) != n {
		return fmt.Errorf("%d vertex colours for %d positions", len(p.Colors), n)
	}
	if len(p.Indices)%3 != 0 {
		return fmt.Errorf("%d indices is not a whole number of triangles", len(p.Indices))
	}
	for i, ix := range p.Indices {
		if int(ix) >= n {
			return fmt.Errorf("index %d at %d out of range (%d positions)", ix, i, n)
		}
	}
	return nil
}

// vertexFloats is the interleaved vertex layout: position (3), normal (3), uv (2).
const vertexFloats = 8

// extraFloats is the second buffer's layout: uv set 1 (2), tangent (4), colour (4).
const extraFloats = 10

// Attribute locations of the optional attributes (shaders/scene.vert) and the values they
// read when a primitive lacks them (disabled arrays read the generic attribute value).
const (
	attribUV1     = 3
	attribTangent = 4
	attribColor   = 5
)

func uploadPrimitive(objs *glObjects, p *scenes.Primitive) *gpuPrimitive {
	g := &gpuPrimitive{
		count: int32(len(p.Indices)), hasNormals: p.Normals != nil, hasUVs: p.UVs != nil,
		pos: unsafe.Pointer(unsafe.SliceData(p.Positions)), idx: unsafe.Pointer(unsafe.SliceData(p.Indices)),
		nPos: len(p.Positions), nIdx: len(p.Indices),
		hasUVs1: p.UVs1 != nil, hasTangents: p.Tangents != nil, hasColors: p.Colors != nil,
	}
	g.centre = centre(p.Positions)
	verts := g.vertexData(p)
	g.vao = objs.genVertexArray()
	gl.BindVertexArray(g.vao)
	g.vbo = objs.genBuffer()
	gl.BindBuffer(gl.ARRAY_BUFFER, g.vbo)
	if len(verts) > 0 {
		gl.BufferData(gl.ARRAY_BUFFER, len(verts)*4, gl.Ptr(verts), gl.STATIC_DRAW)
	}
	g.ebo = objs.genBuffer()
	gl.BindBuffer(gl.ELEMENT_ARRAY_BUFFER, g.ebo)
	if len(p.Indices) > 0 {
		gl.BufferData(gl.ELEMENT_ARRAY_BUFFER, len(p.Indices)*4, gl.Ptr(p.Indices), gl.STATIC_DRAW)
	}
	const stride = vertexFloats * 4
	gl.EnableVertexAttribArray(0)
	gl.VertexAttribPointerWithOffset(0, 3, gl.FLOAT, false, stride, 0)
	gl.EnableVertexAttribArray(1)
	gl.VertexAttribPointerWithOffset(1, 3, gl.FLOAT, false, stride, 3*4)
	gl.EnableVertexAttribArray(2)
	gl.VertexAttribPointerWithOffset(2, 2, gl.FLOAT, false, stride, 6*4)
	if g.hasUVs1 || g.hasTangents || g.hasColors {
		extra := g.extraData(p)
		g.extra = objs.genBuffer()
		gl.BindBuffer(gl.ARRAY_BUFFER, g.extra)
		gl.BufferData(gl.ARRAY_BUFFER, len(extra)*4, gl.Ptr(extra), gl.STATIC_DRAW)
		const es = extraFloats * 4
		gl.EnableVertexAttribArray(attribUV1)
		gl.VertexAttribPointerWithOffset(attribUV1, 2, gl.FLOAT, false, es, 0)
		gl.EnableVertexAttribArray(attribTangent)
		gl.VertexAttribPointerWithOffset(attribTangent, 4, gl.FLOAT, false, es, 2*4)
		gl.EnableVertexAttribArray(attribColor)
		gl.VertexAttribPointerWithOffset(attribColor, 4, gl.FLOAT, false, es, 6*4)
	}
	gl.BindVertexArray(0)
	gl.BindBuffer(gl.ARRAY_BUFFER, 0)
	return g
}

func (g *gpuPrimitive) free(objs *glObjects) {
	objs.deleteVertexArrays(&g.vao)
	objs.deleteBuffers(&g.vbo, &g.ebo, &g.extra)
}

// texture returns img's GPU texture (sRGB texels when srgb, else linear), uploading it if
// needed, with sampler's wrap and filter modes set on it (mipmaps generated the first time
// a mipmap filter asks for them). Images whose type cannot be a map key are uploaded into
// a texture the caller must free (cached == false). id is 0 for an image larger than
// maxSide (the GPU's limit): the caller draws without it.
func (c *gpuCache) texture(objs *glObjects, img image.Image, srgb bool, sampler scenes.Sampler, maxSide int, frame uint64) (id uint32, cached bool) {
	key := textureKey{img: img, srgb: srgb}
	comparable := reflect.TypeOf(img).Comparable()
	if comparable {
		if t := c.textures[key]; t != nil {
			t.lastUsed = frame
			t.setSampler(sampler)
			return t.id, true
		}
		if c.tooBig[img] {
			return 0, true
		}
	}
	if b := img.Bounds(); maxSide > 0 && (b.Dx() > maxSide || b.Dy() > maxSide) {
		if comparable {
			c.tooBig[img] = true
		}
		return 0, true
	}
	t := &gpuTexture{id: uploadTexture(objs, img, srgb), lastUsed: frame}
	t.sampler = scenes.Sampler{WrapS: -1} // differs from every real sampler: set below
	t.setSampler(sampler)
	if comparable {
		c.textures[key] = t
	}
	return t.id, comparable
}

// setSampler sets s's wrap and filter modes on the texture if they differ from the last
// ones, generating mipmaps the first time a mipmap filter asks for them. It binds the
// texture to the active unit to do so: callers bind what they draw with afterwards.
func (t *gpuTexture) setSampler(s scenes.Sampler) {
	if t.sampler == s {
		return
	}
	gl.BindTexture(gl.TEXTURE_2D, t.id)
	if s.MinFilter.Mipmapped() && !t.mipmaps {
		gl.GenerateMipmap(gl.TEXTURE_2D)
		t.mipmaps = true
	}
	minF, magF := int32(s.MinFilter), int32(s.MagFilter)
	if minF == 0 {
		minF = gl.LINEAR_MIPMAP_LINEAR
	}
	if magF == 0 {
		magF = gl.LINEAR
	}
	wrap := func(w scenes.Wrap) int32 {
		if w == 0 {
			return gl.REPEAT
		}
		return int32(w)
	}
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, minF)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, magF)
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, wrap(s.WrapS))
	gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, wrap(s.WrapT))
	t.sampler = s
}

func uploadTexture(objs *glObjects, img image.Image, srgb bool) uint32 {
	b := img.Bounds()
	var pix []byte
	stride := 0
	switch m := img.(type) {
	case *image.NRGBA:
		pix, stride = m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride
	default:
		n := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		draw.Draw(n, n.Bounds(), img, b.Min, draw.Src)
		pix, stride = n.Pix, n.Stride
	}
	id := objs.genTexture()
	gl.BindTexture(gl.TEXTURE_2D, id)
	gl.PixelStorei(gl.UNPACK_ROW_LENGTH, int32(stride/4))
	w, h := b.Dx(), b.Dy()
	internal := int32(gl.RGBA8)
	if srgb {
		internal = gl.SRGB8_ALPHA8
	}
	if w > 0 && h > 0 {
		// glTF texture coordinates put v = 0 at the image's first row, which is also
		// where OpenGL puts t = 0 when rows are uploaded in order: no flip.
		gl.TexImage2D(gl.TEXTURE_2D, 0, internal, int32(w), int32(h), 0, gl.RGBA, gl.UNSIGNED_BYTE, gl.Ptr(pix))
	}
	gl.PixelStorei(gl.UNPACK_ROW_LENGTH, 0)
	gl.BindTexture(gl.TEXTURE_2D, 0)
	return id
}

// sweep frees entries no view drew in the last cacheIdleFrames frames.
func (c *gpuCache) sweep(objs *glObjects, frame uint64) {
	if frame%sweepEvery != 0 || frame < cacheIdleFrames {
		return
	}
	for k, g := range c.prims {
		if frame-g.lastUsed > cacheIdleFrames {
			g.free(objs)
			delete(c.prims, k)
		}
	}
	for k, t := range c.textures {
		if frame-t.lastUsed > cacheIdleFrames {
			objs.deleteTextures(&t.id)
			delete(c.textures, k)
		}
	}
}

func (c *gpuCache) releaseAll(objs *glObjects) {
	clear(c.bad)
	clear(c.tooBig)
	for k, g := range c.prims {
		g.free(objs)
		delete(c.prims, k)
	}
	for k, t := range c.textures {
		objs.deleteTextures(&t.id)
		delete(c.textures, k)
	}
}
