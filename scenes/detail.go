package scenes

import "strconv"

// Detail is the level of detail the built-in scenes are tessellated at. The zero value,
// DetailFull, is the built-ins' normal geometry.
//
// Detail exists for software renderers (llvmpipe), where the scene pass's cost grows with
// the triangle count once fragment shading is cheap (render.ShadingFast): DetailLow draws
// the demo with about a quarter of its triangles (docs/perf-render.md). Node names,
// materials, lights and the camera are the same at every level, so scene edits and calls
// naming nodes behave identically; only the curved meshes' segment counts change. A level
// other than DetailFull and DetailLow builds full detail. Below DetailFull the curved
// meshes also carry their full-detail geometry (Mesh.Full), which renderers draw for a
// refined still picture (Scene.FullDetailDraws).
type Detail int

// Detail levels.
const (
	// DetailFull is the built-in scenes' full geometry (what Builtin returns).
	DetailFull Detail = iota
	// DetailLow halves the segments of curved shapes in each direction (around and, for
	// spheres and tori, along), never going below minSegments around or minRings along.
	DetailLow
)

// Smallest tessellation DetailLow produces, so that curved shapes still read as round.
const (
	minSegments = 16 // around a sphere, cylinder, cone or the torus's ring
	minRings    = 8  // pole to pole on a sphere, around the torus's tube
)

// String returns "full" or "low" (or "Detail(N)" for an unknown level).
func (d Detail) String() string {
	switch d {
	case DetailFull:
		return "full"
	case DetailLow:
		return "low"
	}
	return "Detail(" + strconv.Itoa(int(d)) + ")"
}

// around returns the segment count to use at d for a shape built with n segments around
// at full detail.
func (d Detail) around(n int) int { return d.scale(n, minSegments) }

// along returns the ring count to use at d for a shape built with n rings at full detail.
func (d Detail) along(n int) int { return d.scale(n, minRings) }

func (d Detail) scale(n, lo int) int {
	if d != DetailLow || n <= lo {
		return n
	}
	return max(n/2, lo)
}
