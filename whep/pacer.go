package whep

import (
	"io"
	"maps"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

const (
	// pacingFactor is how much faster than the estimate the pacer sends: room for a
	// keyframe burst to drain while the encoder runs below the estimate.
	pacingFactor = 1.5
	// pacerBurst is how much sending time the pacer may save up while idle: a frame that
	// fits goes out at once, a bigger one (a keyframe) is spread out.
	pacerBurst = 20 * time.Millisecond
	// pacerStep is the shortest wait between two sends: the pacer wakes at most 200
	// times a second, sending what the elapsed time allows.
	pacerStep = 5 * time.Millisecond
	// rateWindow is how long the pacer measures the incoming media rate over.
	rateWindow = 250 * time.Millisecond
)

// pacer spreads a session's RTP packets out (gcc.Pacer: the estimator sets the rate), so
// that a keyframe reaches the link as a stream instead of one burst that a router's queue
// drops. It sends at pacingFactor times the higher of the sender's estimate and the rate
// the media comes in at: it smooths bursts but never holds the average below what the
// encoder makes (an encoder that does not follow the estimate, a shared session's, would
// only see its frames dropped later). Until pacing is turned on (the peer negotiated
// transport-cc, so the estimate follows the link) it writes packets through at once. Its
// queue is bounded: the session's writer takes no frame while backlog is over
// maxPacerBacklog, and retransmissions that would wait longer are dropped.
type pacer struct {
	mu      sync.Mutex
	writers map[uint32]interceptor.RTPWriter
	last    interceptor.RTPWriter // for packets of another SSRC (retransmissions)
	on      bool
	rate    int // the estimate, bits/s
	floor   int // the lowest pacing base, bits/s
	queue   []pacedPacket
	queued  int // payload and header bytes in queue
	closed  bool
	highest map[uint32]uint16 // the highest sequence number queued per stream
	input   rateMeter         // media (not retransmissions) coming in
	dropped uint64            // retransmissions dropped at a full queue

	// Figures: how long packets waited in the queue (smoothed, and the longest).
	delay, maxDelay time.Duration

	wake chan struct{}
	done chan struct{}
	ran  chan struct{} // closed when run returns
}

type pacedPacket struct {
	header  rtp.Header
	payload []byte
	attrs   interceptor.Attributes
	queued  time.Time
}

func newPacer(bitsPerSecond, floor int) *pacer {
	p := &pacer{writers: map[uint32]interceptor.RTPWriter{}, rate: bitsPerSecond, floor: floor, highest: map[uint32]uint16{},
		wake: make(chan struct{}, 1), done: make(chan struct{}), ran: make(chan struct{})}
	go p.run()
	return p
}

// AddStream implements gcc.Pacer.
func (p *pacer) AddStream(ssrc uint32, w interceptor.RTPWriter) {
	p.mu.Lock()
	p.writers[ssrc] = w
	p.last = w
	p.mu.Unlock()
}

// SetTargetBitrate implements gcc.Pacer.
func (p *pacer) SetTargetBitrate(bitsPerSecond int) {
	p.mu.Lock()
	p.rate = bitsPerSecond
	p.mu.Unlock()
}

// setPacing turns pacing on or off; off, packets are written through.
func (p *pacer) setPacing(on bool) {
	p.mu.Lock()
	p.on = on
	p.mu.Unlock()
}

// Write implements gcc.Pacer: the packet is copied and queued (or written at once when
// pacing is off).
func (p *pacer) Write(h *rtp.Header, payload []byte, attrs interceptor.Attributes) (int, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return 0, io.ErrClosedPipe
	}
	if !p.on {
		w := p.writerLocked(h.SSRC)
		p.mu.Unlock()
		if w == nil {
			return 0, io.ErrClosedPipe
		}
		return w.Write(h, payload, attrs)
	}
	now := time.Now()
	n := h.MarshalSize() + len(payload)
	if p.resendLocked(h) {
		if p.backlogLocked() > maxPacerBacklog {
			p.dropped++
			p.mu.Unlock()
			return n, nil // too late to help: the receiver asks again or for a keyframe
		}
	} else {
		p.input.add(now, n)
	}
	// Copies: a retransmission's buffer goes back to its pool when Write returns.
	pk := pacedPacket{header: h.Clone(), payload: append([]byte(nil), payload...), attrs: maps.Clone(attrs), queued: now}
	p.queue = append(p.queue, pk)
	p.queued += n
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return n, nil
}

