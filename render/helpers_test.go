package render

import (
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-gl/mathgl/mgl32"
	"go.uber.org/goleak"

	"github.com/rendercast/rendercast/scenes"
)

var update = flag.Bool("update", false, "rewrite the golden PNGs in testdata/ from this machine's rendering")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// mode is a read-back and conversion mode; empty fields leave the choice to the renderer.
type mode struct {
	readback Readback
	convert  Convert
}

func (m mode) String() string {
	if m.readback == ReadbackAuto && m.convert == ConvertAuto {
		return "auto"
	}
	return string(m.readback) + "-" + string(m.convert)
}

// allModes are the four read-back x conversion modes, forced: every cheap test runs in
// each, so that a machine with software GL exercises what GPUs run (pbo-gpu) too.
var allModes = []mode{{ReadbackSync, ConvertCPU}, {ReadbackSync, ConvertGPU}, {ReadbackPBO, ConvertCPU}, {ReadbackPBO, ConvertGPU}}

// slowModes are the modes slow tests run in: the machine's own choice and the GPUs' default.
var slowModes = []mode{{}, {ReadbackPBO, ConvertGPU}}

// forModes runs f as a subtest per mode; newRenderer applies the mode named in the test's
// name to renderers whose Config leaves read-back and conversion to the renderer.
func forModes(t *testing.T, modes []mode, f func(t *testing.T)) {
	t.Helper()
	for _, m := range modes {
		t.Run(m.String(), f)
	}
}

// testMode finds the mode forModes put in the test's name.
func testMode(name string) (mode, bool) {
	for _, part := range strings.Split(name, "/") {
		for _, m := range append(allModes, mode{}) {
			if part == m.String() {
				return m, true
			}
		}
	}
	return mode{}, false
}

func quietLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// newRenderer returns a renderer closed at the end of the test, in the mode of the
// forModes subtest it runs in (unless cfg sets one).
func newRenderer(t testing.TB, cfg Config) *Renderer {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger(t)
	}
	if m, ok := testMode(t.Name()); ok && cfg.Readback == ReadbackAuto && cfg.Convert == ConvertAuto {
		cfg.Readback, cfg.Convert = m.readback, m.convert
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func newView(t testing.TB, r *Renderer, w, h int) *View {
	t.Helper()
	v, err := r.NewView(w, h)
	if err != nil {
		t.Fatalf("NewView(%d, %d): %v", w, h, err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// testWriter sends log lines to t.Log, so they show with the failing test only.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// box returns an axis-aligned box centred on the origin with per-face normals and UVs,
// wound counter-clockwise seen from outside.
func box(sx, sy, sz float32) scenes.Primitive {
	var p scenes.Primitive
	h := mgl32.Vec3{sx / 2, sy / 2, sz / 2}
	faces := []struct{ n, u, v mgl32.Vec3 }{
		{mgl32.Vec3{1, 0, 0}, mgl32.Vec3{0, 0, -1}, mgl32.Vec3{0, 1, 0}},
		{mgl32.Vec3{-1, 0, 0}, mgl32.Vec3{0, 0, 1}, mgl32.Vec3{0, 1, 0}},
		{mgl32.Vec3{0, 1, 0}, mgl32.Vec3{1, 0, 0}, mgl32.Vec3{0, 0, -1}},
		{mgl32.Vec3{0, -1, 0}, mgl32.Vec3{1, 0, 0}, mgl32.Vec3{0, 0, 1}},
		{mgl32.Vec3{0, 0, 1}, mgl32.Vec3{1, 0, 0}, mgl32.Vec3{0, 1, 0}},
		{mgl32.Vec3{0, 0, -1}, mgl32.Vec3{-1, 0, 0}, mgl32.Vec3{0, 1, 0}},
	}
	for _, f := range faces {
		base := uint32(len(p.Positions))
		for _, c := range [4][2]float32{{-1, -1}, {1, -1}, {1, 1}, {-1, 1}} {
			pos := f.n.Add(f.u.Mul(c[0])).Add(f.v.Mul(c[1]))
			p.Positions = append(p.Positions, mgl32.Vec3{pos[0] * h[0], pos[1] * h[1], pos[2] * h[2]})
			p.Normals = append(p.Normals, f.n)
			p.UVs = append(p.UVs, mgl32.Vec2{(c[0] + 1) / 2, (1 - c[1]) / 2})
		}
		p.Indices = append(p.Indices, base, base+1, base+2, base, base+2, base+3)
	}
	return p
}

// checker is an 8x8-cell texture.
func checker(size int, a, b color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	cell := size / 8
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			c := a
			if (x/cell+y/cell)%2 == 1 {
				c = b
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// testScene is a small lit scene: a ground slab, an asymmetric "L" (a tall red post on the
// left of a long blue bar), a textured cube, a metal sphere-ish cube, an unlit emissive tile
// and a directional plus a point light. The camera looks at the origin from +Z.
func testScene() *scenes.Scene {
	s := &scenes.Scene{
		Name:       "render-test",
		Background: mgl32.Vec3{0.15, 0.2, 0.3},
		Ambient:    mgl32.Vec3{0.05, 0.05, 0.06},
		Camera:     scenes.Camera{Eye: mgl32.Vec3{0, 2, 8}, Target: mgl32.Vec3{0, 0.5, 0}, Up: mgl32.Vec3{0, 1, 0}, FovY: 45},
	}
	add := func(name string, prim scenes.Primitive, mat scenes.Material, pos mgl32.Vec3) *scenes.Node {
		s.Materials = append(s.Materials, &mat)
		prim.Material = len(s.Materials) - 1
		s.Meshes = append(s.Meshes, &scenes.Mesh{Name: name, Primitives: []scenes.Primitive{prim}})
		n := scenes.NewNode(name, len(s.Meshes)-1)
		n.Translation = pos
		s.Nodes = append(s.Nodes, n)
		s.Roots = append(s.Roots, len(s.Nodes)-1)
		return n
	}
	add("ground", box(8, 0.2, 4), scenes.Material{BaseColor: mgl32.Vec4{0.5, 0.5, 0.5, 1}, Roughness: 0.8}, mgl32.Vec3{0, -0.1, 0})
	add("post", box(0.5, 2.5, 0.5), scenes.Material{BaseColor: mgl32.Vec4{0.8, 0.1, 0.08, 1}, Roughness: 0.5}, mgl32.Vec3{-2.5, 1.25, 0})
	add("bar", box(2.5, 0.5, 0.5), scenes.Material{BaseColor: mgl32.Vec4{0.1, 0.2, 0.8, 1}, Roughness: 0.3}, mgl32.Vec3{-1, 0.25, 0})
	tex := add("crate", box(1, 1, 1), scenes.Material{
		BaseColor: mgl32.Vec4{1, 1, 1, 1}, Roughness: 0.6,
		BaseColorTexture: checker(64, color.NRGBA{240, 200, 60, 255}, color.NRGBA{40, 40, 40, 255}),
	}, mgl32.Vec3{1.5, 0.5, 0.5})
	tex.Rotation = mgl32.QuatRotate(mgl32.DegToRad(30), mgl32.Vec3{0, 1, 0})
	add("metal", box(0.8, 0.8, 0.8), scenes.Material{BaseColor: mgl32.Vec4{0.95, 0.64, 0.54, 1}, Metallic: 1, Roughness: 0.3}, mgl32.Vec3{2.8, 0.4, -0.8})
	add("lamp", box(0.6, 0.3, 0.05), scenes.Material{BaseColor: mgl32.Vec4{0, 0, 0, 1}, Emissive: mgl32.Vec3{0.2, 1, 0.4}, Unlit: true}, mgl32.Vec3{0.5, 2.2, 0})
	s.Lights = []scenes.Light{
		{Type: scenes.Directional, Color: mgl32.Vec3{1, 0.95, 0.9}, Intensity: 1.6, Direction: mgl32.Vec3{0.4, -1, -0.6}},
		{Type: scenes.Point, Color: mgl32.Vec3{0.6, 0.7, 1}, Intensity: 6, Position: mgl32.Vec3{-1, 3, 2}},
	}
	return s
}

// silhouetteScene is an unlit "L" on the z = 0 plane (a post on the left, a bar along the
// bottom to the right): seen from behind, its silhouette is the mirror image.
func silhouetteScene() *scenes.Scene {
	s := &scenes.Scene{
		Name:       "silhouette",
		Background: mgl32.Vec3{0, 0, 0},
		Camera:     scenes.Camera{Eye: mgl32.Vec3{0, 0, 6}, Target: mgl32.Vec3{0, 0, 0}, Up: mgl32.Vec3{0, 1, 0}, FovY: 40},
	}
	s.Materials = []*scenes.Material{{BaseColor: mgl32.Vec4{1, 1, 1, 1}, Unlit: true}}
	for i, b := range []struct{ size, pos mgl32.Vec3 }{
		{mgl32.Vec3{0.4, 2, 0.05}, mgl32.Vec3{-1, 0.2, 0}},
		{mgl32.Vec3{2.2, 0.4, 0.05}, mgl32.Vec3{0.1, -0.6, 0}},
	} {
		p := box(b.size[0], b.size[1], b.size[2])
		p.Material = 0
		s.Meshes = append(s.Meshes, &scenes.Mesh{Name: fmt.Sprint("part", i), Primitives: []scenes.Primitive{p}})
		n := scenes.NewNode(fmt.Sprint("part", i), i)
		n.Translation = b.pos
		s.Nodes = append(s.Nodes, n)
		s.Roots = append(s.Roots, i)
	}
	return s
}

// cpuI420 is the reference conversion, written for reading rather than speed: BT.709,
// limited range, chroma averaged over 2x2 pixels (edges repeated), in fixed point. The
// renderer's converter (convertI420 in i420.go, ConvertCPU) must give exactly its bytes and
// the shader (ConvertGPU) the same within 2 levels.
func cpuI420(src *image.RGBA, dst *image.YCbCr) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	for y := 0; y < h; y++ {
		row := src.Pix[y*src.Stride:]
		out := dst.Y[y*dst.YStride:]
		for x := 0; x < w; x++ {
			r, g, b := int32(row[4*x]), int32(row[4*x+1]), int32(row[4*x+2])
			out[x] = uint8((11966*r + 40255*g + 4064*b + 16<<16 + 1<<15) >> 16)
		}
	}
	cw, ch := (w+1)/2, (h+1)/2
	for cy := 0; cy < ch; cy++ {
		r0 := src.Pix[2*cy*src.Stride:]
		r1 := src.Pix[min(2*cy+1, h-1)*src.Stride:]
		cbRow, crRow := dst.Cb[cy*dst.CStride:], dst.Cr[cy*dst.CStride:]
		for cx := 0; cx < cw; cx++ {
			x0, x1 := 4*2*cx, 4*min(2*cx+1, w-1)
			r := int32(r0[x0]) + int32(r0[x1]) + int32(r1[x0]) + int32(r1[x1])
			g := int32(r0[x0+1]) + int32(r0[x1+1]) + int32(r1[x0+1]) + int32(r1[x1+1])
			b := int32(r0[x0+2]) + int32(r0[x1+2]) + int32(r1[x0+2]) + int32(r1[x1+2])
			cbRow[cx] = uint8((-6596*r - 22188*g + 28784*b + 128<<18 + 1<<17) >> 18)
			crRow[cx] = uint8((28784*r - 26145*g - 2639*b + 128<<18 + 1<<17) >> 18)
		}
	}
}

// imageDiff compares two RGBA images of one size: the mean absolute difference per colour
// channel (levels) and the fraction of pixels with a channel more than 24 levels off.
func imageDiff(a, b *image.RGBA) (mean, badFraction float64) {
	w, h := a.Rect.Dx(), a.Rect.Dy()
	var sum, bad int
	for y := 0; y < h; y++ {
		pa, pb := a.Pix[y*a.Stride:], b.Pix[y*b.Stride:]
		for x := 0; x < w; x++ {
			worst := 0
			for c := 0; c < 3; c++ {
				d := int(pa[4*x+c]) - int(pb[4*x+c])
				if d < 0 {
					d = -d
				}
				sum += d
				worst = max(worst, d)
			}
			if worst > 24 {
				bad++
			}
		}
	}
	return float64(sum) / float64(3*w*h), float64(bad) / float64(w*h)
}

// Golden tolerance: rasterisers (other Mesa/LLVM versions, another CPU's vector width)
// differ at triangle edges and in the last bit of shading, not in whole areas.
const (
	goldenMaxMean = 1.5   // mean absolute difference per channel, levels
	goldenMaxBad  = 0.005 // fraction of pixels with a channel more than 24 levels off
)

// checkGolden compares img with testdata/name.png (or rewrites it with -update). On a
// mismatch the actual image is written next to the test binary's temp dir for inspection.
func checkGolden(t *testing.T, name string, img *image.RGBA) {
	t.Helper()
	path := filepath.Join("testdata", name+".png")
	if *update {
		if err := SavePNG(path, img); err != nil {
			t.Fatal(err)
		}
		t.Logf("updated %s", path)
		return
	}
	want, err := loadPNG(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run go test -tags egl ./render -run %s -update to create it)", path, err, t.Name())
	}
	if want.Rect != img.Rect {
		t.Fatalf("golden %s is %v, rendered %v", path, want.Rect, img.Rect)
	}
	mean, bad := imageDiff(img, want)
	t.Logf("%s: mean abs diff %.3f levels, %.4f%% pixels > 24 levels off", name, mean, 100*bad)
	if mean > goldenMaxMean || bad > goldenMaxBad {
		out := filepath.Join(os.TempDir(), "render-golden-"+name+".png")
		if err := SavePNG(out, img); err == nil {
			t.Logf("actual image written to %s", out)
		}
		t.Errorf("%s differs from the golden: mean %.3f (limit %.1f), %.3f%% bad pixels (limit %.1f%%)",
			name, mean, goldenMaxMean, 100*bad, 100*goldenMaxBad)
	}
}

func loadPNG(path string) (*image.RGBA, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, err
	}
	if rgba, ok := img.(*image.RGBA); ok {
		return rgba, nil
	}
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			out.Set(x, y, img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return out, nil
}

// drawRGBA draws s in v and reads it back as RGBA.
func drawRGBA(t testing.TB, v *View, s *scenes.Scene) *image.RGBA {
	t.Helper()
	if err := v.Draw(s); err != nil {
		t.Fatalf("Draw: %v", err)
	}
	img, err := v.ReadRGBA(nil)
	if err != nil {
		t.Fatalf("ReadRGBA: %v", err)
	}
	return img
}

// mask marks the pixels that differ from the background colour bg by more than 8 levels.
func mask(img *image.RGBA, bg color.RGBA) []bool {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	m := make([]bool, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			p := img.RGBAAt(x, y)
			d := math.Abs(float64(p.R)-float64(bg.R)) + math.Abs(float64(p.G)-float64(bg.G)) + math.Abs(float64(p.B)-float64(bg.B))
			m[y*w+x] = d > 8
		}
	}
	return m
}

func count(m []bool) int {
	n := 0
	for _, b := range m {
		if b {
			n++
		}
	}
	return n
}

// srgbByte is how a Scene.Background channel lands in the colour target.
func srgbByte(f float32) uint8 { return uint8(math.Round(float64(f) * 255)) }

func errorsAs[T error](err error) (T, bool) {
	var target T
	ok := errors.As(err, &target)
	return target, ok
}

// benchDemo returns the built-in demo scene.
func benchDemo(t testing.TB) *scenes.Scene {
	t.Helper()
	s, err := scenes.Builtin(scenes.DemoScene)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
