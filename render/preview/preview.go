// Package preview shows what a view streams in a desktop window (GLFW on X11).
//
// It is optional and separate from package render, which stays headless (EGL only, no X11):
// only programs that import preview link GLFW, libGL and the X11 libraries. Without a
// display, Open fails with ErrNoDisplay instead of crashing.
//
// The window has its own OpenGL context on its own goroutine, locked to an OS thread. GLFW
// asks for its calls to come from the main thread; on X11 one dedicated thread works,
// which is what this package uses. GLFW is process-wide, so one window can be open at a time.
package preview

import (
	"errors"
	"fmt"
	"image"
	"image/draw"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/go-gl/gl/v3.3-core/gl"
	"github.com/go-gl/glfw/v3.3/glfw"

	"github.com/rendercast/rendercast/render/internal/glload"
	"github.com/rendercast/rendercast/shaders"
)

var (
	// ErrNoDisplay is returned by Open when there is no X11 display to open a window on.
	ErrNoDisplay = errors.New("preview: no display")
	// ErrBusy is returned by Open while another preview window is open in the process.
	ErrBusy = errors.New("preview: a preview window is already open")
	// ErrWindow is returned when GLFW cannot create the window or its OpenGL context.
	ErrWindow = errors.New("preview: cannot open the window")
	// ErrClosed is returned by Show after Close or after the user closed the window.
	ErrClosed = errors.New("preview: window closed")
)

// glfwInUse is process-wide on purpose: GLFW itself is (one library state per process).
var glfwInUse atomic.Bool

// Config configures a preview window. The zero value opens a 1280x720 window titled
// "Rendercast preview".
type Config struct {
	// Title is the window title.
	Title string
	// Width and Height are the initial window size in screen pixels.
	Width, Height int
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
}

// Window is an open preview window. Its methods are safe for concurrent use.
type Window struct {
	log    *slog.Logger
	quit   chan struct{}
	done   chan struct{}
	closed chan struct{} // closed when the window is gone (Close or the user)
	stop   sync.Once

	// snapshots asks the window goroutine for a copy of what it draws (tests).
	snapshots chan chan *image.RGBA

	mu    sync.Mutex // guards the fields below
	alive bool       // GLFW is initialised: PostEmptyEvent is allowed
	frame frameCopy
	dirty bool
}

// frameCopy is the latest frame, copied out of the caller's image.
type frameCopy struct {
	yuv  bool
	w, h int
	y    []byte // luma (or RGBA pixels), tightly packed
	cb   []byte
	cr   []byte
}

