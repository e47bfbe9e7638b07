package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rendercast/rendercast/rtmpclient"
)

// Per-address budgets against the real binary: one address's attack leaves the others
// served, and one address's hundred honest viewers all play. Addresses are loopback
// aliases (127.0.0.x are all local on Linux): attackers dial from theirs; clients that
// cannot choose their address (ffmpeg, the RTMP and WHEP test clients) go through a relay
// that dials the streamer from one, as a NAT would.

// relayFrom listens on 127.0.0.1 and forwards each connection to target, dialled from the
// local address from, so that the streamer sees its clients at from.
func relayFrom(t *testing.T, from, target string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var open []net.Conn
	var wg sync.WaitGroup
	track := func(c net.Conn) {
		mu.Lock()
		open = append(open, c)
		mu.Unlock()
	}
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			track(c)
			wg.Go(func() {
				d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
				u, err := d.Dial("tcp", target)
				if err != nil {
					c.Close()
					return
				}
				track(u)
				done := make(chan struct{}, 2)
				pipe := func(dst, src net.Conn) {
					io.Copy(dst, src)
					done <- struct{}{}
				}
				go pipe(u, c)
				go pipe(c, u)
				<-done // either side ending ends both
				c.Close()
				u.Close()
				<-done
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// refusedMetric returns rendercast_refused_total for a transport and reason.
func refusedMetric(t *testing.T, rs *runningStreamer, transport, reason string) float64 {
	t.Helper()
	return metric(t, rs, fmt.Sprintf(`rendercast_refused_total{reason=%q,transport=%q}`, reason, transport))
}

// stallAttack opens RTMP connections from one address that send the handshake's first
// packet (C0+C1) and never finish it: first burst at once, then re-opening closed ones at
// most perSecond a second, as an attacker keeping the server's places taken would. It
// counts how many of its connections the server answered (S0 arrived) at the same time:
// the places it holds.
type stallAttack struct {
	from, addr string

	start                               time.Time
	dialled, answered, closedUnanswered atomic.Int64
	answeredEarly                       atomic.Int64 // within 4 s of the start: before any handshake deadline
	stop                                chan struct{}
	wg                                  sync.WaitGroup
}

func startStallAttack(t *testing.T, from, addr string, burst int, perSecond float64) *stallAttack {
	a := &stallAttack{from: from, addr: addr, stop: make(chan struct{}), start: time.Now()}
	slots := make(chan struct{}, burst)
	for range burst {
		slots <- struct{}{}
	}
	a.wg.Go(func() {
		tick := time.NewTicker(time.Duration(float64(time.Second) / perSecond))
		defer tick.Stop()
		first := burst
		for {
			select {
			case <-a.stop:
				return
			case <-slots:
			}
			if first > 0 {
				first--
			} else {
				select {
				case <-a.stop:
					return
				case <-tick.C:
				}
			}
			a.wg.Go(func() {
				defer func() { slots <- struct{}{} }()
				a.one()
			})
		}
	})
	t.Cleanup(a.end)
	return a
}

func (a *stallAttack) one() {
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(a.from)}}
	nc, err := d.Dial("tcp", a.addr)
	if err != nil {
		return
	}
	defer nc.Close()
	a.dialled.Add(1)
	stopped := context.AfterFunc(stopContext(a.stop), func() { nc.Close() })
	defer stopped()
	c0c1 := make([]byte, 1537)
	c0c1[0] = 3
	rand.Read(c0c1[9:])
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	nc.Write(c0c1)
	buf := make([]byte, 4096)
	n, err := nc.Read(buf)
	if n == 0 || err != nil {
		a.closedUnanswered.Add(1)
		return
	}
	a.answered.Add(1)
	if time.Since(a.start) < 4*time.Second {
		a.answeredEarly.Add(1)
	}
	io.Copy(io.Discard, nc) // until the server's handshake deadline closes it
}

func (a *stallAttack) end() {
	select {
	case <-a.stop:
	default:
		close(a.stop)
	}
	a.wg.Wait()
}

// stopContext is a context cancelled when stop closes.
func stopContext(stop chan struct{}) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-stop
		cancel()
	}()
	return ctx
}

