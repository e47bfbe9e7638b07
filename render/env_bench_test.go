package render

import (
	"testing"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/rendercast/rendercast/scenes"
)

// BenchmarkEnvironment measures image-based light: prefilter is what one environment
// costs once per context (irradiance, specular chain; the BRDF table is made before the
// timer starts), draw/* the demo's scene pass lit by the studio environment for each
// shading (compare with BenchmarkDraw's figures without one), draw/*-background with the
// blurred background too.
func BenchmarkEnvironment(b *testing.B) {
	b.Run("prefilter", func(b *testing.B) {
		r := newRenderer(b, Config{Shading: ShadingPBR})
		env := scenes.Studio()
		prefilter := func() error {
			return r.do(func() error {
				if g := r.env.cache[env]; g != nil {
					r.objs.deleteTextures(&g.irradiance, &g.specular)
					delete(r.env.cache, env)
				}
				r.environment(env)
				gl.Finish()
				return nil
			})
		}
		if err := prefilter(); err != nil {
			b.Fatal(err)
		}
		measure(b, func(int) {
			if err := prefilter(); err != nil {
				b.Fatal(err)
			}
		})
	})
	for _, sh := range shadingModes {
		for _, size := range shadingSizes {
			for _, bg := range []bool{false, true} {
				name := "draw/" + string(sh) + "/" + size.name
				if bg {
					name += "-background"
				}
				b.Run(name, func(b *testing.B) {
					s := benchDemo(b)
					s.Environment, s.EnvironmentBackground = scenes.Studio(), bg
					benchDraw(b, newRenderer(b, Config{Shading: sh}), s, size)
				})
			}
		}
	}
}
