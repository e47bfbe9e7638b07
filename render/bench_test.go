package render

import (
	"fmt"
	"image"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/rendercast/rendercast/scenes"
)

type benchSize struct {
	name string
	w, h int
}

var benchSizes = []benchSize{{"720p", 1280, 720}, {"1080p", 1920, 1080}}

// shadingSizes are the sizes the shading modes are compared at: the streamer's default and
// the size several viewers share a software-rendering machine at.
var shadingSizes = []benchSize{{"360p", 640, 360}, {"720p", 1280, 720}}

// shadingModes are the scene pass's shadings, forced.
var shadingModes = []Shading{ShadingPBR, ShadingFast}

func ms(d time.Duration, n int) float64 { return float64(d) / float64(n) / 1e6 }

// cpuTime is the CPU time (user + system) the whole process used so far, llvmpipe's
// rasteriser threads included. Per frame it says what a frame costs whatever else the
// machine runs, which wall-clock time on a shared 2-core machine does not.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs frame b.N times and reports frames/s (wall clock) and cpu-ms/frame.
func measure(b *testing.B, frame func(i int)) {
	b.ResetTimer()
	start := cpuTime(b)
	for i := 0; i < b.N; i++ {
		frame(i)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	b.ReportMetric(ms(cpuTime(b)-start, b.N), "cpu-ms/frame")
}

// newBenchRenderer returns a renderer forced to mode m and to PBR shading (so the
// conversion figures stay comparable with earlier ones).
func newBenchRenderer(b *testing.B, m mode) *Renderer {
	return newRenderer(b, Config{Readback: m.readback, Convert: m.convert, Shading: ShadingPBR})
}

// BenchmarkRender is the streamer's per-frame call: draw the demo scene (animated), convert
// to I420 (in the shader or in Go) and read it back into a reused frame. The conversion
// variants (read-back x conversion modes) shade with PBR; shading/pbr and shading/fast compare
// the shadings with the default conversion.
func BenchmarkRender(b *testing.B) {
	for _, m := range allModes {
		for _, size := range benchSizes {
			b.Run(m.String()+"/"+size.name, func(b *testing.B) {
				benchRender(b, newBenchRenderer(b, m), size)
			})
		}
	}
	for _, sh := range shadingModes {
		for _, size := range shadingSizes {
			b.Run("shading/"+string(sh)+"/"+size.name, func(b *testing.B) {
				benchRender(b, newRenderer(b, Config{Shading: sh}), size)
			})
		}
	}
}

func benchRender(b *testing.B, r *Renderer, size benchSize) {
	v := newView(b, r, size.w, size.h)
	s := benchDemo(b)
	dst := NewFrame(size.w, size.h)
	for i := 0; i < 3; i++ { // compile shader variants, upload meshes
		if _, err := v.Render(s, dst); err != nil {
			b.Fatal(err)
		}
	}
	var draw, convert, read, gpu time.Duration
	measure(b, func(i int) {
		s.Animate(s, float64(i)/30)
		if _, err := v.Render(s, dst); err != nil {
			b.Fatal(err)
		}
		st := v.Stats()
		draw += st.Draw
		convert += st.Convert
		read += st.Readback
		gpu += st.GPUDraw + st.GPUConvert
	})
	b.ReportMetric(ms(draw, b.N), "draw-ms")
	b.ReportMetric(ms(convert, b.N), "convert-ms")
	b.ReportMetric(ms(read, b.N), "readback-ms")
	b.ReportMetric(ms(gpu, b.N), "gpu-timer-ms")
}

// BenchmarkDraw is the scene pass alone, waited for with glFinish, for each shading
// (pbr/720p, fast/360p, ...), then for fast shading with the demo at scenes.DetailLow, what
// the streamer draws on software renderers (detail-low/fast/360p, ...; the first level
// avoids "fast" and "pbr" so that -bench 'BenchmarkDraw/fast/' still selects full detail).
func BenchmarkDraw(b *testing.B) {
	sizes := append([]benchSize{shadingSizes[0]}, benchSizes...)
	for _, sh := range shadingModes {
		for _, size := range sizes {
			b.Run(string(sh)+"/"+size.name, func(b *testing.B) {
				benchDraw(b, newRenderer(b, Config{Shading: sh}), benchDemo(b), size)
			})
		}
	}
	for _, size := range shadingSizes {
		b.Run("detail-low/"+string(ShadingFast)+"/"+size.name, func(b *testing.B) {
			s, err := scenes.BuiltinDetail(scenes.DemoScene, scenes.DetailLow)
			if err != nil {
				b.Fatal(err)
			}
			benchDraw(b, newRenderer(b, Config{Shading: ShadingFast}), s, size)
		})
	}
}

func benchDraw(b *testing.B, r *Renderer, s *scenes.Scene, size benchSize) {
	v := newView(b, r, size.w, size.h)
	drawFinish := func() error {
		return r.do(func() error {
			err := v.draw(s, ShadowsAuto)
			gl.Finish()
			return err
		})
	}
	for i := 0; i < 3; i++ {
		if err := drawFinish(); err != nil {
			b.Fatal(err)
		}
	}
	measure(b, func(i int) {
		s.Animate(s, float64(i)/30)
		if err := drawFinish(); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkConvert compares ways to get I420 out of a drawn frame (drawn once, read b.N
// times), for each read-back and conversion mode (sync-gpu: the yuv420.frag pass plus the
// I420 read-back; sync-cpu: the RGBA read-back plus the Go conversion; pbo-*: the same
// through a pixel buffer), and rgba-readback: the RGBA read-back alone (ReadRGBA, with its
// glFinish and row flip), the floor of any CPU-side conversion.
func BenchmarkConvert(b *testing.B) {
	for _, size := range benchSizes {
		for _, m := range allModes {
			b.Run(m.String()+"/"+size.name, func(b *testing.B) {
				r := newBenchRenderer(b, m)
				v := newView(b, r, size.w, size.h)
				if err := v.Draw(benchDemo(b)); err != nil {
					b.Fatal(err)
				}
				dst := NewFrame(size.w, size.h)
				read := func() error {
					if err := r.do(func() error {
						v.converted = false // convert (GPU) or read (CPU) again
						return nil
					}); err != nil {
						return err
					}
					_, err := v.ReadYCbCr(dst)
					return err
				}
				if err := read(); err != nil {
					b.Fatal(err)
				}
				var convert, readback time.Duration
				measure(b, func(int) {
					if err := read(); err != nil {
						b.Fatal(err)
					}
					st := v.Stats()
					convert += st.Convert
					readback += st.Readback
				})
				b.ReportMetric(ms(convert, b.N), "convert-ms")
				b.ReportMetric(ms(readback, b.N), "readback-ms")
			})
		}
		b.Run("rgba-readback/"+size.name, func(b *testing.B) {
			r := newRenderer(b, Config{})
			v := newView(b, r, size.w, size.h)
			if err := v.Draw(benchDemo(b)); err != nil {
				b.Fatal(err)
			}
			rgba := image.NewRGBA(image.Rect(0, 0, size.w, size.h))
			if _, err := v.ReadRGBA(rgba); err != nil { // llvmpipe rasterises the frame here
				b.Fatal(err)
			}
			measure(b, func(int) {
				if _, err := v.ReadRGBA(rgba); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkPool is many viewers rendering at once: 8 views of the demo (animated, each on
// its own goroutine, as the streamer's render loops are) spread over a Pool of 1, 2 and 4
// contexts, in the default modes (what the machine picks: on llvmpipe fast shading and low
// detail, as the streamer draws there). frames/s is the pool's throughput.
func BenchmarkPool(b *testing.B) {
	const viewers = 8
	for _, size := range []benchSize{{"360p", 640, 360}, {"720p", 1280, 720}} {
		for _, n := range []int{1, 2, 4} {
			b.Run(fmt.Sprintf("%s/contexts=%d", size.name, n), func(b *testing.B) {
				p, err := NewPool(PoolConfig{Contexts: n, Config: Config{Logger: quietLogger(b)}})
				if err != nil {
					b.Fatal(err)
				}
				defer p.Close()
				detail := scenes.DetailFull
				if p.Info().Software {
					detail = scenes.DetailLow
				}
				views := make([]*View, viewers)
				sc := make([]*scenes.Scene, viewers)
				frames := make([]*image.YCbCr, viewers)
				for i := range views {
					if views[i], err = p.NewView(size.w, size.h); err != nil {
						b.Fatal(err)
					}
					if sc[i], err = scenes.BuiltinDetail(scenes.DemoScene, detail); err != nil {
						b.Fatal(err)
					}
					frames[i] = NewFrame(size.w, size.h)
					if _, err := views[i].Render(sc[i], frames[i]); err != nil {
						b.Fatal(err)
					}
				}
				var next atomic.Int64
				b.ResetTimer()
				start := cpuTime(b)
				var wg sync.WaitGroup
				errs := make(chan error, viewers)
				for i := range views {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for k := next.Add(1); k <= int64(b.N); k = next.Add(1) {
							sc[i].Animate(sc[i], float64(k)/30)
							if _, err := views[i].Render(sc[i], frames[i]); err != nil {
								errs <- err
								return
							}
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				select {
				case err := <-errs:
					b.Fatal(err)
				default:
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
				b.ReportMetric(ms(cpuTime(b)-start, b.N), "cpu-ms/frame")
			})
		}
	}
}

// BenchmarkNewView measures view creation and destruction (a viewer joining and leaving).
func BenchmarkNewView(b *testing.B) {
	r := newRenderer(b, Config{})
	measure(b, func(int) {
		v, err := r.NewView(1280, 720)
		if err != nil {
			b.Fatal(err)
		}
		if err := v.Close(); err != nil {
			b.Fatal(err)
		}
	})
}

func ExampleView_Render() {
	r, err := New(Config{}) // headless: EGL device platform, else surfaceless
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	v, err := r.NewView(1280, 720)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()
	s, _ := scenes.Builtin(scenes.DemoScene)
	frame := NewFrame(1280, 720) // reused every frame; owned by the caller
	for i := 0; i < 3; i++ {
		s.Animate(s, float64(i)/30)
		if frame, err = v.Render(s, frame); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Println(frame.Rect.Dx(), frame.Rect.Dy(), frame.SubsampleRatio, v.Stats().Frame)
	// Output: 1280 720 YCbCrSubsampleRatio420 3
}

// BenchmarkRenderWith is RenderWith on the demo as the streamer draws it on this machine
// (at scenes.DetailLow on software renderers), in the renderer's default modes:
// interactive frames at scale 1 (Render), 0.75 and 0.5, with the default shading and with
// PBR (pbr/...), and refined frames (PBR, full
// detail) with the default method, with 4x multisampling and with 2x2 supersampling, each
// in bands (the default on software renderers, and bands twice as high) and in one part.
// draw-ms is the GL goroutine's time for the frame (all parts; for a refined frame the last
// part includes the resolve), part-ms that over the number of parts, cpu-ms/frame the
// whole process's CPU time.
func BenchmarkRenderWith(b *testing.B) {
	type variant struct {
		name     string
		cfg      Config
		q        Quality
		samples  int // refined: forced sample count (-1: default; 0: supersampling)
		bandRows int // refined: forced band height (0: default)
	}
	variants := []variant{
		{name: "scale=1", q: Quality{Scale: 1}},
		{name: "scale=0.75", q: Quality{Scale: 0.75}},
		{name: "scale=0.5", q: Quality{Scale: 0.5}},
		{name: "pbr/scale=1", cfg: Config{Shading: ShadingPBR}, q: Quality{Scale: 1}},
		{name: "pbr/scale=0.75", cfg: Config{Shading: ShadingPBR}, q: Quality{Scale: 0.75}},
		{name: "pbr/scale=0.5", cfg: Config{Shading: ShadingPBR}, q: Quality{Scale: 0.5}},
		{name: "refined/default", q: Quality{Refined: true}, samples: -1},
		{name: "refined/msaa4/bands", q: Quality{Refined: true}, samples: 4},
		{name: "refined/msaa4/bands-144", q: Quality{Refined: true}, samples: 4, bandRows: 144},
		{name: "refined/msaa4/one-part", q: Quality{Refined: true}, samples: 4, bandRows: 1 << 20},
		{name: "refined/ss2x2/bands", q: Quality{Refined: true}, samples: 0},
		{name: "refined/ss2x2/one-part", q: Quality{Refined: true}, samples: 0, bandRows: 1 << 20},
	}
	for _, size := range shadingSizes {
		for _, vr := range variants {
			b.Run(vr.name+"/"+size.name, func(b *testing.B) {
				r := newRenderer(b, vr.cfg)
				if err := r.do(func() error {
					if vr.samples >= 0 {
						r.refinedSamples = vr.samples
					}
					if vr.bandRows > 0 {
						r.bandRows = vr.bandRows
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
				detail := scenes.DetailFull
				if r.Info().Software {
					detail = scenes.DetailLow
				}
				s, err := scenes.BuiltinDetail(scenes.DemoScene, detail)
				if err != nil {
					b.Fatal(err)
				}
				v := newView(b, r, size.w, size.h)
				dst := NewFrame(size.w, size.h)
				for i := 0; i < 3; i++ {
					if _, err := v.RenderWith(s, dst, vr.q); err != nil {
						b.Fatal(err)
					}
				}
				var draw time.Duration
				measure(b, func(i int) {
					s.Animate(s, float64(i)/30)
					if _, err := v.RenderWith(s, dst, vr.q); err != nil {
						b.Fatal(err)
					}
					draw += v.Stats().Draw
				})
				b.ReportMetric(ms(draw, b.N), "draw-ms")
				if vr.q.Refined {
					var th int
					if err := r.do(func() error { th = v.refined.h; return nil }); err != nil {
						b.Fatal(err)
					}
					parts := r.refinedBands(th)
					b.ReportMetric(float64(parts), "parts")
					b.ReportMetric(ms(draw, b.N*parts), "part-ms")
				}
			})
		}
	}
}
