package render

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"math"
	"strings"
	"testing"

	"github.com/go-gl/mathgl/mgl32"
	"github.com/qmuntal/gltf"
	"github.com/qmuntal/gltf/modeler"

	"github.com/rendercast/rendercast/scenes"
)

// The material tests build small glTF models with the glTF library, load them with
// scenes.LoadReader (the path user files take), draw them 64x64 on the renderer (PBR unless
// a test also checks the fast shading) and read pixels at known places. The expectations
// are orderings and loose levels (tens of levels), so they hold on any conformant driver.

const matSize = 64

// gltfModel is a glTF document under construction.
type gltfModel struct {
	t   testing.TB
	doc *gltf.Document
}

func newModel(t testing.TB) *gltfModel { return &gltfModel{t: t, doc: gltf.NewDocument()} }

// quadSpec describes a square of side 2*half at depth z facing the camera on +z, split into
// n x n cells. Texture coordinates run from (0, 0) at the top left to (uMax, 1) at the
// bottom right (u to the left instead with mirrorU, v up with mirrorV).
type quadSpec struct {
	half, z   float32
	n         int
	uMax      float32
	mirrorU   bool
	mirrorV   bool
	back      bool                          // wind the triangles to face -z (the camera sees their back)
	uv1       func(u, v float32) [2]float32 // TEXCOORD_1, nil for none
	uv0Zero   bool                          // TEXCOORD_0 all (0, 0)
	color     *[4]float32                   // COLOR_0 for every vertex, nil for none
	material  int
	noNormals bool
}

// quad adds a mesh and a node showing it; it returns the node index.
func (m *gltfModel) quad(q quadSpec) int {
	if q.n == 0 {
		q.n = 1
	}
	if q.uMax == 0 {
		q.uMax = 1
	}
	var pos, nrm [][3]float32
	var uv0, uv1 [][2]float32
	var cols [][4]float32
	for j := 0; j <= q.n; j++ {
		for i := 0; i <= q.n; i++ {
			u, v := float32(i)/float32(q.n), float32(j)/float32(q.n)
			pos = append(pos, [3]float32{-q.half + 2*q.half*u, q.half - 2*q.half*v, q.z})
			nz := float32(1)
			if q.back {
				nz = -1
			}
			nrm = append(nrm, [3]float32{0, 0, nz})
			tu, tv := u*q.uMax, v
			if q.mirrorU {
				tu = q.uMax - tu
			}
			if q.mirrorV {
				tv = 1 - tv
			}
			if q.uv0Zero {
				tu, tv = 0, 0
			}
			uv0 = append(uv0, [2]float32{tu, tv})
			if q.uv1 != nil {
				uv1 = append(uv1, q.uv1(u, v))
			}
			if q.color != nil {
				cols = append(cols, *q.color)
			}
		}
	}
	var idx []uint32
	for j := range q.n {
		for i := range q.n {
			a := uint32(j*(q.n+1) + i) // top left
			b, c, d := a+1, a+uint32(q.n)+2, a+uint32(q.n)+1
			if q.back {
				idx = append(idx, a, b, c, a, c, d) // clockwise seen from +z
			} else {
				idx = append(idx, a, d, c, a, c, b) // counter-clockwise seen from +z
			}
		}
	}
	attrs := gltf.PrimitiveAttributes{gltf.POSITION: modeler.WritePosition(m.doc, pos), gltf.TEXCOORD_0: modeler.WriteTextureCoord(m.doc, uv0)}
	if !q.noNormals {
		attrs[gltf.NORMAL] = modeler.WriteNormal(m.doc, nrm)
	}
	if uv1 != nil {
		attrs[gltf.TEXCOORD_1] = modeler.WriteTextureCoord(m.doc, uv1)
	}
	if cols != nil {
		attrs[gltf.COLOR_0] = modeler.WriteColor(m.doc, cols)
	}
	mat := q.material
	m.doc.Meshes = append(m.doc.Meshes, &gltf.Mesh{Primitives: []*gltf.Primitive{{
		Attributes: attrs, Indices: gltf.Index(modeler.WriteIndices(m.doc, idx)), Material: &mat,
	}}})
	return m.node(&gltf.Node{Mesh: gltf.Index(len(m.doc.Meshes) - 1)})
}

// node adds a root node.
func (m *gltfModel) node(n *gltf.Node) int {
	m.doc.Nodes = append(m.doc.Nodes, n)
	i := len(m.doc.Nodes) - 1
	m.doc.Scenes[0].Nodes = append(m.doc.Scenes[0].Nodes, i)
	return i
}

// material adds a material and returns its index.
func (m *gltfModel) material(mat *gltf.Material) int {
	m.doc.Materials = append(m.doc.Materials, mat)
	return len(m.doc.Materials) - 1
}

