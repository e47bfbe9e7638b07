package rtmpsrv

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"
)

// The decoder and encoder are checked against AMF codecs not written here: the npm packages
// amf3-ts and amf0-ts (pinned in testdata/amfjs, installed by scripts/setup.sh), run by
// node. amf3-ts departs from the specification for sealed typed objects (it writes each
// member's name before its value), Dictionary (no weak-keys byte), Vector.<Object> (no fixed
// flag or type name) and negative Vector.<int> items, so those are checked by the
// hand-worked bytes in amf3decode_test.go only; and it starts new reference tables inside an
// externalizable object's writeExternal, so the contents of those cases hold no references.

type amfJSItem struct {
	Name string `json:"name"`
	AMF  int    `json:"amf"`
	JS   string `json:"js,omitempty"`
	Hex  string `json:"hex,omitempty"`
}

type amfJSResult struct {
	Encoded map[string]string          `json:"encoded"`
	Decoded map[string]json.RawMessage `json:"decoded"`
	Errors  map[string]string          `json:"errors"`
}

// runAMFJS runs testdata/amfjs/amf.js; a missing node or npm package fails the test.
func runAMFJS(t *testing.T, encode, decode []amfJSItem) amfJSResult {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found: scripts/setup.sh installs it (these tests check the AMF codec against npm's amf3-ts): %v", err)
	}
	dir, _ := filepath.Abs(filepath.Join("testdata", "amfjs"))
	for _, pkg := range []string{"amf3-ts", "amf0-ts"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("npm package %s missing in %s: run scripts/setup.sh (npm ci there): %v", pkg, dir, err)
		}
	}
	req, _ := json.Marshal(map[string][]amfJSItem{"encode": encode, "decode": decode})
	cmd := exec.Command(node, "amf.js")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(req)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node amf.js: %v\n%s", err, stderr.String())
	}
	var res amfJSResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("node amf.js output %q: %v", out, err)
	}
	return res
}

