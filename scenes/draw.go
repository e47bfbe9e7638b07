package scenes

import "github.com/go-gl/mathgl/mgl32"

// Draw is one primitive to draw with its world transform and resolved material values.
type Draw struct {
	Mesh      *Mesh
	Primitive *Primitive
	World     mgl32.Mat4
	// Material is the primitive's material, or DefaultMaterial.
	Material *Material
	// BaseColor is the material's base colour, or the node's override (linear RGBA).
	BaseColor mgl32.Vec4
}

// DefaultMaterial is used by primitives with no material: light grey, dielectric, rough.
var DefaultMaterial = Material{Name: "default", BaseColor: mgl32.Vec4{0.8, 0.8, 0.8, 1}, Roughness: 0.8}

// Draws walks the visible node hierarchy and returns every primitive to draw, at the
// detail the meshes were built at (Mesh.Primitives).
func (s *Scene) Draws() []Draw { return s.draws(false) }

// FullDetailDraws is Draws with each mesh's full-detail primitives (Mesh.Full) where it
// carries them: the same nodes, transforms and materials, finer geometry. Renderers use it
// for refined still pictures of scenes built at a lower level of detail.
func (s *Scene) FullDetailDraws() []Draw { return s.draws(true) }

func (s *Scene) draws(full bool) []Draw {
	var out []Draw
	var walk func(i int, parent mgl32.Mat4, depth int)
	walk = func(i int, parent mgl32.Mat4, depth int) {
		if i < 0 || i >= len(s.Nodes) || depth > 64 {
			return
		}
		n := s.Nodes[i]
		if !n.Visible {
			return
		}
		world := parent.Mul4(n.Local())
		if n.Mesh >= 0 && n.Mesh < len(s.Meshes) {
			m := s.Meshes[n.Mesh]
			at := world
			if d := n.deformed; d != nil {
				m = d.mesh
				if d.world {
					at = mgl32.Ident4() // skinned vertices are in world space
				}
			}
			prims := m.Primitives
			if full && m.Full != nil {
				prims = m.Full
			}
			for pi := range prims {
				p := &prims[pi]
				mat := &DefaultMaterial
				if p.Material >= 0 && p.Material < len(s.Materials) {
					mat = s.Materials[p.Material]
				}
				c := mat.BaseColor
				if n.ColorOverride != nil {
					c = *n.ColorOverride
				}
				out = append(out, Draw{Mesh: m, Primitive: p, World: at, Material: mat, BaseColor: c})
			}
		}
		for _, c := range n.Children {
			walk(c, world, depth+1)
		}
	}
	for _, r := range s.Roots {
		walk(r, mgl32.Ident4(), 0)
	}
	return out
}

// Clone returns a copy whose nodes, lights, camera and background can be edited without
// touching s. Meshes, materials' textures and geometry are shared (read-only).
func (s *Scene) Clone() *Scene {
	c := *s
	c.Nodes = make([]*Node, len(s.Nodes))
	for i, n := range s.Nodes {
		nn := *n
		nn.Children = append([]int(nil), n.Children...)
		if n.ColorOverride != nil {
			v := *n.ColorOverride
			nn.ColorOverride = &v
		}
		nn.Weights = append([]float32(nil), n.Weights...)
		c.Nodes[i] = &nn
	}
	c.Materials = make([]*Material, len(s.Materials))
	for i, m := range s.Materials {
		mm := *m
		c.Materials[i] = &mm
	}
	c.Roots = append([]int(nil), s.Roots...)
	c.Playing = append([]Playback(nil), s.Playing...)
	c.Lights = append([]Light(nil), s.Lights...)
	return &c
}
