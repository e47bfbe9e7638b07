package main

import (
	"math"
	"slices"
	"time"
)

// percentile returns the p-th percentile (0..100) of values by linear interpolation between
// the closest ranks (the "type 7" estimator of R and NumPy's default): p 0 is the minimum,
// p 100 the maximum, p 50 of an even count the mean of the two middle values. It does not
// modify values. NaN for an empty slice.
func percentile(values []float64, p float64) float64 {
	if len(values) == 0 {
		return math.NaN()
	}
	s := slices.Clone(values)
	slices.Sort(s)
	return percentileSorted(s, p)
}

func percentileSorted(s []float64, p float64) float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	p = math.Max(0, math.Min(100, p))
	h := p / 100 * float64(len(s)-1)
	lo := int(math.Floor(h))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[lo] + (h-float64(lo))*(s[lo+1]-s[lo])
}

// Summary describes a sample of durations in milliseconds.
type Summary struct {
	N    int     `json:"n"`
	Min  float64 `json:"min_ms"`
	Mean float64 `json:"mean_ms"`
	P50  float64 `json:"p50_ms"`
	P95  float64 `json:"p95_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
}

// summarize computes a Summary of values (milliseconds). The zero Summary for no values.
func summarize(values []float64) Summary {
	if len(values) == 0 {
		return Summary{}
	}
	s := slices.Clone(values)
	slices.Sort(s)
	sum := 0.0
	for _, v := range s {
		sum += v
	}
	return Summary{
		N: len(s), Min: s[0], Max: s[len(s)-1], Mean: sum / float64(len(s)),
		P50: percentileSorted(s, 50), P95: percentileSorted(s, 95), P99: percentileSorted(s, 99),
	}
}

// ms converts a duration to float milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// durationsMS converts durations to milliseconds.
func durationsMS(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = ms(d)
	}
	return out
}

// Pacing describes the spacing of a sequence of frame times.
type Pacing struct {
	// Frames is the number of frames, Seconds the time from the first to the last.
	Frames  int     `json:"frames"`
	Seconds float64 `json:"seconds"`
	// FPS is (Frames-1) / Seconds: intervals per second.
	FPS float64 `json:"fps"`
	// IntervalP50 and IntervalP99 are percentiles of the frame intervals (ms).
	IntervalP50 float64 `json:"interval_p50_ms"`
	IntervalP99 float64 `json:"interval_p99_ms"`
	// JitterP99 is the 99th percentile of |interval - nominal| (ms), nominal being 1/fps of
	// the configured rate; JitterMax the largest.
	JitterP99 float64 `json:"jitter_p99_ms"`
	JitterMax float64 `json:"jitter_max_ms"`
}

// pacing computes the spacing of frame times (any monotonic clock, as durations from an
// origin) against the nominal interval.
func pacing(times []time.Duration, nominal time.Duration) Pacing {
	p := Pacing{Frames: len(times)}
	if len(times) < 2 {
		return p
	}
	p.Seconds = (times[len(times)-1] - times[0]).Seconds()
	if p.Seconds > 0 {
		p.FPS = float64(len(times)-1) / p.Seconds
	}
	intervals := make([]float64, 0, len(times)-1)
	dev := make([]float64, 0, len(times)-1)
	for i := 1; i < len(times); i++ {
		d := times[i] - times[i-1]
		intervals = append(intervals, ms(d))
		dev = append(dev, math.Abs(ms(d-nominal)))
	}
	p.IntervalP50 = percentile(intervals, 50)
	p.IntervalP99 = percentile(intervals, 99)
	p.JitterP99 = percentile(dev, 99)
	p.JitterMax = slices.Max(dev)
	return p
}

// CounterGaps counts what a sequence of frame counters (the marker's, one per rendered
// picture) says about delivery: Missing counters skipped between consecutive frames (rendered
// but never received), Repeats (the same picture sent again) and Backwards steps (should not
// happen).
type CounterGaps struct {
	Missing   uint64 `json:"missing"`
	Repeats   uint64 `json:"repeats"`
	Backwards uint64 `json:"backwards"`
}

func counterGaps(counters []uint32) CounterGaps {
	var g CounterGaps
	for i := 1; i < len(counters); i++ {
		prev, cur := counters[i-1], counters[i]
		switch {
		case cur == prev:
			g.Repeats++
		case cur < prev:
			g.Backwards++
		default:
			g.Missing += uint64(cur - prev - 1)
		}
	}
	return g
}

// fpsSeries returns the frame rate over time: for each step from the first time to the
// last, the number of frames in the trailing window divided by the window (seconds).
// It returns the series' x values (seconds from the first frame) and y values.
func fpsSeries(times []time.Duration, window, step time.Duration) (xs, ys []float64) {
	if len(times) < 2 || window <= 0 || step <= 0 {
		return nil, nil
	}
	start, end := times[0], times[len(times)-1]
	lo := 0
	hi := 0
	for t := start + window; t <= end; t += step {
		for hi < len(times) && times[hi] <= t {
			hi++
		}
		for lo < hi && times[lo] <= t-window {
			lo++
		}
		xs = append(xs, (t - start).Seconds())
		ys = append(ys, float64(hi-lo)/window.Seconds())
	}
	return xs, ys
}
