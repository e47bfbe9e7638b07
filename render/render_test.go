package render

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/go-gl/mathgl/mgl32"
	"go.uber.org/goleak"

	"github.com/rendercast/rendercast/scenes"
	"github.com/rendercast/rendercast/shaders"
)

func TestInfo(t *testing.T) {
	r := newRenderer(t, Config{MSAA: MSAAAuto})
	info := r.Info()
	t.Logf("%+v", info)
	for name, s := range map[string]string{
		"Platform": info.Platform, "Context": info.Context, "Vendor": info.Vendor,
		"Renderer": info.Renderer, "Version": info.Version, "GLSL": info.GLSL,
	} {
		if s == "" {
			t.Errorf("Info().%s is empty", name)
		}
	}
	if info.MaxSize < 1920 {
		t.Errorf("MaxSize %d < 1920", info.MaxSize)
	}
	if info.Readback != ReadbackSync && info.Readback != ReadbackPBO {
		t.Errorf("Readback %q not resolved", info.Readback)
	}
	if info.Convert != ConvertGPU && info.Convert != ConvertCPU {
		t.Errorf("Convert %q not resolved", info.Convert)
	}
	if info.Shading != ShadingPBR && info.Shading != ShadingFast {
		t.Errorf("Shading %q not resolved", info.Shading)
	}
	if info.Software && (info.MSAA != 0 || info.Readback != ReadbackSync || info.Convert != ConvertCPU || info.Shading != ShadingFast) {
		t.Errorf("software renderer %q got MSAA %d, readback %q, convert %q, shading %q; want 0, sync, cpu and fast by default",
			info.Renderer, info.MSAA, info.Readback, info.Convert, info.Shading)
	}
}

func TestPlatforms(t *testing.T) {
	for _, platform := range []string{PlatformDevice, PlatformSurfaceless} {
		t.Run(platform, func(t *testing.T) {
			r := newRenderer(t, Config{Platform: platform})
			if got := r.Info().Platform; got != platform {
				t.Fatalf("Info().Platform = %q, want %q", got, platform)
			}
			v := newView(t, r, 64, 48)
			s := testScene()
			img := drawRGBA(t, v, s)
			want := color.RGBA{srgbByte(s.Background[0]), srgbByte(s.Background[1]), srgbByte(s.Background[2]), 255}
			if got := img.RGBAAt(0, 0); got != want {
				t.Errorf("corner pixel %v, want background %v", got, want)
			}
		})
	}
}

func TestBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Platform: "x11"},
		{Readback: "async"},
		{Convert: "shader"},
		{Shading: "gouraud"},
		{Shading: "PBR"},
		{MSAA: -2},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrBadConfig) {
			t.Errorf("New(%+v) = %v, want ErrBadConfig", cfg, err)
		}
	}
}

// TestNoContext runs New in a child process whose EGL (libglvnd) finds no driver: the
// error must list what was tried and what to install.
func TestNoContext(t *testing.T) {
	if os.Getenv("RENDER_TEST_NO_EGL_CHILD") == "1" {
		_, err := New(Config{})
		fmt.Printf("is ErrNoContext: %v\n%v\n", errors.Is(err, ErrNoContext), err)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoContext$")
	cmd.Env = append(os.Environ(), "RENDER_TEST_NO_EGL_CHILD=1",
		"__EGL_VENDOR_LIBRARY_FILENAMES=/nonexistent/egl_vendor.json", "__EGL_VENDOR_LIBRARY_DIRS=/nonexistent")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	for _, want := range []string{"is ErrNoContext: true", "tried:", "EGL device platform", "EGL surfaceless platform", "libegl-mesa0", "libgl1-mesa-dri", "NVIDIA"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("error does not mention %q", want)
		}
	}
}

func TestGoldenTestScene(t *testing.T) { forModes(t, slowModes, testGoldenTestScene) }

func testGoldenTestScene(t *testing.T) {
	r := newRenderer(t, Config{Shading: ShadingPBR})
	v := newView(t, r, 320, 180)
	checkGolden(t, "testscene_320x180", drawRGBA(t, v, testScene()))
}

// TestOrbitMirrors orbits the camera 180° around the target: the flat "L" must appear
// mirrored left to right.
func TestOrbitMirrors(t *testing.T) { forModes(t, allModes, testOrbitMirrors) }

