package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/rendercast/rendercast/rtmpclient"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// browserResult is what web/test/browser.mjs prints.
type browserResult struct {
	OK             bool      `json:"ok"`
	Error          string    `json:"error"`
	FramesIn1500ms int       `json:"framesIn1500ms"`
	VideoSize      []int     `json:"videoSize"`
	Yaw            []float64 `json:"yaw"`
	RedPixel       []int     `json:"redPixel"`
	Logs           []string  `json:"logs"`
	Latency        *struct {
		P50, P90, Min, Max float64
		N, Missed          int
	} `json:"latency"`
	Stats map[string]any `json:"stats"`
}

// TestBrowserViewer drives Debian's chromium (headless, through playwright-core) against
// the real binary: the page at / plays over WHEP (frames advance), a drag orbits the camera
// (camera.get over the data channel), picking red turns the video red, a screenshot is
// taken, and the page measures call-to-frame latency at 720p30.
//
// With RENDERCAST_DOCS=1 it also writes docs/browser.png and docs/perf-webrtc.md.
func TestBrowserViewer(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node (Node.js) is not installed: `make test` installs it through scripts/setup.sh")
	}
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s is missing: `make test` installs Debian's chromium through scripts/setup.sh (apt-get install chromium)", chromium)
	}
	testDir := filepath.Join(root, "web", "test")
	if _, err := os.Stat(filepath.Join(testDir, "node_modules", "playwright-core", "package.json")); err != nil {
		t.Fatalf("playwright-core is not installed in %s: run `npm ci` there (scripts/setup.sh does it)", testDir)
	}

	rs := startStreamer(t) // 1280x720 at 30 fps: the latency target's setting
	docs := os.Getenv("RENDERCAST_DOCS") == "1"
	shot := filepath.Join(t.TempDir(), "browser.png")
	if docs {
		shot = filepath.Join(root, "docs", "browser.png")
	}
	b := browserRunner{node: node, chromium: chromium, dir: testDir}
	res := b.run(t, rs, "", shot)
	t.Logf("frames in 1.5 s: %d, video %v, yaw %v, red pixel %v", res.FramesIn1500ms, res.VideoSize, res.Yaw, res.RedPixel)
	if len(res.VideoSize) != 2 || res.VideoSize[0] != 1280 || res.VideoSize[1] != 720 {
		t.Errorf("video size %v, want 1280x720", res.VideoSize)
	}

	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil || img.Bounds().Dx() < 800 {
		t.Fatalf("screenshot %s: %v %v", shot, err, img)
	}

	lat := res.Latency
	if lat == nil || lat.N < 15 {
		t.Fatalf("latency: %+v, want at least 15 of 30 colour changes seen", lat)
	}
	t.Logf("browser call-to-frame latency at 1280x720, 30 fps: p50 %.1f ms, p90 %.1f ms, min %.1f, max %.1f (n %d, missed %d)",
		lat.P50, lat.P90, lat.Min, lat.Max, lat.N, lat.Missed)
	// Timing is recorded, not asserted tightly: a loaded 2-core machine must pass.
	if lat.P50 <= 0 || lat.P50 > 2000 {
		t.Errorf("latency p50 %.1f ms: not a plausible figure", lat.P50)
	}
	// The server's share: call to the first encoded frame showing it (mean).
	server := serverFigures(t, rs)
	t.Logf("server side: call to encoded frame %.1f ms, render %.1f ms, encode %.1f ms (means)", server.callToFrame, server.render, server.encode)
	if docs {
		rows := []perfRow{{"1280x720 demo (the test's setting)", res, server}}
		for _, c := range []struct{ size, scene string }{{"1280x720", "testcard"}, {"640x360", "demo"}} {
			rs := startStreamer(t, "-size", c.size)
			r := b.run(t, rs, c.scene, filepath.Join(t.TempDir(), c.scene+".png"))
			rows = append(rows, perfRow{c.size + " " + c.scene, r, serverFigures(t, rs)})
		}
		writePerfDoc(t, root, rows)
	}
}

// browserRunner runs web/test/browser.mjs.
type browserRunner struct{ node, chromium, dir string }

