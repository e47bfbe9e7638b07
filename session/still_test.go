package session

import (
	"bytes"
	"errors"
	"image"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rendercast/rendercast/avc"
)

// repeatNALUs marks the frames a stillEncoder made with Repeat (a non-reference slice).
var repeatNALUs = []byte{0, 0, 0, 1, 0x01}

// stillEncoder is a streamEncoder that can also repeat and resize, as encode.H264Encoder
// does: Repeat fails before the first frame and while a keyframe is due; Resize makes the
// next frame an IDR carrying a new Config.
type stillEncoder struct {
	mu         sync.Mutex
	encodes    int
	repeats    int
	refusals   int // Repeat calls that failed
	pending    bool
	sizes      [][2]int // Resize calls
	lastSize   image.Point
	config     []byte
	newConfig  bool
	closed     bool
	resizeFail error
}

func (e *stillEncoder) Encode(img image.Image, pts time.Duration) (*avc.Frame, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errors.New("encode after Close")
	}
	e.encodes++
	e.lastSize = img.Bounds().Size()
	f := &avc.Frame{PTS: pts, DTS: pts, Keyframe: e.encodes == 1 || e.pending, NALUs: []byte{0, 0, 0, 1, 0x41}}
	e.pending = false
	if f.Keyframe {
		f.NALUs = []byte{0, 0, 0, 1, 0x65}
	}
	if e.encodes == 1 || e.newConfig {
		if e.config == nil {
			e.config = testConfig
		}
		f.Config, e.newConfig = e.config, false
	}
	return f, nil
}

func (e *stillEncoder) Repeat(pts time.Duration) (*avc.Frame, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.encodes == 0 || e.pending || e.closed {
		e.refusals++
		return nil, errors.New("no repeat: a keyframe is due")
	}
	e.repeats++
	return &avc.Frame{PTS: pts, DTS: pts, NALUs: repeatNALUs}, nil
}

func (e *stillEncoder) Resize(w, h int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.resizeFail != nil {
		return e.resizeFail
	}
	e.sizes = append(e.sizes, [2]int{w, h})
	e.config = append(append([]byte(nil), testConfig...), byte(w), byte(h)) // differs per size
	e.newConfig, e.pending = true, true
	return nil
}

func (e *stillEncoder) RequestKeyframe()     { e.mu.Lock(); e.pending = true; e.mu.Unlock() }
func (e *stillEncoder) SetBitrate(int) error { return nil }
func (e *stillEncoder) Name() string         { return "still-fake" }
func (e *stillEncoder) Close() error         { e.mu.Lock(); e.closed = true; e.mu.Unlock(); return nil }

func (e *stillEncoder) counts() (encodes, repeats int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.encodes, e.repeats
}

