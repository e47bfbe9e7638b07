package whep

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

const (
	// maxPacerBacklog bounds the delay the pacer adds: the session's writer takes no frame
	// while the pacer's queue needs longer than this to drain, so frames wait in the
	// session's queue (which drops and asks for a keyframe when full) instead of piling up
	// in the pacer. It leaves room for a keyframe's burst at low rates.
	maxPacerBacklog = 500 * time.Millisecond
	// estimateStep and estimateEvery throttle what the viewer is told: a change of more
	// than 5 %, or any change after 500 ms.
	estimateStep  = 0.05
	estimateEvery = 500 * time.Millisecond
	// Keyframe requests (PLI, FIR) within one round trip of the last one passed on are
	// ignored: the receiver asked again before the keyframe could reach it. The round trip
	// counts at least rttFloor, and rttUnknown before a receiver report measured it.
	rttFloor   = 50 * time.Millisecond
	rttUnknown = 250 * time.Millisecond
)

// congestion is one peer connection's congestion control: pion's send-side bandwidth
// estimator (GCC: delay- and loss-based, from transport-cc feedback), the pacer it sets
// the rate of, and the counts of packets sent and resent.
type congestion struct {
	bwe   *gcc.SendSideBWE
	pacer *pacer
	sent  *sendCounter
}

// congestionFactory builds each peer connection's congestion control (an
// interceptor.Factory registered first, so its pacer and counter are nearest the wire).
// The peer connection is built under mu, so made hands the result to the session that
// built it.
type congestionFactory struct {
	start, min, max int // bits/s

	mu   sync.Mutex // held by newPeerConnection
	made *congestion

	resent atomic.Uint64 // every peer connection's retransmissions
}

// NewInterceptor implements interceptor.Factory.
func (f *congestionFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	p := newPacer(f.start, f.min)
	bwe, err := gcc.NewSendSideBWE(gcc.SendSideBWEInitialBitrate(f.start), gcc.SendSideBWEMinBitrate(f.min),
		gcc.SendSideBWEMaxBitrate(f.max), gcc.SendSideBWEPacer(p))
	if err != nil {
		p.Close()
		return nil, err
	}
	ccf, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) { return bwe, nil })
	if err != nil {
		bwe.Close()
		return nil, err
	}
	ci, err := ccf.NewInterceptor(id)
	if err != nil {
		bwe.Close()
		return nil, err
	}
	counter := &sendCounter{total: &f.resent}
	f.made = &congestion{bwe: bwe, pacer: p, sent: counter}
	return interceptor.NewChain([]interceptor.Interceptor{counter, ci}), nil
}

// sendCounter counts the RTP packets that reach the wire, and among them the
// retransmissions: packets on the retransmission (RTX) stream, or packets of the media
// stream whose sequence number was sent before.
type sendCounter struct {
	interceptor.NoOp
	packets, resent atomic.Uint64
	total           *atomic.Uint64 // the server's count of retransmissions
}

// BindLocalStream implements interceptor.Interceptor.
func (c *sendCounter) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	var mu sync.Mutex
	var highest uint16
	started := false
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		n, err := w.Write(h, payload, a)
		if err != nil {
			return n, err
		}
		c.packets.Add(1)
		switch {
		case h.SSRC == info.SSRCRetransmission && info.SSRCRetransmission != 0:
			c.resend()
		case h.SSRC == info.SSRC:
			mu.Lock()
			if started && int16(h.SequenceNumber-highest) <= 0 {
				c.resend()
			} else {
				highest, started = h.SequenceNumber, true
			}
			mu.Unlock()
		}
		return n, err
	})
}

func (c *sendCounter) resend() {
	c.resent.Add(1)
	if c.total != nil {
		c.total.Add(1)
	}
}

// estimates combines the receiver's estimate (REMB) and the sender's (GCC) into what the
// viewer is told: the lower of the two known, and only on a change of more than
// estimateStep or after estimateEvery.
type estimates struct {
	mu       sync.Mutex
	remb     int // 0: none
	sender   int // 0: none (no transport-cc feedback yet)
	told     int
	toldAt   time.Time
	throttle time.Duration // estimateEvery; 0 in tests that want every change
}

// update records an estimate and returns the one to tell the viewer, if any.
func (e *estimates) update(now time.Time, remb, sender int) (bps int, tell bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if remb > 0 {
		e.remb = remb
	}
	if sender > 0 {
		e.sender = sender
	}
	bps = e.remb
	if e.sender > 0 && (bps == 0 || e.sender < bps) {
		bps = e.sender
	}
	if bps == 0 || bps == e.told {
		return 0, false
	}
	diff := float64(bps-e.told) / float64(max(e.told, 1))
	if e.told != 0 && diff < estimateStep && diff > -estimateStep && now.Sub(e.toldAt) < e.throttle {
		return 0, false
	}
	e.told, e.toldAt = bps, now
	return bps, true
}

// roundTrip measures the round trip from receiver reports: the time since the sender
// report they name (LSR) less the time the receiver held it (DLSR).
type roundTrip struct {
	rtt     atomic.Int64 // smoothed, ns; 0 before a report
	loss    atomic.Uint32
	lastKey atomic.Int64 // when a keyframe request was last passed on, unix ns
}

// report takes one reception report about our stream, received at now.
func (r *roundTrip) report(now time.Time, rr rtcp.ReceptionReport) {
	r.loss.Store(uint32(rr.FractionLost))
	if rr.LastSenderReport == 0 {
		return
	}
	d := ntpMiddle(now) - rr.LastSenderReport - rr.Delay // 1/65536 s
	if d >= 1<<31 {
		return // the report's clock ran ahead: no sample
	}
	sample := time.Duration(uint64(d) * uint64(time.Second) >> 16)
	old := time.Duration(r.rtt.Load())
	if old == 0 {
		r.rtt.Store(int64(sample))
		return
	}
	r.rtt.Store(int64(old + (sample-old)/8))
}

// keyframeWanted decides whether a keyframe request received at now is passed on: not
// within one round trip of the last one passed on.
func (r *roundTrip) keyframeWanted(now time.Time) bool {
	window := rttUnknown
	if rtt := time.Duration(r.rtt.Load()); rtt > 0 {
		window = max(rtt, rttFloor)
	}
	last := r.lastKey.Load()
	if last != 0 && now.Sub(time.Unix(0, last)) < window {
		return false
	}
	return r.lastKey.CompareAndSwap(last, now.UnixNano())
}

// ntpMiddle is the middle 32 bits of the NTP time of t (16.16 seconds), the form of an
// RTCP report's LSR.
func ntpMiddle(t time.Time) uint32 {
	const ntpEpochOffset = 2_208_988_800 // seconds from 1900 to 1970
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return uint32(secs<<16 | frac>>16)
}
