package scenes

import (
	"math"
	"testing"

	"github.com/go-gl/mathgl/mgl32"
)

// gridQuad is a unit quad on z = 0 facing +z split into n x n cells; uv maps a position's
// (x, y) in -0.5..0.5 to its texture coordinates.
func gridQuad(n int, uv func(x, y float32) mgl32.Vec2) (Primitive, []mgl32.Vec2) {
	var p Primitive
	var uvs []mgl32.Vec2
	for j := 0; j <= n; j++ {
		for i := 0; i <= n; i++ {
			x, y := float32(i)/float32(n)-0.5, float32(j)/float32(n)-0.5
			p.Positions = append(p.Positions, mgl32.Vec3{x, y, 0})
			p.Normals = append(p.Normals, mgl32.Vec3{0, 0, 1})
			uvs = append(uvs, uv(x, y))
		}
	}
	for j := range n {
		for i := range n {
			a := uint32(j*(n+1) + i)
			b, c, d := a+1, a+uint32(n)+2, a+uint32(n)+1
			p.Indices = append(p.Indices, a, b, c, a, c, d)
		}
	}
	return p, uvs
}

func near3(a, b mgl32.Vec3, tol float32) bool { return a.Sub(b).Len() <= tol }

// TestGenerateTangentsQuad: on a flat quad with u to the right and v down the image (glTF's
// usual layout), every tangent is +x with w = +1 (the bitangent up the image, +y); with u
// mirrored the tangent is -x and w = -1; with u and v swapped (a transposed layout) the
// tangent follows u (-y) and the handedness flips.
func TestGenerateTangentsQuad(t *testing.T) {
	tests := []struct {
		name string
		uv   func(x, y float32) mgl32.Vec2
		want mgl32.Vec4
	}{
		{"u right, v down", func(x, y float32) mgl32.Vec2 { return mgl32.Vec2{x + 0.5, 0.5 - y} }, mgl32.Vec4{1, 0, 0, 1}},
		{"u mirrored", func(x, y float32) mgl32.Vec2 { return mgl32.Vec2{0.5 - x, 0.5 - y} }, mgl32.Vec4{-1, 0, 0, -1}},
		{"v mirrored (v up)", func(x, y float32) mgl32.Vec2 { return mgl32.Vec2{x + 0.5, y + 0.5} }, mgl32.Vec4{1, 0, 0, -1}},
		{"u down, v right", func(x, y float32) mgl32.Vec2 { return mgl32.Vec2{0.5 - y, x + 0.5} }, mgl32.Vec4{0, -1, 0, -1}},
		{"scaled and offset", func(x, y float32) mgl32.Vec2 { return mgl32.Vec2{3*x + 7, 5 - 2*y} }, mgl32.Vec4{1, 0, 0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, uvs := gridQuad(3, tt.uv)
			tan := GenerateTangents(&p, uvs)
			if len(tan) != len(p.Positions) {
				t.Fatalf("%d tangents for %d vertices", len(tan), len(p.Positions))
			}
			for i, g := range tan {
				if !near3(g.Vec3(), tt.want.Vec3(), 1e-5) || g[3] != tt.want[3] {
					t.Fatalf("vertex %d: tangent %v, want %v", i, g, tt.want)
				}
			}
		})
	}
}

// TestGenerateTangentsSphere: on a UV sphere the generated tangents are unit length,
// orthogonal to the normals, point along increasing u (east, the direction of increasing
// longitude) and have w = +1, like the analytic tangent; vertices at the poles, where u is
// degenerate, still get a unit tangent orthogonal to the normal.
func TestGenerateTangentsSphere(t *testing.T) {
	const rings, segs = 16, 32
	var p Primitive
	var uvs []mgl32.Vec2
	for j := 0; j <= rings; j++ {
		theta := math.Pi * float64(j) / rings // 0 at the north pole (+y)
		for i := 0; i <= segs; i++ {
			phi := 2 * math.Pi * float64(i) / segs
			n := mgl32.Vec3{float32(math.Sin(theta) * math.Cos(phi)), float32(math.Cos(theta)), float32(-math.Sin(theta) * math.Sin(phi))}
			p.Positions = append(p.Positions, n)
			p.Normals = append(p.Normals, n)
			uvs = append(uvs, mgl32.Vec2{float32(i) / segs, float32(j) / rings})
		}
	}
	for j := range rings {
		for i := range segs {
			a := uint32(j*(segs+1) + i)
			b, c, d := a+1, a+segs+2, a+segs+1
			p.Indices = append(p.Indices, a, d, c, a, c, b)
		}
	}
	tan := GenerateTangents(&p, uvs)
	for v, g := range tan {
		n := p.Normals[v]
		if l := g.Vec3().Len(); math.Abs(float64(l)-1) > 1e-4 {
			t.Fatalf("vertex %d: tangent length %v", v, l)
		}
		if d := g.Vec3().Dot(n); math.Abs(float64(d)) > 1e-4 {
			t.Fatalf("vertex %d: tangent %v not orthogonal to normal %v (dot %v)", v, g, n, d)
		}
		j := v / (segs + 1)
		if j == 0 || j == rings {
			continue // poles: any orthogonal direction will do
		}
		phi := 2 * math.Pi * float64(v%(segs+1)) / segs
		east := mgl32.Vec3{float32(-math.Sin(phi)), 0, float32(-math.Cos(phi))}
		if g.Vec3().Dot(east) < 0.99 || g[3] != 1 {
			t.Fatalf("vertex %d (ring %d): tangent %v, want about %v with w = 1", v, j, g, east)
		}
	}
}

// TestGenerateTangentsDegenerate: coordinates that do not vary (all zero) give unit tangents
// orthogonal to the normal instead of NaNs, and a coordinate list of the wrong length gives
// nil.
func TestGenerateTangentsDegenerate(t *testing.T) {
	p, uvs := gridQuad(2, func(x, y float32) mgl32.Vec2 { return mgl32.Vec2{} })
	for i, g := range GenerateTangents(&p, uvs) {
		if !finiteVec3(g.Vec3()) || math.Abs(float64(g.Vec3().Len())-1) > 1e-5 || math.Abs(float64(g.Vec3().Dot(p.Normals[i]))) > 1e-5 {
			t.Fatalf("vertex %d: tangent %v", i, g)
		}
	}
	if got := GenerateTangents(&p, uvs[:2]); got != nil {
		t.Errorf("mismatched coordinates: %d tangents, want nil", len(got))
	}
}