func testOrbitMirrors(t *testing.T) {
	r := newRenderer(t, Config{})
	const w, h = 160, 120
	v := newView(t, r, w, h)
	s := silhouetteScene()
	front := mask(drawRGBA(t, v, s), color.RGBA{0, 0, 0, 255})
	if err := s.Camera.Orbit(180, 0); err != nil {
		t.Fatal(err)
	}
	back := mask(drawRGBA(t, v, s), color.RGBA{0, 0, 0, 255})
	n := count(front)
	if n < w*h/20 {
		t.Fatalf("silhouette covers %d pixels only", n)
	}
	// The L's post is on the left from the front.
	var left, right int
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if front[y*w+x] {
				if x < w/2 {
					left++
				} else {
					right++
				}
			}
		}
	}
	if left <= right {
		t.Errorf("front view: %d pixels left of centre, %d right; the post should weigh on the left", left, right)
	}
	mismatch := 0
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if front[y*w+x] != back[y*w+(w-1-x)] {
				mismatch++
			}
		}
	}
	if mismatch > n/50 {
		t.Errorf("after orbiting 180°, %d of %d silhouette pixels are not mirrored", mismatch, n)
	}
}

// TestZoomGrows zooms in by 1.5: the silhouette's area grows by about 1.5².
func TestZoomGrows(t *testing.T) { forModes(t, allModes, testZoomGrows) }

func testZoomGrows(t *testing.T) {
	r := newRenderer(t, Config{})
	v := newView(t, r, 160, 120)
	s := silhouetteScene()
	before := count(mask(drawRGBA(t, v, s), color.RGBA{0, 0, 0, 255}))
	if err := s.Camera.Zoom(1.5); err != nil {
		t.Fatal(err)
	}
	after := count(mask(drawRGBA(t, v, s), color.RGBA{0, 0, 0, 255}))
	ratio := float64(after) / float64(before)
	if ratio < 1.9 || ratio > 2.6 {
		t.Errorf("zoom 1.5: silhouette %d -> %d pixels (x%.2f), want about x2.25", before, after, ratio)
	}
}

// TestBackgroundCorner changes the background and checks the top-left 32x32 pixels in the
// RGBA and the I420 read-back.
func TestBackgroundCorner(t *testing.T) { forModes(t, allModes, testBackgroundCorner) }

func testBackgroundCorner(t *testing.T) {
	r := newRenderer(t, Config{})
	v := newView(t, r, 320, 180)
	s := testScene()
	for _, bg := range []mgl32.Vec3{{0.9, 0.1, 0.3}, {0.2, 0.6, 0.2}} {
		s.Background = bg
		checkCorner(t, v, s)
	}
}

func checkCorner(t *testing.T, v *View, s *scenes.Scene) {
	t.Helper()
	bg := s.Background
	want := color.RGBA{srgbByte(bg[0]), srgbByte(bg[1]), srgbByte(bg[2]), 255}
	img := drawRGBA(t, v, s)
	for y := 0; y < 32; y++ {
		for x := 0; x < 32; x++ {
			if got := img.RGBAAt(x, y); got != want {
				t.Fatalf("background %v: pixel (%d,%d) = %v, want %v", bg, x, y, got, want)
			}
		}
	}
	yuv, err := v.ReadYCbCr(nil)
	if err != nil {
		t.Fatal(err)
	}
	ref := image.NewYCbCr(image.Rect(0, 0, 2, 2), image.YCbCrSubsampleRatio420)
	px := image.NewRGBA(image.Rect(0, 0, 2, 2))
	for i := 0; i < 4; i++ {
		px.SetRGBA(i%2, i/2, want)
	}
	cpuI420(px, ref)
	for y := 0; y < 32; y++ {
		for x := 0; x < 32; x++ {
			yi, ci := yuv.YOffset(x, y), yuv.COffset(x, y)
			if absDiff(yuv.Y[yi], ref.Y[0]) > 1 || absDiff(yuv.Cb[ci], ref.Cb[0]) > 1 || absDiff(yuv.Cr[ci], ref.Cr[0]) > 1 {
				t.Fatalf("background %v: YCbCr at (%d,%d) = %d,%d,%d, want %d,%d,%d", bg, x, y,
					yuv.Y[yi], yuv.Cb[ci], yuv.Cr[ci], ref.Y[0], ref.Cb[0], ref.Cr[0])
			}
		}
	}
}

// TestYCbCrMatchesCPU checks each conversion against cpuI420 of the RGBA read-back of the
// same frame, within 2 levels (the CPU one exactly), for padded and unpadded sizes and
// destinations, reading synchronously and through pixel buffers.
func TestYCbCrMatchesCPU(t *testing.T) {
	forEachConvert(t, Config{}, testYCbCrMatchesCPU)
}

