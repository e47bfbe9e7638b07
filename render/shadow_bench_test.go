package render

import (
	"errors"
	"testing"
	"time"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/rendercast/rendercast/scenes"
)

// BenchmarkShadows is what the key light's shadows cost on the demo (at the detail the
// streamer uses: low on software renderers): moving frames (Render, PBR shading; the demo
// spins its torus, so the shadow map is re-rendered every frame) and camera-only frames (the
// scene still, the camera orbiting: the map is reused), each without and with shadows;
// refined frames (RenderWith Quality.Refined) without and with; and depth-pass, the shadow
// map's depth pass alone (re-rendered each time, waited for with glFinish). passes/frame
// counts the depth passes.
func BenchmarkShadows(b *testing.B) {
	type variant struct {
		name    string
		q       Quality
		orbit   bool // move the camera only
		animate bool
	}
	variants := []variant{
		{name: "moving/off", q: Quality{Shadows: ShadowsOff}, animate: true},
		{name: "moving/on", q: Quality{Shadows: ShadowsOn}, animate: true},
		{name: "camera-only/off", q: Quality{Shadows: ShadowsOff}, orbit: true},
		{name: "camera-only/on", q: Quality{Shadows: ShadowsOn}, orbit: true},
		{name: "refined/off", q: Quality{Refined: true, Shadows: ShadowsOff}, animate: true},
		{name: "refined/on", q: Quality{Refined: true, Shadows: ShadowsOn}, animate: true},
	}
	scene := func(b *testing.B, r *Renderer) *scenes.Scene {
		detail := scenes.DetailFull
		if r.Info().Software {
			detail = scenes.DetailLow
		}
		s, err := scenes.BuiltinDetail(scenes.DemoScene, detail)
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	passes := func(b *testing.B, r *Renderer) uint64 {
		var n uint64
		if err := r.do(func() error { n = r.shadows.rendered; return nil }); err != nil {
			b.Fatal(err)
		}
		return n
	}
	for _, size := range shadingSizes {
		for _, vr := range variants {
			b.Run(vr.name+"/"+size.name, func(b *testing.B) {
				r := newRenderer(b, Config{Shading: ShadingPBR})
				s := scene(b, r)
				v := newView(b, r, size.w, size.h)
				dst := NewFrame(size.w, size.h)
				for i := 0; i < 3; i++ {
					if _, err := v.RenderWith(s, dst, vr.q); err != nil {
						b.Fatal(err)
					}
				}
				before := passes(b, r)
				var draw time.Duration
				measure(b, func(i int) {
					if vr.animate {
						s.Animate(s, float64(i)/30)
					}
					if vr.orbit {
						if err := s.EditCamera(func(c *scenes.Camera) error { return c.Orbit(1, 0) }); err != nil {
							b.Fatal(err)
						}
					}
					if _, err := v.RenderWith(s, dst, vr.q); err != nil {
						b.Fatal(err)
					}
					draw += v.Stats().Draw
				})
				b.ReportMetric(ms(draw, b.N), "draw-ms")
				b.ReportMetric(float64(passes(b, r)-before)/float64(b.N), "passes/frame")
			})
		}
	}
	b.Run("depth-pass", func(b *testing.B) {
		r := newRenderer(b, Config{Shading: ShadingPBR})
		s := scene(b, r)
		measure(b, func(i int) {
			s.Animate(s, float64(i)/30) // a new state: the map is drawn again
			if err := r.do(func() error {
				m := r.shadowFor(s, false)
				gl.Finish()
				if m == nil {
					return errors.New("no shadow map")
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
		})
	})
}
