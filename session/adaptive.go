package session

import (
	"sync"
	"time"
)

// adaptiveScales are the internal render scales of moving frames, largest first.
var adaptiveScales = []float64{1, 0.75, 0.5}

// Thresholds of the adaptive resolution controller, as parts of the render interval.
const (
	// adaptiveHigh: a render time (moving average) above this part of the render
	// interval cannot hold the render rate: the scale steps down.
	adaptiveHigh = 0.85
	// adaptiveLow: below this part for adaptiveRoom, the scale steps up.
	adaptiveLow = 0.5
	// adaptiveRoom is how long renders must have room before the scale steps up; it
	// doubles (up to adaptiveRoomMax) each time a step up is followed closely by a step
	// down, so that a session on the edge does not swing to and fro.
	adaptiveRoom    = 2 * time.Second
	adaptiveRoomMax = 32 * time.Second
	// adaptiveSamples is how many renders the average needs after a step before the next.
	adaptiveSamples = 4
	// adaptiveWeight is the weight of a new render time in the moving average.
	adaptiveWeight = 0.25
	// adaptivePays: a step down must bring the render time under this part of what it
	// was, or it is undone. Drawing smaller costs an extra pass that scales the picture up;
	// where the scene pass is cheap (fast shading on llvmpipe) that pass costs more than
	// the smaller draw saves, and a step down would make renders slower.
	adaptivePays = 0.9
	// adaptiveHold is how long a level whose step down did not pay stays closed; it
	// doubles (up to adaptiveHoldMax) each time it happens again.
	adaptiveHold    = 10 * time.Second
	adaptiveHoldMax = 5 * time.Minute
)

// adaptiveControl picks the internal render scale of moving frames from their render
// times: down (1, 0.75, 0.5) when renders cannot hold the render interval, up again after
// a while with room, and back up at once when a step down did not make renders cheaper
// (that level then stays closed for a while). Safe for concurrent use.
type adaptiveControl struct {
	on bool

	mu        sync.Mutex
	level     int           // index in adaptiveScales
	avg       time.Duration // moving average of render times at this level
	samples   int
	over      int       // renders in a row whose average was above adaptiveHigh
	roomSince time.Time // when renders started having room (zero: they have none)
	room      time.Duration
	lastUp    time.Time
	steps     uint64
	// before is the render time that made the last step down (zero once judged): the
	// step is undone when the new level does not bring the average under adaptivePays of it.
	before    time.Duration
	closedAt  int       // levels at and below this one are closed until closedTil
	closedTil time.Time // zero: none is closed
	hold      time.Duration
	undone    uint64 // steps down undone because they did not pay
}

func newAdaptiveControl(on bool) *adaptiveControl {
	return &adaptiveControl{on: on, room: adaptiveRoom, hold: adaptiveHold}
}

// scale returns the scale of the next moving frame (1 when off).
func (a *adaptiveControl) scale() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return adaptiveScales[a.level]
}

// figures returns the moving average of render times, the steps taken and the steps down
// undone because they did not make renders cheaper.
func (a *adaptiveControl) figures() (avg time.Duration, steps, undone uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.avg, a.steps, a.undone
}

// observe records the wall time d of a moving render drawn with a render interval of
// interval, at now, and steps the scale.
func (a *adaptiveControl) observe(d, interval time.Duration, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.samples == 0 {
		a.avg = d
	} else {
		a.avg += time.Duration(adaptiveWeight * float64(d-a.avg))
	}
	a.samples++
	if !a.on || interval <= 0 {
		return
	}
	if a.before > 0 && a.samples >= adaptiveSamples {
		if a.avg > time.Duration(adaptivePays*float64(a.before)) {
			// Drawing smaller did not make renders cheaper: go back and keep this level
			// closed for a while.
			a.closedAt, a.closedTil = a.level, now.Add(a.hold)
			a.hold = min(2*a.hold, adaptiveHoldMax)
			a.before = 0
			a.undone++
			a.step(-1)
			return
		}
		a.before = 0
	}
	high := time.Duration(adaptiveHigh * float64(interval))
	low := time.Duration(adaptiveLow * float64(interval))
	switch {
	case a.avg > high:
		a.roomSince = time.Time{}
		a.over++
		closed := !a.closedTil.IsZero() && now.Before(a.closedTil) && a.level+1 >= a.closedAt
		// The average must stay high for adaptiveSamples renders in a row: it is then
		// settled enough to judge the step by (one slow render does not make it).
		if a.level < len(adaptiveScales)-1 && a.over >= adaptiveSamples && !closed {
			if !a.lastUp.IsZero() && now.Sub(a.lastUp) < 2*a.room {
				a.room = min(2*a.room, adaptiveRoomMax) // the step up did not hold
			}
			a.before = a.avg
			a.step(+1)
		}
	case a.avg < low && a.level > 0:
		a.over = 0
		if a.roomSince.IsZero() {
			a.roomSince = now
		}
		if now.Sub(a.roomSince) >= a.room && a.samples >= adaptiveSamples {
			a.lastUp = now
			a.step(-1)
		}
	default:
		a.roomSince = time.Time{}
		a.over = 0
	}
}

// step moves the level by d and starts a new average. Called with mu held.
func (a *adaptiveControl) step(d int) {
	a.level += d
	a.samples, a.over = 0, 0
	a.roomSince = time.Time{}
	a.steps++
}