// stillSession makes a session with output whose encoder is enc, with the viewers' settings
// set by with (may be nil), and hooks, before any sink attaches.
func stillSession(t *testing.T, enc Encoder, opts Options, with func(v *Viewers)) (*Session, *testHooks) {
	t.Helper()
	v := viewers(t, nil)
	v.NewEncoder = func(EncoderOptions) (Encoder, error) { return enc, nil }
	if with != nil {
		with(v)
	}
	if opts.Width == 0 {
		opts.Width, opts.Height = 320, 180
	}
	s, err := New(v, "demo", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.hooks = &testHooks{}
	return s, s.hooks
}

func isRepeat(f *avc.Frame) bool { return bytes.Equal(f.NALUs, repeatNALUs) }

// orbit moves the camera as a client's call does (and asks for a render).
func orbit(t *testing.T, s *Session, dx float64) {
	t.Helper()
	if _, err := s.v.Dispatch(nil, []*Session{s}, "camera.orbit", Args{"dx": dx}); err != nil {
		t.Fatal(err)
	}
}

// A still session sends repeats, not encodes, while the frames keep coming; a call makes
// the next frame an encode of the new picture.
func TestStillSessionRepeatsAndACallEncodes(t *testing.T) {
	enc := &stillEncoder{}
	s, _ := stillSession(t, enc, Options{}, nil)
	k := newRecSink()
	attach(t, s, k)
	waitFor(t, "the sink kept 10 frames", 20*time.Second, func() bool { return k.keptCount() >= 10 })

	encBefore, repBefore := enc.counts()
	framesBefore := s.Stats().Frames
	time.Sleep(time.Second)
	encAfter, repAfter := enc.counts()
	frames := s.Stats().Frames - framesBefore
	if frames < 15 {
		t.Fatalf("%d frames in a second of a still picture, want the frame rate (30) to go on", frames)
	}
	if encAfter-encBefore > 1 {
		t.Errorf("a still picture was encoded %d times in a second (%d frames), want repeats", encAfter-encBefore, frames)
	}
	if repAfter-repBefore < int(frames)-1 {
		t.Errorf("%d repeats for %d frames of a still picture", repAfter-repBefore, frames)
	}
	st := s.Stats()
	if st.Repeats == 0 || st.Repeats < uint64(repAfter-repBefore) {
		t.Errorf("stats: %d repeats, the encoder made %d", st.Repeats, repAfter)
	}
	if st.State != StateStill {
		t.Errorf("state %q after a second without change, want %q", st.State, StateStill)
	}

	_, seenBefore := k.snapshot()
	orbit(t, s, 20)
	waitFor(t, "the call's picture encoded", 10*time.Second, func() bool { e, _ := enc.counts(); return e > encAfter })
	waitFor(t, "a frame after the call", 10*time.Second, func() bool { return k.keptCount() > len(seenBefore)+3 })
	_, kept := k.snapshot()
	after := kept[len(seenBefore):]
	firstEncode := -1
	for i, f := range after {
		if !isRepeat(f) {
			firstEncode = i
			break
		}
	}
	if firstEncode < 0 {
		t.Fatalf("no encoded frame among the %d frames after the call", len(after))
	}
	if firstEncode > 2 {
		t.Errorf("the call's picture came %d frames after the call, want the next one or so", firstEncode)
	}
}

// A viewer joining a still session gets an encoded keyframe (never a repeat), and the
// other viewer keeps getting frames.
func TestStillSessionJoinerGetsAnEncodedKeyframe(t *testing.T) {
	enc := &stillEncoder{}
	s, _ := stillSession(t, enc, Options{Shared: true}, nil)
	first := newRecSink()
	attach(t, s, first)
	waitFor(t, "the first sink kept 10 frames", 20*time.Second, func() bool { return first.keptCount() >= 10 })
	time.Sleep(2 * KeyframeSpacing)
	waitFor(t, "repeats", 10*time.Second, func() bool { _, r := enc.counts(); return r >= 5 })
	encBefore, _ := enc.counts()

	late := newRecSink()
	attach(t, s, late)
	waitFor(t, "the joiner kept 5 frames", 20*time.Second, func() bool { return late.keptCount() >= 5 })
	_, kept := late.snapshot()
	if !kept[0].Keyframe || isRepeat(kept[0]) || kept[0].Config == nil {
		t.Fatalf("the joiner's first frame: keyframe %v, repeat %v, config %x", kept[0].Keyframe, isRepeat(kept[0]), kept[0].Config)
	}
	if encAfter, _ := enc.counts(); encAfter <= encBefore {
		t.Errorf("no encode for the joiner (%d encodes before, %d after)", encBefore, encAfter)
	}
	for _, f := range kept[1:] {
		if !isRepeat(f) {
			t.Errorf("after the joiner's keyframe the still picture was encoded again (frame %v)", f.PTS)
		}
	}
	n := first.keptCount()
	waitFor(t, "the first sink keeps getting frames", 10*time.Second, func() bool { return first.keptCount() > n+5 })
}

// After RefineAfter without change, the picture is drawn refined once, encoded for the
// burst, then repeated.
func TestStillSessionRefinesOnce(t *testing.T) {
	enc := &stillEncoder{}
	const after, burst = 200 * time.Millisecond, 4
	s, _ := stillSession(t, enc, Options{}, func(v *Viewers) { v.RefineAfter, v.RefineBurst = after, burst })
	k := newRecSink()
	attach(t, s, k)
	waitFor(t, "the first refined frame", 20*time.Second, func() bool { return s.Stats().Refined == 1 })
	waitFor(t, "repeats of the refined picture", 10*time.Second, func() bool {
		_, r := enc.counts()
		return r > 5 && s.Stats().Repeats > 5
	})

	// A move: the interactive picture at once, then one refined picture after the rest.
	encBefore, _ := enc.counts()
	orbit(t, s, 15)
	moved := time.Now()
	waitFor(t, "the moved picture drawn", 10*time.Second, func() bool { return s.State() == StateMoving || s.Stats().Refined == 2 })
	waitFor(t, "the moved picture refined", 20*time.Second, func() bool { return s.Stats().Refined == 2 })
	if d := time.Since(moved); d < after {
		t.Errorf("refined %v after the move, want RefineAfter (%v) or later", d, after)
	}
	time.Sleep(time.Second)
	st := s.Stats()
	if st.Refined != 2 {
		t.Errorf("%d refined frames after two rests, want 2 (once per picture)", st.Refined)
	}
	if st.State != StateRefined {
		t.Errorf("state %q, want %q", st.State, StateRefined)
	}
	encAfter, _ := enc.counts()
	// One encode of the interactive picture, burst encodes of the refined one. One more
	// was seen once in a full CI run on a loaded machine (cause not found: a frame tick
	// that found the interactive canvas again); a second refinement would add a burst.
	if got := encAfter - encBefore; got < 1+burst || got > 2+burst {
		t.Errorf("%d encodes for a move and its refinement, want %d (1 + burst %d)", got, 1+burst, burst)
	}
	if st.RefineAborted != 0 || st.RefineFailed != 0 {
		t.Errorf("aborted %d, failed %d refinements with no edit during them", st.RefineAborted, st.RefineFailed)
	}
}

// An edit during a refined render aborts it; the edit is drawn at once and refined after
// its own rest.
func TestStillSessionRefineAbortedByAnEdit(t *testing.T) {
	enc := &stillEncoder{}
	s, hooks := stillSession(t, enc, Options{}, func(v *Viewers) { v.RefineAfter = 150 * time.Millisecond })
	var once sync.Once
	edited := make(chan struct{})
	hooks.abortPoll = func() {
		once.Do(func() {
			if _, err := s.Call("camera.orbit", Args{"dx": 25.0}); err != nil {
				panic(err)
			}
			s.RenderNow()
			close(edited)
		})
	}
	k := newRecSink()
	attach(t, s, k)
	select {
	case <-edited:
	case <-time.After(20 * time.Second):
		t.Fatal("the refined render never polled Abort")
	}
	rendersAtEdit := s.Stats().Renders
	waitFor(t, "the aborted refinement counted", 10*time.Second, func() bool { return s.Stats().RefineAborted == 1 })
	waitFor(t, "the edit drawn", 10*time.Second, func() bool { return s.Stats().Renders > rendersAtEdit })
	waitFor(t, "the edited picture refined", 20*time.Second, func() bool { return s.Stats().Refined >= 1 })
	if st := s.Stats(); st.RefineAborted != 1 || st.RefineFailed != 0 {
		t.Errorf("aborted %d (want 1), failed %d", st.RefineAborted, st.RefineFailed)
	}
}

// The adaptive scale steps down (not below 0.5) while renders cannot hold the render
// interval, and back up when they have room.
func TestAdaptiveScaleFollowsRenderTime(t *testing.T) {
	enc := &stillEncoder{}
	s, hooks := stillSession(t, enc, Options{}, func(v *Viewers) { v.Adaptive = true })
	hooks.renderDelay.Store(int64(60 * time.Millisecond)) // render interval 33 ms at 30/s
	k := newRecSink()
	attach(t, s, k)
	stop := make(chan struct{})
	moving := make(chan struct{})
	go func() { // keep the picture moving, as a dragging client does
		defer close(moving)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				s.v.Dispatch(nil, []*Session{s}, "camera.orbit", Args{"dx": 1.0})
			}
		}
	}()
	defer func() { close(stop); <-moving }()
	waitFor(t, "the scale at its floor", 30*time.Second, func() bool { return s.Stats().Scale == 0.5 })
	time.Sleep(500 * time.Millisecond)
	if st := s.Stats(); st.Scale != 0.5 || !st.Adaptive || st.ScaleSteps != 2 {
		t.Fatalf("slow renders: scale %v (want the floor 0.5), adaptive %v, %d steps (want 2)", st.Scale, st.Adaptive, st.ScaleSteps)
	}
	hooks.renderDelay.Store(0)
	waitFor(t, "the scale back at 1", 30*time.Second, func() bool { return s.Stats().Scale == 1 })
}

