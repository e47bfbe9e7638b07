// Package render draws scenes offscreen with OpenGL and reads them back as images.
//
// A Renderer owns one headless OpenGL context (EGL: device platform, then Mesa's surfaceless
// platform) and one goroutine, locked to its OS thread, that makes every GL call. Views (one
// per viewer: own size, framebuffers and read-back buffers) share it; their methods may be
// called from any goroutine and are serialised on the GL goroutine.
//
// The streamer's path is View.Render: draw the scene, convert RGB to I420 (BT.709, limited
// range) and read it back into an *image.YCbCr (4:2:0, top-down rows). On GPUs a shader
// converts and the I420 planes are read back; on software rasterisers, where that shader
// costs about four times what converting on the CPU does, the frame is read back as RGBA
// and converted in Go (Config.Convert). View.ReadRGBA reads the same frame as *image.RGBA
// for screenshots (SavePNG).
//
// Lit materials are shaded per pixel with a PBR model on GPUs and, on software rasterisers,
// where per-pixel lighting dominates the frame, with the same model evaluated per vertex
// (Config.Shading).
//
// Build with the egl tag (go build -tags egl): go-gl then resolves OpenGL through
// eglGetProcAddress and links only libEGL, no libGL and no X11.
package render

import (
	"fmt"
	"image"
	"io"
	"io/fs"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/rendercast/rendercast/render/internal/glload"
	"github.com/rendercast/rendercast/shaders"
)

// MSAAAuto asks for 4x multisampling on GPUs and none on software rasterisers (llvmpipe,
// softpipe, swrast), where the resolve costs more than the draw.
const MSAAAuto = -1

// Readback selects how View.ReadYCbCr and View.Render get pixels back from the GPU.
type Readback string

// Read-back modes.
const (
	// ReadbackAuto uses ReadbackPBO on GPUs and ReadbackSync on software rasterisers.
	ReadbackAuto Readback = ""
	// ReadbackSync reads the frame just drawn with glReadPixels, waiting for the GPU.
	ReadbackSync Readback = "sync"
	// ReadbackPBO reads into double-buffered pixel buffer objects: each call starts the
	// transfer of the frame it drew and returns the frame of the previous call, so the CPU
	// never waits for the frame just drawn. The first call returns its own frame; the second
	// returns the first one again. On llvmpipe it only adds a copy.
	ReadbackPBO Readback = "pbo"
)

// Convert selects where View.ReadYCbCr and View.Render convert RGB to I420. Both give BT.709
// limited range with 2x2-averaged chroma, within a level of each other (rounding).
type Convert string

// Conversion modes.
const (
	// ConvertAuto uses ConvertGPU on GPUs and ConvertCPU on software rasterisers.
	ConvertAuto Convert = ""
	// ConvertGPU converts in a shader (shaders/yuv420.frag) and reads back the I420 planes
	// (1.5 bytes per pixel).
	ConvertGPU Convert = "gpu"
	// ConvertCPU reads the frame back as RGBA (4 bytes per pixel) and converts it in Go,
	// shared by up to GOMAXPROCS goroutines (at most 4) while the GL goroutine waits. On
	// llvmpipe it costs about a quarter of the shader's CPU time.
	ConvertCPU Convert = "cpu"
)

// Shading selects how lit materials are shaded in the scene pass.
type Shading string

// Shading modes.
const (
	// ShadingAuto uses ShadingPBR on GPUs and ShadingFast on software rasterisers.
	ShadingAuto Shading = ""
	// ShadingPBR shades every pixel with the full metallic-roughness model
	// (shaders/pbr.frag).
	ShadingPBR Shading = "pbr"
	// ShadingFast evaluates the same light model once per vertex (Gouraud shading,
	// shaders/gouraud.vert) and leaves the pixels only the interpolated colour, times the
	// base-colour texture when there is one: the same colours and lit shapes, softer
	// highlights. On llvmpipe its scene pass costs a fifth (720p) to a third (360p) of
	// ShadingPBR's (docs/perf-render.md). Meshes
	// without normals, whose flat normals come from per-pixel derivatives, and unlit
	// materials are shaded as with ShadingPBR.
	ShadingFast Shading = "fast"
)

