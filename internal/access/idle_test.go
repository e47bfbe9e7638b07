package access

import (
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
)

// An address over its idle budget loses its longest idle clients once their grace ends,
// down to the budget; viewers, clients of other addresses and trusted ones are left alone;
// a client that stops viewing is idle again.
func TestGuardIdleBudget(t *testing.T) {
	const grace = 200 * time.Millisecond
	g := mustGuard(t, GuardConfig{Budgets: Budgets{IdlePerAddress: 2, IdleGrace: grace},
		Trusted: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	var closed [6]atomic.Int32
	var cs [6]*Connected
	for i := range cs {
		cs[i] = g.Connected(ip("198.51.100.1"), func() { closed[i].Add(1) })
	}
	cs[1].SetViewing(true) // a viewer does not count
	cs[1].SetViewing(true) // twice changes nothing
	other := g.Connected(ip("198.51.100.2"), func() { t.Error("a client of an address within its budget was closed") })
	if g.Connected(ip("192.0.2.9"), nil) != nil {
		t.Error("a trusted client is counted")
	}
	if st := g.Stats(); st.Idle != 6 {
		t.Fatalf("stats %+v, want 6 idle", st)
	}
	time.Sleep(grace / 4)
	if n := g.Stats().Refused.Idle; n != 0 {
		t.Fatalf("%d closed within the grace, want none", n)
	}
	waitUntil(t, "the address down to its idle budget", func() bool { return g.Stats().Refused.Idle == 3 })
	for i, want := range []int32{1, 0, 1, 1, 0, 0} { // the three longest idle, not the viewer
		if n := closed[i].Load(); n != want {
			t.Errorf("client %d closed %d times, want %d", i, n, want)
		}
		if cs[i].Evicted() != (want == 1) {
			t.Errorf("client %d: Evicted() %v", i, cs[i].Evicted())
		}
	}
	if st := g.Stats(); st.Idle != 3 {
		t.Fatalf("stats %+v, want 3 idle (2 of one address, 1 of the other)", st)
	}
	cs[1].SetViewing(false) // stopped: idle again, the third of its address, with a new grace
	waitUntil(t, "the longest idle closed", func() bool { return closed[4].Load() == 1 })
	if closed[1].Load() != 0 {
		t.Fatal("the client idle again for the shortest time was closed")
	}
	for _, c := range cs {
		c.Done()
		c.Done()
	}
	other.Done()
	if st := g.Stats(); st.Idle != 0 || st.Refused.Idle != 4 {
		t.Fatalf("stats %+v, want none idle and 4 closed", st)
	}
}

// With the house full, another address reclaims the longest idle client of an address over
// its budget at once; an address cannot reclaim from itself or from one within budget.
func TestGuardReclaimIdle(t *testing.T) {
	g := mustGuard(t, GuardConfig{Budgets: Budgets{IdlePerAddress: 1, IdleGrace: time.Hour}})
	var closed [3]atomic.Int32
	for i := range closed {
		g.Connected(ip("198.51.100.1"), func() { closed[i].Add(1) })
	}
	g.Connected(ip("198.51.100.2"), func() { t.Error("a client within its budget was reclaimed") })
	if g.CanReclaimIdle(ip("198.51.100.1")) || g.ReclaimIdle(ip("198.51.100.1")) {
		t.Fatal("an address reclaimed its own idle client")
	}
	if !g.CanReclaimIdle(ip("198.51.100.3")) || !g.ReclaimIdle(ip("198.51.100.3")) {
		t.Fatal("no idle client reclaimed")
	}
	if closed[0].Load() != 1 || closed[1].Load() != 0 {
		t.Fatal("the reclaimed client is not the longest idle")
	}
	if !g.ReclaimIdle(ip("198.51.100.3")) || g.ReclaimIdle(ip("198.51.100.3")) {
		t.Fatal("want exactly one more reclaimed: the address is then within its budget")
	}
	if st := g.Stats(); st.Refused.Idle != 2 || st.Idle != 2 {
		t.Fatalf("stats %+v, want 2 closed for idle, 2 idle", st)
	}
	var none *Guard
	if none.Connected(ip("198.51.100.1"), nil) != nil || none.ReclaimIdle(ip("198.51.100.1")) {
		t.Fatal("a nil Guard counts idle clients")
	}
	unlimited := mustGuard(t, GuardConfig{Budgets: Budgets{IdlePerAddress: -1}})
	if unlimited.Connected(ip("198.51.100.1"), nil) != nil {
		t.Fatal("no idle budget, yet the client is counted")
	}
}