// Slow renders that drawing smaller does not make cheaper: the session tries a smaller
// scale, undoes it and stays at full size.
func TestAdaptiveScaleUndoneWhenItDoesNotPay(t *testing.T) {
	enc := &stillEncoder{}
	s, hooks := stillSession(t, enc, Options{}, func(v *Viewers) { v.Adaptive = true })
	hooks.flatDelay.Store(true)
	hooks.renderDelay.Store(int64(60 * time.Millisecond))
	k := newRecSink()
	attach(t, s, k)
	stop := make(chan struct{})
	moving := make(chan struct{})
	go func() {
		defer close(moving)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				s.v.Dispatch(nil, []*Session{s}, "camera.orbit", Args{"dx": 1.0})
			}
		}
	}()
	defer func() { close(stop); <-moving }()
	waitFor(t, "a step down undone", 30*time.Second, func() bool { return s.Stats().ScaleUndone >= 1 })
	time.Sleep(2 * time.Second) // within the hold: no new try
	if st := s.Stats(); st.Scale != 1 || st.ScaleUndone != 1 || st.ScaleSteps != 2 {
		t.Fatalf("flat-cost renders: scale %v (want 1), %d undone (want 1), %d steps (want 2)", st.Scale, st.ScaleUndone, st.ScaleSteps)
	}
}

