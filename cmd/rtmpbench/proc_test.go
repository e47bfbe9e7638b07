package main

import (
	"bytes"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	// The command name holds spaces and a ')': fields are counted after the last ')'.
	line := "4242 (my (odd) prog) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 12 0 100 123456789 3000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	ticks, rss, err := parseProcStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if ticks != 325 || rss != 3000 {
		t.Fatalf("ticks %d rss %d, want 325 and 3000", ticks, rss)
	}
	for _, bad := range []string{"", "1 (x) S 1 2", "1 (x) S " + strings.Repeat("x ", 30)} {
		if _, _, err := parseProcStat([]byte(bad)); err == nil {
			t.Errorf("parsed %q", bad)
		}
	}
	// This process.
	s, err := sampleProc(os.Getpid())
	if err != nil || s.RSS <= 0 {
		t.Fatalf("sampleProc(self) = %+v, %v", s, err)
	}
}

func TestCPUCores(t *testing.T) {
	t0 := time.Unix(0, 0)
	a := procSample{At: t0, CPU: time.Second}
	b := procSample{At: t0.Add(2 * time.Second), CPU: 4 * time.Second}
	if got := cpuCores(a, b); got != 1.5 {
		t.Fatalf("3 s of CPU in 2 s = %v cores, want 1.5", got)
	}
	if got := cpuCores(b, b); got != 0 {
		t.Fatalf("no time: %v", got)
	}
}

func TestParseMetrics(t *testing.T) {
	in := `# HELP go_goroutines Number of goroutines.
# TYPE go_goroutines gauge
go_goroutines 42
rendercast_connections 5000
rendercast_calls_total{name="camera.orbit",result="ok"} 3
go_memstats_heap_inuse_bytes 1.2345e+07
`
	m := parseMetrics(strings.NewReader(in))
	if m["go_goroutines"] != 42 || m["rendercast_connections"] != 5000 || m["go_memstats_heap_inuse_bytes"] != 12345000 {
		t.Fatalf("parsed %v", m)
	}
	if _, ok := m[`rendercast_calls_total{name="camera.orbit",result="ok"}`]; ok || len(m) != 3 {
		t.Fatalf("labelled samples kept: %v", m)
	}
}

