package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"math"
	"math/bits"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/encode"
	"github.com/rendercast/rendercast/rtmpclient"
)

// An ActionScript 3 client as a Flash Player is one: NetConnection.objectEncoding 3, so
// connect goes out in AMF0 with objectEncoding 3 and every later command is an AMF3 command
// message (type 17) whose arguments are AMF3 behind the switch marker 0x11. Its encoder is
// written here from the AMF 3 specification and checked against npm's amf3-ts; the answers
// are read by amf3-ts, so nothing of the server's codec is used on the client side.

// asObject is an ActionScript anonymous object: members in order.
type asObject []asMember

type asMember struct {
	name  string
	value any
}

// flashAMF3 writes one AMF3 value: ints as integers (29-bit), float64 as doubles, strings
// once and then by reference, anonymous objects with their traits once and then by reference.
type flashAMF3 struct {
	b       []byte
	strings map[string]int
	traits  bool
}

func encodeFlashAMF3(v any) []byte {
	e := &flashAMF3{strings: map[string]int{}}
	e.value(v)
	return e.b
}

func (e *flashAMF3) u29(n int) {
	switch {
	case n < 1<<7:
		e.b = append(e.b, byte(n))
	case n < 1<<14:
		e.b = append(e.b, 0x80|byte(n>>7), byte(n)&0x7f)
	case n < 1<<21:
		e.b = append(e.b, 0x80|byte(n>>14), 0x80|byte(n>>7), byte(n)&0x7f)
	default:
		e.b = append(e.b, 0x80|byte(n>>22), 0x80|byte(n>>15), 0x80|byte(n>>8), byte(n))
	}
}

func (e *flashAMF3) str(s string) {
	if s == "" {
		e.b = append(e.b, 0x01)
		return
	}
	if i, ok := e.strings[s]; ok {
		e.u29(i << 1)
		return
	}
	e.strings[s] = len(e.strings)
	e.u29(len(s)<<1 | 1)
	e.b = append(e.b, s...)
}

func (e *flashAMF3) value(v any) {
	switch x := v.(type) {
	case nil:
		e.b = append(e.b, 0x01)
	case bool:
		if x {
			e.b = append(e.b, 0x03)
		} else {
			e.b = append(e.b, 0x02)
		}
	case int:
		if x < -1<<28 || x >= 1<<28 {
			e.value(float64(x))
			return
		}
		e.b = append(e.b, 0x04)
		e.u29(x & 0x1fffffff)
	case float64:
		e.b = binary.BigEndian.AppendUint64(append(e.b, 0x05), math.Float64bits(x))
	case string:
		e.b = append(e.b, 0x06)
		e.str(x)
	case []any:
		e.b = append(e.b, 0x09)
		e.u29(len(x)<<1 | 1)
		e.b = append(e.b, 0x01) // no named members
		for _, el := range x {
			e.value(el)
		}
	case asObject:
		if e.traits {
			e.b = append(e.b, 0x0a, 0x01) // traits reference 0
		} else {
			e.b = append(e.b, 0x0a, 0x0b, 0x01) // dynamic, no sealed members, class ""
			e.traits = true
		}
		for _, m := range x {
			e.str(m.name)
			e.value(m.value)
		}
		e.b = append(e.b, 0x01)
	default:
		panic(fmt.Sprintf("flashAMF3: %T", v))
	}
}

// amfJS runs rtmpsrv's npm cross-check script; missing node or packages fail the test.
func amfJS(t *testing.T, req map[string]any) (encoded map[string]string, decoded map[string]json.RawMessage) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found: scripts/setup.sh installs it (the AMF3 client test reads answers with npm's amf3-ts): %v", err)
	}
	dir, _ := filepath.Abs(filepath.Join("..", "..", "rtmpsrv", "testdata", "amfjs"))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "amf3-ts", "package.json")); err != nil {
		t.Fatalf("npm package amf3-ts missing in %s: run scripts/setup.sh (npm ci there): %v", dir, err)
	}
	in, _ := json.Marshal(req)
	cmd := exec.Command(node, "amf.js")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node amf.js: %v", err)
	}
	var res struct {
		Encoded map[string]string          `json:"encoded"`
		Decoded map[string]json.RawMessage `json:"decoded"`
		Errors  map[string]string          `json:"errors"`
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res.Errors) > 0 {
		t.Fatalf("node amf.js: %v %v", err, res.Errors)
	}
	return res.Encoded, res.Decoded
}

// flashClient drives the connection: it sends type-17 commands and reads answers, decoding
// the video that arrives meanwhile.
type flashClient struct {
	*rawClient
	t     *testing.T
	dec   *encode.Decoder
	pics  int
	last  *image.YCbCr
	video int
}

