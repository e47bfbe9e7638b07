package session

import (
	"bytes"
	"errors"
	"image"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/pacer"
)

// testConfig is the AVCDecoderConfigurationRecord the stream encoder puts on its first
// frame only, as x264 does.
var testConfig = []byte{1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0xc0, 0x1e, 1, 0, 4, 0x68, 0xce, 0x3c, 0x80}

var errEncoderBroke = errors.New("encoder broke")

// streamEncoder is a session's encoder that behaves like a real one as far as sinks can
// tell: its first frame and the frame after a RequestKeyframe are IDRs, every other frame
// is a P-frame, and only the first frame carries Config. With failAt > 0 the failAt-th
// Encode fails.
type streamEncoder struct {
	failAt int

	mu      sync.Mutex
	encodes int
	keyReqs int
	pending bool
	bps     int
	closed  bool
}

func (e *streamEncoder) Encode(img image.Image, pts time.Duration) (*avc.Frame, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errors.New("encode after Close")
	}
	e.encodes++
	if e.failAt > 0 && e.encodes >= e.failAt {
		return nil, errEncoderBroke
	}
	f := &avc.Frame{PTS: pts, DTS: pts, Keyframe: e.encodes == 1 || e.pending}
	e.pending = false
	if f.Keyframe {
		f.NALUs = []byte{0, 0, 0, 1, 0x65}
	} else {
		f.NALUs = []byte{0, 0, 0, 1, 0x41}
	}
	if e.encodes == 1 {
		f.Config = testConfig
	}
	return f, nil
}

func (e *streamEncoder) RequestKeyframe() {
	e.mu.Lock()
	e.keyReqs++
	e.pending = true
	e.mu.Unlock()
}

func (e *streamEncoder) SetBitrate(b int) error { e.mu.Lock(); e.bps = b; e.mu.Unlock(); return nil }
func (e *streamEncoder) Name() string           { return "stream-fake" }
func (e *streamEncoder) Close() error           { e.mu.Lock(); e.closed = true; e.mu.Unlock(); return nil }

// counts returns the Encode calls and keyframe requests so far.
func (e *streamEncoder) counts() (encodes, keyReqs int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.encodes, e.keyReqs
}

func (e *streamEncoder) bitrate() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.bps
}

func (e *streamEncoder) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

// outputSession makes a session with output whose encoder is a streamEncoder.
func outputSession(t *testing.T, scene string, opts Options, enc *streamEncoder) *Session {
	t.Helper()
	v := viewers(t, nil)
	v.NewEncoder = func(EncoderOptions) (Encoder, error) { return enc, nil }
	if opts.Width == 0 {
		opts.Width, opts.Height = 320, 180
	}
	s, err := New(v, scene, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// recSink is a sink that behaves as a transport's would: it takes nothing but a keyframe
// at its start and after a drop, and asks for one (WriteFrame returns true) meanwhile.
// It records every frame handed to it and the frames it kept.
type recSink struct {
	// slow drops every frame and always asks for a keyframe.
	slow bool
	// full is what QueueFull reports.
	full atomic.Bool
	// drop, when set, picks frames to drop (as a full queue would).
	drop func(f *avc.Frame) bool

	mu      sync.Mutex
	seen    []*avc.Frame // every frame handed over
	kept    []*avc.Frame
	seenAt  []time.Time
	waitKey bool
	started bool
	wants   int // WriteFrame calls that returned true
	ends    int
	endErr  error
	ended   chan struct{}
	endOnce sync.Once
}

func newRecSink() *recSink { return &recSink{ended: make(chan struct{})} }

func (k *recSink) WriteFrame(f *avc.Frame) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.seen = append(k.seen, f)
	k.seenAt = append(k.seenAt, time.Now())
	want := false
	switch {
	case k.slow:
		want = true
	case k.drop != nil && k.drop(f):
		k.waitKey, want = true, true
	case (!k.started || k.waitKey) && !f.Keyframe:
		want = true
	default:
		k.started, k.waitKey = true, false
		k.kept = append(k.kept, f)
	}
	if want {
		k.wants++
	}
	return want
}

func (k *recSink) QueueFull() bool { return k.full.Load() }

func (k *recSink) End(err error) {
	k.mu.Lock()
	k.ends++
	k.endErr = err
	k.mu.Unlock()
	k.endOnce.Do(func() { close(k.ended) })
}

// snapshot returns copies of what the sink saw and kept.
func (k *recSink) snapshot() (seen, kept []*avc.Frame) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]*avc.Frame(nil), k.seen...), append([]*avc.Frame(nil), k.kept...)
}

