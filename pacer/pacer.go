// Package pacer runs the two loops of a playing stream: the render loop, which calls a
// render function at a rate (a ceiling, re-read every iteration so it can change while
// running), and the frame loop, which produces a frame whenever a render finishes, or after
// the frame interval at the latest. Transports (RTMP, WebRTC) share it, so the timing rules
// live in one place:
//
//   - A render is started at the earliest moment the rate allows; a slow render is not
//     followed by a burst of catch-up renders.
//   - The frame loop wakes as soon as a render finishes (no added frame of delay), keeps
//     frames at least half a frame interval apart, and produces a frame at least every frame
//     interval (re-encoding the last canvas when renders are slow), or every one and a half
//     intervals when a render is under way at the deadline (so that the loops, running at
//     the same rate, do not beat into extra frames).
//   - While paused, neither function is called.
package pacer

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Config describes the loops.
type Config struct {
	// RenderRate returns the current render rate in calls per second (> 0). It is read
	// before every wait.
	RenderRate func() float64
	// FrameInterval is the longest time between two frames.
	FrameInterval time.Duration
	// Render renders one picture; nil disables the render loop. An error stops both loops
	// and is passed to Failed.
	Render func() error
	// Frame produces one frame; nil disables the frame loop. An error stops both loops and
	// is passed to Failed.
	Frame func() error
	// Failed is called once, from a loop goroutine, with the first error of Render or Frame
	// (which names it "render" or "frame"). The loops have stopped, or are stopping, when it
	// runs; it must not call Stop.
	Failed func(which string, err error)
}

// Pacer runs the loops until Stop.
type Pacer struct {
	cfg    Config
	cancel context.CancelFunc
	wg     sync.WaitGroup
	wake   chan struct{}
	paused atomic.Bool
	// rendering is set while Render runs: the frame loop then waits a little for the
	// fresh canvas instead of re-encoding the old one just before it arrives.
	rendering atomic.Bool
	failed    sync.Once

	renders, frames atomic.Uint64
}

// Start starts the loops; they run until ctx ends or Stop is called.
func Start(ctx context.Context, cfg Config) *Pacer {
	ctx, cancel := context.WithCancel(ctx)
	p := &Pacer{cfg: cfg, cancel: cancel, wake: make(chan struct{}, 1)}
	if cfg.Render != nil {
		p.wg.Add(1)
		go p.renderLoop(ctx)
	}
	if cfg.Frame != nil {
		p.wg.Add(1)
		go p.frameLoop(ctx)
	}
	return p
}

// Stop ends the loops and waits for them. It must not be called from Render, Frame or
// Failed.
func (p *Pacer) Stop() {
	p.cancel()
	p.wg.Wait()
}

// SetPaused pauses or resumes both loops.
func (p *Pacer) SetPaused(paused bool) {
	p.paused.Store(paused)
	if !paused {
		p.Wake()
	}
}

// Paused reports whether the loops are paused.
func (p *Pacer) Paused() bool { return p.paused.Load() }

// Wake makes the frame loop produce a frame now (subject to the minimum spacing).
func (p *Pacer) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Counts returns how many renders and frames the loops have done.
func (p *Pacer) Counts() (renders, frames uint64) { return p.renders.Load(), p.frames.Load() }

func (p *Pacer) fail(ctx context.Context, which string, err error) {
	p.failed.Do(func() {
		p.cancel()
		if p.cfg.Failed != nil {
			p.cfg.Failed(which, err)
		}
	})
}

func (p *Pacer) renderLoop(ctx context.Context) {
	defer p.wg.Done()
	next := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if !p.paused.Load() {
			p.rendering.Store(true)
			err := p.cfg.Render()
			p.rendering.Store(false)
			if err != nil {
				p.fail(ctx, "render", err)
				return
			}
			p.renders.Add(1)
			p.Wake()
		}
		rate := p.cfg.RenderRate()
		if rate <= 0 {
			rate = 1
		}
		next = next.Add(time.Duration(float64(time.Second) / rate))
		now := time.Now()
		if next.Before(now) {
			next = now // no bursts to catch up after a slow render
		}
		timer.Reset(next.Sub(now))
	}
}

func (p *Pacer) frameLoop(ctx context.Context) {
	defer p.wg.Done()
	interval := p.cfg.FrameInterval
	if interval <= 0 {
		interval = time.Second / 30
	}
	minGap := interval / 2
	timer := time.NewTimer(interval)
	defer timer.Stop()
	var last time.Time
	graced := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-timer.C:
			if p.rendering.Load() && !graced {
				// A render is under way: give it half an interval more rather than encode
				// the old canvas now and the new one right after (which would send about
				// one extra frame per render period when both run at the same rate).
				graced = true
				timer.Reset(interval / 2)
				continue
			}
		}
		graced = false
		if gap := time.Since(last); gap < minGap {
			// Woken early by a fast render: keep frames at least minGap apart.
			select {
			case <-ctx.Done():
				return
			case <-time.After(minGap - gap):
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(interval)
		if p.paused.Load() {
			continue
		}
		last = time.Now()
		if err := p.cfg.Frame(); err != nil {
			p.fail(ctx, "frame", err)
			return
		}
		p.frames.Add(1)
	}
}
