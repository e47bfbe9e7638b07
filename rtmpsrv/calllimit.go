package rtmpsrv

import "time"

// callLimiter is a token bucket: rate tokens a second, holding at most rate (so a burst of
// up to one second's worth passes at once). A rate <= 0 allows everything. It is used by one
// goroutine (the connection's reader).
type callLimiter struct {
	rate   float64
	tokens float64
	last   time.Time
}

func newCallLimiter(rate float64, now time.Time) callLimiter {
	return callLimiter{rate: rate, tokens: max(rate, 1), last: now}
}

// allow takes a token if one is left at now.
func (l *callLimiter) allow(now time.Time) bool {
	if l.rate <= 0 {
		return true
	}
	if d := now.Sub(l.last); d > 0 {
		l.tokens = min(l.tokens+d.Seconds()*l.rate, max(l.rate, 1))
		l.last = now
	}
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}
