package session

import (
	"sync"
	"testing"
	"time"

	"github.com/rendercast/rendercast/avc"
)

const frame30 = time.Second / 30

// linkRun drives a linkControl with synthetic ticks: each step advances the clock by dt and
// feeds the link state l (BytesSent grows at sendBps).
type linkRun struct {
	c              *linkControl
	now            time.Time
	sent           uint64
	cur            int
	floor, ceiling int
	changes        []int
}

func newLinkRun(cur, floor, ceiling int) *linkRun {
	return &linkRun{c: newLinkControl(frame30), now: time.Unix(1000, 0), cur: cur, floor: floor, ceiling: ceiling}
}

// run feeds l for d in frame ticks, the stream sending at sendBps.
func (r *linkRun) run(d time.Duration, l Link, sendBps int) {
	for end := r.now.Add(d); r.now.Before(end); r.now = r.now.Add(frame30) {
		r.sent += uint64(float64(sendBps) / 8 * frame30.Seconds())
		l.BytesSent = r.sent
		if t := r.c.observe(l, r.now, r.cur, r.floor, r.ceiling); t > 0 {
			r.cur = t
			r.changes = append(r.changes, t)
		}
	}
}

func TestLinkControlDownFastOnCongestion(t *testing.T) {
	r := newLinkRun(4_000_000, 300_000, 4_000_000)
	// A second at 2 Mbit/s with a short queue: nothing changes (at the ceiling, no bound).
	r.run(time.Second, Link{Delay: 5 * time.Millisecond}, 2_000_000)
	if len(r.changes) != 0 {
		t.Fatalf("changes with a short queue: %v", r.changes)
	}
	// Congested: 2 Mbit/s gets through while frames wait 300 ms.
	r.run(600*time.Millisecond, Link{Delay: 300 * time.Millisecond, Oldest: 150 * time.Millisecond}, 2_000_000)
	if len(r.changes) == 0 {
		t.Fatal("no decrease while congested for 600 ms")
	}
	first := r.changes[0]
	if first > int(capacityShare*2_000_000)+1000 || first < 1_500_000 {
		t.Errorf("first decrease to %d bit/s with 2 Mbit/s getting through, want about %d", first, int(capacityShare*2_000_000))
	}
	if len(r.changes) > 2 {
		t.Errorf("%d decreases in 600 ms, want at most one per %v: %v", len(r.changes), decreaseSpacing, r.changes)
	}
	// Still congested: it keeps going down, never under the floor.
	r.run(10*time.Second, Link{Delay: 500 * time.Millisecond}, 100_000)
	if r.cur != r.floor {
		t.Errorf("after 10 s congested at 100 kbit/s: %d bit/s, want the floor %d", r.cur, r.floor)
	}
	if got := r.c.decreases.Load(); got < 3 {
		t.Errorf("%d decreases counted", got)
	}
}

func TestLinkControlProbesUpSlowly(t *testing.T) {
	r := newLinkRun(4_000_000, 300_000, 4_000_000)
	r.run(time.Second, Link{Delay: 5 * time.Millisecond}, 1_000_000)
	r.run(300*time.Millisecond, Link{Delay: 300 * time.Millisecond}, 1_000_000)
	down := r.cur
	if down > 900_000 {
		t.Fatalf("congested at 1 Mbit/s: %d bit/s", down)
	}
	r.changes = nil
	// Clear, and the stream uses what it is given: up, but not before increaseAfter, and
	// not faster than a step per second.
	r.run(increaseAfter-400*time.Millisecond, Link{Delay: 5 * time.Millisecond}, down)
	if len(r.changes) != 0 {
		t.Fatalf("increased %v within %v of a decrease", r.changes, increaseAfter)
	}
	r.run(10*time.Second, Link{Delay: 5 * time.Millisecond}, down)
	if n := len(r.changes); n == 0 || n > 11 {
		t.Fatalf("%d increases in 10 s clear: %v", n, r.changes)
	}
	for i := 1; i < len(r.changes); i++ {
		if r.changes[i] > int(increaseFactor*float64(r.changes[i-1]))+1 {
			t.Errorf("step %d -> %d: more than %g", r.changes[i-1], r.changes[i], increaseFactor)
		}
	}
	// Up to holdShare of the throughput measured at congestion (1 Mbit/s), no further
	// while that measurement is fresh.
	if want := int(holdShare * 1_000_000); r.cur < want-10_000 || r.cur > want {
		t.Errorf("10 s after congestion at 1 Mbit/s the bitrate is %d, want %d", r.cur, want)
	}
	r.changes = nil
	r.run(capacityFor-12*time.Second, Link{Delay: 5 * time.Millisecond}, r.cur)
	if len(r.changes) != 0 {
		t.Errorf("probed %v within %v of the congestion", r.changes, capacityFor)
	}
	r.run(5*time.Second, Link{Delay: 5 * time.Millisecond}, r.cur)
	if len(r.changes) == 0 || r.cur <= int(holdShare*1_000_000) {
		t.Errorf("no probing %v after the congestion: %v", capacityFor, r.changes)
	}
}

func TestLinkControlDoesNotProbeAnUnusedBitrate(t *testing.T) {
	r := newLinkRun(4_000_000, 300_000, 4_000_000)
	r.run(time.Second, Link{Delay: 5 * time.Millisecond}, 1_000_000)
	r.run(300*time.Millisecond, Link{Delay: 300 * time.Millisecond}, 1_000_000)
	down := r.cur
	r.changes = nil
	// The encoder makes half of its target (a simple picture): no probing.
	r.run(10*time.Second, Link{Delay: 5 * time.Millisecond}, down/2)
	if len(r.changes) != 0 {
		t.Errorf("increased to %v while the stream used half of %d", r.changes, down)
	}
}