// Open opens the window and starts its goroutine.
func Open(cfg Config) (*Window, error) {
	if os.Getenv("DISPLAY") == "" {
		return nil, fmt.Errorf("%w: DISPLAY is not set (the preview needs an X11 display; the renderer itself runs headless without one)", ErrNoDisplay)
	}
	if !glfwInUse.CompareAndSwap(false, true) {
		return nil, ErrBusy
	}
	if cfg.Title == "" {
		cfg.Title = "Rendercast preview"
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		cfg.Width, cfg.Height = 1280, 720
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w := &Window{
		log: log, quit: make(chan struct{}), done: make(chan struct{}), closed: make(chan struct{}),
		snapshots: make(chan chan *image.RGBA),
	}
	ready := make(chan error, 1)
	go w.loop(cfg, ready)
	if err := <-ready; err != nil {
		<-w.done
		return nil, err
	}
	return w, nil
}

// Show queues img for display and returns at once; a frame not yet shown is replaced. The
// image is copied, so the caller may reuse it. *image.YCbCr 4:2:0 (BT.709 limited range,
// as render produces) is shown as is; other images are converted to RGBA first.
func (w *Window) Show(img image.Image) error {
	select {
	case <-w.closed:
		return ErrClosed
	default:
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.frame.set(img)
	w.dirty = true
	if w.alive {
		glfw.PostEmptyEvent()
	}
	return nil
}

// Closed is closed when the window is gone: after Close, or when the user closed it.
func (w *Window) Closed() <-chan struct{} { return w.closed }

// Close closes the window and waits for its goroutine to end. It is safe to call twice.
func (w *Window) Close() error {
	w.stop.Do(func() {
		close(w.quit)
		w.mu.Lock()
		if w.alive {
			glfw.PostEmptyEvent()
		}
		w.mu.Unlock()
	})
	<-w.done
	return nil
}

func (f *frameCopy) set(img image.Image) {
	b := img.Bounds()
	f.w, f.h = b.Dx(), b.Dy()
	if y, ok := img.(*image.YCbCr); ok && y.SubsampleRatio == image.YCbCrSubsampleRatio420 {
		f.yuv = true
		cw, ch := (f.w+1)/2, (f.h+1)/2
		f.y = packPlane(f.y, y.Y[y.YOffset(b.Min.X, b.Min.Y):], y.YStride, f.w, f.h)
		f.cb = packPlane(f.cb, y.Cb[y.COffset(b.Min.X, b.Min.Y):], y.CStride, cw, ch)
		f.cr = packPlane(f.cr, y.Cr[y.COffset(b.Min.X, b.Min.Y):], y.CStride, cw, ch)
		return
	}
	f.yuv = false
	rgba, ok := img.(*image.RGBA)
	if !ok {
		rgba = image.NewRGBA(image.Rect(0, 0, f.w, f.h))
		draw.Draw(rgba, rgba.Rect, img, b.Min, draw.Src)
		b = rgba.Rect
	}
	f.y = packPlane(f.y, rgba.Pix[rgba.PixOffset(b.Min.X, b.Min.Y):], rgba.Stride, 4*f.w, f.h)
}

// packPlane copies h rows of n bytes, stride apart, into buf (reused when large enough).
func packPlane(buf, src []byte, stride, n, h int) []byte {
	if cap(buf) < n*h {
		buf = make([]byte, n*h)
	}
	buf = buf[:n*h]
	for y := 0; y < h; y++ {
		copy(buf[y*n:(y+1)*n], src[y*stride:y*stride+n])
	}
	return buf
}

// loop is the window goroutine.
func (w *Window) loop(cfg Config, ready chan<- error) {
	runtime.LockOSThread()
	defer close(w.done)
	defer glfwInUse.Store(false)
	defer w.stop.Do(func() { close(w.quit) }) // Close after the user closed the window: no-op
	defer close(w.closed)

	win, gpu, err := w.open(cfg)
	if err != nil {
		ready <- err
		return
	}
	defer func() {
		gpu.free()
		win.Destroy()
		w.mu.Lock()
		w.alive = false
		w.mu.Unlock()
		glfw.Terminate()
	}()
	ready <- nil
	for !win.ShouldClose() {
		select {
		case <-w.quit:
			return
		default:
		}
		w.mu.Lock()
		if w.dirty {
			gpu.upload(&w.frame)
			w.dirty = false
		}
		w.mu.Unlock()
		fw, fh := win.GetFramebufferSize()
		gpu.draw(fw, fh)
		select {
		case reply := <-w.snapshots:
			reply <- readBack(fw, fh)
		default:
		}
		win.SwapBuffers()
		glfw.WaitEventsTimeout(0.25)
	}
	w.log.Info("preview: window closed by the user")
}

// open initialises GLFW and creates the window and its GL objects (window goroutine).
// GLFW reports some failures by panicking (go-gl/glfw treats them as programmer errors);
// they become ErrWindow errors here.
func (w *Window) open(cfg Config) (win *glfw.Window, gpu *screen, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrWindow, p)
		}
		if err != nil {
			if win != nil {
				win.Destroy()
			}
			w.mu.Lock()
			if w.alive {
				w.alive = false
				glfw.Terminate()
			}
			w.mu.Unlock()
		}
	}()
	if err := glfw.Init(); err != nil {
		return nil, nil, fmt.Errorf("%w: glfwInit: %v", ErrWindow, err)
	}
	w.mu.Lock()
	w.alive = true
	w.mu.Unlock()
	glfw.WindowHint(glfw.ContextVersionMajor, 3)
	glfw.WindowHint(glfw.ContextVersionMinor, 3)
	glfw.WindowHint(glfw.OpenGLProfile, glfw.OpenGLCoreProfile)
	glfw.WindowHint(glfw.OpenGLForwardCompatible, glfw.True)
	// EGL, like package render: go-gl (built with the egl tag) loads its functions through
	// eglGetProcAddress.
	glfw.WindowHint(glfw.ContextCreationAPI, glfw.EGLContextAPI)
	win, err = glfw.CreateWindow(cfg.Width, cfg.Height, cfg.Title, nil, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrWindow, err)
	}
	win.MakeContextCurrent()
	glfw.SwapInterval(1)
	if err := glload.Load(); err != nil {
		return win, nil, fmt.Errorf("%w: loading OpenGL functions: %v", ErrWindow, err)
	}
	gpu, err = newScreen()
	if err != nil {
		return win, nil, err
	}
	w.log.Info("preview: window open", "size", fmt.Sprintf("%dx%d", cfg.Width, cfg.Height),
		"renderer", gl.GoStr(gl.GetString(gl.RENDERER)))
	return win, gpu, nil
}

