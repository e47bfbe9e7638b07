package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rendercast/rendercast/rtmpclient"
)

// runRamp drives a ramp against a server that holds up to capacity players and returns
// the counts tried, in order.
func runRamp(t *testing.T, r *ramp, capacity int) []int {
	t.Helper()
	var tried []int
	for {
		n, ok := r.next()
		if !ok {
			return tried
		}
		if slices.Contains(tried, n) {
			t.Fatalf("capacity %d: %d tried twice (%v)", capacity, n, tried)
		}
		if n < 1 || n > r.limit {
			t.Fatalf("capacity %d: tried %d outside [1, %d]", capacity, n, r.limit)
		}
		tried = append(tried, n)
		r.record(n, n <= capacity)
		if len(tried) > 64 {
			t.Fatalf("capacity %d: no end: %v", capacity, tried)
		}
	}
}

func TestRampSequences(t *testing.T) {
	tests := []struct {
		start, limit int
		precision    float64
		capacity     int
		want         []int
		best         int
	}{
		{10, 640, 0.1, 1000, []int{10, 20, 40, 80, 160, 320, 640}, 640},
		{10, 640, 0.1, 100, []int{10, 20, 40, 80, 160, 120, 100, 110}, 100},
		{10, 640, 0.1, 0, []int{10, 5, 2, 1}, 0},
		{10, 640, 0, 3, []int{10, 5, 2, 3, 4}, 3},
		{10, 300, 0.1, 1000, []int{10, 20, 40, 80, 160, 300}, 300},
		{2, 16, 0.1, 10, []int{2, 4, 8, 16, 12, 10, 11}, 10},
		{10, 2560, 0.1, 1500, []int{10, 20, 40, 80, 160, 320, 640, 1280, 2560, 1920, 1600, 1440, 1520}, 1440},
	}
	for _, tt := range tests {
		r := newRamp(tt.start, tt.limit, tt.precision)
		got := runRamp(t, r, tt.capacity)
		if !slices.Equal(got, tt.want) || r.best() != tt.best {
			t.Errorf("start %d limit %d precision %g capacity %d: tried %v, best %d; want %v, best %d",
				tt.start, tt.limit, tt.precision, tt.capacity, got, r.best(), tt.want, tt.best)
		}
	}
}

// TestRampFindsCapacity checks every capacity: the best count passes, is less than the
// precision below the true capacity, and the search is logarithmic.
func TestRampFindsCapacity(t *testing.T) {
	for _, precision := range []float64{0, 0.05, 0.1, 0.25} {
		for capacity := 0; capacity <= 700; capacity++ {
			r := newRamp(10, 640, precision)
			tried := runRamp(t, r, capacity)
			want := min(capacity, 640)
			if b := r.best(); b > want || want-b >= max(1, int(precision*float64(b))) {
				t.Fatalf("precision %g capacity %d: best %d (tried %v)", precision, capacity, b, tried)
			}
			if len(tried) > 20 {
				t.Fatalf("precision %g capacity %d: %d steps: %v", precision, capacity, len(tried), tried)
			}
		}
	}
}

func TestLinearSlope(t *testing.T) {
	x := []float64{0, 10, 20, 40}
	y := make([]float64, len(x))
	for i := range x {
		y[i] = 13 + 0.25*x[i]
	}
	if s, ok := linearSlope(x, y); !ok || math.Abs(s-0.25) > 1e-12 {
		t.Errorf("slope of a line: %v %v, want 0.25", s, ok)
	}
	// Noise around the line: least squares, not the end points.
	if s, _ := linearSlope([]float64{0, 1, 2, 3}, []float64{0, 3, 1, 4}); math.Abs(s-1) > 1e-12 {
		t.Errorf("least-squares slope %v, want 1 (the end points give 4/3)", s)
	}
	if _, ok := linearSlope([]float64{5}, []float64{1}); ok {
		t.Error("one point gave a slope")
	}
	if _, ok := linearSlope([]float64{5, 5}, []float64{1, 2}); ok {
		t.Error("two points at the same x gave a slope")
	}
	if _, ok := linearSlope([]float64{1, 2}, []float64{1}); ok {
		t.Error("mismatched lengths gave a slope")
	}
}

