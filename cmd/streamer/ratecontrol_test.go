package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rendercast/rendercast/rtmpclient"
)

// linkResult is what a viewer got in steady state.
type linkResult struct {
	fps        float64
	frames     int
	keyframes  int
	kbps       float64       // the stream's bitrate: bytes over media time
	lagSpread  time.Duration // growth of (arrival - timestamp): the delay queues add
	bitrateBps float64       // the session's encoder bitrate at the end (stream.stats)
	skips      float64
	decreases  float64
}

func (r linkResult) String() string {
	return fmt.Sprintf("%.1f fps, %d keyframes, %.0f kbit/s, lag spread %v, encoder %.0f kbit/s, %v congested skips, %v decreases",
		r.fps, r.keyframes, r.kbps, r.lagSpread.Round(time.Millisecond), r.bitrateBps/1000, r.skips, r.decreases)
}

// watchThrottled plays scene demo from the RTMP application app (with its query) reading at
// readBps (0: as fast as it can) for warm+measure, and reports what came in during measure.
// It reports failures with t.Error, so several may run at once.
func watchThrottled(t *testing.T, rs *runningStreamer, app string, readBps int, warm, measure time.Duration) (res linkResult) {
	ctx, cancel := context.WithTimeout(context.Background(), warm+measure+60*time.Second)
	defer cancel()
	c, err := rtmpclient.Dial(ctx, rs.url(app), rtmpclient.Options{ReadRate: readBps, ReceiveBuffer: 32 << 10, MediaBuffer: 4096})
	if err != nil {
		t.Error(err)
		return
	}
	defer c.Close()
	id, err := c.CreateStream(ctx)
	if err == nil {
		err = c.Play(ctx, id, "demo")
	}
	if err != nil {
		t.Error(err)
		return
	}
	start := time.Now()
	var bytes int
	minLag, maxLag := time.Duration(1<<62), time.Duration(0)
	var first, last time.Duration
	for time.Since(start) < warm+measure {
		v, err := c.ReadVideo(ctx)
		if err != nil {
			t.Errorf("read after %v: %v", time.Since(start), err)
			return
		}
		if v.AVCPacketType != 1 || time.Since(start) < warm {
			continue
		}
		lag := time.Since(start) - v.Timestamp
		minLag, maxLag = min(minLag, lag), max(maxLag, lag)
		if res.frames == 0 {
			first = v.Timestamp
		}
		last = v.Timestamp
		res.frames++
		bytes += len(v.Body)
		if v.Keyframe {
			res.keyframes++
		}
	}
	if span := (last - first).Seconds(); span > 0 {
		res.fps = float64(res.frames-1) / span
		res.kbps = float64(bytes) * 8 / span / 1000
	}
	res.lagSpread = maxLag - minLag
	st, err := c.Call(ctx, "stream.stats", nil)
	if err != nil {
		t.Error(err)
		return
	}
	num := func(k string) float64 { n, _ := field(st, "streams", "0", "session", k).(float64); return n }
	res.bitrateBps, res.skips, res.decreases = num("bitrate_bps"), num("congested_skips"), num("rate_decreases")
	return res
}

// TestRateControlFitsASlowReader plays a moving 720p30 scene sent at 4 Mbit/s to a viewer
// that reads no faster than 2 Mbit/s: with rate control the session's bitrate comes down
// under the link, the frame rate is kept, only the GOP's keyframes arrive and no queue
// builds up.
func TestRateControlFitsASlowReader(t *testing.T) {
	rs := startStreamer(t, "-size", "1280x720", "-bitrate", "4000", "-animate", "on", "-marker", "-gop", "2s")
	const link = 2_000_000
	warm, measure := 8*time.Second, 16*time.Second
	r := watchThrottled(t, rs, "live", link, warm, measure)
	t.Logf("2 Mbit/s reader: %v", r)
	if r.fps < 28 {
		t.Errorf("%.1f frames/s in steady state, want >= 28", r.fps)
	}
	if maxKeys := int(measure/(2*time.Second)) + 1; r.keyframes > maxKeys {
		t.Errorf("%d keyframes in %v, want at most the GOP's %d", r.keyframes, measure, maxKeys)
	}
	// The stream's own bitrate (bytes over media time, not arrival time): a stream over
	// the link would arrive later and later.
	if r.kbps*1000 > link {
		t.Errorf("the stream carries %.0f kbit/s, over the 2 Mbit/s link", r.kbps)
	}
	if r.decreases == 0 || r.bitrateBps >= 4_000_000 {
		t.Errorf("rate control took %v decreases, encoder at %.0f bit/s", r.decreases, r.bitrateBps)
	}
	if r.lagSpread > time.Second {
		t.Errorf("the delay grew by %v in steady state: the queue is not kept short", r.lagSpread)
	}
}

// TestRateControlSharedSessionSlowViewerDegradesAlone: in a shared session (one encoder) a
// viewer reading at 1 Mbit/s does not lower the picture of a fast one: the session keeps
// its bitrate and the fast viewer its frame rate; the slow one still gets frames (skipping
// to keyframes).
func TestRateControlSharedSessionSlowViewerDegradesAlone(t *testing.T) {
	rs := startStreamer(t, "-size", "1280x720", "-bitrate", "4000", "-animate", "on", "-marker", "-gop", "2s")
	warm, measure := 5*time.Second, 12*time.Second
	var wg sync.WaitGroup
	var fast, slow linkResult
	wg.Add(2)
	go func() { defer wg.Done(); fast = watchThrottled(t, rs, "live?session=rc", 0, warm, measure) }()
	go func() { defer wg.Done(); slow = watchThrottled(t, rs, "live?session=rc", 1_000_000, warm, measure) }()
	wg.Wait()
	t.Logf("fast viewer: %v", fast)
	t.Logf("1 Mbit/s viewer: %v", slow)
	if fast.fps < 28 {
		t.Errorf("the fast viewer of a shared session got %.1f frames/s next to a slow one, want >= 28", fast.fps)
	}
	if fast.bitrateBps != 4_000_000 || fast.decreases != 0 {
		t.Errorf("the shared session's bitrate is %.0f after %v decreases: a slow viewer lowered everyone's picture", fast.bitrateBps, fast.decreases)
	}
	if maxKeys := int(measure/(2*time.Second)) + 1; fast.keyframes > maxKeys {
		t.Errorf("the fast viewer got %d keyframes in %v, want at most the GOP's %d: keyframes forced for the slow one", fast.keyframes, measure, maxKeys)
	}
	if slow.frames == 0 || slow.keyframes == 0 {
		t.Errorf("the slow viewer got %d frames, %d keyframes", slow.frames, slow.keyframes)
	}
}
