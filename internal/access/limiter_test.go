package access

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.t.Store(time.Unix(1000, 0).UnixNano())
	return c
}

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.t.Add(int64(d)) }

// drain counts the calls allowed before the first refusal (at most limit).
func drain(l *Limiter, limit int) int {
	n := 0
	for n < limit && l.Allow() {
		n++
	}
	return n
}

func TestLimiterBurstRefusalRefill(t *testing.T) {
	clk := newFakeClock()
	l := NewLimiter(10, clk.now)
	if n := drain(l, 100); n != 10 {
		t.Fatalf("burst of %d at 10/s, want 10", n)
	}
	if l.Allow() {
		t.Fatal("the 11th call of the same instant allowed")
	}
	clk.advance(100 * time.Millisecond)
	if n := drain(l, 100); n != 1 {
		t.Fatalf("%d calls allowed a tenth of a second later at 10/s, want 1", n)
	}
	clk.advance(50 * time.Millisecond)
	if l.Allow() {
		t.Fatal("a call allowed after half a token's time")
	}
	clk.advance(50 * time.Millisecond)
	if !l.Allow() {
		t.Fatal("no call allowed once the half token was completed")
	}
	clk.advance(time.Hour)
	if n := drain(l, 100); n != 10 { // the bucket holds one second's worth, not an hour's
		t.Fatalf("%d calls after a long rest, want 10", n)
	}
	clk.advance(-time.Minute) // a clock stepping back adds nothing
	if l.Allow() {
		t.Fatal("a call allowed after the clock went back")
	}
}

func TestLimiterSlowRate(t *testing.T) {
	clk := newFakeClock()
	l := NewLimiter(0.5, clk.now) // one call every two seconds, a burst of one
	if n := drain(l, 10); n != 1 {
		t.Fatalf("burst of %d at 0.5/s, want 1", n)
	}
	clk.advance(time.Second)
	if l.Allow() {
		t.Fatal("allowed after one second at 0.5/s")
	}
	clk.advance(time.Second)
	if !l.Allow() {
		t.Fatal("refused after two seconds at 0.5/s")
	}
}

func TestLimiterUnlimited(t *testing.T) {
	var nilLimiter *Limiter
	for name, l := range map[string]*Limiter{"zero rate": NewLimiter(0, nil), "negative rate": NewLimiter(-1, nil), "nil": nilLimiter} {
		if n := drain(l, 10000); n != 10000 {
			t.Errorf("%s: refused after %d calls", name, n)
		}
	}
	if r := NewLimiter(7, nil).Rate(); r != 7 {
		t.Errorf("Rate() = %g, want 7", r)
	}
	if r := nilLimiter.Rate(); r != 0 {
		t.Errorf("nil Rate() = %g, want 0", r)
	}
}

// TestLimiterConcurrent: callers from many goroutines together get exactly the burst at one
// instant, then exactly what the clock adds.
func TestLimiterConcurrent(t *testing.T) {
	clk := newFakeClock()
	l := NewLimiter(50, clk.now)
	count := func() int64 {
		var allowed atomic.Int64
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for range 20 {
					if l.Allow() {
						allowed.Add(1)
					}
				}
			})
		}
		wg.Wait()
		return allowed.Load()
	}
	if n := count(); n != 50 {
		t.Fatalf("%d of 320 concurrent calls allowed at 50/s, want the burst of 50", n)
	}
	clk.advance(200 * time.Millisecond)
	if n := count(); n != 10 {
		t.Fatalf("%d of 320 concurrent calls allowed 0.2 s later at 50/s, want 10", n)
	}
}
