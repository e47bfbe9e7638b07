package render

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"math"
	"sync"
	"testing"

	"github.com/go-gl/mathgl/mgl32"
	"go.uber.org/goleak"

	"github.com/rendercast/rendercast/internal/imgcmp"
	"github.com/rendercast/rendercast/scenes"
)

// downsample2x averages each 2x2 block of src (even size) into one pixel.
func downsample2x(src *image.RGBA) *image.RGBA {
	w, h := src.Rect.Dx()/2, src.Rect.Dy()/2
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for c := 0; c < 4; c++ {
				s := 0
				for _, o := range [4][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
					s += int(src.Pix[(2*y+o[1])*src.Stride+4*(2*x+o[0])+c])
				}
				out.Pix[y*out.Stride+4*x+c] = uint8((s + 2) / 4)
			}
		}
	}
	return out
}

// referenceRGBA renders s the best way this machine can: PBR shading with shadows, full
// detail, 4x multisampling at twice the size in each direction, averaged down 2x2 (16
// samples per pixel).
func referenceRGBA(t *testing.T, s *scenes.Scene, w, h int) *image.RGBA {
	t.Helper()
	r := newRenderer(t, Config{Shading: ShadingPBR, MSAA: 4, Shadows: ShadowsOn})
	v := newView(t, r, 2*w, 2*h)
	full := s.Clone()
	for i, m := range full.Meshes {
		if m.Full != nil {
			mm := *m
			mm.Primitives, mm.Full = m.Full, nil
			full.Meshes[i] = &mm
		}
	}
	return downsample2x(drawRGBA(t, v, full))
}

// silhouetteTiltedScene is bright unlit shapes on black, with oblique and curved edges: a
// tilted slab and a coarse sphere whose mesh carries a fine full-detail alternative.
func silhouetteTiltedScene() *scenes.Scene {
	s := &scenes.Scene{
		Name:   "tilted-silhouette",
		Camera: scenes.Camera{Eye: mgl32.Vec3{0, 0, 6}, Target: mgl32.Vec3{0, 0, 0}, Up: mgl32.Vec3{0, 1, 0}, FovY: 40},
	}
	s.Materials = []*scenes.Material{{BaseColor: mgl32.Vec4{1, 1, 1, 1}, Unlit: true}}
	slab := box(2.6, 0.7, 0.05)
	slab.Material = 0
	coarse, fine := scenes.Sphere(0.8, 16, 8), scenes.Sphere(0.8, 96, 48)
	coarse.Material, fine.Material = 0, 0
	s.Meshes = []*scenes.Mesh{
		{Name: "slab", Primitives: []scenes.Primitive{slab}},
		{Name: "ball", Primitives: []scenes.Primitive{coarse}, Full: []scenes.Primitive{fine}},
	}
	a := scenes.NewNode("slab", 0)
	a.Translation = mgl32.Vec3{-0.6, 0.5, 0}
	a.Rotation = mgl32.QuatRotate(mgl32.DegToRad(23), mgl32.Vec3{0, 0, 1})
	b := scenes.NewNode("ball", 1)
	b.Translation = mgl32.Vec3{1.2, -0.7, 0}
	s.Nodes = []*scenes.Node{a, b}
	s.Roots = []int{0, 1}
	return s
}

