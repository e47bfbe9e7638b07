package whep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/rendercast/rendercast/avc"
)

// fakeEncoder produces tiny access units: an IDR (with the configuration record on the
// first) when a keyframe is due, P-frames otherwise.
type fakeEncoder struct {
	mu        sync.Mutex
	n         int
	wantKey   bool
	keyframes int
	requests  atomic.Int64
	bitrates  []int
	closed    atomic.Bool
}

func (e *fakeEncoder) Encode(img image.Image, pts time.Duration) (*avc.Frame, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := &avc.Frame{PTS: pts, DTS: pts}
	if e.n == 0 || e.wantKey {
		f.Keyframe = true
		f.NALUs = avc.AppendAVCC(nil, [][]byte{testIDR})
		e.keyframes++
		e.wantKey = false
	} else {
		f.NALUs = avc.AppendAVCC(nil, [][]byte{testP})
	}
	if e.n == 0 {
		f.Config, _ = avc.ConfigRecord([][]byte{testSPS}, [][]byte{testPPS})
	}
	e.n++
	return f, nil
}

func (e *fakeEncoder) RequestKeyframe() {
	e.requests.Add(1)
	e.mu.Lock()
	e.wantKey = true
	e.mu.Unlock()
}

func (e *fakeEncoder) SetBitrate(bps int) error {
	e.mu.Lock()
	e.bitrates = append(e.bitrates, bps)
	e.mu.Unlock()
	return nil
}

func (e *fakeEncoder) lastBitrate() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.bitrates) == 0 {
		return 0
	}
	return e.bitrates[len(e.bitrates)-1]
}

func (e *fakeEncoder) Close() error { e.closed.Store(true); return nil }

// fakeViewer encodes a blank picture every frame and echoes calls; with unchanged, its
// renders draw nothing new.
type fakeViewer struct {
	s         *Session
	unchanged bool
	closed    atomic.Bool
	calls     atomic.Int64
	renders   atomic.Int64
}

func (v *fakeViewer) Render() error {
	v.renders.Add(1)
	if v.unchanged {
		return ErrUnchanged
	}
	return nil
}

func (v *fakeViewer) Frame(queueFull bool) (*avc.Frame, error) {
	if queueFull {
		return nil, nil
	}
	return v.s.VideoEncoder().Encode(nil, v.s.Elapsed())
}

func (v *fakeViewer) Call(name string, args map[string]any) (any, error) {
	v.calls.Add(1)
	switch name {
	case "panic":
		panic("boom")
	case "fail":
		return nil, errors.New("failed on purpose")
	case "renderNow":
		v.s.RenderNow()
	}
	return map[string]any{"name": name, "args": args}, nil
}

func (v *fakeViewer) Close() { v.closed.Store(true) }

type fixture struct {
	unchanged bool // viewers' renders draw nothing new
	srv       *Server
	http      *httptest.Server
	mu        sync.Mutex
	viewers   []*fakeViewer
	encs      []*fakeEncoder
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	fx := &fixture{}
	cfg.Viewers = ViewerFactoryFunc(func(s *Session) (Viewer, error) {
		if s.Scene() != "demo" {
			return nil, fmt.Errorf("%w: %q", ErrUnknownScene, s.Scene())
		}
		fx.mu.Lock()
		v := &fakeViewer{s: s, unchanged: fx.unchanged}
		fx.viewers = append(fx.viewers, v)
		fx.mu.Unlock()
		return v, nil
	})
	cfg.Codecs = EncoderFactoryFunc(func(s *Session) (VideoEncoder, error) {
		e := &fakeEncoder{}
		fx.mu.Lock()
		fx.encs = append(fx.encs, e)
		fx.mu.Unlock()
		return e, nil
	})
	cfg.LocalIPs = []net.IP{net.IPv4(127, 0, 0, 1)}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fx.srv = srv
	fx.http = httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		fx.http.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return fx
}