// What amf3-ts encodes from JavaScript values, our decoder reads as the same values; where our
// encoder would write the value the same way (no object references), the bytes are equal.
func TestAMF3DecodesWhatNPMEncodes(t *testing.T) {
	obj := func(kv ...any) amf0.Object {
		o := amf0.Object{}
		for i := 0; i < len(kv); i += 2 {
			o = append(o, amf0.ObjectEntry{Key: kv[i].(string), Value: kv[i+1]})
		}
		return o
	}
	a := obj("a", 1.0)
	cases := []struct {
		js        string
		want      any
		sameBytes bool
	}{
		{"0", 0.0, true},
		{"127", 127.0, true},
		{"128", 128.0, true},
		{"16383", 16383.0, true},
		{"16384", 16384.0, true},
		{"2097151", 2097151.0, true},
		{"2097152", 2097152.0, true},
		{"268435455", 268435455.0, true},
		{"-1", -1.0, true},
		{"-268435456", -268435456.0, true},
		{"268435456", 268435456.0, true},
		{"5.5", 5.5, true},
		{"-0.25", -0.25, true},
		{"'hi'", "hi", true},
		{"''", "", true},
		{"'x'.repeat(300)", strings.Repeat("x", 300), true},
		{"'grüße ✓'", "grüße ✓", true},
		{"null", nil, true},
		{"undefined", amf0.Undefined{}, true},
		{"true", true, true},
		{"false", false, true},
		{"({dx: 30, dy: 5.5})", obj("dx", 30.0, "dy", 5.5), true},
		{"({eye: [0, 3, 9]})", obj("eye", amf0.StrictArray{0.0, 3.0, 9.0}), true},
		{"({node: 'torus', visible: false})", obj("node", "torus", "visible", false), true},
		{"({a: {b: {c: [1, {d: 'e'}]}}})", obj("a", obj("b", obj("c", amf0.StrictArray{1.0, obj("d", "e")}))), true},
		{"['ab', 'ab', {ab: 'ab'}]", amf0.StrictArray{"ab", "ab", obj("ab", "ab")}, true},
		{"(() => { const o = {a: 1}; return [o, o, {b: o}]; })()", amf0.StrictArray{a, a, obj("b", a)}, false},
		{"mixed([1, 2], {k: 'v'})", amf0.ECMAArray{{Key: "0", Value: 1.0}, {Key: "1", Value: 2.0}, {Key: "k", Value: "v"}}, false},
		{"new Date(1e12)", time.UnixMilli(1e12).UTC(), true},
		{"new Date(-86400000)", time.UnixMilli(-86400000).UTC(), true},
		{"(() => { const d = new Date(5); return [d, d]; })()", amf0.StrictArray{time.UnixMilli(5).UTC(), time.UnixMilli(5).UTC()}, false},
		{"bytes([1, 2, 255])", []byte{1, 2, 255}, true},
		{"new Uint32Array([1, 4294967295])", amf0.StrictArray{1.0, 4294967295.0}, false},
		{"new Float64Array([1.5, -2])", amf0.StrictArray{1.5, -2.0}, false},
		{"new Int32Array([1, 2])", amf0.StrictArray{1.0, 2.0}, false},
		{"new ArrayCollection([1, 'a'])", amf0.StrictArray{1.0, "a"}, false},
		{"new ObjectProxy({a: 1})", a, false},
		{"[new ArrayCollection([{a: 1}]), new ObjectProxy({b: 'c'})]", amf0.StrictArray{amf0.StrictArray{a}, obj("b", "c")}, false},
	}
	var enc []amfJSItem
	for i, tc := range cases {
		enc = append(enc, amfJSItem{Name: string(rune('A' + i)), AMF: 3, JS: tc.js})
	}
	enc = append(enc, amfJSItem{Name: "unknown", AMF: 3, JS: "new Unknown()"})
	res := runAMFJS(t, enc, nil)
	for i, tc := range cases {
		name := string(rune('A' + i))
		h, ok := res.Encoded[name]
		if !ok {
			t.Errorf("%s: amf3-ts failed: %s", tc.js, res.Errors[name])
			continue
		}
		b, _ := hex.DecodeString(h)
		got, err := decode3(b, defaultAMFLimits())
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s (% x): decoded %#v %v, want %#v", tc.js, b, got, err, tc.want)
			continue
		}
		if tc.sameBytes {
			ours, err := appendAMF3(nil, tc.want)
			if err != nil || !bytes.Equal(ours, b) {
				t.Errorf("%s: we encode % x (%v), amf3-ts % x", tc.js, ours, err, b)
			}
		}
	}
	b, _ := hex.DecodeString(res.Encoded["unknown"])
	if _, err := decode3(b, defaultAMFLimits()); err == nil || !strings.Contains(err.Error(), `"com.example.Unknown"`) {
		t.Errorf("unknown externalizable class (% x): %v, want an error naming com.example.Unknown", b, err)
	}
}

