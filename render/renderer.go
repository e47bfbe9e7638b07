// Package render draws scenes offscreen with OpenGL and reads them back as images.
//
// A Renderer owns one headless OpenGL context (EGL: device platform, then Mesa's surfaceless
// platform) and one goroutine, locked to its OS thread, that makes every GL call. Views (one
// per viewer: own size, framebuffers and read-back buffers) share it; their methods may be
// called from any goroutine and are serialised on the GL goroutine. A Pool holds several
// Renderers, on one or more GPUs, and spreads views across them so that many viewers draw
// in parallel.
//
// Every read returns the frame just drawn. With pixel-buffer read-back (GPUs) the GL
// goroutine starts a view's transfer, fences it and serves other views while the GPU
// finishes; pixels are copied or converted on the caller's goroutine.
//
// The streamer's path is View.Render: draw the scene, convert RGB to I420 (BT.709, limited
// range) and read it back into an *image.YCbCr (4:2:0, top-down rows). On GPUs a shader
// converts and the I420 planes are read back; on software rasterisers, where that shader
// costs about four times what converting on the CPU does, the frame is read back as RGBA
// and converted in Go (Config.Convert). View.ReadRGBA reads the same frame as *image.RGBA
// for screenshots (SavePNG).
//
// View.RenderWith draws other kinds of frame: a refined still picture (PBR shading,
// full-detail meshes, multisampling, drawn in parts that an Abort callback can stop) and
// interactive frames at a lower internal resolution scaled up to the view's size.
// View.Resize changes a view's size in place.
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
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/rendercast/rendercast/render/internal/glload"
	"github.com/rendercast/rendercast/scenes"
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
	// ReadbackPBO reads into a pixel buffer object of the view and fences it: while the GPU
	// finishes the frame and copies it, the GL goroutine goes on with other views' draws and
	// read-backs, and the pixels are copied (or converted) out of the mapped buffer on the
	// caller's goroutine. Every call still returns the frame it drew: the asynchrony is
	// across views, never across frames of one view. On llvmpipe it only adds a copy.
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
	// ConvertCPU reads the frame back as RGBA (4 bytes per pixel) and converts it in Go on
	// the caller's goroutine, so that the GL goroutine is free for other views meanwhile. On
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
	// Shadows selects when the key light casts shadows (ShadowsAuto when empty: on GPUs,
	// and in refined frames on software rasterisers).
	Shadows Shadows
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
	// GPU is the GPU's number as nvidia-smi counts them; -1 on a software device or the
	// surfaceless platform.
	GPU int
	// Contexts is the number of OpenGL contexts rendering (1 for a Renderer; a Pool's count).
	Contexts int
	// Context is the profile asked for and granted, e.g. "4.5 core".
	Context string
	// Vendor, Renderer, Version and GLSL are GL_VENDOR, GL_RENDERER, GL_VERSION and
	// GL_SHADING_LANGUAGE_VERSION.
	Vendor, Renderer, Version, GLSL string
	// Software reports a software rasteriser (llvmpipe, softpipe, swrast, SwiftShader).
	Software bool
	// MSAA is the number of samples views render with (0: none).
	MSAA int
	// RefinedSamples is the number of samples per pixel of a refined frame
	// (View.RenderWith with Quality.Refined): 8 on GPUs that have them, else 4; 0 means
	// the driver has fewer than 4 and refined frames are supersampled 2x2 instead.
	RefinedSamples int
	// Readback is the read-back mode in use (ReadbackSync or ReadbackPBO).
	Readback Readback
	// Convert is the conversion in use (ConvertGPU or ConvertCPU).
	Convert Convert
	// Shading is the shading in use (ShadingPBR or ShadingFast).
	Shading Shading
	// Shadows is when frames have shadows: ShadowsOn (every frame), ShadowsOff, or
	// ShadowsAuto for refined frames alone (software rasterisers with ShadowsAuto).
	Shadows Shadows
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
	egl    *eglContext
	objs   glObjects
	litP   *sceneProgram // pbr.frag
	unlitP *sceneProgram // pbr.frag with UNLIT
	// litMapsP is pbr.frag with MATERIAL_MAPS (extra textures, set 1, clearcoat,
	// transmission, spot cones), unlitMapsP the unlit one reading set 1; litMaskP and
	// unlitMaskP add ALPHA_MASK to them.
	litMapsP, litMaskP, unlitMapsP, unlitMaskP *sceneProgram
	fastP                                      *sceneProgram // gouraud.vert + gouraud.frag; ShadingFast only
	fastTexP                                   *sceneProgram // the same with TEXTURED; ShadingFast only
	// fastMaskP and fastTexMaskP are fastP and fastTexP with ALPHA_MASK (alpha-tested
	// materials); ShadingFast only.
	fastMaskP, fastTexMaskP *sceneProgram
	// fastSpot holds the four fast programs with SPOT_LIGHTS, built on the first frame
	// of a scene with spot lights (buildFastSpot); fastSpotErr is why they could not be.
	fastSpot    map[*sceneProgram]*sceneProgram
	fastSpotErr error
	// maxTexture is the largest texture side the context takes (GL_MAX_TEXTURE_SIZE,
	// at most scenes.MaxTextureSide); larger images are drawn without.
	maxTexture int
	yuvP       *yuvProgram   // ConvertGPU only
	scaleP     *scaleProgram // the upscale of scaled frames
	emptyVAO   uint32        // bound for the fullscreen passes (I420, upscale)
	cache      gpuCache
	shadows    shadowCache
	env        envState // image-based light (env.go)
	// refinedSamples is Info.RefinedSamples and bandRows refinedBandRows; benchmarks
	// change them on the GL goroutine to compare the alternatives.
	refinedSamples, bandRows int
	views                    map[*View]struct{}
	frames                   uint64
	// reads are the read-backs in flight (ReadbackPBO): jobs whose GPU work is fenced and
	// whose callers wait until the fence signals, while other jobs run.
	reads []*pendingRead
	// await is set by a job that left a read-back in flight (GL goroutine only).
	await *pendingRead

	// place says where the context is (pool index, GPU); set before the GL goroutine
	// starts, read-only afterwards.
	place Placement
	// pixels is the sum of width*height of the open views: the load a Pool balances.
	pixels atomic.Int64
	// lost is set when the context stops working (GPU hung or reset, context lost); every
	// later call returns it.
	lost atomic.Pointer[error]
}

