package render

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/go-gl/mathgl/mgl32"

	"github.com/rendercast/rendercast/scenes"
)

// convertModes are the conversions tests run in, forced (on llvmpipe the default is CPU);
// forEachConvert runs a test in every read-back and conversion mode.
var convertModes = []Convert{ConvertGPU, ConvertCPU}

// forEachConvert runs f as a subtest per conversion mode, with a renderer forced to it.
func forEachConvert(t *testing.T, cfg Config, f func(t *testing.T, r *Renderer)) {
	t.Helper()
	for _, m := range allModes {
		if cfg.Readback != ReadbackAuto && cfg.Readback != m.readback {
			continue
		}
		t.Run(m.String(), func(t *testing.T) {
			cfg := cfg
			cfg.Readback, cfg.Convert = m.readback, m.convert
			r := newRenderer(t, cfg)
			if info := r.Info(); info.Convert != m.convert || info.Readback != m.readback {
				t.Fatalf("Info() Readback %q Convert %q, want %s", info.Readback, info.Convert, m)
			}
			f(t, r)
		})
	}
}

// syntheticScene is an unlit quad filling the frame, textured with noise next to saturated
// ramps, flat primaries and greys: every kind of colour and edge the conversion meets.
func syntheticScene() *scenes.Scene {
	const n = 256
	rng := rand.New(rand.NewPCG(11, 12))
	tex := image.NewNRGBA(image.Rect(0, 0, n, n))
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			var c color.NRGBA
			switch {
			case x < n/2 && y < n/2: // noise
				c = color.NRGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}
			case x >= n/2 && y < n/2: // ramps of one channel, then of all three
				v := uint8(2 * (x - n/2))
				c = [4]color.NRGBA{{v, 0, 0, 255}, {0, v, 0, 255}, {0, 0, v, 255}, {v, v, v, 255}}[y/(n/8)%4]
			default: // flat blocks
				c = [6]color.NRGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}, {255, 255, 255, 255}, {0, 0, 0, 255}, {128, 128, 128, 255}}[(x/16+y/16)%6]
			}
			tex.SetNRGBA(x, y, c)
		}
	}
	quad := scenes.Primitive{
		Positions: []mgl32.Vec3{{-4, -2.5, 0}, {4, -2.5, 0}, {4, 2.5, 0}, {-4, 2.5, 0}},
		UVs:       []mgl32.Vec2{{0, 1}, {1, 1}, {1, 0}, {0, 0}},
		Indices:   []uint32{0, 1, 2, 0, 2, 3},
	}
	s := &scenes.Scene{
		Name:       "synthetic",
		Background: mgl32.Vec3{0.3, 0.5, 0.7},
		Camera:     scenes.Camera{Eye: mgl32.Vec3{0, 0, 2}, Target: mgl32.Vec3{0, 0, 0}, Up: mgl32.Vec3{0, 1, 0}, FovY: 90},
		Materials:  []*scenes.Material{{BaseColor: mgl32.Vec4{1, 1, 1, 1}, BaseColorTexture: tex, Unlit: true}},
		Meshes:     []*scenes.Mesh{{Name: "quad", Primitives: []scenes.Primitive{quad}}},
	}
	s.Nodes = []*scenes.Node{scenes.NewNode("quad", 0)}
	s.Roots = []int{0}
	return s
}

