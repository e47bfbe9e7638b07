package session

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Resizer is an optional Encoder method: reopen at a new picture size, the next frame an
// IDR carrying the new configuration record (encode.H264Encoder has it). A session whose
// encoder lacks it cannot change size.
type Resizer interface {
	Resize(width, height int) error
}

// ResizeSpacing is the shortest time between two size changes a session applies: a storm
// of SetSize calls is coalesced, the latest size winning.
const ResizeSpacing = 250 * time.Millisecond

// Default bounds of SetSize (Viewers.MaxWidth, Viewers.MaxHeight).
const (
	DefaultMaxWidth  = 3840
	DefaultMaxHeight = 2160
)

// resizeState is a size asked for and not yet applied, and the counts of changes.
type resizeState struct {
	mu     sync.Mutex
	w, h   int       // asked for; 0: nothing pending
	last   time.Time // when the last change was applied (or tried)
	wanted atomic.Bool

	resizes, failures atomic.Uint64
}

// MaxSize returns the largest size SetSize accepts.
func (v *Viewers) MaxSize() (width, height int) {
	width, height = v.MaxWidth, v.MaxHeight
	if width <= 0 {
		width = DefaultMaxWidth
	}
	if height <= 0 {
		height = DefaultMaxHeight
	}
	return width, height
}

// CheckSize checks a picture size asked for by the call named call: even whole numbers,
// at least 2, at most MaxSize. The error is an *ArgError naming width or height.
func (v *Viewers) CheckSize(call string, width, height float64) error {
	maxW, maxH := v.MaxSize()
	for _, d := range []struct {
		name  string
		value float64
		max   int
	}{{"width", width, maxW}, {"height", height, maxH}} {
		if d.value != math.Trunc(d.value) || d.value < 2 || d.value > float64(d.max) || math.Mod(d.value, 2) != 0 {
			return &ArgError{call, d.name, fmt.Sprintf("%g: want an even whole number from 2 to %d", d.value, d.max)}
		}
	}
	return nil
}

// SetSize asks for a new picture size (see CheckSize). The render loop applies it (view,
// encoder, canvases, and a keyframe with the new configuration for every sink) at its next
// step, at most once per ResizeSpacing: the latest size asked for wins. A change that
// fails (the renderer or the encoder refuses the size) leaves the old size, logged and
// counted in Stats.ResizeFailures.
func (s *Session) SetSize(width, height int) error {
	if err := s.v.CheckSize("stream.setSize", float64(width), float64(height)); err != nil {
		return err
	}
	if s.out.enc != nil {
		if _, ok := s.out.enc.(Resizer); !ok {
			return fmt.Errorf("%w: %s", ErrNoResize, s.out.enc.Name())
		}
	}
	r := &s.resize
	r.mu.Lock()
	r.w, r.h = width, height
	r.wanted.Store(true)
	r.mu.Unlock()
	s.RenderNow()
	return nil
}

// resizeWanted reports a size asked for and not yet applied.
func (s *Session) resizeWanted() bool { return s.resize.wanted.Load() }

// applyResize applies the size asked for when ResizeSpacing allows; called by renders,
// with renderMu held. Only a failure that leaves the view unusable is returned.
func (s *Session) applyResize() error {
	r := &s.resize
	r.mu.Lock()
	w, h := r.w, r.h
	due := w != 0 && time.Since(r.last) >= ResizeSpacing
	if due {
		r.w, r.h, r.last = 0, 0, time.Now()
		r.wanted.Store(false)
	}
	r.mu.Unlock()
	if !due {
		return nil
	}
	oldW, oldH := s.Size()
	if w == oldW && h == oldH {
		return nil
	}
	s.canvasMu.Lock() // the frame loop encodes no old canvas with the new encoder
	defer s.canvasMu.Unlock()
	if err := s.view.Resize(w, h); err != nil {
		r.failures.Add(1)
		s.log.Warn("resize refused by the renderer", "from", fmt.Sprintf("%dx%d", oldW, oldH), "to", fmt.Sprintf("%dx%d", w, h), "err", err)
		return nil
	}
	if enc, ok := s.out.enc.(Resizer); ok {
		if err := enc.Resize(w, h); err != nil {
			r.failures.Add(1)
			s.log.Warn("resize refused by the encoder", "from", fmt.Sprintf("%dx%d", oldW, oldH), "to", fmt.Sprintf("%dx%d", w, h), "err", err)
			if err := s.view.Resize(oldW, oldH); err != nil {
				return fmt.Errorf("resize back to %dx%d: %w", oldW, oldH, err)
			}
			return nil
		}
		s.out.enc.RequestKeyframe()
	}
	s.front, s.back, s.fresh, s.encodesLeft = nil, nil, false, 0
	s.frontRefined.Store(false)
	s.mu.Lock()
	s.width, s.height = w, h
	s.drawn = false // draw at the new size now
	s.mu.Unlock()
	r.resizes.Add(1)
	s.log.Debug("resized", "from", fmt.Sprintf("%dx%d", oldW, oldH), "to", fmt.Sprintf("%dx%d", w, h))
	return nil
}