func TestSpectatorRatesAndFigures(t *testing.T) {
	before := []int64{0, 100, 50, 0}
	after := []int64{300, 395, 340, 0}
	up := []bool{true, true, true, false}
	fps, failed := spectatorRates(before, after, up, 10*time.Second)
	if want := []float64{30, 29.5, 29, 0}; !slices.Equal(fps, want) || failed != 1 {
		t.Fatalf("rates %v, %d failed; want %v, 1 failed", fps, failed, want)
	}
	f := summarizeFPS(fps)
	if f.Min != 0 || f.Median != 29.25 || f.Passing != 3 {
		t.Errorf("figures %+v, want min 0, median 29.25, 3 passing", f)
	}
	if f := summarizeFPS([]float64{28.9, 30, 31}); f.Min != 28.9 || f.Median != 30 || f.Passing != 2 {
		t.Errorf("figures %+v, want min 28.9, median 30, 2 passing", f)
	}
	if f := summarizeFPS(nil); f != (fpsFigures{}) {
		t.Errorf("no players: %+v", f)
	}
	frames, ups := countSpectators([]spectatorCounter{nil, &fakeSpectator{counts: []int64{7}}})
	if !slices.Equal(frames, []int64{0, 7}) || !slices.Equal(ups, []bool{false, true}) {
		t.Errorf("countSpectators: %v %v", frames, ups)
	}
}

// fakeSpectator returns counts in turn (the last one again when they run out).
type fakeSpectator struct {
	mu     sync.Mutex
	counts []int64
	calls  int
	down   bool
	closed atomic.Bool
}

func (f *fakeSpectator) count() (int64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := min(f.calls, len(f.counts)-1)
	f.calls++
	return f.counts[i], !f.down
}

func (f *fakeSpectator) close() { f.closed.Store(true) }

// TestSpectatorStepFakePlayers runs a step with fake players: every player is dialled,
// counted over the window and closed; a player that could not play fails the step.
// TestDialSpectatorsGivesUp: against a server that refuses every player, a step stops
// dialling after maxDialFailures failures instead of waiting for every dial.
func TestDialSpectatorsGivesUp(t *testing.T) {
	var dials atomic.Int64
	players, err := dialSpectators(context.Background(), "rtmp://x/live/y", 1000, func(ctx context.Context, _ string) (spectatorCounter, error) {
		dials.Add(1)
		return nil, errors.New("refused")
	})
	if err == nil || !strings.Contains(err.Error(), "refused") || len(players) != 1000 {
		t.Fatalf("%d players, %v", len(players), err)
	}
	if n := dials.Load(); n < maxDialFailures || n > maxDialFailures+16 {
		t.Errorf("%d dials, want about %d", n, maxDialFailures)
	}
	for _, p := range players {
		if p != nil {
			t.Fatal("a player from a refusing server")
		}
	}
	// All good: every player is dialled.
	dials.Store(0)
	players, err = dialSpectators(context.Background(), "rtmp://x/live/y", 100, func(ctx context.Context, _ string) (spectatorCounter, error) {
		dials.Add(1)
		return &fakeSpectator{counts: []int64{1}}, nil
	})
	if err != nil || dials.Load() != 100 || slices.Contains(players, nil) {
		t.Errorf("100 players: %d dials, %v", dials.Load(), err)
	}
}

func TestWaitFirstFrames(t *testing.T) {
	// Counts: 0 then 3 (the second call), a player that is down, a missing one.
	late := &fakeSpectator{counts: []int64{0, 0, 3}}
	down := &fakeSpectator{counts: []int64{0}, down: true}
	waitFirstFrames(context.Background(), []spectatorCounter{late, down, nil}, time.Minute)
	if late.calls != 3 {
		t.Errorf("the late player was asked %d times, want 3 (until its first frame)", late.calls)
	}
	// One that never gets a frame: the wait ends at the timeout.
	never := &fakeSpectator{counts: []int64{0}}
	start := time.Now()
	waitFirstFrames(context.Background(), []spectatorCounter{never}, 100*time.Millisecond)
	if d := time.Since(start); d < 100*time.Millisecond || never.calls < 2 {
		t.Errorf("waited %v, %d counts", d, never.calls)
	}
}

