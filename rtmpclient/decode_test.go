package rtmpclient

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in                           string
		host, app, stream, tc, query string
		tls, err                     bool
	}{
		{in: "rtmp://127.0.0.1:1936/app/stream", host: "127.0.0.1:1936", app: "app", stream: "stream", tc: "rtmp://127.0.0.1:1936/app"},
		{in: "rtmp://example.com/live", host: "example.com:1935", app: "live", tc: "rtmp://example.com:1935/live"},
		{in: "rtmp://h/app/inst/name?token=x&y=1", host: "h:1935", app: "app/inst", stream: "name", query: "token=x&y=1", tc: "rtmp://h:1935/app/inst?token=x&y=1"},
		{in: "rtmp://[::1]:2000/a/b/", host: "[::1]:2000", app: "a", stream: "b", tc: "rtmp://[::1]:2000/a"},
		{in: "rtmp://h//app//s", host: "h:1935", app: "app", stream: "s", tc: "rtmp://h:1935/app"},
		{in: "rtmps://h/app/s", host: "h:443", app: "app", stream: "s", tc: "rtmps://h:443/app", tls: true},
		{in: "rtmps://127.0.0.1:1936/live/demo?token=t", host: "127.0.0.1:1936", app: "live", stream: "demo", query: "token=t", tc: "rtmps://127.0.0.1:1936/live?token=t", tls: true},
		{in: "rtmpt://h/app/s", err: true},
		{in: "http://h/app/s", err: true},
		{in: "rtmp:///app/s", err: true},
		{in: "rtmp://h", err: true},
		{in: "rtmp://h/", err: true},
		{in: "rtmp://user:pw@h/app/s", err: true},
		{in: "rtmp://h:bad/app", err: true},
		{in: "::", err: true},
	} {
		u, err := ParseURL(tc.in)
		if tc.err {
			if !errors.Is(err, ErrBadURL) {
				t.Errorf("ParseURL(%q) = %+v, %v; want ErrBadURL", tc.in, u, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tc.in, err)
			continue
		}
		if u.Host != tc.host || u.App != tc.app || u.Stream != tc.stream || u.TCURL != tc.tc || u.Query != tc.query || u.TLS != tc.tls {
			t.Errorf("ParseURL(%q) = %+v", tc.in, u)
		}
	}
}

