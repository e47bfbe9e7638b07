package access

import (
	"net/netip"
	"slices"
	"time"
)

// Connected is a client past its admission (an RTMP connection whose connect was
// accepted) that a Guard keeps under its address's idle budget while it is not a viewer. A
// nil *Connected (from a nil Guard, a trusted address or no idle budget) is never closed;
// its methods do nothing.
type Connected struct {
	g       *Guard
	a       *addrState
	evict   func()
	since   time.Time // when it last became idle
	idle    bool      // guarded by g.mu
	done    bool      // guarded by g.mu
	evicted bool      // guarded by g.mu
}

// Connected registers a client from addr that has just connected, idle until
// SetViewing(true). evict, called at most once, from another goroutine and without the
// Guard's lock, must end the client when its address holds too many idle clients (see
// Budgets.IdlePerAddress). Call Done once the client is gone.
func (g *Guard) Connected(addr netip.Addr, evict func()) *Connected {
	if g == nil || g.b.IdlePerAddress < 0 || g.Trusted(addr) {
		return nil
	}
	now := g.now()
	g.mu.Lock()
	defer g.unlock()
	a := g.addrLocked(AddressKey(addr), now)
	a.conns++
	c := &Connected{g: g, a: a, evict: evict}
	c.idleLocked(now)
	return c
}

// SetViewing tells whether the client is a viewer now (an RTMP connection playing at
// least one stream); calling it again with the same value changes nothing. An idle client
// counts against its address's idle budget, from the moment it became idle.
func (c *Connected) SetViewing(viewing bool) {
	if c == nil {
		return
	}
	g := c.g
	now := g.now()
	g.mu.Lock()
	defer g.unlock()
	if c.done || viewing != c.idle {
		return
	}
	if viewing {
		g.dropIdleLocked(c)
		return
	}
	c.idleLocked(now)
}

// Done forgets the client, which has ended.
func (c *Connected) Done() {
	if c == nil {
		return
	}
	g := c.g
	g.mu.Lock()
	defer g.unlock()
	if c.done {
		return
	}
	if c.idle {
		g.dropIdleLocked(c)
	}
	c.done = true
	c.a.conns--
}

// Evicted reports whether the Guard closed the client for its address's idle budget.
func (c *Connected) Evicted() bool {
	if c == nil {
		return false
	}
	c.g.mu.Lock()
	defer c.g.mu.Unlock()
	return c.evicted
}

// ReclaimIdle is for a transport with no viewer's place left: it closes the longest idle
// client of the address (other than addr's) holding the most idle clients beyond
// Budgets.IdlePerAddress, grace or not, and reports whether it did, in which case the
// caller may give that client's place to its own. Idle clients cannot keep a viewer from
// another address out, even while their address opens them faster than the grace closes
// them.
func (g *Guard) ReclaimIdle(addr netip.Addr) bool {
	if g == nil || g.b.IdlePerAddress < 0 {
		return false
	}
	now := g.now()
	key := AddressKey(addr)
	g.mu.Lock()
	var heaviest *addrState
	for a := range g.overIdle {
		if a.key != key && (heaviest == nil || len(a.idle) > len(heaviest.idle)) {
			heaviest = a
		}
	}
	if heaviest == nil {
		g.unlock()
		return false
	}
	victim := heaviest.idle[0]
	g.evictIdleLocked(victim, now)
	g.unlock()
	if victim.evict != nil {
		victim.evict()
	}
	return true
}

// CanReclaimIdle reports whether ReclaimIdle would find a client to close now (the answer
// may change before it is called).
func (g *Guard) CanReclaimIdle(addr netip.Addr) bool {
	if g == nil || g.b.IdlePerAddress < 0 {
		return false
	}
	key := AddressKey(addr)
	g.mu.Lock()
	defer g.mu.Unlock()
	for a := range g.overIdle {
		if a.key != key {
			return true
		}
	}
	return false
}

// idleLocked makes c idle from now and arms the idle timer when its address is over budget.
func (c *Connected) idleLocked(now time.Time) {
	g, a := c.g, c.a
	c.idle, c.since = true, now
	a.idle = append(a.idle, c)
	g.idle++
	if len(a.idle) > g.b.IdlePerAddress {
		g.overIdle[a] = struct{}{}
		g.armIdleLocked(a.idle[0].since.Add(max(g.b.IdleGrace, 0)), now)
	}
}

// dropIdleLocked takes an idle client off its address's list.
func (g *Guard) dropIdleLocked(c *Connected) {
	a := c.a
	a.idle = slices.DeleteFunc(a.idle, func(x *Connected) bool { return x == c })
	c.idle = false
	g.idle--
	if len(a.idle) <= g.b.IdlePerAddress {
		delete(g.overIdle, a)
	}
}

// evictIdleLocked drops c, counts and logs it; its evict is called once the lock is
// released.
func (g *Guard) evictIdleLocked(c *Connected, now time.Time) {
	g.dropIdleLocked(c)
	c.evicted = true
	g.refuseLocked(c.a, ReasonIdle, now)
}

// armIdleLocked makes the idle timer fire at due at the latest.
func (g *Guard) armIdleLocked(due, now time.Time) {
	if g.idleTimer != nil && !g.idleDue.After(due) {
		return
	}
	if g.idleTimer != nil {
		g.idleTimer.Stop()
	}
	g.idleDue = due
	g.idleTimer = time.AfterFunc(max(due.Sub(now), time.Millisecond), g.closeIdle)
}

// closeIdle closes, for every address over its idle budget, its longest idle clients whose
// grace has ended, until the address is within its budget, and arms the timer for the
// next grace to end.
func (g *Guard) closeIdle() {
	now := g.now()
	grace := max(g.b.IdleGrace, 0)
	g.mu.Lock()
	g.idleTimer, g.idleDue = nil, time.Time{}
	var victims []*Connected
	var next time.Time
	for a := range g.overIdle {
		for len(a.idle) > g.b.IdlePerAddress && now.Sub(a.idle[0].since) >= grace {
			v := a.idle[0]
			g.evictIdleLocked(v, now) // drops a from overIdle once within budget
			victims = append(victims, v)
		}
		if len(a.idle) > g.b.IdlePerAddress {
			if due := a.idle[0].since.Add(grace); next.IsZero() || due.Before(next) {
				next = due
			}
		}
	}
	if !next.IsZero() {
		g.armIdleLocked(next, now)
	}
	g.unlock()
	for _, v := range victims {
		if v.evict != nil {
			v.evict()
		}
	}
}
