package main

import (
	"context"
	"testing"
	"time"

	"github.com/rendercast/rendercast/rtmpclient"
)

// slowReaderResult is what a viewer reading no faster than its link got in steady state.
type slowReaderResult struct {
	fps        float64
	keyframes  int
	kbps       float64
	lagSpread  time.Duration // growth of (arrival - timestamp): the delay the queue adds
	bitrateBps float64       // the session's encoder bitrate at the end (stream.stats)
	skips      float64
	decreases  float64
}

// watchThrottled plays live/demo reading at readBps for warm+measure and reports what came in
// during measure.
func watchThrottled(t *testing.T, rs *runningStreamer, readBps int, warm, measure time.Duration) slowReaderResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), warm+measure+60*time.Second)
	defer cancel()
	c, err := rtmpclient.Dial(ctx, rs.url("live"), rtmpclient.Options{ReadRate: readBps, ReceiveBuffer: 32 << 10, MediaBuffer: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id, err := c.CreateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Play(ctx, id, "demo"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var res slowReaderResult
	var frames, bytes int
	minLag, maxLag := time.Duration(1<<62), time.Duration(0)
	var first, last time.Duration
	for time.Since(start) < warm+measure {
		v, err := c.ReadVideo(ctx)
		if err != nil {
			t.Fatalf("read after %v: %v", time.Since(start), err)
		}
		if v.AVCPacketType != 1 {
			continue
		}
		if time.Since(start) < warm {
			continue
		}
		lag := time.Since(start) - v.Timestamp
		minLag, maxLag = min(minLag, lag), max(maxLag, lag)
		if frames == 0 {
			first = v.Timestamp
		}
		last = v.Timestamp
		frames++
		bytes += len(v.Body)
		if v.Keyframe {
			res.keyframes++
		}
	}
	span := (last - first).Seconds()
	res.fps = float64(frames-1) / span
	res.kbps = float64(bytes) * 8 / span / 1000
	res.lagSpread = maxLag - minLag
	st, err := c.Call(ctx, "stream.stats", nil)
	if err != nil {
		t.Fatal(err)
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
	r := watchThrottled(t, rs, link, warm, measure)
	t.Logf("2 Mbit/s reader: %.1f fps, %d keyframes in %v, %.0f kbit/s, lag spread %v, encoder %.0f kbit/s, %v skips, %v decreases",
		r.fps, r.keyframes, measure, r.kbps, r.lagSpread, r.bitrateBps/1000, r.skips, r.decreases)
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