func TestSpectatorStepFakePlayers(t *testing.T) {
	var mu sync.Mutex
	var made []*fakeSpectator
	var dials atomic.Int64
	failDial := int64(0) // the dial that fails (0: none)
	slow := false
	run := &spectatorRun{
		cfg:   spectatorsConfig{Warmup: 10 * time.Millisecond, Window: time.Second},
		procs: spectatorProcs{harness: os.Getpid()},
		dial: func(ctx context.Context, url string) (spectatorCounter, error) {
			if url != "rtmp://fake/live/demo?session=s" {
				return nil, fmt.Errorf("dialled %q", url)
			}
			if dials.Add(1) == failDial {
				return nil, errors.New("refused")
			}
			// 300 frames in the window, >= 29 fps whatever the window's exact length; a
			// slow one gets 5.
			// The first count is the wait for a first frame.
			f := &fakeSpectator{counts: []int64{1, 1, 301}}
			if slow {
				f.counts = []int64{1, 1, 6}
			}
			mu.Lock()
			made = append(made, f)
			mu.Unlock()
			return f, nil
		},
		alive: func() error { return nil },
	}
	ctx := context.Background()
	st, err := run.step(ctx, serverRendercast, "rtmp://fake/live/demo?session=s", 20)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Pass || st.Passing != 20 || st.Failed != 0 || len(st.PlayerFPS) != 20 || st.MinFPS < 29 || st.MinFPS > 300 {
		t.Errorf("20 good players: %+v", st)
	}
	if st.MachineCores < 0 || st.MachineCores > float64(runtime.NumCPU())+0.5 {
		t.Errorf("machine %v cores of %d", st.MachineCores, runtime.NumCPU())
	}
	if st.HarnessCores < 0 || st.SessionViewers != -1 {
		t.Errorf("harness cores %v, session viewers %d (no session asked for)", st.HarnessCores, st.SessionViewers)
	}
	mu.Lock()
	for i, f := range made {
		if !f.closed.Load() {
			t.Errorf("player %d not closed after the step", i)
		}
	}
	made = nil
	mu.Unlock()

	dials.Store(0)
	failDial = 3
	st, err = run.step(ctx, serverRendercast, "rtmp://fake/live/demo?session=s", 5)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pass || st.Passing != 4 || st.Failed != 1 || st.MinFPS != 0 {
		t.Errorf("one player could not play: %+v", st)
	}

	failDial, slow = 0, true
	if st, _ = run.step(ctx, serverRendercast, "rtmp://fake/live/demo?session=s", 3); st.Pass || st.Passing != 0 || st.MinFPS >= 29 {
		t.Errorf("slow players: %+v", st)
	}

	// A process the measurement needs has ended: the step fails, no player is dialled.
	run.alive = func() error { return errors.New("the relay exited") }
	dials.Store(0)
	if _, err := run.step(ctx, serverRendercast, "rtmp://fake/live/demo?session=s", 3); err == nil || dials.Load() != 0 {
		t.Errorf("step with a dead process: %v, %d dials", err, dials.Load())
	}
}

