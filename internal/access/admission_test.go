package access

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestAdmissionMessages(t *testing.T) {
	type refusal struct{ kind, reason string }
	var got []refusal
	a := NewAdmission(Limits{Conns: 2, Viewers: 1, Sessions: 3}, func(kind, reason string) {
		got = append(got, refusal{kind, reason})
	})
	for _, tc := range []struct {
		kind  Kind
		limit int
		want  string
	}{
		{Conn, 2, "server full: 2 connections open, the most -max-conns allows"},
		{Viewer, 1, "server full: 1 viewers playing, the most -max-viewers allows"},
		{Session, 3, "server full: 3 sessions running, the most -max-sessions allows"},
	} {
		var releases []func()
		for i := range tc.limit {
			release, err := a.Reserve(tc.kind)
			if err != nil {
				t.Fatalf("%v %d of %d refused: %v", tc.kind, i+1, tc.limit, err)
			}
			releases = append(releases, release)
		}
		release, err := a.Reserve(tc.kind)
		if err == nil || release != nil {
			t.Fatalf("%v %d of %d admitted", tc.kind, tc.limit+1, tc.limit)
		}
		if !errors.Is(err, ErrFull) || err.Error() != tc.want {
			t.Errorf("%v refused with %q (ErrFull: %v), want %q", tc.kind, err, errors.Is(err, ErrFull), tc.want)
		}
		if !strings.Contains(err.Error(), tc.kind.Flag()) {
			t.Errorf("%q does not name %s", err, tc.kind.Flag())
		}
		if len(got) == 0 || got[len(got)-1] != (refusal{tc.kind.String(), tc.want}) {
			t.Errorf("%v: onRefused got %q", tc.kind, got)
		}
		releases[0]()
		release, err = a.Reserve(tc.kind)
		if err != nil {
			t.Fatalf("%v refused after a release: %v", tc.kind, err)
		}
		release()
	}
	c := a.Counts()
	if c.Conns != 1 || c.Viewers != 0 || c.Sessions != 2 || c.Refused != (RefusedCounts{Conns: 1, Viewers: 1, Sessions: 1}) {
		t.Errorf("counts %+v", c)
	}
	if len(got) != 3 {
		t.Errorf("onRefused called %d times, want 3", len(got))
	}
}

func TestAdmissionUnlimitedAndKinds(t *testing.T) {
	a := NewAdmission(Limits{Viewers: -5}, nil) // negative: no limit, like zero
	for range 1000 {
		for _, k := range []Kind{Conn, Viewer, Session} {
			if _, err := a.Reserve(k); err != nil {
				t.Fatalf("%v refused without a limit: %v", k, err)
			}
		}
	}
	if c := a.Counts(); c.Conns != 1000 || c.Viewers != 1000 || c.Sessions != 1000 {
		t.Errorf("counts %+v, want 1000 of each", c)
	}
	if l := a.Limits(); l != (Limits{}) {
		t.Errorf("limits %+v, want none", l)
	}
	for _, k := range []Kind{-1, numKinds, 99} {
		if _, err := a.Reserve(k); !errors.Is(err, ErrUnknownKind) {
			t.Errorf("kind %d: %v, want ErrUnknownKind", int(k), err)
		}
		if k.Flag() != "" || !strings.Contains(k.String(), "kind(") {
			t.Errorf("kind %d: %q %q", int(k), k.String(), k.Flag())
		}
	}
	if Conn.String() != "conn" || Viewer.String() != "viewer" || Session.String() != "session" {
		t.Error("kind names")
	}
}

