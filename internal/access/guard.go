package access

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Budgets bound what one source address may hold before its clients are viewers: the
// connections it opens (a token bucket) and its pending clients (RTMP connections in their
// handshake or connect, WebRTC sessions whose peer has not connected). They do not bound
// how many viewers an address has: a client that becomes a viewer gives its pending place
// back, so an office behind one NAT address can have a hundred viewers. A zero field takes
// its default; a negative one means no limit.
type Budgets struct {
	// Rate is how many new clients an address may start a second, with bursts of Burst
	// (a token bucket per address). Beyond it a client is refused at once. Defaults: 20 a
	// second, bursts of 120 (a hundred viewers may start together).
	Rate  float64
	Burst int
	// PerAddress caps the pending clients of one address. A client beyond it waits for one
	// of its address's places, up to Wait, then is refused. Default 16.
	PerAddress int
	// Total caps the pending clients of every address together. When it is reached, a
	// client from an address under its budget takes the place of the newest pending client
	// of the address holding the most (that client is evicted), provided that address then
	// still holds more than the newcomer's; otherwise it waits like a client over its
	// address's budget. Default 64.
	Total int
	// Queue caps the clients waiting for a place, every address together; more are
	// refused at once. Default 1024.
	Queue int
	// Wait is the longest a client waits for a place. Default 5 s.
	Wait time.Duration
	// IdlePerAddress caps the connected clients of one address that are not viewers (an
	// RTMP connection past its connect that plays nothing): beyond it, the address's oldest
	// idle clients that have been idle for IdleGrace are closed, so that a burst of
	// clients that connect and then play at once is never touched. When the transport has no
	// viewer's place left, a newcomer from another address takes the place of the oldest
	// idle client of an address over this budget at once (see Guard.ReclaimIdle). Default
	// 16.
	IdlePerAddress int
	// IdleGrace is how long a client beyond IdlePerAddress may stay idle before it is
	// closed. Default 5 s; negative: none.
	IdleGrace time.Duration
}

// Defaults of Budgets.
const (
	DefaultRate       = 20
	DefaultBurst      = 120
	DefaultPerAddress = 16
	DefaultTotal      = 64
	DefaultQueue      = 1024
	DefaultWait       = 5 * time.Second
	// DefaultIdlePerAddress and DefaultIdleGrace are the defaults of Budgets.IdlePerAddress
	// and Budgets.IdleGrace.
	DefaultIdlePerAddress = 16
	DefaultIdleGrace      = 5 * time.Second
	// DefaultLogInterval is how often at most a Guard logs the refusals of one address.
	DefaultLogInterval = 10 * time.Second
)

func (b Budgets) withDefaults() (Budgets, error) {
	if math.IsNaN(b.Rate) || math.IsInf(b.Rate, 0) {
		return b, fmt.Errorf("%w: rate %g", ErrInvalidBudget, b.Rate)
	}
	if b.Rate == 0 {
		b.Rate = DefaultRate
	}
	if b.Burst == 0 {
		b.Burst = DefaultBurst
	}
	if b.Burst < 0 {
		b.Rate = -1 // a bucket of no size: no limit
	}
	if b.PerAddress == 0 {
		b.PerAddress = DefaultPerAddress
	}
	if b.Total == 0 {
		b.Total = DefaultTotal
	}
	if b.Queue == 0 {
		b.Queue = DefaultQueue
	}
	if b.Wait == 0 {
		b.Wait = DefaultWait
	}
	if b.IdlePerAddress == 0 {
		b.IdlePerAddress = DefaultIdlePerAddress
	}
	if b.IdleGrace == 0 {
		b.IdleGrace = DefaultIdleGrace
	}
	return b, nil
}

// GuardConfig configures a Guard. Every zero field is a documented default.
type GuardConfig struct {
	// Transport names the clients in logs and statistics ("rtmp", "webrtc").
	Transport string
	// Budgets are the per-address budgets.
	Budgets Budgets
	// Trusted networks are exempt from every budget (none by default).
	Trusted []netip.Prefix
	// Logger receives the refusals: one line per address and LogInterval at most, with the
	// count of each reason. Nil discards them.
	Logger *slog.Logger
	// LogInterval is the shortest time between two refusal lines of one address. Default
	// 10 s.
	LogInterval time.Duration
	// Now is the clock; nil means time.Now (tests pass a fake one).
	Now func() time.Time
}

// Reason is why a Guard refused or evicted a client.
type Reason int