func (k *recSink) keptCount() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.kept)
}

func (k *recSink) seenCount() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.seen)
}

// waitFor polls cond until it holds or the (generous) deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func attach(t *testing.T, s *Session, k Sink) func() {
	t.Helper()
	detach, err := s.Attach(k)
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	return detach
}

// checkKeyframesCarryConfig fails for a keyframe without the encoder's Config.
func checkKeyframesCarryConfig(t *testing.T, who string, frames []*avc.Frame) {
	t.Helper()
	keys := 0
	for i, f := range frames {
		if f.Keyframe {
			keys++
			if !bytes.Equal(f.Config, testConfig) {
				t.Errorf("%s: keyframe %d (PTS %v) has Config %x, want the encoder's %x", who, i, f.PTS, f.Config, testConfig)
			}
		}
	}
	if keys == 0 {
		t.Errorf("%s: no keyframe among %d frames", who, len(frames))
	}
}

func ptsIndex(frames []*avc.Frame, pts time.Duration) int {
	for i, f := range frames {
		if f.PTS == pts {
			return i
		}
	}
	return -1
}

// Every sink gets the same frames, in the same order, from its first.
func TestOutputFansOutTheSameFrames(t *testing.T) {
	enc := &streamEncoder{}
	s := outputSession(t, "demo", Options{}, enc)
	sinks := []*recSink{newRecSink(), newRecSink(), newRecSink()}
	for _, k := range sinks {
		attach(t, s, k)
	}
	waitFor(t, "every sink kept 20 frames", 20*time.Second, func() bool {
		for _, k := range sinks {
			if k.keptCount() < 20 {
				return false
			}
		}
		return true
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The loops have stopped: nothing more arrives.
	last, _ := sinks[2].snapshot()
	first := last[0].PTS
	for i, k := range sinks {
		seen, kept := k.snapshot()
		checkKeyframesCarryConfig(t, "sink", kept)
		// Attached before the first frame, every sink started with the first keyframe
		// and needed nothing else.
		if len(kept) != len(seen) {
			t.Errorf("sink %d kept %d of the %d frames handed to it", i, len(kept), len(seen))
		}
		// The sinks were attached one after the other: from the last one's first frame
		// on, every sink saw exactly the same frames.
		j := ptsIndex(seen, first)
		if j < 0 {
			t.Fatalf("sink %d never saw the frame at %v that the last sink started with", i, first)
		}
		if got, want := len(seen)-j, len(last); got != want {
			t.Fatalf("sink %d saw %d frames from %v, the last sink %d", i, got, first, want)
		}
		for n, f := range seen[j:] {
			if f.PTS != last[n].PTS || f.Keyframe != last[n].Keyframe || !bytes.Equal(f.NALUs, last[n].NALUs) {
				t.Fatalf("sink %d frame %d: PTS %v key %v, last sink: PTS %v key %v", i, n, f.PTS, f.Keyframe, last[n].PTS, last[n].Keyframe)
			}
		}
		for n := 1; n < len(seen); n++ {
			if seen[n].PTS <= seen[n-1].PTS {
				t.Fatalf("sink %d: PTS %v after %v", i, seen[n].PTS, seen[n-1].PTS)
			}
		}
	}
	st := s.Stats()
	if st.Frames < uint64(len(last)) || st.Keyframes == 0 || st.BytesOut < 5*st.Frames {
		t.Errorf("stats: %d frames, %d keyframes, %d bytes; sinks saw %d frames", st.Frames, st.Keyframes, st.BytesOut, len(last))
	}
}

// A sink attached to a running session starts with a keyframe carrying Config, although
// the encoder put Config on its first frame only.
func TestOutputLateSinkStartsWithKeyframeAndConfig(t *testing.T) {
	enc := &streamEncoder{}
	s := outputSession(t, "demo", Options{}, enc)
	early := newRecSink()
	attach(t, s, early)
	waitFor(t, "the first sink kept 15 frames", 20*time.Second, func() bool { return early.keptCount() >= 15 })
	time.Sleep(2 * KeyframeSpacing) // past the spacing of the keyframe forced for the first sink
	_, keysBefore := enc.counts()
	forcedBefore := s.Stats().ForcedKeyframes

	late := newRecSink()
	attached := time.Now()
	attach(t, s, late)
	waitFor(t, "the late sink kept 10 frames", 20*time.Second, func() bool { return late.keptCount() >= 10 })
	seen, kept := late.snapshot()
	if !kept[0].Keyframe || !bytes.Equal(kept[0].Config, testConfig) {
		t.Fatalf("the late sink's first frame: keyframe %v, Config %x; want a keyframe with Config %x", kept[0].Keyframe, kept[0].Config, testConfig)
	}
	// The keyframe was forced for it at once: at most the frame in flight when it attached
	// came before.
	if dropped := ptsIndex(seen, kept[0].PTS); dropped > 1 {
		t.Errorf("the late sink was handed %d frames before its keyframe, want at most 1", dropped)
	}
	late.mu.Lock()
	wait := late.seenAt[ptsIndex(late.seen, kept[0].PTS)].Sub(attached)
	late.mu.Unlock()
	if wait > 5*time.Second {
		t.Errorf("the late sink waited %v for its keyframe", wait)
	}
	_, keysAfter := enc.counts()
	if d := keysAfter - keysBefore; d != 1 {
		t.Errorf("%d keyframe requests for one joiner, want 1", d)
	}
	if d := s.Stats().ForcedKeyframes - forcedBefore; d != 1 {
		t.Errorf("ForcedKeyframes grew by %d for one joiner, want 1", d)
	}
	// The early sink got that keyframe too, with Config.
	_, earlyKept := early.snapshot()
	if i := ptsIndex(earlyKept, kept[0].PTS); i < 0 || !earlyKept[i].Keyframe {
		t.Errorf("the early sink did not get the late sink's keyframe")
	}
	checkKeyframesCarryConfig(t, "early sink", earlyKept)
	t.Logf("late sink: keyframe after %v, %d frames handed before it", wait, ptsIndex(seen, kept[0].PTS))
}

// Two sinks that want a keyframe at once (two joiners, or two sinks dropping the same
// frame) get one forced keyframe, not two.
func TestOutputOneForcedKeyframeForSeveralWants(t *testing.T) {
	enc := &streamEncoder{}
	s := outputSession(t, "demo", Options{}, enc)

	// Sink a picks a frame after the trigger is armed and drops it; sink b, which comes
	// after a in the same frame step, drops the same frame.
	var trig struct {
		mu    sync.Mutex
		armed bool
		set   bool
		pts   time.Duration
	}
	picked := func(f *avc.Frame) bool {
		trig.mu.Lock()
		defer trig.mu.Unlock()
		return trig.set && f.PTS == trig.pts
	}
	a, b := newRecSink(), newRecSink()
	a.drop = func(f *avc.Frame) bool {
		trig.mu.Lock()
		if trig.armed && !trig.set && !f.Keyframe {
			trig.set, trig.pts = true, f.PTS
		}
		trig.mu.Unlock()
		return picked(f)
	}
	b.drop = picked
	attach(t, s, a)
	attach(t, s, b)
	waitFor(t, "both sinks kept 15 frames", 20*time.Second, func() bool { return a.keptCount() >= 15 && b.keptCount() >= 15 })
	time.Sleep(2 * KeyframeSpacing)

	counts := func() (keyReqs int, forced uint64) {
		_, keyReqs = enc.counts()
		return keyReqs, s.Stats().ForcedKeyframes
	}
	keptAfter := func(k *recSink, pts time.Duration) int {
		_, kept := k.snapshot()
		n := 0
		for _, f := range kept {
			if f.PTS > pts {
				n++
			}
		}
		return n
	}
	k0, f0 := counts()
	trig.mu.Lock()
	trig.armed = true
	trig.mu.Unlock()
	waitFor(t, "a frame dropped", 20*time.Second, func() bool {
		trig.mu.Lock()
		defer trig.mu.Unlock()
		return trig.set
	})
	waitFor(t, "both sinks recovered", 20*time.Second, func() bool {
		return keptAfter(a, trig.pts) >= 5 && keptAfter(b, trig.pts) >= 5
	})
	time.Sleep(2 * KeyframeSpacing) // a second forced keyframe would come within this
	k1, f1 := counts()
	if k1-k0 != 1 || f1-f0 != 1 {
		t.Errorf("two sinks dropping one frame: %d keyframe requests, %d forced keyframes; want 1 and 1", k1-k0, f1-f0)
	}
	for who, k := range map[string]*recSink{"a": a, "b": b} {
		seen, kept := k.snapshot()
		k.mu.Lock()
		wants := k.wants
		k.mu.Unlock()
		if wants != 1 {
			t.Errorf("sink %s asked for %d keyframes, want 1 (the dropped frame)", who, wants)
		}
		if ptsIndex(kept, trig.pts) >= 0 {
			t.Errorf("sink %s kept the frame it dropped", who)
		}
		if i := ptsIndex(seen, trig.pts); i < 0 || i+1 >= len(seen) || !seen[i+1].Keyframe {
			t.Errorf("sink %s: the frame after the drop is not a keyframe", who)
		}
		checkKeyframesCarryConfig(t, "sink "+who, kept)
	}

	// Two joiners attached together.
	c, d := newRecSink(), newRecSink()
	attach(t, s, c)
	attach(t, s, d)
	waitFor(t, "both joiners kept 5 frames", 20*time.Second, func() bool { return c.keptCount() >= 5 && d.keptCount() >= 5 })
	time.Sleep(2 * KeyframeSpacing)
	k2, f2 := counts()
	if k2-k1 != 1 || f2-f1 != 1 {
		t.Errorf("two joiners: %d keyframe requests, %d forced keyframes; want 1 and 1", k2-k1, f2-f1)
	}
	_, ck := c.snapshot()
	_, dk := d.snapshot()
	if ck[0].PTS != dk[0].PTS || !ck[0].Keyframe {
		t.Errorf("the joiners started at %v (key %v) and %v: want the same keyframe", ck[0].PTS, ck[0].Keyframe, dk[0].PTS)
	}
}

// A sink that always wants a keyframe neither slows the others (they get every frame)
// nor makes the encoder send more than one forced keyframe per KeyframeSpacing.
func TestOutputSlowSinkDoesNotHoldBackTheOthers(t *testing.T) {
	enc := &streamEncoder{}
	s := outputSession(t, "demo", Options{}, enc)
	a, b := newRecSink(), newRecSink()
	slow := newRecSink()
	slow.slow = true
	attach(t, s, a)
	attach(t, s, b)
	waitFor(t, "the sinks kept 10 frames", 20*time.Second, func() bool { return a.keptCount() >= 10 && b.keptCount() >= 10 })
	time.Sleep(2 * KeyframeSpacing)
	_, k0 := enc.counts()
	f0 := s.Stats().ForcedKeyframes
	aSeen0 := a.seenCount()
	start := time.Now()
	attach(t, s, slow)
	time.Sleep(2 * time.Second)
	_, k1 := enc.counts()
	f1 := s.Stats().ForcedKeyframes
	elapsed := time.Since(start)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	aSeen, aKept := a.snapshot()
	bSeen, bKept := b.snapshot()
	slowSeen, _ := slow.snapshot()
	if len(aKept) != len(aSeen) || len(bKept) != len(bSeen) {
		t.Errorf("the steady sinks dropped frames: a kept %d of %d, b %d of %d", len(aKept), len(aSeen), len(bKept), len(bSeen))
	}
	if got := len(aSeen) - aSeen0; got < len(slowSeen) || got < 20 {
		t.Errorf("in %v with a slow sink, sink a got %d frames (slow sink %d), want every frame (at least 20)", elapsed, got, len(slowSeen))
	}
	if len(aSeen) != len(bSeen) {
		t.Errorf("sinks a and b got %d and %d frames", len(aSeen), len(bSeen))
	}
	// Nor does it raise the frame rate (every frame encoded costs the encoder): at most the
	// frame rate (30/s), with one frame of slack per forced keyframe.
	if got, most := len(aSeen)-aSeen0, int(elapsed.Seconds()*30*1.1)+int(elapsed/KeyframeSpacing)+3; got > most {
		t.Errorf("in %v with a slow sink, %d frames were made, want at most %d (30 frames/s)", elapsed, got, most)
	}
	// Forced keyframes: at most one per KeyframeSpacing (plus the one at the start).
	forced := f1 - f0
	limit := uint64(elapsed/KeyframeSpacing) + 1
	if forced > limit || forced < 2 {
		t.Errorf("%d keyframes forced in %v for a sink that always wants one, want 2 to %d", forced, elapsed, limit)
	}
	if uint64(k1-k0) != forced {
		t.Errorf("%d keyframe requests to the encoder, %d forced keyframes counted", k1-k0, forced)
	}
	var prev time.Duration = -1
	keys := 0
	for _, f := range slowSeen {
		if !f.Keyframe {
			continue
		}
		keys++
		if prev >= 0 && f.PTS-prev < KeyframeSpacing-50*time.Millisecond {
			t.Errorf("keyframes at %v and %v: closer than %v", prev, f.PTS, KeyframeSpacing)
		}
		prev = f.PTS
	}
	checkKeyframesCarryConfig(t, "sink a", aKept)
	t.Logf("%v with a slow sink: %d frames to each steady sink, %d keyframes forced (%d seen by the slow sink)", elapsed.Round(time.Millisecond), len(aSeen)-aSeen0, forced, keys)
}

// When every sink's queue is full nothing is encoded; one sink with room is enough.
func TestOutputAllQueuesFullSkipsEncoding(t *testing.T) {
	enc := &streamEncoder{}
	s := outputSession(t, "demo", Options{}, enc)
	a, b := newRecSink(), newRecSink()
	a.full.Store(true)
	b.full.Store(true)
	attach(t, s, a)
	attach(t, s, b)
	waitFor(t, "skipped frames counted", 20*time.Second, func() bool { return s.Stats().SkippedFrames >= 10 })
	if n, _ := enc.counts(); n != 0 || a.seenCount() != 0 || b.seenCount() != 0 {
		t.Fatalf("with every queue full: %d Encode calls, %d and %d frames handed to the sinks; want none", n, a.seenCount(), b.seenCount())
	}
	if st := s.Stats(); st.Encodes != 0 || st.Frames != 0 {
		t.Fatalf("stats with every queue full: %d encodes, %d frames", st.Encodes, st.Frames)
	}
	b.full.Store(false)
	waitFor(t, "sink b kept 5 frames once it had room", 20*time.Second, func() bool { return b.keptCount() >= 5 })
	_, bk := b.snapshot()
	if !bk[0].Keyframe || !bytes.Equal(bk[0].Config, testConfig) {
		t.Errorf("first frame after the queues emptied: keyframe %v, Config %x", bk[0].Keyframe, bk[0].Config)
	}
	skipped := s.Stats().SkippedFrames
	time.Sleep(300 * time.Millisecond)
	if got := s.Stats().SkippedFrames; got != skipped {
		t.Errorf("SkippedFrames grew from %d to %d with one queue not full", skipped, got)
	}
}

// Without sinks the loops are paused: neither renders nor encodes, before the first
// sink and after the last one leaves.
func TestOutputPausedWithoutSinks(t *testing.T) {
	enc := &streamEncoder{}
	// An animated scene: running loops would draw on every render.
	s := outputSession(t, "testcard", Options{Animate: true}, enc)
	time.Sleep(400 * time.Millisecond)
	if st := s.Stats(); st.Renders != 0 || st.Encodes != 0 {
		t.Fatalf("before any sink: %d renders, %d encodes; want none", st.Renders, st.Encodes)
	}
	if n, _ := enc.counts(); n != 0 {
		t.Fatalf("before any sink: %d Encode calls", n)
	}
	k := newRecSink()
	detach := attach(t, s, k)
	waitFor(t, "the sink kept 5 frames", 20*time.Second, func() bool { return k.keptCount() >= 5 })
	if s.Stats().Renders < 2 {
		t.Fatalf("an animated scene drew %d times while watched", s.Stats().Renders)
	}
	detach()
	if s.Sinks() != 0 {
		t.Fatalf("%d sinks after detach", s.Sinks())
	}
	time.Sleep(200 * time.Millisecond) // a step under way when detached may finish
	before := s.Stats()
	encBefore, _ := enc.counts()
	time.Sleep(400 * time.Millisecond)
	after := s.Stats()
	encAfter, _ := enc.counts()
	if after.Renders != before.Renders || after.Encodes != before.Encodes || encAfter != encBefore {
		t.Errorf("after the last sink left: renders %d -> %d, encodes %d -> %d (encoder %d -> %d); want none",
			before.Renders, after.Renders, before.Encodes, after.Encodes, encBefore, encAfter)
	}
	seen := k.seenCount()
	time.Sleep(100 * time.Millisecond)
	if k.seenCount() != seen {
		t.Error("a detached sink still gets frames")
	}
	// A new sink resumes the loops.
	k2 := newRecSink()
	attach(t, s, k2)
	waitFor(t, "a new sink kept 3 frames", 20*time.Second, func() bool { return k2.keptCount() >= 3 })
}

// Detaching twice removes the sink once: the other sinks stay attached.
func TestOutputDetachTwice(t *testing.T) {
	enc := &streamEncoder{}
	s := outputSession(t, "demo", Options{}, enc)
	a, b := newRecSink(), newRecSink()
	detachA := attach(t, s, a)
	attach(t, s, b)
	if s.Sinks() != 2 {
		t.Fatalf("%d sinks, want 2", s.Sinks())
	}
	detachA()
	detachA()
	if n := s.Sinks(); n != 1 || s.Stats().Sinks != 1 {
		t.Fatalf("after detaching one sink twice: %d sinks, want 1", n)
	}
	before := b.keptCount()
	waitFor(t, "the other sink still gets frames", 20*time.Second, func() bool { return b.keptCount() >= before+5 })
}

func TestOutputAttachAfterClose(t *testing.T) {
	enc := &streamEncoder{}
	s := outputSession(t, "demo", Options{}, enc)
	k := newRecSink()
	attach(t, s, k)
	waitFor(t, "the sink kept a frame", 20*time.Second, func() bool { return k.keptCount() >= 1 })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Attach(newRecSink()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Attach after Close: %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// Close tells the sinks still attached (End(nil), once) and closes the encoder; a sink
// detached before is not told.
func TestOutputCloseEndsSinks(t *testing.T) {
	enc := &streamEncoder{}
	s := outputSession(t, "demo", Options{}, enc)
	a, b, gone := newRecSink(), newRecSink(), newRecSink()
	attach(t, s, a)
	attach(t, s, b)
	attach(t, s, gone)()
	waitFor(t, "the sinks kept frames", 20*time.Second, func() bool { return a.keptCount() >= 3 && b.keptCount() >= 3 })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for name, k := range map[string]*recSink{"a": a, "b": b} {
		select {
		case <-k.ended:
		default:
			t.Fatalf("sink %s not told of Close", name)
		}
		k.mu.Lock()
		ends, err := k.ends, k.endErr
		k.mu.Unlock()
		if ends != 1 || err != nil {
			t.Errorf("sink %s: End called %d times with %v, want once with nil", name, ends, err)
		}
	}
	gone.mu.Lock()
	goneEnds := gone.ends
	gone.mu.Unlock()
	if goneEnds != 0 {
		t.Errorf("a detached sink was told of Close")
	}
	if !enc.isClosed() {
		t.Error("the encoder was not closed")
	}
	if s.Sinks() != 0 {
		t.Errorf("%d sinks after Close", s.Sinks())
	}
}

// An encoder failure stops the session: every sink is told the error, Err reports it,
// and Attach fails with it.
func TestOutputEncoderFailureEndsSinks(t *testing.T) {
	enc := &streamEncoder{failAt: 6}
	s := outputSession(t, "demo", Options{}, enc)
	sinks := []*recSink{newRecSink(), newRecSink()}
	for _, k := range sinks {
		attach(t, s, k)
	}
	for i, k := range sinks {
		select {
		case <-k.ended:
		case <-time.After(20 * time.Second):
			t.Fatalf("sink %d not told of the failure", i)
		}
		k.mu.Lock()
		ends, err := k.ends, k.endErr
		k.mu.Unlock()
		if ends != 1 || !errors.Is(err, errEncoderBroke) {
			t.Errorf("sink %d: End called %d times with %v, want once with the encoder's error", i, ends, err)
		}
		if n := k.seenCount(); n != 5 {
			t.Errorf("sink %d got %d frames before the failure, want 5", i, n)
		}
	}
	if err := s.Err(); !errors.Is(err, errEncoderBroke) {
		t.Errorf("Err() = %v, want the encoder's error", err)
	}
	if s.Sinks() != 0 {
		t.Errorf("%d sinks attached after the failure", s.Sinks())
	}
	if _, err := s.Attach(newRecSink()); !errors.Is(err, errEncoderBroke) {
		t.Errorf("Attach after the failure: %v, want the encoder's error", err)
	}
	time.Sleep(200 * time.Millisecond)
	if n, _ := enc.counts(); n != 6 {
		t.Errorf("%d Encode calls, want 6: the loops stop at the failure", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for i, k := range sinks {
		k.mu.Lock()
		ends := k.ends
		k.mu.Unlock()
		if ends != 1 {
			t.Errorf("sink %d: End called %d times after Close, want once in all", i, ends)
		}
	}
}

func TestOutputSetRenderRateBounds(t *testing.T) {
	enc := &streamEncoder{}
	s := outputSession(t, "demo", Options{}, enc)
	if r := s.RenderRate(); r != 30 {
		t.Fatalf("initial render rate %v, want 30 (the frame rate)", r)
	}
	for _, ok := range []float64{pacer.MinRate, 1, 15, pacer.MaxRate} {
		if err := s.SetRenderRate(ok); err != nil || s.RenderRate() != ok || s.Stats().RenderRate != ok {
			t.Errorf("SetRenderRate(%v): %v, rate now %v", ok, err, s.RenderRate())
		}
	}
	if err := s.SetRenderRate(12); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []float64{0, -1, 0.09, pacer.MaxRate + 0.5, math.NaN(), math.Inf(1)} {
		if err := s.SetRenderRate(bad); !errors.Is(err, pacer.ErrBadRate) {
			t.Errorf("SetRenderRate(%v): %v, want ErrBadRate", bad, err)
		}
		if r := s.RenderRate(); r != 12 {
			t.Errorf("SetRenderRate(%v) refused but the rate is now %v", bad, r)
		}
	}
}

// A receiver estimate lowers a private session's bitrate; a shared session only records
// it.
func TestOutputReceiverEstimate(t *testing.T) {
	priv := &streamEncoder{}
	p := outputSession(t, "demo", Options{}, priv)
	if err := p.ReceiverEstimate(1_000_000); err != nil {
		t.Fatal(err)
	}
	if got, want := priv.bitrate(), int(1_000_000*rembHeadroom); got != want {
		t.Errorf("private session: encoder at %d bit/s after an estimate of 1 Mbit/s, want %d", got, want)
	}
	if st := p.Stats(); st.EstimateBps != 1_000_000 || st.BitrateBps != int(1_000_000*rembHeadroom) || st.BitrateMaxBps != 2_000_000 {
		t.Errorf("private session stats: estimate %d, bitrate %d, ceiling %d", st.EstimateBps, st.BitrateBps, st.BitrateMaxBps)
	}

	shared := &streamEncoder{}
	sh := outputSession(t, "demo", Options{Shared: true}, shared)
	if err := sh.ReceiverEstimate(500_000); err != nil {
		t.Fatal(err)
	}
	if got := shared.bitrate(); got != 0 {
		t.Errorf("shared session: an estimate set the encoder to %d bit/s", got)
	}
	if st := sh.Stats(); st.EstimateBps != 500_000 || st.BitrateBps != 2_000_000 || !st.Shared {
		t.Errorf("shared session stats: estimate %d, bitrate %d, shared %v; want 500000, 2000000, true", st.EstimateBps, st.BitrateBps, st.Shared)
	}
	// The ceiling still moves a shared session's encoder.
	if err := sh.SetBitrate(1_200_000); err != nil || shared.bitrate() != 1_200_000 {
		t.Errorf("SetBitrate on a shared session: %v, encoder at %d", err, shared.bitrate())
	}
}