type job struct {
	fn   func() error
	done chan error
}

// pendingRead is a job whose result waits for a fence (ReadbackPBO): finish runs on the GL
// goroutine once the GPU has passed fence, then the job's caller gets its error.
type pendingRead struct {
	view     *View
	fence    uintptr
	finish   func() error
	deadline time.Time
	done     chan error
}

// readWaitSlice is how long the idle GL goroutine waits on the oldest read-back before it
// looks for new jobs again.
const readWaitSlice = 250 * time.Microsecond

// New creates the OpenGL context, compiles the shaders and starts the GL goroutine. When no
// context can be had, the error is a *NoContextError (errors.Is ErrNoContext) listing what
// was tried and what to install.
func New(cfg Config) (*Renderer, error) {
	return openRenderer(cfg, -1, 0)
}

// openRenderer is New on GPU gpu (any device when gpu < 0), as context number index of a Pool.
func openRenderer(cfg Config, gpu, index int) (*Renderer, error) {
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
	if !checkShadows(cfg.Shadows) {
		return nil, fmt.Errorf("%w: shadows %q (want %q, %q or empty for automatic)", ErrBadConfig, cfg.Shadows, ShadowsOn, ShadowsOff)
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
		place: Placement{Context: index, GPU: gpu},
	}
	ready := make(chan error, 1)
	go r.loop(ready)
	if err := <-ready; err != nil {
		<-r.done
		return nil, err
	}
	log.Info("render: OpenGL ready", "pool_context", index, "gpu", r.info.GPU, "platform", r.info.Platform, "device", r.info.Device,
		"context", r.info.Context, "renderer", r.info.Renderer, "version", r.info.Version,
		"msaa", r.info.MSAA, "readback", r.info.Readback, "convert", r.info.Convert,
		"shading", r.info.Shading, "shadows", r.info.Shadows)
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
		if len(r.reads) == 0 {
			select {
			case j := <-r.jobs:
				r.handle(j)
			case <-r.quit:
				r.teardown()
				return
			}
			continue
		}
		// Read-backs in flight: serve new jobs first (other views' draws overlap the
		// transfers), finish the read-backs whose fences have signalled, and wait on the
		// oldest only when there is nothing else to do.
		select {
		case j := <-r.jobs:
			r.handle(j)
			r.finishReads(0)
		case <-r.quit:
			r.teardown()
			return
		default:
			r.finishReads(readWaitSlice)
		}
		if err := r.lostErr(); err != nil && len(r.reads) > 0 {
			r.failReads(err) // the context died under a job: nothing will signal
		}
	}
}

