package encode

import "errors"

// Errors returned by this package. They are wrapped with %w and context (which encoder, which
// value was expected and which was given), so test them with errors.Is.
var (
	// ErrInvalidOptions reports an Options value that cannot work (size, rate, names).
	ErrInvalidOptions = errors.New("encode: invalid options")
	// ErrUnknownEncoder reports an Options.Encoder name this package does not know.
	ErrUnknownEncoder = errors.New("encode: unknown encoder")
	// ErrEncoderUnavailable reports an encoder that is known but cannot run on this machine
	// (not built into FFmpeg, or it failed to open: no NVIDIA driver, no NVENC on the GPU).
	ErrEncoderUnavailable = errors.New("encode: encoder unavailable")
	// ErrImageSize reports an input image whose size differs from the encoder's.
	ErrImageSize = errors.New("encode: wrong image size")
	// ErrImageFormat reports an input image of a type or layout the encoder does not take.
	ErrImageFormat = errors.New("encode: wrong image format")
	// ErrInvalidPTS reports a negative presentation time.
	ErrInvalidPTS = errors.New("encode: invalid pts")
	// ErrInvalidBitrate reports a SetBitrate value out of range.
	ErrInvalidBitrate = errors.New("encode: invalid bitrate")
	// ErrEncode reports a failure inside FFmpeg while encoding a frame.
	ErrEncode = errors.New("encode: encoding failed")
	// ErrClosed reports a call on an encoder after Close.
	ErrClosed = errors.New("encode: encoder closed")
)
