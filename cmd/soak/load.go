package main

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"

	"github.com/rendercast/rendercast/rtmpclient"
)

// load is the steady traffic: long-lived viewers that count frames and send calls, and a
// churn of short-lived viewers.
type load struct {
	wg     sync.WaitGroup
	frames []atomic.Int64 // per long-lived viewer: video frames received

	calls, callErrors atomic.Int64
	viewerErrors      atomic.Int64 // long-lived viewers that lost their connection
	churns            atomic.Int64
}

// startLoad starts the honest clients, all from 127.0.0.1: o.viewers RTMP viewers (frame
// counters 0 to o.viewers-1), o.whepViewers WebRTC viewers (the counters after them) and
// the churn.
func startLoad(ctx context.Context, addr, httpAddr string, o options, log *slog.Logger) *load {
	ld := &load{frames: make([]atomic.Int64, o.viewers+o.whepViewers)}
	scenes := []string{"demo", "testcard"}
	for i := range o.viewers {
		ld.wg.Add(1)
		go func() {
			defer ld.wg.Done()
			ld.viewer(ctx, "rtmp://"+addr+"/live/"+scenes[i%len(scenes)], i, o.callsPerS, log)
		}()
	}
	for i := range o.whepViewers {
		ld.wg.Add(1)
		go func() {
			defer ld.wg.Done()
			ld.whepViewer(ctx, "http://"+httpAddr+"/whep/"+scenes[i%len(scenes)], o.viewers+i, log)
		}()
	}
	if o.churnEvery > 0 {
		ld.wg.Add(1)
		go func() {
			defer ld.wg.Done()
			ld.churn(ctx, "rtmp://"+addr+"/live/demo", o.churnEvery, o.churnPlay, log)
		}()
	}
	return ld
}

func (ld *load) wait() { ld.wg.Wait() }

// viewer plays url until ctx ends, reconnecting after a failure (counted), and sends calls
// at callsPerS on the same connection.
func (ld *load) viewer(ctx context.Context, url string, i int, callsPerS float64, log *slog.Logger) {
	for ctx.Err() == nil {
		err := ld.watch(ctx, url, i, callsPerS)
		if ctx.Err() != nil {
			return
		}
		ld.viewerErrors.Add(1)
		log.Warn("viewer lost its connection", "viewer", i, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// dialPlay connects to url and plays the stream it names. On failure it closes what it
// opened.
func dialPlay(ctx context.Context, url string) (*rtmpclient.Client, error) {
	c, err := rtmpclient.Dial(ctx, url, rtmpclient.Options{})
	if err != nil {
		return nil, err
	}
	id, err := c.CreateStream(ctx)
	if err == nil {
		err = c.Play(ctx, id, c.URL().Stream)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (ld *load) watch(ctx context.Context, url string, i int, callsPerS float64) error {
	c, err := dialPlay(ctx, url)
	if err != nil {
		return err
	}
	defer c.Close()
	callsDone := make(chan struct{})
	go func() {
		defer close(callsDone)
		ld.sendCalls(ctx, c, callsPerS, int64(i))
	}()
	defer func() { <-callsDone }()
	for {
		m, err := c.ReadVideo(ctx)
		if err != nil {
			c.Close() // stops the call goroutine too
			return err
		}
		if m.AVCPacketType == rtmpclient.AVCNALU {
			ld.frames[i].Add(1)
		}
	}
}

// sendCalls cycles through calls that change the view and read state.
func (ld *load) sendCalls(ctx context.Context, c *rtmpclient.Client, perSecond float64, seed int64) {
	if perSecond <= 0 {
		return
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	tick := time.NewTicker(time.Duration(float64(time.Second) / perSecond))
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-c.Done():
			return
		case <-tick.C:
		}
		var name string
		var args amf0.Object
		switch n % 6 {
		case 0:
			name, args = "camera.orbit", amf0.Object{{Key: "dx", Value: 3.0}, {Key: "dy", Value: 0.0}}
		case 1:
			name = "camera.get"
		case 2:
			name, args = "scene.setBackground", amf0.Object{{Key: "r", Value: rng.Float64()}, {Key: "g", Value: rng.Float64()}, {Key: "b", Value: rng.Float64()}}
		case 3:
			name = "stream.stats"
		case 4:
			name, args = "camera.zoom", amf0.Object{{Key: "factor", Value: 0.98 + 0.04*rng.Float64()}}
		case 5:
			name = "camera.reset"
		}
		var err error
		if args != nil {
			_, err = c.Call(ctx, name, nil, args)
		} else {
			_, err = c.Call(ctx, name, nil)
		}
		if ctx.Err() != nil {
			return
		}
		ld.calls.Add(1)
		var ce *rtmpclient.CallError
		if err != nil && (errors.As(err, &ce) || c.Err() == nil) {
			ld.callErrors.Add(1)
		}
	}
}

// churn connects a viewer every interval (or as soon as the last one left) that plays for
// the given time and leaves.
func (ld *load) churn(ctx context.Context, url string, every, play time.Duration, log *slog.Logger) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := churnOnce(ctx, url, play); err != nil && ctx.Err() == nil {
			log.Warn("churn viewer failed", "err", err)
			ld.viewerErrors.Add(1)
			continue
		}
		ld.churns.Add(1)
	}
}

func churnOnce(ctx context.Context, url string, play time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	c, err := dialPlay(ctx, url)
	if err != nil {
		return err
	}
	defer c.Close()
	end := time.Now().Add(play)
	for time.Now().Before(end) {
		if _, err := c.ReadVideo(ctx); err != nil {
			return err
		}
	}
	return nil
}
