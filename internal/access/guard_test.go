package access

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func mustGuard(t *testing.T, cfg GuardConfig) *Guard {
	t.Helper()
	g, err := NewGuard(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// admitNow admits without waiting: the budgets' Queue is negative in the tests that use it.
func admitNow(t *testing.T, g *Guard, addr string) (*Pending, error) {
	t.Helper()
	return g.Admit(context.Background(), ip(addr), nil)
}

func TestAddressKey(t *testing.T) {
	same := [][2]string{
		{"192.0.2.7", "::ffff:192.0.2.7"},
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff"},
		{"fe80::1%eth0", "fe80::2"},
	}
	for _, p := range same {
		if a, b := AddressKey(ip(p[0])), AddressKey(ip(p[1])); a != b {
			t.Errorf("%s and %s have different keys %v and %v, want one", p[0], p[1], a, b)
		}
	}
	differ := [][2]string{
		{"192.0.2.7", "192.0.2.8"},
		{"2001:db8:1:2::1", "2001:db8:1:3::1"},
	}
	for _, p := range differ {
		if a, b := AddressKey(ip(p[0])), AddressKey(ip(p[1])); a == b {
			t.Errorf("%s and %s share the key %v, want two", p[0], p[1], a)
		}
	}
	if k := AddressKey(ip("2001:db8:1:2:3:4:5:6")); k.String() != "2001:db8:1:2::/64" {
		t.Errorf("key %v, want 2001:db8:1:2::/64", k)
	}
	if a := ParseRemote("[2001:db8::1]:4000"); a != ip("2001:db8::1") {
		t.Errorf("ParseRemote of an IPv6 host:port: %v", a)
	}
	if a := ParseRemote("192.0.2.1:1935"); a != ip("192.0.2.1") {
		t.Errorf("ParseRemote of an IPv4 host:port: %v", a)
	}
}

// Addresses of one IPv6 /64 share a budget; another /64 has its own.
func TestGuardIPv6SlashSixtyFour(t *testing.T) {
	g := mustGuard(t, GuardConfig{Budgets: Budgets{PerAddress: 2, Queue: -1}})
	for _, a := range []string{"2001:db8:0:1::1", "2001:db8:0:1::2"} {
		if _, err := admitNow(t, g, a); err != nil {
			t.Fatalf("%s: %v", a, err)
		}
	}
	if _, err := admitNow(t, g, "2001:db8:0:1:aaaa::3"); !errors.Is(err, ErrAddressBusy) {
		t.Fatalf("a third client of the /64: %v, want ErrAddressBusy", err)
	}
	if _, err := admitNow(t, g, "2001:db8:0:2::1"); err != nil {
		t.Fatalf("another /64: %v", err)
	}
	if st := g.Stats(); st.Pending != 3 || st.Refused.Address != 1 {
		t.Fatalf("stats %+v, want 3 pending and 1 refused for the address", st)
	}
}

// The bucket passes a burst of Burst, then Rate a second; an address's bucket is its own.
func TestGuardRate(t *testing.T) {
	clk := newFakeClock()
	g := mustGuard(t, GuardConfig{Budgets: Budgets{Rate: 20, Burst: 120, PerAddress: -1, Total: -1}, Now: clk.now})
	start := func(addr string) int {
		n := 0
		for n < 1000 {
			p, err := admitNow(t, g, addr)
			if errors.Is(err, ErrRate) {
				return n
			}
			if err != nil {
				t.Fatal(err)
			}
			p.Promote()
			n++
		}
		return n
	}
	if n := start("192.0.2.1"); n != 120 {
		t.Fatalf("burst of %d, want 120", n)
	}
	if n := start("192.0.2.2"); n != 120 {
		t.Fatalf("another address: burst of %d, want its own 120", n)
	}
	clk.advance(100 * time.Millisecond)
	if n := start("192.0.2.1"); n != 2 {
		t.Fatalf("%d started 0.1 s later at 20/s, want 2", n)
	}
	clk.advance(time.Hour)
	if n := start("192.0.2.1"); n != 120 {
		t.Fatalf("%d started after a rest, want the burst of 120", n)
	}
	if st := g.Stats(); st.Refused.Rate != 4 || st.Promoted != 362 || st.Pending != 0 {
		t.Fatalf("stats %+v, want 4 refused for the rate, 362 promoted, none pending", st)
	}
}

// A client over its address's budget waits for one of its address's places; one that
// waits too long is refused.
func TestGuardWaitsForItsAddress(t *testing.T) {
	g := mustGuard(t, GuardConfig{Budgets: Budgets{PerAddress: 2, Wait: time.Minute}})
	first, _ := admitNow(t, g, "192.0.2.1")
	admitNow(t, g, "192.0.2.1")
	got := make(chan error, 1)
	go func() {
		_, err := g.Admit(context.Background(), ip("192.0.2.1"), nil)
		got <- err
	}()
	waitUntil(t, "a client waiting", func() bool { return g.Stats().Waiting == 1 })
	if _, err := admitNow(t, g, "192.0.2.2"); err != nil { // another address does not wait
		t.Fatalf("another address: %v", err)
	}
	select {
	case err := <-got:
		t.Fatalf("the third client got %v while its address held two", err)
	case <-time.After(50 * time.Millisecond):
	}
	first.Promote()
	if err := <-got; err != nil {
		t.Fatalf("the waiting client after a place freed: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := g.Admit(ctx, ip("192.0.2.1"), nil); !errors.Is(err, ErrAddressBusy) {
		t.Fatalf("a client whose wait ended: %v, want ErrAddressBusy", err)
	}
	if st := g.Stats(); st.Pending != 3 || st.Waiting != 0 || st.Refused.Address != 1 || st.Promoted != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// When every pending place is taken, a newcomer from an address under its budget evicts
// the newest client of the address that holds the most, as long as that address then
// still holds more than the newcomer's.
func TestGuardEvictsNewestOfHeaviest(t *testing.T) {
	g := mustGuard(t, GuardConfig{Budgets: Budgets{PerAddress: 3, Total: 4, Queue: -1}})
	evicted := map[string]*atomic.Int32{}
	admit := func(name, addr string) (*Pending, error) {
		n := &atomic.Int32{}
		evicted[name] = n
		return g.Admit(context.Background(), ip(addr), func() { n.Add(1) })
	}
	var a3 *Pending
	for _, name := range []string{"a1", "a2", "a3"} {
		p, err := admit(name, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		a3 = p
	}
	if _, err := admit("b1", "192.0.2.2"); err != nil {
		t.Fatal(err)
	}
	if _, err := admit("c1", "192.0.2.3"); err != nil {
		t.Fatalf("newcomer with the house full: %v, want a3's place", err)
	}
	if _, err := admit("d1", "192.0.2.4"); err != nil {
		t.Fatalf("second newcomer: %v, want a2's place", err)
	}
	for name, want := range map[string]int32{"a1": 0, "a2": 1, "a3": 1, "b1": 0, "c1": 0, "d1": 0} {
		if n := evicted[name].Load(); n != want {
			t.Errorf("%s evicted %d times, want %d", name, n, want)
		}
	}
	// Now every address holds one: nobody holds more than a newcomer would.
	if _, err := admit("e1", "192.0.2.5"); !errors.Is(err, ErrBusy) {
		t.Fatalf("newcomer with every address at one: %v, want ErrBusy", err)
	}
	if _, err := admit("a4", "192.0.2.1"); !errors.Is(err, ErrBusy) {
		t.Fatalf("a client of the heaviest address: %v, want ErrBusy", err)
	}
	a3.Done() // an evicted client's Done gives nothing back twice
	if st := g.Stats(); st.Pending != 4 || st.Refused.Evicted != 2 || st.Refused.Total != 2 || st.Admitted != 6 {
		t.Fatalf("stats %+v, want 4 pending, 2 evicted, 2 refused for the total, 6 admitted", st)
	}
}

func TestGuardTrustedAndNil(t *testing.T) {
	g := mustGuard(t, GuardConfig{Budgets: Budgets{Rate: 1, Burst: 1, PerAddress: 1, Total: 1, Queue: -1},
		Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}})
	for _, addr := range []string{"10.1.2.3", "::ffff:10.9.9.9", "2001:db8:5::1"} {
		for range 50 {
			p, err := admitNow(t, g, addr)
			if p != nil || err != nil {
				t.Fatalf("trusted %s: %v %v, want nothing held and no error", addr, p, err)
			}
		}
	}
	if _, err := admitNow(t, g, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if _, err := admitNow(t, g, "192.0.2.1"); !errors.Is(err, ErrRate) {
		t.Fatalf("untrusted second client at 1/s: %v, want ErrRate", err)
	}
	if st := g.Stats(); st.Admitted != 1 || st.Pending != 1 || st.Refused.Rate != 1 {
		t.Fatalf("stats %+v: trusted clients must not count", st)
	}
	var none *Guard
	p, err := none.Admit(context.Background(), ip("192.0.2.1"), nil)
	if p != nil || err != nil {
		t.Fatalf("nil Guard: %v %v", p, err)
	}
	p.Promote()
	p.Done()
	none.Refuse(ip("192.0.2.1"), ReasonFull)
}

// recorder keeps the log records it is given.
type recorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.recs = append(r.recs, rec.Clone())
	r.mu.Unlock()
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

// lines returns each record's attributes.
func (r *recorder) lines() []map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]string
	for _, rec := range r.recs {
		m := map[string]string{"msg": rec.Message}
		rec.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
		out = append(out, m)
	}
	return out
}

// Refusals are logged once per address and interval, with the count; never one line per
// client.
func TestGuardLogsOncePerAddressAndInterval(t *testing.T) {
	clk := newFakeClock()
	rec := &recorder{}
	g := mustGuard(t, GuardConfig{Transport: "rtmp", Budgets: Budgets{Rate: 0.001, Burst: 1},
		Logger: slog.New(rec), Now: clk.now, LogInterval: 10 * time.Second})
	for _, addr := range []string{"192.0.2.1", "192.0.2.2"} {
		if _, err := admitNow(t, g, addr); err != nil {
			t.Fatal(err)
		}
	}
	for range 50 {
		admitNow(t, g, "192.0.2.1")
	}
	admitNow(t, g, "192.0.2.2")
	lines := rec.lines()
	if len(lines) != 2 || lines[0]["addr"] != "192.0.2.1" || lines[0]["count"] != "1" || lines[0]["rate"] != "1" ||
		lines[1]["addr"] != "192.0.2.2" || lines[1]["transport"] != "rtmp" {
		t.Fatalf("after 51 refusals of two addresses: %v, want one line each, the first refusal counted", lines)
	}
	clk.advance(11 * time.Second)
	admitNow(t, g, "192.0.2.1")
	lines = rec.lines()
	if len(lines) != 3 || lines[2]["addr"] != "192.0.2.1" || lines[2]["count"] != "50" || lines[2]["interval"] != "10s" {
		t.Fatalf("an interval later: %v, want a third line counting the 49 held back and the new one", lines)
	}
	if st := g.Stats(); st.Refused.Rate != 52 {
		t.Fatalf("refused %d for the rate, want 52", st.Refused.Rate)
	}
}

// Refusals held back are written by the timer once their interval has passed, without
// another refusal to trigger them.
func TestGuardLogTimer(t *testing.T) {
	rec := &recorder{}
	g := mustGuard(t, GuardConfig{Budgets: Budgets{Rate: 0.001, Burst: 1}, Logger: slog.New(rec), LogInterval: 100 * time.Millisecond})
	admitNow(t, g, "192.0.2.1")
	for range 6 {
		admitNow(t, g, "192.0.2.1")
	}
	g.Refuse(ip("192.0.2.1"), ReasonFull)
	waitUntil(t, "the held-back refusals logged", func() bool { return len(rec.lines()) == 2 })
	if l := rec.lines()[1]; l["count"] != "6" || l["rate"] != "5" || l["full"] != "1" {
		t.Fatalf("timer line %v, want 5 for the rate and 1 full", l)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(rec.lines()); n != 2 {
		t.Fatalf("%d lines with nothing more refused, want 2", n)
	}
}

// Many clients of several addresses coming and going, some evicted: the budgets hold at
// every moment and everything is given back.
func TestGuardConcurrent(t *testing.T) {
	g := mustGuard(t, GuardConfig{Budgets: Budgets{Rate: -1, PerAddress: 3, Total: 8, Wait: 2 * time.Second}})
	const addrs = 5
	var held [addrs]atomic.Int32
	var total, over atomic.Int32
	var wg sync.WaitGroup
	for i := range 300 {
		wg.Go(func() {
			a := i % addrs
			// 0: not counted yet, 1: counted, 2: gone (left or evicted).
			var state atomic.Int32
			leave := func() {
				if state.CompareAndSwap(1, 2) {
					held[a].Add(-1)
					total.Add(-1)
				}
				state.CompareAndSwap(0, 2)
			}
			p, err := g.Admit(context.Background(), netip.AddrFrom4([4]byte{192, 0, 2, byte(a + 1)}), leave)
			if err != nil {
				return
			}
			if state.CompareAndSwap(0, 1) {
				if held[a].Add(1) > 3 || total.Add(1) > 8 {
					over.Add(1)
				}
			}
			time.Sleep(time.Millisecond)
			leave()
			if i%2 == 0 {
				p.Promote()
			}
			p.Done()
		})
	}
	wg.Wait()
	if n := over.Load(); n != 0 {
		t.Fatalf("%d admissions beyond a budget", n)
	}
	if st := g.Stats(); st.Pending != 0 || st.Waiting != 0 || st.Admitted == 0 {
		t.Fatalf("stats %+v, want admissions, all given back", st)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
