package whep

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rendercast/rendercast/avc"
)

var (
	testSPS = []byte{0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01}
	testPPS = []byte{0x68, 0xce, 0x3c, 0x80}
	testIDR = []byte{0x65, 0x88, 0x84, 0x00}
	testP   = []byte{0x41, 0x9a, 0x02}
)

func TestAnnexB(t *testing.T) {
	sc := []byte{0, 0, 0, 1}
	cat := func(parts ...[]byte) []byte { return bytes.Join(append([][]byte{nil}, parts...), nil) }
	cases := []struct {
		name string
		f    *avc.Frame
		want []byte
	}{
		{"IDR gets SPS and PPS first", &avc.Frame{NALUs: avc.AppendAVCC(nil, [][]byte{testIDR}), Keyframe: true},
			cat(sc, testSPS, sc, testPPS, sc, testIDR)},
		{"P-frame as is", &avc.Frame{NALUs: avc.AppendAVCC(nil, [][]byte{testP})}, cat(sc, testP)},
		{"in-band parameter sets are not repeated", &avc.Frame{NALUs: avc.AppendAVCC(nil, [][]byte{testSPS, testPPS, testIDR}), Keyframe: true},
			cat(sc, testSPS, sc, testPPS, sc, testIDR)},
	}
	for _, c := range cases {
		got, err := annexB(nil, c.f, [][]byte{testSPS}, [][]byte{testPPS})
		if err != nil || !bytes.Equal(got, c.want) {
			t.Errorf("%s: % x, %v; want % x", c.name, got, err, c.want)
		}
	}
	if _, err := annexB(nil, &avc.Frame{NALUs: avc.AppendAVCC(nil, [][]byte{testIDR}), Keyframe: true}, nil, nil); !errors.Is(err, avc.ErrNoParameterSets) {
		t.Errorf("IDR without parameter sets: %v", err)
	}
	if _, err := annexB(nil, &avc.Frame{NALUs: []byte{0, 0, 0, 9, 1}}, nil, nil); err == nil {
		t.Error("truncated AVCC accepted")
	}
}

func TestParseCall(t *testing.T) {
	cases := []struct {
		msg, name, id, errPart string
	}{
		{`{"id":1,"name":"camera.orbit","args":{"dx":10}}`, "camera.orbit", "1", ""},
		{`{"id":"a","name":"camera.get"}`, "camera.get", `"a"`, ""},
		{`{"id":2,"name":"camera.get","args":null}`, "camera.get", "2", ""},
		{`{"id":3,"args":{}}`, "", "3", "without a name"},
		{`{"id":4,"name":"x","args":[1,2]}`, "x", "4", "JSON object"},
		{`not json`, "", "", "not a JSON object"},
	}
	for _, c := range cases {
		id, name, args, err := parseCall([]byte(c.msg))
		if c.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), c.errPart) {
				t.Errorf("%s: %v, want an error with %q", c.msg, err, c.errPart)
			}
		} else if err != nil || name != c.name || args == nil {
			t.Errorf("%s: %q %v %v", c.msg, name, args, err)
		}
		if string(id) != c.id {
			t.Errorf("%s: id %q, want %q", c.msg, id, c.id)
		}
	}
	if _, _, _, err := parseCall(bytes.Repeat([]byte{' '}, maxCallSize+1)); err == nil {
		t.Error("oversized call accepted")
	}
	var ok, bad map[string]any
	json.Unmarshal(encodeResponse(json.RawMessage("7"), map[string]any{"yaw": 1.5}, nil), &ok)
	json.Unmarshal(encodeResponse(nil, nil, errors.New("boom")), &bad)
	if ok["id"] != 7.0 || ok["ok"] != true || ok["result"].(map[string]any)["yaw"] != 1.5 {
		t.Errorf("ok answer %v", ok)
	}
	if v, present := bad["id"]; !present || v != nil || bad["ok"] != false || bad["error"] != "boom" {
		t.Errorf("error answer %v", bad)
	}
	var enc map[string]any
	json.Unmarshal(encodeResponse(json.RawMessage("1"), func() {}, nil), &enc)
	if enc["ok"] != false || enc["error"] == nil {
		t.Errorf("unencodable result: %v", enc)
	}
}

// FuzzParseCall: any message gives either a call or an error, and the answer built from it
// is valid JSON echoing a valid id.
func FuzzParseCall(f *testing.F) {
	f.Add([]byte(`{"id":1,"name":"camera.orbit","args":{"dx":10}}`))
	f.Add([]byte(`{"id":null,"name":"","args":"x"}`))
	f.Add([]byte(`[1,2,3]`))
	f.Fuzz(func(t *testing.T, msg []byte) {
		id, name, args, err := parseCall(msg)
		if err == nil && (name == "" || args == nil) {
			t.Fatalf("accepted %q with name %q args %v", msg, name, args)
		}
		out := encodeResponse(id, args, err)
		if !json.Valid(out) {
			t.Fatalf("answer %q is not JSON", out)
		}
	})
}

// FuzzCheckOffer: the offer check never panics, and accepts only offers with H.264 video.
func FuzzCheckOffer(f *testing.F) {
	f.Add([]byte("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\na=rtpmap:102 H264/90000\r\n"))
	f.Add([]byte("v=0\r\n"))
	f.Fuzz(func(t *testing.T, offer []byte) {
		if err := checkOffer(offer); err != nil && !errors.Is(err, ErrBadOffer) {
			t.Fatalf("error %v does not wrap ErrBadOffer", err)
		}
	})
}

