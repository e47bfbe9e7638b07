// Package pacer runs the two loops of a playing stream: the render loop, which calls a
// render function at a rate (a ceiling, re-read every iteration so it can change while
// running), and the frame loop, which produces a frame whenever a render finishes, or after
// the frame interval at the latest. Transports (RTMP, WebRTC) share it, so the timing rules
// live in one place:
//
//   - A render is started at the earliest moment the rate allows; a slow render is not
//     followed by a burst of catch-up renders.
//   - Kick starts a render at once (something changed) when none is running and the rate
//     allows: no two renders that drew closer than half a render interval, and no more than
//     the rate over time (each render that drew moves the next tick one interval on). A
//     render that had nothing new to draw (ErrUnchanged) does not use up the rate.
//   - The frame loop wakes as soon as a render finishes (no added frame of delay) and keeps
//     frames at least half a frame interval apart, except that a fresh canvas never waits
//     behind a repeat. It repeats the last canvas (a frame without a render) only when no
//     render has finished for one and a half frame intervals (two while a render is under
//     way), so that the loops, running at the same rate, do not beat into extra frames.
//   - While paused, neither function is called.
package pacer

import (
	"context"
	"errors"
	"fmt"
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
	// Render renders one picture; nil disables the render loop. ErrUnchanged (or an error
	// wrapping it) means it had nothing new to draw; any other error stops both loops and is
	// passed to Failed.
	Render func() error
	// Frame produces one frame; nil disables the frame loop. An error stops both loops and
	// is passed to Failed.
	Frame func() error
	// Paused starts the loops paused (SetPaused(false) starts them).
	Paused bool
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
	kick   chan struct{}
	paused atomic.Bool
	// rendering is set while Render runs, and rendered holds when the last render that
	// drew finished (UnixNano; 0 before the first): the frame loop repeats the old canvas
	// only when renders have stopped coming.
	rendering atomic.Bool
	rendered  atomic.Int64
	failed    sync.Once

	renders, frames atomic.Uint64
}

// Start starts the loops; they run until ctx ends or Stop is called.
func Start(ctx context.Context, cfg Config) *Pacer {
	ctx, cancel := context.WithCancel(ctx)
	p := &Pacer{cfg: cfg, cancel: cancel, wake: make(chan struct{}, 1), kick: make(chan struct{}, 1)}
	p.paused.Store(cfg.Paused)
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

// Kick asks for a render now, because something changed. The render loop starts one at once
// when none is running and the rate allows (see the package doc), otherwise as soon as it
// does; a render under way is followed at once by the next when the rate allows. Kicks
// before that render add nothing. It never blocks.
func (p *Pacer) Kick() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Counts returns how many renders (that drew) and frames the loops have done.
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
	// next is when the next render starts unless a kick brings it forward. budget is
	// when the next render that draws is due on the rate's schedule: every render that
	// draws moves it one period on from max(budget, its start); a kick may start a render
	// up to half a period before it.
	next := time.Now()
	var budget time.Time
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		if !p.waitUntil(ctx, timer, &next, budget) {
			return
		}
		at := next // the start as scheduled (a late timer does not shift the schedule)
		drew := false
		if !p.paused.Load() {
			p.rendering.Store(true)
			err := p.cfg.Render()
			p.rendering.Store(false)
			switch {
			case errors.Is(err, ErrUnchanged):
			case err != nil:
				p.fail(ctx, "render", err)
				return
			default:
				drew = true
				p.renders.Add(1)
				p.rendered.Store(time.Now().UnixNano())
				p.Wake()
			}
		}
		period := p.period()
		if drew {
			budget = later(budget, at).Add(period)
		}
		next = later(budget, at.Add(period))
		if now := time.Now(); next.Before(now) {
			next = now // no bursts to catch up after a slow render
		}
	}
}

// waitUntil waits for *next, bringing it forward to what the rate allows when kicked. It
// reports false when ctx ends.
func (p *Pacer) waitUntil(ctx context.Context, timer *time.Timer, next *time.Time, budget time.Time) bool {
	for {
		d := time.Until(*next)
		if d <= 0 {
			return ctx.Err() == nil
		}
		stopTimer(timer)
		timer.Reset(d)
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return true
		case <-p.kick:
			if early := later(budget.Add(-p.period()/2), time.Now()); early.Before(*next) {
				*next = early
			}
		}
	}
}

// period is the current render interval.
func (p *Pacer) period() time.Duration {
	rate := p.cfg.RenderRate()
	if !(rate > 0) {
		rate = 1
	}
	return time.Duration(float64(time.Second) / rate)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// stopTimer stops t and drains a tick it already sent, so Reset starts afresh.
func stopTimer(t *time.Timer) {
	if !t.Stop() {
		select {
		case <-t.C:
		default:
		}
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
	// due is when the timer was set to fire. Repeats follow one another on a grid of
	// intervals from it, so that a late wake-up (timer slack, a busy CPU) does not lower
	// the frame rate of a still picture.
	due := time.Now().Add(interval)
	var last time.Time
	repeated := false // the last frame re-encoded the canvas without a render
	for {
		fresh := false
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
			fresh = true
		case <-timer.C:
			if wait := p.repeatDelay(interval); wait > 0 {
				// Renders are still coming: a repeat now would be followed closely by
				// the fresh canvas (one extra frame per render period when both loops
				// run at the same rate) or hold it back.
				timer.Reset(wait)
				due = time.Now().Add(wait)
				continue
			}
		}
		if gap := time.Since(last); fresh && !repeated && gap < minGap {
			// Woken early by a fast render: keep fresh frames at least minGap apart. A
			// fresh canvas never waits behind a repeat.
			select {
			case <-ctx.Done():
				return
			case <-time.After(minGap - gap):
			}
		}
		stopTimer(timer)
		now := time.Now()
		if due = due.Add(interval); fresh || !due.After(now) {
			due = now.Add(interval) // after a fresh canvas, or too late to keep the grid
		}
		timer.Reset(due.Sub(now))
		if p.paused.Load() {
			continue
		}
		last, repeated = time.Now(), !fresh
		if err := p.cfg.Frame(); err != nil {
			p.fail(ctx, "frame", err)
			return
		}
		p.frames.Add(1)
	}
}

// repeatDelay returns how long the frame loop should still wait before repeating the
// last canvas: until one and a half intervals after the last render that drew, or two
// while a render is under way. Zero means repeat now.
func (p *Pacer) repeatDelay(interval time.Duration) time.Duration {
	at := p.rendered.Load()
	if at == 0 {
		return 0
	}
	quiet := interval * 3 / 2
	if p.rendering.Load() {
		quiet = interval * 2
	}
	return time.Until(time.Unix(0, at).Add(quiet))
}

// Bounds of a render (or frame) rate, in calls per second: every transport and session
// checks rates against these.
const (
	MinRate = 0.1
	MaxRate = 240
)

// ErrBadRate is returned by CheckRate.
var ErrBadRate = errors.New("pacer: rate out of range")

// CheckRate reports whether fps is a rate the loops accept: a number in [MinRate, MaxRate].
func CheckRate(fps float64) error {
	if !(fps >= MinRate && fps <= MaxRate) {
		return fmt.Errorf("%w: %g, want a number in [%g, %d]", ErrBadRate, fps, MinRate, MaxRate)
	}
	return nil
}
