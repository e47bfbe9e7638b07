package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/rendercast/rendercast/rtmpsrv"
)

// Drain limits.
const (
	// DefaultDrainTimeout bounds closing the viewers when Config.DrainTimeout is 0.
	DefaultDrainTimeout = 5 * time.Second
	// MinDrainTimeout and MaxDrainTimeout bound -drain-timeout; MaxDrainWait bounds
	// -drain-wait.
	MinDrainTimeout = time.Second
	MaxDrainTimeout = time.Minute
	MaxDrainWait    = time.Minute
)

// unpublishText is what RTMP viewers read in NetStream.Play.UnpublishNotify when the
// streamer stops.
const unpublishText = "the streamer is stopping: play again to reach another"

// Drain stops the streamer gracefully, as SIGTERM asks: readiness turns false and new
// viewers are refused at once; the viewers playing keep their streams for up to
// Config.DrainWait (less when they all leave first); then RTMP viewers are told
// NetStream.Play.UnpublishNotify and their connections close, WebRTC sessions close, and
// Drain returns as soon as they are closed, within Config.DrainTimeout. Close the App
// after it.
func (a *App) Drain() error {
	start := time.Now()
	timeout := a.cfg.DrainTimeout
	if timeout <= 0 {
		timeout = DefaultDrainTimeout
	}
	a.StopAdmitting()
	a.log.Info("draining: not ready, new viewers refused", "viewers", a.admit.Counts().Viewers,
		"wait", a.cfg.DrainWait.String(), "timeout", timeout.String())
	if a.cfg.DrainWait > 0 {
		deadline := time.NewTimer(a.cfg.DrainWait)
		tick := time.NewTicker(50 * time.Millisecond)
	wait:
		for a.admit.Counts().Viewers > 0 {
			select {
			case <-deadline.C:
				break wait
			case <-tick.C:
			}
		}
		deadline.Stop()
		tick.Stop()
	}
	viewers := a.admit.Counts().Viewers
	// A fifth of the timeout stays for closing the sessions and the renderer after the
	// connections.
	ctx, cancel := context.WithTimeout(context.Background(), timeout*4/5)
	defer cancel()
	err := a.Shutdown(ctx)
	took := time.Since(start).Round(time.Millisecond).String()
	if err != nil {
		a.log.Warn("drain: viewers not all closed in time", "viewers", viewers, "took", took, "err", err)
		return err
	}
	a.log.Info("drained", "viewers", viewers, "took", took)
	return nil
}

// StopAdmitting turns readiness false and refuses new viewers (RTMP connects and plays,
// WHEP offers); the viewers playing go on. Drain starts with it.
func (a *App) StopAdmitting() { a.ready.draining.Store(true) }

// rtmpConns tracks the open RTMP connections, whose viewers Shutdown tells to leave.
type rtmpConns struct {
	mu sync.Mutex
	m  map[*rtmpsrv.Conn]struct{}
}

func (t *rtmpConns) add(c *rtmpsrv.Conn) {
	t.mu.Lock()
	if t.m == nil {
		t.m = map[*rtmpsrv.Conn]struct{}{}
	}
	t.m[c] = struct{}{}
	t.mu.Unlock()
}

func (t *rtmpConns) remove(c *rtmpsrv.Conn) {
	t.mu.Lock()
	delete(t.m, c)
	t.mu.Unlock()
}

// unpublish tells every playing RTMP stream NetStream.Play.UnpublishNotify and ends its
// play; it returns the number told.
func (t *rtmpConns) unpublish() int {
	t.mu.Lock()
	list := make([]*rtmpsrv.Conn, 0, len(t.m))
	for c := range t.m {
		list = append(list, c)
	}
	t.mu.Unlock()
	n := 0
	for _, c := range list {
		for _, s := range c.Streams() {
			if s.Playing() {
				s.Unpublish(unpublishText)
				n++
			}
		}
	}
	return n
}

// closeTransports tells the RTMP viewers to leave, then closes HTTP, the WebRTC sessions
// and the RTMP connections together, waiting for them until ctx ends.
func (a *App) closeTransports(ctx context.Context) error {
	told := a.conns.unpublish()
	webrtc := a.web.Stats().Sessions
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	run := func(what string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s shutdown: %w", what, err))
				mu.Unlock()
			}
		}()
	}
	for _, s := range []*http.Server{a.httpSrv, a.adminSrv} {
		if s != nil {
			run("http", func() error {
				hctx, cancel := context.WithTimeout(ctx, time.Second)
				defer cancel()
				s.Shutdown(hctx) // requests still running after a second are cut
				return nil
			})
		}
	}
	run("webrtc", func() error { return a.web.Shutdown(ctx) })
	run("rtmp", func() error { return a.srv.Shutdown(ctx) })
	wg.Wait()
	if told > 0 || webrtc > 0 {
		a.log.Info("viewers closed", "rtmp_unpublished", told, "webrtc_sessions", webrtc)
	}
	return errors.Join(errs...)
}