// TestConvertModesMatch renders the demo and the synthetic scene with both conversions
// forced, at 1280x720 and odd sizes: the I420 images are within 2 levels of each other,
// and the CPU conversion is exactly cpuI420 of the RGBA frame.
func TestConvertModesMatch(t *testing.T) {
	renderers := map[Convert]*Renderer{}
	for _, c := range convertModes {
		renderers[c] = newRenderer(t, Config{Convert: c})
	}
	for _, sc := range []struct {
		name  string
		scene func() *scenes.Scene
	}{
		{"demo", func() *scenes.Scene {
			s := benchDemo(t)
			s.Animate(s, 0.5)
			return s
		}},
		{"synthetic", syntheticScene},
	} {
		for _, sz := range [][2]int{{1280, 720}, {251, 141}, {333, 250}, {97, 3}} {
			w, h := sz[0], sz[1]
			t.Run(fmt.Sprintf("%s/%dx%d", sc.name, w, h), func(t *testing.T) {
				got := map[Convert]*image.YCbCr{}
				var rgba *image.RGBA
				for _, c := range convertModes {
					v := newView(t, renderers[c], w, h)
					img, err := v.Render(sc.scene(), nil)
					if err != nil {
						t.Fatal(err)
					}
					got[c] = img
					frame, err := v.ReadRGBA(nil)
					if err != nil {
						t.Fatal(err)
					}
					if rgba == nil {
						rgba = frame
					} else if mean, _ := imageDiff(rgba, frame); mean != 0 {
						// Both renderers draw the same pixels; otherwise the comparison below
						// would measure the rasteriser, not the conversion.
						t.Fatalf("the two renderers drew different frames (mean difference %.3f)", mean)
					}
					if c == ConvertCPU {
						want := image.NewYCbCr(rgba.Rect, image.YCbCrSubsampleRatio420)
						cpuI420(frame, want)
						if d := planeDiff(img, want); d != "" {
							t.Errorf("CPU conversion differs from cpuI420 of the RGBA frame: %s", d)
						}
					}
				}
				comparePlanes(t, got[ConvertGPU], got[ConvertCPU], 2)
			})
		}
	}
}

// TestConvertAuto: by default a software rasteriser converts on the CPU, a GPU in the
// shader, and Info says which; forcing either works.
func TestConvertAuto(t *testing.T) {
	r := newRenderer(t, Config{})
	info := r.Info()
	want := ConvertGPU
	if info.Software {
		want = ConvertCPU
	}
	if info.Convert != want {
		t.Errorf("renderer %q (software %v): Info().Convert = %q, want %q", info.Renderer, info.Software, info.Convert, want)
	}
	if isSoftware(info.Renderer) && info.Convert != ConvertCPU {
		t.Errorf("llvmpipe-like renderer %q converts on the %s", info.Renderer, info.Convert)
	}
	for _, c := range convertModes {
		if got := newRenderer(t, Config{Convert: c}).Info().Convert; got != c {
			t.Errorf("Config{Convert: %q}: Info().Convert = %q", c, got)
		}
	}
}

// TestCPUConvertReadsNewFrame: every mode reads the frame just drawn, never the one
// before (glReadPixels of the colour texture right after drawing it, see the Mesa note in
// readRGBA; a pixel buffer read back a frame late, as PBO read-back once did). Backgrounds
// alternate: frames rendered back to back, frames read twice, a frame drawn twice before
// one read, and reads interleaved with ReadRGBA and with a second view drawing in between.
func TestCPUConvertReadsNewFrame(t *testing.T) { forModes(t, allModes, testReadsNewFrame) }