// resendLocked tells a retransmission (an RTX packet, or a sequence number queued before)
// from new media, and records the media's sequence numbers.
func (p *pacer) resendLocked(h *rtp.Header) bool {
	if _, ok := p.writers[h.SSRC]; !ok {
		return true
	}
	if last, ok := p.highest[h.SSRC]; ok && int16(h.SequenceNumber-last) <= 0 {
		return true
	}
	p.highest[h.SSRC] = h.SequenceNumber
	return false
}

// paceLocked is the rate the pacer sends at, bits/s.
func (p *pacer) paceLocked() float64 {
	return pacingFactor * float64(max(p.rate, p.floor, p.input.rate(time.Now()), 1))
}

func (p *pacer) writerLocked(ssrc uint32) interceptor.RTPWriter {
	if w, ok := p.writers[ssrc]; ok {
		return w
	}
	return p.last
}

// backlog is how long the queue takes to drain at the current rate.
func (p *pacer) backlog() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.backlogLocked()
}

func (p *pacer) backlogLocked() time.Duration {
	if p.queued == 0 {
		return 0
	}
	return time.Duration(float64(p.queued*8) / p.paceLocked() * float64(time.Second))
}

// pacerStats are a pacer's figures.
type pacerStats struct {
	delay, maxDelay time.Duration // packets' wait in the queue: smoothed, longest
	inputBps        int           // media coming in
	dropped         uint64        // retransmissions dropped
}

func (p *pacer) stats() pacerStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return pacerStats{p.delay, p.maxDelay, p.input.bps, p.dropped}
}

// rateMeter measures a byte rate over windows of a quarter second, smoothed over about a
// second.
type rateMeter struct {
	bps   int // 0 before the first window ended
	bytes int
	since time.Time
}

// rate is the smoothed rate, or before the first window ended the rate so far as if
// over a whole window: a stream's first frames are not paced at the estimate alone, and
// a first keyframe still is.
func (m *rateMeter) rate(now time.Time) int {
	if m.bps > 0 || m.since.IsZero() {
		return m.bps
	}
	return int(float64(m.bytes*8) / max(now.Sub(m.since), rateWindow).Seconds())
}

func (m *rateMeter) add(now time.Time, n int) {
	if m.since.IsZero() {
		m.since = now
	}
	m.bytes += n
	if d := now.Sub(m.since); d >= rateWindow {
		sample := int(float64(m.bytes*8) / d.Seconds())
		if m.bps == 0 {
			m.bps = sample
		} else {
			m.bps += (sample - m.bps) / 4
		}
		m.bytes, m.since = 0, now
	}
}

// run sends queued packets as the rate allows until Close.
func (p *pacer) run() {
	defer close(p.ran)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var credit float64 // bytes that may be sent now
	last := time.Now()
	for {
		p.mu.Lock()
		if len(p.queue) == 0 {
			p.mu.Unlock()
			select {
			case <-p.wake:
				continue
			case <-p.done:
				return
			}
		}
		now := time.Now()
		rate := p.paceLocked() / 8 // bytes/s
		credit = min(credit+now.Sub(last).Seconds()*rate, pacerBurst.Seconds()*rate)
		last = now
		if credit < 0 {
			p.mu.Unlock()
			timer.Reset(max(time.Duration(-credit/rate*float64(time.Second)), pacerStep))
			select {
			case <-timer.C:
				continue
			case <-p.done:
				timer.Stop()
				return
			}
		}
		var batch []pacedPacket
		for len(p.queue) > 0 && credit >= 0 {
			pk := p.queue[0]
			p.queue[0] = pacedPacket{}
			p.queue = p.queue[1:]
			n := pk.header.MarshalSize() + len(pk.payload)
			p.queued -= n
			credit -= float64(n)
			batch = append(batch, pk)
			d := now.Sub(pk.queued)
			p.delay += (d - p.delay) / 16
			p.maxDelay = max(p.maxDelay, d)
		}
		if len(p.queue) == 0 {
			p.queue = nil // let the backing array go
		}
		writers := make([]interceptor.RTPWriter, len(batch))
		for i := range batch {
			writers[i] = p.writerLocked(batch[i].header.SSRC)
		}
		p.mu.Unlock()
		for i := range batch {
			if writers[i] != nil {
				writers[i].Write(&batch[i].header, batch[i].payload, batch[i].attrs) // a lost packet is NACKed
			}
		}
	}
}

// Close implements gcc.Pacer: queued packets are dropped.
func (p *pacer) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.queue, p.queued = nil, 0
	p.mu.Unlock()
	close(p.done)
	<-p.ran
	return nil
}
