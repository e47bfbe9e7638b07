package main

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/encode"
)

// whepClient is a Go WebRTC viewer (pion) that plays a scene over WHEP, reassembles the
// H.264 access units from RTP and sends data-channel calls.
type whepClient struct {
	t        *testing.T
	pc       *webrtc.PeerConnection
	dc       *webrtc.DataChannel
	location string
	aus      chan []byte // Annex-B access units, in order
	answers  chan map[string]any
	dcOpen   chan struct{}
	nextID   int
	dec      *encode.Decoder
}

// newWHEPAPI is a pion API for a loopback-only H.264 receiver.
func newWHEPAPI(t *testing.T) *webrtc.API {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack", Parameter: "pli"}}},
		PayloadType: 102,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se))
}

// whepOffer makes an offer (candidates gathered) from a new peer connection with a
// receive-only video transceiver and a "calls" data channel.
func whepOffer(t *testing.T, api *webrtc.API) (*webrtc.PeerConnection, *webrtc.DataChannel, string) {
	t.Helper()
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	dc, err := pc.CreateDataChannel("calls", nil)
	if err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return pc, dc, pc.LocalDescription().SDP
}

// postOffer sends an offer and returns the status, headers and body.
func postOffer(t *testing.T, url, sdp, bearer string) (int, http.Header, string) {
	t.Helper()
	return postOfferHeader(t, url, sdp, bearerHeader(bearer))
}

// bearerHeader is an Authorization header for a token (none for "").
func bearerHeader(token string) http.Header {
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	return h
}

// postOfferHeader sends an offer with extra request headers.
func postOfferHeader(t *testing.T, url, sdp string, header http.Header) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(sdp))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/sdp")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func dialWHEP(t *testing.T, httpAddr, scene, token string) *whepClient {
	t.Helper()
	return dialWHEPURL(t, "http://"+httpAddr+"/whep/"+scene, bearerHeader(token))
}

// dialWHEPURL is dialWHEP with the whole offer URL (a query too) and the request headers.
func dialWHEPURL(t *testing.T, url string, header http.Header) *whepClient {
	t.Helper()
	pc, dc, offer := whepOffer(t, newWHEPAPI(t))
	c := &whepClient{t: t, pc: pc, dc: dc, aus: make(chan []byte, 256), answers: make(chan map[string]any, 16), dcOpen: make(chan struct{})}
	dc.OnOpen(func() { close(c.dcOpen) })
	dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		var m map[string]any
		if json.Unmarshal(msg.Data, &m) == nil {
			c.answers <- m
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		// Reassemble access units: packets of one RTP timestamp up to the marker bit.
		// Errors end the goroutine; the test notices frames stopping.
		var depack codecs.H264Packet
		var au []byte
		var lastSeq uint16
		started := false
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				close(c.aus)
				return
			}
			if started && p.SequenceNumber != lastSeq+1 {
				au = nil // a gap: drop the unit; the decoder may complain, the test retries
			}
			started, lastSeq = true, p.SequenceNumber
			data, err := depack.Unmarshal(p.Payload)
			if err != nil {
				au = nil
				continue
			}
			au = append(au, data...)
			if p.Marker {
				if len(au) > 0 {
					select {
					case c.aus <- au:
					default: // the test is not reading: drop
					}
				}
				au = nil
			}
		}
	})
	status, hdr, body := postOfferHeader(t, url, offer, header)
	if status != http.StatusCreated {
		t.Fatalf("WHEP offer: %d %s", status, body)
	}
	if ct := hdr.Get("Content-Type"); ct != "application/sdp" {
		t.Fatalf("answer Content-Type %q", ct)
	}
	c.location = hdr.Get("Location")
	if !strings.HasPrefix(c.location, "/whep/session/") {
		t.Fatalf("Location %q, want /whep/session/<id>", c.location)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: body}); err != nil {
		t.Fatalf("answer: %v\n%s", err, body)
	}
	t.Cleanup(func() {
		if c.dec != nil {
			c.dec.Close()
		}
	})
	return c
}