func testReadsNewFrame(t *testing.T) {
	r := newRenderer(t, Config{})
	v := newView(t, r, 160, 90)
	other := newView(t, r, 64, 48)
	s := testScene()
	cols := []mgl32.Vec3{{0.9, 0.1, 0.3}, {0.2, 0.6, 0.2}, {0.1, 0.2, 0.9}}
	wantAt := func(bg mgl32.Vec3) color.RGBA {
		return color.RGBA{srgbByte(bg[0]), srgbByte(bg[1]), srgbByte(bg[2]), 255}
	}
	check := func(i int, how string, img *image.YCbCr, bg mgl32.Vec3) {
		t.Helper()
		got, want := YCbCrToRGBA(img).RGBAAt(0, 0), wantAt(bg)
		if max(absDiff(got.R, want.R), absDiff(got.G, want.G), absDiff(got.B, want.B)) > 3 {
			t.Errorf("frame %d (%s): corner %v, want %v: a stale frame", i, how, got, want)
		}
	}
	dst := NewFrame(160, 90)
	for i := 0; i < 60; i++ {
		bg := cols[i%len(cols)]
		s.Background = bg
		img, err := v.Render(s, dst)
		if err != nil {
			t.Fatal(err)
		}
		check(i, "Render", img, bg)
		switch i % 4 {
		case 1: // read the same frame again
			img, err := v.ReadYCbCr(nil)
			if err != nil {
				t.Fatal(err)
			}
			check(i, "ReadYCbCr again", img, bg)
		case 2: // draw twice, read once: the second frame
			s.Background = cols[(i+1)%len(cols)]
			if err := v.Draw(s); err != nil {
				t.Fatal(err)
			}
			img, err := v.ReadYCbCr(dst)
			if err != nil {
				t.Fatal(err)
			}
			check(i, "Draw, Draw, ReadYCbCr", img, s.Background)
		case 3: // RGBA read, another view drawing, then the next frame
			rgba, err := v.ReadRGBA(nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := rgba.RGBAAt(0, 0); got != wantAt(bg) {
				t.Errorf("frame %d: ReadRGBA corner %v, want %v", i, got, wantAt(bg))
			}
			if _, err := other.Render(silhouetteScene(), nil); err != nil {
				t.Fatal(err)
			}
		}
		if st := v.Stats(); st.Frame != st.Drawn {
			t.Errorf("frame %d: Stats.Frame %d, Drawn %d: reads return the frame drawn", i, st.Frame, st.Drawn)
		}
	}
}

// TestRenderAllocations: a frame converted on the CPU allocates no more than one converted
// on the GPU (the conversion reuses the view's buffer and the renderer's goroutines).
func TestRenderAllocations(t *testing.T) {
	allocs := map[Convert]float64{}
	for _, c := range convertModes {
		r := newRenderer(t, Config{Convert: c})
		v := newView(t, r, 640, 360)
		s := testScene()
		dst := NewFrame(640, 360)
		if _, err := v.Render(s, dst); err != nil {
			t.Fatal(err)
		}
		allocs[c] = testing.AllocsPerRun(10, func() {
			if _, err := v.Render(s, dst); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Logf("allocations per Render: %v", allocs)
	if allocs[ConvertCPU] > allocs[ConvertGPU] {
		t.Errorf("CPU conversion allocates %.1f times per frame, the GPU one %.1f", allocs[ConvertCPU], allocs[ConvertGPU])
	}
}

// TestConvertOffGLConcurrentReads: with ConvertCPU or ReadbackPBO the pixels are converted
// or copied on the caller's goroutine. Renders and reads of one view from two goroutines,
// and renders of other views meanwhile, must each get a whole frame of one background (the
// race detector catches shared buffers; the colours catch a frame converted while it was
// replaced, or a pixel buffer unmapped under the copy).
func TestConvertOffGLConcurrentReads(t *testing.T) { forModes(t, allModes, testConcurrentReads) }

func testConcurrentReads(t *testing.T) {
	r := newRenderer(t, Config{})
	// Big frames of background only: a frame replaced while it is converted shows both
	// colours (its conversion takes about a millisecond).
	const w, h = 1280, 720
	v := newView(t, r, w, h)
	red, blue := mgl32.Vec3{1, 0, 0}, mgl32.Vec3{0, 0, 1}
	sRed, sBlue := testScene(), testScene()
	sRed.Roots, sBlue.Roots = nil, nil
	sRed.Background, sBlue.Background = red, blue
	isBackground := func(img *image.YCbCr) bool {
		rgba := YCbCrToRGBA(img)
		a := rgba.RGBAAt(0, 0)
		for _, p := range []image.Point{{w - 1, 0}, {w / 2, h / 2}, {0, h - 1}, {w - 1, h - 1}} {
			if rgba.RGBAAt(p.X, p.Y) != a {
				return false
			}
		}
		return a.R > 240 && a.B < 15 || a.B > 240 && a.R < 15
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for g, s := range []*scenes.Scene{sRed, sBlue} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dst := NewFrame(w, h)
			for i := range 20 {
				img, err := v.Render(s, dst)
				if err != nil {
					errs <- err
					return
				}
				if !isBackground(img) {
					errs <- fmt.Errorf("goroutine %d, render %d: top-left %v, bottom-right %v: not one whole frame", g, i, YCbCrToRGBA(img).RGBAAt(0, 0), YCbCrToRGBA(img).RGBAAt(w-1, h-1))
					return
				}
			}
		}()
	}
	other := newView(t, r, 64, 48)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			if _, err := other.Render(sBlue, nil); err != nil {
				errs <- err
				return
			}
			if _, err := v.ReadYCbCr(nil); err != nil && !errors.Is(err, ErrNoFrame) {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
