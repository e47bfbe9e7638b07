package whep

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/rendercast/rendercast/avc"
)

// rateViewer feeds its session as a private session's encoder would, without encoding:
// frames of random bytes at 30 fps whose sizes make the bitrate it is set to (at most
// ceiling), a keyframe (five times a P-frame) when the session or the receiver asks. With
// follow, the bitrate follows Estimate with 0.85 headroom, as sessions do.
type rateViewer struct {
	s       *Session
	ceiling int
	follow  bool

	connected atomic.Bool
	bitrate   atomic.Int64
	estimates atomic.Int64 // Estimate calls
	lastEst   atomic.Int64
	keyWanted atomic.Int64 // KeyframeWanted calls
	keyframes atomic.Int64 // keyframes written
	frames    atomic.Int64 // frames written
	forceKey  atomic.Bool

	mu      sync.Mutex
	written map[time.Duration]time.Time // pts -> when written, for latency

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

func (v *rateViewer) Connected() {
	v.connected.Store(true)
	go v.feed()
}
func (v *rateViewer) Call(string, map[string]any) (any, error) { return nil, nil }
func (v *rateViewer) KeyframeWanted()                          { v.keyWanted.Add(1); v.forceKey.Store(true) }
func (v *rateViewer) Close() {
	v.once.Do(func() { close(v.stop) })
	if v.connected.Load() {
		<-v.done
	}
}

func (v *rateViewer) Estimate(bps int) {
	v.estimates.Add(1)
	v.lastEst.Store(int64(bps))
	if v.follow {
		v.bitrate.Store(int64(min(v.ceiling, bps*85/100)))
	}
}

func (v *rateViewer) feed() {
	defer close(v.done)
	config, _ := avc.ConfigRecord([][]byte{testSPS}, [][]byte{testPPS})
	tick := time.NewTicker(time.Second / 30)
	defer tick.Stop()
	start := time.Now()
	want := true
	for {
		select {
		case <-v.stop:
			return
		case <-tick.C:
		}
		size := int(v.bitrate.Load()) / 8 / 30
		key := v.forceKey.Swap(false) || want
		nal := make([]byte, size)
		rand.Read(nal)
		nal[0] = 0x41 // P slice
		f := &avc.Frame{PTS: time.Since(start)}
		if key {
			nal = make([]byte, 5*size)
			rand.Read(nal)
			nal[0] = 0x65 // IDR
			f.Keyframe, f.Config = true, config
			v.keyframes.Add(1)
		}
		f.NALUs = avc.AppendAVCC(nil, [][]byte{nal})
		v.mu.Lock()
		v.written[f.PTS] = time.Now()
		v.mu.Unlock()
		want = v.s.WriteFrame(f)
		v.frames.Add(1)
	}
}

// writtenAt returns when the frame of RTP time ts (the session's base removed) was written.
func (v *rateViewer) writtenAt(pts time.Duration) (time.Time, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	// RTP time has 1/90000 s steps: find the frame within one.
	for d := -time.Millisecond; d <= time.Millisecond; d += time.Millisecond / 2 {
		if t, ok := v.written[pts+d]; ok {
			return t, true
		}
	}
	for p, t := range v.written {
		if p-pts < 20*time.Microsecond && pts-p < 20*time.Microsecond {
			return t, true
		}
	}
	return time.Time{}, false
}

// relay carries a peer connection's UDP between a client and the server like a link: the
// client's packets go to the server as they come, the server's go through a token bucket
// of rate bits/s whose queue holds at most maxDelay (beyond, packets are dropped, as
// tc's tbf does), and drop may drop media packets the first time they pass.
type relay struct {
	down, up *net.UDPConn // facing the client, facing the server
	server   *net.UDPAddr
	client   atomic.Pointer[net.UDPAddr]
	rate     int
	maxDelay time.Duration
	drop     func(h *rtp.Header) bool
	rtxPT    uint8

	mu       sync.Mutex
	seen     map[uint16]bool // media sequence numbers passed on or dropped
	dropped  []uint16
	nextFree time.Time

	rtx, overflow atomic.Int64
	queue         chan timedPacket
	wg            sync.WaitGroup
}

type timedPacket struct {
	b  []byte
	at time.Time
}

func newRelay(t *testing.T, server *net.UDPAddr, rate int, maxDelay time.Duration, drop func(*rtp.Header) bool) *relay {
	t.Helper()
	loop := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	down, err := net.ListenUDP("udp4", loop)
	if err != nil {
		t.Fatal(err)
	}
	up, err := net.ListenUDP("udp4", loop)
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{down: down, up: up, server: server, rate: rate, maxDelay: maxDelay, drop: drop, rtxPT: uint8(rtxCodec.PayloadType),
		seen: map[uint16]bool{}, queue: make(chan timedPacket, 4096)}
	r.wg.Add(3)
	go r.fromClient()
	go r.fromServer()
	go r.send()
	t.Cleanup(func() {
		down.Close()
		up.Close()
		r.wg.Wait()
	})
	return r
}

func (r *relay) fromClient() {
	defer r.wg.Done()
	b := make([]byte, 2048)
	for {
		n, from, err := r.down.ReadFromUDP(b)
		if err != nil {
			return
		}
		r.client.Store(from)
		r.up.WriteToUDP(b[:n], r.server)
	}
}

func (r *relay) fromServer() {
	defer r.wg.Done()
	defer close(r.queue)
	for {
		b := make([]byte, 2048)
		n, _, err := r.up.ReadFromUDP(b)
		if err != nil {
			return
		}
		b = b[:n]
		now := time.Now()
		r.mu.Lock()
		// RTP (not RTCP: payload types 64-95 with the marker bit are RTCP's 192-223).
		if n > 12 && b[0]>>6 == 2 && (b[1] < 192 || b[1] > 223) {
			var h rtp.Header
			if _, err := h.Unmarshal(b); err == nil {
				if h.PayloadType == r.rtxPT {
					r.rtx.Add(1)
				} else if !r.seen[h.SequenceNumber] {
					r.seen[h.SequenceNumber] = true
					if r.drop != nil && r.drop(&h) {
						r.dropped = append(r.dropped, h.SequenceNumber)
						r.mu.Unlock()
						continue
					}
				}
			}
		}
		at := now
		if r.rate > 0 {
			at = r.nextFree
			if at.Before(now) {
				at = now
			}
			if at.Sub(now) > r.maxDelay {
				r.overflow.Add(1)
				r.mu.Unlock()
				continue
			}
			r.nextFree = at.Add(time.Duration(len(b)*8) * time.Second / time.Duration(r.rate))
		}
		r.mu.Unlock()
		select {
		case r.queue <- timedPacket{b, at}:
		default:
			r.overflow.Add(1)
		}
	}
}

func (r *relay) send() {
	defer r.wg.Done()
	for p := range r.queue {
		if d := time.Until(p.at); d > 0 {
			time.Sleep(d)
		}
		if c := r.client.Load(); c != nil {
			r.down.WriteToUDP(p.b, c)
		}
	}
}

func (r *relay) droppedSeqs() []uint16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]uint16(nil), r.dropped...)
}