func TestConfigDefaultsAndChecks(t *testing.T) {
	ok := Config{Viewers: ViewerFactoryFunc(nil)}
	c, err := ok.withDefaults()
	if err != nil || c.Logger == nil || c.MaxSessions != DefaultMaxSessions || c.GatherTimeout != DefaultGatherTimeout ||
		c.ConnectTimeout != DefaultConnectTimeout || c.CallRate != 0 ||
		c.MinBitrate != DefaultMinBitrate || c.MaxBitrate != DefaultMaxBitrate || c.StartBitrate != DefaultStartBitrate {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	// The start stays within the bounds set.
	if c, err := (Config{Viewers: ok.Viewers, MinBitrate: 100_000, MaxBitrate: 800_000}).withDefaults(); err != nil || c.StartBitrate != 800_000 {
		t.Fatalf("start under a low ceiling: %d %v, want 800000", c.StartBitrate, err)
	}
	set := Config{Viewers: ok.Viewers, MaxSessions: 3, GatherTimeout: time.Second, ConnectTimeout: 2 * time.Second, CallRate: 5}
	if c, err := set.withDefaults(); err != nil || c.MaxSessions != 3 || c.GatherTimeout != time.Second || c.ConnectTimeout != 2*time.Second || c.CallRate != 5 {
		t.Fatalf("set values changed: %+v %v", c, err)
	}
	for name, bad := range map[string]Config{
		"no viewer factory": {},
		"half a range":      {Viewers: ok.Viewers, PortMin: 5000},
		"reversed range":    {Viewers: ok.Viewers, PortMin: 6000, PortMax: 5000},
		"bad public IP":     {Viewers: ok.Viewers, PublicIPs: []string{"example.org"}},
		"ICE no URLs":       {Viewers: ok.Viewers, ICEServers: []ICEServer{{}}},
		"min over max":      {Viewers: ok.Viewers, MinBitrate: 2_000_000, MaxBitrate: 1_000_000},
		"start over max":    {Viewers: ok.Viewers, MaxBitrate: 1_000_000, StartBitrate: 2_000_000},
		"negative bitrate":  {Viewers: ok.Viewers, MinBitrate: -1},
	} {
		if _, err := NewServer(bad); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: %v, want ErrInvalidConfig", name, err)
		}
	}
}

// WriteFrame's guard: nothing is queued before the peer connects; after the start, a drop
// or a bound track only a keyframe is taken; a full queue drops the frame and asks for a
// keyframe; a closed session takes nothing.
func TestWriteFrameKeyframeGuard(t *testing.T) {
	config, _ := avc.ConfigRecord([][]byte{testSPS}, [][]byte{testPPS})
	key := &avc.Frame{NALUs: avc.AppendAVCC(nil, [][]byte{testIDR}), Keyframe: true, Config: config}
	p := &avc.Frame{NALUs: avc.AppendAVCC(nil, [][]byte{testP})}
	s := &Session{queue: make(chan *avc.Frame, queueFrames)}
	s.wantKey.Store(true) // as newSession leaves it

	if !s.WriteFrame(key) || len(s.queue) != 0 {
		t.Fatal("a keyframe before the peer connected: queued, or no keyframe wanted")
	}
	s.connected = true
	if s.WriteFrame(nil) {
		t.Error("WriteFrame(nil) wants a keyframe")
	}
	if !s.WriteFrame(p) || len(s.queue) != 0 {
		t.Fatal("a P-frame before the first keyframe was queued, or no keyframe wanted")
	}
	if s.WriteFrame(key) || s.WriteFrame(p) || len(s.queue) != 2 || s.QueueFull() {
		t.Fatalf("keyframe then P-frame: %d queued, want 2 and no keyframe wanted", len(s.queue))
	}
	for len(s.queue) < queueFrames {
		if s.WriteFrame(p) {
			t.Fatal("a P-frame with room in the queue wanted a keyframe")
		}
	}
	if !s.QueueFull() {
		t.Fatal("QueueFull false with the queue full")
	}
	if !s.WriteFrame(p) || s.queueDrops.Load() != 1 || len(s.queue) != queueFrames {
		t.Fatalf("a P-frame on a full queue: not dropped or no keyframe wanted (drops %d)", s.queueDrops.Load())
	}
	<-s.queue // the writer sends one
	if !s.WriteFrame(p) || len(s.queue) != queueFrames-1 {
		t.Fatal("a P-frame after a drop was queued: its reference is missing")
	}
	if s.WriteFrame(key) || len(s.queue) != queueFrames {
		t.Fatal("the keyframe after a drop was not queued")
	}
	for range queueFrames - 1 {
		<-s.queue
	}
	if got := <-s.queue; got != key {
		t.Fatal("the queue does not keep the order written")
	}
	if s.WriteFrame(p) || len(s.queue) != 1 {
		t.Fatal("a P-frame after the recovery keyframe was not queued")
	}
	s.wantKey.Store(true) // the track was bound again, or a send failed
	if !s.WriteFrame(p) {
		t.Fatal("a P-frame while a keyframe is wanted was taken")
	}
	s.closed = true
	for len(s.queue) > 0 {
		<-s.queue
	}
	if !s.WriteFrame(key) || len(s.queue) != 0 {
		t.Fatal("a closed session queued a frame")
	}
}
