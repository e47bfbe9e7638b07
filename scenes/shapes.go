package scenes

import (
	"math"

	"github.com/go-gl/mathgl/mgl32"
)

// Shape generators return indexed triangle primitives centred on the origin with unit
// normals, UVs (glTF convention: v grows downward in the image) and counter-clockwise front
// faces, like glTF. Their Material is -1 (the default material). Segment counts below 3
// (rings below 2) are raised to the minimum.

// Box returns a box with the given sizes along X, Y and Z: 24 vertices (4 per face, so
// edges stay sharp), 12 triangles, each face mapped to the whole texture.
func Box(sx, sy, sz float32) Primitive {
	h := mgl32.Vec3{sx / 2, sy / 2, sz / 2}
	// Each face: normal n and in-plane axes u, v with u × v = n (counter-clockwise corners).
	faces := [6][3]mgl32.Vec3{
		{{1, 0, 0}, {0, 0, -1}, {0, 1, 0}},
		{{-1, 0, 0}, {0, 0, 1}, {0, 1, 0}},
		{{0, 1, 0}, {1, 0, 0}, {0, 0, -1}},
		{{0, -1, 0}, {1, 0, 0}, {0, 0, 1}},
		{{0, 0, 1}, {1, 0, 0}, {0, 1, 0}},
		{{0, 0, -1}, {-1, 0, 0}, {0, 1, 0}},
	}
	corners := [4][2]float32{{-1, -1}, {1, -1}, {1, 1}, {-1, 1}}
	uvs := [4]mgl32.Vec2{{0, 1}, {1, 1}, {1, 0}, {0, 0}}
	p := Primitive{Material: -1}
	for _, f := range faces {
		n, u, v := f[0], f[1], f[2]
		base := uint32(len(p.Positions))
		for i, c := range corners {
			q := n.Add(u.Mul(c[0])).Add(v.Mul(c[1]))
			p.Positions = append(p.Positions, mgl32.Vec3{q[0] * h[0], q[1] * h[1], q[2] * h[2]})
			p.Normals = append(p.Normals, n)
			p.UVs = append(p.UVs, uvs[i])
		}
		p.Indices = append(p.Indices, base, base+1, base+2, base, base+2, base+3)
	}
	return p
}

// surface builds a (cols+1) x (rows+1) vertex grid from f(s, t) with s, t in [0, 1], giving
// position and outward normal, and UV (s, t). Each triangle is wound counter-clockwise as
// seen from the side its vertex normals point to, so callers need not care about the
// parameterisation's orientation.
func surface(p *Primitive, cols, rows int, f func(s, t float64) (pos, n mgl32.Vec3)) {
	base := uint32(len(p.Positions))
	for j := 0; j <= rows; j++ {
		t := float64(j) / float64(rows)
		for i := 0; i <= cols; i++ {
			s := float64(i) / float64(cols)
			pos, n := f(s, t)
			p.Positions = append(p.Positions, pos)
			p.Normals = append(p.Normals, n)
			p.UVs = append(p.UVs, mgl32.Vec2{float32(s), float32(t)})
		}
	}
	w := uint32(cols + 1)
	for j := range uint32(rows) {
		for i := range uint32(cols) {
			a, b, c, d := base+j*w+i, base+j*w+i+1, base+(j+1)*w+i+1, base+(j+1)*w+i
			addTri(p, a, b, c)
			addTri(p, a, c, d)
		}
	}
}

// addTri appends a triangle, flipping it when its geometric normal disagrees with its
// vertex normals. Degenerate triangles (at poles) keep their order.
func addTri(p *Primitive, a, b, c uint32) {
	pa, pb, pc := p.Positions[a], p.Positions[b], p.Positions[c]
	g := pb.Sub(pa).Cross(pc.Sub(pa))
	n := p.Normals[a].Add(p.Normals[b]).Add(p.Normals[c])
	if g.Dot(n) < 0 {
		b, c = c, b
	}
	p.Indices = append(p.Indices, a, b, c)
}

// disc appends a flat disc at height y facing +Y (or -Y when down), UVs mapped planar.
func disc(p *Primitive, radius, y float32, segments int, down bool) {
	n := mgl32.Vec3{0, 1, 0}
	if down {
		n = mgl32.Vec3{0, -1, 0}
	}
	center := uint32(len(p.Positions))
	p.Positions = append(p.Positions, mgl32.Vec3{0, y, 0})
	p.Normals = append(p.Normals, n)
	p.UVs = append(p.UVs, mgl32.Vec2{0.5, 0.5})
	for i := 0; i <= segments; i++ {
		a := 2 * math.Pi * float64(i) / float64(segments)
		sin, cos := math.Sincos(a)
		p.Positions = append(p.Positions, mgl32.Vec3{radius * float32(sin), y, radius * float32(cos)})
		p.Normals = append(p.Normals, n)
		p.UVs = append(p.UVs, mgl32.Vec2{0.5 + 0.5*float32(sin), 0.5 - 0.5*float32(cos)})
	}
	for i := range uint32(segments) {
		addTri(p, center, center+1+i, center+2+i)
	}
}

