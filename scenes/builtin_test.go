package scenes

import (
	"errors"
	"image"
	"image/color"
	"math"
	"slices"
	"testing"

	"github.com/go-gl/mathgl/mgl32"
)

func TestBuiltinNames(t *testing.T) {
	names := BuiltinNames()
	if !slices.Equal(names, []string{"demo", "testcard"}) {
		t.Fatalf("BuiltinNames = %v", names)
	}
	for _, n := range names {
		s, err := Builtin(n)
		if err != nil {
			t.Fatal(err)
		}
		if s.Name != n {
			t.Errorf("Builtin(%q).Name = %q", n, s.Name)
		}
		if s2, _ := Builtin(n); s2 == s || s2.Nodes[0] == s.Nodes[0] {
			t.Errorf("Builtin(%q) returned shared state", n)
		}
	}
	if _, err := Builtin("nope"); !errors.Is(err, ErrUnknownScene) {
		t.Errorf("Builtin(nope) = %v, want ErrUnknownScene", err)
	}
}

// checkScene asserts what every scene the package produces must satisfy.
func checkScene(t *testing.T, s *Scene) {
	t.Helper()
	if err := s.Camera.Validate(); err != nil {
		t.Errorf("camera: %v", err)
	}
	if s.Camera.Home == nil {
		t.Error("camera has no home pose for Reset")
	}
	for i, c := range s.Background {
		if !(c >= 0 && c <= 1) {
			t.Errorf("background channel %d = %g", i, c)
		}
	}
	if len(s.Lights) == 0 || len(s.Lights) > MaxLights {
		t.Errorf("%d lights", len(s.Lights))
	}
	names := map[string]bool{}
	for _, n := range s.NodeNames() {
		if n == "" || names[n] {
			t.Errorf("node name %q empty or repeated", n)
		}
		names[n] = true
	}
	draws := s.Draws()
	if len(draws) == 0 {
		t.Fatal("nothing to draw")
	}
	for _, d := range draws {
		p := d.Primitive
		for _, v := range p.Indices {
			if int(v) >= len(p.Positions) {
				t.Fatalf("mesh %q: index %d out of range", d.Mesh.Name, v)
			}
		}
		if d.Material.BaseColorTexture != nil && len(p.UVs) != len(p.Positions) {
			t.Errorf("mesh %q: textured without UVs", d.Mesh.Name)
		}
	}
}

// screenBox projects the world-space box b with camera c onto a w x h image (top-down
// pixel coordinates); ok is false if part of the box is behind the camera.
func screenBox(c Camera, b Bounds, w, h int) (r struct{ x0, y0, x1, y1 float32 }, ok bool) {
	vp := c.Projection(float32(w) / float32(h)).Mul4(c.View())
	r.x0, r.y0 = float32(math.Inf(1)), float32(math.Inf(1))
	r.x1, r.y1 = float32(math.Inf(-1)), float32(math.Inf(-1))
	for _, p := range b.Corners() {
		clip := vp.Mul4x1(p.Vec4(1))
		if clip[3] <= 1e-6 {
			return r, false
		}
		x := (clip[0]/clip[3]*0.5 + 0.5) * float32(w)
		y := (0.5 - clip[1]/clip[3]*0.5) * float32(h)
		r.x0, r.x1 = min(r.x0, x), max(r.x1, x)
		r.y0, r.y1 = min(r.y0, y), max(r.y1, y)
	}
	return r, true
}

// TestBuiltinTopLeftIsBackground proves, conservatively, that no geometry of a built-in scene
// reaches the top-left 32x32 pixels at its default camera: every primitive's world-space
// bounding box, projected at several 16:9 sizes over 30 s of animation, stays clear.
func TestBuiltinTopLeftIsBackground(t *testing.T) {
	for _, name := range BuiltinNames() {
		t.Run(name, func(t *testing.T) {
			s, err := Builtin(name)
			if err != nil {
				t.Fatal(err)
			}
			checkTopLeftClear(t, s)
		})
	}
}

