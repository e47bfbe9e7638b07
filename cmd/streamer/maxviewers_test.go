package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rendercast/rendercast/rtmpclient"
)

// TestMaxViewers: with -max-viewers 1, a second RTMP play is refused with
// NetStream.Play.Failed and a WebRTC offer with 503, the viewer playing keeps its frames, and
// the slot is free again once it leaves.
func TestMaxViewers(t *testing.T) {
	rs := startStreamer(t, "-size", "320x180", "-max-viewers", "1")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	first := newViewer(t, ctx, rs.url("live/demo"), rtmpclient.Options{})
	first.Next(ctx)

	play := func() (*rtmpclient.Client, error) {
		c, err := rtmpclient.Dial(ctx, rs.url("live/demo"), rtmpclient.Options{})
		if err != nil {
			t.Fatal(err)
		}
		id, err := c.CreateStream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return c, c.Play(ctx, id, "demo")
	}
	c, err := play()
	var se *rtmpclient.StatusError
	if !errors.As(err, &se) || se.Code != "NetStream.Play.Failed" || !strings.Contains(se.Description, "-max-viewers") {
		t.Fatalf("second play: %v, want NetStream.Play.Failed naming -max-viewers", err)
	}
	c.Close()

	api := newWHEPAPI(t)
	pc, _, offer := whepOffer(t, api)
	defer pc.Close()
	if status, _, body := postOffer(t, "http://"+rs.httpAddr+"/whep/demo", offer, ""); status != http.StatusServiceUnavailable {
		t.Fatalf("WHEP offer with the one slot taken: %d %s, want 503", status, body)
	}
	for range 10 { // the viewer playing is unaffected
		first.Next(ctx)
	}
	if n := metric(t, rs, "rendercast_viewers_refused_total"); n != 2 {
		t.Errorf("rendercast_viewers_refused_total = %v, want 2", n)
	}

	first.C.Close()
	waitMetric(t, rs, "rendercast_streams_playing", func(v float64) bool { return v == 0 })
	c, err = play()
	if err != nil {
		t.Fatalf("play after the first viewer left: %v", err)
	}
	c.Close()
}
