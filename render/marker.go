package render

import (
	"image"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/rendercast/rendercast/scenes"
)

// block is a solid rectangle in image coordinates (origin top-left, y down), white or black.
type block struct {
	x, y, w, h int
	white      bool
}

// drawBlocks fills blocks in the bound framebuffer of height h with scissored clears: exact
// pixels, no shader, no blending (GL goroutine).
func drawBlocks(h int, blocks []block) {
	if len(blocks) == 0 {
		return
	}
	gl.Enable(gl.SCISSOR_TEST)
	for _, b := range blocks {
		c := float32(0)
		if b.white {
			c = 1
		}
		gl.ClearColor(c, c, c, 1)
		// OpenGL's window y grows upward.
		gl.Scissor(int32(b.x), int32(h-b.y-b.h), int32(b.w), int32(b.h))
		gl.Clear(gl.COLOR_BUFFER_BIT)
	}
	gl.Disable(gl.SCISSOR_TEST)
}

// markerBlocks lays out the frame marker for a w x h image as scenes documents it
// (scenes/marker.go: 32 x 3 blocks of 16 x 8 pixels in the bottom-left corner, white for 1);
// nothing when the image is smaller than the strip.
func markerBlocks(w, h int, frame, version uint32) []block {
	bounds := image.Rect(0, 0, w, h)
	if scenes.MarkerRect(bounds).Empty() {
		return nil
	}
	bits := scenes.MarkerBits(frame, version)
	blocks := make([]block, len(bits))
	for i, on := range bits {
		r := scenes.MarkerBlockRect(bounds, i)
		blocks[i] = block{x: r.Min.X, y: r.Min.Y, w: r.Dx(), h: r.Dy(), white: on}
	}
	return blocks
}
