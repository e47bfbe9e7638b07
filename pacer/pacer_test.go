package pacer

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFrameFollowsRender(t *testing.T) {
	var renders, frames atomic.Int64
	var lastRender, lagSum atomic.Int64
	p := Start(context.Background(), Config{
		RenderRate:    func() float64 { return 10 },
		FrameInterval: 150 * time.Millisecond, // longer than the render interval: frames come from render wake-ups
		Render: func() error {
			renders.Add(1)
			lastRender.Store(time.Now().UnixNano())
			return nil
		},
		Frame: func() error {
			frames.Add(1)
			lagSum.Add(time.Now().UnixNano() - lastRender.Load())
			return nil
		},
	})
	time.Sleep(550 * time.Millisecond)
	p.Stop()
	r, f := renders.Load(), frames.Load()
	// 10/s for 0.55 s: about 6 renders; loose bounds for a loaded machine.
	if r < 2 || r > 8 {
		t.Fatalf("%d renders at 10/s in 0.55 s", r)
	}
	// Every render wakes the frame loop; no frame comes from the timer.
	if f < r-1 || f > r {
		t.Fatalf("%d frames for %d renders: frames must follow renders", f, r)
	}
	if mean := time.Duration(lagSum.Load() / max(f, 1)); mean > 50*time.Millisecond {
		t.Fatalf("mean render-to-frame delay %v: the frame loop is not woken by renders", mean)
	}
	if gr, gf := p.Counts(); int64(gr) != r || int64(gf) != f {
		t.Fatalf("Counts %d/%d, want %d/%d", gr, gf, r, f)
	}
}

func TestFramesWithoutRenders(t *testing.T) {
	var frames atomic.Int64
	p := Start(context.Background(), Config{
		RenderRate:    func() float64 { return 30 },
		FrameInterval: 20 * time.Millisecond,
		Frame:         func() error { frames.Add(1); return nil },
	})
	time.Sleep(300 * time.Millisecond)
	p.Stop()
	if n := frames.Load(); n < 5 || n > 16 {
		t.Fatalf("%d frames in 300 ms at a 20 ms interval", n)
	}
}

func TestPauseStopsBothLoops(t *testing.T) {
	var renders, frames atomic.Int64
	p := Start(context.Background(), Config{
		RenderRate:    func() float64 { return 100 },
		FrameInterval: 10 * time.Millisecond,
		Render:        func() error { renders.Add(1); return nil },
		Frame:         func() error { frames.Add(1); return nil },
	})
	defer p.Stop()
	time.Sleep(50 * time.Millisecond)
	p.SetPaused(true)
	if !p.Paused() {
		t.Fatal("not paused")
	}
	time.Sleep(20 * time.Millisecond) // let a call in progress finish
	r0, f0 := renders.Load(), frames.Load()
	time.Sleep(150 * time.Millisecond)
	if r, f := renders.Load(), frames.Load(); r != r0 || f != f0 {
		t.Fatalf("while paused: %d renders and %d frames", r-r0, f-f0)
	}
	p.SetPaused(false)
	time.Sleep(100 * time.Millisecond)
	if renders.Load() == r0 || frames.Load() == f0 {
		t.Fatal("loops did not resume")
	}
}

func TestErrorStopsLoopsAndIsReportedOnce(t *testing.T) {
	failed := make(chan string, 4)
	boom := errors.New("boom")
	var frames atomic.Int64
	p := Start(context.Background(), Config{
		RenderRate:    func() float64 { return 200 },
		FrameInterval: 5 * time.Millisecond,
		Render: func() error {
			return boom
		},
		Frame:  func() error { frames.Add(1); return boom },
		Failed: func(which string, err error) { failed <- which },
	})
	select {
	case <-failed:
	case <-time.After(5 * time.Second):
		t.Fatal("Failed not called")
	}
	p.Stop()
	select {
	case w := <-failed:
		t.Fatalf("Failed called twice (second: %s)", w)
	default:
	}
	f := frames.Load()
	time.Sleep(30 * time.Millisecond)
	if frames.Load() != f {
		t.Fatal("the frame loop went on after a failure")
	}
}

func TestRenderRateChangesWhileRunning(t *testing.T) {
	var rate atomic.Int64
	rate.Store(100)
	var renders atomic.Int64
	p := Start(context.Background(), Config{
		RenderRate:    func() float64 { return float64(rate.Load()) },
		FrameInterval: time.Second,
		Render:        func() error { renders.Add(1); return nil },
		Frame:         func() error { return nil },
	})
	defer p.Stop()
	time.Sleep(200 * time.Millisecond)
	rate.Store(2)
	time.Sleep(50 * time.Millisecond)
	r0 := renders.Load()
	time.Sleep(400 * time.Millisecond)
	if d := renders.Load() - r0; d > 2 {
		t.Fatalf("%d renders in 0.4 s at 2/s", d)
	}
}

// Renders and frames at the same nominal rate must not beat into extra frames: a render that
// finishes a little after the frame deadline is waited for, not followed by a second frame.
func TestNoExtraFramesWhenRatesMatch(t *testing.T) {
	var renders, frames atomic.Int64
	p := Start(context.Background(), Config{
		RenderRate:    func() float64 { return 25 },
		FrameInterval: 40 * time.Millisecond,
		Render: func() error {
			time.Sleep(15 * time.Millisecond) // a render that takes a while
			renders.Add(1)
			return nil
		},
		Frame: func() error { frames.Add(1); return nil },
	})
	time.Sleep(1200 * time.Millisecond)
	p.Stop()
	r, f := renders.Load(), frames.Load()
	if f > r+r/10+1 {
		t.Fatalf("%d frames for %d renders at the same rate: the loops beat into extra frames", f, r)
	}
	if f < r*8/10 {
		t.Fatalf("%d frames for %d renders: frames are missing", f, r)
	}
}