// The controller itself, on a made-up clock, with renders whose cost follows the drawn area.
func TestAdaptiveControl(t *testing.T) {
	interval := 33 * time.Millisecond
	now := time.Unix(0, 0)
	a := newAdaptiveControl(true)
	// feed observes n renders costing full at scale 1 and full*scale² below.
	feed := func(full time.Duration, n int) {
		for range n {
			now = now.Add(interval)
			s := a.scale()
			a.observe(time.Duration(float64(full)*s*s), interval, now)
		}
	}
	feed(20*time.Millisecond, 100) // 60%: neither up nor down
	if a.scale() != 1 {
		t.Fatalf("scale %v at 60%% of the interval, want 1", a.scale())
	}
	feed(70*time.Millisecond, adaptiveSamples)
	if a.scale() != 0.75 {
		t.Fatalf("scale %v after slow renders, want 0.75", a.scale())
	}
	feed(70*time.Millisecond, 100) // 39 ms at 0.75: still too slow; 17.5 ms at 0.5
	if a.scale() != 0.5 {
		t.Fatalf("scale %v after more slow renders, want the floor 0.5", a.scale())
	}
	// The average takes a few renders to come down; then the room must last adaptiveRoom.
	roomRenders := int(adaptiveRoom / interval)
	feed(20*time.Millisecond, roomRenders-2)
	if a.scale() != 0.5 {
		t.Fatalf("scale %v before %v with room, want 0.5", a.scale(), adaptiveRoom)
	}
	feed(20*time.Millisecond, 12)
	if a.scale() != 0.75 {
		t.Fatalf("scale %v after %v with room, want 0.75", a.scale(), adaptiveRoom)
	}
	// The step up did not hold: the next one waits twice as long. (The average comes up
	// from the quiet renders first, then must stay high adaptiveSamples renders in a row.)
	feed(70*time.Millisecond, 2*adaptiveSamples)
	if a.scale() != 0.5 {
		t.Fatalf("scale %v, want 0.5 again", a.scale())
	}
	feed(20*time.Millisecond, roomRenders+12)
	if a.scale() != 0.5 {
		t.Fatalf("scale %v: stepped up after %v although the last step up did not hold", a.scale(), adaptiveRoom)
	}
	feed(20*time.Millisecond, roomRenders+12)
	if a.scale() != 0.75 {
		t.Fatalf("scale %v after twice %v with room, want 0.75", a.scale(), adaptiveRoom)
	}
	if _, _, undone := a.figures(); undone != 0 {
		t.Fatalf("%d steps undone although every step down paid", undone)
	}
	off := newAdaptiveControl(false)
	for range 100 {
		now = now.Add(interval)
		off.observe(time.Second, interval, now)
	}
	if off.scale() != 1 {
		t.Fatalf("adaptive off: scale %v, want 1", off.scale())
	}
}