func TestAdmissionReleaseIdempotent(t *testing.T) {
	a := NewAdmission(Limits{Viewers: 2}, nil)
	r1, _ := a.Reserve(Viewer)
	r2, _ := a.Reserve(Viewer)
	for range 5 {
		r1()
	}
	if n := a.Counts().Viewers; n != 1 {
		t.Fatalf("%d viewers after releasing one of two five times, want 1", n)
	}
	r3, err := a.Reserve(Viewer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Reserve(Viewer); err == nil {
		t.Fatal("a repeated release freed a second slot")
	}
	r2()
	r3()
	if n := a.Counts().Viewers; n != 0 {
		t.Fatalf("%d viewers after every release", n)
	}
}

// TestAdmissionCallbackOutsideLock: onRefused may call back into the Admission.
func TestAdmissionCallbackOutsideLock(t *testing.T) {
	var a *Admission
	var seen Counts
	a = NewAdmission(Limits{Sessions: 1}, func(string, string) { seen = a.Counts() })
	if _, err := a.Reserve(Session); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Reserve(Session); err == nil {
		t.Fatal("second session admitted")
	}
	if seen.Sessions != 1 || seen.Refused.Sessions != 1 {
		t.Errorf("callback saw %+v", seen)
	}
}

// TestAdmissionConcurrent: goroutines racing to reserve get exactly the limit, never more,
// and every slot comes back after racing releases (some doubled).
func TestAdmissionConcurrent(t *testing.T) {
	const limit, workers, rounds = 25, 32, 200
	var refusals atomic.Int64
	a := NewAdmission(Limits{Viewers: limit, Conns: 3}, func(kind, _ string) {
		if kind == "viewer" {
			refusals.Add(1)
		}
	})

	// One shot: workers*4 reservations at once, none released, exactly limit admitted.
	var admitted atomic.Int64
	var mu sync.Mutex
	var releases []func()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range 4 {
				if r, err := a.Reserve(Viewer); err == nil {
					admitted.Add(1)
					mu.Lock()
					releases = append(releases, r)
					mu.Unlock()
				} else if !errors.Is(err, ErrFull) {
					t.Errorf("refused with %v", err)
				}
			}
		})
	}
	wg.Wait()
	if admitted.Load() != limit || a.Counts().Viewers != limit {
		t.Fatalf("%d admitted, %d counted, want exactly %d", admitted.Load(), a.Counts().Viewers, limit)
	}
	if r := refusals.Load(); r != workers*4-limit {
		t.Fatalf("%d refusals reported, want %d", r, workers*4-limit)
	}
	for _, r := range releases {
		wg.Go(r)
		wg.Go(r) // a doubled release gives back nothing more
	}
	wg.Wait()
	if n := a.Counts().Viewers; n != 0 {
		t.Fatalf("%d viewers after every release, want 0", n)
	}

	// Churn: reserve and release in a loop; the count never exceeds the limit.
	var peak, held atomic.Int64
	for range workers {
		wg.Go(func() {
			for range rounds {
				r, err := a.Reserve(Viewer)
				if err != nil {
					continue
				}
				if h := held.Add(1); h > peak.Load() {
					peak.Store(h) // approximate peak; the check below is the exact one
				}
				if c := a.Counts().Viewers; c > limit {
					t.Errorf("%d viewers admitted, limit %d", c, limit)
				}
				held.Add(-1)
				r()
			}
		})
	}
	wg.Wait()
	if n := a.Counts(); n.Viewers != 0 || n.Conns != 0 {
		t.Fatalf("counts %+v after the churn, want none held", n)
	}
	if peak.Load() > limit {
		t.Fatalf("held %d at once, limit %d", peak.Load(), limit)
	}
}

func BenchmarkAdmissionReserve(b *testing.B) {
	a := NewAdmission(Limits{Viewers: 1 << 30}, nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, err := a.Reserve(Viewer)
			if err != nil {
				b.Fatal(err)
			}
			r()
		}
	})
}

func BenchmarkSecretMatch(b *testing.B) {
	s := NewSecret("0123456789abcdef0123456789abcdef")
	b.ReportAllocs()
	for b.Loop() {
		s.Match("wrong", "0123456789abcdef0123456789abcdef", "")
	}
}

func BenchmarkLimiterAllow(b *testing.B) {
	l := NewLimiter(1e12, nil)
	b.ReportAllocs()
	for b.Loop() {
		l.Allow()
	}
}