// next returns the next decoded picture.
func (c *whepClient) next(ctx context.Context) *image.YCbCr {
	c.t.Helper()
	for {
		var au []byte
		select {
		case <-ctx.Done():
			c.t.Fatalf("no video within the deadline: %v", ctx.Err())
		case a, ok := <-c.aus:
			if !ok {
				c.t.Fatal("the video track ended")
			}
			au = a
		}
		nalus, err := avc.SplitAnnexB(au)
		if err != nil {
			c.t.Fatalf("access unit: %v", err)
		}
		if sps, pps := avc.ParameterSets(nalus); len(sps) > 0 && len(pps) > 0 && c.dec == nil {
			config, err := avc.ConfigRecord(sps, pps)
			if err != nil {
				c.t.Fatal(err)
			}
			if c.dec, err = encode.NewDecoder(config); err != nil {
				c.t.Fatalf("decoder: %v", err)
			}
		}
		if c.dec == nil {
			// Joined between keyframes (a keyframe starts every session, so only after a
			// loss); ask for one as a browser would.
			for _, tr := range c.pc.GetTransceivers() {
				if r := tr.Receiver(); r != nil && r.Track() != nil {
					c.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(r.Track().SSRC())}})
				}
			}
			continue
		}
		pics, err := c.dec.Decode(&avc.Frame{NALUs: avc.AppendAVCC(nil, nalus)})
		if err != nil {
			c.t.Logf("decode: %v (skipped)", err)
			continue
		}
		if len(pics) > 0 {
			return pics[len(pics)-1]
		}
	}
}

// call sends one data-channel call and returns its answer.
func (c *whepClient) call(ctx context.Context, name string, args map[string]any) map[string]any {
	c.t.Helper()
	select {
	case <-c.dcOpen:
	case <-ctx.Done():
		c.t.Fatal("the data channel did not open")
	}
	c.nextID++
	id := c.nextID
	b, _ := json.Marshal(map[string]any{"id": id, "name": name, "args": args})
	if err := c.dc.SendText(string(b)); err != nil {
		c.t.Fatalf("sending %s: %v", name, err)
	}
	for {
		select {
		case m := <-c.answers:
			if m["id"] == float64(id) {
				return m
			}
		case <-ctx.Done():
			c.t.Fatalf("no answer to %s", name)
		}
	}
}

