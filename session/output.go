package session

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/pacer"
)

// KeyframeSpacing is the shortest time between two keyframes a session forces for sinks
// that start (late joiners) or for the only sink of a session: those inside the window wait
// for the one forced at its start, so joiners cannot make a shared encoder send only
// keyframes.
const KeyframeSpacing = 250 * time.Millisecond

// RecoverySpacing is the shortest time between two keyframes a session with several sinks
// forces for sinks that had started and then dropped frames (slow viewers, a reconnected
// publisher): a viewer on a slow link skips to a keyframe at most this often, so it cannot
// make everyone else's stream mostly keyframes.
const RecoverySpacing = time.Second

// Sink receives a session's encoded frames: one viewer's transport (an RTMP stream, a
// WebRTC track) or a publisher to another server.
type Sink interface {
	// WriteFrame hands the sink one encoded frame without blocking. The frame is shared
	// with other sinks: read it, never modify it. Every keyframe carries Config. It
	// returns true when the sink wants a keyframe: it dropped this frame (its queue is
	// full, or it waits for a keyframe after a drop or at its start) and takes nothing but
	// a keyframe next. The session then forces one, at most one per KeyframeSpacing.
	WriteFrame(f *avc.Frame) (wantKeyframe bool)
}

// QueueReporter is an optional Sink method: a sink whose queue is full. When every sink of
// a session reports a full queue, the session encodes nothing (a private viewer that
// cannot keep up costs no encoding, and loses no reference picture).
type QueueReporter interface {
	QueueFull() bool
}

// Ender is an optional Sink method: the session stopped for good (a render or an encode
// failed, or it was closed) while the sink was attached. err is nil after Close.
type Ender interface {
	End(err error)
}

// sinkEntry is an attached sink.
type sinkEntry struct {
	sink     Sink
	id       uint64
	attached time.Time
	started  bool // took a keyframe: later wants are recoveries; frame loop only
}

// output is the part of a session that turns its canvas into frames for its sinks: the
// encoder, the render and frame loops, the bitrate and the sinks.
type output struct {
	enc     Encoder
	loops   *pacer.Pacer
	bitrate *bitrateControl
	link    *linkControl  // rate control of a private session's viewer; nil when off or shared
	rate    atomic.Uint64 // render rate, float64 bits

	sinkMu  sync.Mutex
	sinks   []*sinkEntry // copied on write: the frame loop reads a snapshot
	nextID  uint64
	failure error // why the loops stopped; nil while they run

	// Keyframe policy. wants counts the keyframes asked for by joiners, the only sink of a
	// session and calls, recoveries those asked for by started sinks of a shared session
	// that dropped frames; both from any goroutine. The rest is touched only by the frame
	// loop: served and recovered are the counts answered by the last keyframe handed out,
	// lastForced when one was last forced.
	wants, recoveries atomic.Uint64
	served, recovered uint64
	lastForced        time.Time
	config            []byte
	lastEncoded       time.Time

	frames, keyframes, forced, bytes, skipped atomic.Uint64
	recoveriesWaited                          atomic.Uint64
}

// startOutput opens the encoder and starts the loops, paused until a sink attaches.
func (s *Session) startOutput() error {
	if s.v.NewEncoder == nil {
		return errors.New("session: Viewers needs NewEncoder")
	}
	// Low delay for private RTMP viewers under rate control. WebRTC viewers (Baseline)
	// have a pacer that spreads a frame's packets to the estimate already, and a one-frame
	// buffer at the low rates congestion control starts from starved the pictures after a
	// call (measured in the link lab: 0.1 to 1.4 s to show a new background).
	s.lowDelay = !s.opts.Shared && !s.v.FixedBitrate && !s.opts.Baseline
	enc, err := s.v.NewEncoder(EncoderOptions{Baseline: s.opts.Baseline, LowDelay: s.lowDelay})
	if err != nil {
		return fmt.Errorf("session: encoder: %w", err)
	}
	s.out.enc = enc
	maxBps := s.v.Bitrate
	if maxBps <= 0 {
		maxBps = 2_000_000
	}
	minBps := min(s.v.MinBitrate, maxBps)
	if minBps <= 0 {
		minBps = min(300_000, maxBps)
	}
	s.out.bitrate = newBitrateControl(minBps, maxBps, enc.SetBitrate)
	s.out.bitrate.recordOnly = s.opts.Shared || s.v.FixedBitrate
	if !s.opts.Shared && !s.v.FixedBitrate {
		s.out.link = newLinkControl(time.Duration(float64(time.Second) / s.frameRate()))
	}
	rate := s.v.RenderRate
	if rate <= 0 {
		rate = s.frameRate()
	}
	s.out.rate.Store(math.Float64bits(rate))
	s.out.loops = pacer.Start(context.Background(), pacer.Config{
		RenderRate:    s.RenderRate,
		FrameInterval: time.Duration(float64(time.Second) / s.frameRate()),
		Render:        s.renderStep,
		Frame:         s.frameStep,
		Failed:        s.failed,
		Paused:        true, // until a sink attaches
	})
	return nil
}

