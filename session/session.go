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
	"sync/atomic"
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
	// ErrNoResize is returned by SetSize when the session's encoder cannot change size.
	ErrNoResize = errors.New("session: the encoder cannot change the picture size")
)

// FrameEncoder encodes pictures: what Frame needs.
type FrameEncoder interface {
	Encode(img image.Image, pts time.Duration) (*avc.Frame, error)
}

// Encoder is a session's video encoder (encode.H264Encoder satisfies it).
type Encoder interface {
	FrameEncoder
	// RequestKeyframe makes the next frame an IDR.
	RequestKeyframe()
	// SetBitrate changes the target bitrate (bits/s).
	SetBitrate(bitsPerSecond int) error
	// Name names the encoder (libx264, h264_nvenc).
	Name() string
	Close() error
}

// EncoderOptions are what a session asks of its encoder.
type EncoderOptions struct {
	// Baseline asks for the constrained baseline profile, which every WebRTC browser
	// decodes.
	Baseline bool
	// LowDelay asks for frames that each cross a link at the bitrate within about one
	// frame interval (a rate-control buffer of one frame): a private session under rate
	// control for an RTMP viewer, where what a call changed should reach its one viewer at
	// once even on a link barely above the bitrate. Large changes and keyframes then take a
	// few frames to reach full quality instead of arriving late.
	LowDelay bool
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
	// NewEncoder opens a session's encoder. Without it sessions have no output: Attach
	// fails, and Render and Frame are driven by the caller.
	NewEncoder func(EncoderOptions) (Encoder, error)
	// FrameRate is the frame rate of sessions' streams (frames per second; 0: 30).
	FrameRate float64
	// RenderRate is the initial render rate (a ceiling; 0: FrameRate).
	RenderRate float64
	// RefineAfter is how long a picture must stay unchanged before the render loop draws
	// it refined (render.Quality.Refined: the best still picture), once; 0 never refines.
	RefineAfter time.Duration
	// RefineBurst is how many frames a refined picture is encoded for before it is
	// repeated (0: DefaultRefineBurst).
	RefineBurst int
	// RefineSlots is how many sessions may draw a refined frame at the same time (0: 1).
	// A refined frame is several times an interactive one's work (on llvmpipe it takes
	// every core for tens of ms); drawn one at a time they cannot starve the frame loops of
	// the others. A session that finds no free slot tries again at its next render step.
	RefineSlots int
	// Adaptive lowers the internal render scale of moving frames (1, 0.75, 0.5) while
	// renders cannot hold the render rate, and raises it again when they have room.
	// Refined frames are always drawn at full size.
	Adaptive bool
	// MaxWidth and MaxHeight bound SetSize (0: DefaultMaxWidth, DefaultMaxHeight).
	MaxWidth, MaxHeight int
	// Bitrate is the initial bitrate and the ceiling receiver estimates and rate control
	// move under (bits/s; 0: 2 Mbit/s); MinBitrate the floor they go down to (0: 300 kbit/s).
	Bitrate, MinBitrate int
	// FixedBitrate turns per-viewer rate control off: private sessions keep their bitrate
	// whatever their viewer's link (receiver estimates are recorded only) and stop
	// encoding only when their viewer's queue is full. By default a private session
	// follows its viewer's link: the queue delay its sink reports (LinkReporter) and the
	// receiver's estimates (ReceiverEstimate), between MinBitrate and the ceiling.
	FixedBitrate bool

	refineOnce  sync.Once
	refineSlots chan struct{} // RefineSlots tokens
}

// refineSlot takes a slot for a refined frame without waiting; release gives it back.
func (v *Viewers) refineSlot() (release func(), ok bool) {
	v.refineOnce.Do(func() { v.refineSlots = make(chan struct{}, max(1, v.RefineSlots)) })
	select {
	case v.refineSlots <- struct{}{}:
		return func() { <-v.refineSlots }, true
	default:
		return nil, false
	}
}