// ccClient is a pion peer with the interceptors a browser has (receiver reports; NACKs
// when nack, transport-cc feedback when twcc), offering RTX when rtx. It reads the video through
// a relay and records what arrives.
type ccClient struct {
	pc     *webrtc.PeerConnection
	relay  *relay
	answer string
	ssrc   atomic.Uint32

	mu      sync.Mutex
	seqs    map[uint16]bool
	arrived []arrival // frames (marker packets)
}

type arrival struct {
	ts uint32
	at time.Time
}

// testPeer makes a receive-only pion peer on loopback with receiver reports, NACKs when
// nack, transport-cc feedback when twcc and RTX offered when rtx.
func testPeer(tb testing.TB, twcc, nack, rtx bool) *webrtc.PeerConnection {
	tb.Helper()
	m := &webrtc.MediaEngine{}
	codecs := []webrtc.RTPCodecParameters{h264Codec}
	if rtx {
		codecs = append(codecs, rtxCodec)
	}
	for _, c := range codecs {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			tb.Fatal(err)
		}
	}
	reg := &interceptor.Registry{}
	if nack {
		if err := webrtc.ConfigureNack(m, reg); err != nil {
			tb.Fatal(err)
		}
	}
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		tb.Fatal(err)
	}
	if twcc {
		if err := webrtc.ConfigureTWCCSender(m, reg); err != nil {
			tb.Fatal(err)
		}
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		tb.Fatal(err)
	}
	return pc
}

