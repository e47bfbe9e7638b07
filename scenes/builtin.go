package scenes

import (
	"fmt"
	"image/color"
	"math"

	"github.com/go-gl/mathgl/mgl32"
)

// Built-in scene names.
const (
	// DemoScene is the first impression: lit shapes with varied materials on a round stage,
	// a gold torus spinning in the middle.
	DemoScene = "demo"
	// TestcardScene is a stress test for the codec: colour bars, a zone plate, one-pixel
	// detail, a grey ramp, a spinning checkered cube and a sweeping bar.
	TestcardScene = "testcard"
)

// builtins lists the built-in scenes and their constructors, sorted by name.
func builtins() []struct {
	name  string
	build func(Detail) *Scene
} {
	return []struct {
		name  string
		build func(Detail) *Scene
	}{{DemoScene, demoScene}, {TestcardScene, testcardScene}}
}

// BuiltinNames returns the names Builtin accepts, sorted.
func BuiltinNames() []string {
	var names []string
	for _, b := range builtins() {
		names = append(names, b.name)
	}
	return names
}

// Builtin builds the named built-in scene; each call returns a new, independent scene. An
// unknown name gives ErrUnknownScene.
//
// Every built-in scene keeps the top-left corner of the image (at least 32x32 pixels at
// 640x360 and larger 16:9 sizes) free of geometry at its default camera, so that corner
// always shows the background colour.
func Builtin(name string) (*Scene, error) { return BuiltinDetail(name, DetailFull) }

// BuiltinDetail is Builtin at level of detail d (see Detail): the same nodes, materials,
// lights, camera and animation, with curved meshes tessellated at d. The corner guarantee
// of Builtin holds at every level. The testcard scene ignores d: it has no curved shapes
// and is cheap to draw.
func BuiltinDetail(name string, d Detail) (*Scene, error) {
	for _, b := range builtins() {
		if b.name == name {
			return b.build(d), nil
		}
	}
	return nil, fmt.Errorf("%w: no built-in scene %q (have %v)", ErrUnknownScene, name, BuiltinNames())
}

// sceneBuilder accumulates meshes, materials and nodes.
type sceneBuilder struct{ s *Scene }

func (b *sceneBuilder) material(m Material) int {
	b.s.Materials = append(b.s.Materials, &m)
	return len(b.s.Materials) - 1
}

// object adds a root node named name showing prim with material mat at position pos and
// returns the node's index.
func (b *sceneBuilder) object(name string, prim Primitive, mat int, pos mgl32.Vec3) int {
	prim.Material = mat
	b.s.Meshes = append(b.s.Meshes, &Mesh{Name: name, Primitives: []Primitive{prim}})
	n := NewNode(name, len(b.s.Meshes)-1)
	n.Translation = pos
	b.s.Nodes = append(b.s.Nodes, n)
	b.s.Roots = append(b.s.Roots, len(b.s.Nodes)-1)
	return len(b.s.Nodes) - 1
}

// shape adds a root node like object, its mesh built by build at level of detail d. When d
// is not DetailFull and the full-detail build differs, the mesh carries it in Mesh.Full.
func (b *sceneBuilder) shape(name string, d Detail, build func(Detail) Primitive, mat int, pos mgl32.Vec3) int {
	n := b.object(name, build(d), mat, pos)
	if d == DetailFull {
		return n
	}
	full := build(DetailFull)
	m := b.s.Meshes[b.s.Nodes[n].Mesh]
	if len(full.Indices) != len(m.Primitives[0].Indices) || len(full.Positions) != len(m.Primitives[0].Positions) {
		full.Material = mat
		m.Full = []Primitive{full}
	}
	return n
}

// srgb converts an sRGB colour (0..1 per channel) to linear RGBA (opaque).
func srgb(r, g, b float32) mgl32.Vec4 {
	return mgl32.Vec4{srgbToLinear(r), srgbToLinear(g), srgbToLinear(b), 1}
}