// TestSearchSpectators runs both searches with fake steps: the servers take turns, each
// stops at its own capacity, and the CPU per spectator is the slope over the baseline and
// the passing steps only.
func TestSearchSpectators(t *testing.T) {
	capacity := map[string]int{serverRendercast: 100, serverNginx: 30}
	perPlayer := map[string]float64{serverRendercast: 0.004, serverNginx: 0.001} // cores
	var order []string
	tries := map[string]int{}
	measure := func(ctx context.Context, server string, n int) (SpectatorStep, error) {
		key := fmt.Sprintf("%s %d", server, n)
		order = append(order, key)
		tries[key]++
		st := SpectatorStep{Spectators: n, Pass: n <= capacity[server], HarnessCores: 0.002 * float64(n)}
		if key == "rendercast 40" && tries[key] == 1 {
			st.Pass = false // a hiccup: the second try passes
		}
		st.ServerCores = 0.3 + perPlayer[server]*float64(n)
		if server == serverNginx {
			st.ServerCores = perPlayer[server] * float64(n)
		}
		if !st.Pass {
			st.ServerCores = 2 // saturated: must not bend the fit
		}
		return st, nil
	}
	servers := []*SpectatorServer{{Name: serverRendercast}, {Name: serverNginx}}
	ramps := []*ramp{newRamp(10, 640, 0.1), newRamp(10, 640, 0.1)}
	baseline := SpectatorStep{StreamerCores: 0.3, NginxCores: 0}
	if err := searchSpectators(context.Background(), servers, ramps, baseline, measure); err != nil {
		t.Fatal(err)
	}
	// A failing count is tried again at once: rendercast's hiccup at 40, nginx's real
	// failure at 40.
	wantStart := []string{"rendercast 10", "nginx-rtmp 10", "rendercast 20", "nginx-rtmp 20", "rendercast 40", "rendercast 40",
		"nginx-rtmp 40", "nginx-rtmp 40", "rendercast 80", "nginx-rtmp 30"}
	if !slices.Equal(order[:len(wantStart)], wantStart) {
		t.Errorf("order %v, want it to start %v", order, wantStart)
	}
	rc, ng := servers[0], servers[1]
	if rc.MaxSpectators != 100 || ng.MaxSpectators != 30 || rc.Limit != 640 || rc.FirstFail != 110 || ng.FirstFail != 32 {
		t.Errorf("results: rendercast %d (first fail %d), nginx %d (first fail %d)", rc.MaxSpectators, rc.FirstFail, ng.MaxSpectators, ng.FirstFail)
	}
	if st := rc.Steps[2:4]; st[0].Spectators != 40 || st[0].Pass || st[0].Retry || st[1].Spectators != 40 || !st[1].Pass || !st[1].Retry {
		t.Errorf("the hiccup at 40 and its second try: %+v", st)
	}
	if tries["rendercast 110"] != 2 || tries["rendercast 100"] != 1 || tries["nginx-rtmp 32"] != 2 {
		t.Errorf("tries %v: failures twice, passes once", tries)
	}
	if math.Abs(rc.CPUPerSpectatorPct-0.4) > 1e-9 || math.Abs(ng.CPUPerSpectatorPct-0.1) > 1e-9 {
		t.Errorf("CPU per spectator: rendercast %v%%, nginx %v%%; want 0.4 and 0.1", rc.CPUPerSpectatorPct, ng.CPUPerSpectatorPct)
	}
	if math.Abs(rc.HarnessPerSpectatorPct-0.2) > 1e-9 {
		t.Errorf("harness per spectator %v%%, want 0.2", rc.HarnessPerSpectatorPct)
	}

	// A failing measurement ends the search with the error; the steps measured before it
	// still give their figures.
	boom := errors.New("streamer exited")
	srv := &SpectatorServer{Name: serverRendercast}
	err := searchSpectators(context.Background(), []*SpectatorServer{srv}, []*ramp{newRamp(1, 8, 0)}, baseline,
		func(_ context.Context, _ string, n int) (SpectatorStep, error) {
			if n == 4 {
				return SpectatorStep{}, boom
			}
			return SpectatorStep{Spectators: n, Pass: true, ServerCores: 0.3 + 0.01*float64(n)}, nil
		})
	if !errors.Is(err, boom) {
		t.Errorf("error %v, want %v", err, boom)
	}
	if srv.MaxSpectators != 2 || srv.Limit != 8 || math.Abs(srv.CPUPerSpectatorPct-1) > 1e-9 || len(srv.Steps) != 2 {
		t.Errorf("figures after the error: %+v", srv)
	}
}

