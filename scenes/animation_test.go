package scenes

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/go-gl/mathgl/mgl32"
)

// animDoc returns triangleDoc with one animation of node 0 whose sampler has the given
// interpolation, input times and output values.
func animDoc(path, interp, outType string, times []float32, out []float32) *testDoc {
	d := triangleDoc()
	in := d.floats("SCALAR", times...)
	o := d.floats(outType, out...)
	d.add("animations", map[string]any{
		"name":     "move",
		"samplers": []any{map[string]any{"input": in, "output": o, "interpolation": interp}},
		"channels": []any{map[string]any{"sampler": 0, "target": map[string]any{"node": 0, "path": path}}},
	})
	return d
}

// translationAt plays the scene's first animation from scene time 0 and returns node 0's
// world translation at scene time t.
func translationAt(t *testing.T, s *Scene, at float64) mgl32.Vec3 {
	t.Helper()
	if err := s.PlayAnimation(s.Animations[0].Name, false, 0); err != nil {
		t.Fatal(err)
	}
	s.ApplyAnimations(at)
	return s.WorldTransforms()[0].Col(3).Vec3()
}

func TestAnimationSamplers(t *testing.T) {
	t.Run("linear", func(t *testing.T) {
		s := mustLoad(t, animDoc("translation", "LINEAR", "VEC3", []float32{0, 2}, []float32{0, 0, 0, 2, 4, 0}).glb(t))
		if len(s.Animations) != 1 || s.Animations[0].Name != "move" || s.Animations[0].Duration != 2 {
			t.Fatalf("animations %+v", s.Animations)
		}
		for _, c := range []struct {
			at   float64
			want mgl32.Vec3
		}{{0, mgl32.Vec3{}}, {0.5, mgl32.Vec3{0.5, 1, 0}}, {1, mgl32.Vec3{1, 2, 0}}, {5, mgl32.Vec3{2, 4, 0}}} {
			if got := translationAt(t, s, c.at); !near3(got, c.want, 1e-5) {
				t.Errorf("t=%v: node at %v, want %v", c.at, got, c.want)
			}
		}
		// Looping wraps the clock: scene time 2.5 is animation time 0.5.
		if err := s.PlayAnimation("move", true, 0); err != nil {
			t.Fatal(err)
		}
		s.ApplyAnimations(2.5)
		if got := s.WorldTransforms()[0].Col(3).Vec3(); !near3(got, mgl32.Vec3{0.5, 1, 0}, 1e-5) {
			t.Errorf("looped t=2.5: node at %v, want (0.5 1 0)", got)
		}
	})
	t.Run("step", func(t *testing.T) {
		s := mustLoad(t, animDoc("translation", "STEP", "VEC3", []float32{0, 1}, []float32{0, 0, 0, 5, 0, 0}).glb(t))
		if got := translationAt(t, s, 0.99); !near3(got, mgl32.Vec3{}, 1e-6) {
			t.Errorf("t=0.99: node at %v, want the first key held", got)
		}
		if got := translationAt(t, s, 1.01); !near3(got, mgl32.Vec3{5, 0, 0}, 1e-6) {
			t.Errorf("t=1.01: node at %v, want (5 0 0)", got)
		}
	})
	t.Run("cubicspline", func(t *testing.T) {
		// Keys at 0 and 2: value x 0 with out-tangent 1, value x 1 with in-tangent 0. At
		// t=1 (u=0.5, dt=2) the Hermite basis gives 0.5*0 + 0.125*2*1 + 0.5*1 - 0.125*2*0.
		out := []float32{
			0, 0, 0 /* in */, 0, 0, 0 /* value */, 1, 0, 0, /* out */
			0, 0, 0 /* in */, 1, 0, 0 /* value */, 0, 0, 0, /* out */
		}
		s := mustLoad(t, animDoc("translation", "CUBICSPLINE", "VEC3", []float32{0, 2}, out).glb(t))
		if got := translationAt(t, s, 1); !near3(got, mgl32.Vec3{0.75, 0, 0}, 1e-5) {
			t.Errorf("t=1: node at %v, want (0.75 0 0)", got)
		}
		if got := translationAt(t, s, 2); !near3(got, mgl32.Vec3{1, 0, 0}, 1e-6) {
			t.Errorf("t=2: node at %v, want (1 0 0)", got)
		}
	})
	t.Run("rotation slerp", func(t *testing.T) {
		h := float32(math.Sqrt(0.5))
		s := mustLoad(t, animDoc("rotation", "LINEAR", "VEC4", []float32{0, 1}, []float32{0, 0, 0, 1, 0, h, 0, h}).glb(t))
		translationAt(t, s, 0.5)
		// Half way from 0 to 90 degrees about Y: +X turns to (cos 45, 0, -sin 45).
		x := s.Nodes[0].Rotation.Rotate(mgl32.Vec3{1, 0, 0})
		if !near3(x, mgl32.Vec3{h, 0, -h}, 1e-4) {
			t.Errorf("rotated +X is %v, want (%v 0 %v)", x, h, -h)
		}
	})
	t.Run("pause holds the pose", func(t *testing.T) {
		s := mustLoad(t, animDoc("translation", "LINEAR", "VEC3", []float32{0, 2}, []float32{0, 0, 0, 2, 0, 0}).glb(t))
		if err := s.PlayAnimation("move", true, 0); err != nil {
			t.Fatal(err)
		}
		if !s.AnimationsPlaying() {
			t.Fatal("not playing after PlayAnimation")
		}
		s.PauseAnimations(0.5)
		if s.AnimationsPlaying() {
			t.Fatal("still playing after PauseAnimations")
		}
		s.ApplyAnimations(1.7)
		if got := s.WorldTransforms()[0].Col(3).Vec3(); !near3(got, mgl32.Vec3{0.5, 0, 0}, 1e-5) {
			t.Errorf("paused at 0.5, node at %v at t=1.7", got)
		}
		if err := s.PlayAnimation("nope", true, 0); !errors.Is(err, ErrUnknownAnimation) {
			t.Errorf("unknown animation: %v", err)
		}
	})
}