// A renderer that drawing smaller does not help (llvmpipe's fast path, where the pass that
// scales the picture up costs more than the smaller draw saves): the step down is undone at
// once and not tried again for adaptiveHold, then tried again with a longer hold.
func TestAdaptiveControlUndoesAStepThatDoesNotPay(t *testing.T) {
	interval := 33 * time.Millisecond
	now := time.Unix(0, 0)
	a := newAdaptiveControl(true)
	feed := func(at1, below time.Duration, n int) (lowest float64) {
		lowest = 1
		for range n {
			now = now.Add(interval)
			d := at1
			if a.scale() < 1 {
				d = below
			}
			a.observe(d, interval, now)
			lowest = min(lowest, a.scale())
		}
		return lowest
	}
	// 40 ms at full size, 44 ms smaller: one try, undone after adaptiveSamples renders.
	if lowest := feed(40*time.Millisecond, 44*time.Millisecond, 20); lowest != 0.75 || a.scale() != 1 {
		t.Fatalf("lowest scale %v, now %v: want one step to 0.75, undone to 1", lowest, a.scale())
	}
	if _, steps, undone := a.figures(); steps != 2 || undone != 1 {
		t.Fatalf("%d steps, %d undone; want 2 and 1", steps, undone)
	}
	held := int(adaptiveHold/interval) - 25
	if lowest := feed(40*time.Millisecond, 44*time.Millisecond, held); lowest != 1 {
		t.Fatalf("stepped down to %v within %v of an undone step", lowest, adaptiveHold)
	}
	if lowest := feed(40*time.Millisecond, 44*time.Millisecond, 60); lowest != 0.75 || a.scale() != 1 {
		t.Fatalf("after the hold: lowest %v, now %v; want a new try at 0.75, undone", lowest, a.scale())
	}
	if a.hold != 4*adaptiveHold {
		t.Fatalf("hold %v after two undone steps, want %v", a.hold, 4*adaptiveHold)
	}
}