func TestWHEPPlaysAndAnswersCalls(t *testing.T) {
	rs := startStreamer(t, "-size", "640x360", "-token", "s3cret")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := dialWHEP(t, rs.httpAddr, "demo", "s3cret")

	var before *image.YCbCr
	for range 5 {
		before = c.next(ctx)
	}
	if b := before.Bounds(); b.Dx() != 640 || b.Dy() != 360 {
		t.Fatalf("frame size %v, want 640x360", b)
	}
	if isRed(before) {
		t.Fatal("corner red before any call")
	}

	ans := c.call(ctx, "scene.setBackground", map[string]any{"r": 1, "g": 0, "b": 0})
	if ans["ok"] != true {
		t.Fatalf("scene.setBackground: %v", ans)
	}
	red := false
	for range 60 {
		if isRed(c.next(ctx)) {
			red = true
			break
		}
	}
	if !red {
		y, cb, cr := corner(c.next(ctx))
		t.Fatalf("corner not red within 60 frames after scene.setBackground: Y %.0f Cb %.0f Cr %.0f", y, cb, cr)
	}

	cam := c.call(ctx, "camera.get", nil)
	if res, ok := cam["result"].(map[string]any); cam["ok"] != true || !ok || res["yaw"] == nil {
		t.Fatalf("camera.get: %v", cam)
	}
	if a := c.call(ctx, "camera.zoom", map[string]any{"factor": "big"}); a["ok"] != false || !strings.Contains(fmt.Sprint(a["error"]), "factor") {
		t.Fatalf("camera.zoom with a string: %v, want an error naming factor", a)
	}
	if a := c.call(ctx, "no.such.call", nil); a["ok"] != false {
		t.Fatalf("unknown call: %v", a)
	}
	stats := c.call(ctx, "stream.stats", nil)
	if res, _ := stats["result"].(map[string]any); res["transport"] != "webrtc" {
		t.Fatalf("stream.stats: %v", stats)
	}
	if a := c.call(ctx, "stream.setBitrate", map[string]any{"kbps": 800}); a["ok"] != true {
		t.Fatalf("stream.setBitrate: %v", a)
	}
	c.next(ctx) // still streaming

	get := func(path string) string {
		resp, err := http.Get("http://" + rs.httpAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	metrics := get("/metrics")
	for _, want := range []string{"rendercast_webrtc_sessions 1", "rendercast_webrtc_sessions_started_total 1", "rendercast_streams_playing 1",
		`rendercast_calls_total{name="scene.setBackground",result="ok"} 1`, `rendercast_calls_total{name="camera.zoom",result="error"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if st := get("/status.json"); !strings.Contains(st, `"transport":"webrtc"`) {
		t.Errorf("/status.json lists no WebRTC session: %s", st)
	}

	// DELETE ends the session (token required); a second DELETE finds nothing.
	del := func(token string) int {
		req, _ := http.NewRequest(http.MethodDelete, "http://"+rs.httpAddr+c.location, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := del(""); code != http.StatusUnauthorized {
		t.Fatalf("DELETE without token: %d, want 401", code)
	}
	if code := del("s3cret"); code != http.StatusNoContent {
		t.Fatalf("DELETE: %d, want 204", code)
	}
	if code := del("s3cret"); code != http.StatusNotFound {
		t.Fatalf("second DELETE: %d, want 404", code)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(get("/metrics"), "rendercast_webrtc_sessions 0") {
		if time.Now().After(deadline) {
			t.Fatal("session still counted 10 s after DELETE")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestWHEPRefusals(t *testing.T) {
	rs := startStreamer(t, "-size", "320x180", "-token", "s3cret")
	api := newWHEPAPI(t)
	_, _, offer := whepOffer(t, api)
	base := "http://" + rs.httpAddr + "/whep/"
	cases := []struct {
		name, url, sdp, token string
		want                  int
	}{
		{"missing token", base + "demo", offer, "", http.StatusUnauthorized},
		{"wrong token", base + "demo", offer, "nope", http.StatusUnauthorized},
		{"bad SDP", base + "demo", "v=0\r\nthis is not SDP\r\n", "s3cret", http.StatusBadRequest},
		{"no H.264", base + "demo", strings.ReplaceAll(offer, "H264/90000", "VP8/90000"), "s3cret", http.StatusBadRequest},
		{"unknown scene", base + "nosuchscene", offer, "s3cret", http.StatusNotFound},
		{"token in the query", base + "nosuchscene?token=s3cret", offer, "", http.StatusNotFound},
	}
	for _, tc := range cases {
		status, hdr, body := postOffer(t, tc.url, tc.sdp, tc.token)
		if status != tc.want {
			t.Errorf("%s: %d %q, want %d", tc.name, status, body, tc.want)
		}
		if tc.want == http.StatusUnauthorized && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: no WWW-Authenticate: Bearer", tc.name)
		}
		if strings.Contains(body, "s3cret") {
			t.Errorf("%s: the answer shows the token", tc.name)
		}
	}
}

func TestWebRTCFlags(t *testing.T) {
	noEnv := func(string) string { return "" }
	c, err := parseConfig([]string{"-ice-servers", "stun:stun.example.org:3478, turn:alice:pw@turn.example.org:3478?transport=udp",
		"-webrtc-public-ip", "203.0.113.7", "-webrtc-ports", "50000-50100", "-window"}, noEnv, discard{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ICEServers) != 2 || c.ICEServers[0].URLs[0] != "stun:stun.example.org:3478" ||
		c.ICEServers[1].URLs[0] != "turn:turn.example.org:3478?transport=udp" || c.ICEServers[1].Username != "alice" || c.ICEServers[1].Credential != "pw" {
		t.Fatalf("ICE servers %+v", c.ICEServers)
	}
	if len(c.PublicIPs) != 1 || c.WebRTCPortMin != 50000 || c.WebRTCPortMax != 50100 || !c.Window {
		t.Fatalf("config %+v", c)
	}
	env := map[string]string{"STREAMER_WEBRTC_PORTS": "40000-40010"}
	if c, err := parseConfig(nil, func(k string) string { return env[k] }, discard{}); err != nil || c.WebRTCPortMin != 40000 {
		t.Fatalf("ports from the environment: %+v %v", c, err)
	}
	for _, args := range [][]string{
		{"-ice-servers", "http://x"}, {"-ice-servers", "stun:bob:secretpw@x:3478"}, {"-ice-servers", "turn:nopass@x"},
		{"-webrtc-public-ip", "example.org"}, {"-webrtc-ports", "9-8"}, {"-webrtc-ports", "0-10"}, {"-webrtc-ports", "1000"},
	} {
		_, err := parseConfig(args, noEnv, discard{})
		if err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("%v: %v, want an error naming the flag", args, err)
		} else if strings.Contains(err.Error(), "secretpw") {
			t.Errorf("%v: the error shows the TURN password: %v", args, err)
		}
	}
}
