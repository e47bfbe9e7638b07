package render

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrNoContext means no headless OpenGL context could be created; the error is a
	// *NoContextError listing every attempt.
	ErrNoContext = errors.New("render: no usable OpenGL context")
	// ErrClosed is returned by methods of a closed Renderer or View.
	ErrClosed = errors.New("render: closed")
	// ErrBadConfig is returned by New for a Config value it cannot use.
	ErrBadConfig = errors.New("render: bad config")
	// ErrBadSize is returned for a view size out of range.
	ErrBadSize = errors.New("render: bad view size")
	// ErrShader is returned when a shader fails to load, compile or link; the error is a
	// *ShaderError naming the file and carrying the driver's log.
	ErrShader = errors.New("render: shader failed")
	// ErrBadMesh is returned for geometry the GPU cannot take (an index out of range,
	// attribute arrays of different lengths).
	ErrBadMesh = errors.New("render: bad mesh")
	// ErrGL is returned when OpenGL reports an error or an incomplete framebuffer.
	ErrGL = errors.New("render: OpenGL error")
	// ErrBadQuality is returned by RenderWith for a Quality it cannot use (a Scale outside
	// [0, 1]).
	ErrBadQuality = errors.New("render: bad quality")
	// ErrNoScene is returned by Draw and Render for a nil scene.
	ErrNoScene = errors.New("render: nil scene")
	// ErrNoFrame is returned by ReadYCbCr and ReadRGBA before anything was drawn.
	ErrNoFrame = errors.New("render: nothing drawn yet")
	// ErrContextLost is returned by every call on a context that stopped working (the GPU
	// hung or was reset, the driver lost the context). Only the views of that context are
	// affected; a Pool places new views on the contexts that still work.
	ErrContextLost = errors.New("render: OpenGL context lost")
	// ErrNoGPU is returned by NewPool when GPUs are asked for by number and none (or not
	// that one) is present.
	ErrNoGPU = errors.New("render: GPU not found")
)

// NoContextError lists what New tried before giving up and what to install.
type NoContextError struct {
	// Tried has one entry per attempt: the platform or device and why it failed.
	Tried []string
	// Hint says which packages or drivers provide a working context.
	Hint string
}

// Error lists the attempts and the hint.
func (e *NoContextError) Error() string {
	tried := "nothing (no platform allowed)"
	if len(e.Tried) > 0 {
		tried = strings.Join(e.Tried, "; ")
	}
	return fmt.Sprintf("%v; tried: %s; %s", ErrNoContext, tried, e.Hint)
}

// Unwrap returns ErrNoContext.
func (e *NoContextError) Unwrap() error { return ErrNoContext }

// ShaderError is a shader that failed to load, compile or link.
type ShaderError struct {
	// File is the shader file (e.g. "shaders/pbr.frag"); for a link error, the files linked.
	File string
	// Stage is "load", "compile" or "link".
	Stage string
	// Log is the driver's info log (or the load error).
	Log string
}

// Error names the file and stage and quotes the driver's log.
func (e *ShaderError) Error() string {
	return fmt.Sprintf("%v: %s %s: %s", ErrShader, e.Stage, e.File, strings.TrimSpace(e.Log))
}

// Unwrap returns ErrShader.
func (e *ShaderError) Unwrap() error { return ErrShader }