func newCCClient(t *testing.T, twcc, nack, rtx bool) *ccClient {
	t.Helper()
	pc := testPeer(t, twcc, nack, rtx)
	t.Cleanup(func() { pc.Close() })
	c := &ccClient{pc: pc, seqs: map[uint16]bool{}}
	pc.OnTrack(func(tr *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		c.ssrc.Store(uint32(tr.SSRC()))
		go func() { // the sender reports reach the interceptors (the round trip needs them)
			for {
				if _, _, err := recv.ReadRTCP(); err != nil {
					return
				}
			}
		}()
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			c.mu.Lock()
			if !c.seqs[p.SequenceNumber] {
				c.seqs[p.SequenceNumber] = true
				if p.Marker {
					c.arrived = append(c.arrived, arrival{p.Timestamp, time.Now()})
				}
			}
			c.mu.Unlock()
		}
	})
	return c
}

var hostCandidate = regexp.MustCompile(`(a=candidate:\S+ \d udp \d+ 127\.0\.0\.1 )(\d+)( typ host)`)

// connect offers to the fixture's server and connects through a relay of rate bits/s
// (0: unlimited): the server's one candidate is replaced by the relay's address.
func (c *ccClient) connect(t *testing.T, fx *fixture, rate int, drop func(*rtp.Header) bool) {
	t.Helper()
	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	// Without the client's candidates, the server knows the client only as the relay's
	// address: no direct path can win.
	offerSDP := regexp.MustCompile(`(?m)^a=candidate:.*\r?\n`).ReplaceAllString(c.pc.LocalDescription().SDP, "")
	resp, answer := post(t, fx.http.URL+"/whep/demo", "application/sdp", offerSDP, nil)
	if resp.StatusCode != 201 {
		t.Fatalf("offer: %d %s", resp.StatusCode, answer)
	}
	found := hostCandidate.FindAllStringSubmatch(answer, -1)
	if len(found) == 0 || len(found) != strings.Count(answer, "a=candidate:") {
		t.Fatalf("answer has %d loopback host candidates, want them all:\n%s", len(found), answer)
	}
	for _, f := range found {
		if f[2] != found[0][2] {
			t.Fatalf("answer has candidates on ports %s and %s, want one", f[2], found[0][2])
		}
	}
	port, _ := strconv.Atoi(found[0][2])
	c.relay = newRelay(t, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}, rate, 100*time.Millisecond, drop)
	answer = hostCandidate.ReplaceAllString(answer, "${1}"+strconv.Itoa(c.relay.down.LocalAddr().(*net.UDPAddr).Port)+"${3}")
	c.answer = answer
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
}

// frames returns the frames that arrived from since on.
func (c *ccClient) frames(since time.Time) []arrival {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []arrival
	for _, a := range c.arrived {
		if !a.at.Before(since) {
			out = append(out, a)
		}
	}
	return out
}

func (c *ccClient) received(seq uint16) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seqs[seq]
}

