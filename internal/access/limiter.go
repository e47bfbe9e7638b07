package access

import (
	"sync"
	"time"
)

// Limiter is a token bucket that caps the rate of calls from one client: rate tokens a
// second, holding at most max(rate, 1), so a burst of up to one second's worth passes at
// once and a client at rest regains it within a second. It is safe for concurrent use. A
// rate <= 0, and a nil *Limiter, allow everything.
type Limiter struct {
	now   func() time.Time
	rate  float64
	burst float64

	mu sync.Mutex
	b  bucket
}

// NewLimiter returns a full bucket of rate tokens a second. now is the clock, nil meaning
// time.Now (tests pass a fake one).
func NewLimiter(rate float64, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	burst := max(rate, 1)
	return &Limiter{now: now, rate: rate, burst: burst, b: newBucket(burst, now())}
}

// Rate returns the tokens added a second (<= 0: no limit).
func (l *Limiter) Rate() float64 {
	if l == nil {
		return 0
	}
	return l.rate
}

// Allow takes a token and reports whether one was left.
func (l *Limiter) Allow() bool {
	if l == nil || l.rate <= 0 {
		return true
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.take(now, l.rate, l.burst)
}

// bucket is the state of a token bucket; its owner supplies the rate, the size and the
// lock.
type bucket struct {
	tokens float64
	last   time.Time
}

func newBucket(size float64, now time.Time) bucket { return bucket{tokens: size, last: now} }

// take adds what the time since the last take earned (a clock going back adds nothing),
// then takes a token if one is left.
func (b *bucket) take(now time.Time, rate, size float64) bool {
	b.refill(now, rate, size)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (b *bucket) refill(now time.Time, rate, size float64) {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(b.tokens+d.Seconds()*rate, size)
		b.last = now
	}
}

// full reports whether the bucket would be full at now.
func (b *bucket) full(now time.Time, rate, size float64) bool {
	return b.tokens+max(now.Sub(b.last).Seconds(), 0)*rate >= size
}