// srgbToLinear applies the sRGB electro-optical transfer function.
func srgbToLinear(c float32) float32 {
	if c <= 0.04045 {
		return c / 12.92
	}
	return float32(math.Pow((float64(c)+0.055)/1.055, 2.4))
}

// demoBackground is the demo's soft dark blue-grey (sRGB).
func demoBackground() mgl32.Vec3 { return mgl32.Vec3{0.17, 0.20, 0.25} }

// studioLights is the demo's three-light set-up, also given to models without lights: a warm
// key from the upper left, a cool fill from the right and a warm point light above the front.
func studioLights(center mgl32.Vec3, size float32) []Light {
	return []Light{
		{Type: Directional, Color: mgl32.Vec3{1.0, 0.9, 0.78}, Intensity: 3.0,
			Direction: mgl32.Vec3{0.55, -1.0, -0.45}.Normalize()},
		{Type: Directional, Color: mgl32.Vec3{0.55, 0.68, 1.0}, Intensity: 0.8,
			Direction: mgl32.Vec3{-0.85, -0.35, -0.25}.Normalize()},
		{Type: Point, Color: mgl32.Vec3{1.0, 0.82, 0.6}, Intensity: 6.0 * size * size,
			Position: center.Add(mgl32.Vec3{0.4, 0.9, 0.7}.Mul(size * 2))},
	}
}

func studioAmbient() mgl32.Vec3 { return mgl32.Vec3{0.035, 0.04, 0.05} }

