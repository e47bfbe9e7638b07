package rtmpsrv

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"
)

// amf3Command is a type-17 body as a Flash Player writes it: a zero byte, name and
// transaction id in AMF0, a null command object, then every argument as AMF3 behind the
// switch marker. The arguments are raw AMF3 bytes (worked out by hand or from amf3-ts), not
// our encoder's.
func amf3Command(t testing.TB, name string, txid float64, args ...[]byte) []byte {
	t.Helper()
	b := append([]byte{0}, mustMarshal(t, name, txid, nil)...)
	for _, a := range args {
		b = append(append(b, amfAVMPlus), a...)
	}
	return b
}

// reply3 waits for the AMF3 (type 17) _result or _error of txid: its name, the value it
// carries (decoded by our decoder) and that value's raw AMF3 bytes. An AMF0 answer fails.
func (c *rawConn) reply3(txid float64) (string, any, []byte) {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		m, err := c.next(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("waiting for the AMF3 reply to transaction %v: %v", txid, err)
		}
		if m.typ == msgCommandAMF0 {
			if _, id, _, _, err := decodeCommand(m.body, false); err == nil && id == txid {
				c.t.Fatalf("transaction %v answered in AMF0 (type 20), want AMF3 (type 17)", txid)
			}
			continue
		}
		if m.typ != msgCommandAMF3 {
			continue
		}
		name, id, cmd, args, err := decodeCommand(m.body, true)
		if err != nil || id != txid || name != "_result" && name != "_error" {
			continue
		}
		// Zero byte, AMF0 name and id, AMF0 null, then the value behind 0x11.
		head := append([]byte{0}, mustMarshal(c.t, name, txid, nil)...)
		if cmd != nil || len(args) != 1 || !bytes.HasPrefix(m.body, head) || len(m.body) <= len(head) || m.body[len(head)] != amfAVMPlus {
			c.t.Fatalf("AMF3 reply to %v is not laid out as Flash reads it: % x", txid, m.body)
		}
		return name, args[0], m.body[len(head)+1:]
	}
	c.t.Fatalf("no reply to transaction %v", txid)
	return "", nil, nil
}

// status3 waits for an AMF3 onStatus with code on message stream msid.
func (c *rawConn) status3(msid uint32, code string) {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var seen []string
	for time.Now().Before(deadline) {
		m, err := c.next(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("waiting for %s (saw %v): %v", code, seen, err)
		}
		if m.typ == msgCommandAMF0 {
			if name, _, _, _, _ := decodeCommand(m.body, false); name == "onStatus" {
				c.t.Fatalf("onStatus in AMF0 for an AMF3 client: % x", m.body)
			}
		}
		if m.typ != msgCommandAMF3 || m.streamID != msid {
			continue
		}
		name, _, _, args, err := decodeCommand(m.body, true)
		if err != nil || name != "onStatus" || len(args) == 0 {
			continue
		}
		seen = append(seen, replyCode(args[0]))
		if replyCode(args[0]) == code {
			return
		}
	}
	c.t.Fatalf("no AMF3 onStatus %s (saw %v)", code, seen)
}

