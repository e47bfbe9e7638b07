package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rendercast/rendercast/internal/linklab"
)

// The link lab: the streamer in a network namespace of its own, viewers in others, each
// behind a link with a token-bucket limit on the server-to-viewer direction (package
// internal/linklab). A moving 720p30 scene at -bitrate 4000; viewers behind 1, 2 and 5
// Mbit/s links and one unthrottled (the reference). Each viewer, in steady state (after
// labWarmup, over labWindow), must see:
//   - at least 28 frames/s;
//   - no keyframes beyond the GOP's regular ones (-gop 2s: one every 60 frames);
//   - a bitrate at or under its link;
//   - call-to-frame latency (median) no worse than twice the unthrottled viewer's.
// The tests print a table of what each viewer got (docs/PERFORMANCE.md, "Link lab").
// Run alone: go test -tags egl -count=1 -v -run LinkLab ./cmd/streamer

const (
	labWarmup = 5 * time.Second
	labWindow = 20 * time.Second
	labGOP    = 2 * time.Second
	labFPS    = 30
	// labParallelRTMP RTMP viewers measure at once: two 720p30 private sessions with
	// moving pictures are what this 2-core machine renders and encodes at full rate next
	// to the viewers (four at once fell to 25 frames/s, the unthrottled one included).
	labParallelRTMP = 2
	// labParallelWebRTC Chromium viewers measure at once: two at once (software decode
	// and compositing, each about a core) fell to 26 frames/s, the unthrottled one
	// included.
	labParallelWebRTC = 1
	// labMinFPS is the frame-rate floor.
	labMinFPS = 28.0
	// labLatencyFactor bounds a throttled viewer's median call-to-frame latency as a
	// multiple of the unthrottled viewer's.
	labLatencyFactor = 2.0
)

// labLinks are the viewers' links; the last (RateKbit 0) is the unthrottled reference.
var labLinks = []linklab.LinkConfig{{Name: "1M", RateKbit: 1000}, {Name: "2M", RateKbit: 2000}, {Name: "5M", RateKbit: 5000}, {Name: "free"}}

// labStreamerArgs are the streamer's flags in the lab: every address of its namespace,
// the 720p30 scene moving all the time (-animate on; -marker draws the frame counter and
// scene version the RTMP latency viewer reads).
var labStreamerArgs = []string{"-listen", "0.0.0.0:1935", "-http", "0.0.0.0:8080", "-log-format", "json", "-log-level", "info",
	"-size", "1280x720", "-fps", fmt.Sprint(labFPS), "-bitrate", "4000", "-gop", labGOP.String(), "-animate", "on", "-marker"}

// startLabStreamer runs the streamer inside the lab's server namespace and waits until it
// listens; it is stopped when the test ends.
func startLabStreamer(t *testing.T, lab *linklab.Lab) {
	t.Helper()
	// Not the test's context: that ends before the cleanup, with a SIGKILL; the cleanup
	// stops the streamer with SIGTERM.
	cmd := lab.Command(context.Background(), lab.Server, streamerBin, labStreamerArgs...)
	cmd.Env = append(os.Environ(), "STREAMER_CONFIG=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), "streamer.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	listening := make(chan struct{})
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		closed := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, line)
			var m map[string]any
			if !closed && json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "http listening" {
				close(listening)
				closed = true
			}
		}
		logFile.Close()
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		<-scanned
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			if len(b) > 20000 {
				b = b[len(b)-20000:]
			}
			t.Logf("streamer log (end):\n%s", b)
		}
	})
	select {
	case <-listening:
	case err := <-exited:
		exited <- err
		b, _ := os.ReadFile(logPath)
		t.Fatalf("streamer exited at start in namespace %s: %v\n%s", lab.Server, err, b)
	case <-time.After(60 * time.Second):
		t.Fatal("streamer did not listen within 60 s")
	}
}

// labResult is what one viewer got in steady state.
type labResult struct {
	Link      linklab.Link
	Transport string
	FPS       float64
	Keyframes int
	// ExtraKeyframes are keyframes off the GOP's schedule (forced ones).
	ExtraKeyframes int
	Kbps           float64
	// LatencyP50 is the median call-to-frame latency (ms) of LatencyN changes seen;
	// LatencyMissed changes were not seen in time.
	LatencyP50    float64
	LatencyN      int
	LatencyMissed int
	// Server figures over the window: frames encoded for the viewer, keyframes and
	// forced keyframes among them (ServerOK false: not sampled).
	ServerFrames, ServerKeyframes, ServerForced uint64
	ServerOK                                    bool
	Note                                        string
}

// labMaxRegularKeyframes is how many of the GOP's regular keyframes a window can hold.
func labMaxRegularKeyframes() int { return int(labWindow/labGOP) + 1 }

