package session

import "sync"

// remb headroom: the encoder targets this share of the receiver's estimate, leaving room
// for RTP/SRTP overhead, retransmissions and the encoder's own overshoot.
const rembHeadroom = 0.85

// bitrateControl makes the encoder's bitrate follow the receiver's estimate (REMB) within
// [min, ceiling]. The ceiling starts at the configured maximum; stream.setBitrate moves it.
// Small changes are ignored so the encoder is not reconfigured on every report.
type bitrateControl struct {
	set func(bps int) error

	applyMu sync.Mutex // serialises apply, so encoder settings arrive in order

	mu       sync.Mutex
	min      int
	ceiling  int
	estimate int // last receiver estimate, bits/s; 0 before the first
	// recordOnly: estimates are recorded (figures) but never lower the target (a shared
	// session: one viewer's link must not lower everyone's picture).
	recordOnly bool
	// link is the bound of the viewer's rate control (linkControl; 0: none).
	link    int
	current int // what the encoder was last set to
}

func newBitrateControl(min, max int, set func(int) error) *bitrateControl {
	return &bitrateControl{set: set, min: min, ceiling: max, current: max}
}

// target is the bitrate for the current estimate and bounds; called with mu held.
func (b *bitrateControl) target() int {
	t := b.ceiling
	if b.estimate > 0 && !b.recordOnly {
		t = min(t, max(int(float64(b.estimate)*rembHeadroom), b.min))
	}
	if b.link > 0 && !b.recordOnly {
		t = min(t, max(b.link, b.min))
	}
	return t
}

// apply sets the encoder when the target differs enough from the current bitrate: every
// decrease over 5 % (congestion must be answered at once), increases over 10 %.
func (b *bitrateControl) apply(force bool) error {
	b.applyMu.Lock()
	defer b.applyMu.Unlock()
	b.mu.Lock()
	t := b.target()
	change := float64(t-b.current) / float64(b.current)
	if !force && change > -0.05 && change < 0.10 {
		b.mu.Unlock()
		return nil
	}
	b.current = t
	b.mu.Unlock()
	return b.set(t)
}

// estimated records a receiver estimate (bits/s) and applies it.
func (b *bitrateControl) estimated(bps int) error {
	b.mu.Lock()
	b.estimate = bps
	b.mu.Unlock()
	return b.apply(false)
}

// linkBound sets the bound of the viewer's rate control and applies it at once (the
// control spaces its changes itself).
func (b *bitrateControl) linkBound(bps int) error {
	b.mu.Lock()
	b.link = bps
	b.mu.Unlock()
	return b.apply(true)
}

// bounds returns the encoder's current bitrate, the floor and the ceiling.
func (b *bitrateControl) bounds() (current, floor, ceiling int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.current, b.min, b.ceiling
}

// setCeiling changes the upper bound (stream.setBitrate) and applies it at once. A ceiling
// below the configured minimum lowers the minimum with it.
func (b *bitrateControl) setCeiling(bps int) error {
	b.mu.Lock()
	b.ceiling = bps
	b.min = min(b.min, bps)
	b.mu.Unlock()
	return b.apply(true)
}

// figures returns the estimate, the current target and the ceiling.
func (b *bitrateControl) figures() (estimate, current, ceiling int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.estimate, b.current, b.ceiling
}
