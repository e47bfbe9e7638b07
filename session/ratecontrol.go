package session

import (
	"sync/atomic"
	"time"
)

// LinkReporter is an optional Sink method: the state of the sink's path to its viewer (an
// RTMP stream reports its connection's send queue). A private session's rate control
// steers its encoder's bitrate from it, and its frame loop stops encoding while the queue
// is congested instead of letting frames be dropped.
type LinkReporter interface {
	Link() Link
}

// Link is what a LinkReporter knows of its path to the viewer.
type Link struct {
	// Bps is the estimated throughput of the link (bits/s; 0: unknown), measured while the
	// link was the limit; SampledAt is when it was last updated.
	Bps       int
	SampledAt time.Time
	// Delay is the smoothed time frames wait before they reach the network; Oldest how
	// long the oldest frame still queued has waited (0: the queue is empty).
	Delay, Oldest time.Duration
	// KeyframeQueued says a keyframe handed to the sink has not reached the network yet.
	KeyframeQueued bool
	// BytesSent counts the media bytes that reached the network.
	BytesSent uint64
}

// Rate control thresholds, in frame intervals (with floors for high frame rates).
const (
	// congestedFrames: a queue delay over this many frame intervals (at least
	// congestedFloor) is congestion: the bitrate goes down.
	congestedFrames = 2
	congestedFloor  = 60 * time.Millisecond
	// clearFrames: a delay under this many frame intervals (at least clearFloor) leaves
	// room: after clearHold of it the bitrate may probe up.
	clearFrames = 1
	clearFloor  = 30 * time.Millisecond
	clearHold   = time.Second
	// skipFrames: while the oldest queued frame has waited this long (at least skipFloor)
	// nothing is encoded for the viewer: encoding would only queue more.
	skipFrames = 6
	skipFloor  = 200 * time.Millisecond

	decreaseFactor  = 0.8  // of the current bitrate
	capacityShare   = 0.85 // of the link's throughput measured at congestion
	decreaseSpacing = time.Second
	increaseFactor  = 1.08 // per increaseSpacing, far under the last congestion
	// holdShare, capacityFor: for capacityFor after a congestion the bitrate probes up to
	// holdShare of the throughput measured then, no further: a link that held that much
	// is not asked again at once (each probe into the wall costs a queue, that is
	// latency). After capacityFor it probes on, and a congestion measures the link again.
	holdShare       = 0.9
	capacityFor     = time.Minute
	increaseSpacing = time.Second
	increaseAfter   = 2 * time.Second // no increase this soon after a decrease
	// usedShare: the bitrate probes up only while the stream uses at least this share of
	// it (measured over sentWindow): an encoder that undershoots its target (a simple
	// picture) probes nothing by being given more.
	usedShare  = 0.8
	sentWindow = time.Second
)

// linkControl is a private session's per-viewer rate control (frame loop only, but for the
// figures): down fast when its queue delay grows, up slowly while it stays short. Its
// target is one bound of the session's bitrateControl; the frame rate is kept.
type linkControl struct {
	interval time.Duration

	target                   int // bits/s; 0: no bound yet (the ceiling)
	lastDecrease, lastChange time.Time
	clearSince               time.Time
	capBps                   int // link throughput at the last congestion
	capAt                    time.Time
	sentBytes                uint64 // BytesSent at sentAt
	sentAt                   time.Time
	sentBps                  int // the stream's rate over the last sentWindow

	bps                         atomic.Int64
	delay                       atomic.Int64 // ns
	decreases, increases, skips atomic.Uint64
	keyframesPostponed          atomic.Uint64
}

func newLinkControl(frameInterval time.Duration) *linkControl {
	return &linkControl{interval: frameInterval}
}

func (c *linkControl) frames(n float64, floor time.Duration) time.Duration {
	return max(floor, time.Duration(n*float64(c.interval)))
}

// skip reports whether the viewer's queue is too deep to encode for now.
func (c *linkControl) skip(l Link) bool { return l.Oldest > c.frames(skipFrames, skipFloor) }

// observe takes the link's state at a frame tick and returns the new bitrate bound (bits/s)
// when it changes, else 0. current is the encoder's bitrate now, floor and ceiling its
// bounds.
func (c *linkControl) observe(l Link, now time.Time, current, floor, ceiling int) int {
	c.bps.Store(int64(l.Bps))
	c.delay.Store(int64(l.Delay))
	if c.sentAt.IsZero() || l.BytesSent < c.sentBytes {
		c.sentBytes, c.sentAt = l.BytesSent, now
	} else if d := now.Sub(c.sentAt); d >= sentWindow {
		c.sentBps = int(float64(l.BytesSent-c.sentBytes) * 8 / d.Seconds())
		c.sentBytes, c.sentAt = l.BytesSent, now
	}
	high, low := c.frames(congestedFrames, congestedFloor), c.frames(clearFrames, clearFloor)
	congested := l.Delay > high || l.Oldest > high
	switch {
	case congested:
		c.clearSince = time.Time{}
		if now.Sub(c.lastDecrease) < decreaseSpacing {
			return 0
		}
		t := int(decreaseFactor * float64(current))
		// While congested, what got through is what the link carries: the stream's rate
		// over the last window, or the sink's own estimate when fresh. Both can only
		// fall short of the link (a window not backlogged all along), so the higher.
		capacity := c.sentBps
		if l.Bps > 0 && now.Sub(l.SampledAt) < sentWindow {
			capacity = max(capacity, l.Bps)
		}
		if capacity > 0 {
			t = min(t, int(capacityShare*float64(capacity)))
			c.capBps, c.capAt = capacity, now
		}
		t = max(t, floor)
		c.lastDecrease, c.lastChange = now, now
		if t >= current && c.target != 0 {
			return 0 // at the floor already
		}
		c.target = t
		c.decreases.Add(1)
		return t
	case l.Delay < low && l.Oldest < low:
		if c.clearSince.IsZero() {
			c.clearSince = now
		}
		if c.target == 0 || c.target >= ceiling || now.Sub(c.clearSince) < clearHold ||
			now.Sub(c.lastDecrease) < increaseAfter || now.Sub(c.lastChange) < increaseSpacing ||
			float64(c.sentBps) < usedShare*float64(c.target) {
			return 0
		}
		t := int(increaseFactor * float64(c.target))
		if c.capBps > 0 && now.Sub(c.capAt) < capacityFor {
			t = min(t, int(holdShare*float64(c.capBps)))
		}
		t = min(t, ceiling)
		if t <= c.target {
			return 0
		}
		c.target, c.lastChange = t, now
		c.increases.Add(1)
		return t
	default:
		c.clearSince = time.Time{}
		return 0
	}
}

// congested reports whether a viewer's link holds frames longer than rate control's
// congestion threshold.
func (s *Session) congested(l Link) bool {
	interval := time.Duration(float64(time.Second) / s.frameRate())
	high := max(congestedFloor, congestedFrames*interval)
	return l.Delay > high || l.Oldest > high
}
