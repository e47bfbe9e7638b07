package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rendercast/rendercast/rtmpclient"
)

// spectator is the lightest RTMP player: it plays one stream and counts the coded video
// frames it receives, decoding nothing, so a harness on the same machine can hold hundreds.
type spectator struct {
	c      *rtmpclient.Client
	frames atomic.Int64
	ended  atomic.Bool
	done   chan struct{}
}

// playName is the name a player of rawURL asks for: the URL's last path segment with the
// URL's query, as FFmpeg and librtmp send it (rtmp://h/live/demo?session=s plays
// "demo?session=s"). rtmpclient also puts the query into tcUrl.
func playName(u rtmpclient.URL) string {
	if u.Query == "" {
		return u.Stream
	}
	return u.Stream + "?" + u.Query
}

// dialSpectator connects to rawURL, plays it and starts counting frames.
func dialSpectator(ctx context.Context, rawURL string) (*spectator, error) {
	c, err := rtmpclient.Dial(ctx, rawURL, rtmpclient.Options{Timeout: 20 * time.Second})
	if err != nil {
		return nil, err
	}
	id, err := c.CreateStream(ctx)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("createStream: %w", err)
	}
	s := &spectator{c: c, done: make(chan struct{})}
	go s.run()
	if err := c.Play(ctx, id, playName(c.URL())); err != nil {
		s.close()
		return nil, fmt.Errorf("play %s: %w", playName(c.URL()), err)
	}
	return s, nil
}

func (s *spectator) run() {
	defer close(s.done)
	defer s.ended.Store(true)
	ctx := context.Background()
	for {
		m, err := s.c.ReadVideo(ctx)
		if err != nil {
			return
		}
		if m.AVCPacketType == rtmpclient.AVCNALU {
			s.frames.Add(1)
		}
	}
}

// count returns the coded frames received so far and whether the connection is still up.
func (s *spectator) count() (int64, bool) { return s.frames.Load(), !s.ended.Load() }

func (s *spectator) close() {
	s.c.Close()
	<-s.done
}

// spectatorCounter is what a spectator step reads of a player (a *spectator; tests use
// fakes).
type spectatorCounter interface {
	count() (frames int64, up bool)
	close()
}

// maxDialFailures is how many players may fail to play before a step stops dialling: the
// step has failed, and dials to an overloaded server each wait for their timeout.
const maxDialFailures = 16

// dialSpectators connects n players to rawURL, at most 16 dials at a time; players that
// could not play (or were not dialled after maxDialFailures failures) are nil in the
// result, and the first error is returned with it.
func dialSpectators(ctx context.Context, rawURL string, n int, dial func(context.Context, string) (spectatorCounter, error)) ([]spectatorCounter, error) {
	out := make([]spectatorCounter, n)
	var firstErr error
	var failures int
	var mu sync.Mutex
	var wg sync.WaitGroup
	ctx, stopDialling := context.WithCancel(ctx)
	defer stopDialling()
	sem := make(chan struct{}, 16)
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			s, err := dial(dctx, rawURL)
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("player %d: %w", i+1, err)
				}
				if failures++; failures >= maxDialFailures {
					stopDialling()
				}
				mu.Unlock()
				return
			}
			out[i] = s
		}()
	}
	wg.Wait()
	return out, firstErr
}

// closeSpectators closes the players (nil ones are skipped), several at a time.
func closeSpectators(players []spectatorCounter) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for _, p := range players {
		if p == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p.close()
		}()
	}
	wg.Wait()
}

// countSpectators reads every player's frame count; a missing player (nil) counts as
// down with no frames.
func countSpectators(players []spectatorCounter) (frames []int64, up []bool) {
	frames, up = make([]int64, len(players)), make([]bool, len(players))
	for i, p := range players {
		if p != nil {
			frames[i], up[i] = p.count()
		}
	}
	return frames, up
}

// spectatorRates returns each player's frame rate over a window from the frame counts at
// its start and end, and how many players were not playing through it (never connected,
// or their connection ended by the end).
func spectatorRates(before, after []int64, upAfter []bool, window time.Duration) (fps []float64, failed int) {
	fps = make([]float64, len(after))
	for i := range after {
		if !upAfter[i] {
			failed++
		}
		if window > 0 {
			fps[i] = float64(after[i]-before[i]) / window.Seconds()
		}
	}
	return fps, failed
}

// fpsFigures are the frame rate figures of one step.
type fpsFigures struct {
	Min, Median float64
	// Passing counts the players at or above minViewerFPS.
	Passing int
}

// summarizeFPS returns the minimum, median and passing count of per-player rates (zeros
// for no players).
func summarizeFPS(fps []float64) fpsFigures {
	if len(fps) == 0 {
		return fpsFigures{}
	}
	s := slices.Clone(fps)
	slices.Sort(s)
	f := fpsFigures{Min: s[0], Median: percentileSorted(s, 50)}
	for _, v := range s {
		if v >= minViewerFPS {
			f.Passing++
		}
	}
	return f
}

// linearSlope returns the least-squares slope of y against x, and false when the x values
// do not vary (fewer than two distinct points).
func linearSlope(x, y []float64) (float64, bool) {
	n := float64(len(x))
	if len(x) != len(y) || len(x) < 2 {
		return 0, false
	}
	var sx, sy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
	}
	mx, my := sx/n, sy/n
	var sxx, sxy float64
	for i := range x {
		sxx += (x[i] - mx) * (x[i] - mx)
		sxy += (x[i] - mx) * (y[i] - my)
	}
	if sxx == 0 || math.IsNaN(sxy) {
		return 0, false
	}
	return sxy / sxx, true
}
