package render

import "github.com/go-gl/gl/v3.3-core/gl"

// glObjects creates and deletes OpenGL objects and counts the live ones by kind, so tests
// can prove that views and caches give back everything they took (Renderer.Stats).
// GL goroutine only.
type glObjects struct {
	buffers, textures, framebuffers, renderbuffers, vertexArrays, programs, queries, syncs int
}

func (o *glObjects) live() int {
	return o.buffers + o.textures + o.framebuffers + o.renderbuffers + o.vertexArrays + o.programs + o.queries + o.syncs
}

func (o *glObjects) stats() Stats {
	return Stats{
		LiveObjects: o.live(), Buffers: o.buffers, Textures: o.textures, Framebuffers: o.framebuffers,
		Renderbuffers: o.renderbuffers, VertexArrays: o.vertexArrays, Programs: o.programs,
		Queries: o.queries, Syncs: o.syncs,
	}
}

func (o *glObjects) genBuffer() uint32 { return genName(gl.GenBuffers, &o.buffers) }

func (o *glObjects) genTexture() uint32 { return genName(gl.GenTextures, &o.textures) }

func (o *glObjects) genFramebuffer() uint32 { return genName(gl.GenFramebuffers, &o.framebuffers) }

func (o *glObjects) genRenderbuffer() uint32 { return genName(gl.GenRenderbuffers, &o.renderbuffers) }

func (o *glObjects) genVertexArray() uint32 { return genName(gl.GenVertexArrays, &o.vertexArrays) }

func (o *glObjects) genQuery() uint32 { return genName(gl.GenQueries, &o.queries) }

// genName makes one name with gen and counts it in *count.
func genName(gen func(int32, *uint32), count *int) uint32 {
	var id uint32
	gen(1, &id)
	*count++
	return id
}

func (o *glObjects) createProgram() uint32 {
	o.programs++
	return gl.CreateProgram()
}

func (o *glObjects) fence() uintptr {
	o.syncs++
	return gl.FenceSync(gl.SYNC_GPU_COMMANDS_COMPLETE, 0)
}

// The delete functions take pointers, delete non-zero names and zero them, so freeing twice
// is harmless.

func (o *glObjects) deleteBuffers(ids ...*uint32) { deleteNames(gl.DeleteBuffers, &o.buffers, ids) }

func (o *glObjects) deleteTextures(ids ...*uint32) { deleteNames(gl.DeleteTextures, &o.textures, ids) }

func (o *glObjects) deleteFramebuffers(ids ...*uint32) {
	deleteNames(gl.DeleteFramebuffers, &o.framebuffers, ids)
}

func (o *glObjects) deleteRenderbuffers(ids ...*uint32) {
	deleteNames(gl.DeleteRenderbuffers, &o.renderbuffers, ids)
}

func (o *glObjects) deleteVertexArrays(ids ...*uint32) {
	deleteNames(gl.DeleteVertexArrays, &o.vertexArrays, ids)
}

func (o *glObjects) deleteQueries(ids ...*uint32) { deleteNames(gl.DeleteQueries, &o.queries, ids) }

// deleteNames deletes the non-zero names with del, counts them off *count and zeroes them.
func deleteNames(del func(int32, *uint32), count *int, ids []*uint32) {
	for _, id := range ids {
		if *id != 0 {
			del(1, id)
			*count--
			*id = 0
		}
	}
}

func (o *glObjects) deleteProgram(id *uint32) {
	if *id != 0 {
		gl.DeleteProgram(*id)
		o.programs--
		*id = 0
	}
}

func (o *glObjects) deleteSync(s *uintptr) {
	if *s != 0 {
		gl.DeleteSync(*s)
		o.syncs--
		*s = 0
	}
}
