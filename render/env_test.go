package render

import (
	"image"
	"math"
	"testing"

	"github.com/go-gl/mathgl/mgl32"

	"github.com/rendercast/rendercast/scenes"
)

// panorama makes an environment w x h from a radiance function of the direction.
func panorama(t testing.TB, name string, w, h int, f func(d mgl32.Vec3) mgl32.Vec3) *scenes.Environment {
	t.Helper()
	img := &scenes.HDRImage{Width: w, Height: h, Pix: make([]float32, 3*w*h)}
	for y := range h {
		for x := range w {
			c := f(scenes.EnvironmentDirection((float64(x)+0.5)/float64(w), (float64(y)+0.5)/float64(h)))
			copy(img.Pix[3*(y*w+x):], c[:])
		}
	}
	env, err := scenes.NewEnvironment(name, img)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// skyOverGround is blue above the horizon and orange below.
func skyOverGround(t testing.TB) *scenes.Environment {
	return panorama(t, "sky-ground", 128, 64, func(d mgl32.Vec3) mgl32.Vec3 {
		if d[1] > 0 {
			return mgl32.Vec3{0.1, 0.3, 1.2}
		}
		return mgl32.Vec3{1.2, 0.45, 0.08}
	})
}

// sphereScene is one sphere of material m at the origin, seen from +Z, with no lights and
// a grey ambient colour.
func sphereScene(m scenes.Material) *scenes.Scene {
	s := &scenes.Scene{
		Name:       "env-sphere",
		Background: mgl32.Vec3{0, 0, 0},
		Ambient:    mgl32.Vec3{0.3, 0.3, 0.3},
		Camera:     scenes.Camera{Eye: mgl32.Vec3{0, 0, 4}, Target: mgl32.Vec3{0, 0, 0}, Up: mgl32.Vec3{0, 1, 0}, FovY: 40},
	}
	s.Materials = []*scenes.Material{&m}
	p := scenes.Sphere(1, 96, 48)
	p.Material = 0
	s.Meshes = []*scenes.Mesh{{Name: "sphere", Primitives: []scenes.Primitive{p}}}
	s.Nodes = []*scenes.Node{scenes.NewNode("sphere", 0)}
	s.Roots = []int{0}
	return s
}

// project returns the pixel (x right, y down) where world point p lands in a w x h frame.
func project(s *scenes.Scene, w, h int, p mgl32.Vec3) (int, int) {
	vp := s.Camera.Projection(float32(w) / float32(h)).Mul4(s.Camera.View())
	c := vp.Mul4x1(p.Vec4(1))
	x := (c[0]/c[3]*0.5 + 0.5) * float32(w)
	y := (1 - (c[1]/c[3]*0.5 + 0.5)) * float32(h)
	return int(x), int(y)
}

// meanRGB averages a 5x5 block around (x, y).
func meanRGB(img *image.RGBA, x, y int) [3]float64 {
	var sum [3]float64
	for dy := -2; dy <= 2; dy++ {
		for dx := -2; dx <= 2; dx++ {
			c := img.RGBAAt(x+dx, y+dy)
			sum[0] += float64(c.R)
			sum[1] += float64(c.G)
			sum[2] += float64(c.B)
		}
	}
	for i := range sum {
		sum[i] /= 25
	}
	return sum
}

// TestEnvironmentTintsSphere: a white rough sphere under a blue-sky-over-orange-ground
// environment is bluish on top and orange below, with per-pixel (prefiltered panoramas)
// and fast (spherical harmonics per vertex) shading, in each program variant (material
// maps for clearcoat, spot lights); without the environment it is grey.
func TestEnvironmentTintsSphere(t *testing.T) {
	env := skyOverGround(t)
	for _, c := range []struct {
		name      string
		shading   Shading
		clearcoat float32
		spot      bool
	}{
		{"pbr", ShadingPBR, 0, false}, {"pbr-maps", ShadingPBR, 0.3, false},
		{"fast", ShadingFast, 0, false}, {"fast-spot", ShadingFast, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRenderer(t, Config{Shading: c.shading})
			const w, h = 160, 120
			v := newView(t, r, w, h)
			s := sphereScene(scenes.Material{BaseColor: mgl32.Vec4{1, 1, 1, 1}, Roughness: 1, Clearcoat: c.clearcoat, ClearcoatRoughness: 1})
			if c.spot { // a spot light pointing away from the sphere: only selects the variant
				s.Lights = []scenes.Light{{Type: scenes.Spot, Color: mgl32.Vec3{1, 1, 1}, Intensity: 1,
					Position: mgl32.Vec3{0, 5, 0}, Direction: mgl32.Vec3{0, 1, 0}, OuterCone: 0.3}}
			}
			tx, ty := project(s, w, h, mgl32.Vec3{0, 0.75, 0.66})
			bx, by := project(s, w, h, mgl32.Vec3{0, -0.75, 0.66})

			plain := drawRGBA(t, v, s)
			for _, p := range [][2]int{{tx, ty}, {bx, by}} {
				c := meanRGB(plain, p[0], p[1])
				if math.Abs(c[0]-c[2]) > 6 {
					t.Fatalf("without an environment, pixel %v is %v: want grey", p, c)
				}
			}

			s.Environment = env
			s.Version++
			img := drawRGBA(t, v, s)
			top, bottom := meanRGB(img, tx, ty), meanRGB(img, bx, by)
			t.Logf("top %v bottom %v", top, bottom)
			if !(top[2] > top[0]+40) {
				t.Errorf("top of the sphere %v: want clearly blue (blue > red + 40)", top)
			}
			if !(bottom[0] > bottom[2]+40) {
				t.Errorf("bottom of the sphere %v: want clearly orange (red > blue + 40)", bottom)
			}
			// Per-pixel shading prefilters the environment; the fast shading does not need to.
			if want := map[Shading]int{ShadingPBR: 1, ShadingFast: 0}[c.shading]; len(r.env.cache) != want {
				t.Errorf("%d environments prefiltered, want %d", len(r.env.cache), want)
			}
		})
	}
}