// matBytes encodes column-major 4x4 matrices.
func matBytes(ms ...mgl32.Mat4) []byte {
	b := make([]byte, 0, 64*len(ms))
	for _, m := range ms {
		for _, v := range m {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	}
	return b
}

// skinDoc is a strip two units tall along +Y (x = +-0.1, y = 0, 1, 2) skinned to two
// joints: node 1 at the origin (bottom row), node 2 at y=1 (its child; middle row shared,
// top row its own). Node 0 shows the mesh with the skin. Its animation turns the upper
// joint 90 degrees about Z at t=1.
func skinDoc(t testing.TB) *testDoc {
	d := newTestDoc()
	d.json["scenes"] = []any{map[string]any{"nodes": []any{0, 1}}}
	pos := d.floats("VEC3", -0.1, 0, 0, 0.1, 0, 0, -0.1, 1, 0, 0.1, 1, 0, -0.1, 2, 0, 0.1, 2, 0)
	idx := d.indices(5123, 0, 1, 3, 0, 3, 2, 2, 3, 5, 2, 5, 4)
	joints := d.accessor(d.view([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0}, 0), 5121, 6, "VEC4", nil)
	weights := d.floats("VEC4", 1, 0, 0, 0, 1, 0, 0, 0, 0.5, 0.5, 0, 0, 0.5, 0.5, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0)
	m := d.mesh(map[string]any{"attributes": map[string]any{"POSITION": pos, "JOINTS_0": joints, "WEIGHTS_0": weights}, "indices": idx})
	ibm := d.accessor(d.view(matBytes(mgl32.Ident4(), mgl32.Translate3D(0, -1, 0)), 0), 5126, 2, "MAT4", nil)
	d.add("skins", map[string]any{"joints": []any{1, 2}, "inverseBindMatrices": ibm})
	d.add("nodes", map[string]any{"name": "strip", "mesh": m, "skin": 0, "translation": []any{5, 5, 5}}) // ignored: skinned
	d.add("nodes", map[string]any{"name": "lower", "children": []any{2}})
	d.add("nodes", map[string]any{"name": "upper", "translation": []any{0, 1, 0}})
	h := float32(math.Sqrt(0.5))
	in := d.floats("SCALAR", 0, 1)
	out := d.floats("VEC4", 0, 0, 0, 1, 0, 0, h, h)
	d.add("animations", map[string]any{
		"name":     "bend",
		"samplers": []any{map[string]any{"input": in, "output": out}},
		"channels": []any{map[string]any{"sampler": 0, "target": map[string]any{"node": 2, "path": "rotation"}}},
	})
	return d
}

// drawnPositions returns the world positions of node name's first primitive as drawn.
func drawnPositions(t *testing.T, s *Scene, mesh string) []mgl32.Vec3 {
	t.Helper()
	for _, d := range s.Draws() {
		if d.Mesh.Name == mesh {
			out := make([]mgl32.Vec3, len(d.Primitive.Positions))
			for i, p := range d.Primitive.Positions {
				out[i] = d.World.Mul4x1(p.Vec4(1)).Vec3()
			}
			return out
		}
	}
	t.Fatalf("no draw of mesh %q", mesh)
	return nil
}

func TestSkinnedStripBends(t *testing.T) {
	d := skinDoc(t)
	d.list("meshes")[0].(map[string]any)["name"] = "strip"
	s := mustLoad(t, d.glb(t))
	if len(s.Warnings) != 0 {
		t.Fatalf("warnings %q", s.Warnings)
	}
	// Rest pose: the bind pose, the skinned node's own translation ignored.
	rest := drawnPositions(t, s, "strip")
	if !near3(rest[5], mgl32.Vec3{0.1, 2, 0}, 1e-5) {
		t.Fatalf("rest top vertex at %v, want (0.1 2 0)", rest[5])
	}
	c := s.Clone()
	if err := c.PlayAnimation("bend", false, 0); err != nil {
		t.Fatal(err)
	}
	c.ApplyAnimations(1)
	bent := drawnPositions(t, c, "strip")
	// The upper joint turned 90 degrees about Z around (0 1 0): (0.1 2 0) -> (-1 1.1 0).
	if !near3(bent[5], mgl32.Vec3{-1, 1.1, 0}, 1e-4) {
		t.Errorf("bent top vertex at %v, want (-1 1.1 0)", bent[5])
	}
	if !near3(bent[0], mgl32.Vec3{-0.1, 0, 0}, 1e-5) {
		t.Errorf("bottom vertex moved to %v", bent[0])
	}
	// The middle row follows both joints half each: (0.1 1 0) -> mean of itself and (0 1.1 0).
	if !near3(bent[3], mgl32.Vec3{0.05, 1.05, 0}, 1e-4) {
		t.Errorf("middle vertex at %v, want (0.05 1.05 0)", bent[3])
	}
	// Paused, the pose is computed once more (at the pause time), then no longer.
	c.PauseAnimations(1)
	c.ApplyAnimations(2)
	first := &c.Draws()[0].Primitive.Positions[0]
	c.ApplyAnimations(3)
	if again := &c.Draws()[0].Primitive.Positions[0]; again != first {
		t.Error("a paused, posed animation deformed the mesh again")
	}
	if got := c.Draws()[0].Primitive.Positions[5]; !near3(got, mgl32.Vec3{-1, 1.1, 0}, 1e-4) {
		t.Errorf("paused top vertex at %v", got)
	}
	// The clone's pose is its own: the original still shows the rest pose.
	if again := drawnPositions(t, s, "strip"); !near3(again[5], rest[5], 1e-6) {
		t.Errorf("original moved with its clone: %v", again[5])
	}
}

func TestMorphTarget(t *testing.T) {
	d := triangleDoc()
	delta := d.floats("VEC3", 0, 0, 0, 0, 0, 0, 0, 0, 1)
	prim := d.list("meshes")[0].(map[string]any)["primitives"].([]any)[0].(map[string]any)
	prim["targets"] = []any{map[string]any{"POSITION": delta}}
	mesh := d.list("meshes")[0].(map[string]any)
	mesh["name"] = "tri"
	mesh["weights"] = []any{1}
	in := d.floats("SCALAR", 0, 1)
	out := d.floats("SCALAR", 1, 0)
	d.add("animations", map[string]any{
		"samplers": []any{map[string]any{"input": in, "output": out}},
		"channels": []any{map[string]any{"sampler": 0, "target": map[string]any{"node": 0, "path": "weights"}}},
	})
	s := mustLoad(t, d.glb(t))
	if got := drawnPositions(t, s, "tri")[2]; !near3(got, mgl32.Vec3{0, 1, 1}, 1e-6) {
		t.Errorf("weight 1: vertex 2 at %v, want (0 1 1) (moved by its delta)", got)
	}
	if s.Animations[0].Name != "animation0" {
		t.Errorf("unnamed animation called %q", s.Animations[0].Name)
	}
	if err := s.PlayAnimation("animation0", false, 0); err != nil {
		t.Fatal(err)
	}
	s.ApplyAnimations(0.75)
	if got := drawnPositions(t, s, "tri")[2]; !near3(got, mgl32.Vec3{0, 1, 0.25}, 1e-5) {
		t.Errorf("weight 0.25: vertex 2 at %v, want (0 1 0.25)", got)
	}
}

// TestAnimationBroken: broken animations and skins are skipped with a warning; the model
// loads and shows its rest pose.
func TestAnimationBroken(t *testing.T) {
	nan := float32(math.NaN())
	cases := []struct {
		name string
		doc  func() *testDoc
		want string
	}{
		{"sampler out of range", func() *testDoc {
			d := animDoc("translation", "LINEAR", "VEC3", []float32{0, 1}, []float32{0, 0, 0, 1, 0, 0})
			d.list("animations")[0].(map[string]any)["channels"].([]any)[0].(map[string]any)["sampler"] = 7
			return d
		}, "sampler 7 does not exist"},
		{"input accessor out of range", func() *testDoc {
			d := animDoc("translation", "LINEAR", "VEC3", []float32{0, 1}, []float32{0, 0, 0, 1, 0, 0})
			d.list("animations")[0].(map[string]any)["samplers"].([]any)[0].(map[string]any)["input"] = 99
			return d
		}, "accessor 99 does not exist"},
		{"times not increasing", func() *testDoc {
			return animDoc("translation", "LINEAR", "VEC3", []float32{0, 1, 1}, []float32{0, 0, 0, 1, 0, 0, 2, 0, 0})
		}, "not increasing"},
		{"NaN output", func() *testDoc {
			return animDoc("translation", "LINEAR", "VEC3", []float32{0, 1}, []float32{0, 0, 0, nan, 0, 0})
		}, "not finite"},
		{"NaN time", func() *testDoc {
			return animDoc("translation", "LINEAR", "VEC3", []float32{0, nan}, []float32{0, 0, 0, 1, 0, 0})
		}, "not finite"},
		{"output count", func() *testDoc {
			return animDoc("translation", "CUBICSPLINE", "VEC3", []float32{0, 1}, []float32{0, 0, 0, 1, 0, 0})
		}, "6 output values for 2 keyframes"},
		{"zero quaternion", func() *testDoc {
			return animDoc("rotation", "LINEAR", "VEC4", []float32{0, 1}, []float32{0, 0, 0, 0, 0, 0, 0, 1})
		}, "not a unit quaternion"},
		{"weights without targets", func() *testDoc {
			return animDoc("weights", "LINEAR", "SCALAR", []float32{0, 1}, []float32{0, 1})
		}, "no morph targets"},
		{"joint out of range", func() *testDoc {
			d := skinDoc(t)
			d.list("skins")[0].(map[string]any)["joints"] = []any{1}
			return d
		}, "uses joint 1, the skin has 1"},
		{"skin joint not a node", func() *testDoc {
			d := skinDoc(t)
			d.list("skins")[0].(map[string]any)["joints"] = []any{1, 42}
			return d
		}, "not in the scene"},
		{"NaN inverse bind matrix", func() *testDoc {
			d := skinDoc(t)
			m := mgl32.Ident4()
			m[5] = nan
			ibm := d.accessor(d.view(matBytes(mgl32.Ident4(), m), 0), 5126, 2, "MAT4", nil)
			d.list("skins")[0].(map[string]any)["inverseBindMatrices"] = ibm
			return d
		}, "not finite"},
		{"morph weights for no targets", func() *testDoc {
			d := triangleDoc()
			d.list("meshes")[0].(map[string]any)["weights"] = []any{0.5}
			return d
		}, "1 morph weights for 0 targets"},
		{"morph target count", func() *testDoc {
			d := triangleDoc()
			prim := d.list("meshes")[0].(map[string]any)["primitives"].([]any)[0].(map[string]any)
			prim["targets"] = []any{map[string]any{"POSITION": d.floats("VEC3", 0, 0, 1)}}
			return d
		}, "morph target 0 skipped: POSITION has 1 elements for 3 vertices"},
		{"too few inverse bind matrices", func() *testDoc {
			d := skinDoc(t)
			d.list("skins")[0].(map[string]any)["joints"] = []any{1, 2, 0}
			return d
		}, "2 inverse bind matrices for 3 joints"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := c.doc().glb(t)
			s, err := LoadReader(bytes.NewReader(data), "broken.glb", nil)
			if err != nil {
				t.Fatalf("load failed (want a warning and a skip): %v", err)
			}
			if !strings.Contains(strings.Join(s.Warnings, "\n"), c.want) {
				t.Fatalf("warnings %q, want one containing %q", s.Warnings, c.want)
			}
			// Whatever was skipped, playing everything at any time must not break the scene.
			s.PlayAllAnimations(0)
			for _, at := range []float64{0, 0.5, 3} {
				s.ApplyAnimations(at)
				for _, d := range s.Draws() {
					for _, p := range d.Primitive.Positions {
						if !finiteVec3(d.World.Mul4x1(p.Vec4(1)).Vec3()) {
							t.Fatalf("t=%v: non-finite vertex", at)
						}
					}
				}
			}
		})
	}
	// A skipped animation is not listed; a skipped skin leaves the mesh in its rest shape.
	d := animDoc("translation", "LINEAR", "VEC3", []float32{0, 1, 1}, []float32{0, 0, 0, 1, 0, 0, 2, 0, 0})
	if s := mustLoad(t, d.glb(t)); len(s.Animations) != 0 {
		t.Errorf("broken animation listed: %+v", s.Animations)
	}
}

