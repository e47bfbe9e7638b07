package render

import (
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/go-gl/mathgl/mgl32"

	"github.com/rendercast/rendercast/scenes"
)

// animScene is an unlit white shape on black seen from +Z, centred on (0 1 0): the
// camera's view is about 4.4 units tall.
func animScene() *scenes.Scene {
	return &scenes.Scene{
		Name:       "anim",
		Background: mgl32.Vec3{0, 0, 0},
		Camera:     scenes.Camera{Eye: mgl32.Vec3{0, 1, 6}, Target: mgl32.Vec3{0, 1, 0}, Up: mgl32.Vec3{0, 1, 0}, FovY: 40},
		Materials:  []*scenes.Material{{BaseColor: mgl32.Vec4{1, 1, 1, 1}, Unlit: true, DoubleSided: true}},
	}
}

// centroid returns the mean position of the pixels that are not background, and how many.
func centroid(img *image.RGBA) (x, y float64, n int) {
	m := mask(img, color.RGBA{0, 0, 0, 255})
	w := img.Rect.Dx()
	for i, on := range m {
		if on {
			x += float64(i % w)
			y += float64(i / w)
			n++
		}
	}
	if n > 0 {
		x, y = x/float64(n), y/float64(n)
	}
	return x, y, n
}

// TestAnimatedNodeMoves: a box translated by a LINEAR animation is drawn where the clock
// puts it: left of centre at t=0, centred at t=1, right at t=2.
func TestAnimatedNodeMoves(t *testing.T) {
	r := newRenderer(t, Config{})
	v := newView(t, r, 160, 120)
	s := animScene()
	p := box(0.5, 0.5, 0.5)
	s.Meshes = []*scenes.Mesh{{Name: "box", Primitives: []scenes.Primitive{p}}}
	s.Nodes = []*scenes.Node{scenes.NewNode("box", 0)}
	s.Roots = []int{0}
	s.Animations = []*scenes.Animation{{Name: "slide", Duration: 2, Channels: []scenes.Channel{{
		Node: 0, Path: scenes.PathTranslation, Interpolation: scenes.InterpLinear, Width: 3,
		Times: []float32{0, 2}, Values: []float32{-1.5, 1, 0, 1.5, 1, 0},
	}}}}
	if err := s.PlayAnimation("slide", false, 0); err != nil {
		t.Fatal(err)
	}
	var xs []float64
	for _, at := range []float64{0, 1, 2} {
		s.ApplyAnimations(at)
		x, y, n := centroid(drawRGBA(t, v, s))
		if n < 100 {
			t.Fatalf("t=%v: box covers %d pixels", at, n)
		}
		if math.Abs(y-60) > 3 {
			t.Errorf("t=%v: box centroid row %.1f, want about 60", at, y)
		}
		xs = append(xs, x)
	}
	// 1.5 units at 6 units' distance with a 40 degree field: about 41 pixels (of 120 rows).
	if math.Abs(xs[1]-80) > 3 || xs[0] > 80-25 || xs[2] < 80+25 {
		t.Errorf("box centroid columns %.1f at t=0, 1, 2: want about 39, 80, 121", xs)
	}
}

// skinnedStrip is a strip 0.2 wide and 2 tall along +Y, skinned to a lower joint at the
// origin and an upper one at y=1 (its child), with an animation that turns the upper joint
// 90 degrees about Z at t=1.
func skinnedStrip() *scenes.Scene {
	s := animScene()
	var p scenes.Primitive
	d := &scenes.Deform{}
	for row := range 9 {
		y := float32(row) / 4
		w1 := min(max(y-0.5, 0), 1) // the lower joint alone below 0.5, the upper above 1.5
		for _, x := range []float32{-0.1, 0.1} {
			p.Positions = append(p.Positions, mgl32.Vec3{x, y, 0})
			p.Normals = append(p.Normals, mgl32.Vec3{0, 0, 1})
			d.Joints = append(d.Joints, [4]uint16{0, 1, 0, 0})
			d.Weights = append(d.Weights, [4]float32{1 - w1, w1, 0, 0})
		}
		if row > 0 {
			a := uint32(2 * (row - 1))
			p.Indices = append(p.Indices, a, a+1, a+3, a, a+3, a+2)
		}
	}
	p.Deform = d
	s.Meshes = []*scenes.Mesh{{Name: "strip", Primitives: []scenes.Primitive{p}}}
	strip := scenes.NewNode("strip", 0)
	lower := scenes.NewNode("lower", -1)
	upper := scenes.NewNode("upper", -1)
	upper.Translation = mgl32.Vec3{0, 1, 0}
	lower.Children = []int{2}
	s.Nodes = []*scenes.Node{strip, lower, upper}
	s.Roots = []int{0, 1}
	strip.Skin = &scenes.Skin{Joints: []int{1, 2}, InverseBind: []mgl32.Mat4{mgl32.Ident4(), mgl32.Translate3D(0, -1, 0)}}
	h := float32(math.Sqrt(0.5))
	s.Animations = []*scenes.Animation{{Name: "bend", Duration: 1, Channels: []scenes.Channel{{
		Node: 2, Path: scenes.PathRotation, Interpolation: scenes.InterpLinear, Width: 4,
		Times: []float32{0, 1}, Values: []float32{0, 0, 0, 1, 0, 0, h, h},
	}}}}
	s.Deform()
	return s
}