// Options are a session's picture settings.
type Options struct {
	// Width and Height are the initial picture size (SetSize changes it).
	Width, Height int
	// Marker draws the frame marker (frame counter and scene version) on every frame.
	Marker bool
	// Animate plays the scene's animation (moving elements). Without it, and without the
	// marker, a frame is drawn only when something changed (a call, a scene load): the
	// render loop then costs next to nothing and the frame loop re-encodes the last canvas.
	Animate bool
	// Shared marks a session watched by several viewers: receiver estimates do not
	// change its bitrate (ReceiverEstimate).
	Shared bool
	// Baseline asks the encoder for the constrained baseline profile (WebRTC viewers).
	Baseline bool
	// Failed, when set, is called once when a render or an encode failed and the session
	// stopped for good, after its sinks were told (Ender), from a loop goroutine: it must
	// not wait for the session (Close it from another goroutine).
	Failed func(err error)
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

	// mu guards the scene state: the scene, its name, edits and pointer state, and the
	// picture size.
	mu        sync.Mutex
	width     int
	height    int
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
	// drawGen counts the interactive pictures drawn, refinedGen is the one last refined
	// (or whose refinement failed): a picture is refined once.
	drawGen, refinedGen uint64
	// drawnAt is when the last interactive picture was drawn (UnixNano); editTick counts
	// edits (read by a refined render's abort polls without mu); closing is set by Close.
	drawnAt  atomic.Int64
	editTick atomic.Uint64
	closing  atomic.Bool

	// canvasMu guards the canvases: the render loop draws into back and swaps it with
	// front; the frame loop encodes front while holding canvasMu, so a swap never hands the
	// render loop the canvas being encoded.
	canvasMu    sync.Mutex
	front, back *image.YCbCr
	frontSeq    uint64
	frontAt     time.Time
	fresh       bool
	lastShown   uint64
	// encodesLeft is how many more times the front canvas is encoded before it is
	// repeated (Repeater); frontRefined marks a refined front canvas.
	encodesLeft  int
	frontRefined atomic.Bool
	lowDelay     bool // the encoder was opened with EncoderOptions.LowDelay

	renders, encodes, repeats            atomic.Uint64
	refined, refineAborted, refineFailed atomic.Uint64
	refineWaits                          atomic.Uint64 // refinements put off: every slot was taken
	refineMS                             atomic.Uint64 // the last refined render, microseconds
	adapt                                *adaptiveControl
	resize                               resizeState
	hooks                                *testHooks

	out output
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
	s := &Session{
		v: v, opts: opts, view: view, log: log,
		scene: sc, sceneName: sceneName, born: time.Now(),
		pointer: pointerState{button: -1}, width: opts.Width, height: opts.Height,
		adapt: newAdaptiveControl(v.Adaptive),
	}
	s.autoPlay()
	if v.NewEncoder != nil {
		if err := s.startOutput(); err != nil {
			view.Close()
			return nil, err
		}
	}
	return s, nil
}

// SceneName returns the name of the scene shown.
func (s *Session) SceneName() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sceneName
}

// Size returns the picture size.
func (s *Session) Size() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.width, s.height
}

// Render animates the scene, draws it and makes the result the latest canvas. When nothing
// can have changed since the last frame drawn (no edit, no animation, no marker) it returns
// at once and the latest canvas stays.
func (s *Session) Render() error {
	_, err := s.RenderChanged()
	return err
}

// RenderChanged is Render reporting whether it drew a new picture (false: nothing had
// changed, the latest canvas stays). Render loops pass false on as pacer.ErrUnchanged, so
// that renders with nothing to draw do not use up the render rate. A size asked for with
// SetSize is applied first.
//
// The scene is copied under the session's lock and drawn from the copy, so calls that edit
// the scene do not wait for the draw. With Viewers.Adaptive the picture is drawn at the
// adaptive controller's scale.
func (s *Session) RenderChanged() (drawn bool, err error) {
	s.renderMu.Lock()
	defer s.renderMu.Unlock()
	if err := s.applyResize(); err != nil {
		return false, err
	}
	start := time.Now() // a size change (view and encoder reopened) is not render time
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false, ErrClosed
	}
	animating := s.sceneMoves()
	moving := s.opts.Marker || animating
	if !moving && s.drawn && s.drawnSeq == s.editSeq && s.drawnVersion == s.scene.Version {
		s.mu.Unlock()
		return false, nil // nothing changed since the last frame drawn
	}
	s.poseScene()
	seq, version, name := s.editSeq, s.scene.Version, s.sceneName
	if animating || s.snap == nil || s.snapOf != s.scene || s.snapSeq != seq || s.snapVersion != version {
		s.snap, s.snapOf, s.snapSeq, s.snapVersion = s.scene.Clone(), s.scene, seq, version
	}
	s.mu.Unlock()

	scale := s.adapt.scale()
	img, err := s.view.RenderWith(s.snap, s.back, render.Quality{Scale: scale})
	if h := s.hooks; h != nil {
		d := time.Duration(h.renderDelay.Load())
		if !h.flatDelay.Load() {
			d = time.Duration(float64(d) * scale * scale)
		}
		time.Sleep(d)
	}

	s.mu.Lock()
	if err == nil {
		// The image is the frame just drawn, in every read-back mode: it shows seq.
		s.drawn, s.drawnSeq, s.drawnVersion = true, seq, version
		s.drawGen++
		s.drawnAt.Store(time.Now().UnixNano())
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
	s.encodesLeft = 1
	s.frontRefined.Store(false)
	s.renders.Add(1)
	s.canvasMu.Unlock()
	took := time.Since(start)
	s.adapt.observe(took, s.renderInterval(), time.Now())
	if o := s.v.Observer; o != nil {
		o.Rendered(took)
	}
	return true, nil
}

