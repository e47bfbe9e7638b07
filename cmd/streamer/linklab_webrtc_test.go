package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rendercast/rendercast/internal/linklab"
)

// TestLinkLabWebRTC: WebRTC viewers behind the lab's links. Headless Chromium runs inside
// each viewer's namespace (ip netns exec ... node), plays the streamer's browser viewer
// page over WHEP and reads the video receiver's getStats (framesDecoded, keyFramesDecoded,
// bytesReceived) in the window; then the page measures call-to-frame latency itself
// (window.rendercast.measureLatency: data-channel calls, the first presented frame that
// shows the colour).
func TestLinkLabWebRTC(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node (Node.js) is not installed: scripts/setup.sh installs it")
	}
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s is missing: scripts/setup.sh installs Debian's chromium", chromium)
	}
	playwright := filepath.Join(root, "web", "test", "node_modules", "playwright-core", "index.mjs")
	if _, err := os.Stat(playwright); err != nil {
		t.Fatalf("playwright-core is not installed in web/test: run `npm ci` there (scripts/setup.sh does it): %v", err)
	}
	script := filepath.Join(t.TempDir(), "linkviewer.mjs")
	if err := os.WriteFile(script, []byte(linkViewerScript), 0o644); err != nil {
		t.Fatal(err)
	}

	lab := linklab.New(t, linklab.Config{Links: labLinks})
	startLabStreamer(t, lab)
	ctx, cancel := context.WithTimeout(t.Context(), 6*time.Minute)
	defer cancel()
	results := make([]labResult, len(lab.Links))
	errs := make([]error, len(lab.Links))
	pw := (&url.URL{Scheme: "file", Path: playwright}).String()
	labInRounds(lab.Links, labParallelWebRTC, func(i int, l linklab.Link) {
		results[i], errs[i] = labWebRTCViewer(ctx, lab, l, node, script, chromium, pw)
	})
	t.Logf("WebRTC viewers (Chromium), %v after %v of warm-up:%s", labWindow, labWarmup, labTable(results))
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	checkLabResults(t, results)
}

// linkViewerReport is what linkViewerScript prints.
type linkViewerReport struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
	// Seconds is the window's length as the page measured it.
	Seconds        float64   `json:"seconds"`
	FramesDecoded  int       `json:"framesDecoded"`
	KeyFrames      int       `json:"keyFramesDecoded"`
	Bytes          float64   `json:"bytesReceived"`
	KeyframeFrames []float64 `json:"keyframeFrames"`
	// KeyframeTimes are in seconds on the page's clock, WindowFrom the window's start.
	KeyframeTimes []float64 `json:"keyframeTimes"`
	WindowFrom    float64   `json:"windowFrom"`
	// WindowStart and WindowEnd are the window's ends, Unix time in ms.
	WindowStart   float64 `json:"windowStart"`
	WindowEnd     float64 `json:"windowEnd"`
	PLI           int     `json:"pliCount"`
	NACK          int     `json:"nackCount"`
	FramesDropped int     `json:"framesDropped"`
	Latency       *struct {
		P50     float64   `json:"p50"`
		N       int       `json:"n"`
		Missed  int       `json:"missed"`
		Samples []float64 `json:"samples"`
	} `json:"latency"`
	Logs []string `json:"logs"`
}

// labWebRTCViewer runs the viewer script inside l's namespace.
func labWebRTCViewer(ctx context.Context, lab *linklab.Lab, l linklab.Link, node, script, chromium, playwright string) (labResult, error) {
	res := labResult{Link: l, Transport: "WebRTC"}
	page := fmt.Sprintf("http://%s:8080/?autosize=0#demo", l.ServerAddr)
	rctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := lab.Command(rctx, l.Namespace, node, script, page, fmt.Sprint(labWarmup.Milliseconds()), fmt.Sprint(labWindow.Milliseconds()),
		fmt.Sprint(labLatencyCalls), chromium, playwright)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	wctx, stopWatch := context.WithCancel(ctx)
	watch := labWatchSession(wctx, lab, l.ViewerAddr)
	runErr := cmd.Run()
	stopWatch()
	<-watch.done
	line := strings.TrimSpace(stdout.String())
	if i := strings.LastIndex(line, "\n"); i >= 0 {
		line = line[i+1:]
	}
	var r linkViewerReport
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		return res, fmt.Errorf("%s: viewer script: %v (%v)\nstdout: %s\nstderr: %s", l.Name, runErr, err, stdout.String(), stderr.String())
	}
	if runErr != nil || !r.OK {
		return res, fmt.Errorf("%s: viewer script: %s (%v)\npage console: %s\nstderr: %s", l.Name, r.Error, runErr, strings.Join(r.Logs, "\n"), stderr.String())
	}
	if r.Seconds <= 0 {
		return res, fmt.Errorf("%s: viewer script measured a window of %.1f s", l.Name, r.Seconds)
	}
	res.FPS = float64(r.FramesDecoded) / r.Seconds
	res.Keyframes = r.KeyFrames
	res.Kbps = r.Bytes * 8 / 1000 / r.Seconds
	// Keyframes are seen when keyFramesDecoded rose, read every 100 ms on a loaded page,
	// and a keyframe's own time on the link and in the jitter buffer varies with its size:
	// the viewer's schedule is known within about 6 frames and 0.5 s. The server's forced
	// count is the exact figure.
	if len(r.KeyframeFrames) != len(r.KeyframeTimes) {
		return res, fmt.Errorf("%s: viewer script: %d keyframe frames, %d times", l.Name, len(r.KeyframeFrames), len(r.KeyframeTimes))
	}
	var keys []labKeyframeAt
	for i := range r.KeyframeFrames {
		keys = append(keys, labKeyframeAt{frame: r.KeyframeFrames[i], sec: r.KeyframeTimes[i]})
	}
	res.ExtraKeyframes = labExtraKeyframes(keys, r.WindowFrom, 6, 0.5)
	if d, ok := watch.between(time.UnixMilli(int64(r.WindowStart)), time.UnixMilli(int64(r.WindowEnd))); ok {
		res.ServerFrames, res.ServerKeyframes, res.ServerForced, res.ServerOK = d.frames, d.keyframes, d.forced, true
	}
	res.Note = fmt.Sprintf("PLI %d, NACK %d, dropped %d", r.PLI, r.NACK, r.FramesDropped)
	if r.Latency != nil {
		res.LatencyN, res.LatencyMissed, res.LatencyP50 = r.Latency.N, r.Latency.Missed, labMedian(r.Latency.Samples)
	}
	return res, nil
}

