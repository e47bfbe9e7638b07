package whep

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
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
	"github.com/rendercast/rendercast/encode"
)

// The pictures the fake viewers encode: small, so x264 keeps up under -race on a shared
// machine.
const (
	testWidth  = 160
	testHeight = 96
)

// fakeViewer is the application side of a session as the streamer wires it: once the peer
// is connected it feeds the session with frames from a real x264 encoder (Constrained
// Baseline, what browsers decode), a keyframe whenever WriteFrame or the receiver asks for
// one. Calls are echoed.
type fakeViewer struct {
	s      *Session
	encode bool // feed frames once connected

	earlyWant    bool // what WriteFrame answered before the peer connected
	connected    atomic.Bool
	closed       atomic.Bool
	calls        atomic.Int64
	keyWanted    atomic.Int64 // KeyframeWanted calls
	lastEstimate atomic.Int64 // the last Estimate, bits/s
	frames       atomic.Int64 // frames written
	forceKey     atomic.Bool
	err          atomic.Pointer[error] // the encoder failed

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{} // closed when the feeding goroutine returns
}

func (v *fakeViewer) Connected() {
	if v.connected.Swap(true) || !v.encode {
		return
	}
	go v.feed()
}

// feed encodes a horizontal gradient every 20 ms and writes it to the session until Close.
func (v *fakeViewer) feed() {
	defer close(v.done)
	fail := func(err error) { v.err.Store(&err) }
	enc, err := encode.New(encode.Options{Width: testWidth, Height: testHeight, FrameRate: 50,
		Encoder: encode.EncoderX264, Profile: encode.ProfileBaseline, Threads: 1,
		KeyframeInterval: time.Minute}) // keyframes only when asked, so each can be traced to a cause
	if err != nil {
		fail(err)
		return
	}
	defer enc.Close()
	canvas := image.NewYCbCr(image.Rect(0, 0, testWidth, testHeight), image.YCbCrSubsampleRatio420)
	for y := range testHeight {
		for x := range testWidth {
			canvas.Y[y*canvas.YStride+x] = byte(16 + x*200/testWidth)
		}
	}
	for i := range canvas.Cb {
		canvas.Cb[i], canvas.Cr[i] = 128, 128
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	var config []byte
	want := false
	for {
		select {
		case <-v.stop:
			return
		case <-tick.C:
		}
		if v.forceKey.Swap(false) || want {
			enc.RequestKeyframe()
		}
		f, err := enc.Encode(canvas, time.Since(start))
		if err != nil {
			fail(err)
			return
		}
		if f == nil {
			continue
		}
		if f.Config != nil {
			config = f.Config
		} else if f.Keyframe {
			g := *f // every keyframe carries its configuration record, as sessions send it
			g.Config = config
			f = &g
		}
		want = v.s.WriteFrame(f)
		v.frames.Add(1)
	}
}

func (v *fakeViewer) Call(name string, args map[string]any) (any, error) {
	v.calls.Add(1)
	switch name {
	case "panic":
		panic("boom")
	case "fail":
		return nil, errors.New("failed on purpose")
	}
	return map[string]any{"name": name, "args": args}, nil
}

func (v *fakeViewer) KeyframeWanted() {
	v.keyWanted.Add(1)
	v.forceKey.Store(true)
}

func (v *fakeViewer) Estimate(bps int) { v.lastEstimate.Store(int64(bps)) }

func (v *fakeViewer) Close() {
	v.closed.Store(true)
	v.stopOnce.Do(func() { close(v.stop) })
	if v.connected.Load() && v.encode {
		<-v.done
	}
}

type fixture struct {
	srv     *Server
	http    *httptest.Server
	mu      sync.Mutex
	viewers []*fakeViewer
}

// newFixture serves WHEP on loopback. Its viewer factory knows the scene "demo", refuses a
// session name with a space as a bad request, and feeds frames when encode is set.
func newFixture(t *testing.T, cfg Config, encode bool) *fixture {
	t.Helper()
	fx := &fixture{}
	cfg.Viewers = ViewerFactoryFunc(func(s *Session) (Viewer, error) {
		if s.Scene() != "demo" {
			return nil, fmt.Errorf("%w: %q", ErrUnknownScene, s.Scene())
		}
		if strings.Contains(s.Query().Get("session"), " ") {
			return nil, fmt.Errorf("%w: session name %q", ErrBadRequest, s.Query().Get("session"))
		}
		v := &fakeViewer{s: s, encode: encode, stop: make(chan struct{}), done: make(chan struct{})}
		key, _ := avc.ConfigRecord([][]byte{testSPS}, [][]byte{testPPS})
		v.earlyWant = s.WriteFrame(&avc.Frame{NALUs: avc.AppendAVCC(nil, [][]byte{testIDR}), Keyframe: true, Config: key})
		fx.mu.Lock()
		fx.viewers = append(fx.viewers, v)
		fx.mu.Unlock()
		return v, nil
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
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return fx
}

func (fx *fixture) viewer(t *testing.T, i int) *fakeViewer {
	t.Helper()
	fx.mu.Lock()
	defer fx.mu.Unlock()
	if len(fx.viewers) <= i {
		t.Fatalf("%d viewers, want at least %d", len(fx.viewers), i+1)
	}
	return fx.viewers[i]
}

// viewerErrors describes encoder failures, to explain a missing frame.
func (fx *fixture) viewerErrors() string {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	var out []string
	for _, v := range fx.viewers {
		if p := v.err.Load(); p != nil {
			out = append(out, (*p).Error())
		}
	}
	return strings.Join(out, "; ")
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
	ts     uint32
	annexB []byte
	nalus  [][]byte
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
	c := &client{pc: pc, aus: make(chan receivedAU, 1024), answers: make(chan map[string]any, 64), open: make(chan struct{})}
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
				case c.aus <- receivedAU{p.Timestamp, au, nalus}:
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

func (c *client) nextAU(t *testing.T, fx *fixture) receivedAU {
	t.Helper()
	select {
	case au := <-c.aus:
		return au
	case <-time.After(20 * time.Second):
		t.Fatalf("no access unit within 20 s (viewer errors: %q)", fx.viewerErrors())
	}
	return receivedAU{}
}

func (c *client) waitOpen(t *testing.T) {
	t.Helper()
	select {
	case <-c.open:
	case <-time.After(20 * time.Second):
		t.Fatal("data channel not open")
	}
}

func (c *client) send(t *testing.T, id int, name string) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"id": id, "name": name, "args": map[string]any{"dx": 1}})
	if err := c.dc.SendText(string(b)); err != nil {
		t.Fatal(err)
	}
}

func (c *client) answer(t *testing.T) map[string]any {
	t.Helper()
	select {
	case m := <-c.answers:
		return m
	case <-time.After(20 * time.Second):
		t.Fatal("no answer to a call within 20 s")
	}
	return nil
}

func (c *client) call(t *testing.T, id int, name string) map[string]any {
	t.Helper()
	c.waitOpen(t)
	c.send(t, id, name)
	for {
		if m := c.answer(t); m["id"] == float64(id) {
			return m
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

// hasIDRWithParameterSets reports an access unit a decoder can start at: SPS and PPS
// before an IDR slice (x264 may add an SEI).
func hasIDRWithParameterSets(au receivedAU) bool {
	types := naluTypes(au.nalus)
	idr := slices.Index(types, 5)
	sps, pps := slices.Index(types, 7), slices.Index(types, 8)
	return idr >= 0 && sps >= 0 && pps >= 0 && sps < idr && pps < idr
}

// decodeGray decodes an Annex-B H.264 stream with the ffmpeg CLI into 8-bit luma frames.
func decodeGray(t *testing.T, stream []byte) []byte {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("ffmpeg not found: run scripts/setup.sh (make test does)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-f", "h264", "-i", "-", "-f", "rawvideo", "-pix_fmt", "gray", "-")
	cmd.Stdin = bytes.NewReader(stream)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, stderr.String())
	}
	return out
}

// A session sends the frames written to it from the peer's connection on: a keyframe
// first, with SPS and PPS, and the stream decodes (ffmpeg) to the encoded picture; PLI and
// REMB reach the viewer; calls are answered over the data channel; the offer's query and
// headers reach the viewer without the token; DELETE ends it all.
func TestSessionSendsVideoAndAnswersCalls(t *testing.T) {
	// Checked after every cleanup (registered first, run last), so also after a failure.
	running := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, running) })
	fx := newFixture(t, Config{Token: "tok"}, true)
	c := newClient(t)
	c.connect(t, fx, "demo?session=x&token=tok", map[string]string{"Authorization": "Bearer tok", "X-Control-Token": "ctl"})
	viewer := fx.viewer(t, 0)

	if !viewer.earlyWant {
		t.Error("WriteFrame before the peer connected returned false, want true (a keyframe wanted)")
	}
	q := viewer.s.Query()
	if q.Get("session") != "x" || q.Has("token") {
		t.Errorf("Query() = %v, want session=x and no token", q)
	}
	if h := viewer.s.Header("X-Control-Token"); h != "ctl" {
		t.Errorf("Header(X-Control-Token) = %q", h)
	}
	if h := viewer.s.Header("Authorization"); h != "" {
		t.Errorf("Header(Authorization) = %q, want it removed", h)
	}

	// Keyframe on join: SPS, PPS, IDR, then P-frames with 90 kHz timestamps from the pts.
	const decoded = 12
	var aus []receivedAU
	for len(aus) < decoded {
		aus = append(aus, c.nextAU(t, fx))
	}
	if !hasIDRWithParameterSets(aus[0]) {
		t.Fatalf("first access unit has NAL types %v, want SPS, PPS and an IDR", naluTypes(aus[0].nalus))
	}
	sps, _ := avc.ParameterSets(aus[0].nalus)
	info, err := avc.ParseSPS(sps[0])
	if err != nil || info.Width != testWidth || info.Height != testHeight || info.ProfileIDC != 66 {
		t.Fatalf("SPS %+v %v, want %dx%d Baseline (66)", info, err, testWidth, testHeight)
	}
	if types := naluTypes(aus[1].nalus); !slices.Contains(types, 1) || slices.Contains(types, 5) {
		t.Fatalf("second access unit has NAL types %v, want a P slice (1)", types)
	}
	if d := aus[1].ts - aus[0].ts; d == 0 || d > 90000 {
		t.Fatalf("RTP timestamps %d then %d: want pts-based 90 kHz steps", aus[0].ts, aus[1].ts)
	}
	var stream []byte
	for _, au := range aus {
		stream = append(stream, au.annexB...)
	}
	pix := decodeGray(t, stream)
	if len(pix) != decoded*testWidth*testHeight {
		t.Fatalf("ffmpeg decoded %d bytes, want %d frames of %dx%d", len(pix), decoded, testWidth, testHeight)
	}
	// The gradient runs from dark (left) to bright (right): a broken decode would not.
	row := pix[testHeight/2*testWidth : (testHeight/2+1)*testWidth]
	if left, right := int(row[4]), int(row[testWidth-5]); right-left < 100 {
		t.Fatalf("decoded row goes from %d to %d, want the encoded gradient (about 20 to 210)", left, right)
	}

	// PLI: the viewer is told, and the next keyframe carries SPS and PPS again.
	before := viewer.keyWanted.Load()
	if err := c.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: c.ssrc.Load()}}); err != nil {
		t.Fatal(err)
	}
	keyAgain := false
	for range 200 {
		if hasIDRWithParameterSets(c.nextAU(t, fx)) {
			keyAgain = true
			break
		}
	}
	if !keyAgain || viewer.keyWanted.Load() <= before {
		t.Fatalf("no keyframe after PLI (KeyframeWanted calls %d -> %d)", before, viewer.keyWanted.Load())
	}

	// REMB: the viewer gets the estimate.
	if err := c.pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 1_000_000, SSRCs: []uint32{c.ssrc.Load()}}}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); viewer.lastEstimate.Load() != 1_000_000; {
		if time.Now().After(deadline) {
			t.Fatalf("Estimate got %d after REMB 1 Mbit/s", viewer.lastEstimate.Load())
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
	c.nextAU(t, fx) // a panic in one call does not end the session

	sessions := fx.srv.Sessions()
	if len(sessions) != 1 {
		t.Fatalf("%d sessions, want 1", len(sessions))
	}
	st := sessions[0].Stats()
	if !st.Connected || st.State != "connected" || st.FramesSent < decoded || st.KeyframesSent < 2 || st.PacketsSent < st.FramesSent ||
		st.PLI < 1 || st.REMB < 1 || st.REMBBps != 1_000_000 || st.Calls != 3 || st.CallsLimited != 0 || st.Transport != "webrtc" {
		t.Fatalf("session stats %+v", st)
	}
	if ss := fx.srv.Stats(); ss.Sessions != 1 || ss.SessionsStarted != 1 || ss.FramesSent < decoded || ss.PayloadBytesOut == 0 {
		t.Fatalf("server stats %+v", ss)
	}

	// DELETE ends the session and releases the viewer (whose feeding goroutine has ended).
	req, _ := http.NewRequest(http.MethodDelete, fx.http.URL+c.location+"?token=tok", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	select {
	case <-viewer.done:
	default:
		t.Fatal("the viewer still feeds frames after DELETE")
	}
	if !viewer.closed.Load() || len(fx.srv.Sessions()) != 0 {
		t.Fatal("DELETE left the viewer or the session open")
	}
	if p := viewer.err.Load(); p != nil {
		t.Fatalf("encoder: %v", *p)
	}
	c.pc.Close()
	fx.http.Close()
}

// Calls beyond Config.CallRate are answered with ErrCallLimit, not run, and counted.
func TestCallRateLimit(t *testing.T) {
	fx := newFixture(t, Config{CallRate: 2}, false)
	c := newClient(t)
	c.connect(t, fx, "demo", nil)
	c.waitOpen(t)
	const burst = 10
	for i := range burst {
		c.send(t, i+1, "camera.orbit")
	}
	ok, limited := 0, 0
	for range burst {
		a := c.answer(t)
		switch {
		case a["ok"] == true:
			ok++
		case a["error"] == ErrCallLimit.Error():
			limited++
		default:
			t.Fatalf("answer %v", a)
		}
	}
	// The bucket holds one second's worth (2); the burst takes far less than 4 s.
	if ok < 1 || ok > 6 || limited < burst-6 {
		t.Fatalf("%d calls answered, %d limited, want about 2 and 8", ok, limited)
	}
	viewer := fx.viewer(t, 0)
	if n := viewer.calls.Load(); n != int64(ok) {
		t.Fatalf("viewer ran %d calls, %d answered ok", n, ok)
	}
	st := fx.srv.Sessions()[0].Stats()
	if st.CallsLimited != uint64(limited) || st.Calls != uint64(ok) {
		t.Fatalf("session stats %+v, want %d calls and %d limited", st, ok, limited)
	}
	if ss := fx.srv.Stats(); ss.CallsLimited != uint64(limited) {
		t.Fatalf("server stats %+v, want %d calls limited", ss, limited)
	}
}

// A session whose peer never connects ends after ConnectTimeout and releases its viewer,
// which was never told Connected.
func TestConnectTimeout(t *testing.T) {
	fx := newFixture(t, Config{ConnectTimeout: 300 * time.Millisecond}, true)
	c := newClient(t)
	resp, answer := post(t, fx.http.URL+"/whep/demo", "application/sdp", c.offer, nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("offer: %d %s", resp.StatusCode, answer)
	}
	viewer := fx.viewer(t, 0)
	for deadline := time.Now().Add(15 * time.Second); len(fx.srv.Sessions()) != 0 || !viewer.closed.Load(); {
		if time.Now().After(deadline) {
			t.Fatal("the session of a peer that never connected is still open after 15 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if viewer.connected.Load() {
		t.Fatal("Connected called for a peer that never connected")
	}
	req, _ := http.NewRequest(http.MethodDelete, fx.http.URL+resp.Header.Get("Location"), nil)
	dresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	dresp.Body.Close()
	if dresp.StatusCode != http.StatusNotFound {
		t.Fatalf("DELETE of an ended session: %d, want 404", dresp.StatusCode)
	}
}

func TestOfferRefusals(t *testing.T) {
	fx := newFixture(t, Config{Token: "tok", MaxSessions: 1}, false)
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
		{"no H.264", "demo", "application/sdp", strings.ReplaceAll(c.offer, "H264", "VP8"), auth, http.StatusBadRequest},
		{"unknown scene", "nope", "application/sdp", c.offer, auth, http.StatusNotFound},
		{"bad request (viewer factory)", "demo?session=a%20b", "application/sdp", c.offer, auth, http.StatusBadRequest},
	}
	for _, tc := range cases {
		resp, body := post(t, fx.http.URL+"/whep/"+tc.scene, tc.ctype, tc.body, tc.hdr)
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d %q, want %d", tc.name, resp.StatusCode, body, tc.want)
		}
		if tc.want == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: WWW-Authenticate %q", tc.name, resp.Header.Get("WWW-Authenticate"))
		}
	}
	fx.mu.Lock()
	n := len(fx.viewers)
	fx.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d viewers opened by refused offers", n)
	}
	if st := fx.srv.Stats(); st.RequestsRefused != uint64(len(cases)) || st.SessionsStarted != 0 {
		t.Fatalf("server stats %+v, want %d requests refused", st, len(cases))
	}
	c.connect(t, fx, "demo", auth)
	resp, _ := post(t, fx.http.URL+"/whep/demo", "application/sdp", newClient(t).offer, auth)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("offer beyond MaxSessions: %d, want 503", resp.StatusCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fx.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	fx.mu.Lock()
	for _, v := range fx.viewers {
		if !v.closed.Load() {
			t.Error("a viewer is still open after Shutdown")
		}
	}
	fx.mu.Unlock()
	if n := len(fx.srv.Sessions()); n != 0 {
		t.Fatalf("%d sessions after Shutdown", n)
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
