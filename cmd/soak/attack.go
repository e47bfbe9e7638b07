package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Attackers come from loopback addresses of their own (127.0.0.2, 127.0.0.3), so that a
// streamer that budgets per source address can tell them from the honest viewers on
// 127.0.0.1. Linux answers on all of 127.0.0.0/8 without set-up.
var (
	rtmpAttackerIP = net.IPv4(127, 0, 0, 2)
	whepAttackerIP = net.IPv4(127, 0, 0, 3)
)

// attack is the hostile traffic and what became of it.
type attack struct {
	wg sync.WaitGroup

	// RTMP: connections that never send a handshake.
	rtmpHeld       atomic.Int64 // open now
	rtmpOpened     atomic.Int64 // accepted by the kernel, in all
	rtmpCut        atomic.Int64 // closed by the streamer
	rtmpDialErrors atomic.Int64 // refused or failed dials

	// WHEP: offers that are never connected.
	whepCreated  atomic.Int64 // 201
	whepRefused  atomic.Int64 // any other status
	whepErrors   atomic.Int64 // no answer (timeout, reset)
	whepSkipped  atomic.Int64 // not sent: too many still in flight
	whepInFlight atomic.Int64
}

// maxWHEPInFlight bounds the flood's own outstanding requests, so that a streamer that
// stops answering does not make the soak pile up goroutines.
const maxWHEPInFlight = 64

func startAttack(ctx context.Context, rtmpAddr, httpAddr string, o options, offer string) *attack {
	at := &attack{}
	for range o.attackRTMP {
		at.wg.Add(1)
		go func() {
			defer at.wg.Done()
			at.rtmpNeverHandshake(ctx, rtmpAddr)
		}()
	}
	if o.attackWHEP > 0 {
		at.wg.Add(1)
		go func() {
			defer at.wg.Done()
			at.whepFlood(ctx, "http://"+httpAddr+"/whep/demo", o.attackWHEP, offer)
		}()
	}
	return at
}

func (at *attack) wait() { at.wg.Wait() }

// rtmpNeverHandshake keeps one connection open to the RTMP port without sending a byte,
// and opens another as soon as the streamer closes it (its handshake deadline), as an
// attacker filling connection slots would.
func (at *attack) rtmpNeverHandshake(ctx context.Context, addr string) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: rtmpAttackerIP}, Timeout: 5 * time.Second}
	for ctx.Err() == nil {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			if ctx.Err() == nil {
				at.rtmpDialErrors.Add(1)
				sleep(ctx, 200*time.Millisecond)
			}
			continue
		}
		at.rtmpOpened.Add(1)
		at.rtmpHeld.Add(1)
		opened := time.Now()
		stop := context.AfterFunc(ctx, func() { c.Close() })
		io.Copy(io.Discard, c) // the server sends nothing before C0 and C1: returns when it closes
		stop()
		c.Close()
		at.rtmpHeld.Add(-1)
		if ctx.Err() != nil {
			return
		}
		at.rtmpCut.Add(1)
		// Refused at once (a connection budget): retry at a pace that does not make the
		// soak itself the load.
		if time.Since(opened) < 100*time.Millisecond {
			sleep(ctx, 100*time.Millisecond)
		}
	}
}

// whepFlood posts perSecond WHEP offers a second and never connects any of them.
func (at *attack) whepFlood(ctx context.Context, url string, perSecond float64, offer string) {
	client := &http.Client{
		Timeout: 20 * time.Second,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{LocalAddr: &net.TCPAddr{IP: whepAttackerIP}, Timeout: 5 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 8,
		},
	}
	defer client.CloseIdleConnections()
	tick := time.NewTicker(time.Duration(float64(time.Second) / perSecond))
	defer tick.Stop()
	var posts sync.WaitGroup
	defer posts.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if at.whepInFlight.Load() >= maxWHEPInFlight {
			at.whepSkipped.Add(1)
			continue
		}
		at.whepInFlight.Add(1)
		posts.Add(1)
		go func() {
			defer posts.Done()
			defer at.whepInFlight.Add(-1)
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(offer))
			req.Header.Set("Content-Type", "application/sdp")
			resp, err := client.Do(req)
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, context.Canceled) {
					at.whepErrors.Add(1)
				}
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusCreated {
				at.whepCreated.Add(1)
			} else {
				at.whepRefused.Add(1)
			}
		}()
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