// The reasons a client is refused.
const (
	// ReasonRate: its address started more clients than Budgets.Rate allows.
	ReasonRate Reason = iota
	// ReasonAddress: its address held Budgets.PerAddress pending clients for as long as it
	// could wait.
	ReasonAddress
	// ReasonTotal: every pending place (Budgets.Total) stayed taken for as long as it could
	// wait, or too many clients were waiting already.
	ReasonTotal
	// ReasonEvicted: a pending client gave its place to a client from an address holding
	// fewer.
	ReasonEvicted
	// ReasonFull: the transport had no viewer's place left (Guard.Refuse).
	ReasonFull
	// ReasonIdle: a connected client that is not a viewer was closed because its address
	// held more than Budgets.IdlePerAddress of them.
	ReasonIdle
	numReasons
)

var reasonNames = [numReasons]string{"rate", "address", "total", "evicted", "full", "idle"}

// Reasons lists every Reason, in order.
var Reasons = []Reason{ReasonRate, ReasonAddress, ReasonTotal, ReasonEvicted, ReasonFull, ReasonIdle}

// String returns the reason's name as metrics label it ("rate", "address", "total",
// "evicted", "full", "idle").
func (r Reason) String() string {
	if r < 0 || r >= numReasons {
		return fmt.Sprintf("reason(%d)", int(r))
	}
	return reasonNames[r]
}

// GuardStats are a Guard's figures.
type GuardStats struct {
	// Pending are the clients holding a pending place now; Waiting wait for one.
	Pending, Waiting int
	// Idle are the connected clients that are not viewers now (see Guard.Connected).
	Idle int
	// Admitted counts clients given a pending place, Promoted those that gave it back by
	// becoming viewers (trusted clients are in neither).
	Admitted, Promoted uint64
	// Refused counts refusals (and evictions) by reason.
	Refused RefusedByReason
}

// RefusedByReason counts refusals by reason.
type RefusedByReason struct {
	Rate, Address, Total, Evicted, Full, Idle uint64
}

// Of returns the count of reason r.
func (c RefusedByReason) Of(r Reason) uint64 {
	switch r {
	case ReasonRate:
		return c.Rate
	case ReasonAddress:
		return c.Address
	case ReasonTotal:
		return c.Total
	case ReasonEvicted:
		return c.Evicted
	case ReasonFull:
		return c.Full
	case ReasonIdle:
		return c.Idle
	}
	return 0
}

// Guard applies per-address budgets to the clients of one transport before they are
// viewers, so that one address cannot take every place: RTMP connections in their
// handshake and connect, WebRTC sessions whose peer has not connected. Transports call
// Admit for each new client and Promote or Done on what it returns. A nil *Guard admits
// everyone. It is safe for concurrent use.
type Guard struct {
	cfg      GuardConfig
	b        Budgets
	log      *slog.Logger
	now      func() time.Time
	interval time.Duration

	mu        sync.Mutex
	addrs     map[netip.Prefix]*addrState
	busy      map[*addrState]struct{} // addresses holding pending clients
	pending   int
	waiters   []*Pending // in arrival order
	seq       uint64
	admitted  uint64
	promoted  uint64
	refused   [numReasons]uint64
	lines     []logLine // refusal lines to write once the lock is released
	timer     *time.Timer
	lastSweep time.Time
	idle      int                     // connected clients that are not viewers
	overIdle  map[*addrState]struct{} // addresses holding more than IdlePerAddress of them
	idleTimer *time.Timer             // closes the over-budget ones once their grace ends
	idleDue   time.Time               // when idleTimer fires (zero: not armed)
}

// addrState is what a Guard knows of one address (an IPv4 address or an IPv6 /64).
type addrState struct {
	key      netip.Prefix
	bucket   bucket
	pending  []*Pending // oldest first
	waiting  int
	unlogged [numReasons]uint64
	lastLog  time.Time
	idle     []*Connected // connected clients that are not viewers, longest idle first
	conns    int          // connected clients (viewers or not) holding this state
}

type pendingState int

const (
	stateWaiting pendingState = iota
	stateHeld
	statePromoted
	stateDone
	stateEvicted
)

// Pending is a client a Guard admitted: it holds a pending place of its address until it
// becomes a viewer (Promote) or ends (Done). A nil *Pending (from a nil Guard or for a
// trusted address) holds nothing; its methods do nothing.
type Pending struct {
	g     *Guard
	a     *addrState
	evict func()
	wake  chan struct{}
	seq   uint64
	state pendingState // guarded by g.mu
}