// TestEnvironmentMirror: a mirror sphere reflects a bright panel straight above it at the
// point whose normal halves the way between the view and the panel (45 degrees up from the
// sphere's centre as the camera sees it), and the dark surroundings elsewhere.
func TestEnvironmentMirror(t *testing.T) {
	env := panorama(t, "panel", 256, 128, func(d mgl32.Vec3) mgl32.Vec3 {
		if d[1] > 0.96 { // a disc about 16 degrees across, straight up
			return mgl32.Vec3{30, 30, 30}
		}
		return mgl32.Vec3{0.02, 0.02, 0.02}
	})
	r := newRenderer(t, Config{Shading: ShadingPBR})
	const w, h = 200, 200
	v := newView(t, r, w, h)
	s := sphereScene(scenes.Material{BaseColor: mgl32.Vec4{1, 1, 1, 1}, Metallic: 1, Roughness: 0})
	s.Environment = env
	// The camera is 4 units away: the normal reflecting the view ray to +Y is about
	// 45 + 5 degrees up (the ray to that point leans down by about 10 degrees).
	n := mgl32.Vec3{0, float32(math.Sin(0.87)), float32(math.Cos(0.87))}
	px, py := project(s, w, h, n)
	down := mgl32.Vec3{0, -n[1], n[2]}
	qx, qy := project(s, w, h, down)
	img := drawRGBA(t, v, s)
	hi, lo := meanRGB(img, px, py), meanRGB(img, qx, qy)
	t.Logf("panel's reflection at (%d, %d): %v; below at (%d, %d): %v", px, py, hi, qx, qy, lo)
	if hi[0] < 200 || hi[1] < 200 || hi[2] < 200 {
		t.Errorf("the panel's reflection at (%d, %d) is %v: want bright (>= 200)", px, py, hi)
	}
	if lo[0] > 90 {
		t.Errorf("the mirror below the centre at (%d, %d) is %v: want dark (<= 90)", qx, qy, lo)
	}
	// The reflection is a compact spot: the sphere's centre (reflecting the camera's side)
	// stays dark.
	cx, cy := project(s, w, h, mgl32.Vec3{0, 0, 1})
	if c := meanRGB(img, cx, cy); c[0] > 90 {
		t.Errorf("the sphere's centre at (%d, %d) is %v: want dark", cx, cy, c)
	}
}

// TestEnvironmentBackground: with EnvironmentBackground the environment replaces the
// background colour: blue above the horizon, orange below.
func TestEnvironmentBackground(t *testing.T) {
	r := newRenderer(t, Config{})
	const w, h = 160, 120
	v := newView(t, r, w, h)
	s := sphereScene(scenes.Material{BaseColor: mgl32.Vec4{1, 1, 1, 1}, Roughness: 1})
	s.Environment = skyOverGround(t)
	img := drawRGBA(t, v, s)
	if c := meanRGB(img, w/2, 4); c[0]+c[1]+c[2] > 3 {
		t.Fatalf("without EnvironmentBackground the background is %v, want black", c)
	}
	s.EnvironmentBackground = true
	s.Version++
	img = drawRGBA(t, v, s)
	top, bottom := meanRGB(img, w/2, 4), meanRGB(img, w/2, h-5)
	if !(top[2] > top[0]+40) || !(bottom[0] > bottom[2]+40) {
		t.Errorf("background top %v, bottom %v: want blue above, orange below", top, bottom)
	}
}

