package main

// ramp searches for the most players a server holds, taking "passes" as monotonic: counts
// double from start until one fails (or the limit passes), then the gap between the last
// pass and the first failure is bisected until it is at most a fraction (precision) of the
// last pass, and at least 1. Several ramps can run side by side, one step of each in turn,
// so that every server is measured under the same drift of the machine's load.
type ramp struct {
	limit     int
	precision float64
	// cur is the next count of the doubling phase.
	cur int
	// lastPass is the highest count that passed (0: none); firstFail the lowest that failed
	// (0: none yet).
	lastPass, firstFail int
}

// newRamp returns a ramp from start (at least 1) to limit (at least start), bisecting to
// precision (0: to a gap of 1).
func newRamp(start, limit int, precision float64) *ramp {
	start = max(1, start)
	return &ramp{limit: max(start, limit), precision: max(0, precision), cur: start}
}

// next returns the count to try next, or false when the search is over.
func (r *ramp) next() (int, bool) {
	if r.firstFail == 0 {
		if r.lastPass >= r.limit {
			return 0, false
		}
		return r.cur, true
	}
	if r.firstFail-r.lastPass <= max(1, int(r.precision*float64(r.lastPass))) {
		return 0, false
	}
	return (r.lastPass + r.firstFail) / 2, true
}

// record takes the outcome of trying n players.
func (r *ramp) record(n int, pass bool) {
	if pass {
		r.lastPass = max(r.lastPass, n)
		if r.firstFail == 0 {
			r.cur = min(2*n, r.limit)
		}
		return
	}
	if r.firstFail == 0 || n < r.firstFail {
		r.firstFail = n
	}
}

// best is the highest count that passed (0 when none did).
func (r *ramp) best() int { return r.lastPass }