// TestRefinedCloserToReference: on the demo as the streamer draws it on this machine (low
// detail and fast shading on software renderers), the refined frame is measurably closer
// to a PBR, full-detail, 16-sample reference than the interactive frame, and a bright
// silhouette on black is less jagged.
func TestRefinedCloserToReference(t *testing.T) {
	const w, h = 1280, 720
	r := newRenderer(t, Config{})
	detail := scenes.DetailFull
	if r.Info().Software {
		detail = scenes.DetailLow
	}
	demo, err := scenes.BuiltinDetail(scenes.DemoScene, detail)
	if err != nil {
		t.Fatal(err)
	}
	v := newView(t, r, w, h)
	measure := func(s *scenes.Scene) (interactive, refined, ref *image.RGBA) {
		interactive = drawRGBA(t, v, s)
		before, _ := r.Stats()
		if _, err := v.RenderWith(s, nil, Quality{Refined: true}); err != nil {
			t.Fatalf("refined frame: %v", err)
		}
		after, _ := r.Stats()
		if s.Name == demo.Name && detail == scenes.DetailLow && after.CachedPrimitives <= before.CachedPrimitives {
			t.Errorf("the refined frame drew no full-detail mesh: cached primitives %d before, %d after", before.CachedPrimitives, after.CachedPrimitives)
		}
		refined, err := v.ReadRGBA(nil)
		if err != nil {
			t.Fatal(err)
		}
		return interactive, refined, referenceRGBA(t, s, w, h)
	}

	inter, refined, ref := measure(demo)
	pi, _ := imgcmp.PSNR(ref, inter)
	pr, _ := imgcmp.PSNR(ref, refined)
	ai, _ := imgcmp.EdgeAliasing(inter)
	ar, _ := imgcmp.EdgeAliasing(refined)
	aref, _ := imgcmp.EdgeAliasing(ref)
	t.Logf("demo %dx%d (%v detail, %s shading): PSNR against the reference: interactive %.2f dB, refined %.2f dB; edge aliasing: interactive %.3f, refined %.3f, reference %.3f",
		w, h, detail, r.Info().Shading, pi, pr, ai, ar, aref)
	// Measured on llvmpipe: interactive 37.3 dB, refined 49.6 dB; with shadows in refined
	// frames and the reference (not in interactive ones, ShadowsAuto), 24.9 and 45.5 dB.
	// On GPUs the interactive frame is PBR with MSAA (and shadows) already.
	margin := 3.0
	if !r.Info().Software {
		margin = 0.5
	}
	if pr < pi+margin {
		t.Errorf("refined frame %.2f dB from the reference, interactive %.2f dB: want the refined at least %.1f dB closer", pr, pi, margin)
	}
	if ar >= ai {
		t.Errorf("demo edge aliasing: refined %.3f, interactive %.3f; want lower", ar, ai)
	}

	inter, refined, ref = measure(silhouetteTiltedScene())
	ai, _ = imgcmp.EdgeAliasing(inter)
	ar, _ = imgcmp.EdgeAliasing(refined)
	aref, _ = imgcmp.EdgeAliasing(ref)
	pi, _ = imgcmp.PSNR(ref, inter)
	pr, _ = imgcmp.PSNR(ref, refined)
	t.Logf("white silhouette on black: edge aliasing interactive %.3f, refined %.3f, reference %.3f; PSNR interactive %.2f dB, refined %.2f dB", ai, ar, aref, pi, pr)
	// Measured on llvmpipe: 1.02 (one sample per pixel) against 0.37 (4x MSAA).
	if r.Info().MSAA < 4 && ar > 0.7*ai {
		t.Errorf("silhouette edge aliasing: refined %.3f, interactive %.3f; want at most 70%%", ar, ai)
	}
	if pr < pi+margin {
		t.Errorf("silhouette: refined %.2f dB from the reference, interactive %.2f dB", pr, pi)
	}
}

// copyYCbCr returns a deep copy of img.
func copyYCbCr(img *image.YCbCr) *image.YCbCr {
	c := *img
	c.Y = bytes.Clone(img.Y)
	c.Cb = bytes.Clone(img.Cb)
	c.Cr = bytes.Clone(img.Cr)
	return &c
}

// TestRefinedAbort: an Abort that turns true after the first part stops the refined frame
// with ErrAborted and leaves the previous frame readable; between the parts other views
// render; without an abort the refined frame replaces the view's frame.
func TestRefinedAbort(t *testing.T) { forModes(t, allModes, testRefinedAbort) }