// checkTopLeftClear fails if any primitive of s, over 30 s of animation, projects into the
// top-left 32x32 pixels at its default camera (see TestBuiltinTopLeftIsBackground).
func checkTopLeftClear(t *testing.T, s *Scene) {
	t.Helper()
	const corner = 32
	closest := float32(math.Inf(1))
	for step := range 601 {
		tm := float64(step) * 0.05
		if s.Animate != nil {
			s.Animate(s, tm)
		}
		for _, d := range s.Draws() {
			b := d.Primitive.Bounds().Transform(d.World)
			for _, size := range [][2]int{{1280, 720}, {640, 360}, {1920, 1080}} {
				r, ok := screenBox(s.Camera, b, size[0], size[1])
				if !ok {
					t.Fatalf("t=%.2f: mesh %q reaches behind the camera", tm, d.Mesh.Name)
				}
				if r.x0 < corner && r.y0 < corner {
					t.Fatalf("t=%.2f %dx%d: mesh %q covers (%.0f,%.0f)-(%.0f,%.0f), inside the top-left %dx%d",
						tm, size[0], size[1], d.Mesh.Name, r.x0, r.y0, r.x1, r.y1, corner, corner)
				}
				if size[0] == 640 {
					closest = min(closest, max(r.x0, r.y0))
				}
			}
		}
	}
	t.Logf("closest geometry at 640x360: %.0f px from the corner", closest)
}

// triangles counts the triangles s draws.
func triangles(s *Scene) int {
	n := 0
	for _, d := range s.Draws() {
		n += len(d.Primitive.Indices) / 3
	}
	return n
}

// TestBuiltinDetail checks that DetailLow keeps every built-in scene's nodes, materials and
// corner guarantee while drawing far fewer triangles in the demo.
func TestBuiltinDetail(t *testing.T) {
	for _, name := range BuiltinNames() {
		t.Run(name, func(t *testing.T) {
			full, err := BuiltinDetail(name, DetailFull)
			if err != nil {
				t.Fatal(err)
			}
			low, err := BuiltinDetail(name, DetailLow)
			if err != nil {
				t.Fatal(err)
			}
			checkScene(t, low)
			if !slices.Equal(low.NodeNames(), full.NodeNames()) {
				t.Errorf("node names: low %v, full %v", low.NodeNames(), full.NodeNames())
			}
			if len(low.Materials) != len(full.Materials) {
				t.Errorf("%d materials at low detail, %d at full", len(low.Materials), len(full.Materials))
			}
			for i, m := range low.Materials {
				if m.Name != full.Materials[i].Name {
					t.Errorf("material %d: %q at low detail, %q at full", i, m.Name, full.Materials[i].Name)
				}
			}
			if low.Camera.Eye != full.Camera.Eye || low.Camera.Target != full.Camera.Target || len(low.Lights) != len(full.Lights) {
				t.Error("camera or lights differ between detail levels")
			}
			nf, nl := triangles(full), triangles(low)
			t.Logf("%d triangles at full detail, %d at low", nf, nl)
			if b, _ := Builtin(name); triangles(b) != nf {
				t.Errorf("Builtin draws %d triangles, BuiltinDetail(DetailFull) %d", triangles(b), nf)
			}
			switch name {
			case DemoScene:
				if nl*10 > nf*4 {
					t.Errorf("demo: %d triangles at low detail, want at most 40%% of full (%d)", nl, nf)
				}
			case TestcardScene: // ignores detail
				if nl != nf {
					t.Errorf("testcard: %d triangles at low detail, %d at full", nl, nf)
				}
			}
			checkTopLeftClear(t, low)
		})
	}
}

