package rtmpsrv

import (
	"sync/atomic"
	"time"
)

// The link estimate: the writer measures, for every media frame, how long it waited in the
// send queue and how long writing it took (a write blocks while the socket's unsent data is
// over Config.UnsentBytes, that is while the network is slower than the stream). Over
// windows of linkWindow it turns bytes written and time spent writing into a throughput
// sample of the link; a window counts only when the writer was busy for most of it (the
// link, not the stream, was the limit).
const (
	linkWindow     = 250 * time.Millisecond
	linkBusyShare  = 0.6 // busy share of a window that makes it a link sample
	linkDelayAlpha = 0.25
	// ackDelay is what delayed acknowledgements may add to a round trip (Linux delays an
	// ACK up to 40 ms when little data comes, as on loopback with small writes; a stream of
	// full segments is acknowledged at once): a round trip longer than the minimum by no
	// more than this is not counted as a queue.
	ackDelay = 20 * time.Millisecond
)

// LinkStats describe a connection's path to its client, for rate control: how fast the
// link drains the send queue and how long frames wait before they reach the network.
type LinkStats struct {
	// Bps is the estimated throughput of the link in bits/s, from windows in which the
	// writer was busy (the link was the limit); 0 before the first such window. SampledAt
	// is when it was last updated.
	Bps       int
	SampledAt time.Time
	// Delay is the smoothed time a frame takes to reach the viewer beyond the path's own
	// round trip: from queueing it to its last byte being handed to the network
	// (QueueDelay), plus the queueing in the network (NetworkDelay). LastDelay is the
	// QueueDelay of the last frame written.
	Delay, QueueDelay, LastDelay time.Duration
	// NetworkDelay is the smoothed round-trip time over the connection's minimum, less
	// what delayed acknowledgements add (TCP_INFO on Linux; 0 elsewhere): data waiting in a
	// bottleneck's queue. RTT and MinRTT are the
	// two, DeliveryBps the kernel's delivery rate estimate (bits/s).
	NetworkDelay, RTT, MinRTT time.Duration
	DeliveryBps               int
	// Oldest is how long the frame at the head of the queue has waited (0: empty).
	Oldest time.Duration
	// QueueFrames and QueueBytes wait in the send queue now; KeyframeQueued says a
	// keyframe is among them (written, not yet sent).
	QueueFrames, QueueBytes int
	KeyframeQueued          bool
	// BytesSent counts media bytes written to the network.
	BytesSent uint64
}

// linkMeter is the writer's accounting; the writer goroutine alone writes the window, the
// atomics are read by Link.
type linkMeter struct {
	winStart        time.Time
	winBytes        int
	winBusy         time.Duration
	bps             atomic.Int64
	sampledAt       atomic.Int64 // unix ns
	delay, last     atomic.Int64 // ns
	bytesSent       atomic.Uint64
	keyframesQueued atomic.Int32
}

// frameWritten records a media frame of size bytes, queued at queuedAt, whose writing
// started at start and ended at end. Writer goroutine only.
func (m *linkMeter) frameWritten(size int, queuedAt, start, end time.Time) {
	m.bytesSent.Add(uint64(size))
	d := end.Sub(queuedAt)
	m.last.Store(int64(d))
	if old := m.delay.Load(); old == 0 {
		m.delay.Store(int64(d))
	} else {
		m.delay.Store(old + int64(linkDelayAlpha*float64(int64(d)-old)))
	}
	if m.winStart.IsZero() {
		m.winStart = start
	}
	m.winBytes += size
	m.winBusy += end.Sub(start)
	span := end.Sub(m.winStart)
	if span < linkWindow {
		return
	}
	if m.winBusy >= time.Duration(linkBusyShare*float64(span)) && m.winBusy > 0 {
		sample := int64(float64(m.winBytes) * 8 / m.winBusy.Seconds())
		if old := m.bps.Load(); old > 0 && time.Since(time.Unix(0, m.sampledAt.Load())) < 5*time.Second {
			sample = (old + sample) / 2
		}
		m.bps.Store(sample)
		m.sampledAt.Store(end.UnixNano())
	}
	m.winStart, m.winBytes, m.winBusy = time.Time{}, 0, 0
}

// Link returns the connection's link figures.
func (c *Conn) Link() LinkStats {
	c.qmu.Lock()
	frames, qbytes := len(c.queue), c.queueBytes
	var oldest time.Duration
	if frames > 0 {
		oldest = time.Since(c.queue[0].at)
	}
	c.qmu.Unlock()
	m := &c.link
	st := LinkStats{
		Bps: int(m.bps.Load()), QueueDelay: time.Duration(m.delay.Load()), LastDelay: time.Duration(m.last.Load()),
		Oldest: oldest, QueueFrames: frames, QueueBytes: qbytes,
		KeyframeQueued: m.keyframesQueued.Load() > 0, BytesSent: m.bytesSent.Load(),
	}
	if ns := m.sampledAt.Load(); ns != 0 {
		st.SampledAt = time.Unix(0, ns)
	}
	if c.tcpInfo != nil {
		if rtt, minRTT, rate, ok := c.tcpInfo(); ok {
			st.RTT, st.MinRTT, st.DeliveryBps = rtt, minRTT, rate
			st.NetworkDelay = max(0, rtt-minRTT-ackDelay)
		}
	}
	st.Delay = st.QueueDelay + st.NetworkDelay
	return st
}

// Link returns the link figures of the stream's connection (rate control of the stream's
// source uses them).
func (s *Stream) Link() LinkStats { return s.conn.Link() }
