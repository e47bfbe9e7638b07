// Package session is one viewer of Rendercast: a view of a scene (own camera and scene
// state), the canvas the render loop fills and the frame loop encodes, and the remote calls
// that steer it. It knows no transport: the RTMP glue (and any other) drives Render from its
// render loop, Frame from its frame loop, and Call from its call handlers.
package session

import (
	"errors"
	"fmt"
	"image"
	"log/slog"
	"sync"
	"time"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/render"
	"github.com/rendercast/rendercast/scenes"
)

// Errors returned by sessions.
var (
	// ErrUnknownCall is returned by Call for a procedure a session does not implement; the
	// transport may answer it itself (stream.* calls) or report it.
	ErrUnknownCall = errors.New("session: unknown call")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("session: closed")
)

// Encoder is what a session needs of a video encoder (rtmpsrv.VideoEncoder and
// encode.H264Encoder satisfy it).
type Encoder interface {
	Encode(img image.Image, pts time.Duration) (*avc.Frame, error)
}

// Observer receives a session's measurements (metrics). Its methods must be cheap and
// safe for concurrent use.
type Observer interface {
	Rendered(d time.Duration)
	Encoded(d time.Duration, bytes int, keyframe bool)
	CallToFrame(d time.Duration)
}

// Renderer makes the views sessions draw into: a *render.Pool (several GL contexts) or a
// lone *render.Renderer.
type Renderer interface {
	NewView(width, height int) (*render.View, error)
}

// Viewers is the renderer and scenes sessions draw from; shared by all sessions.
type Viewers struct {
	Renderer Renderer
	Library  *scenes.Library
	Observer Observer
	Logger   *slog.Logger
	// Info answers server.info; nil answers an empty object.
	Info func() map[string]any
}

// Options are a session's picture settings.
type Options struct {
	Width, Height int
	// Marker draws the frame marker (frame counter and scene version) on every frame.
	Marker bool
	// Animate plays the scene's animation (moving elements). Without it, and without the
	// marker, a frame is drawn only when something changed (a call, a scene load): the
	// render loop then costs next to nothing and the frame loop re-encodes the last canvas.
	Animate bool
}

// Session is one viewer. Render, Frame and Call may run in different goroutines.
type Session struct {
	v    *Viewers
	opts Options
	view *render.View
	log  *slog.Logger

	// renderMu serialises renders and guards what only they use (the snapshot drawn, the
	// back canvas). The draw runs under it, not under mu, so calls never wait for a draw.
	renderMu    sync.Mutex
	snap        *scenes.Scene // the copy of scene drawn, remade when scene changes
	snapOf      *scenes.Scene
	snapSeq     uint64
	snapVersion uint32

	// mu guards the scene state: the scene, its name, edits and pointer state.
	mu        sync.Mutex
	scene     *scenes.Scene
	sceneName string
	born      time.Time
	editSeq   uint64
	editAt    time.Time
	pointer   pointerState
	closed    bool
	// What the latest drawn frame showed, to skip drawing when nothing changed.
	drawn        bool
	drawnSeq     uint64
	drawnVersion uint32

	// canvasMu guards the canvases: the render loop draws into back and swaps it with
	// front; the frame loop encodes front while holding canvasMu, so a swap never hands the
	// render loop the canvas being encoded.
	canvasMu    sync.Mutex
	front, back *image.YCbCr
	frontSeq    uint64
	frontAt     time.Time
	fresh       bool
	lastShown   uint64

	renders, encodes uint64
}

type pointerState struct {
	button int // -1: none held
	x, y   float64
}

// New makes a session showing the named scene.
func New(v *Viewers, sceneName string, opts Options) (*Session, error) {
	if v == nil || v.Renderer == nil || v.Library == nil || isNilRenderer(v.Renderer) {
		return nil, errors.New("session: Viewers needs a Renderer and a Library")
	}
	sc, err := v.Library.Get(sceneName)
	if err != nil {
		return nil, err
	}
	view, err := v.Renderer.NewView(opts.Width, opts.Height)
	if err != nil {
		return nil, fmt.Errorf("session: view %dx%d: %w", opts.Width, opts.Height, err)
	}
	view.SetMarker(opts.Marker)
	log := v.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Session{
		v: v, opts: opts, view: view, log: log,
		scene: sc, sceneName: sceneName, born: time.Now(),
		pointer: pointerState{button: -1},
	}, nil
}

// SceneName returns the name of the scene shown.
func (s *Session) SceneName() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sceneName
}

// Size returns the picture size.
func (s *Session) Size() (int, int) { return s.opts.Width, s.opts.Height }

// Render animates the scene, draws it and makes the result the latest canvas. When nothing
// can have changed since the last frame drawn (no edit, no animation, no marker) it returns
// at once and the latest canvas stays.
func (s *Session) Render() error {
	_, err := s.RenderChanged()
	return err
}

