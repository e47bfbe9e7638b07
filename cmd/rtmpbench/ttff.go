package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// TTFFResult is time to first frame: connect, play, first decoded picture.
type TTFFResult struct {
	URL  string `json:"url"`
	Runs int    `json:"runs"`
	// Total is from the start of the TCP connect to the first decoded picture.
	Total Summary `json:"total"`
	// Connect (TCP, handshake, connect), Play (createStream + play until
	// NetStream.Play.Start), FirstVideo (from the start to the first coded frame's arrival).
	Connect    Summary `json:"connect"`
	Play       Summary `json:"play"`
	FirstVideo Summary `json:"first_video"`
	Failures   int     `json:"failures"`
	// Samples are the totals in ms, in run order.
	Samples []float64 `json:"samples_ms"`
}

// measureTTFF plays rawURL runs times, one after the other, each on a new connection, with a
// pause of 100 ms plus a random part up to jitter between runs, so the runs fall at different
// phases of the server's loops (for a relay: of the keyframe interval, so jitter should be
// the GOP there).
func measureTTFF(ctx context.Context, rawURL string, runs int, jitter time.Duration, marker markerKind, log *progress) (TTFFResult, error) {
	res := TTFFResult{URL: rawURL, Runs: runs}
	var total, connect, play, first []float64
	for i := range runs {
		t, err := ttffOnce(ctx, rawURL, marker)
		if err != nil {
			res.Failures++
			log.printf("ttff run %d: %v", i+1, err)
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			if res.Failures > runs/4+1 {
				return res, fmt.Errorf("time to first frame: %d of %d runs failed, last: %w", res.Failures, i+1, err)
			}
			continue
		}
		total = append(total, ms(t.total))
		connect = append(connect, ms(t.Connect))
		play = append(play, ms(t.CreateStream+t.Play))
		first = append(first, ms(t.firstVideo))
		sleep(ctx, 100*time.Millisecond+rand.N(jitter))
	}
	res.Total, res.Connect, res.Play, res.FirstVideo = summarize(total), summarize(connect), summarize(play), summarize(first)
	res.Samples = total
	return res, nil
}

type ttffTimings struct {
	playTimings
	firstVideo, total time.Duration
}

func ttffOnce(ctx context.Context, rawURL string, marker markerKind) (ttffTimings, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	p, pt, err := dialPlayer(ctx, rawURL, playerOptions{Decode: true, Marker: marker, Keep: 4})
	if err != nil {
		return ttffTimings{}, err
	}
	defer p.close()
	f, _, err := p.waitFor(ctx, 0, func(frameRecord) bool { return true })
	if err != nil {
		return ttffTimings{}, fmt.Errorf("first frame: %w", err)
	}
	p.mu.Lock()
	firstVideo := p.firstVideo
	p.mu.Unlock()
	return ttffTimings{playTimings: pt, firstVideo: firstVideo.Sub(p.start), total: f.Decoded.Sub(p.start)}, nil
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