// timeToFirstFrame plays url with the project's RTMP client and returns the time from the
// dial to the first decoded picture (checked to be 160x120).
func timeToFirstFrame(t *testing.T, url string) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	v := newViewer(t, ctx, url, rtmpclient.Options{})
	img := v.Next(ctx)
	ttff := time.Since(start)
	if b := img.Bounds(); b.Dx() != 160 || b.Dy() != 120 {
		t.Fatalf("picture %v, want 160x120", b)
	}
	for range 5 {
		v.Next(ctx)
	}
	v.C.Close()
	return ttff
}

// ffmpegFrames decodes frames of url with ffmpeg and returns how many whole 160x120 I420
// pictures it wrote.
func ffmpegFrames(t *testing.T, url string, frames int) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-loglevel", "error", "-rw_timeout", "20000000", "-i", url,
		"-frames:v", fmt.Sprint(frames), "-f", "rawvideo", "-pix_fmt", "yuv420p", "-")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", url, err, stderr.String())
	}
	return len(out) / (160 * 120 * 3 / 2)
}

// One address opening 150 stalled RTMP connections at once, then re-opening them at 50 a
// second, holds no more than its budget of pending places (16), the rest are refused (rate)
// or wait; a viewer from another address plays at once meanwhile, with the project's client
// and with ffmpeg.
func TestGuardRTMPStalledHandshakesFromOneAddress(t *testing.T) {
	rs := startStreamer(t, "-size", "160x120", "-fps", "10")
	viewer := relayFrom(t, "127.0.0.3", rs.rtmpAddr)
	before := timeToFirstFrame(t, "rtmp://"+viewer+"/live/demo")

	attack := startStallAttack(t, "127.0.0.2", rs.rtmpAddr, 150, 50)
	var maxPending atomic.Int64
	sampled := make(chan struct{})
	go func() { // the server's count of the attacker's places, through the attack
		defer close(sampled)
		for {
			select {
			case <-attack.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if p := int64(metric(t, rs, `rendercast_pending_clients{transport="rtmp"}`)); p > maxPending.Load() {
				maxPending.Store(p)
			}
		}
	}()
	waitMetric(t, rs, `rendercast_pending_clients{transport="rtmp"}`, func(v float64) bool { return v == 16 })
	during := timeToFirstFrame(t, "rtmp://"+viewer+"/live/demo")
	if n := ffmpegFrames(t, "rtmp://"+viewer+"/live/demo", 10); n != 10 {
		t.Fatalf("ffmpeg from another address decoded %d frames during the attack, want 10", n)
	}
	time.Sleep(6 * time.Second) // past the handshake deadline: the attacker re-opens
	again := timeToFirstFrame(t, "rtmp://"+viewer+"/live/demo")
	attack.end()
	<-sampled

	t.Logf("time to first frame from 127.0.0.3: %v before the attack, %v and %v during it", before.Round(time.Millisecond),
		during.Round(time.Millisecond), again.Round(time.Millisecond))
	t.Logf("attacker: %d connections, %d answered (%d in the first 4 s), %d closed unanswered; at most %d pending on the server",
		attack.dialled.Load(), attack.answered.Load(), attack.answeredEarly.Load(), attack.closedUnanswered.Load(), maxPending.Load())
	if n := attack.answeredEarly.Load(); n != 16 {
		t.Fatalf("%d of the attacker's handshakes answered before the first deadline, want its budget of 16", n)
	}
	if m := maxPending.Load(); m > 17 { // the attacker's 16, and at times the viewer's connection
		t.Fatalf("up to %d RTMP connections pending during the attack, want the attacker's budget of 16 (+ the viewer)", m)
	}
	if r := refusedMetric(t, rs, "rtmp", "rate"); r < 30 {
		t.Fatalf("rendercast_refused_total rate = %v, want >= 30 (150 at once against bursts of 120)", r)
	}
	if r := refusedMetric(t, rs, "rtmp", "address"); r < 1 {
		t.Fatalf("rendercast_refused_total address = %v, want the connections that waited in vain", r)
	}
	// Refusals are logged once per address and interval, not per connection.
	lines := 0
	for _, l := range logLines(t, rs) {
		if l["msg"] == "clients refused: per-address budget" {
			lines++
			if l["addr"] != "127.0.0.2" || l["transport"] != "rtmp" {
				t.Errorf("refusal line %v, want the attacker's address", l)
			}
		}
	}
	refused := refusedMetric(t, rs, "rtmp", "rate") + refusedMetric(t, rs, "rtmp", "address")
	if lines < 1 || lines > 4 {
		t.Fatalf("%d refusal lines for %v refusals in about 15 s, want one per 10 s", lines, refused)
	}
}

// One address POSTing 110 WHEP offers at once and never connecting gets its budget of 8
// sessions and 429 for the rest (after waiting for a place); a browser-like viewer from
// another address gets 201 and video meanwhile.
func TestGuardWHEPOffersFromOneAddress(t *testing.T) {
	rs := startStreamer(t, "-size", "160x120", "-fps", "10")
	attacker := relayFrom(t, "127.0.0.2", rs.httpAddr)
	viewer := relayFrom(t, "127.0.0.3", rs.httpAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ttff := func() time.Duration {
		start := time.Now()
		c := dialWHEPURL(t, "http://"+viewer+"/whep/demo", nil) // fails the test unless 201
		img := c.next(ctx)
		d := time.Since(start)
		if b := img.Bounds(); b.Dx() != 160 || b.Dy() != 120 {
			t.Fatalf("picture %v, want 160x120", b)
		}
		c.pc.Close()
		return d
	}
	before := ttff()

	_, _, offer := whepOffer(t, newWHEPAPI(t))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 200}, Timeout: 60 * time.Second}
	var mu sync.Mutex
	codes := map[int]int{}
	retryAfter := ""
	var wg sync.WaitGroup
	for range 110 {
		wg.Go(func() {
			resp, err := client.Post("http://"+attacker+"/whep/demo", "application/sdp", strings.NewReader(offer))
			code := -1
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				code = resp.StatusCode
			}
			mu.Lock()
			codes[code]++
			if code == http.StatusTooManyRequests {
				retryAfter = resp.Header.Get("Retry-After")
			}
			mu.Unlock()
		})
	}
	waitMetric(t, rs, `rendercast_pending_clients{transport="webrtc"}`, func(v float64) bool { return v == 8 })
	during := ttff()
	wg.Wait()

	t.Logf("time to first frame from 127.0.0.3: %v before the attack, %v during it; attacker's answers %v",
		before.Round(time.Millisecond), during.Round(time.Millisecond), codes)
	if codes[http.StatusCreated] != 8 || codes[http.StatusTooManyRequests] != 102 {
		t.Fatalf("attacker's answers %v, want 8 x 201 (its budget) and 102 x 429", codes)
	}
	if retryAfter == "" {
		t.Error("429 without Retry-After")
	}
	if r := refusedMetric(t, rs, "webrtc", "address"); r != 102 {
		t.Fatalf("rendercast_refused_total webrtc address = %v, want 102", r)
	}
	// The attacker's sessions never connect: they are closed after 10 s, their places freed.
	deadline := time.Now().Add(30 * time.Second)
	for metric(t, rs, `rendercast_pending_clients{transport="webrtc"}`) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the unconnected sessions were not closed within 30 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// A hundred viewers behind one address (an office's NAT) connect at once and all play: the
