package session

import (
	"sync"
	"testing"
)

// The encoder's bitrate follows the receiver's estimate with headroom, within [min,
// ceiling]; small changes are ignored; stream.setBitrate's ceiling applies at once.
func TestBitrateFollowsEstimateWithinBounds(t *testing.T) {
	var mu sync.Mutex
	var set []int
	b := newBitrateControl(300_000, 4_000_000, func(bps int) error {
		mu.Lock()
		set = append(set, bps)
		mu.Unlock()
		return nil
	})
	last := func() int {
		mu.Lock()
		defer mu.Unlock()
		if len(set) == 0 {
			return 0
		}
		return set[len(set)-1]
	}
	steps := []struct {
		remb, want int
	}{
		{10_000_000, 0},        // above the ceiling: stays at 4 Mbit/s, no change
		{2_000_000, 1_700_000}, // 85 % of the estimate
		{1_980_000, 1_700_000}, // a small change is ignored
		{100_000, 300_000},     // never below the minimum
		{3_000_000, 2_550_000}, // back up
		{50_000_000, 4_000_000},
	}
	for _, s := range steps {
		if err := b.estimated(s.remb); err != nil {
			t.Fatal(err)
		}
		if got := last(); got != s.want {
			t.Fatalf("after REMB %d: encoder at %d, want %d", s.remb, got, s.want)
		}
	}
	if err := b.setCeiling(1_000_000); err != nil || last() != 1_000_000 {
		t.Fatalf("ceiling 1 Mbit/s: encoder at %d (%v)", last(), err)
	}
	if err := b.setCeiling(200_000); err != nil || last() != 200_000 {
		t.Fatalf("ceiling below the minimum: encoder at %d (%v)", last(), err)
	}
	if est, cur, ceil := b.figures(); est != 50_000_000 || cur != 200_000 || ceil != 200_000 {
		t.Fatalf("figures %d %d %d", est, cur, ceil)
	}
}
