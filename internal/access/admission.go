package access

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Kind is what a reservation admits.
type Kind int

// The kinds of reservation, each with its own limit.
const (
	// Conn is an open connection (RTMP), limited by -max-conns.
	Conn Kind = iota
	// Viewer is a viewer playing or being set up, any transport, limited by -max-viewers.
	Viewer
	// Session is a rendering session (a renderer and an encoder), limited by -max-sessions.
	Session
	numKinds
)

var kindNames = [numKinds]struct{ name, flag, plural, state string }{
	Conn:    {"conn", "-max-conns", "connections", "open"},
	Viewer:  {"viewer", "-max-viewers", "viewers", "playing"},
	Session: {"session", "-max-sessions", "sessions", "running"},
}

// String returns "conn", "viewer" or "session".
func (k Kind) String() string {
	if k < 0 || k >= numKinds {
		return fmt.Sprintf("kind(%d)", int(k))
	}
	return kindNames[k].name
}

// Flag returns the command-line flag that sets k's limit ("-max-viewers").
func (k Kind) Flag() string {
	if k < 0 || k >= numKinds {
		return ""
	}
	return kindNames[k].flag
}

// Limits caps what an Admission admits at once; a zero field means no limit.
type Limits struct {
	// Conns caps open connections (-max-conns).
	Conns int
	// Viewers caps viewers of every transport together (-max-viewers).
	Viewers int
	// Sessions caps rendering sessions (-max-sessions).
	Sessions int
}

// Counts is what an Admission holds at one moment.
type Counts struct {
	// Conns is the number of connections admitted and not released.
	Conns int
	// Viewers is the number of viewers admitted and not released.
	Viewers int
	// Sessions is the number of sessions admitted and not released.
	Sessions int
	// Refused counts the reservations refused since the start, per kind.
	Refused RefusedCounts
}

// RefusedCounts counts refused reservations per kind.
type RefusedCounts struct {
	// Conns, Viewers and Sessions are the refusals of each kind.
	Conns, Viewers, Sessions uint64
}

// Admission is the one place where connections, viewers and sessions are admitted under
// the configured limits, whatever the transport. It is safe for concurrent use.
type Admission struct {
	limits    [numKinds]int
	onRefused func(kind, reason string)

	mu      sync.Mutex
	held    [numKinds]int
	refused [numKinds]uint64
}

// NewAdmission returns an Admission under limits (negative limits count as none).
// onRefused, when not nil, is called for every refusal, outside the Admission's lock, with
// the kind's name (Kind.String) and the refusal's text; it may count and log.
func NewAdmission(limits Limits, onRefused func(kind, reason string)) *Admission {
	a := &Admission{onRefused: onRefused}
	a.limits[Conn] = max(limits.Conns, 0)
	a.limits[Viewer] = max(limits.Viewers, 0)
	a.limits[Session] = max(limits.Sessions, 0)
	return a
}

// Reserve admits one of kind, or returns an error wrapping ErrFull that names the flag of
// the limit reached ("server full: 100 viewers playing, the most -max-viewers allows").
// Every admission must be given back by calling release once the connection, viewer or
// session ends; calling release again does nothing.
func (a *Admission) Reserve(kind Kind) (release func(), err error) {
	if kind < 0 || kind >= numKinds {
		return nil, fmt.Errorf("%w: %d", ErrUnknownKind, int(kind))
	}
	a.mu.Lock()
	if limit := a.limits[kind]; limit > 0 && a.held[kind] >= limit {
		held := a.held[kind]
		a.refused[kind]++
		a.mu.Unlock()
		n := kindNames[kind]
		err := fmt.Errorf("%w: %d %s %s, the most %s allows", ErrFull, held, n.plural, n.state, n.flag)
		if a.onRefused != nil {
			a.onRefused(n.name, err.Error())
		}
		return nil, err
	}
	a.held[kind]++
	a.mu.Unlock()
	var done atomic.Bool
	return func() {
		if done.Swap(true) {
			return
		}
		a.mu.Lock()
		a.held[kind]--
		a.mu.Unlock()
	}, nil
}

// Limits returns the limits the Admission applies.
func (a *Admission) Limits() Limits {
	return Limits{Conns: a.limits[Conn], Viewers: a.limits[Viewer], Sessions: a.limits[Session]}
}

// Counts returns what is admitted now and what was refused so far.
func (a *Admission) Counts() Counts {
	a.mu.Lock()
	defer a.mu.Unlock()
	return Counts{
		Conns: a.held[Conn], Viewers: a.held[Viewer], Sessions: a.held[Session],
		Refused: RefusedCounts{Conns: a.refused[Conn], Viewers: a.refused[Viewer], Sessions: a.refused[Session]},
	}
}