func TestDetailSegments(t *testing.T) {
	tests := []struct {
		d           Detail
		n, around   int
		rings, long int
	}{
		{DetailFull, 128, 128, 48, 48},
		{DetailFull, 3, 3, 2, 2},
		{DetailLow, 128, 64, 48, 24},
		{DetailLow, 20, minSegments, 10, minRings},
		{DetailLow, 8, 8, 4, 4}, // already below the minimum: unchanged
		{Detail(7), 64, 64, 32, 32},
	}
	for _, tt := range tests {
		if got := tt.d.around(tt.n); got != tt.around {
			t.Errorf("%v.around(%d) = %d, want %d", tt.d, tt.n, got, tt.around)
		}
		if got := tt.d.along(tt.rings); got != tt.long {
			t.Errorf("%v.along(%d) = %d, want %d", tt.d, tt.rings, got, tt.long)
		}
	}
	for d, want := range map[Detail]string{DetailFull: "full", DetailLow: "low", Detail(7): "Detail(7)"} {
		if d.String() != want {
			t.Errorf("Detail(%d).String() = %q, want %q", int(d), d.String(), want)
		}
	}
}

func TestDemoScene(t *testing.T) {
	s, err := Builtin(DemoScene)
	if err != nil {
		t.Fatal(err)
	}
	checkScene(t, s)
	if len(s.Meshes) < 6 {
		t.Errorf("%d meshes, want a composition of at least 6", len(s.Meshes))
	}
	// Varied PBR materials: metals and dielectrics, rough and glossy, several hues.
	var metals, dielectrics, glossy, rough int
	hues := map[[3]int]bool{}
	for _, m := range s.Materials {
		if m.Metallic >= 0.7 {
			metals++
		} else if m.Metallic == 0 {
			dielectrics++
		}
		if m.Roughness <= 0.3 {
			glossy++
		}
		if m.Roughness >= 0.6 {
			rough++
		}
		c := m.BaseColor
		hues[[3]int{int(c[0] * 4), int(c[1] * 4), int(c[2] * 4)}] = true
	}
	if metals < 2 || dielectrics < 3 || glossy < 2 || rough < 2 || len(hues) < 6 {
		t.Errorf("materials not varied: %d metals, %d dielectrics, %d glossy, %d rough, %d colours", metals, dielectrics, glossy, rough, len(hues))
	}
	// The material model: a normal-mapped, textured object with tangents, a transmissive
	// (glass) and a clear-coated material.
	var normalMapped, glass, coated bool
	for _, d := range s.Draws() {
		m := d.Material
		if m.NormalTexture != nil && m.BaseColorTexture != nil && len(d.Primitive.Tangents) == len(d.Primitive.Positions) {
			normalMapped = true
		}
		glass = glass || m.Transmission > 0
		coated = coated || m.Clearcoat > 0
	}
	if !normalMapped || !glass || !coated {
		t.Errorf("demo shows normal-mapped %v, glass %v, clearcoat %v: want all", normalMapped, glass, coated)
	}
	// Warm key, cool fill, a point light.
	var kinds [2]int
	for _, l := range s.Lights {
		kinds[l.Type]++
	}
	if kinds[Directional] < 2 || kinds[Point] < 1 {
		t.Errorf("lights: %d directional, %d point", kinds[Directional], kinds[Point])
	}
	if key, fill := s.Lights[0], s.Lights[1]; !(key.Color[0] > key.Color[2] && fill.Color[2] > fill.Color[0] && key.Intensity > fill.Intensity) {
		t.Errorf("key %+v should be warm and brighter than the cool fill %+v", key, fill)
	}
	if bg := s.Background; !(bg[2] > bg[0] && bg[0] < 0.35 && bg[1] < 0.35 && bg[2] < 0.35 && bg[0] > 0.05) {
		t.Errorf("background %v is not a soft dark blue-grey", bg)
	}
	// The stage is the lowest thing; every object rests on or above it.
	stage := -1
	for i, n := range s.Nodes {
		if n.Name == "stage" {
			stage = i
		}
	}
	if stage < 0 {
		t.Fatal("no stage")
	}
	for _, d := range s.Draws() {
		b := d.Primitive.Bounds().Transform(d.World)
		if d.Mesh.Name != "stage" && b.Min[1] < -1e-4 {
			t.Errorf("%q sinks into the stage: min y %g", d.Mesh.Name, b.Min[1])
		}
	}
	// The animation spins the torus and moves nothing else.
	before := s.Clone()
	s.Animate(s, 1.5)
	changed := 0
	for i, n := range s.Nodes {
		if n.Local() != before.Nodes[i].Local() {
			changed++
			if n.Name != "torus" {
				t.Errorf("animation moved %q", n.Name)
			}
		}
	}
	if changed != 1 {
		t.Errorf("animation changed %d nodes, want the torus", changed)
	}
}

