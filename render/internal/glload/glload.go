// Package glload loads go-gl's OpenGL function table once per process.
//
// go-gl keeps its function pointers in package variables shared by every context in the
// process, so loading them again while another goroutine draws is a data race. Both the
// renderer and the preview window load through here. With the egl build tag the pointers
// come from eglGetProcAddress and are valid for every context of the process.
package glload

import (
	"sync"

	"github.com/go-gl/gl/v3.3-core/gl"
)

// load is process-wide on purpose: it mirrors go-gl's process-wide function table.
var load = sync.OnceValue(gl.Init)

// Load loads the OpenGL 3.3 core function pointers; later calls return the first result.
// Call it with a context current on the calling thread.
func Load() error { return load() }