// newRateFixture serves WHEP on loopback with rateViewers of the given ceiling.
func newRateFixture(t *testing.T, cfg Config, ceiling int, follow bool) (*fixture, func() *rateViewer) {
	t.Helper()
	var mu sync.Mutex
	var viewers []*rateViewer
	cfg.Viewers = ViewerFactoryFunc(func(s *Session) (Viewer, error) {
		v := &rateViewer{s: s, ceiling: ceiling, follow: follow, written: map[time.Duration]time.Time{},
			stop: make(chan struct{}), done: make(chan struct{})}
		v.bitrate.Store(int64(ceiling))
		mu.Lock()
		viewers = append(viewers, v)
		mu.Unlock()
		return v, nil
	})
	cfg.LocalIPs = []net.IP{net.IPv4(127, 0, 0, 1)}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{srv: srv, http: httptest.NewServer(srv.Handler())}
	t.Cleanup(func() {
		fx.http.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return fx, func() *rateViewer {
		mu.Lock()
		defer mu.Unlock()
		if len(viewers) == 0 {
			t.Fatal("no viewer")
		}
		return viewers[len(viewers)-1]
	}
}

func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, timeout)
		}
	}
}

// latencies returns the write-to-arrival delay of each frame that arrived from since on.
func latencies(v *rateViewer, c *ccClient, tsBase uint32, since time.Time) []time.Duration {
	var out []time.Duration
	for _, a := range c.frames(since) {
		pts := time.Duration(a.ts-tsBase) * time.Second / h264ClockRate
		if w, ok := v.writtenAt(pts); ok {
			out = append(out, a.at.Sub(w))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// A client that negotiates transport-cc reads through a link, with an encoder that
// follows the estimate (with 0.85 headroom, from a 3 Mbit/s ceiling; the estimate starts
// at 1 Mbit/s). Behind 500 kbit/s the estimate falls to the link; unthrottled it rises
// above its start. Either way the viewer is told a throttled few estimates (not one per
// packet), frames arrive at the full frame rate without a keyframe in steady state, the
// pacer's queue stays short and the write-to-arrival latency low.
//
// The client sends no NACKs here: pion's receiver asks again for packets still on their
// way (its NACK interval is fixed at 100 ms, shorter than the link's queue), and the
// duplicates that then arrive are dropped by SRTP replay protection before its
// transport-cc feedback counts them, or, on RTX, read after its interceptors: either way
// reported lost, which sinks the loss-based estimate. Browsers wait a round trip before
// asking and count RTX packets. TestNACKRetransmission covers NACKs.
func TestTransportCCEstimateFollowsTheLink(t *testing.T) {
	const ceiling = 3_000_000
	for _, tc := range []struct {
		name string
		link int // bits/s, 0: unlimited
	}{{"500kbps", 500_000}, {"unlimited", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			fx, viewer := newRateFixture(t, Config{MaxBitrate: ceiling}, ceiling, true)
			c := newCCClient(t, true, false, false)
			c.connect(t, fx, tc.link, nil)
			waitFor(t, "video", 20*time.Second, func() bool { return len(c.frames(time.Time{})) > 0 })
			v := viewer()
			sess := fx.srv.Sessions()[0]
			if st := sess.Stats(); !st.TransportCC || st.RTX {
				t.Fatalf("transport-cc not negotiated, or RTX: %+v", st)
			}
			// What a browser needs to send transport-cc feedback.
			for _, want := range []string{"a=rtcp-fb:102 transport-cc", "transport-wide-cc-extensions-01"} {
				if !strings.Contains(c.answer, want) {
					t.Fatalf("answer lacks %q:\n%s", want, c.answer)
				}
			}
			if tc.link > 0 {
				waitFor(t, "an estimate at the link", 30*time.Second, func() bool {
					e := v.lastEst.Load()
					return e > 0 && e <= int64(tc.link)*12/10
				})
			}
			time.Sleep(4 * time.Second) // settling
			keysBefore, written, from := v.keyframes.Load(), v.frames.Load(), time.Now()
			time.Sleep(8 * time.Second)
			written = v.frames.Load() - written
			st := sess.Stats()
			got := len(c.frames(from))
			lat := latencies(v, c, sess.track.tsBase, from)
			if len(lat) < got/2 || len(lat) == 0 {
				t.Fatalf("latency of %d frames matched, of %d", len(lat), got)
			}
			p50, p95 := lat[len(lat)/2], lat[len(lat)*95/100]
			t.Logf("link %d: estimate %d bit/s (told %d, %d times), encoder %d bit/s, %d frames in 8 s (%d written), write-to-arrival median %v p95 %v, pacer delay %.1f ms (max %.1f), relay overflow %d, rtt %.1f ms, nacks %d, resent %d",
				tc.link, st.EstimateBps, v.lastEst.Load(), v.estimates.Load(), v.bitrate.Load(), got, written, p50, p95, st.PacerDelayMs, st.PacerDelayMaxMs, c.relay.overflow.Load(), st.RTTMs, st.NACKs, st.RetransmittedPackets)
			told := v.lastEst.Load()
			switch {
			case tc.link > 0 && (told < DefaultMinBitrate || told > int64(tc.link)*3/2):
				t.Errorf("viewer told %d bit/s behind a %d bit/s link", told, tc.link)
			case tc.link == 0 && told <= DefaultStartBitrate:
				t.Errorf("viewer told %d bit/s on an unlimited path: the estimate did not rise from its start", told)
			}
			if n := v.estimates.Load(); n == 0 || uint64(n) > st.PacketsSent/20 {
				t.Errorf("viewer told %d estimates for %d packets: want a throttled few", n, st.PacketsSent)
			}
			// Frames written in the last few milliseconds may still be on their way.
			if got < int(written)*9/10 || written < 8*30/2 {
				t.Errorf("%d frames arrived in 8 s of %d written (30 fps: 240)", got, written)
			}
			if k := v.keyframes.Load() - keysBefore; k > 0 {
				t.Errorf("%d keyframes in steady state, want none (session drops %d)", k, st.FramesDropped)
			}
			if st.PacerDelayMaxMs > 2000 || p50 > time.Second {
				t.Errorf("packets waited up to %.0f ms in the pacer, frames %v (median) from write to arrival", st.PacerDelayMaxMs, p50)
			}
			if st.RTTMs <= 0 {
				t.Errorf("no round trip measured: %+v", st)
			}
		})
	}
}

// A client without transport-cc that sends REMB itself: the viewer follows REMB, the
// sender's estimate is not used and the pacer does not hold packets.
func TestREMBWithoutTransportCC(t *testing.T) {
	fx, viewer := newRateFixture(t, Config{MaxBitrate: 2_000_000}, 1_000_000, true)
	c := newCCClient(t, false, true, false)
	c.connect(t, fx, 0, nil)
	waitFor(t, "video", 20*time.Second, func() bool { return len(c.frames(time.Time{})) > 10 })
	v := viewer()
	for _, bps := range []float32{700_000, 1_500_000} {
		if err := c.pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: bps, SSRCs: []uint32{c.ssrc.Load()}}}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, fmt.Sprintf("estimate %.0f", bps), 10*time.Second, func() bool { return v.lastEst.Load() == int64(bps) })
	}
	time.Sleep(time.Second)
	if strings.Contains(c.answer, "transport-cc") {
		t.Errorf("answer to an offer without transport-cc has it:\n%s", c.answer)
	}
	st := fx.srv.Sessions()[0].Stats()
	if st.TransportCC || st.EstimateBps != 0 || st.REMBBps != 1_500_000 || st.REMB != 2 {
		t.Errorf("stats %+v: want REMB 1.5 Mbit/s, no transport-cc", st)
	}
	if st.PacerDelayMaxMs != 0 {
		t.Errorf("packets waited %.1f ms in the pacer without transport-cc", st.PacerDelayMaxMs)
	}
	if v.estimates.Load() != 2 {
		t.Errorf("viewer told %d estimates, want the 2 REMBs", v.estimates.Load())
	}
}