// answer is a type-17 _result, _error or onStatus: its name and its AMF3 value's bytes.
type answer struct {
	name string
	txid float64
	amf3 []byte
}

// parseAnswer reads a type-17 body: a zero byte, an AMF0 string and number, an AMF0 null,
// then the switch marker and one AMF3 value.
func parseAnswer(b []byte) (answer, error) {
	if len(b) < 4 || b[0] != 0 || b[1] != 0x02 {
		return answer{}, fmt.Errorf("not a zero byte and an AMF0 name: % x", b)
	}
	n := int(binary.BigEndian.Uint16(b[2:]))
	if len(b) < 4+n+9+2 || b[4+n] != 0x00 {
		return answer{}, fmt.Errorf("no AMF0 transaction id: % x", b)
	}
	a := answer{name: string(b[4 : 4+n]), txid: math.Float64frombits(binary.BigEndian.Uint64(b[5+n:]))}
	rest := b[13+n:]
	if rest[0] != 0x05 || rest[1] != 0x11 {
		return answer{}, fmt.Errorf("%s: want an AMF0 null then AMF3 (0x11), got % x", a.name, rest)
	}
	a.amf3 = rest[2:]
	return a, nil
}

func (c *flashClient) send(msid uint32, body []byte) {
	c.t.Helper()
	if err := c.write(rawMessage(17, msid, body)); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// command is a type-17 body as Flash writes a call: zero byte, AMF0 name and transaction id,
// AMF0 null, then each argument as AMF3 behind 0x11.
func command(name string, txid float64, args ...[]byte) []byte {
	b, _ := amf0.Data{name, txid, nil}.Marshal()
	b = append([]byte{0}, b...)
	for _, a := range args {
		b = append(append(b, 0x11), a...)
	}
	return b
}

// next reads one message, keeping the chunk size and decoding video.
func (c *flashClient) next() (typ uint8, body []byte, msid uint32) {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	m, err := c.r.Read()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	switch m.Type {
	case 1:
		c.r.SetChunkSize(binary.BigEndian.Uint32(m.Body))
	case 20:
		d, _ := amf0.Unmarshal(m.Body)
		c.t.Fatalf("an AMF0 command after connect for an AMF3 client: %v", d)
	case 9:
		c.video++
		tag, err := rtmpclient.ParseVideoTag(m.Body)
		if err != nil {
			c.t.Fatalf("video tag: %v", err)
		}
		switch tag.AVCPacketType {
		case rtmpclient.AVCSequenceHeader:
			if c.dec != nil {
				c.dec.Close()
			}
			if c.dec, err = encode.NewDecoder(tag.Payload); err != nil {
				c.t.Fatalf("decoder: %v", err)
			}
		case rtmpclient.AVCNALU:
			if c.dec == nil {
				c.t.Fatal("video before the sequence header")
			}
			ts := time.Duration(m.Timestamp) * time.Millisecond
			pics, err := c.dec.Decode(&avc.Frame{NALUs: tag.Payload, PTS: ts + tag.CompositionTime, DTS: ts})
			if err != nil {
				c.t.Fatalf("decode: %v", err)
			}
			if len(pics) > 0 {
				c.pics += len(pics)
				c.last = pics[len(pics)-1]
			}
		}
	}
	// gortmplib's reader keeps the message stream id in the wire's (little-endian) order.
	return m.Type, m.Body, bits.ReverseBytes32(m.MessageStreamID)
}

// call sends a call and returns its answer; the answer must be type 17.
func (c *flashClient) call(name string, txid float64, args ...[]byte) answer {
	c.t.Helper()
	c.send(0, command(name, txid, args...))
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		typ, body, _ := c.next()
		if typ != 17 {
			continue
		}
		a, err := parseAnswer(body)
		if err != nil {
			c.t.Fatalf("answer to %s: %v", name, err)
		}
		if a.txid == txid && (a.name == "_result" || a.name == "_error") {
			return a
		}
	}
	c.t.Fatalf("no answer to %s within 30 s", name)
	return answer{}
}

// picture returns a picture decoded after the call.
func (c *flashClient) picture() *image.YCbCr {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for n := c.pics; c.pics == n; {
		if time.Now().After(deadline) {
			c.t.Fatal("no picture within 30 s")
		}
		c.next()
	}
	return c.last
}

