package render

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Placement says which OpenGL context (and which device) serves a view.
type Placement struct {
	// Context is the context's number in its Pool (0 for a lone Renderer).
	Context int
	// GPU is the GPU's number as nvidia-smi counts them, -1 on a software device.
	GPU int
	// Device is the EGL device: a DRM node, "software", or the platform's name.
	Device string
}

// String describes the placement, e.g. "context 1 on GPU 0 (/dev/dri/card1)".
func (p Placement) String() string {
	if p.GPU < 0 {
		return fmt.Sprintf("context %d on %s", p.Context, p.Device)
	}
	return fmt.Sprintf("context %d on GPU %d (%s)", p.Context, p.GPU, p.Device)
}

// Placement returns where the renderer's context is.
func (r *Renderer) Placement() Placement { return r.place }

// Placement returns which context and device draw the view.
func (v *View) Placement() Placement { return v.r.place }

// PoolConfig configures a Pool. The zero value opens the automatic number of contexts on
// every GPU, or on the software device when there is no GPU, with Config's defaults.
type PoolConfig struct {
	// Config is every context's configuration.
	Config
	// Contexts is the number of OpenGL contexts per device, each on its own OS thread;
	// 0 chooses (AutoContexts).
	Contexts int
	// GPUs lists the GPUs to render on, numbered as nvidia-smi numbers them (Devices);
	// empty uses every NVIDIA GPU (every GPU when there is none of NVIDIA's), or the
	// software device when there is no GPU. Software devices are used only when no GPU
	// opens or when Config.Platform asks for the surfaceless platform.
	GPUs []int
}

// MaxContexts bounds PoolConfig.Contexts.
const MaxContexts = 64

// AutoContexts is the number of contexts per device a Pool opens when PoolConfig.Contexts
// is 0: on a GPU one per four CPU cores (shared among the GPUs), from 1 to 8, so that the
// CPU side of drawing (command submission, read-back copies) runs on several threads; on
// a software rasteriser one, since llvmpipe already spreads a frame over every core and
// more contexts gained nothing on a 2-core machine (docs/perf-render.md).
func AutoContexts(software bool, gpus int) int {
	if software {
		return 1
	}
	return min(max(runtime.NumCPU()/4/max(gpus, 1), 1), 8)
}

// Pool is several OpenGL contexts, each a Renderer on its own locked OS thread, on one or
// more devices. NewView places each view on the working context with the least load (the
// fewest pixels in open views), so that many viewers draw in parallel. Resources (meshes,
// textures) are cached per context. A context that fails ends only its own views; new
// views go to the others. Its methods are safe for concurrent use.
type Pool struct {
	ctxs []*Renderer
	mu   sync.Mutex // serialises placement
}

// NewPool opens the contexts. An invalid GPU number or count is ErrBadConfig or ErrNoGPU.
// GPUs asked for by number must all open; without GPUs a device that is listed but does not
// open (no permission on its node, a driver that refuses) is logged and left out, and when
// no GPU opens the pool uses what New would (the software device, then the surfaceless
// platform). A context that cannot be created otherwise fails the whole pool (nothing is
// left open).
func NewPool(cfg PoolConfig) (*Pool, error) {
	if cfg.Contexts < 0 || cfg.Contexts > MaxContexts {
		return nil, fmt.Errorf("%w: %d contexts (want 0 for automatic, or 1 to %d)", ErrBadConfig, cfg.Contexts, MaxContexts)
	}
	gpus, err := poolGPUs(cfg)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Pool{}
	open := func(gpu int) error {
		r, err := openRenderer(cfg.Config, gpu, len(p.ctxs))
		if err != nil {
			return err
		}
		p.ctxs = append(p.ctxs, r)
		return nil
	}
	// One context per device first: it proves the device and says whether it is a
	// software one, which sets the automatic count.
	var devices []int
	for _, gpu := range gpus {
		if err := open(gpu); err != nil {
			if len(cfg.GPUs) > 0 {
				p.Close()
				return nil, fmt.Errorf("GPU %d: %w", gpu, err)
			}
			log.Warn("render: GPU left out: it does not open", "gpu", gpu, "err", err)
			continue
		}
		devices = append(devices, gpu)
	}
	if len(devices) == 0 {
		if err := open(-1); err != nil {
			return nil, err
		}
		devices = []int{-1}
	}
	per := cfg.Contexts
	if per == 0 {
		per = AutoContexts(p.ctxs[0].info.Software, len(devices))
	}
	for _, gpu := range devices {
		for k := 1; k < per; k++ {
			if err := open(gpu); err != nil {
				p.Close()
				return nil, fmt.Errorf("context %d on GPU %d: %w", len(p.ctxs), gpu, err)
			}
		}
	}
	return p, nil
}