// TestSkinnedStripBendsOnScreen: the strip stands upright at rest (pixels above the middle,
// none to the left); bent, its upper half lies to the left of the middle. Drawn twice in
// the same view, so the second picture also checks that changed vertices are uploaded
// again.
func TestSkinnedStripBendsOnScreen(t *testing.T) {
	r := newRenderer(t, Config{})
	v := newView(t, r, 160, 120)
	s := skinnedStrip()
	// Above the joint: rows above 50 (the joint is at row 60); left: columns below 65 (the
	// strip's half-width is about 3 pixels around column 80).
	regions := func(img *image.RGBA) (above, left int) {
		m := mask(img, color.RGBA{0, 0, 0, 255})
		for i, on := range m {
			x, y := i%160, i/160
			if on && y < 50 {
				above++
			}
			if on && x < 65 {
				left++
			}
		}
		return above, left
	}
	above, left := regions(drawRGBA(t, v, s))
	t.Logf("rest: %d pixels above the joint, %d left of it", above, left)
	if above < 50 || left != 0 {
		t.Fatalf("rest: %d pixels above the joint (want many), %d left of it (want 0)", above, left)
	}
	if err := s.PlayAnimation("bend", false, 0); err != nil {
		t.Fatal(err)
	}
	s.ApplyAnimations(1)
	// The top vertex (0.1 2 0) turns about (0 1 0) to (-1 1.1 0).
	var top mgl32.Vec3
	for _, d := range s.Draws() {
		top = d.World.Mul4x1(d.Primitive.Positions[17].Vec4(1)).Vec3()
	}
	if top.Sub(mgl32.Vec3{-1, 1.1, 0}).Len() > 1e-4 {
		t.Errorf("bent top vertex at %v, want (-1 1.1 0)", top)
	}
	above, left = regions(drawRGBA(t, v, s))
	t.Logf("bent: %d pixels above the joint, %d left of it", above, left)
	if above > 20 || left < 40 {
		t.Errorf("bent: %d pixels above the joint (want few), %d left of it (want many)", above, left)
	}
}

// TestMorphTargetOnScreen: a quad whose morph target moves its top edge up by one unit is
// drawn taller with weight 1 than with weight 0.
func TestMorphTargetOnScreen(t *testing.T) {
	r := newRenderer(t, Config{})
	v := newView(t, r, 160, 120)
	s := animScene()
	p := scenes.Primitive{
		Positions: []mgl32.Vec3{{-0.5, 0, 0}, {0.5, 0, 0}, {0.5, 1, 0}, {-0.5, 1, 0}},
		Indices:   []uint32{0, 1, 2, 0, 2, 3},
		Deform: &scenes.Deform{Targets: []scenes.MorphTarget{{
			Positions: []mgl32.Vec3{{}, {}, {0, 1, 0}, {0, 1, 0}},
		}}},
	}
	s.Meshes = []*scenes.Mesh{{Name: "quad", Primitives: []scenes.Primitive{p}, Weights: []float32{0}}}
	s.Nodes = []*scenes.Node{scenes.NewNode("quad", 0)}
	s.Roots = []int{0}
	s.Deform()
	_, _, n0 := centroid(drawRGBA(t, v, s))
	s.Nodes[0].Weights = []float32{1}
	s.Deform()
	_, _, n1 := centroid(drawRGBA(t, v, s))
	if n0 < 100 || float64(n1) < 1.8*float64(n0) || float64(n1) > 2.2*float64(n0) {
		t.Errorf("quad covers %d pixels with weight 0, %d with weight 1: want twice as many", n0, n1)
	}
}

// TestReplacedVerticesChecked: vertices replaced in place of a cached primitive's are
// uploaded into its buffers when they fit, and a replacement that does not fit (fewer
// normals than positions) is skipped like any bad primitive, not read past its end.
func TestReplacedVerticesChecked(t *testing.T) {
	r := newRenderer(t, Config{})
	v := newView(t, r, 160, 120)
	s := animScene()
	p := box(0.5, 0.5, 0.5)
	s.Meshes = []*scenes.Mesh{{Name: "box", Primitives: []scenes.Primitive{p}}}
	s.Nodes = []*scenes.Node{scenes.NewNode("box", 0)}
	s.Roots = []int{0}
	x0, _, _ := centroid(drawRGBA(t, v, s))
	prim := &s.Meshes[0].Primitives[0]
	moved := make([]mgl32.Vec3, len(prim.Positions))
	for i, q := range prim.Positions {
		moved[i] = q.Add(mgl32.Vec3{1, 0, 0})
	}
	prim.Positions = moved
	x1, _, _ := centroid(drawRGBA(t, v, s))
	if x1-x0 < 20 {
		t.Errorf("replaced vertices one unit to the right: centroid column %.1f -> %.1f", x0, x1)
	}
	prim.Positions = append([]mgl32.Vec3(nil), moved...)
	prim.Normals = prim.Normals[:3]
	if _, _, n := centroid(drawRGBA(t, v, s)); n != 0 {
		t.Errorf("a primitive with 3 normals for %d positions was drawn (%d pixels)", len(moved), n)
	}
}