// demoScene: a round stage with a spinning gold torus over a plinth and coloured shapes,
// curved shapes tessellated at d.
func demoScene(d Detail) *Scene {
	s := &Scene{Name: DemoScene, Background: demoBackground(), Ambient: studioAmbient()}
	b := sceneBuilder{s}
	stage := b.material(Material{Name: "stage", BaseColor: srgb(0.36, 0.36, 0.39), Roughness: 0.75})
	marble := b.material(Material{Name: "marble", BaseColor: srgb(0.92, 0.91, 0.88), Roughness: 0.35})
	gold := b.material(Material{Name: "gold", BaseColor: mgl32.Vec4{1.0, 0.766, 0.336, 1}, Metallic: 0.8, Roughness: 0.3})
	copper := b.material(Material{Name: "copper", BaseColor: mgl32.Vec4{0.955, 0.638, 0.538, 1}, Metallic: 0.75, Roughness: 0.35})
	red := b.material(Material{Name: "red", BaseColor: srgb(0.82, 0.16, 0.12), Roughness: 0.65})
	blue := b.material(Material{Name: "blue", BaseColor: srgb(0.16, 0.38, 0.86), Roughness: 0.22})
	green := b.material(Material{Name: "green", BaseColor: srgb(0.30, 0.72, 0.32), Roughness: 0.5})
	teal := b.material(Material{Name: "teal", BaseColor: srgb(0.10, 0.62, 0.62), Roughness: 0.4})
	ivory := b.material(Material{Name: "ivory", BaseColor: srgb(0.90, 0.88, 0.82), Roughness: 0.45})
	// The material model's showpieces: a brick block with a normal map (textures made here),
	// a glass ball (transmission, clearcoat) and a clear-coated blue.
	brickInfo := TextureInfo{Sampler: Sampler{WrapS: WrapRepeat, WrapT: WrapRepeat}}
	brick := b.material(Material{Name: "brick", BaseColor: mgl32.Vec4{1, 1, 1, 1}, Roughness: 0.85,
		BaseColorTexture: BrickTexture(128), BaseColorInfo: brickInfo,
		NormalTexture: &Texture{Image: BrickNormalTexture(128), TextureInfo: brickInfo}, NormalScale: 1, OcclusionStrength: 1})
	glass := b.material(Material{Name: "glass", BaseColor: srgb(0.92, 0.97, 1.0), Roughness: 0.05,
		Transmission: 0.9, Clearcoat: 1, ClearcoatRoughness: 0.03})
	s.Materials[blue].Clearcoat, s.Materials[blue].ClearcoatRoughness = 1, 0.05

	// Curved shapes are tessellated at d; below full detail their meshes also carry the
	// full-detail geometry (Mesh.Full) for refined still pictures.
	b.shape("stage", d, func(d Detail) Primitive { return Cylinder(4.2, 0.2, d.around(128)) }, stage, mgl32.Vec3{0, -0.1, 0})
	b.shape("plinth", d, func(d Detail) Primitive { return Cylinder(0.6, 0.2, d.around(48)) }, marble, mgl32.Vec3{0, 0.1, 0})
	torus := b.shape("torus", d, func(d Detail) Primitive { return Torus(0.85, 0.3, d.around(96), d.along(48)) }, gold, mgl32.Vec3{0, 1.5, 0})
	b.shape("red-sphere", d, func(d Detail) Primitive { return Sphere(0.55, d.around(64), d.along(32)) }, red, mgl32.Vec3{-2.1, 0.55, 0.9})
	b.shape("blue-sphere", d, func(d Detail) Primitive { return Sphere(0.42, d.around(64), d.along(32)) }, blue, mgl32.Vec3{1.85, 0.42, 1.45})
	b.shape("green-sphere", d, func(d Detail) Primitive { return Sphere(0.28, d.around(48), d.along(24)) }, green, mgl32.Vec3{-0.75, 0.28, 2.1})
	cube := b.object("cube", Box(1, 1, 1), ivory, mgl32.Vec3{2.2, 0.5, -0.9})
	s.Nodes[cube].Rotation = mgl32.QuatRotate(mgl32.DegToRad(28), mgl32.Vec3{0, 1, 0})
	b.shape("copper-cylinder", d, func(d Detail) Primitive { return Cylinder(0.42, 1.3, d.around(64)) }, copper, mgl32.Vec3{-2.0, 0.65, -1.5})
	b.shape("teal-cone", d, func(d Detail) Primitive { return Cone(0.5, 1.1, d.around(64)) }, teal, mgl32.Vec3{0.5, 0.55, -2.4})
	bricks := Box(0.9, 0.7, 0.9)
	bricks.Tangents = GenerateTangents(&bricks, bricks.UVs)
	block := b.object("brick-block", bricks, brick, mgl32.Vec3{-3.3, 0.35, -0.75})
	s.Nodes[block].Rotation = mgl32.QuatRotate(mgl32.DegToRad(-20), mgl32.Vec3{0, 1, 0})
	b.shape("glass-sphere", d, func(d Detail) Primitive { return Sphere(0.5, d.around(64), d.along(32)) }, glass, mgl32.Vec3{3.25, 0.5, 0.55})

	upright := mgl32.QuatRotate(mgl32.DegToRad(90), mgl32.Vec3{1, 0, 0})
	s.Nodes[torus].Rotation = upright
	s.Animate = func(s *Scene, t float64) {
		if torus >= len(s.Nodes) {
			return
		}
		spin := mgl32.QuatRotate(float32(math.Mod(t*0.6, 2*math.Pi)), mgl32.Vec3{0, 1, 0})
		s.Nodes[torus].Rotation = spin.Mul(upright)
	}

	s.Lights = studioLights(mgl32.Vec3{0, 0.8, 0}, 1.5)
	s.Camera = Camera{Target: mgl32.Vec3{0, 0.7, 0}, Up: mgl32.Vec3{0, 1, 0}, FovY: 40}
	s.Camera.Eye = s.Camera.Target.Add(orbitOffset(s.Camera.Up, 18, 22, 9))
	s.Camera.SetHome()
	return s
}

