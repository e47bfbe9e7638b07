package encode

import (
	"errors"
	"time"

	"github.com/rendercast/rendercast/avc"
)

// ErrNoRepeat is returned by Repeat when it cannot make a repeat: the encoder's
// configuration does not allow one, nothing was encoded yet, or an IDR is due. The caller
// then encodes the picture again.
var ErrNoRepeat = errors.New("encode: no repeat")

// Repeat returns an access unit that shows the last encoded picture again at pts, made
// without encoding (a P picture of skipped macroblocks). It fails with ErrNoRepeat (wrapped
// with the reason) when the configuration does not allow it, before the first frame, and
// when a keyframe is due (requested, or KeyframeInterval since the last IDR).
func (e *H264Encoder) Repeat(pts time.Duration) (*avc.Frame, error) {
	return nil, ErrNoRepeat
}

// CanRepeat reports whether Repeat can work with this encoder's configuration.
func (e *H264Encoder) CanRepeat() bool { return false }

// Resize changes the size of the pictures and the stream: the encoder is reopened and the
// next frame is an IDR carrying the new configuration record. Errors wrap
// ErrInvalidOptions (odd or non-positive size), ErrClosed, or ErrEncoderUnavailable (the
// encoder is then closed).
func (e *H264Encoder) Resize(width, height int) error {
	return errors.New("encode: resize not implemented yet")
}
