package render

import (
	"errors"
	"image"
	"image/color"
	"io/fs"
	"log/slog"
	"math"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/go-gl/mathgl/mgl32"

	"github.com/rendercast/rendercast/scenes"
	"github.com/rendercast/rendercast/shaders"
)

// shadowScene is a 12x12 grey floor (y = 0, facing up) under a unit cube floating at
// y = 1..2, lit by a directional light from above and a little to the left (+x shadows),
// seen from the front and above.
func shadowScene() *scenes.Scene {
	s := &scenes.Scene{
		Name:       "shadow",
		Background: mgl32.Vec3{0.1, 0.1, 0.1},
		Ambient:    mgl32.Vec3{0.05, 0.05, 0.05},
		Camera:     scenes.Camera{Eye: mgl32.Vec3{0, 7, 8}, Target: mgl32.Vec3{0.5, 0, 0}, Up: mgl32.Vec3{0, 1, 0}, FovY: 45},
		Materials: []*scenes.Material{
			{BaseColor: mgl32.Vec4{0.7, 0.7, 0.7, 1}, Roughness: 1},
			{BaseColor: mgl32.Vec4{0.8, 0.3, 0.2, 1}, Roughness: 0.6},
		},
		Lights: []scenes.Light{
			{Type: scenes.Directional, Color: mgl32.Vec3{1, 1, 1}, Intensity: 2, Direction: mgl32.Vec3{0.5, -1, 0}.Normalize()},
		},
	}
	floor := scenes.Primitive{
		Positions: []mgl32.Vec3{{-6, 0, 6}, {6, 0, 6}, {6, 0, -6}, {-6, 0, -6}},
		Normals:   []mgl32.Vec3{{0, 1, 0}, {0, 1, 0}, {0, 1, 0}, {0, 1, 0}},
		Indices:   []uint32{0, 1, 2, 0, 2, 3},
	}
	cube := box(1, 1, 1)
	cube.Material = 1
	s.Meshes = []*scenes.Mesh{{Name: "floor", Primitives: []scenes.Primitive{floor}}, {Name: "cube", Primitives: []scenes.Primitive{cube}}}
	s.Nodes = []*scenes.Node{scenes.NewNode("floor", 0), scenes.NewNode("cube", 1)}
	s.Nodes[1].Translation = mgl32.Vec3{0, 1.5, 0}
	s.Roots = []int{0, 1}
	return s
}

// pixelOf is where world point p shows in a w x h frame of s (image rows from the top).
func pixelOf(s *scenes.Scene, p mgl32.Vec3, w, h int) image.Point {
	c := s.Camera.Projection(float32(w) / float32(h)).Mul4(s.Camera.View()).Mul4x1(p.Vec4(1))
	x, y := c[0]/c[3], c[1]/c[3]
	return image.Pt(int(math.Floor(float64((x+1)/2*float32(w)))), int(math.Floor(float64((1-y)/2*float32(h)))))
}

// lumaF is a pixel's mean of R, G and B.
func lumaF(c color.RGBA) float64 { return (float64(c.R) + float64(c.G) + float64(c.B)) / 3 }

// meanAround is the mean luma of the 5x5 pixels around p.
func meanAround(img *image.RGBA, p image.Point) float64 {
	var sum float64
	for y := p.Y - 2; y <= p.Y+2; y++ {
		for x := p.X - 2; x <= p.X+2; x++ {
			sum += lumaF(img.RGBAAt(x, y))
		}
	}
	return sum / 25
}

// The cube at y = 1..2 under a light travelling (0.5, -1, 0) shadows the floor at
// x = 0..1.5 (z = -0.5..0.5): (0.9, 0, 0) is inside, clear of the cube in the camera's
// view; (-2.5, 0, 2) and (3, 0, -1) are outside.
var (
	inShadow   = mgl32.Vec3{0.9, 0, 0}
	outShadows = []mgl32.Vec3{{-2.5, 0, 2}, {3, 0, -1}}
)