// handle runs a job and answers its caller, or keeps it waiting for its read-back.
func (r *Renderer) handle(j job) {
	if err := r.lostErr(); err != nil {
		j.done <- err
		return
	}
	err := r.run(j.fn)
	p := r.await
	r.await = nil
	if err != nil || p == nil {
		if p != nil {
			r.objs.deleteSync(&p.fence)
		}
		j.done <- err
		return
	}
	p.done = j.done
	p.deadline = time.Now().Add(fenceTimeout)
	r.reads = append(r.reads, p)
}

// awaitFence makes the running job wait for fence: finish runs once the GPU has passed it,
// and only then does the job's caller get an answer. The fence then belongs to the
// renderer. GL goroutine, from inside a job.
func (r *Renderer) awaitFence(v *View, fence uintptr, finish func() error) {
	r.await = &pendingRead{view: v, fence: fence, finish: finish}
}

// finishReads completes the read-backs whose fences have signalled, waiting up to wait on
// the oldest when none has. A read-back that passes its deadline means the GPU is hung:
// the context is marked lost.
func (r *Renderer) finishReads(wait time.Duration) {
	done := 0
	for i, p := range r.reads {
		if p == nil {
			continue
		}
		timeout := uint64(0)
		if i == 0 && wait > 0 {
			timeout = uint64(wait)
		}
		switch gl.ClientWaitSync(p.fence, gl.SYNC_FLUSH_COMMANDS_BIT, timeout) {
		case gl.ALREADY_SIGNALED, gl.CONDITION_SATISFIED:
			r.objs.deleteSync(&p.fence)
			p.done <- r.run(p.finish)
			r.reads[i] = nil
			done++
		case gl.TIMEOUT_EXPIRED:
			if time.Now().After(p.deadline) {
				r.compactReads()
				r.markLost(fmt.Sprintf("read-back of a %dx%d frame did not finish within %v", p.view.width, p.view.height, fenceTimeout))
				r.failReads(r.lostErr())
				return
			}
		default: // WAIT_FAILED
			err := glErrors()
			r.objs.deleteSync(&p.fence)
			p.done <- fmt.Errorf("%w: waiting for a read-back failed: %v", ErrGL, err)
			r.reads[i] = nil
			done++
		}
		if done > 0 && wait > 0 {
			wait = 0 // something finished: back to the jobs
		}
	}
	r.compactReads()
}

// compactReads drops the finished read-backs (nil entries) from r.reads.
func (r *Renderer) compactReads() {
	r.reads = slices.DeleteFunc(r.reads, func(p *pendingRead) bool { return p == nil })
}

// failReads answers every read-back in flight (of view v, or all when v is nil) with err.
func (r *Renderer) failReadsOf(v *View, err error) {
	r.reads = slices.DeleteFunc(r.reads, func(p *pendingRead) bool {
		if v != nil && p.view != v {
			return false
		}
		r.objs.deleteSync(&p.fence)
		p.done <- err
		return true
	})
}

func (r *Renderer) failReads(err error) { r.failReadsOf(nil, err) }

// markLost records that the context stopped working; later calls return ErrContextLost.
func (r *Renderer) markLost(why string) {
	err := fmt.Errorf("%w: %s (%s)", ErrContextLost, why, r.place)
	if r.lost.CompareAndSwap(nil, &err) {
		r.log.Error("render: OpenGL context lost; its views fail", "why", why, "context", r.place.String())
	}
}

// lostErr returns the error a lost context answers with, or nil.
func (r *Renderer) lostErr() error {
	if p := r.lost.Load(); p != nil {
		return *p
	}
	return nil
}

// Lost returns nil while the context works, else the error (errors.Is ErrContextLost) its
// calls return.
func (r *Renderer) Lost() error { return r.lostErr() }