func (s *Session) frameRate() float64 {
	if s.v.FrameRate > 0 {
		return s.v.FrameRate
	}
	return 30
}

// renderStep is the render loop's body: draw what changed; when nothing did for
// Viewers.RefineAfter, draw the picture refined, once.
func (s *Session) renderStep() error {
	drawn, err := s.RenderChanged()
	if err != nil {
		return err
	}
	if !drawn {
		if drawn, err = s.refine(); err != nil {
			return err
		}
	}
	if !drawn {
		return pacer.ErrUnchanged
	}
	return nil
}

// frameStep is the frame loop's body: encode (or repeat) the latest canvas unless every
// sink's queue is full, and hand the frame to every sink. A forced keyframe is always
// encoded.
func (s *Session) frameStep() error {
	o := &s.out
	s.out.sinkMu.Lock()
	sinks := o.sinks
	o.sinkMu.Unlock()
	if len(sinks) == 0 {
		return nil
	}
	now := time.Now()
	// A private viewer whose sink reports its link: rate control, and no encoding while
	// its queue is congested (no frame is dropped, no reference lost, no keyframe needed).
	var link Link
	controlled := false
	if o.link != nil && len(sinks) == 1 {
		if r, ok := sinks[0].sink.(LinkReporter); ok {
			controlled, link = true, r.Link()
			cur, floor, ceiling := o.bitrate.bounds()
			if t := o.link.observe(link, now, cur, floor, ceiling); t > 0 {
				if err := o.bitrate.linkBound(t); err != nil {
					s.log.Warn("bitrate change failed", "bps", t, "err", err)
				}
			}
			if o.link.skip(link) {
				o.link.skips.Add(1)
				o.skipped.Add(1)
				return nil
			}
		}
	}
	allFull := true
	for _, e := range sinks {
		q, ok := e.sink.(QueueReporter)
		if !ok || !q.QueueFull() {
			allFull = false
			break
		}
	}
	if allFull {
		o.skipped.Add(1)
		return nil
	}
	since := now.Sub(o.lastForced)
	forced := false
	want := (o.wants.Load() > o.served && since >= KeyframeSpacing) || (o.recoveries.Load() > o.recovered && since >= RecoverySpacing)
	if want && controlled && link.KeyframeQueued {
		// The last keyframe has not reached the network: a second one would only queue
		// behind it (and make the queue deeper); it is forced once the first has gone.
		o.link.keyframesPostponed.Add(1)
		want = false
	}
	if want {
		o.lastForced = now
		o.forced.Add(1)
		o.enc.RequestKeyframe()
		forced = true
	}
	f, err := s.frame(o.enc, s.Elapsed(), forced)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	if f == nil {
		return nil
	}
	if f.Config != nil {
		o.config = f.Config
	}
	// The frame goes to the sinks attached now, joiners during the encode included. The
	// wants counted before this snapshot are answered by a keyframe; a sink attached after
	// it counts its want later, so its want stays pending.
	wants, recoveries := o.wants.Load(), o.recoveries.Load()
	o.sinkMu.Lock()
	sinks = o.sinks
	o.sinkMu.Unlock()
	if f.Keyframe {
		o.served, o.recovered = wants, recoveries
		if f.Config == nil && o.config != nil {
			c := *f
			c.Config = o.config
			f = &c
		}
		o.keyframes.Add(1)
	}
	o.frames.Add(1)
	o.bytes.Add(uint64(len(f.NALUs)))
	join, recover := false, false
	for _, e := range sinks {
		if !e.sink.WriteFrame(f) {
			if f.Keyframe {
				e.started = true
			}
			continue
		}
		// A sink of a shared session that had started, or that has not taken a keyframe
		// within RecoverySpacing of attaching (paused, never reading), recovers at the
		// slower pace: it cannot make everyone's stream mostly keyframes.
		if len(sinks) > 1 && (e.started || now.Sub(e.attached) > RecoverySpacing) {
			// A viewer whose link is congested (it reports one, and frames wait there)
			// takes the next regular keyframe instead: forcing keyframes for it would
			// make every other viewer's stream heavier, and it would drop them too.
			if r, ok := e.sink.(LinkReporter); ok && e.started && s.congested(r.Link()) {
				o.recoveriesWaited.Add(1)
				continue
			}
			recover = true
		} else {
			join = true
		}
	}
	// No wake-up of the frame loop: the keyframe is forced at the next frame tick (one frame
	// interval at most), while a wake-up would make an extra frame encoded for every sink.
	if join {
		o.wants.Add(1)
	}
	if recover {
		o.recoveries.Add(1)
	}
	return nil
}