func TestAMF3FlashClient(t *testing.T) {
	rs := startStreamer(t, "-size", "320x180")
	c := &flashClient{rawClient: dialRawRTMP(t, rs.rtmpAddr, true), t: t}
	t.Cleanup(func() {
		if c.dec != nil {
			c.dec.Close()
		}
	})

	// The calls' arguments as Flash encodes them; first checked against amf3-ts and, for
	// camera.orbit, against bytes worked out by hand (30 is an AMF3 integer: 04 1e).
	args := map[string]any{
		"orbit":   asObject{{"dx", 30}, {"dy", 5.5}},
		"set":     asObject{{"eye", []any{0, 3, 9}}},
		"hide":    asObject{{"node", "torus"}, {"visible", false}},
		"badnode": asObject{{"node", "no such node"}, {"visible", true}},
		"zoom":    asObject{{"factor", 1.25}},
	}
	js := map[string]string{
		"orbit":   "({dx: 30, dy: 5.5})",
		"set":     "({eye: [0, 3, 9]})",
		"hide":    "({node: 'torus', visible: false})",
		"badnode": "({node: 'no such node', visible: true})",
		"zoom":    "({factor: 1.25})",
	}
	var enc []map[string]any
	for name, expr := range js {
		enc = append(enc, map[string]any{"name": name, "amf": 3, "js": expr})
	}
	npm, _ := amfJS(t, map[string]any{"encode": enc})
	wire := map[string][]byte{}
	for name, v := range args {
		wire[name] = encodeFlashAMF3(v)
		if got := hex.EncodeToString(wire[name]); got != npm[name] {
			t.Fatalf("%s: the test's AMF3 encoder writes %s, amf3-ts %s", name, got, npm[name])
		}
	}
	if want := "0a0b0105647804" + "1e" + "0564790540160000000000000" + "1"; hex.EncodeToString(wire["orbit"]) != want {
		t.Fatalf("camera.orbit arguments % x, want %s", wire["orbit"], want)
	}

	// connect: AMF0, objectEncoding 3, as Flash Player 32 sends it.
	connect, _ := amf0.Data{"connect", 1.0, amf0.Object{
		{Key: "app", Value: "live"}, {Key: "flashVer", Value: "WIN 32,0,0,465"},
		{Key: "swfUrl", Value: "http://example.test/viewer.swf"}, {Key: "tcUrl", Value: "rtmp://" + rs.rtmpAddr + "/live"},
		{Key: "fpad", Value: false}, {Key: "capabilities", Value: 239.0}, {Key: "audioCodecs", Value: 3575.0},
		{Key: "videoCodecs", Value: 252.0}, {Key: "videoFunction", Value: 1.0},
		{Key: "pageUrl", Value: "http://example.test/"}, {Key: "objectEncoding", Value: 3.0},
	}}.Marshal()
	c.write(rawMessage(20, 0, connect))
	if name, d := c.reply(1); name != "_result" || len(d) < 4 {
		t.Fatalf("connect: %s %v", name, d)
	} else if enc, _ := d[3].(amf0.Object).GetFloat64("objectEncoding"); enc != 3 {
		t.Fatalf("connect answered objectEncoding %v, want 3", enc)
	}

	// Everything after connect is AMF3: collect the answers, read them with amf3-ts at the end.
	var answers []answer
	ask := func(name string, txid float64, args ...[]byte) answer {
		a := c.call(name, txid, args...)
		answers = append(answers, a)
		return a
	}
	if a := ask("createStream", 2); a.name != "_result" || !bytes.Equal(a.amf3, []byte{0x04, 0x01}) {
		t.Fatalf("createStream: %s % x, want _result with the integer 1", a.name, a.amf3)
	}
	c.send(1, command("play", 0, []byte{0x06, 0x09, 'd', 'e', 'm', 'o'}))
	var statuses []answer
	deadline := time.Now().Add(30 * time.Second)
	for started := false; !started; {
		if time.Now().After(deadline) {
			t.Fatalf("no NetStream.Play.Start within 30 s (statuses: %d)", len(statuses))
		}
		typ, body, msid := c.next()
		if typ != 17 || msid != 1 {
			continue
		}
		a, err := parseAnswer(body)
		if err != nil {
			t.Fatalf("status: %v", err)
		}
		statuses = append(statuses, a)
		started = bytes.Contains(a.amf3, []byte("NetStream.Play.Start"))
	}
	for range 5 {
		c.picture()
	}
	before := c.picture()
	if b := before.Bounds(); b.Dx() != 320 || b.Dy() != 180 {
		t.Fatalf("picture %v, want 320x180", b)
	}

	get0 := ask("camera.get", 3)
	orbit := ask("camera.orbit", 4, wire["orbit"])
	set := ask("camera.set", 5, wire["set"])
	get1 := ask("camera.get", 6)
	for range 10 { // let frames rendered after the camera moves arrive
		c.picture()
	}
	goldBefore := goldPixels(c.picture())
	hide := ask("scene.setVisible", 7, wire["hide"])
	goldAfter := goldBefore
	for range 60 {
		if goldAfter = goldPixels(c.picture()); goldAfter < goldBefore/4 {
			break
		}
	}
	if goldBefore < 300 || goldAfter >= goldBefore/4 {
		t.Fatalf("gold pixels around the torus: %d before hiding it, %d after (want >= 300, then under a quarter)", goldBefore, goldAfter)
	}
	bad := ask("scene.setVisible", 8, wire["badnode"])
	zoom := ask("camera.zoom", 9, wire["zoom"])
	for _, a := range []answer{get0, orbit, set, get1, hide, zoom} {
		if a.name != "_result" {
			t.Fatalf("txid %v: %s", a.txid, a.name)
		}
	}
	if bad.name != "_error" {
		t.Fatalf("scene.setVisible of an unknown node: %s", bad.name)
	}

	// The answers, as amf3-ts reads them.
	var dec []map[string]any
	all := append(answers, statuses...)
	for i, a := range all {
		dec = append(dec, map[string]any{"name": fmt.Sprint(i), "amf": 3, "hex": hex.EncodeToString(a.amf3)})
	}
	_, decoded := amfJS(t, map[string]any{"decode": dec})
	read := func(a answer) map[string]any {
		for i := range all {
			if all[i].txid == a.txid && all[i].name == a.name && bytes.Equal(all[i].amf3, a.amf3) {
				var m map[string]any
				if err := json.Unmarshal(decoded[fmt.Sprint(i)], &m); err != nil {
					t.Fatalf("answer %v as amf3-ts reads it (%s): %v", a.txid, decoded[fmt.Sprint(i)], err)
				}
				return m
			}
		}
		t.Fatalf("answer %v not found", a.txid)
		return nil
	}
	for i := range statuses {
		var m map[string]any
		json.Unmarshal(decoded[fmt.Sprint(len(answers)+i)], &m)
		if m["level"] != "status" || m["details"] != "demo" {
			t.Fatalf("onStatus %d as amf3-ts reads it: %v", i, m)
		}
	}
	c0, co, cs, c1 := read(get0), read(orbit), read(set), read(get1)
	near := func(a, b any, d float64) bool {
		x, ok1 := a.(float64)
		y, ok2 := b.(float64)
		return ok1 && ok2 && math.Abs(x-y) < d
	}
	yaw := math.Mod(c0["yaw"].(float64)+30+540, 360) - 180
	if !near(math.Mod(co["yaw"].(float64)+540, 360)-180, yaw, 0.01) || !near(co["pitch"], c0["pitch"].(float64)+5.5, 0.01) {
		t.Fatalf("camera.orbit {dx: 30, dy: 5.5}: yaw, pitch %v, %v -> %v, %v", c0["yaw"], c0["pitch"], co["yaw"], co["pitch"])
	}
	if want := []any{0.0, 3.0, 9.0}; !reflect.DeepEqual(cs["eye"], want) || !reflect.DeepEqual(c1["eye"], want) {
		t.Fatalf("camera.set {eye: [0, 3, 9]}: answered eye %v, then camera.get %v", cs["eye"], c1["eye"])
	}
	if v, ok := read(hide)["version"].(float64); !ok || v < 1 {
		t.Fatalf("scene.setVisible answered %v", read(hide))
	}
	if e := read(bad); e["level"] != "error" || !strings.Contains(fmt.Sprint(e["description"]), "node") {
		t.Fatalf("scene.setVisible of an unknown node: %v", e)
	}
	if !near(read(zoom)["distance"], cs["distance"].(float64)*1.25, 0.01) && !near(read(zoom)["distance"], cs["distance"].(float64)/1.25, 0.01) {
		t.Fatalf("camera.zoom 1.25: distance %v -> %v", cs["distance"], read(zoom)["distance"])
	}
	for c.pics < 60 { // and the video goes on
		c.picture()
	}
	t.Logf("%d video messages, %d pictures decoded; camera %v -> %v; gold pixels %d -> %d", c.video, c.pics, c0["eye"], c1["eye"], goldBefore, goldAfter)
}

// goldPixels counts the pixels where the demo's gold torus stands (above the plinth, in the
// middle of the picture) that look like it: bright, and yellower than grey (blue-difference
// below neutral). The background is dark, the cone behind it teal.
func goldPixels(img *image.YCbCr) int {
	b := img.Bounds()
	n := 0
	for y := b.Dy() / 10; y < b.Dy()*55/100; y++ {
		for x := b.Dx() * 38 / 100; x < b.Dx()*62/100; x++ {
			if c := img.YCbCrAt(x, y); c.Y > 100 && c.Cb < 126 {
				n++
			}
		}
	}
	return n
}