// Config configures a Renderer. The zero value picks a platform automatically, disables
// multisampling, reads back, converts and picks the shading automatically and uses the
// embedded shaders.
type Config struct {
	// Platform forces an EGL platform: PlatformDevice ("device"), PlatformSurfaceless
	// ("surfaceless"), or PlatformAuto ("", device first, then surfaceless).
	Platform string
	// MSAA is the number of samples per pixel: MSAAAuto (-1) chooses 4 on GPUs and 0 on
	// software rasterisers; 0 or 1 disables multisampling; larger values are clamped to
	// what the driver supports.
	MSAA int
	// Readback selects the read-back path (ReadbackAuto when empty).
	Readback Readback
	// Convert selects where RGB is converted to I420 (ConvertAuto when empty).
	Convert Convert
	// Shading selects how lit materials are shaded (ShadingAuto when empty).
	Shading Shading
	// Shaders is where the GLSL files are read from; nil means the embedded ones
	// (shaders.FS). Tests and shader authors can substitute their own.
	Shaders fs.FS
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
}

// Info describes the OpenGL context a Renderer got.
type Info struct {
	// Platform is the EGL platform used: PlatformDevice or PlatformSurfaceless.
	Platform string
	// Device describes the EGL device ("software", a DRM node, or its extensions); empty
	// on the surfaceless platform.
	Device string
	// Context is the profile asked for and granted, e.g. "4.5 core".
	Context string
	// Vendor, Renderer, Version and GLSL are GL_VENDOR, GL_RENDERER, GL_VERSION and
	// GL_SHADING_LANGUAGE_VERSION.
	Vendor, Renderer, Version, GLSL string
	// Software reports a software rasteriser (llvmpipe, softpipe, swrast, SwiftShader).
	Software bool
	// MSAA is the number of samples views render with (0: none).
	MSAA int
	// Readback is the read-back mode in use (ReadbackSync or ReadbackPBO).
	Readback Readback
	// Convert is the conversion in use (ConvertGPU or ConvertCPU).
	Convert Convert
	// Shading is the shading in use (ShadingPBR or ShadingFast).
	Shading Shading
	// TimerQueries reports GPU timing support (FrameStats.GPUDraw, GPUConvert).
	TimerQueries bool
	// MaxSize is the largest view width or height.
	MaxSize int
}

// Stats counts what a Renderer holds on the GPU, for leak checks and metrics.
type Stats struct {
	// LiveObjects is the number of OpenGL objects alive: the sum of the counts below
	// (Views, CachedPrimitives and CachedTextures excluded).
	LiveObjects int
	// Buffers, Textures, Framebuffers, Renderbuffers, VertexArrays, Programs, Queries and
	// Syncs count live OpenGL objects by kind.
	Buffers, Textures, Framebuffers, Renderbuffers, VertexArrays, Programs, Queries, Syncs int
	// Views is the number of open views.
	Views int
	// CachedPrimitives and CachedTextures count uploaded geometry and textures, shared by
	// all views.
	CachedPrimitives, CachedTextures int
	// Frames is the number of frames drawn by all views.
	Frames uint64
}

// Renderer is a headless OpenGL context and the goroutine that runs it. Its methods are safe
// for concurrent use.
type Renderer struct {
	log     *slog.Logger
	cfg     Config
	info    Info
	jobs    chan job
	quit    chan struct{}
	done    chan struct{}
	closing sync.Once

	// Everything below belongs to the GL goroutine.
	egl      *eglContext
	objs     glObjects
	litP     *sceneProgram // pbr.frag
	unlitP   *sceneProgram // pbr.frag with UNLIT
	fastP    *sceneProgram // gouraud.vert + gouraud.frag; ShadingFast only
	fastTexP *sceneProgram // the same with TEXTURED; ShadingFast only
	yuvP     *yuvProgram   // ConvertGPU only
	emptyVAO uint32        // ConvertGPU only
	i420     *i420Workers  // ConvertCPU only
	cache    gpuCache
	views    map[*View]struct{}
	frames   uint64
}

type job struct {
	fn   func() error
	done chan error
}