// TestAnimatedModelFiles plays the animated models of assimp-testmodels (Khronos samples):
// each loads without warnings, lists its animation, and moves its vertices when played.
func TestAnimatedModelFiles(t *testing.T) {
	for _, c := range []struct {
		path, anim string
		duration   float64
		at         float64
	}{
		{"glTF-Sample-Models/AnimatedMorphCube-glTF/AnimatedMorphCube.gltf", "Square", 4.2, 1},
		{"simple_skin/simple_skin.gltf", "animation0", 5.5, 2},
	} {
		t.Run(c.path, func(t *testing.T) {
			s, err := Load(assimpModel(t, c.path))
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Warnings) != 0 {
				t.Errorf("warnings %q", s.Warnings)
			}
			if len(s.Animations) != 1 || s.Animations[0].Name != c.anim || math.Abs(s.Animations[0].Duration-c.duration) > 0.01 {
				t.Fatalf("animations %v, want one %q of %vs", s.AnimationNames(), c.anim, c.duration)
			}
			before := s.Bounds()
			if err := s.PlayAnimation(c.anim, true, 0); err != nil {
				t.Fatal(err)
			}
			s.ApplyAnimations(c.at)
			after := s.Bounds()
			if near3(before.Min, after.Min, 0.05) && near3(before.Max, after.Max, 0.05) {
				t.Errorf("t=%v: bounds %v..%v did not change from the rest pose", c.at, after.Min, after.Max)
			}
		})
	}
}