// Frame encodes the latest canvas with enc at pts. With queueFull it produces nothing (the
// transport is behind); before the first render it returns nil too. A canvas already
// encoded (a refined one: Viewers.RefineBurst times) is repeated instead when enc is a
// Repeater that can.
func (s *Session) Frame(enc FrameEncoder, queueFull bool, pts time.Duration) (*avc.Frame, error) {
	if queueFull || enc == nil {
		return nil, nil
	}
	return s.frame(enc, pts, false)
}

// frame is Frame; keyframe says a keyframe was asked of enc, so the canvas is encoded.
func (s *Session) frame(enc FrameEncoder, pts time.Duration, keyframe bool) (*avc.Frame, error) {
	s.canvasMu.Lock()
	defer s.canvasMu.Unlock()
	if s.front == nil {
		return nil, nil
	}
	start := time.Now()
	f, encoded, err := s.encodeOrRepeat(enc, pts, keyframe)
	if err != nil {
		return nil, err
	}
	if !encoded {
		return f, nil
	}
	s.encodes.Add(1)
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

// Stats are a session's figures. Reading them never waits for a render or an encode.
type Stats struct {
	Scene  string `json:"scene"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Shared bool   `json:"shared"`
	// Sinks attached (viewers and publishers).
	Sinks int `json:"sinks"`
	// Renders drew a new picture; Encodes encoded a canvas (again, for a canvas encoded
	// more than once); Repeats showed the last picture again without encoding (Repeater).
	Renders uint64 `json:"renders"`
	Encodes uint64 `json:"encodes"`
	Repeats uint64 `json:"repeats"`
	// State is StateMoving, StateStill or StateRefined. Refined counts the refined
	// frames drawn, RefineAborted those an edit stopped, RefineFailed those that failed;
	// RefineMS is the last refined frame's render time.
	State         string `json:"state"`
	Refined       uint64 `json:"refined"`
	RefineAborted uint64 `json:"refine_aborted"`
	RefineFailed  uint64 `json:"refine_failed"`
	// RefineWaits counts render steps that put the refinement off because other sessions
	// held every refinement slot (Viewers.RefineSlots).
	RefineWaits uint64  `json:"refine_waits"`
	RefineMS    float64 `json:"refine_ms"`
	// Adaptive reports the adaptive resolution of moving frames (Viewers.Adaptive); Scale
	// is the internal render scale of the next moving frame, ScaleSteps the changes so
	// far, ScaleUndone the steps down undone because drawing smaller did not make renders
	// cheaper, and RenderMS the moving average of moving renders' wall time.
	Adaptive    bool    `json:"adaptive"`
	Scale       float64 `json:"scale"`
	ScaleSteps  uint64  `json:"scale_steps"`
	ScaleUndone uint64  `json:"scale_undone"`
	RenderMS    float64 `json:"render_ms"`
	// Resizes counts the size changes applied (SetSize), ResizeFailures those refused by
	// the renderer or the encoder.
	Resizes        uint64 `json:"resizes"`
	ResizeFailures uint64 `json:"resize_failures"`
	// Frames, Keyframes and BytesOut count what the frame loop handed its sinks;
	// ForcedKeyframes the keyframes forced for joiners and sinks that dropped frames;
	// SkippedFrames the frame ticks with every sink's queue full.
	// RecoveriesWaited counts keyframes a viewer of a shared session wanted after drops
	// while its link was congested: it took the next regular one instead of one forced
	// for everyone.
	Frames           uint64 `json:"frames"`
	Keyframes        uint64 `json:"keyframes"`
	ForcedKeyframes  uint64 `json:"forced_keyframes"`
	RecoveriesWaited uint64 `json:"recoveries_waited"`
	SkippedFrames    uint64 `json:"skipped_frames"`
	BytesOut         uint64 `json:"bytes_out"`
	// The last frame drawn: draw, conversion and read-back times.
	DrawMS       float64 `json:"draw_ms"`
	ConvertMS    float64 `json:"convert_ms"`
	ReadbackMS   float64 `json:"readback_ms"`
	SceneVersion uint32  `json:"scene_version"`
	GLContext    string  `json:"gl_context"`
	RenderRate   float64 `json:"render_rate"`
	Encoder      string  `json:"encoder,omitempty"`
	// BitrateBps is the encoder's target; BitrateMaxBps the ceiling (stream.setBitrate);
	// EstimateBps the last receiver estimate (0: none).
	BitrateBps    int `json:"bitrate_bps"`
	BitrateMaxBps int `json:"bitrate_max_bps"`
	EstimateBps   int `json:"estimate_bps"`
	// Rate control of a private viewer's link (LinkReporter): RateControl is false when off
	// (Viewers.FixedBitrate, shared sessions); LinkBps the link's estimated throughput (0:
	// not measured yet), QueueDelayMS the smoothed time frames wait to reach the network,
	// RateDecreases and RateIncreases the bitrate steps taken, CongestedSkips the frame
	// ticks not encoded because the queue was congested, KeyframesPostponed the forced
	// keyframes put off until the last one had reached the network.
	RateControl        bool    `json:"rate_control"`
	LinkBps            int     `json:"link_bps"`
	QueueDelayMS       float64 `json:"queue_delay_ms"`
	RateDecreases      uint64  `json:"rate_decreases"`
	RateIncreases      uint64  `json:"rate_increases"`
	CongestedSkips     uint64  `json:"congested_skips"`
	KeyframesPostponed uint64  `json:"keyframes_postponed"`
	UptimeS            float64 `json:"uptime_s"`
}

// Stats returns the session's figures.
func (s *Session) Stats() Stats {
	st := s.view.Stats()
	o := &s.out
	w, h := s.Size()
	avg, steps, undone := s.adapt.figures()
	out := Stats{
		Scene: s.SceneName(), Width: w, Height: h, Shared: s.opts.Shared,
		Sinks:   s.Sinks(),
		Renders: s.renders.Load(), Encodes: s.encodes.Load(), Repeats: s.repeats.Load(),
		State: s.State(), Refined: s.refined.Load(), RefineAborted: s.refineAborted.Load(),
		RefineFailed: s.refineFailed.Load(), RefineWaits: s.refineWaits.Load(), RefineMS: float64(s.refineMS.Load()) / 1000,
		Adaptive: s.v.Adaptive, Scale: s.adapt.scale(), ScaleSteps: steps, ScaleUndone: undone, RenderMS: ms(avg),
		Resizes: s.resize.resizes.Load(), ResizeFailures: s.resize.failures.Load(),
		Frames: o.frames.Load(), Keyframes: o.keyframes.Load(), ForcedKeyframes: o.forced.Load(), RecoveriesWaited: o.recoveriesWaited.Load(),
		SkippedFrames: o.skipped.Load(), BytesOut: o.bytes.Load(),
		DrawMS: ms(st.Draw), ConvertMS: ms(st.Convert), ReadbackMS: ms(st.Readback),
		SceneVersion: st.Version, GLContext: s.view.Placement().String(),
		RenderRate: s.RenderRate(), UptimeS: time.Since(s.born).Seconds(),
	}
	if o.enc != nil {
		out.Encoder = o.enc.Name()
	}
	if o.bitrate != nil {
		out.EstimateBps, out.BitrateBps, out.BitrateMaxBps = o.bitrate.figures()
	}
	if c := o.link; c != nil {
		out.RateControl = true
		out.LinkBps, out.QueueDelayMS = int(c.bps.Load()), ms(time.Duration(c.delay.Load()))
		out.RateDecreases, out.RateIncreases = c.decreases.Load(), c.increases.Load()
		out.CongestedSkips, out.KeyframesPostponed = c.skips.Load(), c.keyframesPostponed.Load()
	}
	return out
}

// Close stops the loops, closes the encoder and frees the view; sinks still attached are
// told (Ender).
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.closing.Store(true)
	s.mu.Unlock()
	s.stopOutput()
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
	s.editTick.Add(1)
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