// A storm of size changes is coalesced (at most one per ResizeSpacing), ends at the last
// size asked for, and never stops the stream.
func TestSetSizeStormCoalesces(t *testing.T) {
	enc := &stillEncoder{}
	s, _ := stillSession(t, enc, Options{}, nil)
	k := newRecSink()
	attach(t, s, k)
	waitFor(t, "the sink kept 5 frames", 20*time.Second, func() bool { return k.keptCount() >= 5 })

	sizes := [][2]int{{256, 144}, {320, 240}, {160, 90}, {400, 224}}
	start := time.Now()
	calls := 0
	for time.Since(start) < 1500*time.Millisecond {
		sz := sizes[calls%len(sizes)]
		if _, err := s.v.Dispatch(&fakeTransport{}, []*Session{s}, "stream.setSize", Args{"width": float64(sz[0]), "height": float64(sz[1])}); err != nil {
			t.Fatal(err)
		}
		calls++
		time.Sleep(2 * time.Millisecond)
	}
	last := sizes[(calls-1)%len(sizes)]
	elapsed := time.Since(start)
	waitFor(t, "the last size applied", 10*time.Second, func() bool { w, h := s.Size(); return w == last[0] && h == last[1] })
	framesAt := s.Stats().Frames
	waitFor(t, "frames at the new size", 10*time.Second, func() bool { return s.Stats().Frames > framesAt+10 })
	st := s.Stats()
	limit := uint64(time.Since(start)/ResizeSpacing) + 2
	if st.Resizes == 0 || st.Resizes > limit {
		t.Errorf("%d calls in %v applied %d resizes, want 1..%d", calls, elapsed, st.Resizes, limit)
	}
	if st.Width != last[0] || st.Height != last[1] || st.ResizeFailures != 0 {
		t.Errorf("stats: %dx%d, %d failures; want %dx%d", st.Width, st.Height, st.ResizeFailures, last[0], last[1])
	}
	if err := s.Err(); err != nil {
		t.Fatalf("the session stopped: %v", err)
	}
	enc.mu.Lock()
	nsizes, got := len(enc.sizes), enc.lastSize
	enc.mu.Unlock()
	if uint64(nsizes) != st.Resizes {
		t.Errorf("the encoder was resized %d times, the session counts %d", nsizes, st.Resizes)
	}
	if got.X != last[0] || got.Y != last[1] {
		t.Errorf("the encoder's last picture is %v, want %dx%d", got, last[0], last[1])
	}
	// Every resize gave the sink a keyframe with the new configuration before any frame
	// at the new size.
	_, kept := k.snapshot()
	var config []byte
	for i, f := range kept {
		if f.Config != nil && !bytes.Equal(f.Config, config) {
			if !f.Keyframe {
				t.Fatalf("frame %d brought a new Config without being a keyframe", i)
			}
			config = f.Config
		}
	}
	if want := append(append([]byte(nil), testConfig...), byte(last[0]), byte(last[1])); !bytes.Equal(config, want) {
		t.Errorf("the sink's last Config is %x, want the last size's %x", config, want)
	}
}

// Sizes that are odd, zero, negative, fractional, too large or missing are refused with an
// error naming the argument; nothing is resized.
func TestSetSizeBadArguments(t *testing.T) {
	enc := &stillEncoder{}
	s, _ := stillSession(t, enc, Options{}, func(v *Viewers) { v.MaxWidth, v.MaxHeight = 1920, 1080 })
	for _, c := range []struct {
		args Args
		arg  string
	}{
		{Args{"width": 641.0, "height": 360.0}, "width"},
		{Args{"width": 640.0, "height": 361.0}, "height"},
		{Args{"width": 0.0, "height": 360.0}, "width"},
		{Args{"width": -640.0, "height": 360.0}, "width"},
		{Args{"width": 640.5, "height": 360.0}, "width"},
		{Args{"width": 1922.0, "height": 360.0}, "width"},
		{Args{"width": 640.0, "height": 1082.0}, "height"},
		{Args{"height": 360.0}, "width"},
		{Args{"width": 640.0}, "height"},
		{Args{"width": "640", "height": 360.0}, "width"},
	} {
		_, err := s.v.Dispatch(&fakeTransport{}, []*Session{s}, "stream.setSize", c.args)
		var ae *ArgError
		if !errors.As(err, &ae) || ae.Arg != c.arg || ae.Call != "stream.setSize" {
			t.Errorf("%v: %v, want an ArgError naming %q", c.args, err, c.arg)
		}
	}
	if s.resizeWanted() {
		t.Error("a refused size is pending")
	}
	if _, err := s.v.Dispatch(&fakeTransport{}, nil, "stream.setSize", Args{"width": 640.0, "height": 360.0}); !errors.Is(err, ErrNotPlaying) {
		t.Errorf("without a view: %v, want ErrNotPlaying", err)
	}
	// An encoder that cannot resize: the call says so.
	plain := outputSession(t, "demo", Options{}, &streamEncoder{})
	if err := plain.SetSize(640, 360); !errors.Is(err, ErrNoResize) {
		t.Errorf("SetSize with an encoder that cannot resize: %v, want ErrNoResize", err)
	}
}