func TestParseSessionStatus(t *testing.T) {
	doc := `{"version":"x","sessions":[
		{"id":"p-1","name":"","scene":"demo","shared":false,"viewers":[{"transport":"rtmp","peer":"127.0.0.1:1"}],"frames":10},
		{"id":"bench","name":"bench","scene":"demo","shared":true,"viewers":[{"transport":"rtmp","peer":"a"},{"transport":"publish","peer":"b"},{"transport":"webrtc","peer":"c"}],"frames":1234}]}`
	s, err := parseSessionStatus([]byte(doc), "bench")
	if err != nil || s != (sessionStatus{Found: true, Shared: true, Viewers: 3, Frames: 1234}) {
		t.Errorf("status.json: %+v, %v", s, err)
	}
	s, err = parseSessionStatus([]byte(`{"sessions":[{"name":"bench","shared":true,"viewerCount":7,"frames":3}]}`), "bench")
	if err != nil || s.Viewers != 7 || !s.Found {
		t.Errorf("server.info form: %+v, %v", s, err)
	}
	// A streamer whose sessions are one per viewer, without names.
	s, err = parseSessionStatus([]byte(`{"sessions":[{"transport":"rtmp","peer":"x","scene":"demo"}]}`), "bench")
	if err != nil || s.Found {
		t.Errorf("unnamed sessions: %+v, %v", s, err)
	}
	if s, _ := parseSessionStatus([]byte(doc), ""); s.Found {
		t.Error("the empty name matched a private session")
	}
	if _, err := parseSessionStatus([]byte(`{"sessions":`), "bench"); err == nil {
		t.Error("truncated JSON: no error")
	}
}