type logLine struct {
	key   netip.Prefix
	count [numReasons]uint64
}

// NewGuard returns a Guard with cfg's budgets.
func NewGuard(cfg GuardConfig) (*Guard, error) {
	b, err := cfg.Budgets.withDefaults()
	if err != nil {
		return nil, err
	}
	for _, p := range cfg.Trusted {
		if !p.IsValid() {
			return nil, fmt.Errorf("%w: trusted network %v", ErrInvalidBudget, p)
		}
	}
	g := &Guard{cfg: cfg, b: b, log: cfg.Logger, now: cfg.Now, interval: cfg.LogInterval,
		addrs: map[netip.Prefix]*addrState{}, busy: map[*addrState]struct{}{}, overIdle: map[*addrState]struct{}{}}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.interval <= 0 {
		g.interval = DefaultLogInterval
	}
	g.lastSweep = g.now()
	return g, nil
}

// Budgets returns the budgets the Guard applies, defaults filled in.
func (g *Guard) Budgets() Budgets { return g.b }

// AddressKey returns the key under which addr's budget is kept: the address itself for
// IPv4 (and IPv4-mapped IPv6), its /64 for IPv6, where one subscriber usually holds a whole
// /64.
func AddressKey(addr netip.Addr) netip.Prefix {
	addr = addr.Unmap().WithZone("")
	if addr.Is4() {
		return netip.PrefixFrom(addr, 32)
	}
	p, _ := addr.Prefix(64)
	return p
}

// ParseRemote returns the address of "host:port" or of a bare address (an invalid Addr for
// anything else, such as a Unix socket's name: such clients share one budget).
func ParseRemote(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr()
	}
	a, _ := netip.ParseAddr(s)
	return a
}