// An AMF3 client (connect in AMF0 with objectEncoding 3, then type-17 commands) gets its
// calls' arguments to the handler as the Go values AMF0 would give, and AMF3 answers; a
// malformed AMF3 command gets an _error and a log line, and another client goes on.
func TestAMF3ClientCallsAndAnswers(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	cfg := hostileConfig()
	cfg.IdleTimeout = 30 * time.Second
	cfg.Logger = slogTo(&logs)
	app := &hostileApp{clip: loadClip(t)}
	cfg.Codecs = app.codecs()
	got := make(chan []any, 10)
	handler := ConnectHandlerFunc(func(c *Conn, created bool, cmd Object, args []any) bool {
		app.HandleConnect(c, created, cmd, args)
		c.RegisterCallHandler(CallHandlerFunc(func(_ *Conn, _ string, _ any, args []any) (any, error) {
			got <- args
			return map[string]any{"ok": true, "n": 3, "x": 5.5, "when": time.UnixMilli(1e12), "raw": []byte{1, 2},
				"list": []any{"a", "a", nil}, "nested": map[string]any{"k": "a"}}, nil
		}), "record")
		c.RegisterCallHandler(CallHandlerFunc(func(*Conn, string, any, []any) (any, error) {
			return nil, &CallError{Code: "App.Refused", Description: "not now"}
		}), "refuse")
		c.RegisterCallHandler(CallHandlerFunc(func(*Conn, string, any, []any) (any, error) {
			return map[string]any{"": 1}, nil // AMF cannot carry an empty key
		}), "emptykey")
		return true
	})
	srv := startAppServer(t, cfg, handler, 10*time.Second)
	addr := srv.ListenAddr().String()

	// Arguments: hand-worked bytes and what amf3-ts writes.
	js := runAMFJS(t, []amfJSItem{
		{Name: "mixed", AMF: 3, JS: "({dx: 30, dy: 5.5, list: [1, 'a', true], when: new Date(1e12), raw: bytes([1, 2]), o: {n: null}})"},
		{Name: "ac", AMF: 3, JS: "new ArrayCollection([{node: 'torus', visible: true}])"},
	}, nil)
	fromJS := func(name string) []byte {
		b, err := hex.DecodeString(js.Encoded[name])
		if err != nil || len(b) == 0 {
			t.Fatalf("amf3-ts %s: %s", name, js.Errors[name])
		}
		return b
	}
	obj := func(kv ...any) amf0.Object {
		o := amf0.Object{}
		for i := 0; i < len(kv); i += 2 {
			o = append(o, amf0.ObjectEntry{Key: kv[i].(string), Value: kv[i+1]})
		}
		return o
	}
	calls := []struct {
		args [][]byte
		want []any
	}{
		{[][]byte{hx(t, "0a 0b 01 05 64 78 04 1e 05 64 79 05"+dbl(5.5)+"01")}, []any{obj("dx", 30.0, "dy", 5.5)}},
		{[][]byte{hx(t, "0a 0b 01 07 65 79 65 09 07 01 04 00 04 03 04 09 01")}, []any{obj("eye", amf0.StrictArray{0.0, 3.0, 9.0})}},
		{[][]byte{hx(t, "0a 0b 01 09 6e 6f 64 65 06 0b 74 6f 72 75 73 0f 76 69 73 69 62 6c 65 02 01")}, []any{obj("node", "torus", "visible", false)}},
		{[][]byte{hx(t, "04 1e"), hx(t, "06 05 68 69"), hx(t, "03"), hx(t, "01"), hx(t, "00")}, []any{30.0, "hi", true, nil, amf0.Undefined{}}},
		{[][]byte{fromJS("mixed")}, []any{obj("dx", 30.0, "dy", 5.5, "list", amf0.StrictArray{1.0, "a", true},
			"when", time.UnixMilli(1e12).UTC(), "raw", []byte{1, 2}, "o", obj("n", nil))}},
		{[][]byte{fromJS("ac")}, []any{amf0.StrictArray{obj("node", "torus", "visible", true)}}},
	}

	c := dialRaw(t, addr)
	c.handshake()
	connObj := connectObject(addr)
	connObj[3] = amf0.ObjectEntry{Key: "objectEncoding", Value: 3.0}
	c.mustCommand(0, "connect", 1, connObj)
	name, v := c.reply(1) // the connect answer is AMF0, and says AMF3
	if info, _ := v.(amf0.Object); name != "_result" || !reflect.DeepEqual(info[len(info)-1], amf0.ObjectEntry{Key: "objectEncoding", Value: 3.0}) {
		t.Fatalf("connect: %s %#v", name, v)
	}

	var replies []amfJSItem
	for i, call := range calls {
		txid := float64(10 + i)
		if err := c.send(3, msgCommandAMF3, 0, amf3Command(t, "record", txid, call.args...)); err != nil {
			t.Fatal(err)
		}
		name, _, raw := c.reply3(txid)
		if name != "_result" {
			t.Fatalf("call %d: %s", i, name)
		}
		select {
		case args := <-got:
			if !reflect.DeepEqual(args, call.want) {
				t.Errorf("call %d: the handler got\n%#v\nwant\n%#v", i, args, call.want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("call %d: the handler was not called", i)
		}
		replies = append(replies, amfJSItem{Name: "r" + string(rune('A'+i)), AMF: 3, Hex: hex.EncodeToString(raw)})
	}
	// The answers, read by amf3-ts: what the handler returned.
	res := runAMFJS(t, nil, replies)
	want := `{"list":["a","a",null],"n":3,"nested":{"k":"a"},"ok":true,"raw":{"$bytes":"0102"},"when":{"$date":1000000000000},"x":5.5}`
	for _, r := range replies {
		var g, w any
		json.Unmarshal(res.Decoded[r.Name], &g)
		json.Unmarshal([]byte(want), &w)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("answer %s as amf3-ts reads it: %s (%s), want %s", r.Name, res.Decoded[r.Name], res.Errors[r.Name], want)
		}
	}

	// Errors come in AMF3 too.
	c.send(3, msgCommandAMF3, 0, amf3Command(t, "refuse", 30))
	if name, v, _ := c.reply3(30); name != "_error" || replyCode(v) != "App.Refused" {
		t.Fatalf("refused call: %s %#v", name, v)
	}
	c.send(3, msgCommandAMF3, 0, amf3Command(t, "no.such.call", 31, hx(t, "01")))
	if name, v, _ := c.reply3(31); name != "_error" || !strings.Contains(replyDescription(v), "unknown procedure") {
		t.Fatalf("unknown call: %s %#v", name, v)
	}

	c.send(3, msgCommandAMF3, 0, amf3Command(t, "emptykey", 32))
	if name, v, _ := c.reply3(32); name != "_error" || !strings.Contains(replyDescription(v), "cannot be encoded") {
		t.Fatalf("an answer AMF cannot carry: %s %#v", name, v)
	}

	// Malformed AMF3: _error naming the problem, a log line, and the connection goes on.
	for i, bad := range [][]byte{
		hx(t, "04 ff ff"),                      // truncated U29
		hx(t, "06 00"),                         // string reference out of range
		hx(t, "0a 0b 01 03 61 0a 02 01"),       // object reference out of range
		hx(t, "0a ff ff ff f3 01"),             // trait count the bytes cannot hold
		nestedArrays3(1000),                    // recursion too deep
		hx(t, "0a 07 0d 53 65 63 72 65 74 00"), // unknown externalizable class
		hx(t, "11 03 00 04 01 04 02"),          // Dictionary with a number key
	} {
		txid := float64(40 + i)
		c.send(3, msgCommandAMF3, 0, amf3Command(t, "record", txid, bad))
		name, v, _ := c.reply3(txid)
		if name != "_error" || !strings.Contains(replyDescription(v), "malformed command") {
			t.Fatalf("malformed AMF3 % x: %s %#v", bad, name, v)
		}
	}
	select {
	case args := <-got:
		t.Fatalf("a malformed command reached the handler: %#v", args)
	default:
	}
	if n := strings.Count(logs.String(), "rtmp bad command"); n != 7 {
		t.Fatalf("%d log lines for 7 malformed commands:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), `\"Secret\"`) && !strings.Contains(logs.String(), `"Secret"`) {
		t.Fatalf("the log does not name the unknown class:\n%s", logs.String())
	}

	// Data messages (type 15) are decoded and logged, never run.
	c.send(5, msgDataAMF3, 1, append([]byte{0}, append(mustMarshal(t, "onCuePoint"), amfAVMPlus, 0x0a, 0x0b, 0x01, 0x03, 'a', 0x04, 0x01, 0x01)...))
	c.send(5, msgDataAMF3, 1, append([]byte{0}, append(mustMarshal(t, "onCuePoint"), amfAVMPlus, 0x06, 0x00)...))

	// createStream, play: AMF3 answers and status, then video.
	c.send(3, msgCommandAMF3, 0, amf3Command(t, "createStream", 50))
	name, v, _ = c.reply3(50)
	id, ok := v.(float64)
	if name != "_result" || !ok {
		t.Fatalf("createStream: %s %#v", name, v)
	}
	c.send(8, msgCommandAMF3, uint32(id), amf3Command(t, "play", 0, hx(t, "06 09 63 6c 69 70")))
	c.status3(uint32(id), codePlayStart)
	for video := 0; video < 10; {
		m, err := c.next(10 * time.Second)
		if err != nil {
			t.Fatalf("video after play (%d messages): %v", video, err)
		}
		if m.typ == msgVideo {
			video++
		}
	}
	waitFor(t, 5*time.Second, "data message log lines", func() bool {
		l := logs.String()
		return strings.Contains(l, "rtmp data message ignored") && strings.Contains(l, "rtmp bad data message")
	})

	// Another client, in AMF0, is unaffected; and this one still answers.
	c2 := dialRaw(t, addr)
	c2.connect()
	c2.requireOpen(2)
	if name, v := c2.call(3, "record", amf0.Object{{Key: "dx", Value: 30.0}}); name != "_result" {
		t.Fatalf("AMF0 client: %s %#v", name, v)
	}
	if args := <-got; !reflect.DeepEqual(args, []any{obj("dx", 30.0)}) {
		t.Fatalf("AMF0 client's arguments: %#v", args)
	}
	if name, v := c2.call(4, "emptykey"); name != "_error" || !strings.Contains(replyDescription(v), "cannot be encoded") {
		t.Fatalf("AMF0 client, an answer AMF cannot carry: %s %#v", name, v)
	}
	c.send(3, msgCommandAMF3, 0, amf3Command(t, "ping", 60))
	if name, v, _ := c.reply3(60); name != "_result" || v != "pong" {
		t.Fatalf("AMF3 ping after the malformed commands: %s %#v", name, v)
	}
	requireFreshViewer(t, addr)
}