func atLeast(v, lo int) int { return max(v, lo) }

// Sphere returns a UV sphere: segments around the Y axis, rings from pole to pole.
func Sphere(radius float32, segments, rings int) Primitive {
	segments, rings = atLeast(segments, 3), atLeast(rings, 2)
	p := Primitive{Material: -1}
	surface(&p, segments, rings, func(s, t float64) (mgl32.Vec3, mgl32.Vec3) {
		phi, theta := 2*math.Pi*s, math.Pi*t
		st, ct := math.Sincos(theta)
		sp, cp := math.Sincos(phi)
		n := mgl32.Vec3{float32(st * sp), float32(ct), float32(st * cp)}
		return n.Mul(radius), n
	})
	return p
}

// Cylinder returns a closed cylinder along Y, centred on the origin.
func Cylinder(radius, height float32, segments int) Primitive {
	segments = atLeast(segments, 3)
	p := Primitive{Material: -1}
	h := height / 2
	surface(&p, segments, 1, func(s, t float64) (mgl32.Vec3, mgl32.Vec3) {
		sp, cp := math.Sincos(2 * math.Pi * s)
		n := mgl32.Vec3{float32(sp), 0, float32(cp)}
		return mgl32.Vec3{radius * n[0], h - height*float32(t), radius * n[2]}, n
	})
	disc(&p, radius, h, segments, false)
	disc(&p, radius, -h, segments, true)
	return p
}

// Cone returns a closed cone along Y: base of the given radius at -height/2, apex at
// +height/2.
func Cone(radius, height float32, segments int) Primitive {
	segments = atLeast(segments, 3)
	p := Primitive{Material: -1}
	h := height / 2
	slope := math.Atan2(float64(radius), float64(height))
	ss, cs := math.Sincos(slope)
	surface(&p, segments, 1, func(s, t float64) (mgl32.Vec3, mgl32.Vec3) {
		sp, cp := math.Sincos(2 * math.Pi * s)
		n := mgl32.Vec3{float32(cs * sp), float32(ss), float32(cs * cp)}
		r := radius * float32(t)
		return mgl32.Vec3{r * float32(sp), h - height*float32(t), r * float32(cp)}, n
	})
	disc(&p, radius, -h, segments, true)
	return p
}

// Torus returns a torus around the Y axis (lying in the XZ plane): major is the distance
// from the centre to the tube's centre, minor the tube's radius.
func Torus(major, minor float32, majorSegments, minorSegments int) Primitive {
	majorSegments, minorSegments = atLeast(majorSegments, 3), atLeast(minorSegments, 3)
	p := Primitive{Material: -1}
	surface(&p, majorSegments, minorSegments, func(s, t float64) (mgl32.Vec3, mgl32.Vec3) {
		sp, cp := math.Sincos(2 * math.Pi * s)
		st, ct := math.Sincos(2 * math.Pi * t)
		n := mgl32.Vec3{float32(ct * sp), float32(st), float32(ct * cp)}
		r := float64(major) + float64(minor)*ct
		return mgl32.Vec3{float32(r * sp), minor * float32(st), float32(r * cp)}, n
	})
	return p
}

// Plane returns a flat rectangle in the XZ plane facing +Y, sx by sz, split into
// divisions x divisions quads (at least 1). UV (0, 0) is at (-sx/2, -sz/2).
func Plane(sx, sz float32, divisions int) Primitive {
	divisions = atLeast(divisions, 1)
	p := Primitive{Material: -1}
	surface(&p, divisions, divisions, func(s, t float64) (mgl32.Vec3, mgl32.Vec3) {
		return mgl32.Vec3{sx * (float32(s) - 0.5), 0, sz * (float32(t) - 0.5)}, mgl32.Vec3{0, 1, 0}
	})
	return p
}

// Disc returns a flat disc in the XZ plane facing +Y.
func Disc(radius float32, segments int) Primitive {
	p := Primitive{Material: -1}
	disc(&p, radius, 0, atLeast(segments, 3), false)
	return p
}

// Quad returns a w x h rectangle in the XY plane facing +Z (toward a default camera), the
// texture upright on it: UV (0, 0) at the top-left corner.
func Quad(w, h float32) Primitive {
	p := Primitive{Material: -1}
	surface(&p, 1, 1, func(s, t float64) (mgl32.Vec3, mgl32.Vec3) {
		return mgl32.Vec3{w * (float32(s) - 0.5), h * (0.5 - float32(t)), 0}, mgl32.Vec3{0, 0, 1}
	})
	return p
}