// failed stops the session after a render or encode error: its sinks are told.
func (s *Session) failed(which string, err error) {
	err = fmt.Errorf("%s: %w", which, err)
	s.log.Warn("session stopped", "scene", s.SceneName(), "err", err)
	s.out.sinkMu.Lock()
	s.out.failure = err
	sinks := s.out.sinks
	s.out.sinks = nil
	s.out.sinkMu.Unlock()
	for _, e := range sinks {
		if en, ok := e.sink.(Ender); ok {
			en.End(err)
		}
	}
	if s.opts.Failed != nil {
		s.opts.Failed(err)
	}
}

// Elapsed returns the time since the session was created: the presentation time of a
// frame made now.
func (s *Session) Elapsed() time.Duration { return time.Since(s.born) }

// Attach adds a sink: it gets the session's frames from the next one, starting with a
// keyframe (forced at the next frame tick, or when KeyframeSpacing allows). detach removes it (at most
// once; later calls do nothing). Attach fails once the session has stopped.
func (s *Session) Attach(k Sink) (detach func(), err error) {
	o := &s.out
	o.sinkMu.Lock()
	if o.failure != nil {
		o.sinkMu.Unlock()
		return nil, o.failure
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		o.sinkMu.Unlock()
		return nil, ErrClosed
	}
	o.nextID++
	id := o.nextID
	o.sinks = append(append([]*sinkEntry(nil), o.sinks...), &sinkEntry{sink: k, id: id, attached: time.Now()})
	first := len(o.sinks) == 1
	o.sinkMu.Unlock()
	o.wants.Add(1) // after the sink is in the list (see frameStep)
	if first {
		o.loops.SetPaused(false) // wakes the frame loop
		o.loops.Kick()
	}
	var once sync.Once
	return func() { once.Do(func() { s.detach(id) }) }, nil
}

func (s *Session) detach(id uint64) {
	o := &s.out
	o.sinkMu.Lock()
	defer o.sinkMu.Unlock()
	for i, e := range o.sinks {
		if e.id == id {
			o.sinks = append(append([]*sinkEntry(nil), o.sinks[:i]...), o.sinks[i+1:]...)
			break
		}
	}
	if len(o.sinks) == 0 && o.loops != nil {
		o.loops.SetPaused(true) // nobody watches: neither render nor encode
	}
}

// Sinks returns the number of attached sinks.
func (s *Session) Sinks() int {
	s.out.sinkMu.Lock()
	defer s.out.sinkMu.Unlock()
	return len(s.out.sinks)
}

// Err returns why the session stopped (a render or encode error), nil while it runs.
func (s *Session) Err() error {
	s.out.sinkMu.Lock()
	defer s.out.sinkMu.Unlock()
	return s.out.failure
}

// RenderRate returns the render rate (a ceiling, renders per second).
func (s *Session) RenderRate() float64 { return math.Float64frombits(s.out.rate.Load()) }

// SetRenderRate changes the render rate from the next render.
func (s *Session) SetRenderRate(fps float64) error {
	if err := pacer.CheckRate(fps); err != nil {
		return err
	}
	s.out.rate.Store(math.Float64bits(fps))
	return nil
}

// SetBitrate sets the encoder's bitrate ceiling (bits/s); with a receiver estimate the
// encoder follows the estimate below it.
func (s *Session) SetBitrate(bps int) error { return s.out.bitrate.setCeiling(bps) }

// ReceiverEstimate passes a receiver's bandwidth estimate (WebRTC REMB, bits/s). A
// private session follows it below its ceiling; a shared session only records it: one
// viewer's link must not lower the picture of everyone else (slow viewers of a shared
// session skip to keyframes instead).
func (s *Session) ReceiverEstimate(bps int) error {
	return s.out.bitrate.estimated(bps) // a shared session's control only records it
}

// RequestKeyframe makes the next frame a keyframe, within KeyframeSpacing of the last
// forced one.
func (s *Session) RequestKeyframe() { s.out.wants.Add(1) }

// RenderNow asks for a render as soon as the render rate allows, because what the
// session shows changed.
func (s *Session) RenderNow() {
	if s.out.loops != nil {
		s.out.loops.Kick()
	}
}

// EncoderName names the session's encoder (e.g. libx264).
func (s *Session) EncoderName() string { return s.out.enc.Name() }

// stopOutput stops the loops and closes the encoder; the sinks still attached are told.
func (s *Session) stopOutput() {
	o := &s.out
	if o.loops != nil {
		o.loops.Stop()
	}
	o.sinkMu.Lock()
	sinks := o.sinks
	o.sinks = nil
	if o.failure == nil {
		o.failure = ErrClosed
	}
	o.sinkMu.Unlock()
	for _, e := range sinks {
		if en, ok := e.sink.(Ender); ok {
			en.End(nil)
		}
	}
	if o.enc != nil {
		o.enc.Close()
	}
}