// client is a pion peer that offers to receive H.264 and reports access units.
type client struct {
	pc       *webrtc.PeerConnection
	dc       *webrtc.DataChannel
	offer    string
	aus      chan receivedAU
	answers  chan map[string]any
	open     chan struct{}
	location string
	ssrc     atomic.Uint32 // of the video track, for RTCP feedback
}

type receivedAU struct {
	ts    uint32
	nalus [][]byte
}

func newClient(t *testing.T) *client {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(h264Codec, webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	c := &client{pc: pc, aus: make(chan receivedAU, 512), answers: make(chan map[string]any, 16), open: make(chan struct{})}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	if c.dc, err = pc.CreateDataChannel("calls", nil); err != nil {
		t.Fatal(err)
	}
	c.dc.OnOpen(func() { close(c.open) })
	c.dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		var m map[string]any
		if json.Unmarshal(msg.Data, &m) == nil {
			c.answers <- m
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		c.ssrc.Store(uint32(tr.SSRC()))
		var dp codecs.H264Packet
		var au []byte
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			b, err := dp.Unmarshal(p.Payload)
			if err != nil {
				continue
			}
			au = append(au, b...)
			if p.Marker {
				nalus, _ := avc.SplitAnnexB(au)
				select {
				case c.aus <- receivedAU{p.Timestamp, nalus}:
				default:
				}
				au = nil
			}
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	c.offer = pc.LocalDescription().SDP
	return c
}

func post(t *testing.T, url, contentType, body string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (c *client) connect(t *testing.T, fx *fixture, scene string, hdr map[string]string) {
	t.Helper()
	resp, answer := post(t, fx.http.URL+"/whep/"+scene, "application/sdp", c.offer, hdr)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("offer: %d %s", resp.StatusCode, answer)
	}
	c.location = resp.Header.Get("Location")
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
}

func (c *client) nextAU(t *testing.T) receivedAU {
	t.Helper()
	select {
	case au := <-c.aus:
		return au
	case <-time.After(20 * time.Second):
		t.Fatal("no access unit within 20 s")
	}
	return receivedAU{}
}

func (c *client) call(t *testing.T, id int, name string) map[string]any {
	t.Helper()
	select {
	case <-c.open:
	case <-time.After(20 * time.Second):
		t.Fatal("data channel not open")
	}
	b, _ := json.Marshal(map[string]any{"id": id, "name": name, "args": map[string]any{"dx": 1}})
	if err := c.dc.SendText(string(b)); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case m := <-c.answers:
			if m["id"] == float64(id) {
				return m
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("no answer to %s", name)
		}
	}
}

func naluTypes(nalus [][]byte) []int {
	var out []int
	for _, n := range nalus {
		out = append(out, int(avc.NALUType(n)))
	}
	return out
}

func hasIDRWithParameterSets(au receivedAU) bool {
	return fmt.Sprint(naluTypes(au.nalus)) == "[7 8 5]"
}

func TestSessionSendsVideoAndAnswersCalls(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	fx := newFixture(t, Config{Token: "tok", FrameRate: 50})
	c := newClient(t)
	c.connect(t, fx, "demo", map[string]string{"Authorization": "Bearer tok"})

	// Keyframe on join: the first unit is SPS, PPS, IDR (from the configuration record).
	first := c.nextAU(t)
	if !hasIDRWithParameterSets(first) {
		t.Fatalf("first access unit has NAL types %v, want [7 8 5]", naluTypes(first.nalus))
	}
	second := c.nextAU(t)
	if fmt.Sprint(naluTypes(second.nalus)) != "[1]" {
		t.Fatalf("second access unit has NAL types %v, want [1]", naluTypes(second.nalus))
	}
	if d := second.ts - first.ts; d == 0 || d > 90000 {
		t.Fatalf("RTP timestamps %d then %d: want pts-based 90 kHz steps", first.ts, second.ts)
	}

	fx.mu.Lock()
	enc, viewer := fx.encs[0], fx.viewers[0]
	fx.mu.Unlock()

	// PLI: the next keyframe carries SPS and PPS again.
	before := enc.requests.Load()
	if err := c.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: c.ssrc.Load()}}); err != nil {
		t.Fatal(err)
	}
	keyAgain := false
	for range 100 {
		if hasIDRWithParameterSets(c.nextAU(t)) {
			keyAgain = true
			break
		}
	}
	if !keyAgain || enc.requests.Load() <= before {
		t.Fatalf("no keyframe after PLI (requests %d -> %d)", before, enc.requests.Load())
	}

	// REMB: the encoder follows the estimate.
	if err := c.pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 1_000_000, SSRCs: []uint32{c.ssrc.Load()}}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for enc.lastBitrate() != 850_000 {
		if time.Now().After(deadline) {
			t.Fatalf("encoder bitrate %d after REMB 1 Mbit/s, want 850000", enc.lastBitrate())
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Calls over the data channel.
	if a := c.call(t, 1, "camera.orbit"); a["ok"] != true || a["result"].(map[string]any)["name"] != "camera.orbit" {
		t.Fatalf("call answer %v", a)
	}
	if a := c.call(t, 2, "fail"); a["ok"] != false || a["error"] != "failed on purpose" {
		t.Fatalf("failing call answer %v", a)
	}
	if a := c.call(t, 3, "panic"); a["ok"] != false || !strings.Contains(fmt.Sprint(a["error"]), "panicked") {
		t.Fatalf("panicking call answer %v", a)
	}
	c.nextAU(t) // a panic in one call does not end the session

	sessions := fx.srv.Sessions()
	if len(sessions) != 1 || sessions[0].Statistics()["frames_sent"].(uint64) == 0 {
		t.Fatalf("sessions %v", sessions)
	}
	if st := fx.srv.Statistics(); st["sessions"] != 1 || st["frames_sent"] == 0 {
		t.Fatalf("server statistics %v", st)
	}

	// DELETE ends the session and releases viewer and encoder.
	req, _ := http.NewRequest(http.MethodDelete, fx.http.URL+c.location+"?token=tok", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	if !viewer.closed.Load() || !enc.closed.Load() || len(fx.srv.Sessions()) != 0 {
		t.Fatal("DELETE left the viewer, the encoder or the session open")
	}
	c.pc.Close()
	fx.http.Close()
}

// RenderNow (here from a call, as the streamer does after a call that changed the picture)
// starts a render long before the next tick; a viewer's ErrUnchanged does not end the
// session, whose frames go on.
func TestRenderNowAndErrUnchanged(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	fx := newFixture(t, Config{RenderRate: 0.2, FrameRate: 20}) // a render tick every 5 s
	fx.mu.Lock()
	fx.unchanged = true
	fx.mu.Unlock()
	c := newClient(t)
	c.connect(t, fx, "demo", nil)
	c.nextAU(t)
	fx.mu.Lock()
	viewer := fx.viewers[0]
	fx.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for viewer.renders.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := viewer.renders.Load(); n != 1 {
		t.Fatalf("%d renders before RenderNow, want 1 (the first)", n)
	}
	if a := c.call(t, 1, "renderNow"); a["ok"] != true {
		t.Fatalf("call answer %v", a)
	}
	for deadline := time.Now().Add(2500 * time.Millisecond); viewer.renders.Load() < 2; {
		if time.Now().After(deadline) {
			t.Fatal("RenderNow did not start a render before the next tick (5 s)")
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.nextAU(t) // ErrUnchanged did not end the session
	if len(fx.srv.Sessions()) != 1 {
		t.Fatal("the session ended")
	}
	c.pc.Close()
	fx.http.Close()
}

func TestOfferRefusals(t *testing.T) {
	fx := newFixture(t, Config{Token: "tok", MaxSessions: 1})
	c := newClient(t)
	auth := map[string]string{"Authorization": "Bearer tok"}
	cases := []struct {
		name, scene, ctype, body string
		hdr                      map[string]string
		want                     int
	}{
		{"no token", "demo", "application/sdp", c.offer, nil, http.StatusUnauthorized},
		{"wrong scheme", "demo", "application/sdp", c.offer, map[string]string{"Authorization": "Basic tok"}, http.StatusUnauthorized},
		{"longer token", "demo", "application/sdp", c.offer, map[string]string{"Authorization": "Bearer tokk"}, http.StatusUnauthorized},
		{"shorter token in the query", "demo?token=to", "application/sdp", c.offer, nil, http.StatusUnauthorized},
		{"content type", "demo", "text/plain", c.offer, auth, http.StatusUnsupportedMediaType},
		{"bad SDP", "demo", "application/sdp", "hello", auth, http.StatusBadRequest},
		{"unknown scene", "nope", "application/sdp", c.offer, auth, http.StatusNotFound},
	}
	for _, tc := range cases {
		resp, body := post(t, fx.http.URL+"/whep/"+tc.scene, tc.ctype, tc.body, tc.hdr)
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d %q, want %d", tc.name, resp.StatusCode, body, tc.want)
		}
	}
	if n := len(fx.viewers); n != 0 {
		t.Fatalf("%d viewers opened by refused offers", n)
	}
	c.connect(t, fx, "demo", auth)
	resp, _ := post(t, fx.http.URL+"/whep/demo", "application/sdp", newClient(t).offer, auth)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("offer beyond MaxSessions: %d, want 503", resp.StatusCode)
	}
	// A refused offer that got as far as a viewer releases it.
	fx.mu.Lock()
	opened := len(fx.viewers)
	fx.mu.Unlock()
	if opened > 2 {
		t.Fatalf("%d viewers for two offers", opened)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := fx.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, v := range fx.viewers {
		if !v.closed.Load() {
			t.Fatal("a viewer is still open after Shutdown")
		}
	}
	resp, _ = post(t, fx.http.URL+"/whep/demo", "application/sdp", c.offer, auth)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("offer after Shutdown: %d, want 503", resp.StatusCode)
	}
}

// Ensure the packets carry the negotiated header extensions the receiver needs.
func TestTrackHeaderExtensions(t *testing.T) {
	var got []*rtp.Header
	tr := newVideoTrack("v", "s", 100, 1000, nil)
	tr.bound, tr.ssrc, tr.pt, tr.absSendID, tr.playoutID = true, 42, 102, 3, 5
	tr.writer = writerFunc(func(h *rtp.Header, p []byte) (int, error) {
		c := h.Clone()
		got = append(got, &c)
		return len(p), nil
	})
	config, _ := avc.ConfigRecord([][]byte{testSPS}, [][]byte{testPPS})
	big := append([]byte{0x65}, make([]byte, 3000)...)
	packets, _, err := tr.writeFrame(&avc.Frame{NALUs: avc.AppendAVCC(nil, [][]byte{big}), Keyframe: true, Config: config, PTS: time.Second})
	if err != nil || packets < 3 || len(got) != packets {
		t.Fatalf("%d packets (%d written), %v", packets, len(got), err)
	}
	for i, h := range got {
		if h.SSRC != 42 || h.PayloadType != 102 || h.Timestamp != 1000+90000 || h.SequenceNumber != uint16(100+i) {
			t.Fatalf("packet %d header %+v", i, h)
		}
		if h.GetExtension(3) == nil || h.GetExtension(5) == nil {
			t.Fatalf("packet %d lacks abs-send-time or playout-delay", i)
		}
		if h.Marker != (i == len(got)-1) {
			t.Fatalf("packet %d marker %v", i, h.Marker)
		}
	}
}

type writerFunc func(h *rtp.Header, p []byte) (int, error)

func (f writerFunc) WriteRTP(h *rtp.Header, p []byte) (int, error) { return f(h, p) }
func (f writerFunc) Write(b []byte) (int, error)                   { return len(b), nil }