// What our encoders write, amf3-ts and amf0-ts read as the values meant.
func TestAMFEncodingReadByNPM(t *testing.T) {
	type point struct {
		X, Y int
		Tag  string `amf:"tag"`
	}
	// amf0-ts reads neither strict arrays nor ECMA arrays with named keys: amf0 marks the
	// cases it can check.
	cases := []struct {
		v    any // a handler's value, through toAMF
		want string
		amf0 bool
	}{
		{nil, `null`, true},
		{Undefined{}, `{"$undefined":true}`, true},
		{map[string]any{"dx": 30, "dy": 5.5}, `{"dx":30,"dy":5.5}`, true},
		{statusObject("error", codeCallFailed, "bad"), `{"level":"error","code":"NetConnection.Call.Failed","description":"bad"}`, true},
		{[]any{"ab", "ab", map[string]string{"ab": "ab"}}, `["ab","ab",{"ab":"ab"}]`, false},
		{ECMAArray{{Key: "k", Value: true}}, `{"$array":{"k":true}}`, false},
		{point{X: -3, Y: 1 << 30, Tag: "t"}, `{"X":-3,"Y":1073741824,"tag":"t"}`, true},
		{time.UnixMilli(1e12), `{"$date":1000000000000}`, true},
		{[]byte{0, 1, 255}, `{"$bytes":"0001ff"}`, false},
		{[]float64{0.1, -268435456, 268435455, 268435456}, `[0.1,-268435456,268435455,268435456]`, false},
		{map[string]any{"eye": [3]float32{0, 3, 9}, "nested": map[string]any{"a": []any{nil, false}}}, `{"eye":[0,3,9],"nested":{"a":[null,false]}}`, false},
		{[]map[string]any{{"a": 1}, {"b": map[string]any{"c": 2}}, {"a": 3}}, `[{"a":1},{"b":{"c":2}},{"a":3}]`, false},
		{map[string]any{"when": time.UnixMilli(-1), "o": map[string]any{"x": "y"}}, `{"when":{"$date":-1},"o":{"x":"y"}}`, true},
	}
	var dec []amfJSItem
	for i, tc := range cases {
		v, err := toAMF(tc.v)
		if err != nil {
			t.Fatalf("%#v: %v", tc.v, err)
		}
		b3, err := appendAMF3(nil, v)
		if err != nil {
			t.Fatalf("%#v: AMF3: %v", tc.v, err)
		}
		dec = append(dec, amfJSItem{Name: "3" + string(rune('A'+i)), AMF: 3, Hex: hex.EncodeToString(b3)})
		if !tc.amf0 {
			continue
		}
		b0, err := appendAMF0(nil, v)
		if err != nil {
			t.Fatalf("%#v: AMF0: %v", tc.v, err)
		}
		dec = append(dec, amfJSItem{Name: "0" + string(rune('A'+i)), AMF: 0, Hex: hex.EncodeToString(b0)})
	}
	res := runAMFJS(t, nil, dec)
	for _, d := range dec {
		tc := cases[d.Name[1]-'A']
		got, ok := res.Decoded[d.Name]
		if !ok {
			t.Errorf("AMF%c %#v: the npm decoder failed on % s: %s", d.Name[0], tc.v, d.Hex, res.Errors[d.Name])
			continue
		}
		var g, w any
		json.Unmarshal(got, &g)
		json.Unmarshal([]byte(tc.want), &w)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("AMF%c %#v: npm read %s, want %s", d.Name[0], tc.v, got, tc.want)
		}
	}
}

// The AMF0 types gortmplib lacks, as amf0-ts writes them, decode as meant.
func TestAMF0DecodesWhatNPMEncodes(t *testing.T) {
	a := amf0.Object{{Key: "a", Value: 1.0}}
	cases := []struct {
		js   string
		want any
	}{
		{"new Date(1e12)", time.UnixMilli(1e12).UTC()},
		{"'x'.repeat(70000)", strings.Repeat("x", 70000)},
		{"new Person('a', 1)", amf0.Object{{Key: "name", Value: "a"}, {Key: "age", Value: 1.0}}},
		{"(() => { const o = {a: 1}; return {x: o, y: o}; })()", amf0.Object{{Key: "x", Value: a}, {Key: "y", Value: a}}},
		{"mixed([1], {k: 'v'})", amf0.ECMAArray{{Key: "0", Value: 1.0}, {Key: "k", Value: "v"}}},
		{"undefined", amf0.Undefined{}},
	}
	var enc []amfJSItem
	for i, tc := range cases {
		enc = append(enc, amfJSItem{Name: string(rune('A' + i)), AMF: 0, JS: tc.js})
	}
	res := runAMFJS(t, enc, nil)
	lim := defaultAMFLimits()
	lim.maxString = 70000
	for i, tc := range cases {
		name := string(rune('A' + i))
		b, _ := hex.DecodeString(res.Encoded[name])
		if len(b) == 0 {
			t.Errorf("%s: amf0-ts failed: %s", tc.js, res.Errors[name])
			continue
		}
		got, err := decodeAMF0(b, lim)
		if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], tc.want) {
			t.Errorf("%s (% .40x): decoded %#v %v, want %#v", tc.js, b, got, err, tc.want)
		}
	}
}
