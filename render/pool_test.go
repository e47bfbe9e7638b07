package render

import (
	"errors"
	"fmt"
	"image/color"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-gl/mathgl/mgl32"
	"go.uber.org/goleak"
)

func newPool(t *testing.T, cfg PoolConfig) *Pool {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger(t)
	}
	p, err := NewPool(cfg)
	if err != nil {
		t.Fatalf("NewPool(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestPoolSpreadsViews: views go to the least loaded context, each context draws its own
// views correctly while all render at once, and closing views frees their place.
func TestPoolSpreadsViews(t *testing.T) { forModes(t, allModes, testPoolSpreadsViews) }

func testPoolSpreadsViews(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	m, _ := testMode(t.Name())
	p, err := NewPool(PoolConfig{Contexts: 3, Config: Config{Readback: m.readback, Convert: m.convert, Logger: quietLogger(t)}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got := p.Info().Contexts; got != 3 {
		t.Fatalf("Info().Contexts = %d, want 3", got)
	}
	views := make([]*View, 6)
	for i := range views {
		if views[i], err = p.NewView(160, 90); err != nil {
			t.Fatal(err)
		}
	}
	perContext := map[int]int{}
	for _, v := range views {
		perContext[v.Placement().Context]++
	}
	for c := 0; c < 3; c++ {
		if perContext[c] != 2 {
			t.Fatalf("views per context %v, want 2 on each of 3", perContext)
		}
	}
	for _, cs := range p.Contexts() {
		if cs.Views != 2 || cs.Pixels != 2*160*90 || cs.Lost != nil {
			t.Errorf("context %s: %d views, %d pixels, lost %v; want 2, %d, nil", cs.Placement, cs.Views, cs.Pixels, cs.Lost, 2*160*90)
		}
	}
	// Every view renders its own background from its own goroutine, 20 frames each.
	var wg sync.WaitGroup
	errs := make(chan error, len(views))
	for i, v := range views {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := testScene()
			for k := 0; k < 20; k++ {
				bg := mgl32.Vec3{float32(i) / 6, float32(k) / 20, 0.5}
				s.Background = bg
				img, err := v.Render(s, nil)
				if err != nil {
					errs <- err
					return
				}
				got := YCbCrToRGBA(img).RGBAAt(0, 0)
				want := color.RGBA{srgbByte(bg[0]), srgbByte(bg[1]), srgbByte(bg[2]), 255}
				if d := max(absDiff(got.R, want.R), absDiff(got.G, want.G), absDiff(got.B, want.B)); d > 4 {
					errs <- fmt.Errorf("view %d (%s) frame %d: corner %v, want %v", i, v.Placement(), k, got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st, err := p.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Views != 6 || st.Frames != 6*20 {
		t.Errorf("pool stats: %d views, %d frames; want 6, 120", st.Views, st.Frames)
	}
	// Free two places on context 0: the next two views go there.
	closed := 0
	for _, v := range views {
		if v.Placement().Context == 0 {
			v.Close()
			closed++
		}
	}
	for i := 0; i < closed; i++ {
		v, err := p.NewView(160, 90)
		if err != nil {
			t.Fatal(err)
		}
		if v.Placement().Context != 0 {
			t.Errorf("new view %d placed on %s, want context 0 (the only one with room)", i, v.Placement())
		}
	}
}

// TestPoolLostContext: a context that stops working fails only its own views, with
// ErrContextLost; the others keep rendering and new views go to the working contexts.
func TestPoolLostContext(t *testing.T) {
	p := newPool(t, PoolConfig{Contexts: 2})
	a, err := p.NewView(64, 48)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.NewView(64, 48)
	if err != nil {
		t.Fatal(err)
	}
	if a.Placement().Context == b.Placement().Context {
		t.Fatalf("both views on %s", a.Placement())
	}
	s := testScene()
	for _, v := range []*View{a, b} {
		if _, err := v.Render(s, nil); err != nil {
			t.Fatal(err)
		}
	}
	a.r.markLost("simulated GPU reset")
	if _, err := a.Render(s, nil); !errors.Is(err, ErrContextLost) || !strings.Contains(err.Error(), "simulated GPU reset") {
		t.Errorf("render on the lost context: %v, want ErrContextLost naming the cause", err)
	}
	if _, err := b.Render(s, nil); err != nil {
		t.Errorf("render on the working context: %v", err)
	}
	if n := p.Working(); n != 1 {
		t.Errorf("Working() = %d, want 1", n)
	}
	for i := 0; i < 3; i++ {
		v, err := p.NewView(64, 48)
		if err != nil {
			t.Fatal(err)
		}
		if v.Placement().Context != b.Placement().Context {
			t.Errorf("new view on %s, the lost context", v.Placement())
		}
	}
	var lost int
	for _, cs := range p.Contexts() {
		if cs.Lost != nil {
			lost++
		}
	}
	if lost != 1 {
		t.Errorf("%d contexts report lost, want 1", lost)
	}
	b.r.markLost("second reset")
	if _, err := p.NewView(64, 48); !errors.Is(err, ErrContextLost) {
		t.Errorf("NewView with every context lost: %v, want ErrContextLost", err)
	}
}

// TestPoolBadConfig: bad counts and GPU numbers are refused with errors that say why and
// what is present.
func TestPoolBadConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  PoolConfig
		want error
		text string
	}{
		{PoolConfig{Contexts: -1}, ErrBadConfig, "-1 contexts"},
		{PoolConfig{Contexts: MaxContexts + 1}, ErrBadConfig, "65 contexts"},
		{PoolConfig{GPUs: []int{-2}}, ErrBadConfig, "GPU -2"},
		{PoolConfig{GPUs: []int{0, 0}}, ErrBadConfig, "listed twice"},
		{PoolConfig{GPUs: []int{7}}, ErrNoGPU, "GPU 7"},
		{PoolConfig{GPUs: []int{0}, Config: Config{Platform: PlatformSurfaceless}}, ErrBadConfig, "surfaceless"},
	} {
		p, err := NewPool(tc.cfg)
		if err == nil {
			p.Close()
			t.Errorf("NewPool(%+v) succeeded", tc.cfg)
			continue
		}
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("NewPool(%+v): %v; want %v mentioning %q", tc.cfg, err, tc.want, tc.text)
		}
	}
	// Asking for GPU 0 where there is none names what is present.
	devs, err := Devices()
	if err != nil {
		t.Fatal(err)
	}
	if countGPUs(devs) == 0 {
		_, err := NewPool(PoolConfig{GPUs: []int{0}})
		if !errors.Is(err, ErrNoGPU) || !strings.Contains(err.Error(), "software device") {
			t.Errorf("GPU 0 on a machine without GPUs: %v; want ErrNoGPU listing the software device", err)
		}
	}
}

// TestDevices: the device list has GPUs first, numbered from 0, then software devices; on a
// machine without a GPU it is Mesa's software device, which a pool then uses.
func TestDevices(t *testing.T) {
	devs, err := Devices()
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) == 0 {
		t.Fatal("no EGL device")
	}
	next, soft := 0, false
	for _, d := range devs {
		switch {
		case d.Software:
			soft = true
			if d.GPU != -1 || d.Name != "software" {
				t.Errorf("software device %+v", d)
			}
		case soft:
			t.Errorf("GPU %+v listed after a software device", d)
		case d.GPU != next:
			t.Errorf("GPU numbered %d, want %d", d.GPU, next)
		default:
			next++
		}
	}
	p := newPool(t, PoolConfig{Contexts: 1})
	info := p.Info()
	if next == 0 && (info.GPU != -1 || !info.Software) {
		t.Errorf("no GPU present, yet the pool renders on GPU %d (%s)", info.GPU, info.Renderer)
	}
	if next > 0 && info.GPU != 0 {
		t.Errorf("GPUs present, the pool renders on GPU %d (%s)", info.GPU, info.Renderer)
	}
	t.Logf("devices %+v; pool on %s", devs, p.Contexts()[0].Placement)
}

// TestAutoContexts: one context on software rasterisers, several on GPUs within bounds.
func TestAutoContexts(t *testing.T) {
	if n := AutoContexts(true, 0); n != 1 {
		t.Errorf("software: %d contexts, want 1", n)
	}
	for gpus := 1; gpus <= 8; gpus++ {
		if n := AutoContexts(false, gpus); n < 1 || n > 8 {
			t.Errorf("%d GPUs: %d contexts per GPU, want 1..8", gpus, n)
		}
	}
}

// TestCloseWhileRendering closes views and then the renderer while other goroutines render
// into them: every call ends with a frame or ErrClosed, never a crash (with ReadbackPBO a
// caller may be copying out of a mapped buffer when the close comes).
func TestCloseWhileRendering(t *testing.T) { forModes(t, allModes, testCloseWhileRendering) }

func testCloseWhileRendering(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	m, _ := testMode(t.Name())
	r, err := New(Config{Readback: m.readback, Convert: m.convert, Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	views := make([]*View, 4)
	for i := range views {
		if views[i], err = r.NewView(640, 360); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(views))
	started := make(chan struct{}, len(views))
	for _, v := range views {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := testScene()
			for i := 0; ; i++ {
				if _, err := v.Render(s, nil); err != nil {
					if !errors.Is(err, ErrClosed) {
						errs <- err
					}
					return
				}
				if i == 1 {
					started <- struct{}{}
				}
			}
		}()
	}
	for range views {
		<-started
	}
	views[0].Close()
	views[1].Close()
	r.Close()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("render during close: %v", err)
	}
}

// TestPoolNewViewTriesOtherContexts: a context that cannot take a view (here a smaller size
// limit, as on a GPU with less memory) does not stop the pool from placing it on another.
func TestPoolNewViewTriesOtherContexts(t *testing.T) {
	p := newPool(t, PoolConfig{Contexts: 2})
	p.ctxs[0].info.MaxSize = 256 // context 0 takes nothing larger than 256x256
	for i := 0; i < 3; i++ {
		v, err := p.NewView(640, 360)
		if err != nil {
			t.Fatalf("NewView(640x360) with context 1 able to take it: %v", err)
		}
		if v.Placement().Context != 1 {
			t.Errorf("view placed on %s", v.Placement())
		}
	}
	if _, err := p.NewView(64, 48); err != nil {
		t.Fatal(err)
	}
	if _, err := p.NewView(20000, 20000); !errors.Is(err, ErrBadSize) {
		t.Errorf("a size no context takes: %v, want ErrBadSize", err)
	}
}

// TestLostWhileReading marks a context lost while its views' read-backs are in flight:
// every render ends (a frame, or ErrContextLost), none waits for a fence that will never
// signal, and Close returns without touching the lost context's GL objects.
func TestLostWhileReading(t *testing.T) {
	for _, m := range []mode{{ReadbackPBO, ConvertGPU}, {ReadbackPBO, ConvertCPU}} {
		t.Run(m.String(), func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			r, err := New(Config{Readback: m.readback, Convert: m.convert, Logger: quietLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			started := make(chan struct{}, 4)
			for i := 0; i < 4; i++ {
				v, err := r.NewView(1280, 720)
				if err != nil {
					t.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					s := testScene()
					for k := 0; ; k++ {
						if _, err := v.Render(s, nil); err != nil {
							if !errors.Is(err, ErrContextLost) {
								errs <- err
							}
							return
						}
						if k == 1 {
							started <- struct{}{}
						}
					}
				}()
			}
			for i := 0; i < 4; i++ {
				<-started
			}
			r.markLost("simulated reset during read-backs")
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("renders still waiting 30 s after the context was lost")
			}
			close(errs)
			for err := range errs {
				t.Errorf("render: %v, want ErrContextLost", err)
			}
			r.Close()
		})
	}
}
