package imgcmp

import "errors"

var (
	// ErrMismatch is returned when two images compared have different sizes.
	ErrMismatch = errors.New("imgcmp: images differ in size")
	// ErrUnsupported is returned for an image too small to measure or a *image.YCbCr
	// subsampling other than 4:2:0 and 4:4:4.
	ErrUnsupported = errors.New("imgcmp: unsupported image")
)