// labTable formats results for the log and docs/PERFORMANCE.md.
func labTable(rs []labResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n| transport | link | fps | keyframes (extra) | kbit/s | latency p50 ms (n, missed) | server: fps encoded, keyframes (forced) | note |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		link := "unthrottled"
		if r.Link.RateKbit > 0 {
			link = fmt.Sprintf("%d kbit/s", r.Link.RateKbit)
		}
		server := "not sampled"
		if r.ServerOK {
			server = fmt.Sprintf("%.1f, %d (%d)", float64(r.ServerFrames)/labWindow.Seconds(), r.ServerKeyframes, r.ServerForced)
		}
		fmt.Fprintf(&b, "| %s | %s | %.1f | %d (%d) | %.0f | %.0f (%d, %d) | %s | %s |\n", r.Transport, link, r.FPS, r.Keyframes, r.ExtraKeyframes,
			r.Kbps, r.LatencyP50, r.LatencyN, r.LatencyMissed, server, r.Note)
	}
	return b.String()
}

// checkLabResults asserts the criteria for every viewer; the reference is the unthrottled
// one.
func checkLabResults(t *testing.T, rs []labResult) {
	t.Helper()
	var ref *labResult
	for i := range rs {
		if rs[i].Link.RateKbit == 0 {
			ref = &rs[i]
		}
	}
	if ref == nil || ref.LatencyN == 0 {
		t.Fatalf("the unthrottled viewer measured no latency: %+v", ref)
	}
	for _, r := range rs {
		name := r.Transport + " viewer behind " + r.Link.Name
		if r.FPS < labMinFPS {
			t.Errorf("%s: %.1f frames/s in steady state, want >= %.0f", name, r.FPS, labMinFPS)
		}
		if r.ExtraKeyframes > 0 || r.Keyframes > labMaxRegularKeyframes() || r.ServerForced > 0 {
			t.Errorf("%s: %d keyframes in %v, %d of them off the GOP's schedule, %d forced by the server; want only the GOP's regular ones (one every %v, at most %d)",
				name, r.Keyframes, labWindow, r.ExtraKeyframes, r.ServerForced, labGOP, labMaxRegularKeyframes())
		}
		if r.Link.RateKbit > 0 && r.Kbps > float64(r.Link.RateKbit) {
			t.Errorf("%s: %.0f kbit/s, over the link's %d", name, r.Kbps, r.Link.RateKbit)
		}
		if r.Link.RateKbit == 0 {
			continue
		}
		if r.LatencyN == 0 || r.LatencyMissed > r.LatencyN || r.LatencyP50 > labLatencyFactor*ref.LatencyP50 {
			t.Errorf("%s: call-to-frame p50 %.0f ms (%d seen, %d missed), want at most %.0fx the unthrottled viewer's %.0f ms",
				name, r.LatencyP50, r.LatencyN, r.LatencyMissed, labLatencyFactor, ref.LatencyP50)
		}
	}
}

// labKeyframeAt is where a viewer saw a keyframe: its position among the frames it got, and
// its time in seconds (the stream's timestamp, or when the viewer saw it).
type labKeyframeAt struct{ frame, sec float64 }

// labExtraKeyframes counts the keyframes from second from on that are off the GOP's schedule:
// neither a whole number of GOPs of frames (labGOP x labFPS, within frameTol) after the
// keyframe before them, nor a whole number of GOPs of time (within secTol). The first
// keyframe opens the count. Frames count what the encoder counts when it skips ticks;
// time holds when frames are lost on the way (a viewer that gets fewer frames between two
// regular keyframes). A forced keyframe after a drop fails both.
func labExtraKeyframes(keys []labKeyframeAt, from, frameTol, secTol float64) int {
	whole := func(d, period, tol float64) bool {
		k := math.Round(d / period)
		return k >= 1 && math.Abs(d-k*period) <= tol
	}
	extra := 0
	for i := 1; i < len(keys); i++ {
		if keys[i].sec < from {
			continue
		}
		if !whole(keys[i].frame-keys[i-1].frame, labGOP.Seconds()*labFPS, frameTol) &&
			!whole(keys[i].sec-keys[i-1].sec, labGOP.Seconds(), secTol) {
			extra++
		}
	}
	return extra
}