func TestParseVideoTag(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want VideoTag
		err  bool
	}{
		{"sequence header", []byte{0x17, 0, 0, 0, 0, 1, 2}, VideoTag{FrameType: 1, Codec: 7, Keyframe: true, AVCPacketType: 0, Payload: []byte{1, 2}}, false},
		{"inter NALU with cts", []byte{0x27, 1, 0, 0, 0x42, 9}, VideoTag{FrameType: 2, Codec: 7, AVCPacketType: 1, CompositionTime: 66 * time.Millisecond, Payload: []byte{9}}, false},
		{"negative cts", []byte{0x27, 1, 0xff, 0xff, 0xdf}, VideoTag{FrameType: 2, Codec: 7, AVCPacketType: 1, CompositionTime: -33 * time.Millisecond, Payload: []byte{}}, false},
		{"end of sequence", []byte{0x17, 2, 0, 0, 0}, VideoTag{FrameType: 1, Codec: 7, Keyframe: true, AVCPacketType: 2, Payload: []byte{}}, false},
		{"other codec", []byte{0x22, 5, 6}, VideoTag{FrameType: 2, Codec: 2, Payload: []byte{5, 6}}, false},
		{"empty", nil, VideoTag{}, true},
		{"short AVC", []byte{0x17, 1, 0}, VideoTag{}, true},
		{"bad AVC packet type", []byte{0x17, 3, 0, 0, 0}, VideoTag{}, true},
		{"enhanced RTMP", []byte{0x90, 'a', 'v', 'c', '1'}, VideoTag{}, true},
	} {
		got, err := ParseVideoTag(tc.in)
		if tc.err {
			if !errors.Is(err, ErrBadVideoTag) {
				t.Errorf("%s: ParseVideoTag = %+v, %v; want ErrBadVideoTag", tc.name, got, err)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: ParseVideoTag = %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

func TestDecodeUserControl(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want userControl
		err  bool
	}{
		{[]byte{0, 0, 0, 0, 0, 1}, userControl{Event: ucStreamBegin, StreamID: 1}, false},
		{[]byte{0, 1, 0, 0, 0, 2}, userControl{Event: ucStreamEOF, StreamID: 2}, false},
		{[]byte{0, 3, 0, 0, 0, 1, 0, 0, 0x0b, 0xb8}, userControl{Event: ucSetBufferLength, StreamID: 1, Value: 3000}, false},
		{[]byte{0, 6, 0x12, 0x34, 0x56, 0x78}, userControl{Event: ucPingRequest, Value: 0x12345678}, false},
		{[]byte{0, 31, 1, 2}, userControl{Event: 31}, false}, // unknown, tolerated
		{[]byte{0}, userControl{}, true},
		{[]byte{0, 0, 0, 0}, userControl{}, true},
		{[]byte{0, 3, 0, 0, 0, 1}, userControl{}, true},
		{[]byte{0, 6, 1}, userControl{}, true},
	} {
		got, err := decodeUserControl(tc.in)
		if tc.err {
			if !errors.Is(err, ErrBadUserControl) {
				t.Errorf("decodeUserControl(% x) = %+v, %v; want ErrBadUserControl", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("decodeUserControl(% x) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		// What the client writes decodes to what it meant.
		if tc.want.Event <= ucPingResponse && tc.want.Event != 5 {
			back, err := decodeUserControl(userControlMessage(tc.want).Body)
			if err != nil || back != tc.want {
				t.Errorf("round trip of %+v = %+v, %v", tc.want, back, err)
			}
		}
	}
}

func mustMarshal(t testing.TB, d amf0.Data) []byte {
	t.Helper()
	b, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeCommand(t *testing.T) {
	result := mustMarshal(t, amf0.Data{"_result", 2.0, nil, 3.5, "x"})
	for _, tc := range []struct {
		name string
		typ  uint8
		in   []byte
		want string
		err  bool
	}{
		{"AMF0", typeCommandAMF0, result, "_result 2 <nil> [3.5 x]", false},
		{"AMF3 wrapped", typeCommandAMF3, append([]byte{0}, result...), "_result 2 <nil> [3.5 x]", false},
		{"AMF3 unwrapped", typeCommandAMF3, result, "_result 2 <nil> [3.5 x]", false},
		{"no object", typeCommandAMF0, mustMarshal(t, amf0.Data{"close", 0.0}), "close 0 <nil> []", false},
		{"object", typeCommandAMF0, mustMarshal(t, amf0.Data{"connect", 1.0, amf0.Object{{Key: "app", Value: "a"}}}), "connect 1 [{app a}] []", false},
		{"name not a string", typeCommandAMF0, mustMarshal(t, amf0.Data{1.0, 1.0}), "", true},
		{"no transaction id", typeCommandAMF0, mustMarshal(t, amf0.Data{"x"}), "", true},
		{"transaction id not a number", typeCommandAMF0, mustMarshal(t, amf0.Data{"x", "1"}), "", true},
		{"truncated", typeCommandAMF0, result[:len(result)-1], "", true},
		{"empty", typeCommandAMF0, nil, "", true},
		{"wrong type", typeVideo, result, "", true},
	} {
		c, err := decodeCommand(tc.typ, tc.in)
		if tc.err {
			if !errors.Is(err, ErrBadCommand) {
				t.Errorf("%s: decodeCommand = %+v, %v; want ErrBadCommand", tc.name, c, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := fmt.Sprintf("%s %v %v %v", c.Name, c.TransactionID, c.Object, c.Args); got != tc.want {
			t.Errorf("%s: decodeCommand = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestDecodeData(t *testing.T) {
	meta := amf0.ECMAArray{{Key: "width", Value: 1280.0}}
	for _, tc := range []struct {
		typ  uint8
		in   []byte
		name string
	}{
		{typeDataAMF0, mustMarshal(t, amf0.Data{"onMetaData", meta}), "onMetaData"},
		{typeDataAMF0, mustMarshal(t, amf0.Data{"@setDataFrame", "onMetaData", meta}), "onMetaData"},
		{typeDataAMF3, append([]byte{0}, mustMarshal(t, amf0.Data{"onMetaData", meta})...), "onMetaData"},
	} {
		name, vals, err := decodeData(tc.typ, tc.in)
		if err != nil || name != tc.name || len(vals) != 1 {
			t.Errorf("decodeData = %q %v %v", name, vals, err)
			continue
		}
		d := DataMessage{Name: name, Values: vals}
		if w, _ := d.Object().GetFloat64("width"); w != 1280 {
			t.Errorf("width = %v", w)
		}
	}
	if _, _, err := decodeData(typeDataAMF0, mustMarshal(t, amf0.Data{1.0})); !errors.Is(err, ErrBadCommand) {
		t.Errorf("numeric name: %v, want ErrBadCommand", err)
	}
	if _, _, err := decodeData(typeDataAMF0, nil); !errors.Is(err, ErrBadCommand) {
		t.Errorf("empty: %v, want ErrBadCommand", err)
	}
}

func TestAMFValue(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		{int(3), "3"},
		{uint8(4), "4"},
		{float32(0.5), "0.5"},
		{map[string]any{"b": 1, "a": "x"}, "[{a x} {b 1}]"},
		{[]any{1, "s", nil, true}, "[1 s <nil> true]"},
		{amf0.Object{{Key: "n", Value: []float64{1, 2}}}, "[{n [1 2]}]"},
		{amf0.ECMAArray{{Key: "n", Value: int64(1)}}, "[{n 1}]"},
	} {
		got, err := amfValue(tc.in)
		if err != nil || fmt.Sprint(got) != tc.want {
			t.Errorf("amfValue(%#v) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
		// Whatever amfValue returns, amf0 can encode.
		if _, err := (amf0.Data{got}).Marshal(); err != nil {
			t.Errorf("amfValue(%#v) result does not marshal: %v", tc.in, err)
		}
	}
	for _, bad := range []any{struct{}{}, []int{1}, map[int]any{}, amf0.Object{{Key: "k", Value: make(chan int)}}, string(make([]byte, 70000))} {
		if _, err := amfValue(bad); !errors.Is(err, ErrUnsupportedValue) {
			t.Errorf("amfValue(%T) error %v, want ErrUnsupportedValue", bad, err)
		}
	}
}

func TestStreamIDSwap(t *testing.T) {
	for id, wire := range map[uint32]uint32{0: 0, 1: 0x01000000, 0x0102: 0x02010000} {
		if got := wireStreamID(id); got != wire {
			t.Errorf("wireStreamID(%#x) = %#x, want %#x", id, got, wire)
		}
		if back := wireStreamID(wire); back != id {
			t.Errorf("wireStreamID(%#x) = %#x, want %#x", wire, back, id)
		}
	}
}