func TestTestcardScene(t *testing.T) {
	s, err := Builtin(TestcardScene)
	if err != nil {
		t.Fatal(err)
	}
	checkScene(t, s)
	var bars, textured, unlit int
	var darkest, brightest float32 = 1, 0
	for _, m := range s.Materials {
		if m.Unlit {
			unlit++
			l := 0.2126*m.BaseColor[0] + 0.7152*m.BaseColor[1] + 0.0722*m.BaseColor[2]
			darkest, brightest = min(darkest, l), max(brightest, l)
		}
		if len(m.Name) > 4 && m.Name[:4] == "bar-" {
			bars++
		}
		if m.BaseColorTexture != nil {
			textured++
			if _, ok := m.BaseColorTexture.(*image.NRGBA); !ok {
				t.Errorf("texture of %q is %T, want *image.NRGBA", m.Name, m.BaseColorTexture)
			}
		}
	}
	if bars != 7 || textured < 3 || unlit < 15 {
		t.Errorf("%d colour bars, %d textured, %d unlit materials", bars, textured, unlit)
	}
	if darkest > 0 || brightest < 1 {
		t.Errorf("unlit luminance spans %g..%g, want full contrast 0..1", darkest, brightest)
	}
	// Moving elements: the animation changes something between any two distinct times.
	a, b := s.Clone(), s.Clone()
	a.Animate(a, 0.5)
	b.Animate(b, 2.5)
	moved := 0
	for i := range a.Nodes {
		if a.Nodes[i].Local() != b.Nodes[i].Local() {
			moved++
		}
	}
	if moved < 2 {
		t.Errorf("%d nodes move, want the cube and the sweep", moved)
	}
	// The chart fills a 16:9 frame: the content spans most of the width.
	r, ok := screenBox(s.Camera, s.Bounds(), 1280, 720)
	if !ok || r.x1-r.x0 < 0.75*1280 || r.y1-r.y0 < 0.75*720 {
		t.Errorf("content covers %+v of 1280x720", r)
	}
}

func TestTextures(t *testing.T) {
	zp := ZonePlateTexture(256)
	gray := func(img *image.NRGBA, x, y int) uint8 { return img.Pix[img.PixOffset(x, y)] }
	if g := gray(zp, 128, 128); g < 250 {
		t.Errorf("zone plate centre = %d, want white", g)
	}
	// Frequency grows linearly to Nyquist at the edge: half-cycles (zero crossings) along
	// the centre row follow r²: about 4 in the first 32 pixels, about 63 over the half row.
	crossings := func(x0, x1 int) int {
		n := 0
		for x := x0 + 1; x < x1; x++ {
			if (gray(zp, x-1, 128) >= 128) != (gray(zp, x, 128) >= 128) {
				n++
			}
		}
		return n
	}
	if c := crossings(128, 160); c < 3 || c > 5 {
		t.Errorf("%d zero crossings near the centre, want about 4", c)
	}
	if c := crossings(128, 256); c < 56 || c > 66 {
		t.Errorf("%d zero crossings over the half row, want about 63", c)
	}
	w := WedgeTexture(512)
	// Bottom-left quadrant centre: one-pixel checkerboard.
	if gray(w, 128, 384) == gray(w, 129, 384) || gray(w, 128, 384) == gray(w, 128, 385) {
		t.Error("wedge centre is not a one-pixel checkerboard")
	}
	// Top-left quadrant, bottom band: vertical lines with a 2-pixel period.
	if gray(w, 10, 250) == gray(w, 11, 250) || gray(w, 10, 250) != gray(w, 12, 250) {
		t.Error("wedge has no 2-pixel vertical lines")
	}
	white, black := color.NRGBA{255, 255, 255, 255}, color.NRGBA{0, 0, 0, 255}
	c := CheckerTexture(64, 8, white, black)
	if c.NRGBAAt(0, 0) != white || c.NRGBAAt(8, 0) != black || c.NRGBAAt(8, 8) != white {
		t.Error("checker pattern wrong")
	}
}

