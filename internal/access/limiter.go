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

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// NewLimiter returns a full bucket of rate tokens a second. now is the clock, nil meaning
// time.Now (tests pass a fake one).
func NewLimiter(rate float64, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	burst := max(rate, 1)
	return &Limiter{now: now, rate: rate, burst: burst, tokens: burst, last: now()}
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
	if d := now.Sub(l.last); d > 0 {
		l.tokens = min(l.tokens+d.Seconds()*l.rate, l.burst)
		l.last = now
	}
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}