func testRefinedAbort(t *testing.T) {
	r := newRenderer(t, Config{})
	v := newView(t, r, 640, 360)
	other := newView(t, r, 160, 90)
	s := testScene()
	first, err := v.Render(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	first = copyYCbCr(first)
	frame := v.Stats().Frame

	polls := 0
	_, err = v.RenderWith(s, nil, Quality{Refined: true, Abort: func() bool {
		polls++
		return polls > 1 // the first part is drawn, then the frame is abandoned
	}})
	if !errors.Is(err, ErrAborted) || polls != 2 {
		t.Fatalf("RenderWith with an abort after the first part: %v after %d polls, want ErrAborted after 2", err, polls)
	}
	got, err := v.ReadYCbCr(nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := imgcmp.PSNR(first, got); !math.IsInf(p, 1) || v.Stats().Frame != frame {
		t.Errorf("after the abort ReadYCbCr gives another picture (PSNR %.2f dB against the previous frame) or frame %d (was %d)", p, v.Stats().Frame, frame)
	}
	if _, err := v.RenderWith(s, nil, Quality{Refined: true, Abort: func() bool { return true }}); !errors.Is(err, ErrAborted) {
		t.Errorf("abort before the first part: %v, want ErrAborted", err)
	}

	// Other views' frames run between the parts: render one from inside Abort, which the
	// caller's goroutine polls between jobs on the GL goroutine.
	polls = 0
	refined, err := v.RenderWith(s, nil, Quality{Refined: true, Abort: func() bool {
		polls++
		if _, err := other.Render(s, nil); err != nil {
			t.Errorf("another view's frame between parts: %v", err)
		}
		return false
	}})
	if err != nil {
		t.Fatal(err)
	}
	wantPolls := 1 + r.refinedBands(360) // the parts, then the resolve
	if r.Info().Software && wantPolls < 4 {
		t.Errorf("a 360-row refined frame on a software renderer is drawn in %d parts, want several", wantPolls-1)
	}
	if polls != wantPolls || other.Stats().Drawn != uint64(polls) {
		t.Errorf("refined frame polled Abort %d times (want %d); the other view drew %d frames meanwhile", polls, wantPolls, other.Stats().Drawn)
	}
	if p, _ := imgcmp.PSNR(first, refined); math.IsInf(p, 1) || p < 20 {
		t.Errorf("refined frame against the interactive one: %.2f dB, want different but alike (> 20 dB)", p)
	}
	if st := v.Stats(); st.Frame != frame+1 || st.Drawn != frame+1 {
		t.Errorf("after the refined frame: stats %+v, want frame %d", st, frame+1)
	}
}

// TestScaledFrame: a frame at scale 0.5 has the view's size, shows what scale 1 shows at
// low frequencies (and the exact background in flat areas), differs in detail, carries an
// exact full-size marker; bad scales are rejected.
func TestScaledFrame(t *testing.T) { forModes(t, allModes, testScaledFrame) }

func testScaledFrame(t *testing.T) {
	r := newRenderer(t, Config{})
	const w, h = 640, 360
	v := newView(t, r, w, h)
	v.SetMarker(true)
	s := testScene()
	if _, err := v.RenderWith(s, nil, Quality{Scale: 1}); err != nil {
		t.Fatal(err)
	}
	full, _ := v.ReadRGBA(nil)
	fullY, _ := v.ReadYCbCr(nil)
	fullY = copyYCbCr(fullY)
	for _, scale := range []float64{0.5, 0.75} {
		yuv, err := v.RenderWith(s, NewFrame(w, h), Quality{Scale: scale})
		if err != nil {
			t.Fatalf("scale %v: %v", scale, err)
		}
		if yuv.Rect != image.Rect(0, 0, w, h) {
			t.Fatalf("scale %v: image %v, want the view's %dx%d", scale, yuv.Rect, w, h)
		}
		img, _ := v.ReadRGBA(nil)
		// Compared above the marker, whose frame numbers differ.
		above := image.Rect(0, 0, w, scenes.MarkerRect(img.Rect).Min.Y)
		sharp, _ := imgcmp.PSNR(full.SubImage(above), img.SubImage(above))
		low, _ := imgcmp.LowPassPSNR(full.SubImage(above), img.SubImage(above), 4)
		lowY, _ := imgcmp.LowPassPSNR(fullY.SubImage(above), yuv.SubImage(above), 4)
		t.Logf("scale %v against scale 1: PSNR %.2f dB, after a 9x9 blur %.2f dB (RGB), %.2f dB (YCbCr)", scale, sharp, low, lowY)
		// Measured on llvmpipe: 37.8 dB (RGB) at 0.5, 44.4 dB at 0.75.
		if low < 30 || lowY < 30 {
			t.Errorf("scale %v: low-frequency PSNR against scale 1 %.2f dB (RGB), %.2f (YCbCr), want > 30", scale, low, lowY)
		}
		if math.IsInf(sharp, 1) || sharp > low-3 {
			t.Errorf("scale %v: PSNR %.2f dB, blurred %.2f dB: the frame does not look drawn at a lower resolution", scale, sharp, low)
		}
		bg := color.RGBA{srgbByte(s.Background[0]), srgbByte(s.Background[1]), srgbByte(s.Background[2]), 255}
		for y := 0; y < 32; y++ {
			for x := 0; x < 32; x++ {
				if got := img.RGBAAt(x, y); got != bg {
					t.Fatalf("scale %v: background pixel (%d,%d) = %v, want %v", scale, x, y, got, bg)
				}
			}
		}
		if f, ver, ok := scenes.DecodeMarker(yuv); !ok || uint64(f) != v.Stats().Drawn || ver != s.Version {
			t.Errorf("scale %v: marker %d/%d (ok %v), want frame %d", scale, f, ver, ok, v.Stats().Drawn)
		}
	}
	for _, bad := range []float64{-0.5, 1.5, math.NaN(), math.Inf(1)} {
		if _, err := v.RenderWith(s, nil, Quality{Scale: bad}); !errors.Is(err, ErrBadQuality) {
			t.Errorf("scale %v: %v, want ErrBadQuality", bad, err)
		}
	}
	// A scale whose size rounds to the view's is an ordinary frame; a tiny one draws 2x2.
	if _, err := v.RenderWith(s, nil, Quality{Scale: 0.9999}); err != nil {
		t.Error(err)
	}
	if _, err := v.RenderWith(s, nil, Quality{Scale: 1e-6}); err != nil {
		t.Error(err)
	}
	if sw, sh := scaledSize(w, h, 1e-6); sw != 2 || sh != 2 {
		t.Errorf("smallest scaled size %dx%d, want 2x2", sw, sh)
	}
}

// TestResize: after Resize a view draws and reads at the new size exactly as a new view of
// that size does, the old frame stretched until then; bad sizes change nothing.
func TestResize(t *testing.T) { forModes(t, allModes, testResize) }

func testResize(t *testing.T) {
	r := newRenderer(t, Config{})
	v := newView(t, r, 1280, 720)
	s := testScene()
	old, err := v.Render(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Resize(640, 360); err != nil {
		t.Fatal(err)
	}
	if w, h := v.Size(); w != 640 || h != 360 || r.pixels.Load() != 640*360 {
		t.Errorf("after Resize(640, 360): Size %dx%d, context pixels %d", w, h, r.pixels.Load())
	}
	stretched, err := v.ReadYCbCr(old) // a dst of the old size is replaced
	if err != nil || stretched.Rect != image.Rect(0, 0, 640, 360) {
		t.Fatalf("ReadYCbCr after Resize: %v, %v; want the last frame at 640x360", stretched.Rect, err)
	}
	stretched = copyYCbCr(stretched)
	got, err := v.Render(s, old)
	if err != nil || got.Rect != image.Rect(0, 0, 640, 360) {
		t.Fatalf("Render after Resize: %v, %v; want 640x360", got.Rect, err)
	}
	fresh := newView(t, r, 640, 360)
	want, err := fresh.Render(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := imgcmp.PSNR(want, got); p < 45 {
		t.Errorf("resized view against a new 640x360 view: %.2f dB, want the same picture", p)
	}
	if p, _ := imgcmp.LowPassPSNR(want, stretched, 3); p < 25 {
		t.Errorf("last frame stretched to the new size against a 640x360 frame: %.2f dB after blurring, want alike (> 25)", p)
	}
	checkCorner(t, v, s)
	if img, err := v.ReadRGBA(image.NewRGBA(image.Rect(0, 0, 1280, 720))); err != nil || img.Rect.Dx() != 640 {
		t.Errorf("ReadRGBA after Resize: %v, %v", img.Rect, err)
	}
	// Refined and scaled frames at the new size, then back up.
	if img, err := v.RenderWith(s, nil, Quality{Refined: true}); err != nil || img.Rect.Dx() != 640 {
		t.Errorf("refined frame after Resize: %v", err)
	}
	if img, err := v.RenderWith(s, nil, Quality{Scale: 0.5}); err != nil || img.Rect.Dx() != 640 {
		t.Errorf("scaled frame after Resize: %v", err)
	}
	if err := v.Resize(322, 182); err != nil {
		t.Fatal(err)
	}
	if img, err := v.Render(s, nil); err != nil || img.Rect != image.Rect(0, 0, 322, 182) {
		t.Errorf("Render after Resize(322, 182): %v, %v", img.Rect, err)
	}

	max := r.Info().MaxSize
	for _, bad := range [][2]int{{0, 0}, {1, 360}, {640, -2}, {max + 1, 360}, {640, max}} {
		if err := v.Resize(bad[0], bad[1]); !errors.Is(err, ErrBadSize) {
			t.Errorf("Resize(%d, %d): %v, want ErrBadSize", bad[0], bad[1], err)
		}
	}
	if w, h := v.Size(); w != 322 || h != 182 || r.pixels.Load() != 322*182+640*360 {
		t.Errorf("after bad sizes: %dx%d, context pixels %d", w, h, r.pixels.Load())
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if err := v.Resize(640, 360); !errors.Is(err, ErrClosed) {
		t.Errorf("Resize of a closed view: %v, want ErrClosed", err)
	}
	if r.pixels.Load() != 640*360 {
		t.Errorf("after Close: context pixels %d, want the other view's %d", r.pixels.Load(), 640*360)
	}
}

// TestResizeWhileRendering resizes a view while another goroutine renders it (every frame
// has one of the sizes, no error, no race) and reads its size.
func TestResizeWhileRendering(t *testing.T) { forModes(t, allModes, testResizeWhileRendering) }

func testResizeWhileRendering(t *testing.T) {
	r := newRenderer(t, Config{})
	v := newView(t, r, 160, 90)
	s := testScene()
	sizes := map[image.Point]bool{{160, 90}: true, {96, 54}: true, {250, 140}: true}
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		var dst *image.YCbCr
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			var err error
			q := Quality{Scale: []float64{1, 0.5}[i%2], Refined: i%5 == 4}
			if dst, err = v.RenderWith(s, dst, q); err != nil {
				errs <- err
				return
			}
			if !sizes[dst.Rect.Size()] {
				errs <- errors.New("frame of size " + dst.Rect.String())
				return
			}
		}
	}()
	for i := 0; i < 30; i++ {
		for p := range sizes {
			if err := v.Resize(p.X, p.Y); err != nil {
				t.Fatal(err)
			}
			if w, h := v.Size(); !sizes[image.Pt(w, h)] {
				t.Fatalf("Size %dx%d", w, h)
			}
		}
	}
	close(stop)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}

// TestQualityNoLeak: refined, scaled and resized views give back every GL object when
// closed.
func TestQualityNoLeak(t *testing.T) {
	for _, m := range allModes {
		t.Run(m.String(), func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			r, err := New(Config{Readback: m.readback, Convert: m.convert, Logger: quietLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			s := silhouetteTiltedScene()
			round := func(w, h int, resize bool) {
				v, err := r.NewView(w, h)
				if err != nil {
					t.Fatal(err)
				}
				for _, q := range []Quality{{Refined: true}, {Scale: 0.5}, {Scale: 0.75}, {}} {
					if _, err := v.RenderWith(s, nil, q); err != nil {
						t.Fatal(err)
					}
					if resize {
						if err := v.Resize(w/2+2, h/2+2); err != nil {
							t.Fatal(err)
						}
					}
				}
				if err := v.Close(); err != nil {
					t.Fatal(err)
				}
			}
			round(64, 64, false) // fills the caches with both detail levels
			base, err := r.Stats()
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 10; i++ {
				round(48+8*i, 36+4*i, i%2 == 1)
			}
			after, err := r.Stats()
			if err != nil {
				t.Fatal(err)
			}
			after.Frames = base.Frames
			if after != base {
				t.Errorf("GL objects leaked: before %+v, after 10 views %+v", base, after)
			}
		})
	}
}

// TestScaledFrameMSAA: with multisampling on, a scaled frame is drawn multisampled at the
// smaller size, resolved, then scaled up.
func TestScaledFrameMSAA(t *testing.T) {
	r := newRenderer(t, Config{MSAA: 4})
	v := newView(t, r, 320, 180)
	s := testScene()
	full := drawRGBA(t, v, s)
	if _, err := v.RenderWith(s, nil, Quality{Scale: 0.5}); err != nil {
		t.Fatal(err)
	}
	img, _ := v.ReadRGBA(nil)
	low, _ := imgcmp.LowPassPSNR(full, img, 3)
	sharp, _ := imgcmp.PSNR(full, img)
	if low < 28 || math.IsInf(sharp, 1) {
		t.Errorf("4x MSAA, scale 0.5 against scale 1: %.2f dB, %.2f dB after a 7x7 blur; want alike but not equal", sharp, low)
	}
}