// TestEnvironmentOncePerContext: two views of one renderer share the prefiltered
// environment; the renderer frees it at close.
func TestEnvironmentOncePerContext(t *testing.T) {
	r := newRenderer(t, Config{Shading: ShadingPBR})
	s := sphereScene(scenes.Material{BaseColor: mgl32.Vec4{1, 1, 1, 1}, Roughness: 0.5})
	s.Environment = scenes.Studio()
	v1 := newView(t, r, 64, 64)
	drawRGBA(t, v1, s)
	st1, err := r.Stats()
	if err != nil {
		t.Fatal(err)
	}
	v2 := newView(t, r, 64, 64)
	drawRGBA(t, v2, s)
	st2, err := r.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if len(r.env.cache) != 1 || st2.Textures-st1.Textures > 2 {
		t.Errorf("after a second view: %d environments, %d textures (was %d): want 1 environment, only the view's own textures new",
			len(r.env.cache), st2.Textures, st1.Textures)
	}
}

// TestEnvironmentRefined: a refined frame (PBR, supersampled or multisampled, drawn in
// bands on software rasterisers) of a renderer that shades fast keeps the environment's
// light and background: chroma blue at the top of the sphere and of the frame, red-orange
// at the bottom.
func TestEnvironmentRefined(t *testing.T) {
	r := newRenderer(t, Config{Shading: ShadingFast})
	const w, h = 160, 120
	v := newView(t, r, w, h)
	s := sphereScene(scenes.Material{BaseColor: mgl32.Vec4{1, 1, 1, 1}, Roughness: 1})
	s.Environment, s.EnvironmentBackground = skyOverGround(t), true
	frame, err := v.RenderWith(s, nil, Quality{Refined: true})
	if err != nil {
		t.Fatal(err)
	}
	tx, ty := project(s, w, h, mgl32.Vec3{0, 0.75, 0.66})
	bx, by := project(s, w, h, mgl32.Vec3{0, -0.75, 0.66})
	for _, c := range []struct {
		name string
		x, y int
		blue bool
	}{{"sphere top", tx, ty, true}, {"sphere bottom", bx, by, false}, {"frame top", w / 2, 3, true}, {"frame bottom", w / 2, h - 4, false}} {
		p := frame.YCbCrAt(c.x, c.y)
		if blue := int(p.Cb) > int(p.Cr)+20; blue != c.blue {
			t.Errorf("%s (%d, %d): Cb %d Cr %d, want blue %v", c.name, c.x, c.y, p.Cb, p.Cr, c.blue)
		}
		if orange := int(p.Cr) > int(p.Cb)+20; orange == c.blue {
			t.Errorf("%s (%d, %d): Cb %d Cr %d, want orange %v", c.name, c.x, c.y, p.Cb, p.Cr, !c.blue)
		}
	}
}

// TestEnvironmentPrefilterMidPass: with the fast shading, a scene whose first sphere the
// fast program draws and whose second needs pbr.frag (no vertex normals: flat normals from
// derivatives) prefilters the environment between the two draws; both spheres take its tint, the first one drawn
// before the prefilter stays in the frame.
func TestEnvironmentPrefilterMidPass(t *testing.T) {
	r := newRenderer(t, Config{Shading: ShadingFast})
	const w, h = 240, 120
	v := newView(t, r, w, h)
	s := sphereScene(scenes.Material{BaseColor: mgl32.Vec4{1, 1, 1, 1}, Roughness: 1})
	s.Camera.Eye = mgl32.Vec3{0, 0, 6}
	s.Nodes[0].Translation = mgl32.Vec3{-1.3, 0, 0}
	p := scenes.Sphere(1, 64, 32)
	p.Material, p.Normals = 0, nil
	s.Meshes = append(s.Meshes, &scenes.Mesh{Name: "flat", Primitives: []scenes.Primitive{p}})
	n := scenes.NewNode("flat", 1)
	n.Translation = mgl32.Vec3{1.3, 0, 0}
	s.Nodes = append(s.Nodes, n)
	s.Roots = append(s.Roots, 1)
	s.Environment = skyOverGround(t)
	img := drawRGBA(t, v, s)
	if len(r.env.cache) != 1 {
		t.Errorf("%d environments prefiltered, want 1", len(r.env.cache))
	}
	for _, x := range []float32{-1.3, 1.3} {
		tx, ty := project(s, w, h, mgl32.Vec3{x, 0.75, 0.66})
		bx, by := project(s, w, h, mgl32.Vec3{x, -0.75, 0.66})
		top, bottom := meanRGB(img, tx, ty), meanRGB(img, bx, by)
		if !(top[2] > top[0]+40) || !(bottom[0] > bottom[2]+40) {
			t.Errorf("sphere at x = %g: top %v, bottom %v: want blue above, orange below", x, top, bottom)
		}
	}
}
