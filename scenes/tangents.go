package scenes

import (
	"math"

	"github.com/go-gl/mathgl/mgl32"
)

// GenerateTangents returns per-vertex tangents for p's triangles from the texture
// coordinates uvs (one per position), in the MikkTSpace convention glTF uses: xyz is the
// unit direction of increasing u in the surface's plane, orthogonal to the vertex normal,
// and w is +1 or -1 so that bitangent = w * cross(normal, tangent) points along decreasing
// v, up the image (glTF's v runs down the image; normal maps' green channel points up), so
// unmirrored coordinates give w = +1 and mirrored ones -1. Each triangle corner contributes its tangent and bitangent weighted by the corner's
// angle; the sums are orthogonalised against the vertex normal (Gram-Schmidt) and the
// handedness is the sign of the bitangent sum against cross(normal, tangent). Vertices
// with no usable coordinates (degenerate or missing UVs) get a unit vector orthogonal to
// the normal with w = 1. Where p has no normals, the area-weighted face normals are used.
// It returns nil if uvs does not have one entry per position.
func GenerateTangents(p *Primitive, uvs []mgl32.Vec2) []mgl32.Vec4 {
	n := len(p.Positions)
	if len(uvs) != n || n == 0 {
		return nil
	}
	normals := p.Normals
	if len(normals) != n {
		normals = faceNormals(p)
	}
	tan := make([]mgl32.Vec3, n)
	bit := make([]mgl32.Vec3, n)
	for t := 0; t+2 < len(p.Indices); t += 3 {
		idx := [3]uint32{p.Indices[t], p.Indices[t+1], p.Indices[t+2]}
		if int(idx[0]) >= n || int(idx[1]) >= n || int(idx[2]) >= n {
			continue
		}
		p0, p1, p2 := p.Positions[idx[0]], p.Positions[idx[1]], p.Positions[idx[2]]
		w0, w1, w2 := uvs[idx[0]], uvs[idx[1]], uvs[idx[2]]
		e1, e2 := p1.Sub(p0), p2.Sub(p0)
		du1, dv1 := w1[0]-w0[0], w1[1]-w0[1]
		du2, dv2 := w2[0]-w0[0], w2[1]-w0[1]
		det := du1*dv2 - du2*dv1
		if !(math.Abs(float64(det)) > 1e-20) {
			continue
		}
		r := 1 / det
		ft := e1.Mul(dv2).Sub(e2.Mul(dv1)).Mul(r)
		fb := e1.Mul(du2).Sub(e2.Mul(du1)).Mul(r) // -dP/dv: up the image
		if !finiteVec3(ft) || !finiteVec3(fb) {
			continue
		}
		pts := [3]mgl32.Vec3{p0, p1, p2}
		for k := range 3 {
			a := pts[(k+1)%3].Sub(pts[k])
			b := pts[(k+2)%3].Sub(pts[k])
			la, lb := a.Len(), b.Len()
			if la < 1e-20 || lb < 1e-20 {
				continue
			}
			cos := mgl32.Clamp(a.Dot(b)/(la*lb), -1, 1)
			angle := float32(math.Acos(float64(cos)))
			v := idx[k]
			nv := normals[v]
			// Project onto the vertex's tangent plane before accumulating, as MikkTSpace
			// does, so corners with bent normals contribute their in-plane part only.
			pt := ft.Sub(nv.Mul(nv.Dot(ft)))
			pb := fb.Sub(nv.Mul(nv.Dot(fb)))
			if l := pt.Len(); l > 1e-20 {
				tan[v] = tan[v].Add(pt.Mul(angle / l))
			}
			if l := pb.Len(); l > 1e-20 {
				bit[v] = bit[v].Add(pb.Mul(angle / l))
			}
		}
	}
	out := make([]mgl32.Vec4, n)
	for i := range out {
		nv := normals[i]
		if l := nv.Len(); l > 1e-20 {
			nv = nv.Mul(1 / l)
		} else {
			nv = mgl32.Vec3{0, 0, 1}
		}
		t := tan[i].Sub(nv.Mul(nv.Dot(tan[i])))
		if l := t.Len(); l > 1e-12 && finite32(l) {
			t = t.Mul(1 / l)
		} else {
			t = anyOrthogonal(nv)
		}
		w := float32(1)
		if nv.Cross(t).Dot(bit[i]) < 0 {
			w = -1
		}
		out[i] = t.Vec4(w)
	}
	return out
}

// faceNormals returns per-vertex area-weighted face normals of p.
func faceNormals(p *Primitive) []mgl32.Vec3 {
	out := make([]mgl32.Vec3, len(p.Positions))
	for t := 0; t+2 < len(p.Indices); t += 3 {
		a, b, c := p.Indices[t], p.Indices[t+1], p.Indices[t+2]
		if int(a) >= len(out) || int(b) >= len(out) || int(c) >= len(out) {
			continue
		}
		g := p.Positions[b].Sub(p.Positions[a]).Cross(p.Positions[c].Sub(p.Positions[a]))
		out[a], out[b], out[c] = out[a].Add(g), out[b].Add(g), out[c].Add(g)
	}
	for i, v := range out {
		if l := v.Len(); l > 1e-20 && finite32(l) {
			out[i] = v.Mul(1 / l)
		} else {
			out[i] = mgl32.Vec3{0, 0, 1}
		}
	}
	return out
}

// anyOrthogonal returns a unit vector orthogonal to the unit vector n.
func anyOrthogonal(n mgl32.Vec3) mgl32.Vec3 {
	axis := mgl32.Vec3{1, 0, 0}
	if math.Abs(float64(n[0])) > 0.9 {
		axis = mgl32.Vec3{0, 1, 0}
	}
	return axis.Sub(n.Mul(n.Dot(axis))).Normalize()
}