// testcardScene: a flat chart facing the camera (16 x 9 world units fill a 16:9 frame) with
// colour bars, a zone plate, a detail wedge, a grey ramp, a spinning checkered cube and a
// bar sweeping over the ramp. It has no curved shapes and ignores the level of detail.
func testcardScene(Detail) *Scene {
	s := &Scene{Name: TestcardScene, Background: mgl32.Vec3{0.11, 0.11, 0.11}, Ambient: mgl32.Vec3{0.25, 0.25, 0.25}}
	b := sceneBuilder{s}
	unlit := func(name string, c mgl32.Vec4) int {
		return b.material(Material{Name: name, BaseColor: c, Roughness: 1, Unlit: true})
	}
	// Colour bars: 100% white, yellow, cyan, green, magenta, red, blue.
	bars := []struct {
		name    string
		r, g, b float32
	}{
		{"white", 1, 1, 1}, {"yellow", 1, 1, 0}, {"cyan", 0, 1, 1}, {"green", 0, 1, 0},
		{"magenta", 1, 0, 1}, {"red", 1, 0, 0}, {"blue", 0, 0, 1},
	}
	const left, right = -6.3, 6.3
	barW := float32(right-left) / float32(len(bars))
	for i, c := range bars {
		m := unlit("bar-"+c.name, srgb(c.r, c.g, c.b))
		x := left + barW*(float32(i)+0.5)
		b.object("bar-"+c.name, Quad(barW, 1.7), m, mgl32.Vec3{x, 2.8, 0})
	}
	zone := b.material(Material{Name: "zone-plate", BaseColor: mgl32.Vec4{1, 1, 1, 1}, Unlit: true,
		BaseColorTexture: ZonePlateTexture(512)})
	b.object("zone-plate", Quad(4.2, 4.2), zone, mgl32.Vec3{-4.2, -0.35, 0})
	wedge := b.material(Material{Name: "wedge", BaseColor: mgl32.Vec4{1, 1, 1, 1}, Unlit: true,
		BaseColorTexture: WedgeTexture(512)})
	b.object("wedge", Quad(4.2, 4.2), wedge, mgl32.Vec3{4.2, -0.35, 0})
	// Grey ramp: 11 steps from black to white (sRGB).
	const steps = 11
	stepW := float32(right-left) / steps
	for i := range steps {
		v := float32(i) / (steps - 1)
		name := fmt.Sprintf("grey-%02d", i)
		b.object(name, Quad(stepW, 0.8), unlit(name, srgb(v, v, v)), mgl32.Vec3{left + stepW*(float32(i)+0.5), -3.3, 0})
	}
	checker := b.material(Material{Name: "checker", BaseColor: mgl32.Vec4{1, 1, 1, 1}, Roughness: 0.5,
		BaseColorTexture: CheckerTexture(256, 8, color.NRGBA{240, 240, 240, 255}, color.NRGBA{20, 20, 20, 255})})
	cubeNode := b.object("cube", Box(1.5, 1.5, 1.5), checker, mgl32.Vec3{0, -0.35, 0})
	sweep := unlit("sweep", srgb(1, 0.25, 0.1))
	sweepNode := b.object("sweep", Quad(0.16, 1.1), sweep, mgl32.Vec3{0, -3.3, 0.02})

	axis := mgl32.Vec3{1, 1, 0.3}.Normalize()
	tilt := mgl32.QuatRotate(mgl32.DegToRad(20), mgl32.Vec3{1, 0, 0})
	s.Animate = func(s *Scene, t float64) {
		if cubeNode >= len(s.Nodes) || sweepNode >= len(s.Nodes) {
			return
		}
		s.Nodes[cubeNode].Rotation = mgl32.QuatRotate(float32(math.Mod(t*0.9, 2*math.Pi)), axis).Mul(tilt)
		s.Nodes[sweepNode].Translation[0] = float32(5.9 * math.Sin(t*0.8))
	}
	s.Animate(s, 0)

	s.Lights = []Light{
		{Type: Directional, Color: mgl32.Vec3{1, 1, 1}, Intensity: 2.5, Direction: mgl32.Vec3{0.4, -0.6, -1}.Normalize()},
	}
	// 16 x 9 world units at z = 0 fill the frame: distance = 4.5 / tan(15°).
	s.Camera = Camera{Eye: mgl32.Vec3{0, 0, float32(4.5 / math.Tan(15*math.Pi/180))}, Up: mgl32.Vec3{0, 1, 0}, FovY: 30}
	s.Camera.SetHome()
	return s
}
