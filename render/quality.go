package render

import (
	"errors"
	"image"

	"github.com/rendercast/rendercast/scenes"
)

// ErrAborted is returned by RenderWith when Quality.Abort reported true before the frame
// was finished; the view's previous frame is then what ReadYCbCr returns.
var ErrAborted = errors.New("render: aborted")

// Quality says how RenderWith draws one frame.
type Quality struct {
	// Refined draws the best still picture this renderer makes, whatever the renderer's
	// interactive settings: PBR shading, the scene's full-detail meshes, and at least 4
	// samples per pixel (multisampling or supersampling). Scale is ignored.
	Refined bool
	// Scale is the internal render scale of an interactive frame, in (0, 1]; 0 means 1.
	// The scene is drawn at the view's size times Scale and scaled up to the view's size
	// on the GL side before conversion.
	Scale float64
	// Abort, when set, is polled between parts of a long frame (a refined frame is drawn
	// in parts); when it returns true RenderWith stops and returns ErrAborted.
	Abort func() bool
}

// RenderWith draws s with quality q and reads the result as I420, like Render.
func (v *View) RenderWith(s *scenes.Scene, dst *image.YCbCr, q Quality) (*image.YCbCr, error) {
	// Placeholder until refined and scaled drawing land: an ordinary frame.
	return v.Render(s, dst)
}

// Resize changes the view's size (the same range as NewView); the next frame is drawn at
// the new size. Images from ReadYCbCr then have the new size.
func (v *View) Resize(width, height int) error {
	return errors.New("render: resize not implemented yet")
}
