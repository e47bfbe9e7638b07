package render

import (
	"fmt"
	"image"
	"math"
	"testing"

	"github.com/go-gl/mathgl/mgl32"

	"github.com/rendercast/rendercast/scenes"
)

// skinnedGrid is a lit grid of cols x rows vertices (2 units square, upright) skinned to
// two joints that bend it halfway up, with an animation ("bend") swinging the upper joint.
func skinnedGrid(cols, rows int) *scenes.Scene {
	s := animScene()
	s.Materials[0] = &scenes.Material{BaseColor: mgl32.Vec4{0.8, 0.6, 0.3, 1}, Roughness: 0.5, DoubleSided: true}
	s.Lights = []scenes.Light{{Type: scenes.Directional, Color: mgl32.Vec3{1, 1, 1}, Intensity: 2, Direction: mgl32.Vec3{0.3, -0.5, -1}}}
	var p scenes.Primitive
	d := &scenes.Deform{}
	for r := range rows {
		y := 2 * float32(r) / float32(rows-1)
		w1 := min(max(y-0.5, 0), 1)
		for c := range cols {
			p.Positions = append(p.Positions, mgl32.Vec3{2*float32(c)/float32(cols-1) - 1, y, 0})
			p.Normals = append(p.Normals, mgl32.Vec3{0, 0, 1})
			d.Joints = append(d.Joints, [4]uint16{0, 1, 0, 0})
			d.Weights = append(d.Weights, [4]float32{1 - w1, w1, 0, 0})
			if r > 0 && c > 0 {
				a, b := uint32((r-1)*cols+c-1), uint32(r*cols+c-1)
				p.Indices = append(p.Indices, a, a+1, b+1, a, b+1, b)
			}
		}
	}
	p.Deform = d
	s.Meshes = []*scenes.Mesh{{Name: "grid", Primitives: []scenes.Primitive{p}}}
	grid, lower, upper := scenes.NewNode("grid", 0), scenes.NewNode("lower", -1), scenes.NewNode("upper", -1)
	upper.Translation = mgl32.Vec3{0, 1, 0}
	lower.Children = []int{2}
	s.Nodes = []*scenes.Node{grid, lower, upper}
	s.Roots = []int{0, 1}
	grid.Skin = &scenes.Skin{Joints: []int{1, 2}, InverseBind: []mgl32.Mat4{mgl32.Ident4(), mgl32.Translate3D(0, -1, 0)}}
	q := mgl32.QuatRotate(math.Pi/3, mgl32.Vec3{1, 0, 0})
	s.Animations = []*scenes.Animation{{Name: "bend", Duration: 2, Channels: []scenes.Channel{{
		Node: 2, Path: scenes.PathRotation, Interpolation: scenes.InterpLinear, Width: 4,
		Times: []float32{0, 1, 2}, Values: []float32{0, 0, 0, 1, q.V[0], q.V[1], q.V[2], q.W, 0, 0, 0, 1},
	}}}}
	s.Deform()
	return s
}

// BenchmarkAnimated is a frame of a skinned grid (10,000 and 40,000 vertices) with the
// default shading of a software renderer (fast) at 720p: "playing" poses it for the frame's
// time (CPU skinning) and draws it (the changed vertices uploaded again); "still" draws the
// same scene without posing it, for comparison.
func BenchmarkAnimated(b *testing.B) {
	for _, n := range []int{100, 200} {
		for _, playing := range []bool{false, true} {
			name := "still"
			if playing {
				name = "playing"
			}
			b.Run(fmt.Sprintf("%s/%dverts/720p", name, n*n), func(b *testing.B) {
				r := newRenderer(b, Config{Shading: ShadingFast})
				v := newView(b, r, 1280, 720)
				s := skinnedGrid(n, n)
				if err := s.PlayAnimation("bend", true, 0); err != nil {
					b.Fatal(err)
				}
				var frame *image.YCbCr
				measure(b, func(i int) {
					if playing {
						s.ApplyAnimations(float64(i) / 30)
					}
					img, err := v.Render(s, frame)
					if err != nil {
						b.Fatal(err)
					}
					frame = img
				})
			})
		}
	}
}
