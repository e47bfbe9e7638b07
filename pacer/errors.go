package pacer

import "errors"

// ErrUnchanged is what Config.Render returns (or wraps) when it had nothing new to draw:
// the render is not counted, does not use up the render rate and does not wake the frame
// loop, and the loops go on.
var ErrUnchanged = errors.New("pacer: nothing new to render")
