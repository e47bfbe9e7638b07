package render

import (
	"fmt"
	"image"
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

// convertVariants are the conversions the benchmarks compare: the shader, the Go converter
// shared by conversionGoroutines() goroutines and on the GL goroutine alone. With sync
// read-back (llvmpipe) View.Render and View.ReadYCbCr convert on the caller's goroutine
// instead (convertsOffGL), so in BenchmarkRender the two cpu variants run the same code;
// BenchmarkConvert calls the GL-goroutine conversion directly and still tells them apart.
var convertVariants = []struct {
	name       string
	convert    Convert
	goroutines int // 0: the renderer's choice
}{{"gpu", ConvertGPU, 0}, {"cpu", ConvertCPU, 0}, {"cpu-1goroutine", ConvertCPU, 1}}

// newBenchRenderer returns a renderer forced to the variant's conversion and to PBR shading
// (so the conversion figures stay comparable with earlier ones).
func newBenchRenderer(b *testing.B, convert Convert, goroutines int) *Renderer {
	r := newRenderer(b, Config{Convert: convert, Shading: ShadingPBR})
	if goroutines > 0 {
		if err := r.do(func() error {
			r.i420.close()
			r.i420 = newI420Workers(goroutines)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	return r
}

// BenchmarkRender is the streamer's per-frame call: draw the demo scene (animated), convert
// to I420 (in the shader or in Go) and read it back into a reused frame. The conversion
// variants (gpu, cpu, cpu-1goroutine) shade with PBR; shading/pbr and shading/fast compare
// the shadings with the default conversion.
func BenchmarkRender(b *testing.B) {
	for _, cv := range convertVariants {
		for _, size := range benchSizes {
			b.Run(cv.name+"/"+size.name, func(b *testing.B) {
				benchRender(b, newBenchRenderer(b, cv.convert, cv.goroutines), size)
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
			err := v.draw(s)
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

// BenchmarkConvert compares ways to get I420 out of a drawn frame (drawn once, converted
// b.N times):
//   - gpu: the yuv420.frag pass plus the I420 read-back (ConvertGPU),
//   - cpu: the RGBA read-back plus the Go conversion (ConvertCPU: GOMAXPROCS goroutines, at
//     most 4),
//   - cpu-1goroutine: the same on the GL goroutine alone,
//   - rgba-readback: the RGBA read-back alone (ReadRGBA, with its glFinish and row flip),
//     the floor of any CPU-side conversion.
func BenchmarkConvert(b *testing.B) {
	for _, size := range benchSizes {
		for _, cv := range convertVariants {
			b.Run(cv.name+"/"+size.name, func(b *testing.B) {
				r := newBenchRenderer(b, cv.convert, cv.goroutines)
				v := newView(b, r, size.w, size.h)
				if err := v.Draw(benchDemo(b)); err != nil {
					b.Fatal(err)
				}
				dst := NewFrame(size.w, size.h)
				read := func() error {
					return r.do(func() error {
						v.converted = false // convert (GPU) or read (CPU) again
						return v.readYCbCr(dst)
					})
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
