package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rendercast/rendercast/rtmpclient"
)

// IdleResult is what connected but not playing clients cost the server.
type IdleResult struct {
	Target    int `json:"target"`
	Connected int `json:"connected"`
	Failed    int `json:"failed"`
	// ServerConnections is the server's own count (rendercast_connections) once all dialled.
	ServerConnections float64 `json:"server_connections"`
	ConnectSeconds    float64 `json:"connect_seconds"`
	// RSS of the streamer before and with the connections, and the difference per
	// connection; HeapPerConnKiB and StackPerConnKiB split it (Go runtime metrics), and
	// GoroutinesPerConn counts the server's goroutines per connection.
	BaselineRSSMiB    float64 `json:"baseline_rss_mib"`
	RSSMiB            float64 `json:"rss_mib"`
	PerConnKiB        float64 `json:"rss_per_conn_kib"`
	HeapPerConnKiB    float64 `json:"heap_inuse_per_conn_kib"`
	StackPerConnKiB   float64 `json:"stack_inuse_per_conn_kib"`
	GoroutinesPerConn float64 `json:"goroutines_per_conn"`
	// Alive reports that the server still answered a new player with the connections held.
	Alive bool `json:"alive"`
}

// raiseFileLimit sets the soft RLIMIT_NOFILE to the hard limit, and reports it. Setting it
// explicitly also makes processes started afterwards (the streamer) inherit it.
func raiseFileLimit() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	l.Cur = l.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	return l.Cur, nil
}

// measureIdle dials n connections (connect only, no stream) to rawURL and measures the
// streamer's memory with them open.
func measureIdle(ctx context.Context, rawURL, httpAddr string, pid, n int, log *progress) (IdleResult, error) {
	res := IdleResult{Target: n}
	var clients []*rtmpclient.Client
	var mu sync.Mutex
	closeAll := func() {
		mu.Lock()
		cs := clients
		clients = nil
		mu.Unlock()
		var wg sync.WaitGroup
		work := make(chan *rtmpclient.Client)
		for range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for c := range work {
					c.Close()
				}
			}()
		}
		for _, c := range cs {
			work <- c
		}
		close(work)
		wg.Wait()
	}
	defer closeAll()

	// A few connections first, so the baseline includes what the first ones allocate once.
	dial := func(ctx context.Context) error {
		c, err := rtmpclient.Dial(ctx, rawURL, rtmpclient.Options{MediaBuffer: 1, EventBuffer: 4, Timeout: 20 * time.Second})
		if err != nil {
			return err
		}
		mu.Lock()
		clients = append(clients, c)
		mu.Unlock()
		return nil
	}
	for range 8 {
		if err := dial(ctx); err != nil {
			return res, fmt.Errorf("idle: first connections: %w", err)
		}
	}
	closeAll()
	sleep(ctx, 1500*time.Millisecond)
	base, err := sampleProc(pid)
	if err != nil {
		return res, err
	}
	m0, _ := scrapeMetrics(ctx, httpAddr)
	res.BaselineRSSMiB = mib(base.RSS)

	start := time.Now()
	var next, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				if err := dial(ctx); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	res.ConnectSeconds = time.Since(start).Seconds()
	mu.Lock()
	res.Connected = len(clients)
	mu.Unlock()
	res.Failed = int(failed.Load())
	if e := firstErr.Load(); e != nil {
		log.printf("idle: %d of %d connections failed, first: %v", res.Failed, n, e)
	}
	log.printf("idle: %d connections in %.1f s", res.Connected, res.ConnectSeconds)
	sleep(ctx, 2*time.Second)
	cur, err := sampleProc(pid)
	if err != nil {
		return res, err
	}
	res.RSSMiB = mib(cur.RSS)
	if res.Connected > 0 {
		per := float64(res.Connected)
		res.PerConnKiB = float64(cur.RSS-base.RSS) / 1024 / per
		if m1, err := scrapeMetrics(ctx, httpAddr); err == nil && m0 != nil {
			res.ServerConnections = m1["rendercast_connections"]
			res.HeapPerConnKiB = (m1["go_memstats_heap_inuse_bytes"] - m0["go_memstats_heap_inuse_bytes"]) / 1024 / per
			res.StackPerConnKiB = (m1["go_memstats_stack_inuse_bytes"] - m0["go_memstats_stack_inuse_bytes"]) / 1024 / per
			res.GoroutinesPerConn = (m1["go_goroutines"] - m0["go_goroutines"]) / per
		}
	}
	// The server must still serve a player while holding them.
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if _, err := ttffOnce(pctx, rawURL, markerNone); err == nil {
		res.Alive = true
	} else {
		log.printf("idle: a player with %d idle connections open: %v", res.Connected, err)
	}
	return res, nil
}
