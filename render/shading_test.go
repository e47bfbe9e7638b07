package render

import (
	"bytes"
	"image/color"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/go-gl/mathgl/mgl32"

	"github.com/rendercast/rendercast/scenes"
)

// Fast shading against PBR (TestShadingFastCloseToPBR): measured on llvmpipe (Mesa 22.3.6)
// the demo differs by 0.66 levels on average per channel and the test scene by 0.31, with
// at most 0.01% of the pixels more than 24 levels off (the point light's glow on the
// demo's stage, interpolated across its large triangles). The limits leave 1.5 and 10 times
// that. Mutations of gouraud.vert the test catches: no specular (mean 5.0), one light fewer
// (5.3), no ambient light (1.06, and 0.15% bad pixels in the test scene).
const (
	fastMaxMean = 1.0   // mean absolute difference per channel, levels
	fastMaxBad  = 0.001 // fraction of pixels with a channel more than 24 levels off
)

// fastComparable strips from s's materials what the fast shading skips by design (normal,
// metallic-roughness, occlusion and emissive textures, clearcoat, transmission's kept
// highlights: the demo's brick block, glass ball and clear-coated sphere), so that the
// comparison with PBR measures the per-vertex lighting alone.
func fastComparable(s *scenes.Scene) *scenes.Scene {
	for _, m := range s.Materials {
		m.NormalTexture, m.MetallicRoughnessTexture, m.OcclusionTexture, m.EmissiveTexture = nil, nil, nil, nil
		m.Clearcoat, m.Transmission = 0, 0
	}
	return s
}

