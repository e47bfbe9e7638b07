package scenes

import (
	"testing"

	"github.com/go-gl/mathgl/mgl32"
)

// checkPrimitive asserts the invariants every primitive must meet: indices in range and a
// multiple of 3, unit normals, UVs in [0, 1], and triangles wound counter-clockwise seen
// from the side their normals point to.
func checkPrimitive(t *testing.T, name string, p Primitive) {
	t.Helper()
	nv := len(p.Positions)
	if len(p.Normals) != nv || len(p.UVs) != nv {
		t.Fatalf("%s: %d positions, %d normals, %d UVs", name, nv, len(p.Normals), len(p.UVs))
	}
	if len(p.Indices) == 0 || len(p.Indices)%3 != 0 {
		t.Fatalf("%s: %d indices", name, len(p.Indices))
	}
	for i, v := range p.Indices {
		if int(v) >= nv {
			t.Fatalf("%s: index %d = %d out of range (%d vertices)", name, i, v, nv)
		}
	}
	for i, n := range p.Normals {
		if l := n.Len(); abs32(l-1) > 1e-4 {
			t.Fatalf("%s: normal %d has length %g", name, i, l)
		}
	}
	for i, uv := range p.UVs {
		if uv[0] < 0 || uv[0] > 1 || uv[1] < 0 || uv[1] > 1 {
			t.Fatalf("%s: UV %d = %v outside [0,1]", name, i, uv)
		}
	}
	for i := 0; i < len(p.Indices); i += 3 {
		a, b, c := p.Indices[i], p.Indices[i+1], p.Indices[i+2]
		g := p.Positions[b].Sub(p.Positions[a]).Cross(p.Positions[c].Sub(p.Positions[a]))
		n := p.Normals[a].Add(p.Normals[b]).Add(p.Normals[c])
		if g.Len() > 1e-7 && g.Dot(n) <= 0 {
			t.Fatalf("%s: triangle %d is wound clockwise (geometric normal %v, vertex normals %v)", name, i/3, g, n)
		}
	}
}

func TestShapes(t *testing.T) {
	tests := []struct {
		name             string
		p                Primitive
		verts, triangles int
		min, max         mgl32.Vec3
		// outward: normals point away from the origin (closed convex shapes).
		outward bool
	}{
		{"box", Box(2, 4, 6), 24, 12, mgl32.Vec3{-1, -2, -3}, mgl32.Vec3{1, 2, 3}, true},
		{"sphere", Sphere(1.5, 16, 8), 17 * 9, 16 * 8 * 2, mgl32.Vec3{-1.5, -1.5, -1.5}, mgl32.Vec3{1.5, 1.5, 1.5}, true},
		{"cylinder", Cylinder(1, 2, 12), 13*2 + 2*14, 12*2 + 2*12, mgl32.Vec3{-1, -1, -1}, mgl32.Vec3{1, 1, 1}, true},
		{"cone", Cone(1, 2, 12), 13*2 + 14, 12*2 + 12, mgl32.Vec3{-1, -1, -1}, mgl32.Vec3{1, 1, 1}, true},
		{"torus", Torus(2, 0.5, 24, 12), 25 * 13, 24 * 12 * 2, mgl32.Vec3{-2.5, -0.5, -2.5}, mgl32.Vec3{2.5, 0.5, 2.5}, false},
		{"plane", Plane(4, 2, 3), 16, 18, mgl32.Vec3{-2, 0, -1}, mgl32.Vec3{2, 0, 1}, false},
		{"disc", Disc(3, 20), 22, 20, mgl32.Vec3{-3, 0, -3}, mgl32.Vec3{3, 0, 3}, false},
		{"quad", Quad(4, 3), 4, 2, mgl32.Vec3{-2, -1.5, 0}, mgl32.Vec3{2, 1.5, 0}, false},
		{"degenerate segment counts are raised", Sphere(1, 0, 0), 4 * 3, 3 * 2 * 2, mgl32.Vec3{-0.866, -1, -0.5}, mgl32.Vec3{0.866, 1, 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			checkPrimitive(t, tt.name, p)
			if len(p.Positions) != tt.verts || len(p.Indices)/3 != tt.triangles {
				t.Errorf("%d vertices, %d triangles; want %d, %d", len(p.Positions), len(p.Indices)/3, tt.verts, tt.triangles)
			}
			if p.Material != -1 {
				t.Errorf("material = %d, want -1", p.Material)
			}
			b := p.Bounds()
			// Coarse tessellations stay inside the ideal shape (within 2%).
			if !near(b.Max, tt.max, 0.02*tt.max.Len()) || !near(b.Min, tt.min, 0.02*tt.min.Len()) {
				t.Errorf("bounds %v..%v, want %v..%v", b.Min, b.Max, tt.min, tt.max)
			}
			if tt.outward {
				for i, pos := range p.Positions {
					if pos.Len() > 1e-6 && p.Normals[i].Dot(pos) < -1e-4 {
						t.Fatalf("normal %d %v points inward at %v", i, p.Normals[i], pos)
					}
				}
			}
		})
	}
}

func TestQuadFacesCameraUpright(t *testing.T) {
	q := Quad(2, 2)
	// UV (0, 0), the texture's top-left pixel, is the quad's top-left corner (-x, +y).
	for i, uv := range q.UVs {
		p := q.Positions[i]
		if (uv[0] == 0) != (p[0] < 0) || (uv[1] == 0) != (p[1] > 0) {
			t.Errorf("vertex %v has UV %v", p, uv)
		}
		if q.Normals[i] != (mgl32.Vec3{0, 0, 1}) {
			t.Errorf("normal %v, want +Z", q.Normals[i])
		}
	}
}
