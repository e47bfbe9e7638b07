package rtmpsrv

import (
	"context"
	"testing"
	"time"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/rtmpclient"
)

// linkRun plays a manual push stream to a client reading at readBps (0: as fast as it can)
// and writes 12 KB frames at 30 fps (about 3 Mbit/s) for d, writing nothing while the
// queue is full, as a session does. It returns the stream's link figures at the end and the
// highest Delay seen.
func linkRun(t *testing.T, readBps int, d time.Duration) (LinkStats, time.Duration) {
	t.Helper()
	app := newPushApp(t, true)
	url := pushServer(t, Config{}, app)
	c := dial(t, url+"/app", rtmpclient.Options{ReadRate: readBps, ReceiveBuffer: 32 << 10, MediaBuffer: 4096})
	ctx := testCtx(t)
	id, err := c.CreateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Play(ctx, id, "link"); err != nil {
		t.Fatal(err)
	}
	s := app.nextStarted(t)
	rctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() {
		for {
			if _, err := c.ReadMedia(rctx); err != nil {
				return
			}
		}
	}()
	p := make([]byte, 12<<10)
	p[3], p[4] = byte((len(p)-4)>>8), 0x41
	p[2] = byte((len(p) - 4) >> 16)
	var worst time.Duration
	start := time.Now()
	for i := 0; time.Since(start) < d; i++ {
		time.Sleep(pushFrameInterval)
		if s.QueueFull() {
			continue
		}
		var f *avc.Frame
		if i == 0 {
			f = app.frame(0)
		} else {
			at := time.Duration(i) * pushFrameInterval
			f = &avc.Frame{NALUs: p, PTS: at, DTS: at}
		}
		s.WriteFrame(f)
		worst = max(worst, s.Link().Delay)
	}
	return s.Link(), worst
}

// A client reading at 1 Mbit/s a 3 Mbit/s stream: the link figures show frames waiting and
// a throughput near the reader's rate; the bytes sent follow the reader.
func TestLinkSeesASlowReader(t *testing.T) {
	const rate = 1_000_000
	start := time.Now()
	l, worst := linkRun(t, rate, 4*time.Second)
	took := time.Since(start).Seconds()
	t.Logf("slow reader: %+v, worst delay %v", l, worst)
	if worst < 150*time.Millisecond {
		t.Errorf("worst delay %v with a 3 Mbit/s stream read at 1 Mbit/s, want frames waiting", worst)
	}
	if l.Bps < rate/3 || l.Bps > 3*rate {
		t.Errorf("link estimate %d bit/s for a 1 Mbit/s reader", l.Bps)
	}
	if got := float64(l.BytesSent) * 8 / took; got > 2.5*rate {
		t.Errorf("sent %.0f bit/s to a 1 Mbit/s reader", got)
	}
	if l.SampledAt.IsZero() || time.Since(l.SampledAt) > 2*time.Second {
		t.Errorf("link sampled at %v", l.SampledAt)
	}
}

// A client reading as fast as it can: frames do not wait, and no link estimate is made
// (the link was never the limit).
func TestLinkFastReaderHasNoDelay(t *testing.T) {
	l, worst := linkRun(t, 0, 2*time.Second)
	t.Logf("fast reader: %+v, worst delay %v", l, worst)
	if l.Delay > 60*time.Millisecond || l.QueueFrames > 2 {
		t.Errorf("fast reader: delay %v, %d frames queued", l.Delay, l.QueueFrames)
	}
	if l.KeyframeQueued {
		t.Error("a keyframe still queued long after it was written")
	}
	if l.BytesSent < 500_000 {
		t.Errorf("only %d bytes sent in 2 s of a 3 Mbit/s stream", l.BytesSent)
	}
}