// syncBuffer is a bytes.Buffer for a logger that the GL goroutine may also write to.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestShadingAuto: by default a software rasteriser shades fast and a GPU with PBR; Info
// and the "OpenGL ready" log line say which; forcing either works.
func TestShadingAuto(t *testing.T) {
	var logs syncBuffer
	r := newRenderer(t, Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	info := r.Info()
	want := ShadingPBR
	if info.Software {
		want = ShadingFast
	}
	if info.Shading != want {
		t.Errorf("renderer %q (software %v): Info().Shading = %q, want %q", info.Renderer, info.Software, info.Shading, want)
	}
	if strings.Contains(strings.ToLower(info.Renderer), "llvmpipe") && info.Shading != ShadingFast {
		t.Errorf("llvmpipe shades with %q by default, want fast", info.Shading)
	}
	if line := logs.String(); !strings.Contains(line, "OpenGL ready") || !strings.Contains(line, "shading="+string(want)) {
		t.Errorf("log does not report shading=%s: %s", want, line)
	}
	for _, sh := range []Shading{ShadingPBR, ShadingFast} {
		if got := newRenderer(t, Config{Shading: sh}).Info().Shading; got != sh {
			t.Errorf("Config{Shading: %q}: Info().Shading = %q", sh, got)
		}
	}
}

// TestGoldenFast compares the fast shading's demo and test scene with their goldens.
func TestGoldenFast(t *testing.T) { forModes(t, slowModes, testGoldenFast) }

func testGoldenFast(t *testing.T) {
	r := newRenderer(t, Config{Shading: ShadingFast})
	demo := benchDemo(t)
	demo.Animate(demo, 0)
	checkGolden(t, "demo_fast_640x360", drawRGBA(t, newView(t, r, 640, 360), demo))
	checkGolden(t, "testscene_fast_320x180", drawRGBA(t, newView(t, r, 320, 180), testScene()))
}

// TestShadingFastCloseToPBR: the fast shading shows the same scene as PBR (the mean
// difference is bounded, see fastMaxMean), unlit colours come out exactly (white is 255) and
// the background corner is exact in RGBA and I420.
func TestShadingFastCloseToPBR(t *testing.T) { forModes(t, slowModes, testShadingFastCloseToPBR) }

func testShadingFastCloseToPBR(t *testing.T) {
	pbr := newRenderer(t, Config{Shading: ShadingPBR})
	fast := newRenderer(t, Config{Shading: ShadingFast})
	for _, tc := range []struct {
		name  string
		w, h  int
		scene func() *scenes.Scene
	}{
		{"demo-t0", 640, 360, func() *scenes.Scene { s := fastComparable(benchDemo(t)); s.Animate(s, 0); return s }},
		{"demo-t2", 640, 360, func() *scenes.Scene { s := fastComparable(benchDemo(t)); s.Animate(s, 2); return s }},
		{"demo-720p", 1280, 720, func() *scenes.Scene { s := fastComparable(benchDemo(t)); s.Animate(s, 0.7); return s }},
		{"testscene", 320, 180, testScene},
		{"testcard", 640, 360, func() *scenes.Scene {
			s, err := scenes.Builtin(scenes.TestcardScene)
			if err != nil {
				t.Fatal(err)
			}
			s.Animate(s, 0.4) // the lit, textured cube turned
			return s
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := drawRGBA(t, newView(t, pbr, tc.w, tc.h), tc.scene())
			got := drawRGBA(t, newView(t, fast, tc.w, tc.h), tc.scene())
			mean, bad := imageDiff(got, want)
			t.Logf("fast against PBR: mean abs diff %.3f levels, %.4f%% pixels > 24 levels off", mean, 100*bad)
			if mean > fastMaxMean || bad > fastMaxBad {
				t.Errorf("fast shading differs from PBR: mean %.3f (limit %.1f), %.3f%% bad pixels (limit %.1f%%)",
					mean, fastMaxMean, 100*bad, 100*fastMaxBad)
			}
		})
	}

	t.Run("unlit", func(t *testing.T) {
		s := testScene()
		lamp := s.Materials[len(s.Materials)-1]
		*lamp = scenes.Material{BaseColor: mgl32.Vec4{1, 1, 1, 1}, Unlit: true}
		want := drawRGBA(t, newView(t, pbr, 320, 180), s)
		got := drawRGBA(t, newView(t, fast, 320, 180), s)
		white := color.RGBA{255, 255, 255, 255}
		n := 0
		for y := 0; y < 180; y++ {
			for x := 0; x < 320; x++ {
				if want.RGBAAt(x, y) != white {
					continue
				}
				n++
				if c := got.RGBAAt(x, y); c != white {
					t.Fatalf("unlit white pixel (%d,%d) = %v with fast shading", x, y, c)
				}
			}
		}
		if n < 100 {
			t.Fatalf("only %d unlit white pixels", n)
		}
	})

	t.Run("corner", func(t *testing.T) {
		v := newView(t, fast, 1280, 720)
		s := benchDemo(t)
		checkCorner(t, v, s)
		s.Background = mgl32.Vec3{0.85, 0.35, 0.05}
		checkCorner(t, v, s)
	})
}

// TestShadingFastDoubleSided: a double-sided quad seen from behind is lit on the side the
// camera sees with either shading (a directional light from the camera's side).
func TestShadingFastDoubleSided(t *testing.T) {
	s := quadScene(scenes.Light{Type: scenes.Directional, Color: mgl32.Vec3{1, 1, 1}, Intensity: 1, Direction: mgl32.Vec3{0, 0, 1}})
	s.Materials[0].DoubleSided = true
	s.Camera.Eye = mgl32.Vec3{0, 0, -4}
	p, f := quadCentre(t, s, ShadingPBR), quadCentre(t, s, ShadingFast)
	t.Logf("centre pixel from behind: PBR %v, fast %v", p, f)
	if p.G < 150 || absDiff(p.G, f.G) > 4 {
		t.Errorf("centre pixel from behind: PBR %v, fast %v; want both lit alike", p, f)
	}
}

// TestShadingFastIsPerVertex tells the shadings apart where they must differ: a point light
// just above the middle of a large quad lights a bright spot there with PBR, but its four
// vertices are far from the light, so with per-vertex shading the middle stays dark.
func TestShadingFastIsPerVertex(t *testing.T) {
	s := quadScene(scenes.Light{Type: scenes.Point, Color: mgl32.Vec3{1, 1, 1}, Intensity: 1, Position: mgl32.Vec3{0, 0, 0.5}})
	p, f := quadCentre(t, s, ShadingPBR), quadCentre(t, s, ShadingFast)
	t.Logf("centre pixel: PBR %v, fast %v", p, f)
	if int(p.G)-int(f.G) < 100 {
		t.Errorf("centre pixel: PBR %v, fast %v; want the fast one far darker (per-vertex light)", p, f)
	}
}

// quadScene is a 6x6 grey quad of two triangles on the z = 0 plane, facing +z, seen from
// +z, with one light.
func quadScene(light scenes.Light) *scenes.Scene {
	s := &scenes.Scene{
		Name:       "quad",
		Background: mgl32.Vec3{0, 0, 0},
		Camera:     scenes.Camera{Eye: mgl32.Vec3{0, 0, 4}, Target: mgl32.Vec3{0, 0, 0}, Up: mgl32.Vec3{0, 1, 0}, FovY: 45},
		Materials:  []*scenes.Material{{BaseColor: mgl32.Vec4{0.8, 0.8, 0.8, 1}, Roughness: 1}},
		Lights:     []scenes.Light{light},
	}
	quad := scenes.Primitive{
		Positions: []mgl32.Vec3{{-3, -3, 0}, {3, -3, 0}, {3, 3, 0}, {-3, 3, 0}},
		Normals:   []mgl32.Vec3{{0, 0, 1}, {0, 0, 1}, {0, 0, 1}, {0, 0, 1}},
		Indices:   []uint32{0, 1, 2, 0, 2, 3},
	}
	s.Meshes = []*scenes.Mesh{{Name: "quad", Primitives: []scenes.Primitive{quad}}}
	s.Nodes = []*scenes.Node{scenes.NewNode("quad", 0)}
	s.Roots = []int{0}
	return s
}

// quadCentre draws s at 64x64 with the given shading and returns the centre pixel.
func quadCentre(t *testing.T, s *scenes.Scene, sh Shading) color.RGBA {
	t.Helper()
	return drawRGBA(t, newView(t, newRenderer(t, Config{Shading: sh}), 64, 64), s).RGBAAt(32, 32)
}

// TestShadingFastFlatNormals: a mesh without normals has flat (per-face) normals from
// per-pixel derivatives with either shading; the fast shading draws it as PBR does.
func TestShadingFastFlatNormals(t *testing.T) {
	s := testScene()
	for _, m := range s.Meshes {
		for i := range m.Primitives {
			m.Primitives[i].Normals = nil
		}
	}
	want := drawRGBA(t, newView(t, newRenderer(t, Config{Shading: ShadingPBR}), 320, 180), s)
	got := drawRGBA(t, newView(t, newRenderer(t, Config{Shading: ShadingFast}), 320, 180), s)
	if mean, bad := imageDiff(got, want); mean > 0.01 || bad > 0 {
		t.Errorf("flat-shaded scene: fast differs from PBR by %.3f levels, %.4f%% bad pixels", mean, 100*bad)
	}
	// Lit per face: the crate's visible faces differ (not one flat colour, not black).
	colors := map[color.RGBA]bool{}
	for y := 60; y < 120; y++ {
		for x := 180; x < 230; x++ {
			colors[got.RGBAAt(x, y)] = true
		}
	}
	if len(colors) < 3 {
		t.Errorf("flat-shaded crate shows %d colours", len(colors))
	}
}