func testYCbCrMatchesCPU(t *testing.T, r *Renderer) {
	for _, tc := range []struct {
		w, h int
		dst  func(w, h int) *image.YCbCr
	}{
		{320, 180, nil},
		{1280, 720, func(w, h int) *image.YCbCr {
			return image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
		}},
		{250, 142, nil},
		{251, 141, func(w, h int) *image.YCbCr {
			return image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
		}},
	} {
		t.Run(fmt.Sprintf("%dx%d", tc.w, tc.h), func(t *testing.T) {
			v := newView(t, r, tc.w, tc.h)
			rgba := drawRGBA(t, v, testScene())
			var dst *image.YCbCr
			if tc.dst != nil {
				dst = tc.dst(tc.w, tc.h)
			}
			got, err := v.ReadYCbCr(dst)
			if err != nil {
				t.Fatal(err)
			}
			if dst != nil && got != dst {
				t.Error("ReadYCbCr did not fill the destination it was given")
			}
			want := image.NewYCbCr(image.Rect(0, 0, tc.w, tc.h), image.YCbCrSubsampleRatio420)
			cpuI420(rgba, want)
			limit := 2
			if r.Info().Convert == ConvertCPU {
				limit = 0
			}
			comparePlanes(t, got, want, limit)
		})
	}
}

func comparePlanes(t *testing.T, got, want *image.YCbCr, limit int) {
	t.Helper()
	w, h := want.Rect.Dx(), want.Rect.Dy()
	worst := map[string]int{}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			worst["Y"] = max(worst["Y"], absDiff(got.Y[got.YOffset(x, y)], want.Y[want.YOffset(x, y)]))
			gc, wc := got.COffset(x, y), want.COffset(x, y)
			worst["Cb"] = max(worst["Cb"], absDiff(got.Cb[gc], want.Cb[wc]))
			worst["Cr"] = max(worst["Cr"], absDiff(got.Cr[gc], want.Cr[wc]))
		}
	}
	for plane, d := range worst {
		if d > limit {
			t.Errorf("%s plane: the conversions differ by up to %d levels (limit %d)", plane, d, limit)
		}
	}
	t.Logf("largest differences: %v", worst)
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

// TestRenderReusesFrame checks the buffer contract: a fitting dst is filled and returned,
// anything else gives a new frame.
func TestRenderReusesFrame(t *testing.T) {
	forEachConvert(t, Config{}, testRenderReusesFrame)
}

func testRenderReusesFrame(t *testing.T, r *Renderer) {
	v := newView(t, r, 128, 72)
	s := testScene()
	dst := NewFrame(128, 72)
	got, err := v.Render(s, dst)
	if err != nil {
		t.Fatal(err)
	}
	if got != dst {
		t.Error("Render did not use a NewFrame destination")
	}
	for _, bad := range []*image.YCbCr{
		nil,
		NewFrame(64, 72),
		image.NewYCbCr(image.Rect(0, 0, 128, 72), image.YCbCrSubsampleRatio444),
	} {
		got, err := v.Render(s, bad)
		if err != nil {
			t.Fatal(err)
		}
		if got == bad || got.Rect != image.Rect(0, 0, 128, 72) || got.SubsampleRatio != image.YCbCrSubsampleRatio420 {
			t.Errorf("Render(dst %v) returned %v (same: %v)", bad, got.Rect, got == bad)
		}
	}
	if st := v.Stats(); st.Frame != 4 || st.Drawn != 4 {
		t.Errorf("after 4 renders: Stats %+v", st)
	}
}

// TestPBOReadback forces pixel buffer objects (GPU mode) on llvmpipe, with either
// conversion: every call returns the frame it drew, also while another view's read-backs
// are in flight on the same context (the asynchrony is across views).
func TestPBOReadback(t *testing.T) {
	forEachConvert(t, Config{Readback: ReadbackPBO}, testPBOReadback)
}

func testPBOReadback(t *testing.T, r *Renderer) {
	if r.Info().Readback != ReadbackPBO {
		t.Fatalf("Readback = %q", r.Info().Readback)
	}
	v := newView(t, r, 64, 48)
	s := testScene()
	palette := []mgl32.Vec3{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 1}}
	colors := append(append([]mgl32.Vec3{}, palette...), palette...) // 8 calls
	// Another view renders all along from another goroutine, so that this view's read-backs
	// wait while the other's are in flight.
	other := newView(t, r, 320, 180)
	stop := make(chan struct{})
	otherDone := make(chan error, 1)
	go func() {
		os := testScene()
		for {
			select {
			case <-stop:
				otherDone <- nil
				return
			default:
			}
			if _, err := other.Render(os, nil); err != nil {
				otherDone <- err
				return
			}
		}
	}()
	defer func() {
		close(stop)
		if err := <-otherDone; err != nil {
			t.Errorf("the other view: %v", err)
		}
	}()
	for i, c := range colors {
		s.Background = c
		s.Version = uint32(100 + i)
		img, err := v.Render(s, nil)
		if err != nil {
			t.Fatal(err)
		}
		st := v.Stats()
		if st.Frame != uint64(i+1) || st.Drawn != uint64(i+1) || st.Version != uint32(100+i) {
			t.Errorf("call %d: stats %+v, want frame %d version %d", i+1, st, i+1, 100+i)
		}
		got := YCbCrToRGBA(img).RGBAAt(0, 0)
		want := color.RGBA{srgbByte(c[0]), srgbByte(c[1]), srgbByte(c[2]), 255}
		if d := max(absDiff(got.R, want.R), absDiff(got.G, want.G), absDiff(got.B, want.B)); d > 4 {
			t.Errorf("call %d: corner %v, want %v (the frame just drawn)", i+1, got, want)
		}
	}
}