func TestFrameBounds(t *testing.T) {
	b := Bounds{Min: mgl32.Vec3{-10, 0, -10}, Max: mgl32.Vec3{10, 5, 10}}
	c := FrameBounds(b, 30, 20, 45)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Target != b.Center() {
		t.Errorf("target %v, want centre %v", c.Target, b.Center())
	}
	r, ok := screenBox(c, b, 1280, 720)
	if !ok || r.x0 < 0 || r.y0 < 0 || r.x1 > 1280 || r.y1 > 720 {
		t.Errorf("framed box projects to %+v, want inside 1280x720", r)
	}
	if yaw, pitch := c.Angles(); abs32(yaw-30) > 0.01 || abs32(pitch-20) > 0.01 {
		t.Errorf("angles %g, %g", yaw, pitch)
	}
	if e := FrameBounds(EmptyBounds(), 0, 0, 0); e.Validate() != nil {
		t.Errorf("framing an empty box gives an invalid camera %+v", e)
	}
}

// TestFullDetailDraws checks that a built-in scene built at low detail carries its full
// geometry: FullDetailDraws gives the full-detail build's triangles with the same nodes,
// transforms and materials, edits by node name reach both, and a full-detail build carries
// no second copy.
func TestFullDetailDraws(t *testing.T) {
	for _, name := range BuiltinNames() {
		t.Run(name, func(t *testing.T) {
			full, err := BuiltinDetail(name, DetailFull)
			if err != nil {
				t.Fatal(err)
			}
			low, err := BuiltinDetail(name, DetailLow)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range full.Meshes {
				if m.Full != nil {
					t.Errorf("full-detail build: mesh %q carries a second full-detail copy", m.Name)
				}
			}
			withFull := 0
			for _, m := range low.Meshes {
				if m.Full != nil {
					withFull++
					if len(m.Full) != len(m.Primitives) {
						t.Errorf("mesh %q: %d full-detail primitives for %d", m.Name, len(m.Full), len(m.Primitives))
					}
				}
			}
			if name == DemoScene && withFull != 9 {
				t.Errorf("demo at low detail: %d meshes carry full detail, want the 9 curved ones", withFull)
			}
			got, want := low.FullDetailDraws(), full.Draws()
			if len(got) != len(want) {
				t.Fatalf("FullDetailDraws: %d draws, full build %d", len(got), len(want))
			}
			for i := range got {
				g, w := got[i], want[i]
				if g.Mesh.Name != w.Mesh.Name || len(g.Primitive.Indices) != len(w.Primitive.Indices) ||
					len(g.Primitive.Positions) != len(w.Primitive.Positions) || g.World != w.World ||
					g.Material.Name != w.Material.Name || g.BaseColor != w.BaseColor {
					t.Errorf("draw %d (%s): low scene's full detail differs from the full build", i, g.Mesh.Name)
				}
			}
			if name != DemoScene {
				return
			}
			// An edit by node name shows in both draw lists of a clone.
			c := low.Clone()
			if err := c.SetColor("torus", 1, 0, 0); err != nil {
				t.Fatal(err)
			}
			red := srgb(1, 0, 0)
			for _, draws := range [][]Draw{c.Draws(), c.FullDetailDraws()} {
				found := false
				for _, d := range draws {
					if d.Mesh.Name == "torus" {
						found = d.BaseColor == red
					}
				}
				if !found {
					t.Error("SetColor(torus) does not reach one of the draw lists")
				}
			}
			if err := c.SetVisible("torus", false); err != nil {
				t.Fatal(err)
			}
			if a, b := len(c.Draws()), len(c.FullDetailDraws()); a != len(want)-1 || b != a {
				t.Errorf("after hiding the torus: %d draws, %d full-detail draws, want %d", a, b, len(want)-1)
			}
		})
	}
}