// New creates the OpenGL context, compiles the shaders and starts the GL goroutine. When no
// context can be had, the error is a *NoContextError (errors.Is ErrNoContext) listing what
// was tried and what to install.
func New(cfg Config) (*Renderer, error) {
	switch cfg.Platform {
	case PlatformAuto, PlatformDevice, PlatformSurfaceless:
	default:
		return nil, fmt.Errorf("%w: platform %q (want %q, %q or empty for automatic)", ErrBadConfig, cfg.Platform, PlatformDevice, PlatformSurfaceless)
	}
	switch cfg.Readback {
	case ReadbackAuto, ReadbackSync, ReadbackPBO:
	default:
		return nil, fmt.Errorf("%w: readback %q (want %q, %q or empty for automatic)", ErrBadConfig, cfg.Readback, ReadbackSync, ReadbackPBO)
	}
	switch cfg.Convert {
	case ConvertAuto, ConvertGPU, ConvertCPU:
	default:
		return nil, fmt.Errorf("%w: convert %q (want %q, %q or empty for automatic)", ErrBadConfig, cfg.Convert, ConvertGPU, ConvertCPU)
	}
	switch cfg.Shading {
	case ShadingAuto, ShadingPBR, ShadingFast:
	default:
		return nil, fmt.Errorf("%w: shading %q (want %q, %q or empty for automatic)", ErrBadConfig, cfg.Shading, ShadingPBR, ShadingFast)
	}
	if cfg.MSAA < MSAAAuto {
		return nil, fmt.Errorf("%w: MSAA %d (want -1 for automatic, 0 for none, or a sample count)", ErrBadConfig, cfg.MSAA)
	}
	if cfg.Shaders == nil {
		cfg.Shaders = shaders.FS()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r := &Renderer{
		log:   log,
		cfg:   cfg,
		jobs:  make(chan job),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
		views: map[*View]struct{}{},
		cache: newGPUCache(),
	}
	ready := make(chan error, 1)
	go r.loop(ready)
	if err := <-ready; err != nil {
		<-r.done
		return nil, err
	}
	log.Info("render: OpenGL ready", "platform", r.info.Platform, "device", r.info.Device,
		"context", r.info.Context, "renderer", r.info.Renderer, "version", r.info.Version,
		"msaa", r.info.MSAA, "readback", r.info.Readback, "convert", r.info.Convert,
		"shading", r.info.Shading)
	return r, nil
}

// loop is the GL goroutine. It never unlocks its OS thread, so the thread, with whatever
// the driver left in its thread-local state, ends with the goroutine.
func (r *Renderer) loop(ready chan<- error) {
	runtime.LockOSThread()
	defer close(r.done)
	if err := r.setup(); err != nil {
		r.teardown()
		ready <- err
		return
	}
	ready <- nil
	for {
		select {
		case j := <-r.jobs:
			j.done <- r.run(j.fn)
		case <-r.quit:
			r.teardown()
			return
		}
	}
}

// run calls fn on the GL goroutine, turning a panic into an error so one bad frame does not
// take the renderer down, and reports OpenGL errors fn left behind.
func (r *Renderer) run(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("render: panic on the GL goroutine", "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("render: panic on the GL goroutine: %v", p)
		}
	}()
	err = fn()
	if e := glErrors(); e != nil && err == nil {
		err = e
	}
	return err
}

// do runs fn on the GL goroutine and returns its error, or ErrClosed.
func (r *Renderer) do(fn func() error) error {
	done := make(chan error, 1)
	select {
	case r.jobs <- job{fn: fn, done: done}:
	case <-r.quit:
		return ErrClosed
	}
	return <-done
}