// screen holds the window's GL objects (window goroutine).
type screen struct {
	prog, vao  uint32
	tex        [4]uint32 // Y, Cb, Cr (R8) and RGBA (RGBA8), texture units 0 to 3
	texW, texH [4]int
	uMode      int32
	mode       int32 // 0: I420, 1: RGBA
	w, h       int   // frame size
	hasFrame   bool
}

const rgbaTexture = 3

func newScreen() (*screen, error) {
	prog, err := buildProgram("fullscreen.vert", "preview.frag")
	if err != nil {
		return nil, err
	}
	s := &screen{prog: prog}
	gl.GenVertexArrays(1, &s.vao)
	gl.GenTextures(4, &s.tex[0])
	for _, id := range s.tex {
		gl.BindTexture(gl.TEXTURE_2D, id)
		gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR)
		gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR)
		gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE)
		gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE)
	}
	gl.UseProgram(prog)
	for i, name := range []string{"uY", "uCb", "uCr", "uRGBA"} {
		gl.Uniform1i(gl.GetUniformLocation(prog, gl.Str(name+"\x00")), int32(i))
	}
	s.uMode = gl.GetUniformLocation(prog, gl.Str("uMode\x00"))
	gl.UseProgram(0)
	gl.PixelStorei(gl.UNPACK_ALIGNMENT, 1)
	return s, nil
}

func (s *screen) upload(f *frameCopy) {
	if f.w == 0 || f.h == 0 {
		return
	}
	s.w, s.h, s.hasFrame = f.w, f.h, true
	if f.yuv {
		s.mode = 0
		cw, ch := (f.w+1)/2, (f.h+1)/2
		s.texture(0, f.w, f.h, f.y)
		s.texture(1, cw, ch, f.cb)
		s.texture(2, cw, ch, f.cr)
		return
	}
	s.mode = 1
	s.texture(rgbaTexture, f.w, f.h, f.y)
}

func (s *screen) texture(i, w, h int, pix []byte) {
	gl.BindTexture(gl.TEXTURE_2D, s.tex[i])
	format, internal := uint32(gl.RED), int32(gl.R8)
	if i == rgbaTexture {
		format, internal = gl.RGBA, gl.RGBA8
	}
	if s.texW[i] != w || s.texH[i] != h {
		gl.TexImage2D(gl.TEXTURE_2D, 0, internal, int32(w), int32(h), 0, format, gl.UNSIGNED_BYTE, gl.Ptr(pix))
		s.texW[i], s.texH[i] = w, h
		return
	}
	gl.TexSubImage2D(gl.TEXTURE_2D, 0, 0, 0, int32(w), int32(h), format, gl.UNSIGNED_BYTE, gl.Ptr(pix))
}