// TestShadowUnderCube: with shadows on, the floor under the cube (along the light) is
// dark, near the ambient light alone; floor outside the shadow is as without shadows. Both
// shadings: a fast-shaded renderer draws frames with shadows per pixel.
func TestShadowUnderCube(t *testing.T) {
	const w, h = 320, 180
	for _, sh := range []Shading{ShadingPBR, ShadingFast} {
		t.Run(string(sh), func(t *testing.T) {
			s := shadowScene()
			off := drawRGBA(t, newView(t, newRenderer(t, Config{Shading: ShadingPBR, Shadows: ShadowsOff}), w, h), s)
			on := drawRGBA(t, newView(t, newRenderer(t, Config{Shading: sh, Shadows: ShadowsOn}), w, h), s)
			p := pixelOf(s, inShadow, w, h)
			lit, dark := meanAround(off, p), meanAround(on, p)
			// Lit floor: about 200 levels; in the shadow only the ambient light: about 50.
			if lit < 150 || dark > lit*0.45 {
				t.Errorf("floor under the cube at %v: %.1f without shadows, %.1f with; want it under 45%% as bright", p, lit, dark)
			}
			for _, o := range outShadows {
				q := pixelOf(s, o, w, h)
				if a, b := meanAround(off, q), meanAround(on, q); math.Abs(a-b) > 2 {
					t.Errorf("floor outside the shadow at %v: %.1f without shadows, %.1f with", q, a, b)
				}
			}
			// The cube's own lit top is not shadowed (no acne on it).
			top := pixelOf(s, mgl32.Vec3{0, 2, 0.2}, w, h)
			if a, b := meanAround(off, top), meanAround(on, top); math.Abs(a-b) > 3 {
				t.Errorf("cube top at %v: %.1f without shadows, %.1f with", top, a, b)
			}
		})
	}
}

// TestShadowNoAcne: a flat floor lit at a grazing angle (17 degrees), with nothing above
// it, looks exactly as without shadows: no pixel of it darkened by its own depth.
func TestShadowNoAcne(t *testing.T) {
	const w, h = 320, 180
	s := shadowScene()
	s.Nodes[1].Visible = false
	s.Lights[0].Direction = mgl32.Vec3{1, -0.3, 0.2}.Normalize()
	off := drawRGBA(t, newView(t, newRenderer(t, Config{Shading: ShadingPBR, Shadows: ShadowsOff}), w, h), s)
	on := drawRGBA(t, newView(t, newRenderer(t, Config{Shading: ShadingPBR, Shadows: ShadowsOn}), w, h), s)
	bg := color.RGBA{26, 26, 26, 255}
	floor, bad := 0, 0
	for y := range h {
		for x := range w {
			a, b := off.RGBAAt(x, y), on.RGBAAt(x, y)
			if a == bg {
				continue
			}
			floor++
			if math.Abs(lumaF(a)-lumaF(b)) > 2 {
				bad++
			}
		}
	}
	if floor < w*h/3 || bad > 0 {
		t.Errorf("%d floor pixels, %d of them changed by shadows (acne)", floor, bad)
	}
	// The floor's lit colour is smooth: neighbouring pixels differ by little.
	for y := 1; y < h; y++ {
		for x := 1; x < w; x++ {
			c, l, u := lumaF(on.RGBAAt(x, y)), lumaF(on.RGBAAt(x-1, y)), lumaF(on.RGBAAt(x, y-1))
			if on.RGBAAt(x, y) != bg && on.RGBAAt(x-1, y) != bg && on.RGBAAt(x, y-1) != bg && (math.Abs(c-l) > 3 || math.Abs(c-u) > 3) {
				t.Fatalf("floor pixel %d,%d = %.1f, left %.1f, above %.1f: not smooth", x, y, c, l, u)
			}
		}
	}
}

