package main

import (
	"fmt"
	"math"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
		p      float64
		want   float64
	}{
		{"single", []float64{7}, 99, 7},
		{"min", []float64{3, 1, 2}, 0, 1},
		{"max", []float64{3, 1, 2}, 100, 3},
		{"median odd", []float64{5, 1, 3}, 50, 3},
		{"median even is the mean of the middle two", []float64{4, 1, 3, 2}, 50, 2.5},
		{"interpolates between ranks", []float64{10, 20, 30, 40, 50}, 90, 46},
		{"p95 of 1..100", seq(1, 100), 95, 95.05},
		{"p99 of 1..200", seq(1, 200), 99, 198.01},
		{"clamps above 100", []float64{1, 2}, 150, 2},
		{"clamps below 0", []float64{1, 2}, -5, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.values, tt.p); math.Abs(got-tt.want) > 1e-9 {
				t.Fatalf("percentile(%v, %v) = %v, want %v", tt.values, tt.p, got, tt.want)
			}
		})
	}
	if got := percentile(nil, 50); !math.IsNaN(got) {
		t.Fatalf("percentile of nothing = %v, want NaN", got)
	}
	in := []float64{3, 1, 2}
	percentile(in, 50)
	if in[0] != 3 || in[1] != 1 || in[2] != 2 {
		t.Fatalf("percentile sorted its input: %v", in)
	}
}

func seq(from, to int) []float64 {
	var out []float64
	for i := to; i >= from; i-- { // unsorted on purpose
		out = append(out, float64(i))
	}
	return out
}

func TestSummarize(t *testing.T) {
	s := summarize(seq(1, 100))
	want := Summary{N: 100, Min: 1, Mean: 50.5, P50: 50.5, P95: 95.05, P99: 99.01, Max: 100}
	if math.Abs(s.P95-want.P95) > 1e-9 || math.Abs(s.P99-want.P99) > 1e-9 || s.N != want.N || s.Min != want.Min || s.Max != want.Max || s.Mean != want.Mean || s.P50 != want.P50 {
		t.Fatalf("summarize(1..100) = %+v, want %+v", s, want)
	}
	if (summarize(nil) != Summary{}) {
		t.Fatal("summarize(nil) is not the zero Summary")
	}
}

func TestPacing(t *testing.T) {
	nominal := time.Second / 30
	var steady []time.Duration
	for i := range 31 {
		steady = append(steady, time.Duration(i)*nominal)
	}
	p := pacing(steady, nominal)
	if p.Frames != 31 || math.Abs(p.FPS-30) > 0.01 || p.JitterP99 > 0.001 || p.JitterMax > 0.001 {
		t.Fatalf("steady 30 fps: %+v", p)
	}
	// One frame 20 ms late: two intervals off by 20 ms.
	late := append([]time.Duration(nil), steady...)
	late[10] += 20 * time.Millisecond
	p = pacing(late, nominal)
	if math.Abs(p.JitterMax-20) > 0.01 {
		t.Fatalf("one frame 20 ms late: jitter max %.3f ms, want 20", p.JitterMax)
	}
	if p.JitterP99 < 10 || p.JitterP99 > 20 {
		t.Fatalf("one frame 20 ms late: jitter p99 %.3f ms, want between 10 and 20", p.JitterP99)
	}
	if p := pacing(steady[:1], nominal); p.Frames != 1 || p.FPS != 0 {
		t.Fatalf("one frame: %+v", p)
	}
}

func TestCounterGaps(t *testing.T) {
	tests := []struct {
		counters []uint32
		want     CounterGaps
	}{
		{[]uint32{1, 2, 3, 4}, CounterGaps{}},
		{[]uint32{1, 2, 5, 6}, CounterGaps{Missing: 2}},
		{[]uint32{1, 1, 2, 2, 2}, CounterGaps{Repeats: 3}},
		{[]uint32{5, 3, 4}, CounterGaps{Backwards: 1}},
		{[]uint32{10, 12, 12, 20}, CounterGaps{Missing: 8, Repeats: 1}},
		{nil, CounterGaps{}},
	}
	for _, tt := range tests {
		if got := counterGaps(tt.counters); got != tt.want {
			t.Errorf("counterGaps(%v) = %+v, want %+v", tt.counters, got, tt.want)
		}
	}
}

func TestFPSSeries(t *testing.T) {
	var times []time.Duration
	for i := range 91 { // 3 s at 30 fps
		times = append(times, time.Duration(i)*time.Second/30)
	}
	xs, ys := fpsSeries(times, time.Second, 500*time.Millisecond)
	if len(xs) != 5 || len(ys) != 5 {
		t.Fatalf("%d points, want 5 (1 s to 3 s every 0.5 s)", len(xs))
	}
	for i, y := range ys {
		if y != 30 {
			t.Errorf("point %d (%.1f s): %.1f fps, want 30", i, xs[i], y)
		}
	}
	if xs, _ := fpsSeries(times[:1], time.Second, time.Second); xs != nil {
		t.Fatal("a series from one frame")
	}
}

func TestHistogramAndTicks(t *testing.T) {
	xs, ys := histogram([]float64{0, 1, 9.9, 10, 55, 1000}, 0, 50, 10)
	if len(xs) != 5 || xs[4] != 40 {
		t.Fatalf("bins %v", xs)
	}
	want := []float64{3, 1, 0, 0, 2} // 55 and 1000 clamp into the last bin
	for i := range want {
		if ys[i] != want[i] {
			t.Fatalf("counts %v, want %v", ys, want)
		}
	}
}

func TestSearchDensity(t *testing.T) {
	for _, tt := range []struct {
		limit, capacity int
		want            int
		tries           []int
	}{
		{24, 5, 5, []int{1, 2, 4, 8, 6, 5}},
		{24, 3, 3, []int{1, 2, 4, 3}},
		{24, 1, 1, []int{1, 2}},
		{24, 0, 0, []int{1}},
		{24, 100, 24, []int{1, 2, 4, 8, 16, 24}},
		{3, 3, 3, []int{1, 2, 3}},
		{3, 2, 2, []int{1, 2, 3}},
		{1, 9, 1, []int{1}},
	} {
		var tries []int
		got, err := searchDensity(tt.limit, func(n int) (bool, error) {
			tries = append(tries, n)
			if len(tries) > 20 {
				t.Fatalf("limit %d, capacity %d: no end: %v", tt.limit, tt.capacity, tries)
			}
			return n <= tt.capacity, nil
		})
		if err != nil || got != tt.want || fmt.Sprint(tries) != fmt.Sprint(tt.tries) {
			t.Errorf("limit %d, capacity %d: %d after %v, want %d after %v", tt.limit, tt.capacity, got, tries, tt.want, tt.tries)
		}
	}
}