func TestFlags(t *testing.T) {
	o, err := parseFlags([]string{"-quick", "-calls", "77", "-suites", "ttff,nginx"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.calls != 77 || o.ttffRuns != 5 || o.idle != 500 || !o.suites["ttff"] || !o.suites["nginx"] || o.suites["idle"] {
		t.Fatalf("-quick with -calls 77: %+v", o)
	}
	o, err = parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.calls < 200 || o.ttffRuns < 20 || o.idle < 5000 || len(o.suites) != len(defaultSuites) || o.width != 1280 || o.height != 720 ||
		!slices.Equal(o.densityMotions, []string{motionMoving, motionStill}) {
		t.Fatalf("defaults: %+v", o)
	}
	if o, err = parseFlags([]string{"-density-motion", "still"}, io.Discard); err != nil || !slices.Equal(o.densityMotions, []string{motionStill}) {
		t.Fatalf("-density-motion still: %v, %+v", err, o)
	}
	var stderr bytes.Buffer
	for _, bad := range [][]string{{"-suites", "speed"}, {"-size", "12x"}, {"-density-sizes", "640x360,big"}, {"-density-motion", "spinning"}, {"-calls", "0"}, {"extra"}} {
		if _, err := parseFlags(bad, &stderr); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if s := strings.Join(o.streamerArgs("640x360", 120, false), " "); !strings.Contains(s, "-marker=false") {
		t.Errorf("still-camera streamer args draw the marker: %s", s)
	}
	args := o.streamerArgs("640x360", 120, true)
	s := strings.Join(args, " ")
	for _, want := range []string{"-size 640x360", "-marker=true", "-max-conns 120", "-encoder libx264", "-fps 30", "-bitrate 4000"} {
		if !strings.Contains(s, want) {
			t.Errorf("streamer args lack %q: %s", want, s)
		}
	}
}

func TestCheckTargets(t *testing.T) {
	r := &Results{
		Latency: &LatencyResult{CallToFrame: Summary{N: 200, P50: 45, P99: 120}},
		TTFF:    &TTFFResult{Total: Summary{N: 20, P50: 150}},
		Density: []DensityResult{{Size: "1280x720", MaxViewers: 3}, {Size: "640x360", MaxViewers: 11},
			{Size: "1280x720", Motion: motionStill, MaxViewers: 2}, {Size: "640x360", Motion: motionStill, MaxViewers: 9}},
		Idle: &IdleResult{Connected: 5000, PerConnKiB: 39, Alive: true},
	}
	got := map[string]bool{}
	for _, c := range checkTargets(r) {
		got[c.Name] = c.Met
	}
	want := map[string]bool{"call-to-frame p50": true, "call-to-frame p99": false, "time to first frame p50": true,
		"concurrent viewers >= 29 fps, cameras moving": true, "concurrent viewers >= 29 fps, cameras still": false, "idle connections": true}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s met = %v, want %v", k, got[k], v)
		}
	}
	r.Idle.Connected = 4999
	r.Density = []DensityResult{{Size: "1280x720", MaxViewers: 3}, {Size: "640x360", MaxViewers: 9}}
	n := 0
	for _, c := range checkTargets(r) {
		if (c.Name == "idle connections" || strings.HasPrefix(c.Name, "concurrent viewers")) && c.Met {
			t.Errorf("%s met with %s", c.Name, c.Measured)
		}
		if strings.HasPrefix(c.Name, "concurrent viewers") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d density targets for a run of moving cameras only, want 1", n)
	}
}

func TestThreadCPU(t *testing.T) {
	if g := threadGroup([]byte("12 (llvmpipe-1) S 1 2")); g != "llvmpipe" {
		t.Errorf("llvmpipe-1 grouped as %q", g)
	}
	if g := threadGroup([]byte("12 (streamer) S 1 2")); g != "streamer" {
		t.Errorf("streamer grouped as %q", g)
	}
	a := map[string]time.Duration{"llvmpipe": time.Second, "streamer": time.Second}
	b := map[string]time.Duration{"llvmpipe": 4 * time.Second, "streamer": 2 * time.Second, "new": 0}
	if s := renderShare(a, b); s != 0.75 {
		t.Errorf("renderShare = %v, want 0.75", s)
	}
	if s := renderShare(a, a); s != 0 {
		t.Errorf("renderShare with no CPU used = %v", s)
	}
	m, err := threadCPU(os.Getpid())
	if err != nil || len(m) == 0 {
		t.Fatalf("threadCPU(self) = %v, %v", m, err)
	}
}

func TestParseCPUBusy(t *testing.T) {
	stat := "cpu  100 5 50 1000 20 3 7 2 40 0\ncpu0 50 2 25 500 10 1 3 1 20 0\nintr 1 2 3\n"
	busy, total, err := parseCPUBusy([]byte(stat))
	// busy: user + nice + system + irq + softirq + steal; total adds idle and iowait;
	// guest (already in user) is not counted twice.
	if err != nil || busy != 100+5+50+3+7+2 || total != busy+1000+20 {
		t.Errorf("busy %d total %d, %v", busy, total, err)
	}
	for _, bad := range []string{"", "intr 1 2\n", "cpu 1 2 x 4 5\n", "cpu 1 2\n"} {
		if _, _, err := parseCPUBusy([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	a, err := sampleMachine()
	if err != nil {
		t.Fatal(err)
	}
	// Half a second of work of our own (the counters tick 100 times a second): the
	// machine is at least that busy.
	for end := time.Now().Add(500 * time.Millisecond); time.Now().Before(end); {
		busy++
	}
	b, _ := sampleMachine()
	if c := machineCores(a, b); c < 0.5 {
		t.Errorf("machine cores %v while this test kept one busy", c)
	}
}
