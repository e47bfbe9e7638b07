package render

import (
	"unsafe"

	"github.com/go-gl/gl/v3.3-core/gl"
	"github.com/go-gl/mathgl/mgl32"

	"github.com/rendercast/rendercast/scenes"
)

// deformed reports a cached primitive whose vertices were replaced by new arrays of the same
// length and kind, its indices unchanged: an animated (skinned or morphed) primitive's next
// pose, which refresh uploads into the same buffers. Every attribute must have one value per
// vertex (what checkPrimitive checks of a new primitive; the indices were checked then).
func (g *gpuPrimitive) deformed(p *scenes.Primitive) bool {
	n := len(p.Positions)
	fits := func(l int, has, had bool) bool { return has == had && (!has || l == n) }
	return n == g.nPos && len(p.Indices) == g.nIdx &&
		unsafe.Pointer(unsafe.SliceData(p.Indices)) == g.idx &&
		fits(len(p.Normals), p.Normals != nil, g.hasNormals) && fits(len(p.UVs), p.UVs != nil, g.hasUVs) &&
		fits(len(p.UVs1), p.UVs1 != nil, g.hasUVs1) && fits(len(p.Tangents), p.Tangents != nil, g.hasTangents) &&
		fits(len(p.Colors), p.Colors != nil, g.hasColors)
}

// refresh uploads p's vertices (and per-vertex extras) into g's buffers (GL goroutine).
func (g *gpuPrimitive) refresh(p *scenes.Primitive) {
	g.pos = unsafe.Pointer(unsafe.SliceData(p.Positions))
	g.centre = centre(p.Positions)
	verts := g.vertexData(p)
	gl.BindBuffer(gl.ARRAY_BUFFER, g.vbo)
	if len(verts) > 0 {
		gl.BufferData(gl.ARRAY_BUFFER, len(verts)*4, gl.Ptr(verts), gl.STREAM_DRAW)
	}
	if g.extra != 0 {
		extra := g.extraData(p)
		gl.BindBuffer(gl.ARRAY_BUFFER, g.extra)
		gl.BufferData(gl.ARRAY_BUFFER, len(extra)*4, gl.Ptr(extra), gl.STREAM_DRAW)
	}
	gl.BindBuffer(gl.ARRAY_BUFFER, 0)
}

// centre is the middle of the positions' bounding box (zero for none).
func centre(pos []mgl32.Vec3) mgl32.Vec3 {
	if len(pos) == 0 {
		return mgl32.Vec3{}
	}
	lo, hi := pos[0], pos[0]
	for _, q := range pos {
		for k := range 3 {
			lo[k], hi[k] = min(lo[k], q[k]), max(hi[k], q[k])
		}
	}
	return lo.Add(hi).Mul(0.5)
}

// vertexData interleaves p's vertices in the vertexFloats layout.
func (g *gpuPrimitive) vertexData(p *scenes.Primitive) []float32 {
	verts := make([]float32, len(p.Positions)*vertexFloats)
	for i, pos := range p.Positions {
		v := verts[i*vertexFloats : (i+1)*vertexFloats]
		copy(v[0:3], pos[:])
		if g.hasNormals {
			copy(v[3:6], p.Normals[i][:])
		}
		if g.hasUVs {
			copy(v[6:8], p.UVs[i][:])
		}
	}
	return verts
}

// extraData interleaves p's second buffer in the extraFloats layout (defaults where absent).
func (g *gpuPrimitive) extraData(p *scenes.Primitive) []float32 {
	extra := make([]float32, len(p.Positions)*extraFloats)
	for i := range p.Positions {
		v := extra[i*extraFloats : (i+1)*extraFloats]
		if g.hasUVs1 {
			copy(v[0:2], p.UVs1[i][:])
		}
		if g.hasTangents {
			copy(v[2:6], p.Tangents[i][:])
		} else {
			v[2], v[5] = 1, 1
		}
		if g.hasColors {
			copy(v[6:10], p.Colors[i][:])
		} else {
			v[6], v[7], v[8], v[9] = 1, 1, 1, 1
		}
	}
	return extra
}