// TestShadowsAutoSoftware: with the automatic choice a software rasteriser draws moving
// (interactive) frames without shadows, refined frames with them; Quality.Shadows
// overrides either way. On a GPU every frame has them.
func TestShadowsAutoSoftware(t *testing.T) {
	const w, h = 320, 180
	s := shadowScene()
	r := newRenderer(t, Config{})
	v := newView(t, r, w, h)
	info := r.Info()
	p := pixelOf(s, inShadow, w, h)
	frame := func(q Quality) float64 {
		t.Helper()
		if _, err := v.RenderWith(s, nil, q); err != nil {
			t.Fatalf("RenderWith(%+v): %v", q, err)
		}
		img, err := v.ReadRGBA(nil)
		if err != nil {
			t.Fatal(err)
		}
		return meanAround(img, p)
	}
	moving, refined := frame(Quality{}), frame(Quality{Refined: true})
	movingOn, refinedOff := frame(Quality{Shadows: ShadowsOn}), frame(Quality{Refined: true, Shadows: ShadowsOff})
	if refined > refinedOff*0.45 || movingOn > refinedOff*0.45 {
		t.Errorf("shadowed floor: refined %.1f (forced off %.1f), moving forced on %.1f: want shadows in refined and forced frames", refined, refinedOff, movingOn)
	}
	if info.Software {
		if info.Shadows != ShadowsAuto {
			t.Errorf("software renderer: Info().Shadows = %q, want auto (refined frames only)", info.Shadows)
		}
		if moving < refinedOff*0.8 {
			t.Errorf("software renderer, moving frame: floor under the cube %.1f, want no shadow (about %.1f)", moving, refinedOff)
		}
	} else if info.Shadows != ShadowsOn || moving > refinedOff*0.45 {
		t.Errorf("GPU: Info().Shadows = %q, moving frame %.1f: want shadows on", info.Shadows, moving)
	}
	if _, err := v.RenderWith(s, nil, Quality{Shadows: "soft"}); !errors.Is(err, ErrBadQuality) {
		t.Errorf("Quality{Shadows: soft}: %v, want ErrBadQuality", err)
	}
	if _, err := New(Config{Shadows: "always"}); !errors.Is(err, ErrBadConfig) {
		t.Errorf("Config{Shadows: always}: %v, want ErrBadConfig", err)
	}
}