// Trusted reports whether addr is in a trusted network.
func (g *Guard) Trusted(addr netip.Addr) bool {
	if g == nil {
		return true
	}
	addr = addr.Unmap().WithZone("") // a zoned address is in no prefix for Contains
	for _, p := range g.cfg.Trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Admit admits a new client from addr as pending, under its address's budgets: refused at
// once (ErrRate) when the address starts clients too fast, given a pending place when its
// address and the total have one (evicting another address's client if that is fair, see
// Budgets.Total), else made to wait for a place until Budgets.Wait or ctx ends (then
// ErrAddressBusy or ErrBusy). evict, called at most once, from another goroutine and
// without the Guard's lock, must end the client when another takes its place. A trusted
// address, and a nil Guard, get a nil *Pending at once.
func (g *Guard) Admit(ctx context.Context, addr netip.Addr, evict func()) (*Pending, error) {
	if g == nil || g.Trusted(addr) {
		return nil, nil
	}
	now := g.now()
	g.mu.Lock()
	g.sweepLocked(now)
	a := g.addrLocked(AddressKey(addr), now)
	if g.b.Rate > 0 && !a.bucket.take(now, g.b.Rate, float64(g.b.Burst)) {
		g.refuseLocked(a, ReasonRate, now)
		g.unlock()
		return nil, fmt.Errorf("%w (at most %g a second, bursts of %d)", ErrRate, g.b.Rate, g.b.Burst)
	}
	p := &Pending{g: g, a: a, evict: evict}
	if victim, ok := g.placeLocked(p); ok {
		g.unlock()
		victim.evicted()
		return p, nil
	}
	if queueFull := g.b.Queue > 0 && len(g.waiters) >= g.b.Queue; queueFull || g.b.Queue < 0 || g.b.Wait < 0 {
		err := g.refuseWaiterLocked(a, now, queueFull)
		g.unlock()
		return nil, err
	}
	p.wake = make(chan struct{})
	g.waiters = append(g.waiters, p)
	a.waiting++
	g.mu.Unlock()

	t := time.NewTimer(g.b.Wait)
	defer t.Stop()
	select {
	case <-p.wake:
		return p.woken()
	case <-t.C:
	case <-ctx.Done():
	}
	g.mu.Lock()
	if p.state != stateWaiting { // placed while the timer fired: wake follows the evictions
		g.mu.Unlock()
		<-p.wake
		return p.woken()
	}
	g.waiters = slices.DeleteFunc(g.waiters, func(w *Pending) bool { return w == p })
	a.waiting--
	p.state = stateDone
	err := g.refuseWaiterLocked(a, g.now(), false)
	g.unlock()
	return nil, err
}

// woken returns a client placed after waiting, or ErrBusy when a client placed after it in
// the same round took its place (it is counted as evicted).
func (p *Pending) woken() (*Pending, error) {
	p.g.mu.Lock()
	evicted := p.state == stateEvicted
	p.g.mu.Unlock()
	if evicted {
		return nil, fmt.Errorf("%w (%d)", ErrBusy, p.g.b.Total)
	}
	return p, nil
}

// refuseWaiterLocked refuses a client that found no place: for its address's budget when
// that is full, else for the total (queueFull: the queue, which is part of it).
func (g *Guard) refuseWaiterLocked(a *addrState, now time.Time, queueFull bool) error {
	if !queueFull && g.b.PerAddress >= 0 && len(a.pending) >= g.b.PerAddress {
		g.refuseLocked(a, ReasonAddress, now)
		return fmt.Errorf("%w (%d)", ErrAddressBusy, g.b.PerAddress)
	}
	g.refuseLocked(a, ReasonTotal, now)
	return fmt.Errorf("%w (%d)", ErrBusy, g.b.Total)
}

// Refuse counts and logs (once per address and interval) a client that the transport
// refused itself, for reason (ReasonFull: no viewer's place left).
func (g *Guard) Refuse(addr netip.Addr, reason Reason) {
	if g == nil || reason < 0 || reason >= numReasons {
		return
	}
	now := g.now()
	g.mu.Lock()
	g.refuseLocked(g.addrLocked(AddressKey(addr), now), reason, now)
	g.unlock()
}

// Promote gives the pending place back because the client became a viewer (its RTMP
// connect was accepted, its WebRTC peer connected). It cannot be evicted any more.
func (p *Pending) Promote() { p.release(statePromoted) }

// Done gives the pending place back because the client ended; after Promote it does
// nothing. Call it once the client is gone, whatever happened.
func (p *Pending) Done() { p.release(stateDone) }

func (p *Pending) release(to pendingState) {
	if p == nil {
		return
	}
	g := p.g
	g.mu.Lock()
	if p.state != stateHeld {
		g.mu.Unlock()
		return
	}
	g.dropLocked(p, to)
	if to == statePromoted {
		g.promoted++
	}
	placed, victims := g.wakeLocked()
	g.unlock()
	for _, v := range victims {
		v.evicted()
	}
	for _, w := range placed { // after the evictions: a place is free before its new holder goes on
		close(w.wake)
	}
}

// evicted ends a client whose place was taken (nil: none was).
func (p *Pending) evicted() {
	if p != nil && p.evict != nil {
		p.evict()
	}
}

// placeLocked gives p a pending place if its address and the total have one, or if the
// total is full but another address holds more than p's would (its newest client is then
// dropped and returned, to be evicted once the lock is released).
func (g *Guard) placeLocked(p *Pending) (victim *Pending, ok bool) {
	a := p.a
	if g.b.PerAddress >= 0 && len(a.pending) >= g.b.PerAddress {
		return nil, false
	}
	if g.b.Total >= 0 && g.pending >= g.b.Total {
		var heaviest *addrState
		for b := range g.busy {
			if b == a || len(b.pending) <= len(a.pending)+1 {
				continue
			}
			if heaviest == nil || len(b.pending) > len(heaviest.pending) ||
				len(b.pending) == len(heaviest.pending) && b.pending[len(b.pending)-1].seq > heaviest.pending[len(heaviest.pending)-1].seq {
				heaviest = b
			}
		}
		if heaviest == nil {
			return nil, false
		}
		victim = heaviest.pending[len(heaviest.pending)-1]
		g.dropLocked(victim, stateEvicted)
		g.refuseLocked(heaviest, ReasonEvicted, g.now())
	}
	g.seq++
	p.seq = g.seq
	p.state = stateHeld
	a.pending = append(a.pending, p)
	g.busy[a] = struct{}{}
	g.pending++
	g.admitted++
	return victim, true
}

// dropLocked takes a held client's place back.
func (g *Guard) dropLocked(p *Pending, to pendingState) {
	a := p.a
	a.pending = slices.DeleteFunc(a.pending, func(x *Pending) bool { return x == p })
	if len(a.pending) == 0 {
		delete(g.busy, a)
	}
	g.pending--
	p.state = to
}

// wakeLocked places the waiting clients that fit now, in arrival order, and returns them
// (to be woken) and the clients they evicted.
func (g *Guard) wakeLocked() (placed, victims []*Pending) {
	kept := g.waiters[:0]
	for _, w := range g.waiters {
		victim, ok := g.placeLocked(w)
		if !ok {
			kept = append(kept, w)
			continue
		}
		w.a.waiting--
		placed = append(placed, w)
		if victim != nil {
			victims = append(victims, victim)
		}
	}
	clear(g.waiters[len(kept):])
	g.waiters = kept
	return placed, victims
}

func (g *Guard) addrLocked(key netip.Prefix, now time.Time) *addrState {
	a := g.addrs[key]
	if a == nil {
		a = &addrState{key: key, bucket: newBucket(float64(g.b.Burst), now)}
		g.addrs[key] = a
	}
	return a
}

// refuseLocked counts a refusal and logs it now if the address's last line is an interval
// old, else later (the timer).
func (g *Guard) refuseLocked(a *addrState, r Reason, now time.Time) {
	g.refused[r]++
	a.unlogged[r]++
	if a.lastLog.IsZero() || now.Sub(a.lastLog) >= g.interval {
		g.takeLineLocked(a, now)
		return
	}
	if g.timer == nil {
		g.timer = time.AfterFunc(a.lastLog.Add(g.interval).Sub(now), g.flush)
	}
}

func (g *Guard) takeLineLocked(a *addrState, now time.Time) {
	g.lines = append(g.lines, logLine{key: a.key, count: a.unlogged})
	a.unlogged = [numReasons]uint64{}
	a.lastLog = now
}

// flush writes the refusal lines that are due and arms the timer for the others.
func (g *Guard) flush() {
	now := g.now()
	g.mu.Lock()
	g.timer = nil
	var next time.Duration
	for _, a := range g.addrs {
		if a.unlogged == ([numReasons]uint64{}) {
			continue
		}
		if due := a.lastLog.Add(g.interval).Sub(now); due > 0 {
			if next == 0 || due < next {
				next = due
			}
			continue
		}
		g.takeLineLocked(a, now)
	}
	if next > 0 {
		g.timer = time.AfterFunc(next, g.flush)
	}
	g.unlock()
}

// unlock releases the lock and writes the refusal lines taken under it.
func (g *Guard) unlock() {
	lines := g.lines
	g.lines = nil
	g.mu.Unlock()
	for _, l := range lines {
		attrs := []any{"transport", g.cfg.Transport, "addr", keyString(l.key)}
		var total uint64
		for r, n := range l.count {
			if n > 0 {
				attrs = append(attrs, reasonNames[r], n)
				total += n
			}
		}
		attrs = append(attrs, "count", total, "interval", g.interval.String())
		g.log.Warn("clients refused: per-address budget", attrs...)
	}
}

// keyString writes an IPv4 key as the address, an IPv6 one as its /64.
func keyString(p netip.Prefix) string {
	if p.Addr().Is4() && p.Bits() == 32 {
		return p.Addr().String()
	}
	return p.String()
}

// sweepLocked forgets, once an interval, the addresses that hold nothing, wait for
// nothing, have nothing to log and would have a full bucket.
func (g *Guard) sweepLocked(now time.Time) {
	if now.Sub(g.lastSweep) < g.interval {
		return
	}
	g.lastSweep = now
	for k, a := range g.addrs {
		if len(a.pending) == 0 && a.waiting == 0 && a.conns == 0 && a.unlogged == ([numReasons]uint64{}) &&
			(g.b.Rate <= 0 || a.bucket.full(now, g.b.Rate, float64(g.b.Burst))) {
			delete(g.addrs, k)
		}
	}
}

// Stats returns the Guard's figures.
func (g *Guard) Stats() GuardStats {
	if g == nil {
		return GuardStats{}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.refused
	return GuardStats{
		Pending: g.pending, Waiting: len(g.waiters), Idle: g.idle, Admitted: g.admitted, Promoted: g.promoted,
		Refused: RefusedByReason{Rate: r[ReasonRate], Address: r[ReasonAddress], Total: r[ReasonTotal],
			Evicted: r[ReasonEvicted], Full: r[ReasonFull], Idle: r[ReasonIdle]},
	}
}

// Close writes the refusals not logged yet and stops the log and idle timers.
func (g *Guard) Close() {
	if g == nil {
		return
	}
	now := g.now()
	g.mu.Lock()
	if g.timer != nil {
		g.timer.Stop()
		g.timer = nil
	}
	if g.idleTimer != nil {
		g.idleTimer.Stop()
		g.idleTimer, g.idleDue = nil, time.Time{}
	}
	for _, a := range g.addrs {
		if a.unlogged != ([numReasons]uint64{}) {
			g.takeLineLocked(a, now)
		}
	}
	g.unlock()
}