// draw letterboxes the frame into the window's framebuffer.
func (s *screen) draw(fw, fh int) {
	gl.BindFramebuffer(gl.FRAMEBUFFER, 0)
	gl.Viewport(0, 0, int32(fw), int32(fh))
	gl.ClearColor(0, 0, 0, 1)
	gl.Clear(gl.COLOR_BUFFER_BIT)
	if !s.hasFrame || fw == 0 || fh == 0 {
		return
	}
	vw, vh := fw, fw*s.h/s.w
	if vh > fh {
		vw, vh = fh*s.w/s.h, fh
	}
	gl.Viewport(int32((fw-vw)/2), int32((fh-vh)/2), int32(vw), int32(vh))
	gl.UseProgram(s.prog)
	gl.Uniform1i(s.uMode, s.mode)
	for i, id := range s.tex {
		gl.ActiveTexture(gl.TEXTURE0 + uint32(i))
		gl.BindTexture(gl.TEXTURE_2D, id)
	}
	gl.BindVertexArray(s.vao)
	gl.DrawArrays(gl.TRIANGLES, 0, 3)
	gl.BindVertexArray(0)
	gl.UseProgram(0)
}

// readBack reads the back buffer, top-down (window goroutine).
func readBack(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	if w == 0 || h == 0 {
		return img
	}
	gl.PixelStorei(gl.PACK_ALIGNMENT, 1)
	gl.ReadPixels(0, 0, int32(w), int32(h), gl.RGBA, gl.UNSIGNED_BYTE, gl.Ptr(img.Pix))
	for top, bot := 0, h-1; top < bot; top, bot = top+1, bot-1 {
		a, b := img.Pix[top*img.Stride:(top+1)*img.Stride], img.Pix[bot*img.Stride:(bot+1)*img.Stride]
		for i := range a {
			a[i], b[i] = b[i], a[i]
		}
	}
	return img
}

func (s *screen) free() {
	gl.DeleteTextures(4, &s.tex[0])
	gl.DeleteVertexArrays(1, &s.vao)
	gl.DeleteProgram(s.prog)
}

// buildProgram compiles two embedded shaders; errors name the file and carry the log.
func buildProgram(vert, frag string) (uint32, error) {
	compile := func(name string, kind uint32) (uint32, error) {
		src, err := shaders.Source(name)
		if err != nil {
			return 0, fmt.Errorf("%w: shaders/%s: %v", ErrWindow, name, err)
		}
		sh := gl.CreateShader(kind)
		csrc, free := gl.Strs(src + "\x00")
		gl.ShaderSource(sh, 1, csrc, nil)
		free()
		gl.CompileShader(sh)
		var ok int32
		gl.GetShaderiv(sh, gl.COMPILE_STATUS, &ok)
		if ok == gl.FALSE {
			log := make([]byte, 4096)
			var n int32
			gl.GetShaderInfoLog(sh, int32(len(log)), &n, &log[0])
			gl.DeleteShader(sh)
			return 0, fmt.Errorf("%w: compile shaders/%s: %s", ErrWindow, name, log[:n])
		}
		return sh, nil
	}
	vs, err := compile(vert, gl.VERTEX_SHADER)
	if err != nil {
		return 0, err
	}
	defer gl.DeleteShader(vs)
	fs, err := compile(frag, gl.FRAGMENT_SHADER)
	if err != nil {
		return 0, err
	}
	defer gl.DeleteShader(fs)
	p := gl.CreateProgram()
	gl.AttachShader(p, vs)
	gl.AttachShader(p, fs)
	gl.LinkProgram(p)
	var ok int32
	gl.GetProgramiv(p, gl.LINK_STATUS, &ok)
	if ok == gl.FALSE {
		log := make([]byte, 4096)
		var n int32
		gl.GetProgramInfoLog(p, int32(len(log)), &n, &log[0])
		gl.DeleteProgram(p)
		return 0, fmt.Errorf("%w: link shaders/%s + shaders/%s: %s", ErrWindow, vert, frag, log[:n])
	}
	return p, nil
}
