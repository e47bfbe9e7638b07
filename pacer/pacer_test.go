package pacer

import (
	"context"
	"errors"
	"fmt"
	"sync"
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
	// A loaded machine may delay a render past one and a half frame intervals, and then a
	// repeat is right; beating would add frames on every try. So up to three tries.
	var msg string
	for try := 0; try < 3; try++ {
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
		switch {
		case f > r+r/10+1:
			msg = fmt.Sprintf("%d frames for %d renders at the same rate: the loops beat into extra frames", f, r)
		case f < r*8/10:
			msg = fmt.Sprintf("%d frames for %d renders: frames are missing", f, r)
		default:
			return
		}
		t.Logf("try %d: %s", try+1, msg)
	}
	t.Fatal(msg)
}

// waitFor returns false if ch gives nothing within d.
func waitFor(ch <-chan time.Time, d time.Duration) (time.Time, bool) {
	select {
	case at := <-ch:
		return at, true
	case <-time.After(d):
		return time.Time{}, false
	}
}

// A kick starts a render long before the next tick: after a render that had nothing new
// to draw (it does not use up the rate), and right after a render under way.
func TestKickRendersAtOnce(t *testing.T) {
	started := make(chan time.Time, 16)
	release := make(chan struct{})
	var calls atomic.Int64
	p := Start(context.Background(), Config{
		RenderRate:    func() float64 { return 0.2 }, // a tick every 5 s
		FrameInterval: time.Second,
		Render: func() error {
			started <- time.Now()
			if calls.Add(1) == 2 {
				<-release // the second render takes a while
			}
			return ErrUnchanged
		},
		Frame: func() error { return nil },
	})
	defer p.Stop()
	if _, ok := waitFor(started, 5*time.Second); !ok {
		t.Fatal("no first render")
	}
	p.Kick()
	if _, ok := waitFor(started, 2*time.Second); !ok {
		t.Fatal("a kick after an idle render did not start a render before the next tick")
	}
	p.Kick() // while the second render runs
	close(release)
	if _, ok := waitFor(started, 2*time.Second); !ok {
		t.Fatal("a kick during a render did not start the next one right after it")
	}
	if r, _ := p.Counts(); r != 0 {
		t.Fatalf("%d renders counted; renders that drew nothing must not count", r)
	}
}

// After a render that drew, a kick waits half a render interval, not a whole one.
func TestKickAfterADrawWaitsHalfAnInterval(t *testing.T) {
	started := make(chan time.Time, 16)
	p := Start(context.Background(), Config{
		RenderRate:    func() float64 { return 0.5 }, // a tick every 2 s
		FrameInterval: time.Second,
		Render:        func() error { started <- time.Now(); return nil },
		Frame:         func() error { return nil },
	})
	defer p.Stop()
	first, ok := waitFor(started, 5*time.Second)
	if !ok {
		t.Fatal("no first render")
	}
	p.Kick()
	second, ok := waitFor(started, 5*time.Second)
	if !ok {
		t.Fatal("no second render")
	}
	gap := second.Sub(first)
	if gap < 900*time.Millisecond {
		t.Fatalf("kicked render %v after the one before: closer than half the render interval (1 s)", gap)
	}
	if gap > 1700*time.Millisecond {
		t.Fatalf("kicked render %v after the one before: it waited for the tick (2 s)", gap)
	}
}

// Kicks as fast as they come do not raise the render rate: it stays a ceiling.
func TestKicksKeepTheRateCeiling(t *testing.T) {
	const rate = 20
	var renders atomic.Int64
	var mu sync.Mutex
	var starts []time.Time
	begin := time.Now()
	p := Start(context.Background(), Config{
		RenderRate:    func() float64 { return rate },
		FrameInterval: time.Second / rate,
		Render: func() error {
			mu.Lock()
			starts = append(starts, time.Now())
			mu.Unlock()
			renders.Add(1)
			return nil
		},
		Frame: func() error { return nil },
	})
	for time.Since(begin) < time.Second {
		p.Kick()
		time.Sleep(time.Millisecond)
	}
	p.Stop()
	elapsed := time.Since(begin)
	r := renders.Load()
	if limit := int64(elapsed.Seconds()*rate) + 2; r > limit {
		t.Fatalf("%d renders in %v at %d/s with constant kicks (limit %d)", r, elapsed, rate, limit)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(starts); i++ {
		// Half an interval (25 ms) apart as scheduled; a late timer can shorten one gap.
		if gap := starts[i].Sub(starts[i-1]); gap < 10*time.Millisecond {
			t.Fatalf("renders %d and %d only %v apart", i-1, i, gap)
		}
	}
}

// No canvas repeat while renders keep coming, even when they come a little less often than
// frames are due: one frame per render, not a repeat and then the fresh canvas.
func TestNoRepeatsWhileRendersCome(t *testing.T) {
	var renders, frames atomic.Int64
	p := Start(context.Background(), Config{
		RenderRate:    func() float64 { return 20 },
		FrameInterval: 40 * time.Millisecond,
		Render:        func() error { renders.Add(1); return nil },
		Frame:         func() error { frames.Add(1); return nil },
	})
	time.Sleep(1200 * time.Millisecond)
	p.Stop()
	r, f := renders.Load(), frames.Load()
	if f > r+r/10+1 {
		t.Fatalf("%d frames for %d renders: repeats between renders 1.25 intervals apart", f, r)
	}
	if f < r*8/10 {
		t.Fatalf("%d frames for %d renders: frames are missing", f, r)
	}
}

// A fresh canvas right after a repeat is sent at once, not half an interval later.
func TestFreshCanvasNeverWaitsBehindARepeat(t *testing.T) {
	var pp atomic.Pointer[Pacer]
	var frames atomic.Int64
	got := make(chan time.Time, 16)
	p := Start(context.Background(), Config{
		// A render at the start, the next tick at 2 s; a kick may start one from 1 s.
		RenderRate:    func() float64 { return 0.5 },
		FrameInterval: time.Second, // the first repeat at 1.5 s; the minimum gap is 500 ms
		Render:        func() error { return nil },
		Frame: func() error {
			if frames.Add(1) == 2 {
				pp.Load().Kick() // a change arrives just after the first repeat
			}
			got <- time.Now()
			return nil
		},
	})
	pp.Store(p)
	defer p.Stop()
	if _, ok := waitFor(got, 5*time.Second); !ok {
		t.Fatal("no first frame")
	}
	repeat, ok := waitFor(got, 5*time.Second)
	if !ok {
		t.Fatal("no repeat")
	}
	fresh, ok := waitFor(got, 5*time.Second)
	if !ok {
		t.Fatal("no frame for the kicked render")
	}
	if d := fresh.Sub(repeat); d > 300*time.Millisecond {
		t.Fatalf("the fresh canvas came %v after the repeat: it waited for the minimum gap", d)
	}
}