func TestLinkControlSkipsOnlyWhenTheQueueIsOld(t *testing.T) {
	c := newLinkControl(frame30)
	if c.skip(Link{Oldest: 150 * time.Millisecond}) {
		t.Error("skips with the oldest frame 150 ms old")
	}
	if !c.skip(Link{Oldest: 250 * time.Millisecond}) {
		t.Error("does not skip with the oldest frame 250 ms old")
	}
}

// linkSink is a recSink that reports a link.
type linkSink struct {
	*recSink
	mu   sync.Mutex
	link Link
}

func (k *linkSink) Link() Link { k.mu.Lock(); defer k.mu.Unlock(); return k.link }
func (k *linkSink) set(l Link) { k.mu.Lock(); k.link = l; k.mu.Unlock() }

// A private session's frame loop: a congested viewer gets nothing encoded (no frame is
// dropped), the encoder's bitrate comes down, and a keyframe wanted while the last one is
// still queued waits for it.
func TestOutputRateControlOfAPrivateViewer(t *testing.T) {
	enc := &streamEncoder{}
	s := outputSession(t, "demo", Options{Marker: true}, enc)
	k := &linkSink{recSink: newRecSink()}
	attach(t, s, k)
	waitFor(t, "frames flowing", 20*time.Second, func() bool { return k.keptCount() >= 5 })

	k.set(Link{Delay: 400 * time.Millisecond, Oldest: 400 * time.Millisecond})
	waitFor(t, "congested skips", 20*time.Second, func() bool { return s.Stats().CongestedSkips >= 5 })
	seen := k.seenCount()
	time.Sleep(200 * time.Millisecond)
	if got := k.seenCount(); got != seen {
		t.Errorf("%d frames handed to a congested viewer", got-seen)
	}
	st := s.Stats()
	if !st.RateControl || st.RateDecreases == 0 || enc.bitrate() == 0 || enc.bitrate() >= 2_000_000 || st.BitrateBps != enc.bitrate() {
		t.Errorf("congested: rate control %v, %d decreases, encoder at %d bit/s, stats %d", st.RateControl, st.RateDecreases, enc.bitrate(), st.BitrateBps)
	}
	if st.QueueDelayMS < 300 {
		t.Errorf("queue_delay_ms %v, want the sink's 400", st.QueueDelayMS)
	}

	// Flowing again, with a keyframe still queued: a wanted keyframe waits for it.
	k.set(Link{KeyframeQueued: true})
	_, before := enc.counts()
	s.RequestKeyframe()
	waitFor(t, "keyframe postponed", 20*time.Second, func() bool { return s.Stats().KeyframesPostponed > 0 })
	if _, after := enc.counts(); after != before {
		t.Errorf("a keyframe was forced while the last one was queued")
	}
	k.set(Link{})
	waitFor(t, "keyframe forced once the last one left", 20*time.Second, func() bool { _, n := enc.counts(); return n > before })
}

// With FixedBitrate and in shared sessions the link changes nothing but the figures.
func TestOutputFixedBitrateIgnoresTheLink(t *testing.T) {
	enc := &streamEncoder{}
	v := viewers(t, nil)
	v.FixedBitrate = true
	v.NewEncoder = func(EncoderOptions) (Encoder, error) { return enc, nil }
	s, err := New(v, "demo", Options{Width: 320, Height: 180, Marker: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	k := &linkSink{recSink: newRecSink()}
	k.set(Link{Delay: 400 * time.Millisecond, Oldest: 400 * time.Millisecond})
	attach(t, s, k)
	waitFor(t, "frames flowing to a congested viewer without rate control", 20*time.Second, func() bool { return k.keptCount() >= 5 })
	if st := s.Stats(); st.RateControl || st.CongestedSkips != 0 || enc.bitrate() != 0 {
		t.Errorf("fixed bitrate: rate control %v, %d skips, encoder set to %d", st.RateControl, st.CongestedSkips, enc.bitrate())
	}
	if err := s.ReceiverEstimate(500_000); err != nil || enc.bitrate() != 0 {
		t.Errorf("fixed bitrate: an estimate set the encoder to %d (%v)", enc.bitrate(), err)
	}
}

// In a shared session a viewer whose link is congested and drops frames takes the regular
// keyframes: no keyframe is forced for it (the others' streams would carry them all).
func TestOutputSharedCongestedViewerWaitsForRegularKeyframes(t *testing.T) {
	enc := &streamEncoder{}
	s := outputSession(t, "demo", Options{Shared: true, Marker: true}, enc)
	fast := newRecSink()
	slow := &linkSink{recSink: newRecSink()}
	attach(t, s, fast)
	attach(t, s, slow)
	waitFor(t, "both started", 20*time.Second, func() bool { return fast.keptCount() >= 3 && slow.keptCount() >= 1 })
	slow.set(Link{Delay: 500 * time.Millisecond, Oldest: 300 * time.Millisecond})
	slow.mu.Lock()
	slow.drop = func(f *avc.Frame) bool { return !f.Keyframe }
	slow.mu.Unlock()
	forced := s.Stats().ForcedKeyframes
	waitFor(t, "recoveries waited", 20*time.Second, func() bool { return s.Stats().RecoveriesWaited >= 20 })
	time.Sleep(2 * RecoverySpacing)
	if got := s.Stats().ForcedKeyframes; got != forced {
		t.Errorf("%d keyframes forced for a congested viewer of a shared session", got-forced)
	}
	// Not congested any more: its recovery is forced again.
	slow.set(Link{})
	waitFor(t, "a recovery keyframe forced", 20*time.Second, func() bool { return s.Stats().ForcedKeyframes > forced })
}