func TestMSAAForced(t *testing.T) { forModes(t, allModes, testMSAAForced) }

func testMSAAForced(t *testing.T) {
	r := newRenderer(t, Config{MSAA: 4})
	if r.Info().MSAA != 4 {
		t.Fatalf("MSAA = %d, want 4", r.Info().MSAA)
	}
	v := newView(t, r, 160, 90)
	img := drawRGBA(t, v, testScene())
	plain := drawRGBA(t, newView(t, newRenderer(t, Config{}), 160, 90), testScene())
	mean, _ := imageDiff(img, plain)
	if mean == 0 || mean > 3 {
		t.Errorf("4x MSAA vs none: mean difference %.3f, want small but non-zero (edges only)", mean)
	}
}

// TestViewsNoLeak creates and destroys many views: the GL object count returns to what it
// was and no goroutine (the CPU conversion's helpers included) is left behind.
func TestViewsNoLeak(t *testing.T) {
	for _, m := range allModes {
		t.Run(m.String(), func(t *testing.T) { testViewsNoLeak(t, m) })
	}
}

func testViewsNoLeak(t *testing.T, m mode) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	r, err := New(Config{Readback: m.readback, Convert: m.convert})
	if err != nil {
		t.Fatal(err)
	}
	s := testScene()
	round := func(w, h int) {
		v, err := r.NewView(w, h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Render(s, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := v.ReadRGBA(nil); err != nil {
			t.Fatal(err)
		}
		if err := v.Close(); err != nil {
			t.Fatal(err)
		}
	}
	round(64, 64) // fills the mesh and texture caches
	base, err := r.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if base.Views != 0 || base.CachedPrimitives == 0 || base.CachedTextures != 1 {
		t.Fatalf("after one view: %+v", base)
	}
	for i := 0; i < 40; i++ {
		round(32+8*i, 24+4*i)
	}
	after, err := r.Stats()
	if err != nil {
		t.Fatal(err)
	}
	after.Frames = base.Frames
	if after != base {
		t.Errorf("GL objects leaked: before %+v, after 40 views %+v", base, after)
	}
	if err := r.ReleaseCache(); err != nil {
		t.Fatal(err)
	}
	empty, _ := r.Stats()
	// What remains: pbr.frag's six programs, the fast shading's four (the default on
	// software rasterisers), the upscale's program, the vertex array of the fullscreen
	// passes, plus for the GPU conversion its program.
	programs, vaos := 7, 1
	if r.Info().Shading == ShadingFast {
		programs += 4
	}
	if m.convert == ConvertGPU {
		programs++
	}
	if empty.LiveObjects != programs+vaos || empty.Programs != programs || empty.VertexArrays != vaos || empty.CachedPrimitives != 0 {
		t.Errorf("after ReleaseCache: %+v", empty)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestBadShader(t *testing.T) {
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
	broken[pbrFrag] = &fstest.MapFile{Data: []byte("#version 330 core\nout vec4 c;\nvoid main() { c = undefinedThing; }\n")}
	_, err := New(Config{Shaders: broken})
	se, ok := errorsAs[*ShaderError](err)
	if !ok || !errors.Is(err, ErrShader) {
		t.Fatalf("New with a broken pbr.frag: %v, want a *ShaderError", err)
	}
	if se.File != "shaders/pbr.frag" || se.Stage != "compile" || !strings.Contains(se.Log, "undefinedThing") {
		t.Errorf("ShaderError %+v: want file shaders/pbr.frag, stage compile, the driver's log naming undefinedThing", se)
	}
	if !strings.Contains(err.Error(), "shaders/pbr.frag") {
		t.Errorf("error %q does not name the file", err)
	}

	// The fast shading's files are compiled only when it is used, and name themselves.
	pbr, err := fs.ReadFile(shaders.FS(), pbrFrag)
	if err != nil {
		t.Fatal(err)
	}
	broken[pbrFrag] = &fstest.MapFile{Data: pbr}
	broken[gouraudVert] = &fstest.MapFile{Data: []byte("#version 330 core\nvoid main() { gl_Position = undefinedThing; }\n")}
	_, err = New(Config{Shaders: broken, Shading: ShadingFast})
	if se, ok := errorsAs[*ShaderError](err); !ok || se.File != "shaders/gouraud.vert" || se.Stage != "compile" || !strings.Contains(se.Log, "undefinedThing") {
		t.Errorf("New with a broken gouraud.vert and fast shading: %v, want a *ShaderError for shaders/gouraud.vert", err)
	}
	r, err := New(Config{Shaders: broken, Shading: ShadingPBR})
	if err != nil {
		t.Errorf("New with a broken gouraud.vert and PBR shading: %v", err)
	} else {
		r.Close()
	}

	delete(broken, gouraudVert)
	_, err = New(Config{Shaders: broken, Shading: ShadingFast})
	if se, ok := errorsAs[*ShaderError](err); !ok || se.Stage != "load" || se.File != "shaders/gouraud.vert" {
		t.Errorf("missing gouraud.vert: %v", err)
	}
	delete(broken, yuvFrag)
	_, err = New(Config{Shaders: broken, Shading: ShadingPBR, Convert: ConvertGPU})
	if se, ok := errorsAs[*ShaderError](err); !ok || se.Stage != "load" || se.File != "shaders/yuv420.frag" {
		t.Errorf("missing yuv420.frag: %v", err)
	}
}

func TestClosed(t *testing.T) { forModes(t, allModes, testClosed) }

func testClosed(t *testing.T) {
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := r.NewView(32, 32)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.ReadYCbCr(nil); !errors.Is(err, ErrNoFrame) {
		t.Errorf("ReadYCbCr before drawing: %v, want ErrNoFrame", err)
	}
	if err := v.Draw(nil); !errors.Is(err, ErrNoScene) {
		t.Errorf("Draw(nil): %v, want ErrNoScene", err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if err := v.Draw(testScene()); !errors.Is(err, ErrClosed) {
		t.Errorf("Draw on a closed view: %v, want ErrClosed", err)
	}
	v2, err := r.NewView(32, 32)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	r.Close()
	if _, err := r.NewView(32, 32); !errors.Is(err, ErrClosed) {
		t.Errorf("NewView after Close: %v, want ErrClosed", err)
	}
	if _, err := v2.Render(testScene(), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Render after the renderer closed: %v, want ErrClosed", err)
	}
	if err := v2.Close(); err != nil {
		t.Errorf("closing a view of a closed renderer: %v", err)
	}
	if _, err := r.Stats(); !errors.Is(err, ErrClosed) {
		t.Errorf("Stats after Close: %v", err)
	}
}

func TestBadSize(t *testing.T) {
	r := newRenderer(t, Config{})
	for _, sz := range [][2]int{{0, 10}, {10, 1}, {-5, 5}, {r.Info().MaxSize + 1, 10}} {
		if _, err := r.NewView(sz[0], sz[1]); !errors.Is(err, ErrBadSize) {
			t.Errorf("NewView(%d, %d): %v, want ErrBadSize", sz[0], sz[1], err)
		}
	}
}

// TestBadPrimitiveSkipped: a primitive with an index out of range is skipped (and logged);
// the rest of the scene still draws.
func TestBadPrimitiveSkipped(t *testing.T) { forModes(t, allModes, testBadPrimitiveSkipped) }

func testBadPrimitiveSkipped(t *testing.T) {
	r := newRenderer(t, Config{})
	v := newView(t, r, 160, 120)
	s := silhouetteScene()
	good := count(mask(drawRGBA(t, v, s), color.RGBA{0, 0, 0, 255}))
	bad := s.Meshes[1].Primitives[0]
	bad.Indices = append([]uint32(nil), bad.Indices...)
	bad.Indices[0] = 9999
	s.Meshes = append(s.Meshes, &scenes.Mesh{Name: "broken", Primitives: []scenes.Primitive{bad}})
	s.Meshes[0], s.Meshes[2] = s.Meshes[2], s.Meshes[0] // node 0 now shows the broken mesh
	got := count(mask(drawRGBA(t, v, s), color.RGBA{0, 0, 0, 255}))
	if got == 0 || got >= good {
		t.Errorf("with one part broken: %d pixels drawn, want some but fewer than %d", got, good)
	}
	st, _ := r.Stats()
	if st.CachedPrimitives != 2 {
		t.Errorf("CachedPrimitives = %d, want 2 (the broken one is not uploaded)", st.CachedPrimitives)
	}
}

// TestConcurrentViews renders from several goroutines at once (run with -race).
func TestConcurrentViews(t *testing.T) {
	forEachConvert(t, Config{}, testConcurrentViews)
}

func testConcurrentViews(t *testing.T, r *Renderer) {
	const workers = 4
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := r.NewView(640+8*i, 360) // large enough to share a CPU conversion
			if err != nil {
				errs <- err
				return
			}
			defer v.Close()
			s := testScene()
			var dst *image.YCbCr
			for f := 0; f < 5; f++ {
				s.Camera.Orbit(10, 0)
				if dst, err = v.Render(s, dst); err != nil {
					errs <- err
					return
				}
				_ = v.Stats()
			}
			errs <- nil
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestSavePNG(t *testing.T) {
	r := newRenderer(t, Config{})
	v := newView(t, r, 96, 64)
	img := drawRGBA(t, v, testScene())
	path := t.TempDir() + "/shot.png"
	if err := SavePNG(path, img); err != nil {
		t.Fatal(err)
	}
	back, err := loadPNG(path)
	if err != nil {
		t.Fatal(err)
	}
	if mean, _ := imageDiff(img, back); mean != 0 {
		t.Errorf("PNG round trip differs (mean %.3f)", mean)
	}
	yuv, err := v.ReadYCbCr(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := SavePNG(path, yuv); err != nil {
		t.Fatal(err)
	}
	back, _ = loadPNG(path)
	if mean, _ := imageDiff(img, back); mean > 3 {
		t.Errorf("PNG of the I420 frame differs from the RGBA frame by %.2f levels on average", mean)
	}
	if err := SavePNG(t.TempDir()+"/no/such/dir/x.png", img); err == nil {
		t.Error("SavePNG into a missing directory succeeded")
	}
}

// TestReadRGBAAfterConvert alternates the background every frame, drawing, then reading the
// RGBA image, then the I420 image: neither may show the previous frame. (Without the
// glFinish in readRGBA, llvmpipe returned the previous frame in about 5% of RGBA reads of a
// frame drawn after the I420 pass had sampled the colour texture.)
func TestReadRGBAAfterConvert(t *testing.T) {
	forEachConvert(t, Config{}, testReadRGBAAfterConvert)
}

func testReadRGBAAfterConvert(t *testing.T, r *Renderer) {
	v := newView(t, r, 160, 90)
	s := testScene()
	cols := []mgl32.Vec3{{0.9, 0.1, 0.3}, {0.2, 0.6, 0.2}}
	stale := 0
	for i := 0; i < 100; i++ {
		bg := cols[i%2]
		s.Background = bg
		want := color.RGBA{srgbByte(bg[0]), srgbByte(bg[1]), srgbByte(bg[2]), 255}
		if got := drawRGBA(t, v, s).RGBAAt(0, 0); got != want {
			stale++
			t.Logf("frame %d: RGBA corner %v, want %v", i, got, want)
		}
		yuv, err := v.ReadYCbCr(nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := YCbCrToRGBA(yuv).RGBAAt(0, 0); absDiff(got.R, want.R) > 3 || absDiff(got.G, want.G) > 3 {
			stale++
			t.Logf("frame %d: I420 corner %v, want %v", i, got, want)
		}
	}
	if stale > 0 {
		t.Errorf("%d stale read-backs in 100 frames", stale)
	}
}

// TestMarker draws the frame marker and decodes it from both read-backs; with the marker
// off, nothing decodes.
func TestMarker(t *testing.T) {
	forEachConvert(t, Config{}, testMarker)
}

func testMarker(t *testing.T, r *Renderer) {
	v := newView(t, r, 640, 360)
	s := testScene()
	s.Version = 41
	if _, err := v.Render(s, nil); err != nil {
		t.Fatal(err)
	}
	if img, _ := v.ReadRGBA(nil); img != nil {
		if _, _, ok := scenes.DecodeMarker(img); ok {
			t.Error("a marker decoded with the marker off")
		}
	}
	v.SetMarker(true)
	for frame := uint32(2); frame <= 3; frame++ {
		s.Version++
		yuv, err := v.Render(s, nil)
		if err != nil {
			t.Fatal(err)
		}
		if f, ver, ok := scenes.DecodeMarker(yuv); !ok || f != frame || ver != s.Version {
			t.Errorf("I420 marker: frame %d version %d ok %v, want %d %d", f, ver, ok, frame, s.Version)
		}
		rgba, err := v.ReadRGBA(nil)
		if err != nil {
			t.Fatal(err)
		}
		if f, ver, ok := scenes.DecodeMarker(rgba); !ok || f != frame || ver != s.Version {
			t.Errorf("RGBA marker: frame %d version %d ok %v, want %d %d", f, ver, ok, frame, s.Version)
		}
		// Blocks are exact: block 0 (sync bit 1) is white, block 1 black, to the pixel.
		for i, want := range []uint8{255, 0} {
			br := scenes.MarkerBlockRect(rgba.Rect, i)
			for y := br.Min.Y; y < br.Max.Y; y++ {
				for x := br.Min.X; x < br.Max.X; x++ {
					if got := rgba.RGBAAt(x, y); got != (color.RGBA{want, want, want, 255}) {
						t.Fatalf("block %d pixel (%d,%d) = %v", i, x, y, got)
					}
				}
			}
		}
	}
	small := newView(t, r, 320, 180)
	small.SetMarker(true)
	if _, err := small.Render(s, nil); err != nil {
		t.Errorf("a view too small for the marker: %v", err)
	}
}

// TestBuiltinScenes renders each built-in scene at its default camera (t = 0) with PBR
// shading: it matches its golden image, and the top-left 32x32 pixels show the background
// colour, also after the background is changed. (TestGoldenFast covers the fast shading.)
func TestBuiltinScenes(t *testing.T) { forModes(t, slowModes, testBuiltinScenes) }

func testBuiltinScenes(t *testing.T) {
	r := newRenderer(t, Config{Shading: ShadingPBR})
	for _, name := range scenes.BuiltinNames() {
		t.Run(name, func(t *testing.T) {
			s, err := scenes.Builtin(name)
			if err != nil {
				t.Fatal(err)
			}
			if s.Animate != nil {
				s.Animate(s, 0)
			}
			small := newView(t, r, 640, 360)
			checkGolden(t, name+"_640x360", drawRGBA(t, small, s))

			hd := newView(t, r, 1280, 720)
			checkCorner(t, hd, s)
			s.Background = mgl32.Vec3{0.85, 0.35, 0.05}
			checkCorner(t, hd, s)
		})
	}
}

// TestBadCamera: a camera that gives no projection (eye on the target) draws the background
// only, without an error.
func TestBadCamera(t *testing.T) { forModes(t, allModes, testBadCamera) }

func testBadCamera(t *testing.T) {
	r := newRenderer(t, Config{})
	v := newView(t, r, 64, 48)
	s := testScene()
	s.Camera.Eye = s.Camera.Target
	img := drawRGBA(t, v, s)
	bg := color.RGBA{srgbByte(s.Background[0]), srgbByte(s.Background[1]), srgbByte(s.Background[2]), 255}
	if n := count(mask(img, bg)); n != 0 {
		t.Errorf("%d pixels drawn with an unusable camera", n)
	}
}

// TestFrameStats: after a few frames every timing is filled in (GPU ones when the driver
// has timer queries; GPUConvert only for the GPU conversion), and no GPU time is absurd.
func TestFrameStats(t *testing.T) {
	forEachConvert(t, Config{}, testFrameStats)
}

func testFrameStats(t *testing.T, r *Renderer) {
	v := newView(t, r, 160, 90)
	s := testScene()
	var dst *image.YCbCr
	var err error
	for i := 0; i < 4; i++ {
		s.Version = uint32(i)
		if dst, err = v.Render(s, dst); err != nil {
			t.Fatal(err)
		}
	}
	st := v.Stats()
	t.Logf("%+v", st)
	if st.Frame != 4 || st.Drawn != 4 || st.Version != 3 || st.Draw <= 0 || st.Convert <= 0 || st.Readback <= 0 {
		t.Errorf("stats %+v", st)
	}
	gpu := r.Info().Convert == ConvertGPU
	if r.Info().TimerQueries && (st.GPUDraw <= 0 || gpu && st.GPUConvert <= 0) {
		t.Errorf("timer queries supported but GPU times missing: %+v", st)
	}
	if !gpu && st.GPUConvert != 0 {
		t.Errorf("GPUConvert %v with the CPU conversion", st.GPUConvert)
	}
	// llvmpipe once reported the time since boot for a draw query begun before the view's
	// framebuffer reached the driver (see draw).
	if st.GPUDraw > time.Second || st.GPUConvert > time.Second {
		t.Errorf("implausible GPU times: %+v", st)
	}
	rs, err := r.Stats()
	if err != nil || rs.Frames != 4 || rs.Views != 1 {
		t.Errorf("renderer stats %+v, %v", rs, err)
	}
}

// TestCacheEviction: geometry no view draws for cacheIdleFrames frames is freed.
func TestCacheEviction(t *testing.T) { forModes(t, allModes, testCacheEviction) }

func testCacheEviction(t *testing.T) {
	r := newRenderer(t, Config{})
	v := newView(t, r, 8, 8)
	big, small := testScene(), silhouetteScene()
	if err := v.Draw(big); err != nil {
		t.Fatal(err)
	}
	before, _ := r.Stats()
	for i := 0; i < cacheIdleFrames+sweepEvery; i++ {
		if err := v.Draw(small); err != nil {
			t.Fatal(err)
		}
	}
	after, _ := r.Stats()
	if before.CachedPrimitives != 6 || before.CachedTextures != 1 || after.CachedPrimitives != 2 || after.CachedTextures != 0 {
		t.Errorf("cache before %d primitives %d textures, after %d idle frames %d and %d; want 6, 1, then 2, 0",
			before.CachedPrimitives, before.CachedTextures, cacheIdleFrames+sweepEvery, after.CachedPrimitives, after.CachedTextures)
	}
	// Two buffers (vertices, indices) and a vertex array per cached primitive, plus the
	// fullscreen passes' vertex array and the view's read-back buffer.
	passVAO, pbo := 1, 0
	if r.Info().Readback == ReadbackPBO {
		pbo = 1
	}
	if after.Buffers != 2*2+pbo || after.VertexArrays != 2+passVAO || after.Textures != before.Textures-1 {
		t.Errorf("evicted objects not freed: before %+v, after %+v", before, after)
	}
}

// TestGLTFModels renders good glTF models from Debian's assimp-testmodels (skipped when the
// package is missing): each covers a fair part of the frame, and the textured box shows its
// texture (many distinct colours).
func TestGLTFModels(t *testing.T) { forModes(t, slowModes, testGLTFModels) }

func testGLTFModels(t *testing.T) {
	const dir = "/usr/share/assimp/models/glTF2/"
	r := newRenderer(t, Config{})
	v := newView(t, r, 320, 180)
	for _, tc := range []struct {
		path      string
		minColors int
	}{
		{"BoxTextured-glTF-Binary/BoxTextured.glb", 200},
		{"BoxTextured-glTF-Embedded/BoxTextured.gltf", 200},
		{"2CylinderEngine-glTF-Binary/2CylinderEngine.glb", 20},
	} {
		t.Run(tc.path, func(t *testing.T) {
			if _, err := os.Stat(dir + tc.path); err != nil {
				t.Skipf("%v (apt-get install assimp-testmodels)", err)
			}
			s, err := scenes.Load(dir + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			img := drawRGBA(t, v, s)
			bg := color.RGBA{srgbByte(s.Background[0]), srgbByte(s.Background[1]), srgbByte(s.Background[2]), 255}
			covered := count(mask(img, bg))
			colors := map[color.RGBA]bool{}
			for y := 0; y < 180; y++ {
				for x := 0; x < 320; x++ {
					colors[img.RGBAAt(x, y)] = true
				}
			}
			t.Logf("%d of %d pixels covered, %d colours", covered, 320*180, len(colors))
			if covered < 320*180/20 || len(colors) < tc.minColors {
				t.Errorf("%d pixels covered, %d colours: model not drawn as expected", covered, len(colors))
			}
		})
	}
}

// TestMirroredNode: a single-sided quad facing the camera stays visible when its node
// mirrors it (scale -1 on x), which reverses its winding.
func TestMirroredNode(t *testing.T) { forModes(t, allModes, testMirroredNode) }

func testMirroredNode(t *testing.T) {
	r := newRenderer(t, Config{})
	v := newView(t, r, 160, 120)
	s := silhouetteScene()
	quad := scenes.Primitive{
		Positions: []mgl32.Vec3{{-1, -1, 0}, {1, -1, 0}, {1, 1, 0}, {-1, 1, 0}},
		Indices:   []uint32{0, 1, 2, 0, 2, 3}, // counter-clockwise seen from +z
		Material:  0,
	}
	s.Meshes = []*scenes.Mesh{{Name: "quad", Primitives: []scenes.Primitive{quad}}}
	s.Nodes = []*scenes.Node{scenes.NewNode("quad", 0)}
	s.Roots = []int{0}
	black := color.RGBA{0, 0, 0, 255}
	want := count(mask(drawRGBA(t, v, s), black))
	s.Nodes[0].Scale = mgl32.Vec3{-1, 1, 1}
	got := count(mask(drawRGBA(t, v, s), black))
	if want < 1000 || got < want*98/100 || got > want*102/100 {
		t.Errorf("mirrored quad covers %d pixels, the original %d", got, want)
	}
}
