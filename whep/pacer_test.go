package whep

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// sentLog records what a pacer wrote, and when.
type sentLog struct {
	mu   sync.Mutex
	seqs []uint16
	at   []time.Time
}

func (l *sentLog) writer() interceptor.RTPWriter {
	return interceptor.RTPWriterFunc(func(h *rtp.Header, p []byte, _ interceptor.Attributes) (int, error) {
		l.mu.Lock()
		l.seqs = append(l.seqs, h.SequenceNumber)
		l.at = append(l.at, time.Now())
		l.mu.Unlock()
		return len(p), nil
	})
}

func (l *sentLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seqs)
}

// Off, the pacer writes through at once; on, it spreads a burst out at 1.5 times the
// estimate, in order, and reports the backlog and the packets' wait.
func TestPacerSpreadsABurst(t *testing.T) {
	var log sentLog
	p := newPacer(400_000, 100_000) // pacing at 600 kbit/s: 75 kB/s
	defer p.Close()
	p.AddStream(1, log.writer())
	payload := make([]byte, 1000)
	if _, err := p.Write(&rtp.Header{SSRC: 1, SequenceNumber: 1}, payload, nil); err != nil || log.count() != 1 {
		t.Fatalf("pacing off: %d written, %v; want it written at once", log.count(), err)
	}
	p.setPacing(true)
	p.input.bps = 200_000 // the media's rate before the burst, under the estimate
	start := time.Now()
	const burst = 60 // 60 kB: 0.8 s at 75 kB/s
	for i := range burst {
		if _, err := p.Write(&rtp.Header{SSRC: 1, SequenceNumber: uint16(2 + i)}, payload, nil); err != nil {
			t.Fatal(err)
		}
	}
	if b := p.backlog(); b < 500*time.Millisecond || b > time.Second {
		t.Errorf("backlog %v after a 60 kB burst at 600 kbit/s, want about 0.8 s", b)
	}
	waitFor(t, "the burst sent", 20*time.Second, func() bool { return log.count() == burst+1 })
	if took := time.Since(start); took < 600*time.Millisecond {
		t.Errorf("a 60 kB burst at 600 kbit/s went out in %v, want about 0.8 s", took)
	}
	for i, seq := range log.seqs {
		if seq != uint16(i+1) {
			t.Fatalf("sent out of order: %v", log.seqs)
		}
	}
	st := p.stats()
	if st.maxDelay < 500*time.Millisecond || st.delay <= 0 || p.backlog() != 0 {
		t.Errorf("pacer figures %+v, backlog %v: want the last packets to have waited about 0.8 s", st, p.backlog())
	}
}

// A retransmission that would wait behind more than maxPacerBacklog is dropped; new media
// is always queued (the writer holds frames instead).
func TestPacerDropsLateRetransmissions(t *testing.T) {
	var log sentLog
	p := newPacer(100_000, 100_000) // 150 kbit/s: a 1 kB packet takes 53 ms
	defer p.Close()
	p.AddStream(1, log.writer())
	p.setPacing(true)
	p.input.bps = 50_000 // the media's rate before the burst
	payload := make([]byte, 1000)
	for i := range 20 { // about a second of backlog
		p.Write(&rtp.Header{SSRC: 1, SequenceNumber: uint16(100 + i)}, payload, nil)
	}
	p.Write(&rtp.Header{SSRC: 1, SequenceNumber: 105}, payload, nil) // a resend
	p.Write(&rtp.Header{SSRC: 2, SequenceNumber: 7}, payload, nil)   // an RTX packet
	if st := p.stats(); st.dropped != 2 {
		t.Fatalf("%d retransmissions dropped behind %v of backlog, want 2", st.dropped, p.backlog())
	}
	p.Write(&rtp.Header{SSRC: 1, SequenceNumber: 120}, payload, nil)
	if st := p.stats(); st.dropped != 2 {
		t.Fatalf("new media dropped: %+v", st)
	}
}

