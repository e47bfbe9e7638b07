package whep

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

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

func TestBitrateFollowsEstimateWithinBounds(t *testing.T) {
	var mu sync.Mutex
	var set []int
	b := newBitrateControl(300_000, 4_000_000, func(bps int) error {
		mu.Lock()
		set = append(set, bps)
		mu.Unlock()
		return nil
	})
	last := func() int {
		mu.Lock()
		defer mu.Unlock()
		if len(set) == 0 {
			return 0
		}
		return set[len(set)-1]
	}
	steps := []struct {
		remb, want int
	}{
		{10_000_000, 0},        // above the ceiling: stays at 4 Mbit/s, no change
		{2_000_000, 1_700_000}, // 85 % of the estimate
		{1_980_000, 1_700_000}, // a small change is ignored
		{100_000, 300_000},     // never below the minimum
		{3_000_000, 2_550_000}, // back up
		{50_000_000, 4_000_000},
	}
	for _, s := range steps {
		if err := b.estimated(s.remb); err != nil {
			t.Fatal(err)
		}
		if got := last(); got != s.want {
			t.Fatalf("after REMB %d: encoder at %d, want %d", s.remb, got, s.want)
		}
	}
	if err := b.setCeiling(1_000_000); err != nil || last() != 1_000_000 {
		t.Fatalf("ceiling 1 Mbit/s: encoder at %d (%v)", last(), err)
	}
	if err := b.setCeiling(200_000); err != nil || last() != 200_000 {
		t.Fatalf("ceiling below the minimum: encoder at %d (%v)", last(), err)
	}
	if est, cur, ceil := b.figures(); est != 50_000_000 || cur != 200_000 || ceil != 200_000 {
		t.Fatalf("figures %d %d %d", est, cur, ceil)
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
	ok := Config{Viewers: ViewerFactoryFunc(nil), Codecs: EncoderFactoryFunc(nil)}
	c, err := ok.withDefaults()
	if err != nil || c.RenderRate != 30 || c.MinBitrate != DefaultMinBitrate || c.MaxBitrate != DefaultMaxBitrate || c.MaxSessions != 100 {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	for name, bad := range map[string]Config{
		"no factories":   {},
		"min above max":  {Viewers: ok.Viewers, Codecs: ok.Codecs, MinBitrate: 5, MaxBitrate: 1},
		"half a range":   {Viewers: ok.Viewers, Codecs: ok.Codecs, PortMin: 5000},
		"reversed range": {Viewers: ok.Viewers, Codecs: ok.Codecs, PortMin: 6000, PortMax: 5000},
		"bad public IP":  {Viewers: ok.Viewers, Codecs: ok.Codecs, PublicIPs: []string{"example.org"}},
		"ICE no URLs":    {Viewers: ok.Viewers, Codecs: ok.Codecs, ICEServers: []ICEServer{{}}},
	} {
		if _, err := NewServer(bad); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: %v, want ErrInvalidConfig", name, err)
		}
	}
}