// budgets bound what an address holds before its clients are viewers, not its viewers.
func TestGuardHundredViewersFromOneAddress(t *testing.T) {
	rs := startStreamer(t, "-size", "160x120", "-fps", "10", "-session", "office=demo")
	office := relayFrom(t, "127.0.0.2", rs.rtmpAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	const n = 100
	var played atomic.Int32
	errs := make(chan error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for range n {
		wg.Go(func() {
			c, err := rtmpclient.Dial(ctx, "rtmp://"+office+"/live/demo", rtmpclient.Options{Timeout: 60 * time.Second})
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			id, err := c.CreateStream(ctx)
			if err == nil {
				err = c.Play(ctx, id, "demo?session=office")
			}
			for frames := 0; err == nil && frames < 3; {
				var m *rtmpclient.VideoMessage
				if m, err = c.ReadVideo(ctx); err == nil && m.AVCPacketType == rtmpclient.AVCNALU && len(m.Payload) > 0 {
					frames++
				}
			}
			if err != nil {
				errs <- err
				return
			}
			if played.Add(1) == n {
				t.Logf("%d viewers from one address playing %v after they started", n, time.Since(start).Round(time.Millisecond))
			}
			<-ctx.Done() // keep watching until all have played
		})
	}
	waitDone := make(chan struct{})
	go func() {
		for played.Load() < n && len(errs) == 0 && ctx.Err() == nil {
			time.Sleep(50 * time.Millisecond)
		}
		close(waitDone)
	}()
	<-waitDone
	if played.Load() == n {
		waitSessions(t, rs, "100 viewers of office", func(l []sessionEntry) bool { return hasViewers(l, "office", n) })
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("a viewer: %v", err)
		}
	}
	if p := played.Load(); p != n {
		t.Fatalf("%d of %d viewers from one address played", p, n)
	}
	for _, reason := range []string{"rate", "address", "total", "evicted", "full", "idle"} {
		if r := refusedMetric(t, rs, "rtmp", reason); r != 0 {
			t.Errorf("rendercast_refused_total %s = %v, want 0", reason, r)
		}
	}
}

// With small budgets: a trusted network is exempt; when every pending place is taken by
// two addresses' stalled handshakes, a viewer from a third address evicts the newest of
// the address holding the most and plays.
func TestGuardTrustedNetsAndEviction(t *testing.T) {
	rs := startStreamer(t, "-size", "160x120", "-fps", "10", "-rtmp-pending-per-addr", "3", "-rtmp-pending", "5",
		"-trusted-nets", "127.0.0.4/32,::1")
	stall := func(from string, n int) (answered int) {
		var conns []net.Conn
		for range n {
			d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
			nc, err := d.Dial("tcp", rs.rtmpAddr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { nc.Close() })
			c0c1 := make([]byte, 1537)
			c0c1[0] = 3
			nc.Write(c0c1)
			conns = append(conns, nc)
		}
		for _, nc := range conns {
			nc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			if _, err := io.ReadFull(nc, make([]byte, 3073)); err == nil {
				answered++
			}
		}
		return answered
	}
	if a := stall("127.0.0.4", 10); a != 10 {
		t.Fatalf("%d of 10 stalled handshakes from a trusted address answered, want all", a)
	}
	if a := stall("127.0.0.2", 5); a != 3 {
		t.Fatalf("%d of 5 stalled handshakes from 127.0.0.2 answered, want its budget of 3", a)
	}
	if a := stall("127.0.0.5", 2); a != 2 {
		t.Fatalf("%d of 2 stalled handshakes from 127.0.0.5 answered, want 2 (5 places in all)", a)
	}
	if p := metric(t, rs, `rendercast_pending_clients{transport="rtmp"}`); p != 5 {
		t.Fatalf("rendercast_pending_clients = %v, want 5 (trusted ones not counted)", p)
	}
	viewer := relayFrom(t, "127.0.0.3", rs.rtmpAddr)
	ttff := timeToFirstFrame(t, "rtmp://"+viewer+"/live/demo")
	if r := refusedMetric(t, rs, "rtmp", "evicted"); r != 1 {
		t.Fatalf("rendercast_refused_total evicted = %v, want 1 (the newest of 127.0.0.2)", r)
	}
	t.Logf("time to first frame with every pending place taken: %v", ttff.Round(time.Millisecond))
}

// logLines returns the streamer's log lines so far, each line's fields as text.
func logLines(t *testing.T, rs *runningStreamer) []map[string]string {
	t.Helper()
	b, err := os.ReadFile(rs.logPath)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, line := range strings.Split(string(b), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		s := map[string]string{}
		for k, v := range m {
			s[k] = fmt.Sprint(v)
		}
		out = append(out, s)
	}
	return out
}