// linkViewerScript drives headless Chromium against the streamer's browser viewer page:
//
//	node linkviewer.mjs PAGE_URL WARMUP_MS WINDOW_MS LATENCY_CALLS CHROMIUM PLAYWRIGHT_URL
//
// It prints one JSON object (linkViewerReport) on stdout.
const linkViewerScript = `
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [pageURL, warmupMs, windowMs, latencyN, executablePath, playwright] = process.argv.slice(2);
const { chromium } = await import(playwright);
const result = { ok: false, logs: [] };
const profile = mkdtempSync(join(tmpdir(), 'rendercast-linklab-'));
let browser;
try {
  browser = await chromium.launchPersistentContext(profile, {
    executablePath, headless: true, viewport: { width: 1280, height: 860 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-features=WebRtcHideLocalIpsWithMdns', '--autoplay-policy=no-user-gesture-required'],
  });
  // Keep the page's peer connections, for getStats.
  await browser.addInitScript(() => {
    const Base = window.RTCPeerConnection;
    window.__pcs = [];
    window.RTCPeerConnection = class extends Base {
      constructor(...args) { super(...args); window.__pcs.push(this); }
    };
  });
  const page = browser.pages()[0] || await browser.newPage();
  page.on('console', (m) => result.logs.push(m.type() + ': ' + m.text()));
  page.on('pageerror', (e) => result.logs.push('pageerror: ' + e.message));
  await page.goto(pageURL);
  await page.waitForFunction(() => window.rendercast !== undefined, null, { timeout: 15000 });
  await page.evaluate(() => window.rendercast.ready);
  const inbound = () => page.evaluate(async () => {
    const pc = window.__pcs[window.__pcs.length - 1];
    let v = null;
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') v = s;
    });
    return v && { t: performance.now(), now: Date.now(), framesDecoded: v.framesDecoded || 0, keyFramesDecoded: v.keyFramesDecoded || 0,
      bytesReceived: v.bytesReceived || 0, pliCount: v.pliCount || 0, nackCount: v.nackCount || 0, framesDropped: v.framesDropped || 0 };
  });
  // Keyframes from the start (the window's first gap needs the one before it).
  const keyframeFrames = [], keyframeTimes = [];
  let last = await inbound();
  if (!last) throw new Error('no inbound video');
  const watch = async (ms) => {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      await page.waitForTimeout(100);
      const s = await inbound();
      for (let k = last.keyFramesDecoded; k < s.keyFramesDecoded; k++) {
        keyframeFrames.push(s.framesDecoded);
        keyframeTimes.push(s.t / 1000);
      }
      last = s;
    }
    return last;
  };
  const s0 = await watch(Number(warmupMs));
  const s1 = await watch(Number(windowMs));
  Object.assign(result, {
    seconds: (s1.t - s0.t) / 1000, framesDecoded: s1.framesDecoded - s0.framesDecoded,
    keyFramesDecoded: s1.keyFramesDecoded - s0.keyFramesDecoded, bytesReceived: s1.bytesReceived - s0.bytesReceived,
    pliCount: s1.pliCount - s0.pliCount, nackCount: s1.nackCount - s0.nackCount, framesDropped: s1.framesDropped - s0.framesDropped,
    keyframeFrames, keyframeTimes, windowFrom: s0.t / 1000, windowStart: s0.now, windowEnd: s1.now,
  });
  if (Number(latencyN) > 0) result.latency = await page.evaluate((n) => window.rendercast.measureLatency(n), Number(latencyN));
  result.ok = true;
} catch (e) {
  result.error = String(e && e.message || e);
} finally {
  console.log(JSON.stringify(result));
  if (browser) await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
`