func TestValidSessionName(t *testing.T) {
	for _, ok := range []string{"bench", "a", "A_b-9", strings.Repeat("x", 64)} {
		if !validSessionName(ok) {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"", strings.Repeat("x", 65), "a b", "a/b", "a?b", "é", "a.b"} {
		if validSessionName(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRelayArgsAndPlayName(t *testing.T) {
	args := relayArgs("rtmp://127.0.0.1:1/live/demo?session=bench", "rtmp://127.0.0.1:2/live/bench")
	s := strings.Join(args, " ")
	if !strings.Contains(s, "-i rtmp://127.0.0.1:1/live/demo?session=bench -c copy -f flv rtmp://127.0.0.1:2/live/bench") {
		t.Errorf("relay args: %s", s)
	}
	for _, tt := range []struct{ url, want string }{
		{"rtmp://h/live/demo?session=bench", "demo?session=bench"},
		{"rtmp://h/live/bench", "bench"},
	} {
		u, err := rtmpclient.ParseURL(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := playName(*u); got != tt.want {
			t.Errorf("playName(%s) = %q, want %q", tt.url, got, tt.want)
		}
	}
}

// TestStreamerHasSessions runs stand-in binaries whose usage lists, or lacks, -session.
func TestStreamerHasSessions(t *testing.T) {
	dir := t.TempDir()
	write := func(name, usage string) string {
		p := filepath.Join(dir, name)
		script := "#!/bin/sh\ncat >&2 <<'EOF'\n" + usage + "\nEOF\nexit 0\n"
		if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	with := write("with", "Usage: streamer [flags]\n  -scene value\n    \tscene\n  -session value\n    \tNAME=SCENE, a session kept alive")
	without := write("without", "Usage: streamer [flags]\n  -scene value\n    \tscene (see -sessions-dir)\n  -size value")
	if !streamerHasSessions(with) {
		t.Error("-session not found in a usage that lists it")
	}
	if streamerHasSessions(without) {
		t.Error("-session found in a usage without it")
	}
	if streamerHasSessions(filepath.Join(dir, "missing")) {
		t.Error("a missing binary has -session")
	}
}

func TestSpectatorsFlags(t *testing.T) {
	var stderr bytes.Buffer
	o, err := parseFlags(nil, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if o.suites["spectators"] || !o.suites["ttff"] {
		t.Errorf("default suites %v: spectators must be left out, ttff in", o.suites)
	}
	if o.spectatorsBitrate != 2000 || o.spectatorsSession != "bench" || o.spectatorsWindow != 10*time.Second || o.spectatorsWarmup != 3*time.Second {
		t.Errorf("defaults: %+v", o)
	}
	o, err = parseFlags([]string{"-suites", "spectators"}, &stderr)
	if err != nil || !o.suites["spectators"] || len(o.suites) != 1 {
		t.Errorf("-suites spectators: %v %v", o, err)
	}
	if o, err := parseFlags([]string{"-suites", "all"}, &stderr); err != nil || !o.suites["spectators"] || !o.suites["idle"] {
		t.Errorf("-suites all: %v", err)
	}
	args := strings.Join(o.spectatorsStreamerArgs(), " ")
	for _, want := range []string{"-size 1280x720", "-fps 30", "-bitrate 2000", "-animate on", "-max-conns 2592"} {
		if !strings.Contains(args, want) {
			t.Errorf("streamer args %q lack %q", args, want)
		}
	}
	for _, bad := range [][]string{
		{"-spectators-session", "a b"},
		{"-spectators-start", "0"},
		{"-spectators-start", "20", "-spectators-max", "10"},
		{"-spectators-precision", "1"},
		{"-spectators-precision", "-0.1"},
		{"-spectators-window", "500ms"},
		{"-spectators-bitrate", "10"},
		{"-suites", "spectator"},
	} {
		if _, err := parseFlags(bad, &stderr); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestSpectatorsReport(t *testing.T) {
	res := &Results{Spectators: &SpectatorsResult{
		Size: "1280x720", FPS: 30, BitrateKbps: 2000, URL: "rtmp://127.0.0.1:1/live/demo?session=bench", NginxURL: "rtmp://127.0.0.1:2/live/bench",
		Shared: true, WarmupSeconds: 3, WindowSeconds: 10,
		Servers: []SpectatorServer{
			{Name: serverRendercast, MaxSpectators: 160, Limit: 640, FirstFail: 170, CPUPerSpectatorPct: 0.35,
				Steps: []SpectatorStep{{Spectators: 170, Passing: 12, MinFPS: 20.5, MedianFPS: 28.7, Pass: false, SessionViewers: 171},
					{Spectators: 160, Passing: 160, MinFPS: 29.9, MedianFPS: 30, ServerCores: 0.91, Pass: true, SessionViewers: 161, SourceFPS: 29.96}}},
			{Name: serverNginx, MaxSpectators: 150, Limit: 640, FirstFail: 160, CPUPerSpectatorPct: 0.05,
				Steps: []SpectatorStep{{Spectators: 150, Passing: 150, MinFPS: 29.5, MedianFPS: 30, Pass: true, SessionViewers: -1}}},
		},
	}}
	targets := spectatorTargets(res.Spectators)
	if len(targets) != 2 || !targets[0].Met || !targets[1].Met {
		t.Fatalf("targets %+v: both met", targets)
	}
	var text, md bytes.Buffer
	writeTable(&text, res)
	writeMarkdown(&md, res, nil)
	for _, want := range []string{"rendercast:", "nginx-rtmp:", "most spectators >= 29 fps: 160 (tried up to 640)", "0.350% of a core"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, text.String())
		}
	}
	// Steps by count, whatever order the search tried them in.
	if i, j := strings.Index(text.String(), "  160  "), strings.Index(text.String(), "  170  "); i < 0 || j < i {
		t.Errorf("steps not sorted by count:\n%s", text.String())
	}
	for _, want := range []string{"| rendercast | 160 | 0.350% of a core |", "| rendercast | 160 | 160 | 29.9 | 30.0 | 0.910 |", "| 0.00 | 161 | 30.0 | - | 0 | pass |", "| nginx-rtmp | 150 | 150 | 29.5 |", "| - | - | - | 0 | pass |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md.String())
		}
	}
	if strings.Contains(text.String(), "p50") {
		t.Errorf("an empty timings table was printed:\n%s", text.String())
	}

	// Fewer spectators than nginx, or a costly one, or no shared session: missed.
	res.Spectators.Servers[0].MaxSpectators = 140
	if tg := spectatorTargets(res.Spectators); tg[0].Met || !tg[1].Met {
		t.Errorf("140 < 150: %+v", tg)
	}
	res.Spectators.Servers[0].MaxSpectators, res.Spectators.Servers[0].CPUPerSpectatorPct = 160, 2.5
	if tg := spectatorTargets(res.Spectators); !tg[0].Met || tg[1].Met {
		t.Errorf("2.5%% a spectator: %+v", tg)
	}
	res.Spectators.Servers[0].CPUPerSpectatorPct = 0.35
	res.Spectators.Shared, res.Spectators.SharedNote = false, "the streamer has no -session flag"
	tg := spectatorTargets(res.Spectators)
	if tg[0].Met || tg[1].Met || !strings.Contains(tg[0].Measured, "NOT one shared session") {
		t.Errorf("private sessions: %+v", tg)
	}
	text.Reset()
	writeTable(&text, res)
	if !strings.Contains(text.String(), "NOT one shared session: the streamer has no -session flag") {
		t.Errorf("the table hides that the sessions were private:\n%s", text.String())
	}

	// The charts show the deciding try of a count tried twice.
	rc := &res.Spectators.Servers[0]
	rc.Steps = []SpectatorStep{{Spectators: 160, MinFPS: 12}, {Spectators: 160, MinFPS: 29.9, Pass: true, Retry: true}, rc.Steps[0]}
	_, fpsChart := spectatorsCharts(res.Spectators)
	if got := fpsChart.Series[0]; !slices.Equal(got.X, []float64{160, 170}) || got.Y[0] != 29.9 {
		t.Errorf("rendercast series %v %v: want 160 (its second try, 29.9 fps) and 170", got.X, got.Y)
	}

	// The plots draw.
	dir := t.TempDir()
	names, err := writePlots(dir, res)
	if err != nil || !slices.Contains(names, "bench-spectators-cpu.png") || !slices.Contains(names, "bench-spectators-fps.png") {
		t.Fatalf("plots %v, %v", names, err)
	}
	for _, n := range names {
		if fi, err := os.Stat(filepath.Join(dir, n)); err != nil || fi.Size() < 1000 {
			t.Errorf("plot %s: %v", n, err)
		}
	}
}

// TestSpectatorStepFromFFmpeg measures a real step: ffmpeg serves a 30 fps H.264 stream
// over RTMP (listen mode, one player), the spectator counts its frames, and the serving
// process's CPU is read from /proc.
func TestSpectatorStepFromFFmpeg(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatalf("ffmpeg is needed (apt-get install ffmpeg, or scripts/setup.sh): %v", err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("rtmp://127.0.0.1:%d/live/demo?session=bench", port)
	cmd := exec.Command("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
		"-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "20",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30",
		"-f", "flv", "-listen", "1", fmt.Sprintf("rtmp://127.0.0.1:%d/live/demo", port))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("ffmpeg: %s", stderr.String())
		}
	})
	run := &spectatorRun{
		cfg:   spectatorsConfig{Warmup: 2 * time.Second, Window: 4 * time.Second},
		procs: spectatorProcs{nginx: cmd.Process.Pid, harness: os.Getpid()},
		// ffmpeg serves one player: retry while it does not listen yet (a refused
		// connection does not use it up).
		dial: func(ctx context.Context, u string) (spectatorCounter, error) {
			for {
				s, err := dialSpectator(ctx, u)
				if err == nil {
					return s, nil
				}
				if !errors.Is(err, syscall.ECONNREFUSED) || ctx.Err() != nil {
					return nil, err
				}
				time.Sleep(50 * time.Millisecond)
			}
		},
		alive: func() error { return nil },
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := run.step(ctx, serverNginx, url, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("1 player: %.1f fps; ffmpeg %.3f cores, %.0f MiB; harness %.3f cores", st.MinFPS, st.ServerCores, st.ServerRSSMiB, st.HarnessCores)
	// Generous bounds: the machine is shared; the stream is 30 fps.
	if st.Failed != 0 || st.MinFPS < 20 || st.MinFPS > 40 {
		t.Errorf("one player of a 30 fps stream: %+v", st)
	}
	if st.ServerCores <= 0 || st.ServerCores != st.NginxCores || st.ServerRSSMiB <= 0 {
		t.Errorf("the serving process (ffmpeg encoding x264) used %v cores, RSS %v MiB", st.ServerCores, st.ServerRSSMiB)
	}
}