// An encoder that refuses the size leaves the old size and the stream going.
func TestSetSizeEncoderRefusal(t *testing.T) {
	enc := &stillEncoder{resizeFail: errors.New("no such size here")}
	s, _ := stillSession(t, enc, Options{}, nil)
	k := newRecSink()
	attach(t, s, k)
	waitFor(t, "the sink kept 5 frames", 20*time.Second, func() bool { return k.keptCount() >= 5 })
	if err := s.SetSize(256, 144); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the refusal counted", 10*time.Second, func() bool { return s.Stats().ResizeFailures == 1 })
	n := k.keptCount()
	waitFor(t, "frames after the refusal", 10*time.Second, func() bool { return k.keptCount() > n+10 })
	if w, h := s.Size(); w != 320 || h != 180 || s.Err() != nil {
		t.Fatalf("after a refused resize: %dx%d, err %v; want 320x180 and running", w, h, s.Err())
	}
	enc.mu.Lock()
	got := enc.lastSize
	enc.mu.Unlock()
	if got != image.Pt(320, 180) {
		t.Fatalf("the encoder got a %v picture after a refused resize", got)
	}
}

// Sessions of one Viewers draw their refined frames one at a time (RefineSlots 1): a
// refined frame takes every core of a software renderer for tens of ms, and several at once
// starve the other sessions' frame loops. Every session still gets its refinement.
func TestRefinedFramesOneAtATime(t *testing.T) {
	v := viewers(t, nil)
	v.RefineAfter = 100 * time.Millisecond
	v.NewEncoder = func(EncoderOptions) (Encoder, error) { return &stillEncoder{}, nil }
	var active, most atomic.Int32
	poll := func() { // runs between the parts of a refined frame
		n := active.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(20 * time.Millisecond)
		active.Add(-1)
	}
	var list []*Session
	for range 3 {
		s, err := New(v, "demo", Options{Width: 320, Height: 180})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		s.hooks = &testHooks{abortPoll: poll}
		list = append(list, s)
	}
	for _, s := range list {
		attach(t, s, newRecSink())
	}
	waitFor(t, "every session refined", 30*time.Second, func() bool {
		for _, s := range list {
			if s.Stats().Refined < 1 {
				return false
			}
		}
		return true
	})
	var waits uint64
	for _, s := range list {
		waits += s.Stats().RefineWaits
	}
	if m := most.Load(); m != 1 {
		t.Errorf("%d refined frames drawn at once, want 1", m)
	}
	if waits == 0 {
		t.Errorf("no session waited for a slot although three became still together")
	}
}

// A low-delay session (private, under rate control) encodes a still picture's keyframe
// keyframeLift times before repeating it (a one-frame buffer starves keyframes); a shared
// session, which has the full buffer, once. The encoder is asked for low delay exactly then.
func TestStillKeyframeLiftInLowDelaySessions(t *testing.T) {
	for _, shared := range []bool{false, true} {
		enc := &stillEncoder{}
		var asked []EncoderOptions
		s, _ := stillSession(t, enc, Options{Shared: shared}, func(v *Viewers) {
			v.NewEncoder = func(o EncoderOptions) (Encoder, error) { asked = append(asked, o); return enc, nil }
		})
		if len(asked) != 1 || asked[0].LowDelay == shared {
			t.Fatalf("shared %v: encoder options %+v, want LowDelay %v", shared, asked, !shared)
		}
		k := newRecSink()
		attach(t, s, k)
		waitFor(t, "repeats", 20*time.Second, func() bool { _, r := enc.counts(); return r >= 5 })
		want := keyframeLift
		if shared {
			want = 1
		}
		if n, _ := enc.counts(); n != want {
			t.Errorf("shared %v: the still picture was encoded %d times before its repeats, want %d", shared, n, want)
		}
	}
}
