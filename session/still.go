package session

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/render"
)

// Repeater is an optional Encoder method: a frame that shows the last encoded picture
// again without encoding it (encode.H264Encoder makes one of skipped macroblocks). Repeat
// fails when it cannot make one (the configuration does not allow it, nothing was encoded
// yet, a keyframe is due): the session then encodes the canvas again. An encoder without
// it re-encodes every frame.
type Repeater interface {
	Repeat(pts time.Duration) (*avc.Frame, error)
}

// DefaultRefineBurst is how many frames a refined picture is encoded for when
// Viewers.RefineBurst is 0: each encode of the same picture lifts its quality within the
// encoder's rate limits.
const DefaultRefineBurst = 6

// Picture states of Stats.State.
const (
	// StateMoving: the picture changed within the still time (Viewers.RefineAfter, or
	// 300 ms without refinement), or the session animates.
	StateMoving = "moving"
	// StateStill: nothing changed for the still time; the picture is the interactive one.
	StateStill = "still"
	// StateRefined: the picture sent is the refined one (render.Quality.Refined).
	StateRefined = "refined"
)

// keyframeLift is how many times a picture is encoded from a keyframe on in a low-delay
// session (EncoderOptions.LowDelay) before it is repeated: with a buffer of one frame the
// keyframe is coarse (6 dB under the picture before it on the demo at 4 Mbit/s), and three
// more encodes of the same picture bring it back to within about 1 dB.
const keyframeLift = 4

// stillTime is how long a picture must stay unchanged to count as still when the session
// does not refine.
const stillTime = 300 * time.Millisecond

func (v *Viewers) refineBurst() int {
	if v.RefineBurst > 0 {
		return v.RefineBurst
	}
	return DefaultRefineBurst
}

// alwaysMoving reports a session whose picture changes every frame (the marker, an
// animation): it is never still. Called with mu held.
func (s *Session) alwaysMoving() bool {
	return s.opts.Marker || s.sceneMoves()
}

// refine draws the picture shown, unchanged for Viewers.RefineAfter, refined, once per
// picture, and makes it the latest canvas, which the frame loop then encodes
// Viewers.RefineBurst times before it repeats it. An edit (or a resize) aborts the draw:
// the next render step draws the change. It reports whether it made a new canvas.
func (s *Session) refine() (bool, error) {
	after := s.v.RefineAfter
	if after <= 0 {
		return false, nil
	}
	s.renderMu.Lock()
	defer s.renderMu.Unlock()
	s.mu.Lock()
	due := !s.closed && !s.alwaysMoving() && s.drawn && s.refinedGen != s.drawGen &&
		s.drawnSeq == s.editSeq && s.drawnVersion == s.scene.Version &&
		s.snap != nil && s.snapSeq == s.drawnSeq && s.snapVersion == s.drawnVersion &&
		time.Since(time.Unix(0, s.drawnAt.Load())) >= after
	gen, snap, name := s.drawGen, s.snap, s.sceneName
	s.mu.Unlock()
	if !due || s.resizeWanted() {
		return false, nil
	}
	release, ok := s.v.refineSlot()
	if !ok {
		s.refineWaits.Add(1)
		return false, nil // another session is refining: the next render step tries again
	}
	defer release()
	tick := s.editTick.Load()
	hooks := s.hooks
	abort := func() bool {
		if hooks != nil && hooks.abortPoll != nil {
			hooks.abortPoll()
		}
		return s.editTick.Load() != tick || s.resizeWanted() || s.closing.Load()
	}
	start := time.Now()
	img, err := s.view.RenderWith(snap, s.back, render.Quality{Refined: true, Abort: abort})
	if errors.Is(err, render.ErrAborted) {
		s.refineAborted.Add(1)
		return false, nil // the change is drawn by the next step
	}
	s.mu.Lock()
	s.refinedGen = gen // once per picture, drawn or failed
	closed := s.closed
	s.mu.Unlock()
	if err != nil {
		if closed {
			return false, ErrClosed
		}
		// The interactive picture stays: a refinement that fails is not worth the stream.
		s.refineFailed.Add(1)
		s.log.Warn("refined frame failed", "scene", name, "err", err)
		return false, nil
	}
	s.canvasMu.Lock()
	s.back, s.front = s.front, img
	s.frontAt = time.Now()
	s.encodesLeft = s.v.refineBurst()
	s.frontRefined.Store(true)
	s.canvasMu.Unlock()
	s.refined.Add(1)
	s.refineMS.Store(uint64(time.Since(start).Microseconds()))
	return true, nil
}

// State returns the picture's state: StateMoving, StateStill or StateRefined.
func (s *Session) State() string {
	if s.frontRefined.Load() {
		return StateRefined
	}
	s.mu.Lock()
	moving := s.alwaysMoving()
	s.mu.Unlock()
	still := s.v.RefineAfter
	if still <= 0 {
		still = stillTime
	}
	if at := s.drawnAt.Load(); moving || (at != 0 && time.Since(time.Unix(0, at)) < still) {
		return StateMoving
	}
	return StateStill
}

// renderInterval is the current render interval.
func (s *Session) renderInterval() time.Duration {
	rate := s.RenderRate()
	if !(rate > 0) {
		rate = s.frameRate()
	}
	return time.Duration(float64(time.Second) / rate)
}

// testHooks let tests slow renders down and act while a refined frame is drawn.
type testHooks struct {
	// renderDelay (nanoseconds) is added to every interactive render's wall time (a slow
	// renderer), times the area of the render scale (a renderer bound by its pixels)
	// unless flatDelay (a renderer that drawing smaller does not help).
	renderDelay atomic.Int64
	flatDelay   atomic.Bool
	// abortPoll runs each time a refined render polls for an abort.
	abortPoll func()
}

// encodeOrRepeat produces the frame for the latest canvas at pts with canvasMu held: a
// repeat when the canvas was already sent as often as it wants (once, a refined one
// Viewers.RefineBurst times), no keyframe is wanted and the encoder can make one; else an
// encode.
func (s *Session) encodeOrRepeat(enc FrameEncoder, pts time.Duration, keyframe bool) (f *avc.Frame, encoded bool, err error) {
	if keyframe && s.frontRefined.Load() {
		s.encodesLeft = s.v.refineBurst() // an IDR starts the lift again
	}
	if !keyframe && s.encodesLeft == 0 {
		if r, ok := enc.(Repeater); ok {
			if f, err := r.Repeat(pts); err == nil && f != nil {
				s.repeats.Add(1)
				return f, false, nil
			}
		}
	}
	f, err = enc.Encode(s.front, pts)
	if err != nil {
		return nil, false, err
	}
	if s.encodesLeft > 0 {
		s.encodesLeft--
	}
	if f != nil && f.Keyframe && s.lowDelay {
		// A one-frame rate-control buffer starves keyframes: the next frames lift the
		// picture before it is repeated.
		s.encodesLeft = max(s.encodesLeft, keyframeLift-1)
	}
	return f, true, nil
}