// TestShadowMapReuse: the shadow map is rendered once for a scene state: not again when
// only the camera moves or another view draws the same state, again when the light or a
// casting object moves; the moved cube's shadow moves with it; a scene's new states
// replace its map.
func TestShadowMapReuse(t *testing.T) {
	const w, h = 160, 90
	s := shadowScene()
	r := newRenderer(t, Config{Shading: ShadingPBR, Shadows: ShadowsOn})
	v1, v2 := newView(t, r, w, h), newView(t, r, w, h)
	rendered := func() uint64 {
		var n uint64
		if err := r.do(func() error { n = r.shadows.rendered; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	drawRGBA(t, v1, s)
	if n := rendered(); n != 1 {
		t.Fatalf("first frame: %d shadow passes, want 1", n)
	}
	if err := s.EditCamera(func(c *scenes.Camera) error { return c.Orbit(20, 5) }); err != nil {
		t.Fatal(err)
	}
	drawRGBA(t, v1, s)
	drawRGBA(t, v2, s.Clone())
	if n := rendered(); n != 1 {
		t.Errorf("after a camera move and a second view: %d shadow passes, want 1", n)
	}
	s.Lights[0].Direction = mgl32.Vec3{-0.5, -1, 0}.Normalize()
	drawRGBA(t, v1, s)
	if n := rendered(); n != 2 {
		t.Errorf("after the light turned: %d shadow passes, want 2", n)
	}
	// Back to the first light and camera; the cube moves 3 units toward -x: the old
	// shadowed spot is lit again.
	s = shadowScene()
	s.Nodes[1].Translation[0] = -3
	img := drawRGBA(t, v1, s)
	if n := rendered(); n != 3 {
		t.Errorf("after the cube moved: %d shadow passes, want 3", n)
	}
	lit := drawRGBA(t, newView(t, newRenderer(t, Config{Shading: ShadingPBR, Shadows: ShadowsOff}), w, h), s)
	p := pixelOf(s, inShadow, w, h)
	if a, b := meanAround(img, p), meanAround(lit, p); math.Abs(a-b) > 2 {
		t.Errorf("floor where the cube's shadow was: %.1f, without shadows %.1f", a, b)
	}
	if err := r.ReleaseCache(); err != nil {
		t.Fatal(err)
	}
	drawRGBA(t, v1, s)
	if n := rendered(); n != 4 {
		t.Errorf("after ReleaseCache: %d shadow passes, want 4", n)
	}
	// A moving scene keeps one map: each new state replaces its last.
	for i := range 6 {
		s.Nodes[1].Translation[2] = float32(i+1) / 4
		drawRGBA(t, v1, s)
	}
	var maps int
	if err := r.do(func() error { maps = len(r.shadows.maps); return nil }); err != nil {
		t.Fatal(err)
	}
	if n := rendered(); n != 10 || maps != 1 {
		t.Errorf("after 6 states of one scene: %d shadow passes (want 10), %d maps (want 1)", n, maps)
	}
}

// TestShadowDemo: the demo's floor shows shadows: with them on, thousands of pixels are
// far darker than without, and none far brighter.
func TestShadowDemo(t *testing.T) {
	const w, h = 320, 180
	s := benchDemo(t)
	off := drawRGBA(t, newView(t, newRenderer(t, Config{Shading: ShadingPBR, Shadows: ShadowsOff}), w, h), s)
	on := drawRGBA(t, newView(t, newRenderer(t, Config{Shading: ShadingPBR, Shadows: ShadowsOn}), w, h), s)
	darker, brighter := 0, 0
	for y := range h {
		for x := range w {
			d := lumaF(on.RGBAAt(x, y)) - lumaF(off.RGBAAt(x, y))
			if d < -15 {
				darker++
			}
			if d > 4 {
				brighter++
			}
		}
	}
	if darker < w*h/50 || brighter > w*h/1000 {
		t.Errorf("demo with shadows: %d pixels (of %d) darker by over 15 levels, %d brighter; want over 2%% darker, under 0.1%% brighter", darker, w*h, brighter)
	}
}

// TestShadowSpotAndPoint: without a directional light the strongest light is the key
// light: a spot light (a perspective map along its cone) and a point light inside the
// scene's bounds (a perspective map toward the scene's centre) at (-2, 4, 0) throw the
// floating cube's shadow on the floor around (1.5, 0, 0); lit floor elsewhere in the
// light is unchanged.
func TestShadowSpotAndPoint(t *testing.T) {
	const w, h = 320, 180
	lights := map[string]scenes.Light{
		"spot": {Type: scenes.Spot, Color: mgl32.Vec3{1, 1, 1}, Intensity: 40, Position: mgl32.Vec3{-2, 4, 0},
			Direction: mgl32.Vec3{2, -2.5, 0}.Normalize(), InnerCone: 0.7, OuterCone: 0.85},
		"point": {Type: scenes.Point, Color: mgl32.Vec3{1, 1, 1}, Intensity: 40, Position: mgl32.Vec3{-2, 4, 0}},
	}
	for name, l := range lights {
		t.Run(name, func(t *testing.T) {
			s := shadowScene()
			// A weaker point light first: the strongest light is the key light.
			s.Lights = []scenes.Light{{Type: scenes.Point, Color: mgl32.Vec3{1, 1, 1}, Intensity: 1, Position: mgl32.Vec3{4, 3, 4}}, l}
			off := drawRGBA(t, newView(t, newRenderer(t, Config{Shading: ShadingPBR, Shadows: ShadowsOff}), w, h), s)
			on := drawRGBA(t, newView(t, newRenderer(t, Config{Shading: ShadingPBR, Shadows: ShadowsOn}), w, h), s)
			p := pixelOf(s, mgl32.Vec3{1.5, 0, 0}, w, h)
			if lit, dark := meanAround(off, p), meanAround(on, p); lit < 120 || dark > lit*0.6 {
				t.Errorf("floor in the cube's shadow at %v: %.1f without shadows, %.1f with", p, lit, dark)
			}
			for _, o := range []mgl32.Vec3{{3, 0, -1.5}, {-0.5, 0, 1.5}} {
				q := pixelOf(s, o, w, h)
				if a, b := meanAround(off, q), meanAround(on, q); a < 60 || math.Abs(a-b) > 2 {
					t.Errorf("lit floor at %v: %.1f without shadows, %.1f with", q, a, b)
				}
			}
		})
	}
}

// TestKeyLight: the first usable directional light is the key light, in the slot the
// shaders give it (lights other than spot lights first); without one, the strongest
// light; none without usable lights.
func TestKeyLight(t *testing.T) {
	spot := scenes.Light{Type: scenes.Spot, Color: mgl32.Vec3{1, 1, 1}, Intensity: 50, Direction: mgl32.Vec3{0, -1, 0}, OuterCone: 0.5}
	point := scenes.Light{Type: scenes.Point, Color: mgl32.Vec3{1, 1, 1}, Intensity: 5}
	dir := scenes.Light{Type: scenes.Directional, Color: mgl32.Vec3{1, 1, 1}, Intensity: 1, Direction: mgl32.Vec3{0, -1, 0}}
	broken := scenes.Light{Type: scenes.Directional, Color: mgl32.Vec3{1, 1, 1}, Intensity: 1}
	nan := dir
	nan.Intensity = float32(math.NaN())
	for _, c := range []struct {
		name   string
		lights []scenes.Light
		slot   int
		typ    scenes.LightType
		ok     bool
	}{
		{"directional after a spot and a point", []scenes.Light{spot, point, broken, dir}, 1, scenes.Directional, true},
		{"strongest: the spot light, last in the shaders", []scenes.Light{spot, point}, 1, scenes.Spot, true},
		{"strongest: the point light", []scenes.Light{point, nan}, 0, scenes.Point, true},
		{"no usable light", []scenes.Light{broken, nan}, 0, 0, false},
		{"none", nil, 0, 0, false},
	} {
		l, slot, ok := keyLight(c.lights)
		if ok != c.ok || (ok && (slot != c.slot || l.Type != c.typ)) {
			t.Errorf("%s: light type %v slot %d ok %v; want type %v slot %d ok %v", c.name, l.Type, slot, ok, c.typ, c.slot, c.ok)
		}
	}
}

// TestShadowBadInput: a depth shader that does not compile leaves frames without shadows
// and one warning naming the file; scenes with nothing to cast, non-finite lights or
// geometry, or a light inside the scene draw without error.
func TestShadowBadInput(t *testing.T) {
	const w, h = 160, 90
	broken := fstest.MapFS{}
	if err := fs.WalkDir(shaders.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(shaders.FS(), path)
		broken[path] = &fstest.MapFile{Data: b}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	broken[shadowVert] = &fstest.MapFile{Data: []byte("#version 330 core\nvoid main() { gl_Position = nothing; }\n")}
	var logs syncBuffer
	r := newRenderer(t, Config{Shading: ShadingPBR, Shadows: ShadowsOn, Shaders: broken, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	v := newView(t, r, w, h)
	s := shadowScene()
	lit := drawRGBA(t, newView(t, newRenderer(t, Config{Shading: ShadingPBR, Shadows: ShadowsOff}), w, h), s)
	p := pixelOf(s, inShadow, w, h)
	for range 2 {
		if got, want := meanAround(drawRGBA(t, v, s), p), meanAround(lit, p); math.Abs(got-want) > 2 {
			t.Errorf("broken depth shader: floor under the cube %.1f, want %.1f (no shadows)", got, want)
		}
	}
	if n := strings.Count(logs.String(), "no shadows"); n != 1 || !strings.Contains(logs.String(), "shaders/shadow.vert") {
		t.Errorf("want one warning naming shaders/shadow.vert, got %d: %s", n, logs.String())
	}

	r = newRenderer(t, Config{Shading: ShadingPBR, Shadows: ShadowsOn})
	v = newView(t, r, w, h)
	nan := float32(math.NaN())
	for name, edit := range map[string]func(s *scenes.Scene){
		"nothing drawn":        func(s *scenes.Scene) { s.Nodes[0].Visible, s.Nodes[1].Visible = false, false },
		"NaN light direction":  func(s *scenes.Scene) { s.Lights[0].Direction[0] = nan },
		"zero light direction": func(s *scenes.Scene) { s.Lights[0].Direction = mgl32.Vec3{} },
		"NaN vertex":           func(s *scenes.Scene) { s.Meshes[1].Primitives[0].Positions[0][1] = nan },
		"huge scene":           func(s *scenes.Scene) { s.Nodes[1].Translation = mgl32.Vec3{3e37, 0, 0} },
		"point light inside": func(s *scenes.Scene) {
			s.Lights[0] = scenes.Light{Type: scenes.Point, Color: mgl32.Vec3{1, 1, 1}, Intensity: 9, Position: mgl32.Vec3{0, 1, 0}}
		},
		"spot facing away": func(s *scenes.Scene) {
			s.Lights[0] = scenes.Light{Type: scenes.Spot, Color: mgl32.Vec3{1, 1, 1}, Intensity: 9, Position: mgl32.Vec3{0, 5, 0}, Direction: mgl32.Vec3{0, 1, 0}, OuterCone: 0.5}
		},
	} {
		s := shadowScene()
		edit(s)
		if err := v.Draw(s); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestShadowAlphaMask: an alpha-tested quad floating over the floor, its texture cut away
// on the left half (u < 0.5), casts the right half's shadow only: the floor under the
// kept half (along the light) is dark, under the cut half as without shadows.
func TestShadowAlphaMask(t *testing.T) {
	const w, h = 320, 180
	s := shadowScene()
	img := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			a := uint8(0)
			if x >= 32 {
				a = 255
			}
			img.SetNRGBA(x, y, color.NRGBA{255, 255, 255, a})
		}
	}
	s.Materials = append(s.Materials, &scenes.Material{BaseColor: mgl32.Vec4{0.8, 0.3, 0.2, 1}, Roughness: 0.6,
		AlphaMode: scenes.AlphaMask, AlphaCutoff: 0.5, DoubleSided: true, BaseColorTexture: img})
	s.Meshes[1].Primitives = []scenes.Primitive{{
		Positions: []mgl32.Vec3{{-1, 0, 1}, {1, 0, 1}, {1, 0, -1}, {-1, 0, -1}},
		Normals:   []mgl32.Vec3{{0, 1, 0}, {0, 1, 0}, {0, 1, 0}, {0, 1, 0}},
		UVs:       []mgl32.Vec2{{0, 1}, {1, 1}, {1, 0}, {0, 0}},
		Indices:   []uint32{0, 1, 2, 0, 2, 3},
		Material:  len(s.Materials) - 1,
	}}
	// The quad at y = 1.5, the light travelling (0.5, -1, 0): the kept half (x 0..1)
	// shadows x 0.75..1.75, the cut half would shadow x -0.25..0.75.
	off := drawRGBA(t, newView(t, newRenderer(t, Config{Shading: ShadingPBR, Shadows: ShadowsOff}), w, h), s)
	on := drawRGBA(t, newView(t, newRenderer(t, Config{Shading: ShadingPBR, Shadows: ShadowsOn}), w, h), s)
	kept, cut := pixelOf(s, mgl32.Vec3{1.25, 0, 0}, w, h), pixelOf(s, mgl32.Vec3{0.25, 0, 0}, w, h)
	if lit, dark := meanAround(off, kept), meanAround(on, kept); lit < 150 || dark > lit*0.45 {
		t.Errorf("floor under the kept half at %v: %.1f without shadows, %.1f with", kept, lit, dark)
	}
	if a, b := meanAround(off, cut), meanAround(on, cut); a < 150 || math.Abs(a-b) > 2 {
		t.Errorf("floor under the cut half at %v: %.1f without shadows, %.1f with; want no shadow", cut, a, b)
	}
}

// TestShadowWithEnvironment: a scene lit by an environment and a shadowed key light draws
// with both: the floor under the cube is darker than with the environment alone, and the
// environment still lights it (brighter than with shadows alone in the shadow, where only
// the ambient or the environment reaches).
func TestShadowWithEnvironment(t *testing.T) {
	const w, h = 320, 180
	s := shadowScene()
	// A dim, even blue environment: it lights the shadowed floor (blue) without washing
	// out the key light's contribution.
	img := &scenes.HDRImage{Width: 64, Height: 32, Pix: make([]float32, 64*32*3)}
	for i := 0; i < len(img.Pix); i += 3 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2] = 0.02, 0.02, 0.25
	}
	env, err := scenes.NewEnvironment("dim", img)
	if err != nil {
		t.Fatal(err)
	}
	plain := drawRGBA(t, newView(t, newRenderer(t, Config{Shading: ShadingPBR, Shadows: ShadowsOn}), w, h), s)
	s.SetEnvironment(env, false)
	lit := drawRGBA(t, newView(t, newRenderer(t, Config{Shading: ShadingPBR, Shadows: ShadowsOff}), w, h), s)
	both := drawRGBA(t, newView(t, newRenderer(t, Config{Shading: ShadingPBR, Shadows: ShadowsOn}), w, h), s)
	p := pixelOf(s, inShadow, w, h)
	a, b, c := meanAround(lit, p), meanAround(both, p), meanAround(plain, p)
	dark := s.Clone()
	dark.Lights = nil
	d := meanAround(drawRGBA(t, newView(t, newRenderer(t, Config{Shading: ShadingPBR, Shadows: ShadowsOff}), w, h), dark), p)
	t.Logf("floor under the cube: environment alone %.1f, environment and shadows %.1f, shadows alone %.1f, environment without lights %.1f", a, b, c, d)
	if b > a*0.8 {
		t.Errorf("floor under the cube with environment and shadows %.1f, environment alone %.1f: no shadow", b, a)
	}
	if bc, cc := both.RGBAAt(p.X, p.Y), plain.RGBAAt(p.X, p.Y); int(bc.B)-int(bc.R) < int(cc.B)-int(cc.R)+10 {
		t.Errorf("floor under the cube %v with the blue environment, %v without: the environment does not light the shadow", bc, cc)
	}
}