// texture adds img (as PNG) with sampler s (nil: the default) and returns its index.
func (m *gltfModel) texture(img image.Image, s *gltf.Sampler) int {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		m.t.Fatal(err)
	}
	ii, err := modeler.WriteImage(m.doc, "", "image/png", &buf)
	if err != nil {
		m.t.Fatal(err)
	}
	tex := &gltf.Texture{Source: gltf.Index(ii)}
	if s != nil {
		m.doc.Samplers = append(m.doc.Samplers, s)
		tex.Sampler = gltf.Index(len(m.doc.Samplers) - 1)
	}
	m.doc.Textures = append(m.doc.Textures, tex)
	return len(m.doc.Textures) - 1
}

// scene encodes the model as GLB, loads it like a user file and sets up a camera on +z
// looking at the origin, no ambient light, a blue-grey background and the given lights.
func (m *gltfModel) scene(lights ...scenes.Light) *scenes.Scene {
	m.t.Helper()
	var buf bytes.Buffer
	if err := gltf.NewEncoder(&buf).Encode(m.doc); err != nil {
		m.t.Fatal(err)
	}
	s, err := scenes.LoadReader(&buf, "material.glb", nil)
	if err != nil {
		m.t.Fatal(err)
	}
	if len(s.Warnings) > 0 {
		m.t.Fatalf("load warnings: %q", s.Warnings)
	}
	s.Camera = scenes.Camera{Eye: mgl32.Vec3{0, 0, 4}, Target: mgl32.Vec3{0, 0, 0}, Up: mgl32.Vec3{0, 1, 0}, FovY: 45}
	s.Ambient = mgl32.Vec3{}
	s.Background = mgl32.Vec3{0.2, 0.3, 0.4}
	if lights != nil {
		s.Lights = lights
	}
	return s
}

// matBackground is scene()'s background as read back.
var matBackground = color.RGBA{51, 77, 102, 255}

// pixelAt returns the pixel where the point (x, y, 0) of the world lands, averaged over
// 3x3 pixels.
func pixelAt(img *image.RGBA, x, y float32) color.RGBA {
	ext := 4 * math.Tan(22.5*math.Pi/180) // half the view's height at z = 0
	px := int(math.Floor(matSize/2 + matSize/2*float64(x)/ext))
	py := int(math.Floor(matSize/2 - matSize/2*float64(y)/ext))
	var r, g, b int
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			c := img.RGBAAt(px+dx, py+dy)
			r, g, b = r+int(c.R), g+int(c.G), b+int(c.B)
		}
	}
	return color.RGBA{uint8(r / 9), uint8(g / 9), uint8(b / 9), 255}
}

// quadPoint is the world position of texture coordinate (u, v) on a quad of half-size half
// (u across 0..1, v down 0..1).
func quadPoint(half, u, v float32) (float32, float32) { return -half + 2*half*u, half - 2*half*v }

func luma(c color.RGBA) int { return (int(c.R)*2 + int(c.G)*5 + int(c.B)) / 8 }

func near(c, want color.RGBA, tol int) bool {
	d := func(a, b uint8) int { return int(math.Abs(float64(a) - float64(b))) }
	return d(c.R, want.R) <= tol && d(c.G, want.G) <= tol && d(c.B, want.B) <= tol
}