// Media packets dropped on the way are asked for again (NACK) and resent: on the RTX
// stream when the client offered RTX, as the same packets otherwise; the client ends with
// every one of them.
func TestNACKRetransmission(t *testing.T) {
	for _, rtx := range []bool{true, false} {
		t.Run(fmt.Sprintf("rtx=%v", rtx), func(t *testing.T) {
			fx, _ := newRateFixture(t, Config{}, 600_000, false)
			c := newCCClient(t, true, true, rtx)
			var n atomic.Int64
			c.connect(t, fx, 0, func(*rtp.Header) bool { return n.Add(1)%40 == 0 })
			waitFor(t, "10 dropped packets", 30*time.Second, func() bool { return len(c.relay.droppedSeqs()) >= 10 })
			dropped := c.relay.droppedSeqs()[:10]
			waitFor(t, "the dropped packets resent", 20*time.Second, func() bool {
				for _, seq := range dropped {
					if !c.received(seq) {
						return false
					}
				}
				return true
			})
			st := fx.srv.Sessions()[0].Stats()
			t.Logf("stats %+v, relay saw %d RTX packets", st, c.relay.rtx.Load())
			if st.NACKs < 10 || st.RetransmittedPackets < 10 || st.RTX != rtx {
				t.Errorf("stats %+v: want >= 10 NACKs and retransmissions, rtx %v", st, rtx)
			}
			if ss := fx.srv.Stats(); ss.NACKs < st.NACKs || ss.RetransmittedPackets < st.RetransmittedPackets {
				t.Errorf("server stats %+v: want the session's NACKs and retransmissions counted", ss)
			}
			if got := c.relay.rtx.Load(); (got >= 10) != rtx {
				t.Errorf("%d packets on the RTX stream, rtx negotiated %v", got, rtx)
			}
		})
	}
}