// poolGPUs resolves PoolConfig.GPUs against the devices present: the GPUs to open (empty:
// any device, the platform's automatic choice).
func poolGPUs(cfg PoolConfig) ([]int, error) {
	if cfg.Platform == PlatformSurfaceless {
		if len(cfg.GPUs) > 0 {
			return nil, fmt.Errorf("%w: GPUs %v with the surfaceless platform (it has no devices to choose)", ErrBadConfig, cfg.GPUs)
		}
		return nil, nil
	}
	devs, err := Devices()
	if err != nil {
		if len(cfg.GPUs) > 0 {
			return nil, fmt.Errorf("%w: GPUs %v asked for, but the devices cannot be listed: %v", ErrNoGPU, cfg.GPUs, err)
		}
		return nil, nil // let New try the surfaceless platform and report every attempt
	}
	var present, nvidia []int
	for _, d := range devs {
		if !d.Software {
			present = append(present, d.GPU)
		}
		if d.NVIDIA {
			nvidia = append(nvidia, d.GPU)
		}
	}
	if len(cfg.GPUs) == 0 {
		if len(nvidia) > 0 {
			return nvidia, nil // not an integrated GPU beside them
		}
		return present, nil
	}
	seen := map[int]bool{}
	for _, g := range cfg.GPUs { // numbers first: a typo is not a missing GPU
		if g < 0 {
			return nil, fmt.Errorf("%w: GPU %d (GPUs are numbered from 0)", ErrBadConfig, g)
		}
		if seen[g] {
			return nil, fmt.Errorf("%w: GPU %d listed twice", ErrBadConfig, g)
		}
		seen[g] = true
	}
	for _, g := range cfg.GPUs {
		if !slices.Contains(present, g) {
			return nil, fmt.Errorf("%w: GPU %d; present: %s", ErrNoGPU, g, describeGPUs(devs))
		}
	}
	return cfg.GPUs, nil
}

func describeGPUs(devs []Device) string {
	var s []string
	for _, d := range devs {
		if d.Software {
			s = append(s, "software device ("+d.Name+")")
		} else {
			s = append(s, fmt.Sprintf("GPU %d (%s)", d.GPU, d.Name))
		}
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// NewView creates a view on the working context with the least load, trying the others
// when it fails there (a full GPU, a smaller size limit). It fails with ErrContextLost when
// no context works.
func (p *Pool) NewView(width, height int) (*View, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var lastErr error
	for _, r := range p.byLoad() {
		v, err := r.NewView(width, height)
		if err == nil {
			return v, nil
		}
		lastErr = err
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("%w: no context works", ErrContextLost)
	}
	return nil, lastErr
}

// byLoad returns the working contexts, least loaded first (loads read once).
func (p *Pool) byLoad() []*Renderer {
	type loaded struct {
		r      *Renderer
		pixels int64
	}
	live := make([]loaded, 0, len(p.ctxs))
	for _, r := range p.ctxs {
		if r.Lost() == nil {
			live = append(live, loaded{r, r.pixels.Load()})
		}
	}
	sort.SliceStable(live, func(a, b int) bool { return live[a].pixels < live[b].pixels })
	out := make([]*Renderer, len(live))
	for i, l := range live {
		out[i] = l.r
	}
	return out
}

// Info describes the first working context (every context has the same configuration),
// with Contexts the number of contexts in the pool.
func (p *Pool) Info() Info {
	info := p.ctxs[0].Info()
	for _, r := range p.ctxs {
		if r.Lost() == nil {
			info = r.Info()
			break
		}
	}
	info.Contexts = len(p.ctxs)
	return info
}

// ContextStatus is one context of a Pool.
type ContextStatus struct {
	Placement
	// Renderer is GL_RENDERER.
	Renderer string
	// Views is the number of open views; Pixels their area.
	Views  int
	Pixels int64
	// Lost is nil while the context works.
	Lost error
}

// Contexts describes every context: where it is, its load, whether it works.
func (p *Pool) Contexts() []ContextStatus {
	out := make([]ContextStatus, 0, len(p.ctxs))
	for _, r := range p.ctxs {
		st := ContextStatus{Placement: r.place, Renderer: r.info.Renderer, Pixels: r.pixels.Load(), Lost: r.Lost()}
		if s, err := r.Stats(); err == nil {
			st.Views = s.Views
		}
		out = append(out, st)
	}
	return out
}

// Working returns the number of contexts that still work.
func (p *Pool) Working() int {
	n := 0
	for _, r := range p.ctxs {
		if r.Lost() == nil {
			n++
		}
	}
	return n
}

// Stats adds up the working contexts' statistics.
func (p *Pool) Stats() (Stats, error) {
	var sum Stats
	for _, r := range p.ctxs {
		if r.Lost() != nil {
			continue
		}
		s, err := r.Stats()
		if err != nil {
			return sum, err
		}
		sum.LiveObjects += s.LiveObjects
		sum.Buffers += s.Buffers
		sum.Textures += s.Textures
		sum.Framebuffers += s.Framebuffers
		sum.Renderbuffers += s.Renderbuffers
		sum.VertexArrays += s.VertexArrays
		sum.Programs += s.Programs
		sum.Queries += s.Queries
		sum.Syncs += s.Syncs
		sum.Views += s.Views
		sum.CachedPrimitives += s.CachedPrimitives
		sum.CachedTextures += s.CachedTextures
		sum.Frames += s.Frames
	}
	return sum, nil
}

// ReleaseCache frees every working context's cached meshes and textures.
func (p *Pool) ReleaseCache() error {
	var errs []error
	for _, r := range p.ctxs {
		if r.Lost() == nil {
			errs = append(errs, r.ReleaseCache())
		}
	}
	return errors.Join(errs...)
}

// Close closes every context (and so every view), in parallel. Safe to call more than once.
func (p *Pool) Close() error {
	var wg sync.WaitGroup
	for _, r := range p.ctxs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Close()
		}()
	}
	wg.Wait()
	return nil
}

// LoseContext marks context n (numbered as Contexts numbers them) lost, as a GPU reset or
// a driver fault does: its views fail with ErrContextLost, new views go to the other
// contexts, and it does not come back. Fault drills and the application's readiness tests
// use it.
func (p *Pool) LoseContext(n int, why string) error {
	if n < 0 || n >= len(p.ctxs) {
		return fmt.Errorf("%w: no context %d (the pool has %d)", ErrBadConfig, n, len(p.ctxs))
	}
	p.ctxs[n].markLost(why)
	return nil
}