// Estimates: the lower of the receiver's (REMB) and the sender's, told on a change over
// 5 % at once, a smaller one after 500 ms, never the same twice.
func TestEstimatesThrottle(t *testing.T) {
	e := estimates{throttle: estimateEvery}
	t0 := time.Now()
	steps := []struct {
		at           time.Duration
		remb, sender int
		want         int // 0: nothing told
	}{
		{0, 0, 1_000_000, 1_000_000},
		{10 * time.Millisecond, 0, 1_020_000, 0},      // 2 %: wait
		{20 * time.Millisecond, 0, 900_000, 900_000},  // -10 %: at once
		{30 * time.Millisecond, 2_000_000, 0, 0},      // REMB above the sender's: no change
		{40 * time.Millisecond, 800_000, 0, 800_000},  // REMB below: it wins
		{100 * time.Millisecond, 0, 810_000, 0},       // the lower is still REMB
		{200 * time.Millisecond, 780_000, 0, 0},       // 2.5 %: wait
		{700 * time.Millisecond, 780_000, 0, 780_000}, // 500 ms later: told
		{800 * time.Millisecond, 780_000, 0, 0},       // the same: never again
		{900 * time.Millisecond, 5_000_000, 700_000, 700_000},
	}
	for i, s := range steps {
		got, tell := e.update(t0.Add(s.at), s.remb, s.sender)
		if (s.want != 0) != tell || got != s.want {
			t.Errorf("step %d (%+v): told %d (%v), want %d", i, s, got, tell, s.want)
		}
	}
}

// The round trip comes from a receiver report's LSR and DLSR; keyframe requests pass at
// most once per round trip (at least 50 ms, 250 ms before one is known).
func TestRoundTripAndKeyframeGate(t *testing.T) {
	var r roundTrip
	now := time.Now()
	if !r.keyframeWanted(now) || r.keyframeWanted(now.Add(200*time.Millisecond)) || !r.keyframeWanted(now.Add(260*time.Millisecond)) {
		t.Fatal("before a round trip is known, requests should pass 250 ms apart")
	}
	// The report echoes a sender report sent 130 ms ago, held 50 ms by the receiver.
	lsr := ntpMiddle(now.Add(-130 * time.Millisecond))
	r.report(now, rtcp.ReceptionReport{LastSenderReport: lsr, Delay: 50 * 65536 / 1000, FractionLost: 64})
	rtt := time.Duration(r.rtt.Load())
	if rtt < 78*time.Millisecond || rtt > 82*time.Millisecond || r.loss.Load() != 64 {
		t.Fatalf("rtt %v loss %d, want 80 ms and 64/256", rtt, r.loss.Load())
	}
	r.report(now, rtcp.ReceptionReport{}) // no sender report echoed: no sample
	if time.Duration(r.rtt.Load()) != rtt {
		t.Fatal("a report without LSR changed the round trip")
	}
	t1 := now.Add(time.Second)
	if !r.keyframeWanted(t1) || r.keyframeWanted(t1.Add(70*time.Millisecond)) || !r.keyframeWanted(t1.Add(90*time.Millisecond)) {
		t.Fatal("with an 80 ms round trip, requests should pass 80 ms apart")
	}
	r.rtt.Store(int64(time.Millisecond))
	t2 := t1.Add(time.Second)
	if !r.keyframeWanted(t2) || r.keyframeWanted(t2.Add(40*time.Millisecond)) || !r.keyframeWanted(t2.Add(55*time.Millisecond)) {
		t.Fatal("a 1 ms round trip should count as the 50 ms floor")
	}
}

// Media coming in faster than the estimate (an encoder that does not follow it, a shared
// session's) is paced at 1.5 times its own rate, not held to the estimate: the queue stays
// short and the writer never has to hold frames back.
func TestPacerKeepsUpWithTheMedia(t *testing.T) {
	var log sentLog
	p := newPacer(100_000, 100_000) // an estimate far under the media's 2 Mbit/s
	defer p.Close()
	p.AddStream(1, log.writer())
	p.setPacing(true)
	payload := make([]byte, 1100)
	seq := uint16(0)
	var longest time.Duration
	tick := time.NewTicker(time.Second / 30)
	defer tick.Stop()
	for range 60 { // 2 s of 2 Mbit/s at 30 fps: 8.3 kB frames
		<-tick.C
		for range 7 {
			seq++
			p.Write(&rtp.Header{SSRC: 1, SequenceNumber: seq}, payload, nil)
		}
		longest = max(longest, p.backlog())
	}
	st := p.stats()
	t.Logf("input %d bit/s, longest backlog %v, packets waited up to %v", st.inputBps, longest, st.maxDelay)
	if st.inputBps < 1_500_000 || st.inputBps > 2_500_000 {
		t.Errorf("input measured at %d bit/s, want about 2 Mbit/s", st.inputBps)
	}
	if longest > maxPacerBacklog {
		t.Errorf("backlog reached %v: the writer would hold frames of a stream the estimate does not steer", longest)
	}
	waitFor(t, "the queue drained", 10*time.Second, func() bool { return log.count() == int(seq) })
}