// run calls fn on the GL goroutine, turning a panic into an error so one bad frame does not
// take the renderer down, and reports OpenGL errors fn left behind. GL_CONTEXT_LOST marks
// the context lost.
func (r *Renderer) run(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("render: panic on the GL goroutine", "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("render: panic on the GL goroutine: %v", p)
			// A later synchronous glReadPixels must not write into a buffer left bound.
			gl.BindBuffer(gl.PIXEL_PACK_BUFFER, 0)
		}
	}()
	err = fn()
	if e := glErrors(); e != nil && err == nil {
		err = e
	}
	if err != nil && strings.Contains(err.Error(), "GL_CONTEXT_LOST") {
		r.markLost("the driver reported GL_CONTEXT_LOST")
		err = r.lostErr()
	}
	return err
}

// do runs fn on the GL goroutine and returns its error, or ErrClosed, or the lost context's
// error.
func (r *Renderer) do(fn func() error) error {
	if err := r.lostErr(); err != nil {
		return err
	}
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
	ctx, err := openEGL(r.cfg.Platform, r.place.GPU, r.log)
	if err != nil {
		return err
	}
	r.egl = ctx
	r.place.GPU, r.place.Device = ctx.gpu, ctx.device
	if r.place.Device == "" {
		r.place.Device = ctx.platform
	}
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
		GPU:      ctx.gpu,
		Contexts: 1,
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
	info.RefinedSamples = 8
	if info.Software {
		info.RefinedSamples = 4
	}
	if info.RefinedSamples = min(info.RefinedSamples, int(maxSamples)); info.RefinedSamples < 4 {
		info.RefinedSamples = 0
	}
	r.refinedSamples, r.bandRows = info.RefinedSamples, refinedBandRows
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
	info.Shadows = r.cfg.Shadows
	if info.Shadows == ShadowsAuto && !info.Software {
		info.Shadows = ShadowsOn
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
	if r.unlitMapsP, err = newSceneProgram(r, sceneVert, pbrFrag, "UNLIT", "MATERIAL_MAPS"); err != nil {
		return err
	}
	if r.litMapsP, err = newSceneProgram(r, sceneVert, pbrFrag, "MATERIAL_MAPS"); err != nil {
		return err
	}
	if r.litMaskP, err = newSceneProgram(r, sceneVert, pbrFrag, "MATERIAL_MAPS", "ALPHA_MASK"); err != nil {
		return err
	}
	if r.unlitMaskP, err = newSceneProgram(r, sceneVert, pbrFrag, "UNLIT", "MATERIAL_MAPS", "ALPHA_MASK"); err != nil {
		return err
	}
	if info.Shading == ShadingFast {
		if r.fastP, err = newSceneProgram(r, gouraudVert, gouraudFrag); err != nil {
			return err
		}
		if r.fastTexP, err = newSceneProgram(r, gouraudVert, gouraudFrag, "TEXTURED"); err != nil {
			return err
		}
		if r.fastMaskP, err = newSceneProgram(r, gouraudVert, gouraudFrag, "ALPHA_MASK"); err != nil {
			return err
		}
		if r.fastTexMaskP, err = newSceneProgram(r, gouraudVert, gouraudFrag, "TEXTURED", "ALPHA_MASK"); err != nil {
			return err
		}
	}
	r.maxTexture = min(int(maxTex), scenes.MaxTextureSide)
	if r.maxTexture <= 0 {
		r.maxTexture = scenes.MaxTextureSide
	}
	if info.Convert == ConvertGPU {
		if r.yuvP, err = newYUVProgram(r); err != nil {
			return err
		}
	}
	if r.scaleP, err = newScaleProgram(r); err != nil {
		return err
	}
	r.emptyVAO = r.objs.genVertexArray()
	gl.PixelStorei(gl.PACK_ALIGNMENT, 1)
	gl.PixelStorei(gl.UNPACK_ALIGNMENT, 1)
	return glErrors()
}

// teardown frees every GL object and the context (GL goroutine).
func (r *Renderer) teardown() {
	if r.egl == nil {
		return
	}
	r.failReads(ErrClosed)
	if r.lostErr() != nil {
		// A hung or reset GPU may never return from another GL or EGL call (glFinish,
		// eglMakeCurrent): leave its objects and context to the driver and the process's
		// end, so that Close returns.
		for v := range r.views {
			v.readMu.Lock()
			v.closed = true
			v.readMu.Unlock()
		}
		r.log.Warn("render: lost context left unreleased", "context", r.place.String())
		r.egl = nil
		return
	}
	for v := range r.views {
		// A caller may still be copying out of the view's mapped buffer (its job has
		// finished); wait for it before the buffer goes. No job runs any more, so no
		// holder of readMu waits for this goroutine.
		v.readMu.Lock()
		v.free()
		v.readMu.Unlock()
	}
	r.cache.releaseAll(&r.objs)
	r.shadows.release(&r.objs, true)
	r.env.release(&r.objs)
	for _, p := range r.scenePrograms() {
		if p != nil {
			r.objs.deleteProgram(&p.id)
		}
	}
	if r.yuvP != nil {
		r.objs.deleteProgram(&r.yuvP.id)
	}
	if r.scaleP != nil {
		r.objs.deleteProgram(&r.scaleP.id)
	}
	r.objs.deleteVertexArrays(&r.emptyVAO)
	gl.Finish()
	if n := r.objs.live(); n != 0 {
		r.log.Warn("render: GL objects still counted at close", "live", n)
	}
	r.egl.close()
	r.egl = nil
}

// scenePrograms lists the scene pass's programs; those not built are nil.
func (r *Renderer) scenePrograms() []*sceneProgram {
	ps := []*sceneProgram{r.litP, r.unlitP, r.litMapsP, r.litMaskP, r.unlitMapsP, r.unlitMaskP, r.fastP, r.fastTexP, r.fastMaskP, r.fastTexMaskP}
	for _, p := range []*sceneProgram{r.fastP, r.fastTexP, r.fastMaskP, r.fastTexMaskP} {
		if sp := r.fastSpot[p]; sp != nil {
			ps = append(ps, sp)
		}
	}
	for _, p := range []*sceneProgram{r.litP, r.litMapsP, r.litMaskP} {
		if sp := r.shadows.variants[p]; sp != nil {
			ps = append(ps, sp)
		}
	}
	for _, v := range r.env.variants {
		ps = append(ps, v.p)
	}
	return ps
}

// buildFastSpot builds the fast programs' SPOT_LIGHTS variants once (GL goroutine); it
// reports whether they are there. A failure is logged once and the scene then draws its
// spot lights without cones in the fast shading.
func (r *Renderer) buildFastSpot() bool {
	if r.fastP == nil || r.fastSpotErr != nil {
		return false
	}
	if r.fastSpot != nil {
		return true
	}
	spot := map[*sceneProgram]*sceneProgram{}
	for _, v := range []struct {
		p       *sceneProgram
		defines []string
	}{
		{r.fastP, nil}, {r.fastTexP, []string{"TEXTURED"}},
		{r.fastMaskP, []string{"ALPHA_MASK"}}, {r.fastTexMaskP, []string{"TEXTURED", "ALPHA_MASK"}},
	} {
		sp, err := newSceneProgram(r, gouraudVert, gouraudFrag, append(v.defines, "SPOT_LIGHTS")...)
		if err != nil {
			for _, built := range spot {
				r.objs.deleteProgram(&built.id)
			}
			r.fastSpotErr = err
			r.log.Warn("render: fast shading without spot cones", "err", err)
			return false
		}
		spot[v.p] = sp
	}
	r.fastSpot = spot
	return true
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

// ReleaseCache frees every cached mesh, texture and shadow map; the next frame that needs
// them uploads (or draws) them again. Entries are also freed automatically once no view has
// drawn them for 600 frames (counted over all views).
func (r *Renderer) ReleaseCache() error {
	return r.do(func() error {
		r.cache.releaseAll(&r.objs)
		r.shadows.release(&r.objs, false)
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
	case glContextLost:
		return "GL_CONTEXT_LOST"
	}
	return fmt.Sprintf("GL error 0x%x", e)
}

// glContextLost is GL_CONTEXT_LOST (OpenGL 4.5, KHR_robustness), missing from the 3.3
// bindings.
const glContextLost = 0x0507