// setup runs on the GL goroutine: context, function pointers, capabilities, programs.
func (r *Renderer) setup() error {
	ctx, err := openEGL(r.cfg.Platform, r.log)
	if err != nil {
		return err
	}
	r.egl = ctx
	if err := glload.Load(); err != nil {
		return fmt.Errorf("%w: loading OpenGL functions: %v", ErrNoContext, err)
	}
	info := Info{
		Platform: ctx.platform,
		Device:   ctx.device,
		Context:  ctx.version,
		Vendor:   glString(gl.VENDOR),
		Renderer: glString(gl.RENDERER),
		Version:  glString(gl.VERSION),
		GLSL:     glString(gl.SHADING_LANGUAGE_VERSION),
	}
	info.Software = isSoftware(info.Renderer)
	var maxSamples, maxTex, maxRB int32
	gl.GetIntegerv(gl.MAX_SAMPLES, &maxSamples)
	gl.GetIntegerv(gl.MAX_TEXTURE_SIZE, &maxTex)
	gl.GetIntegerv(gl.MAX_RENDERBUFFER_SIZE, &maxRB)
	info.MaxSize = int(min(maxTex, maxRB))
	switch msaa := r.cfg.MSAA; {
	case msaa == MSAAAuto && info.Software:
		info.MSAA = 0
	case msaa == MSAAAuto:
		info.MSAA = min(4, int(maxSamples))
	case msaa <= 1:
		info.MSAA = 0
	default:
		info.MSAA = min(msaa, int(maxSamples))
	}
	if info.MSAA <= 1 {
		info.MSAA = 0
	}
	info.Readback = r.cfg.Readback
	if info.Readback == ReadbackAuto {
		info.Readback = ReadbackPBO
		if info.Software {
			info.Readback = ReadbackSync
		}
	}
	info.Convert = r.cfg.Convert
	if info.Convert == ConvertAuto {
		info.Convert = ConvertGPU
		if info.Software {
			info.Convert = ConvertCPU
		}
	}
	info.Shading = r.cfg.Shading
	if info.Shading == ShadingAuto {
		info.Shading = ShadingPBR
		if info.Software {
			info.Shading = ShadingFast
		}
	}
	var bits int32
	gl.GetQueryiv(gl.TIME_ELAPSED, gl.QUERY_COUNTER_BITS, &bits)
	info.TimerQueries = bits > 0
	r.info = info

	if r.litP, err = newSceneProgram(r, sceneVert, pbrFrag); err != nil {
		return err
	}
	if r.unlitP, err = newSceneProgram(r, sceneVert, pbrFrag, "UNLIT"); err != nil {
		return err
	}
	if info.Shading == ShadingFast {
		if r.fastP, err = newSceneProgram(r, gouraudVert, gouraudFrag); err != nil {
			return err
		}
		if r.fastTexP, err = newSceneProgram(r, gouraudVert, gouraudFrag, "TEXTURED"); err != nil {
			return err
		}
	}
	if info.Convert == ConvertGPU {
		if r.yuvP, err = newYUVProgram(r); err != nil {
			return err
		}
		r.emptyVAO = r.objs.genVertexArray()
	} else {
		r.i420 = newI420Workers(conversionGoroutines())
	}
	gl.PixelStorei(gl.PACK_ALIGNMENT, 1)
	gl.PixelStorei(gl.UNPACK_ALIGNMENT, 1)
	return glErrors()
}

// teardown frees every GL object and the context (GL goroutine).
func (r *Renderer) teardown() {
	if r.egl == nil {
		return
	}
	for v := range r.views {
		v.free()
	}
	r.cache.releaseAll(&r.objs)
	for _, p := range r.scenePrograms() {
		if p != nil {
			r.objs.deleteProgram(&p.id)
		}
	}
	if r.yuvP != nil {
		r.objs.deleteProgram(&r.yuvP.id)
	}
	r.objs.deleteVertexArrays(&r.emptyVAO)
	if r.i420 != nil {
		r.i420.close()
		r.i420 = nil
	}
	gl.Finish()
	if n := r.objs.live(); n != 0 {
		r.log.Warn("render: GL objects still counted at close", "live", n)
	}
	r.egl.close()
	r.egl = nil
}

// maxConversionGoroutines caps the goroutines sharing a CPU conversion: each one woken
// costs CPU time, and a 1080p frame is 34 chunks of 0.1 ms.
const maxConversionGoroutines = 4