// run drives the page of rs (scene: the page's #fragment, empty for the default) and
// returns what the script reports; any failed check fails the test.
func (b browserRunner) run(t *testing.T, rs *runningStreamer, scene, shot string) browserResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	args := []string{filepath.Join(b.dir, "browser.mjs"), "--url", "http://" + rs.httpAddr + "/", "--screenshot", shot,
		"--latency", "30", "--chromium", b.chromium}
	if scene != "" {
		args = append(args, "--scene", scene)
	}
	cmd := exec.CommandContext(ctx, b.node, args...)
	cmd.Dir = b.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var res browserResult
	line := strings.TrimSpace(stdout.String())
	if i := strings.LastIndex(line, "\n"); i >= 0 {
		line = line[i+1:]
	}
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		t.Fatalf("browser script: %v (%v)\nstdout: %s\nstderr: %s", runErr, err, stdout.String(), stderr.String())
	}
	if runErr != nil || !res.OK {
		t.Fatalf("browser check failed: %s (%v)\npage console: %s\nstderr: %s", res.Error, runErr, strings.Join(res.Logs, "\n"), stderr.String())
	}
	return res
}

// serverTimes are means from the streamer's histograms, in milliseconds.
type serverTimes struct{ callToFrame, render, encode float64 }

func serverFigures(t *testing.T, rs *runningStreamer) serverTimes {
	t.Helper()
	resp, err := http.Get("http://" + rs.httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	mean := func(name string) float64 {
		if n := metricValue(body, name+"_count"); n > 0 {
			return 1000 * metricValue(body, name+"_sum") / n
		}
		return 0
	}
	return serverTimes{mean("rendercast_call_to_frame_seconds"), mean("rendercast_render_seconds"), mean("rendercast_encode_seconds")}
}

// perfRow is one measured setting for docs/perf-webrtc.md.
type perfRow struct {
	label  string
	res    browserResult
	server serverTimes
}

// metricValue reads an unlabelled sample from Prometheus text (0 if absent).
func metricValue(body, name string) float64 {
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return 0
}

// writePerfDoc records the browser latency figures with the command and the machine.
func writePerfDoc(t *testing.T, root string, rows []perfRow) {
	t.Helper()
	cpu := "unknown CPU"
	if out, err := exec.Command("lscpu").Output(); err == nil {
		for _, l := range strings.Split(string(out), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "Model name" {
				cpu = strings.TrimSpace(v)
			}
		}
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	chromium, _ := exec.Command("/usr/bin/chromium", "--version").Output()
	first := rows[0]
	lat := first.res.Latency
	var b strings.Builder
	fmt.Fprintf(&b, "# Browser (WebRTC) call-to-frame latency\n\n")
	fmt.Fprintf(&b, "Measured by the browser viewer's page itself (`window.rendercast.measureLatency`): it sends\n"+
		"`scene.setBackground` over the data channel with a new colour and times, with\n"+
		"`requestVideoFrameCallback` and a canvas read of the top-left pixel, the first video frame\n"+
		"that shows the colour. So the figure spans the whole path: data channel, render loop tick,\n"+
		"draw and read-back, encode, RTP over loopback, the browser's jitter buffer, decode and\n"+
		"compositing. 30 changes, 120-190 ms apart (random, so they fall at every phase of the\n"+
		"render loop).\n\n")
	fmt.Fprintf(&b, "| setting | value |\n| --- | --- |\n")
	fmt.Fprintf(&b, "| command | `RENDERCAST_DOCS=1 go test -tags egl -count=1 -run TestBrowserViewer ./cmd/streamer` (also writes docs/browser.png) |\n")
	fmt.Fprintf(&b, "| stream | 30 fps, libx264 ultrafast (Constrained Baseline), `-bitrate 4000` ceiling, scene still between calls |\n")
	fmt.Fprintf(&b, "| browser | %s, headless, software decode (`--disable-gpu`) |\n", strings.TrimSpace(string(chromium)))
	fmt.Fprintf(&b, "| machine | %s (`lscpu`), %d cores, Mesa llvmpipe; load average %s when the runs ended (the machine is shared) |\n", cpu, runtime.NumCPU(), load)
	fmt.Fprintf(&b, "| date | %s |\n\n", time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "## Result at 1280x720, 30 fps (the target's setting)\n\n")
	fmt.Fprintf(&b, "| p50 | p90 | min | max | samples | missed |\n| --- | --- | --- | --- | --- | --- |\n")
	fmt.Fprintf(&b, "| **%.1f ms** | %.1f ms | %.1f ms | %.1f ms | %d | %d |\n\n", lat.P50, lat.P90, lat.Min, lat.Max, lat.N, lat.Missed)
	if st := first.res.Stats; st != nil {
		fmt.Fprintf(&b, "Page figures at the end of the run: %.1f frames/s, %.0f kbit/s received, call round-trip\n"+
			"%.1f ms, jitter buffer %.1f ms a frame, decode %.1f ms a frame.\n\n",
			num(st["fps"]), num(st["kbps"]), num(st["callRTT"]), num(st["jitterBufferMs"]), num(st["decodeMs"]))
	}
	fmt.Fprintf(&b, "## Where the time goes\n\n"+
		"The same measurement in three settings, with the server's means from its histograms\n"+
		"(`rendercast_call_to_frame_seconds`: call received to the first encoded frame showing it;\n"+
		"`rendercast_render_seconds`: draw, colour conversion and read-back of one frame;\n"+
		"`rendercast_encode_seconds`).\n\n")
	fmt.Fprintf(&b, "| setting | page p50 | page p90 | server: call to encoded frame | render | encode |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rows {
		l := r.res.Latency
		fmt.Fprintf(&b, "| %s | %.1f ms | %.1f ms | %.1f ms | %.1f ms | %.1f ms |\n", r.label, l.P50, l.P90, r.server.callToFrame, r.server.render, r.server.encode)
	}
	fmt.Fprintf(&b, "\n## What it means\n\n"+
		"- The browser's own share (page figure minus the server's) is small: the data channel,\n"+
		"  RTP on loopback, a jitter buffer kept near zero (the track sends the playout-delay\n"+
		"  extension with 0/0, so frames are shown as soon as they are decoded), a software decode\n"+
		"  of about a millisecond and the compositor's next frame.\n"+
		"- The server's share is the render loop's next tick (the loop does not wake for a call:\n"+
		"  up to one render interval, 33 ms at 30 frames/s, half of it on average), the draw with\n"+
		"  colour conversion and read-back, and the encode. On this machine the draw dominates:\n"+
		"  Mesa's llvmpipe spends about 46 CPU-ms on a 720p demo frame (docs/perf-render.md), more\n"+
		"  in wall time when other work shares the two cores.\n"+
		"- The 50 ms target (p50 at 720p30 on loopback) is not met on this CPU-only machine with\n"+
		"  the demo scene. It needs a draw of a few milliseconds (a GPU), and a render loop that\n"+
		"  renders at once when a call changes the view (as far as the rate ceiling allows)\n"+
		"  instead of at its next tick.\n")
	if err := os.WriteFile(filepath.Join(root, "docs", "perf-webrtc.md"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

// The browser viewer joins a shared session with ?session=NAME: the colour it picks shows
// on an RTMP viewer of the same session (with a private session it would not), and the
// session lists the browser as a WebRTC viewer while it plays.
func TestBrowserJoinsSharedSession(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node (Node.js) is not installed: `make test` installs it through scripts/setup.sh")
	}
	const chromium = "/usr/bin/chromium"
	rs := startStreamer(t, "-size", "640x360", "-session", "show=demo")
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	rtmp := newViewer(t, ctx, rs.url("live/demo?session=show"), rtmpclient.Options{})
	if img := rtmp.Next(ctx); isRed(img) {
		t.Fatal("the session is red before the browser picked red")
	}
	cmd := exec.CommandContext(ctx, node, filepath.Join(root, "web", "test", "browser.mjs"),
		"--url", "http://"+rs.httpAddr+"/?session=show", "--screenshot", filepath.Join(t.TempDir(), "b.png"),
		"--latency", "0", "--chromium", chromium)
	cmd.Dir = filepath.Join(root, "web", "test")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || !strings.Contains(stdout.String(), `"ok":true`) {
		t.Fatalf("browser script: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	deadline := time.Now().Add(10 * time.Second)
	for !isRed(rtmp.Next(ctx)) {
		if time.Now().After(deadline) {
			y, cb, cr := corner(rtmp.Next(ctx))
			t.Fatalf("the RTMP viewer of session show is not red after the browser (?session=show) picked red: corner Y %.0f Cb %.0f Cr %.0f", y, cb, cr)
		}
	}
}