// solid returns a w x h image of one colour.
func solid(w, h int, c color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// halves returns an 8x8 image whose left half is a and right half b (top a, bottom b with
// vertical).
func halves(a, b color.NRGBA, vertical bool) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, 8, 8))
	for y := range 8 {
		for x := range 8 {
			c := a
			if (!vertical && x >= 4) || (vertical && y >= 4) {
				c = b
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func f64(v float64) *float64 { return &v }

// rough is a white, dielectric, fully rough material (optionally with changes).
func rough(edit func(*gltf.Material)) *gltf.Material {
	m := &gltf.Material{PBRMetallicRoughness: &gltf.PBRMetallicRoughness{
		BaseColorFactor: &[4]float64{1, 1, 1, 1}, MetallicFactor: f64(0), RoughnessFactor: f64(1),
	}}
	if edit != nil {
		edit(m)
	}
	return m
}

var unlitExt = gltf.Extensions{"KHR_materials_unlit": map[string]any{}}

func dirLight(x, y, z, intensity float32) scenes.Light {
	return scenes.Light{Type: scenes.Directional, Color: mgl32.Vec3{1, 1, 1}, Intensity: intensity, Direction: mgl32.Vec3{x, y, z}.Normalize()}
}

// drawModel draws s with r at matSize x matSize.
func drawModel(t *testing.T, r *Renderer, s *scenes.Scene) *image.RGBA {
	t.Helper()
	return drawRGBA(t, newView(t, r, matSize, matSize), s)
}

// TestMaterialNormalMap: a constant normal map tilting the normal 30 degrees along the
// texture's +u (red) or up the image (+v in the map's green, towards decreasing v) turns a
// flat quad towards or away from a grazing light, so it shows brighter or darker than the
// quad without the map; mirrored texture coordinates turn the tilt the other way (the
// generated tangent's direction and handedness). The file has no tangents: the loader
// generates them.
func TestMaterialNormalMap(t *testing.T) {
	r := newRenderer(t, Config{Shading: ShadingPBR})
	tiltU := color.NRGBA{191, 128, 238, 255} // (0.5, 0, 0.866)
	tiltV := color.NRGBA{128, 191, 238, 255} // (0, 0.5, 0.866)
	fromRight := dirLight(-1, 0, -1, 0.3)    // travels left and into the screen
	fromTop := dirLight(0, -1, -1, 0.3)
	draw := func(tilt *color.NRGBA, q quadSpec, light scenes.Light) int {
		m := newModel(t)
		mat := rough(nil)
		if tilt != nil {
			mat.NormalTexture = &gltf.NormalTexture{Index: gltf.Index(m.texture(solid(4, 4, *tilt), nil))}
		}
		q.half, q.n, q.material = 1.5, 2, m.material(mat)
		m.quad(q)
		return luma(pixelAt(drawModel(t, r, m.scene(light)), 0, 0))
	}
	flatR, flatT := draw(nil, quadSpec{}, fromRight), draw(nil, quadSpec{}, fromTop)
	tests := []struct {
		name     string
		tilt     color.NRGBA
		q        quadSpec
		light    scenes.Light
		flat     int
		brighter bool
	}{
		{"+u towards the light", tiltU, quadSpec{}, fromRight, flatR, true},
		{"+u with u mirrored", tiltU, quadSpec{mirrorU: true}, fromRight, flatR, false},
		{"up the image towards the light", tiltV, quadSpec{}, fromTop, flatT, true},
		{"up the image with v mirrored", tiltV, quadSpec{mirrorV: true}, fromTop, flatT, false},
	}
	for _, tt := range tests {
		got := draw(&tt.tilt, tt.q, tt.light)
		if tt.brighter && got < tt.flat+12 || !tt.brighter && got > tt.flat-12 {
			t.Errorf("%s: centre %d, without the normal map %d (want %s by 12+ levels)", tt.name, got, tt.flat,
				map[bool]string{true: "brighter", false: "darker"}[tt.brighter])
		}
	}
}

// TestMaterialMetallicRoughnessTexture: the texture's green channel scales roughness: a
// smooth (green 0.2) quad facing a light behind the camera shows a bright highlight at its
// centre, brighter than its own edge and than the rough (green 1) quad's centre; the blue
// channel scales metallic: blue 0 makes the factor-1 metal a dark-grey dielectric.
func TestMaterialMetallicRoughnessTexture(t *testing.T) {
	r := newRenderer(t, Config{Shading: ShadingPBR})
	draw := func(mr color.NRGBA, metallic float64) *image.RGBA {
		m := newModel(t)
		mat := rough(func(g *gltf.Material) {
			g.PBRMetallicRoughness.BaseColorFactor = &[4]float64{0.05, 0.05, 0.05, 1}
			g.PBRMetallicRoughness.MetallicFactor = f64(metallic)
		})
		mat.PBRMetallicRoughness.MetallicRoughnessTexture = &gltf.TextureInfo{Index: m.texture(solid(4, 4, mr), nil)}
		m.quad(quadSpec{half: 1.5, n: 8, material: m.material(mat)})
		return drawModel(t, r, m.scene(dirLight(0, 0, -1, 2)))
	}
	smooth, roughImg := draw(color.NRGBA{0, 51, 0, 255}, 0), draw(color.NRGBA{0, 255, 0, 255}, 0)
	sc, se, rc := luma(pixelAt(smooth, 0, 0)), luma(pixelAt(smooth, 1.2, 1.2)), luma(pixelAt(roughImg, 0, 0))
	if sc < rc+60 || sc < se+60 {
		t.Errorf("smooth centre %d, smooth edge %d, rough centre %d: want a highlight at the smooth centre", sc, se, rc)
	}
	// Metallic factor 1, roughness 1: blue 255 keeps the grey metal (no diffuse light, a dim
	// reflection), blue 0 makes it a dielectric whose diffuse light is brighter.
	drawMetal := func(blue uint8) int {
		m := newModel(t)
		mat := rough(func(g *gltf.Material) {
			g.PBRMetallicRoughness.BaseColorFactor = &[4]float64{0.5, 0.5, 0.5, 1}
			g.PBRMetallicRoughness.MetallicFactor = f64(1)
		})
		mat.PBRMetallicRoughness.MetallicRoughnessTexture = &gltf.TextureInfo{Index: m.texture(solid(4, 4, color.NRGBA{0, 255, blue, 255}), nil)}
		m.quad(quadSpec{half: 1.5, n: 2, material: m.material(mat)})
		return luma(pixelAt(drawModel(t, r, m.scene(dirLight(0, 0, -1, 1))), 0, 0))
	}
	if metal, dielectric := drawMetal(255), drawMetal(0); dielectric < metal+40 {
		t.Errorf("blue 0 centre %d, blue 255 centre %d: the blue channel does not scale metallic", dielectric, metal)
	}
}

// TestMaterialOcclusion: with ambient light only, the occlusion texture's red channel
// darkens where it is 0 (left half) and not where it is 1 (right half); strength 0.5 darkens
// about half as much in linear light.
func TestMaterialOcclusion(t *testing.T) {
	r := newRenderer(t, Config{Shading: ShadingPBR})
	draw := func(strength float64) (left, right int) {
		m := newModel(t)
		mat := rough(nil)
		mat.OcclusionTexture = &gltf.OcclusionTexture{Index: gltf.Index(m.texture(halves(color.NRGBA{0, 0, 0, 255}, color.NRGBA{255, 255, 255, 255}, false), nil)), Strength: f64(strength)}
		m.quad(quadSpec{half: 1.5, material: m.material(mat)})
		s := m.scene()
		s.Lights = nil
		s.Ambient = mgl32.Vec3{0.6, 0.6, 0.6}
		img := drawModel(t, r, s)
		x0, y := quadPoint(1.5, 0.2, 0.5)
		x1, _ := quadPoint(1.5, 0.8, 0.5)
		return luma(pixelAt(img, x0, y)), luma(pixelAt(img, x1, y))
	}
	l1, r1 := draw(1)
	lh, rh := draw(0.5)
	if r1 < 100 || l1 > 10 {
		t.Errorf("strength 1: occluded %d, open %d (want about 0 and bright)", l1, r1)
	}
	if rh < 100 || lh < l1+40 || lh > rh-20 {
		t.Errorf("strength 0.5: occluded %d, open %d (strength 1: %d): want in between", lh, rh, l1)
	}
}

// TestMaterialEmissive: an unlit scene (no lights, no ambient light) shows a black quad
// whose emissive factor times its emissive texture (white top half, black bottom half)
// lights the top half only; KHR_materials_emissive_strength 4 makes it brighter.
func TestMaterialEmissive(t *testing.T) {
	r := newRenderer(t, Config{Shading: ShadingPBR})
	draw := func(strength float64) (top, bottom color.RGBA) {
		m := newModel(t)
		mat := rough(func(g *gltf.Material) { g.PBRMetallicRoughness.BaseColorFactor = &[4]float64{0, 0, 0, 1} })
		mat.EmissiveFactor = [3]float64{0.5, 0.25, 0}
		mat.EmissiveTexture = &gltf.TextureInfo{Index: m.texture(halves(color.NRGBA{255, 255, 255, 255}, color.NRGBA{0, 0, 0, 255}, true), nil)}
		if strength != 1 {
			mat.Extensions = gltf.Extensions{"KHR_materials_emissive_strength": map[string]any{"emissiveStrength": strength}}
		}
		m.quad(quadSpec{half: 1.5, material: m.material(mat)})
		s := m.scene()
		s.Lights = []scenes.Light{}
		img := drawModel(t, r, s)
		x, y0 := quadPoint(1.5, 0.5, 0.2)
		_, y1 := quadPoint(1.5, 0.5, 0.8)
		return pixelAt(img, x, y0), pixelAt(img, x, y1)
	}
	top, bottom := draw(1)
	top4, _ := draw(4)
	if top.R < 80 || top.R < top.G+30 || top.B > 10 || luma(bottom) > 5 {
		t.Errorf("emissive: top %v (want orange), bottom %v (want black)", top, bottom)
	}
	if luma(top4) < luma(top)+30 {
		t.Errorf("emissive strength 4: top %v, strength 1 %v", top4, top)
	}
}

// TestMaterialAlphaMask: a base colour texture whose right half has alpha 0.2 is cut away
// with the default cutoff 0.5 (the background shows) and kept with cutoff 0.1, in both
// shadings.
func TestMaterialAlphaMask(t *testing.T) {
	for _, sh := range []Shading{ShadingPBR, ShadingFast} {
		r := newRenderer(t, Config{Shading: sh})
		draw := func(cutoff *float64) (left, right color.RGBA) {
			m := newModel(t)
			mat := rough(nil)
			mat.AlphaMode, mat.AlphaCutoff = gltf.AlphaMask, cutoff
			mat.PBRMetallicRoughness.BaseColorTexture = &gltf.TextureInfo{Index: m.texture(halves(color.NRGBA{255, 255, 255, 255}, color.NRGBA{255, 255, 255, 51}, false), nil)}
			m.quad(quadSpec{half: 1.5, n: 4, material: m.material(mat)})
			img := drawModel(t, r, m.scene(dirLight(0, 0, -1, 1)))
			x0, y := quadPoint(1.5, 0.2, 0.5)
			x1, _ := quadPoint(1.5, 0.8, 0.5)
			return pixelAt(img, x0, y), pixelAt(img, x1, y)
		}
		left, right := draw(nil)
		if near(left, matBackground, 20) || !near(right, matBackground, 3) {
			t.Errorf("%s, cutoff 0.5: left %v (want the quad), right %v (want the background %v)", sh, left, right, matBackground)
		}
		_, right = draw(f64(0.1))
		if near(right, matBackground, 20) {
			t.Errorf("%s, cutoff 0.1: right %v, want the quad", sh, right)
		}
	}
}

// TestMaterialAlphaBlend: two unlit half-transparent quads, a large red one behind a small
// green one, listed nearest first: where only the red one is, the blue background shows
// through at half strength; where they overlap, the green one is blended over the red one
// (drawn back to front whatever the file's order), so green is 50% and red 25%, in both
// shadings.
func TestMaterialAlphaBlend(t *testing.T) {
	for _, sh := range []Shading{ShadingPBR, ShadingFast} {
		r := newRenderer(t, Config{Shading: sh})
		m := newModel(t)
		green := m.material(&gltf.Material{AlphaMode: gltf.AlphaBlend, Extensions: unlitExt,
			PBRMetallicRoughness: &gltf.PBRMetallicRoughness{BaseColorFactor: &[4]float64{0, 1, 0, 0.5}}})
		red := m.material(&gltf.Material{AlphaMode: gltf.AlphaBlend, Extensions: unlitExt,
			PBRMetallicRoughness: &gltf.PBRMetallicRoughness{BaseColorFactor: &[4]float64{1, 0, 0, 0.5}}})
		m.quad(quadSpec{half: 0.6, z: 0.5, material: green})
		m.quad(quadSpec{half: 1.5, z: 0, material: red})
		s := m.scene()
		s.Background = mgl32.Vec3{0, 0, 1}
		img := drawModel(t, r, s)
		if c := pixelAt(img, -1.2, 0); !near(c, color.RGBA{128, 0, 128, 255}, 3) {
			t.Errorf("%s: red quad over the background %v, want (128, 0, 128)", sh, c)
		}
		// The centre: green(0.5) over (red(0.5) over blue).
		if c := pixelAt(img, 0, 0); !near(c, color.RGBA{64, 128, 64, 255}, 3) {
			t.Errorf("%s: overlap %v, want (64, 128, 64): green blended over red", sh, c)
		}
	}
}

// TestMaterialDoubleSided: a quad whose front faces away from the camera is culled when
// single-sided and drawn, lit by a light on the camera's side (its normal turned towards
// the viewer), when double-sided, in both shadings.
func TestMaterialDoubleSided(t *testing.T) {
	for _, sh := range []Shading{ShadingPBR, ShadingFast} {
		r := newRenderer(t, Config{Shading: sh})
		for _, ds := range []bool{false, true} {
			m := newModel(t)
			m.quad(quadSpec{half: 1.5, n: 2, back: true, material: m.material(rough(func(g *gltf.Material) { g.DoubleSided = ds }))})
			c := pixelAt(drawModel(t, r, m.scene(dirLight(0, 0, -1, 1))), 0, 0)
			if !ds && !near(c, matBackground, 3) {
				t.Errorf("%s single-sided back face: %v, want the background", sh, c)
			}
			if ds && luma(c) < 150 {
				t.Errorf("%s double-sided back face: %v, want lit (bright)", sh, c)
			}
		}
	}
}

// TestMaterialSamplerWrap: an unlit quad with u running 0..2 over a texture black on the
// left half and white on the right (nearest filtering) shows, at u = 1.25 and u = 1.75:
// REPEAT black and white, CLAMP_TO_EDGE white and white, MIRRORED_REPEAT white and black.
func TestMaterialSamplerWrap(t *testing.T) {
	r := newRenderer(t, Config{Shading: ShadingPBR})
	black, white := color.RGBA{0, 0, 0, 255}, color.RGBA{255, 255, 255, 255}
	for _, tt := range []struct {
		wrap         gltf.WrappingMode
		name         string
		at125, at175 color.RGBA
	}{
		{gltf.WrapRepeat, "REPEAT", black, white},
		{gltf.WrapClampToEdge, "CLAMP_TO_EDGE", white, white},
		{gltf.WrapMirroredRepeat, "MIRRORED_REPEAT", white, black},
	} {
		m := newModel(t)
		tex := m.texture(halves(color.NRGBA{0, 0, 0, 255}, color.NRGBA{255, 255, 255, 255}, false),
			&gltf.Sampler{WrapS: tt.wrap, WrapT: tt.wrap, MagFilter: gltf.MagNearest, MinFilter: gltf.MinNearest})
		mat := m.material(&gltf.Material{Extensions: unlitExt, PBRMetallicRoughness: &gltf.PBRMetallicRoughness{BaseColorTexture: &gltf.TextureInfo{Index: tex}}})
		m.quad(quadSpec{half: 1.5, uMax: 2, material: mat})
		img := drawModel(t, r, m.scene())
		x0, y := quadPoint(1.5, 0.625, 0.5)
		x1, _ := quadPoint(1.5, 0.875, 0.5)
		if a, b := pixelAt(img, x0, y), pixelAt(img, x1, y); !near(a, tt.at125, 2) || !near(b, tt.at175, 2) {
			t.Errorf("%s: u = 1.25 %v, u = 1.75 %v; want %v and %v", tt.name, a, b, tt.at125, tt.at175)
		}
	}
}

// TestMaterialTextureTransform: KHR_texture_transform's offset 0.5 moves the black/white
// texture by half its width (u = 0.25 shows white, u = 0.75 black); TEXCOORD_1 chosen by a
// texture's texCoord, or by the transform's texCoord override, drives the lookup instead of
// TEXCOORD_0 (all zero, the black texel).
func TestMaterialTextureTransform(t *testing.T) {
	r := newRenderer(t, Config{Shading: ShadingPBR})
	black, white := color.RGBA{0, 0, 0, 255}, color.RGBA{255, 255, 255, 255}
	draw := func(ti func(tex int) *gltf.TextureInfo, q quadSpec) (at25, at75 color.RGBA) {
		m := newModel(t)
		tex := m.texture(halves(color.NRGBA{0, 0, 0, 255}, color.NRGBA{255, 255, 255, 255}, false),
			&gltf.Sampler{MagFilter: gltf.MagNearest, MinFilter: gltf.MinNearest})
		q.half, q.material = 1.5, m.material(&gltf.Material{Extensions: unlitExt, PBRMetallicRoughness: &gltf.PBRMetallicRoughness{BaseColorTexture: ti(tex)}})
		m.quad(q)
		img := drawModel(t, r, m.scene())
		x0, y := quadPoint(1.5, 0.25, 0.5)
		x1, _ := quadPoint(1.5, 0.75, 0.5)
		return pixelAt(img, x0, y), pixelAt(img, x1, y)
	}
	plain := func(tex int) *gltf.TextureInfo { return &gltf.TextureInfo{Index: tex} }
	if a, b := draw(plain, quadSpec{}); !near(a, black, 2) || !near(b, white, 2) {
		t.Fatalf("no transform: %v %v, want black and white", a, b)
	}
	offset := func(tex int) *gltf.TextureInfo {
		return &gltf.TextureInfo{Index: tex, Extensions: gltf.Extensions{"KHR_texture_transform": map[string]any{"offset": []float64{0.5, 0}}}}
	}
	if a, b := draw(offset, quadSpec{}); !near(a, white, 2) || !near(b, black, 2) {
		t.Errorf("offset 0.5: %v %v, want white and black", a, b)
	}
	uv1 := func(u, v float32) [2]float32 { return [2]float32{u, v} }
	set1 := func(tex int) *gltf.TextureInfo { return &gltf.TextureInfo{Index: tex, TexCoord: 1} }
	if a, b := draw(set1, quadSpec{uv0Zero: true, uv1: uv1}); !near(a, black, 2) || !near(b, white, 2) {
		t.Errorf("TEXCOORD_1: %v %v, want black and white", a, b)
	}
	if a, b := draw(plain, quadSpec{uv0Zero: true, uv1: uv1}); !near(a, black, 2) || !near(b, black, 2) {
		t.Errorf("TEXCOORD_0 (all zero): %v %v, want black and black", a, b)
	}
	override := func(tex int) *gltf.TextureInfo {
		return &gltf.TextureInfo{Index: tex, Extensions: gltf.Extensions{"KHR_texture_transform": map[string]any{"texCoord": 1}}}
	}
	if _, b := draw(override, quadSpec{uv0Zero: true, uv1: uv1}); !near(b, white, 2) {
		t.Errorf("transform's texCoord 1: %v, want white", b)
	}
}

// TestMaterialVertexColors: COLOR_0 tints a white material, lit or unlit, in both shadings.
func TestMaterialVertexColors(t *testing.T) {
	for _, sh := range []Shading{ShadingPBR, ShadingFast} {
		r := newRenderer(t, Config{Shading: sh})
		for _, unlit := range []bool{false, true} {
			m := newModel(t)
			mat := rough(nil)
			if unlit {
				mat.Extensions = unlitExt
			}
			m.quad(quadSpec{half: 1.5, n: 2, color: &[4]float32{1, 0, 0, 1}, material: m.material(mat)})
			c := pixelAt(drawModel(t, r, m.scene(dirLight(0, 0, -1, 1))), 0, 0)
			if c.R < 120 || c.G > 30 || c.B > 30 || c.R < c.G+100 {
				t.Errorf("%s (unlit %v): %v, want red", sh, unlit, c)
			}
		}
	}
}

// TestMaterialSpotLight: a KHR_lights_punctual spot light 2 units in front of a finely
// divided quad, pointing at it with cone angles 0.2 and 0.3 radians, lights a disc of
// radius 0.41 to 0.62 around the centre: inside bright, outside black; the same light as
// a point light lights the outside too. Both shadings (the fast one per vertex).
func TestMaterialSpotLight(t *testing.T) {
	for _, sh := range []Shading{ShadingPBR, ShadingFast} {
		r := newRenderer(t, Config{Shading: sh})
		for _, typ := range []string{"spot", "point"} {
			m := newModel(t)
			m.quad(quadSpec{half: 1.5, n: 40, material: m.material(rough(nil))})
			light := map[string]any{"type": typ, "intensity": 8}
			if typ == "spot" {
				light["spot"] = map[string]any{"innerConeAngle": 0.2, "outerConeAngle": 0.3}
			}
			m.doc.Extensions = gltf.Extensions{"KHR_lights_punctual": map[string]any{"lights": []any{light}}}
			m.doc.ExtensionsUsed = []string{"KHR_lights_punctual"}
			m.node(&gltf.Node{Translation: [3]float64{0, 0, 2}, Extensions: gltf.Extensions{"KHR_lights_punctual": map[string]any{"light": 0}}})
			s := m.scene()
			if len(s.Lights) != 1 {
				t.Fatalf("%d lights loaded", len(s.Lights))
			}
			img := drawModel(t, r, s)
			centre, inside, outside := luma(pixelAt(img, 0, 0)), luma(pixelAt(img, 0.25, 0.2)), luma(pixelAt(img, 0.9, 0.3))
			switch {
			case centre < 150 || inside < 150:
				t.Errorf("%s %s: centre %d, inside the inner cone %d: want lit", sh, typ, centre, inside)
			case typ == "spot" && outside > 3:
				t.Errorf("%s spot: outside the cone %d, want black", sh, outside)
			case typ == "point" && outside < 60:
				t.Errorf("%s point: at the same place %d, want lit", sh, outside)
			}
			// The fast shading's spot variants are built for scenes with spot lights only.
			var built bool
			if err := r.do(func() error { built = r.fastSpot != nil; return nil }); err != nil {
				t.Fatal(err)
			}
			if typ == "spot" && built != (sh == ShadingFast) {
				t.Errorf("%s: fast spot programs built %v after a spot scene, want %v", sh, built, sh == ShadingFast)
			}
		}
	}
	r := newRenderer(t, Config{Shading: ShadingFast})
	drawModel(t, r, quadScene(dirLight(0, 0, -1, 1)))
	var built bool
	if err := r.do(func() error { built = r.fastSpot != nil; return nil }); err != nil {
		t.Fatal(err)
	}
	if built {
		t.Error("fast shading built its spot programs for a scene without spot lights")
	}
}

// TestMaterialClearcoat: KHR_materials_clearcoat (factor 1, roughness 0.1) adds a sharp
// highlight at the centre of a dark, rough quad facing a light behind the camera.
func TestMaterialClearcoat(t *testing.T) {
	r := newRenderer(t, Config{Shading: ShadingPBR})
	draw := func(coat bool) int {
		m := newModel(t)
		mat := rough(func(g *gltf.Material) { g.PBRMetallicRoughness.BaseColorFactor = &[4]float64{0.05, 0.05, 0.05, 1} })
		if coat {
			mat.Extensions = gltf.Extensions{"KHR_materials_clearcoat": map[string]any{"clearcoatFactor": 1, "clearcoatRoughnessFactor": 0.1}}
		}
		m.quad(quadSpec{half: 1.5, n: 4, material: m.material(mat)})
		return luma(pixelAt(drawModel(t, r, m.scene(dirLight(0, 0, -1, 2))), 0, 0))
	}
	if with, without := draw(true), draw(false); with < without+60 {
		t.Errorf("centre with clearcoat %d, without %d: want a highlight", with, without)
	}
	// clearcoatTexture's red channel scales the factor: 0 removes the coat.
	m := newModel(t)
	mat := rough(func(g *gltf.Material) { g.PBRMetallicRoughness.BaseColorFactor = &[4]float64{0.05, 0.05, 0.05, 1} })
	mat.Extensions = gltf.Extensions{"KHR_materials_clearcoat": map[string]any{"clearcoatFactor": 1, "clearcoatRoughnessFactor": 0.1,
		"clearcoatTexture": map[string]any{"index": m.texture(solid(4, 4, color.NRGBA{0, 255, 255, 255}), nil)}}}
	m.quad(quadSpec{half: 1.5, n: 4, material: m.material(mat)})
	if got, without := luma(pixelAt(drawModel(t, r, m.scene(dirLight(0, 0, -1, 2))), 0, 0)), draw(false); got > without+10 {
		t.Errorf("clearcoat texture red 0: centre %d, without clearcoat %d: the texture does not scale the coat", got, without)
	}
}

// TestMaterialTransmission: a white quad with KHR_materials_transmission 1 in front of a
// red one lets the red show through (approximated by blending), where without transmission
// it hides it; in both shadings.
func TestMaterialTransmission(t *testing.T) {
	for _, sh := range []Shading{ShadingPBR, ShadingFast} {
		r := newRenderer(t, Config{Shading: sh})
		for _, tr := range []float64{0, 1} {
			m := newModel(t)
			glass := rough(nil)
			if tr > 0 {
				glass.Extensions = gltf.Extensions{"KHR_materials_transmission": map[string]any{"transmissionFactor": tr}}
			}
			m.quad(quadSpec{half: 0.75, z: 0.5, n: 2, material: m.material(glass)})
			m.quad(quadSpec{half: 1.5, n: 2, material: m.material(rough(func(g *gltf.Material) {
				g.PBRMetallicRoughness.BaseColorFactor = &[4]float64{1, 0, 0, 1}
			}))})
			c := pixelAt(drawModel(t, r, m.scene(dirLight(0, 0, -1, 1))), 0, 0)
			if tr == 0 && (c.G < 120 || c.B < 120) {
				t.Errorf("%s, no transmission: %v, want the white quad", sh, c)
			}
			if tr == 1 && (c.R < 120 || c.G > 60) {
				t.Errorf("%s, transmission 1: %v, want the red quad behind", sh, c)
			}
		}
	}
	// transmissionTexture's red channel scales the factor (PBR): 0 makes the quad opaque.
	r := newRenderer(t, Config{Shading: ShadingPBR})
	m := newModel(t)
	glass := rough(nil)
	glass.Extensions = gltf.Extensions{"KHR_materials_transmission": map[string]any{"transmissionFactor": 1,
		"transmissionTexture": map[string]any{"index": m.texture(solid(4, 4, color.NRGBA{0, 0, 0, 255}), nil)}}}
	m.quad(quadSpec{half: 0.75, z: 0.5, n: 2, material: m.material(glass)})
	m.quad(quadSpec{half: 1.5, n: 2, material: m.material(rough(func(g *gltf.Material) {
		g.PBRMetallicRoughness.BaseColorFactor = &[4]float64{1, 0, 0, 1}
	}))})
	if c := pixelAt(drawModel(t, r, m.scene(dirLight(0, 0, -1, 1))), 0, 0); c.G < 120 || c.B < 120 {
		t.Errorf("transmission texture red 0: %v, want the white quad (opaque)", c)
	}
}

// TestMaterialTextureShared: two views of the same scene, and two materials using one
// image, upload it once: the renderer's texture count grows by the number of distinct
// (image, colour space) pairs, not by the number of draws or views.
func TestMaterialTextureShared(t *testing.T) {
	r := newRenderer(t, Config{Shading: ShadingPBR})
	m := newModel(t)
	tex := m.texture(halves(color.NRGBA{0, 0, 0, 255}, color.NRGBA{255, 255, 255, 255}, false), nil)
	for i := range 3 {
		mat := m.material(rough(func(g *gltf.Material) {
			g.PBRMetallicRoughness.BaseColorTexture = &gltf.TextureInfo{Index: tex}
		}))
		m.quad(quadSpec{half: 0.4, z: float32(i) * 0.1, material: mat})
	}
	s := m.scene(dirLight(0, 0, -1, 1))
	before, err := r.Stats()
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		drawModel(t, r, s.Clone())
	}
	after, _ := r.Stats()
	// Each view adds its own render targets; count the cached textures instead.
	if got := after.CachedTextures - before.CachedTextures; got != 1 {
		t.Errorf("%d textures cached for one image drawn by 3 materials in 2 views, want 1 (%+v)", got, after)
	}
}

// TestMaterialTextureTooBig: a texture larger than the context takes (GL_MAX_TEXTURE_SIZE,
// lowered here to 4) is drawn without, its material's factor alone, with one warning
// however many frames draw it.
func TestMaterialTextureTooBig(t *testing.T) {
	var logs syncBuffer
	r := newRenderer(t, Config{Shading: ShadingPBR, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err := r.do(func() error { r.maxTexture = 4; return nil }); err != nil {
		t.Fatal(err)
	}
	m := newModel(t)
	tex := m.texture(halves(color.NRGBA{0, 0, 0, 255}, color.NRGBA{255, 255, 255, 255}, false), nil)
	m.quad(quadSpec{half: 1.5, material: m.material(&gltf.Material{Extensions: unlitExt,
		PBRMetallicRoughness: &gltf.PBRMetallicRoughness{BaseColorFactor: &[4]float64{1, 0, 0, 1}, BaseColorTexture: &gltf.TextureInfo{Index: tex}}})})
	s := m.scene()
	v := newView(t, r, matSize, matSize)
	for range 2 {
		img := drawRGBA(t, v, s)
		x, y := quadPoint(1.5, 0.25, 0.5)
		if c := pixelAt(img, x, y); !near(c, color.RGBA{255, 0, 0, 255}, 2) {
			t.Fatalf("left half %v, want the red factor alone (texture skipped)", c)
		}
	}
	if n := strings.Count(logs.String(), "texture larger than the GPU takes"); n != 1 {
		t.Errorf("%d warnings, want 1: %s", n, logs.String())
	}
}