// conversionGoroutines is how many goroutines a CPU conversion is shared by, the GL
// goroutine included: one per processor Go may use, at most maxConversionGoroutines. On
// the 2-core CI machine two took 10-16% off the conversion in View.Render (0.2 ms at 720p,
// 0.7 at 1080p) for about 0.3 cpu-ms a frame (docs/perf-render.md); set
// maxConversionGoroutines to 1 to convert on the GL goroutine alone.
func conversionGoroutines() int { return min(runtime.GOMAXPROCS(0), maxConversionGoroutines) }

// scenePrograms lists the scene pass's programs; those not built are nil.
func (r *Renderer) scenePrograms() []*sceneProgram {
	return []*sceneProgram{r.litP, r.unlitP, r.fastP, r.fastTexP}
}

// Info describes the context (platform, GL strings, MSAA, read-back, conversion and
// shading choices).
func (r *Renderer) Info() Info { return r.info }

// Stats counts live GL objects, views and cache entries.
func (r *Renderer) Stats() (Stats, error) {
	var s Stats
	err := r.do(func() error {
		s = r.objs.stats()
		s.Views = len(r.views)
		s.CachedPrimitives = len(r.cache.prims)
		s.CachedTextures = len(r.cache.textures)
		s.Frames = r.frames
		return nil
	})
	return s, err
}

// ReleaseCache frees every cached mesh and texture; the next frame that needs them uploads
// them again. Entries are also freed automatically once no view has drawn them for 600
// frames (counted over all views).
func (r *Renderer) ReleaseCache() error {
	return r.do(func() error {
		r.cache.releaseAll(&r.objs)
		return nil
	})
}

// Close frees every view, cached buffer, texture, program and the context, and stops the GL
// goroutine. It is safe to call more than once; views are unusable afterwards.
func (r *Renderer) Close() error {
	r.closing.Do(func() { close(r.quit) })
	<-r.done
	return nil
}

// NewFrame allocates an I420 frame of the given size in the layout ReadYCbCr fills without
// a copy: one buffer, luma stride rounded up to a multiple of 8, rows to a multiple of 4.
func NewFrame(width, height int) *image.YCbCr {
	wp, hp := paddedSize(width, height)
	buf := make([]byte, wp*hp*3/2)
	ySize, cSize := wp*hp, wp*hp/4
	return &image.YCbCr{
		Y:              buf[:ySize:ySize],
		Cb:             buf[ySize : ySize+cSize : ySize+cSize],
		Cr:             buf[ySize+cSize:],
		YStride:        wp,
		CStride:        wp / 2,
		SubsampleRatio: image.YCbCrSubsampleRatio420,
		Rect:           image.Rect(0, 0, width, height),
	}
}

// paddedSize rounds a size up to what the I420 packing shader needs: width to a multiple of
// 8 (4 chroma bytes per texel), height to a multiple of 4 (2 chroma rows per texel row).
func paddedSize(w, h int) (int, int) { return (w + 7) &^ 7, (h + 3) &^ 3 }

func glString(name uint32) string {
	p := gl.GetString(name)
	if p == nil {
		return ""
	}
	return gl.GoStr(p)
}

func isSoftware(renderer string) bool {
	r := strings.ToLower(renderer)
	for _, s := range []string{"llvmpipe", "softpipe", "swrast", "software rasterizer", "swiftshader", "lavapipe"} {
		if strings.Contains(r, s) {
			return true
		}
	}
	return false
}

// glErrors drains OpenGL's error flags into one error (nil when there were none).
func glErrors() error {
	var codes []string
	for i := 0; i < 16; i++ {
		e := gl.GetError()
		if e == gl.NO_ERROR {
			break
		}
		codes = append(codes, glErrorName(e))
	}
	if len(codes) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrGL, strings.Join(codes, ", "))
}

func glErrorName(e uint32) string {
	switch e {
	case gl.INVALID_ENUM:
		return "GL_INVALID_ENUM"
	case gl.INVALID_VALUE:
		return "GL_INVALID_VALUE"
	case gl.INVALID_OPERATION:
		return "GL_INVALID_OPERATION"
	case gl.INVALID_FRAMEBUFFER_OPERATION:
		return "GL_INVALID_FRAMEBUFFER_OPERATION"
	case gl.OUT_OF_MEMORY:
		return "GL_OUT_OF_MEMORY"
	}
	return fmt.Sprintf("GL error 0x%x", e)
}