// labMedian returns the median of xs (0 for none).
func labMedian(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

// labInRounds runs fn for every link, parallel at a time, and waits for all.
func labInRounds(links []linklab.Link, parallel int, fn func(i int, l linklab.Link)) {
	for start := 0; start < len(links); start += parallel {
		done := make(chan struct{})
		n := 0
		for i := start; i < min(start+parallel, len(links)); i++ {
			n++
			go func() {
				defer func() { done <- struct{}{} }()
				fn(i, links[i])
			}()
		}
		for range n {
			<-done
		}
	}
}

func TestLinkLabExtraKeyframes(t *testing.T) {
	at := func(frames []float64, secs []float64) []labKeyframeAt {
		var ks []labKeyframeAt
		for i := range frames {
			ks = append(ks, labKeyframeAt{frames[i], secs[i]})
		}
		return ks
	}
	for _, tt := range []struct {
		name string
		keys []labKeyframeAt
		from float64
		want int
	}{
		{"regular", at([]float64{0, 60, 120, 180}, []float64{0, 2, 4, 6}), 0, 0},
		{"a regular one lost", at([]float64{0, 60, 180}, []float64{0, 2, 6}), 0, 0},
		{"ticks skipped by the encoder", at([]float64{0, 60, 120}, []float64{0, 3.3, 6.5}), 0, 0},
		{"frames lost on the way", at([]float64{0, 51, 103}, []float64{0, 2.02, 4.01}), 0, 0},
		{"forced after drops", at([]float64{0, 60, 75, 135, 136}, []float64{0, 2, 2.9, 4.9, 5.0}), 0, 2},
		{"only from the window on", at([]float64{0, 60, 75, 135, 136}, []float64{0, 2, 2.9, 4.9, 5.0}), 4, 1},
		// The unthrottled viewer of a four-link run, the server short of CPU: frames dropped
		// up to the next regular keyframe.
		{"overloaded", at([]float64{0, 59, 119, 173, 220, 280}, []float64{0, 2.018, 4.021, 6.041, 8.049, 10.436}), 0, 0},
		// The 1 Mbit/s viewer of that run: a forced keyframe 43 frames and 5.5 s after the
		// one before.
		{"1 Mbit/s before rate control", at([]float64{0, 60, 120, 163, 183, 243}, []float64{0, 4.158, 10.681, 16.171, 18.261, 24.484}), 0, 1},
	} {
		if got := labExtraKeyframes(tt.keys, tt.from, 0, 0.25); got != tt.want {
			t.Errorf("%s: labExtraKeyframes = %d, want %d", tt.name, got, tt.want)
		}
	}
}

// labSessionWatch samples, from inside the server's namespace, the streamer's own figures
// for the session that plays to one viewer (/status.json: frames encoded, keyframes and
// forced keyframes), so the window's keyframes can be told apart on the server side too.
type labSessionWatch struct {
	mu      sync.Mutex
	samples []labSessionSample
	done    chan struct{}
}

type labSessionSample struct {
	at                        time.Time
	frames, keyframes, forced uint64
}

// labWatchSession polls every 250 ms until ctx ends.
func labWatchSession(ctx context.Context, lab *linklab.Lab, viewer netip.Addr) *labSessionWatch {
	w := &labSessionWatch{done: make(chan struct{})}
	client := lab.HTTPClient(lab.Server)
	go func() {
		defer close(w.done)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			if s, ok := labSampleSession(ctx, client, viewer); ok {
				w.mu.Lock()
				w.samples = append(w.samples, s)
				w.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

func labSampleSession(ctx context.Context, client *http.Client, viewer netip.Addr) (labSessionSample, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:8080/status.json", nil)
	if err != nil {
		return labSessionSample{}, false
	}
	resp, err := client.Do(req)
	if err != nil {
		return labSessionSample{}, false
	}
	defer resp.Body.Close()
	var st struct {
		Sessions []struct {
			Viewers []struct {
				Peer string `json:"peer"`
			} `json:"viewers"`
			Frames    uint64 `json:"frames"`
			Keyframes uint64 `json:"keyframes"`
			Forced    uint64 `json:"forced_keyframes"`
		} `json:"sessions"`
	}
	if json.NewDecoder(resp.Body).Decode(&st) != nil {
		return labSessionSample{}, false
	}
	for _, s := range st.Sessions {
		for _, v := range s.Viewers {
			if ap, err := netip.ParseAddrPort(v.Peer); err == nil && ap.Addr() == viewer {
				return labSessionSample{at: time.Now(), frames: s.Frames, keyframes: s.Keyframes, forced: s.Forced}, true
			}
		}
	}
	return labSessionSample{}, false
}

// between returns the figures' growth from the last sample at or before from to the first
// at or after to; ok is false without such samples.
func (w *labSessionWatch) between(from, to time.Time) (d labSessionSample, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var a, b *labSessionSample
	for i := range w.samples {
		s := &w.samples[i]
		if !s.at.After(from) {
			a = s
		}
		if b == nil && !s.at.Before(to) {
			b = s
		}
	}
	if a == nil || b == nil || b.frames < a.frames {
		return d, false
	}
	return labSessionSample{at: b.at, frames: b.frames - a.frames, keyframes: b.keyframes - a.keyframes, forced: b.forced - a.forced}, true
}