// A storm of PLIs (one every 5 ms for a second) passes on about one keyframe request per
// round trip (here the 50 ms floor: loopback's round trip is shorter), the rest counted as
// ignored.
func TestPLIStormOncePerRoundTrip(t *testing.T) {
	fx, viewer := newRateFixture(t, Config{}, 300_000, false)
	c := newCCClient(t, false, true, false)
	c.connect(t, fx, 0, nil)
	sess := func() *Session { return fx.srv.Sessions()[0] }
	waitFor(t, "a round trip measured", 20*time.Second, func() bool {
		return len(fx.srv.Sessions()) == 1 && sess().Stats().RTTMs > 0
	})
	v := viewer()
	before := v.keyWanted.Load()
	const storm = 200
	began := time.Now()
	for range storm {
		if err := c.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: c.ssrc.Load()}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	lasted := time.Since(began)
	waitFor(t, "every PLI counted", 10*time.Second, func() bool { return sess().Stats().PLI == storm })
	st := sess().Stats()
	passed := v.keyWanted.Load() - before
	t.Logf("%d PLIs in %v: %d passed on, %d ignored, rtt %.2f ms", storm, lasted.Round(time.Millisecond), passed, st.PLIIgnored, st.RTTMs)
	// At most one per 50 ms of the storm, plus slack for its end, and at least a few.
	if passed < 3 || passed > int64(lasted/rttFloor)+3 || uint64(passed)+st.PLIIgnored != storm {
		t.Errorf("%d of %d PLIs passed on (%d ignored)", passed, storm, st.PLIIgnored)
	}
	if ss := fx.srv.Stats(); ss.PLIIgnored != st.PLIIgnored {
		t.Errorf("server counts %d PLIs ignored, the session %d", ss.PLIIgnored, st.PLIIgnored)
	}
}