// RenderChanged is Render reporting whether it drew a new picture (false: nothing had
// changed, the latest canvas stays). Render loops pass false on as pacer.ErrUnchanged, so
// that renders with nothing to draw do not use up the render rate.
//
// The scene is copied under the session's lock and drawn from the copy, so calls that edit
// the scene do not wait for the draw.
func (s *Session) RenderChanged() (drawn bool, err error) {
	start := time.Now()
	s.renderMu.Lock()
	defer s.renderMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false, ErrClosed
	}
	animating := s.opts.Animate && s.scene.Animate != nil
	moving := s.opts.Marker || animating
	if !moving && s.drawn && s.drawnSeq == s.editSeq && s.drawnVersion == s.scene.Version {
		s.mu.Unlock()
		return false, nil // nothing changed since the last frame drawn
	}
	if animating {
		s.scene.Animate(s.scene, time.Since(s.born).Seconds())
	}
	seq, version, name := s.editSeq, s.scene.Version, s.sceneName
	if animating || s.snap == nil || s.snapOf != s.scene || s.snapSeq != seq || s.snapVersion != version {
		s.snap, s.snapOf, s.snapSeq, s.snapVersion = s.scene.Clone(), s.scene, seq, version
	}
	s.mu.Unlock()

	img, err := s.view.Render(s.snap, s.back)

	s.mu.Lock()
	if err == nil {
		// The image is the frame just drawn, in every read-back mode: it shows seq.
		s.drawn, s.drawnSeq, s.drawnVersion = true, seq, version
	}
	closed := s.closed
	s.mu.Unlock()
	if err != nil {
		if closed {
			return false, ErrClosed // closed during the draw
		}
		return false, fmt.Errorf("render %s: %w", name, err)
	}
	s.canvasMu.Lock()
	s.back, s.front = s.front, img
	s.frontSeq, s.frontAt, s.fresh = seq, time.Now(), true
	s.renders++
	s.canvasMu.Unlock()
	if o := s.v.Observer; o != nil {
		o.Rendered(time.Since(start))
	}
	return true, nil
}

// Frame encodes the latest canvas with enc at pts. With queueFull it produces nothing (the
// transport is behind); before the first render it returns nil too.
func (s *Session) Frame(enc Encoder, queueFull bool, pts time.Duration) (*avc.Frame, error) {
	if queueFull || enc == nil {
		return nil, nil
	}
	s.canvasMu.Lock()
	defer s.canvasMu.Unlock()
	if s.front == nil {
		return nil, nil
	}
	start := time.Now()
	f, err := enc.Encode(s.front, pts)
	if err != nil {
		return nil, err
	}
	s.encodes++
	if o := s.v.Observer; o != nil && f != nil {
		o.Encoded(time.Since(start), len(f.NALUs), f.Keyframe)
	}
	if s.fresh && f != nil {
		s.fresh = false
		s.observeCallToFrame()
	}
	return f, nil
}

// observeCallToFrame reports the delay from the latest edit to the first encoded frame that
// shows it. Called with canvasMu held.
func (s *Session) observeCallToFrame() {
	s.mu.Lock()
	at, seq := s.editAt, s.editSeq
	s.mu.Unlock()
	if seq == 0 || s.frontSeq < seq || s.lastShown >= seq {
		return
	}
	s.lastShown = seq
	if o := s.v.Observer; o != nil {
		o.CallToFrame(time.Since(at))
	}
}

// WithCanvas calls f with the latest canvas (nil before the first render) while holding
// the canvas lock: f must not keep the image or take long.
func (s *Session) WithCanvas(f func(img *image.YCbCr)) {
	s.canvasMu.Lock()
	defer s.canvasMu.Unlock()
	f(s.front)
}

// Snapshot returns the latest canvas converted to RGBA (nil before the first render).
func (s *Session) Snapshot() *image.RGBA {
	s.canvasMu.Lock()
	defer s.canvasMu.Unlock()
	if s.front == nil {
		return nil
	}
	return render.YCbCrToRGBA(s.front)
}

// Stats returns the session's counters.
func (s *Session) Stats() map[string]any {
	s.canvasMu.Lock()
	renders, encodes := s.renders, s.encodes
	s.canvasMu.Unlock()
	st := s.view.Stats()
	return map[string]any{
		"scene":         s.SceneName(),
		"width":         s.opts.Width,
		"height":        s.opts.Height,
		"renders":       renders,
		"encodes":       encodes,
		"draw_ms":       ms(st.Draw),
		"convert_ms":    ms(st.Convert),
		"readback_ms":   ms(st.Readback),
		"scene_version": st.Version,
		"gl_context":    s.view.Placement().String(),
		"uptime_s":      time.Since(s.born).Seconds(),
	}
}

// Close frees the session's view.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	return s.view.Close()
}

// edits returns the number of changes to the scene state so far.
func (s *Session) edits() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.editSeq
}

// edited records a change of the scene state; called with mu held.
func (s *Session) edited() {
	s.editSeq++
	s.editAt = time.Now()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// isNilRenderer catches a typed nil in the Renderer interface.
func isNilRenderer(r Renderer) bool {
	switch r := r.(type) {
	case *render.Pool:
		return r == nil
	case *render.Renderer:
		return r == nil
	}
	return false
}
