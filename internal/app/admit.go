package app

import (
	"errors"
	"fmt"
	"sync"

	"github.com/rendercast/rendercast/metrics"
)

// errFull refuses a viewer or a session when the limit is reached.
var errFull = errors.New("server full")

// admission counts viewers (both transports) and sessions against -max-viewers and
// -max-sessions. Every successful reserve is matched by exactly one call of its release.
type admission struct {
	maxViewers, maxSessions int
	m                       *metrics.Metrics

	mu                sync.Mutex
	viewers, sessions int
}

func (ad *admission) reserve(n *int, limit int, flag, what string) (func(), error) {
	ad.mu.Lock()
	defer ad.mu.Unlock()
	if limit > 0 && *n >= limit {
		ad.m.ViewersRefused.Inc()
		return nil, fmt.Errorf("%w: %d %s open, the most %s allows", errFull, *n, what, flag)
	}
	*n++
	var once sync.Once
	return func() {
		once.Do(func() {
			ad.mu.Lock()
			*n--
			ad.mu.Unlock()
		})
	}, nil
}

// reserveViewer takes a viewer slot (-max-viewers).
func (ad *admission) reserveViewer() (func(), error) {
	return ad.reserve(&ad.viewers, ad.maxViewers, "-max-viewers", "viewers")
}

// reserveSession takes a session slot (-max-sessions).
func (ad *admission) reserveSession() (func(), error) {
	return ad.reserve(&ad.sessions, ad.maxSessions, "-max-sessions", "sessions")
}
