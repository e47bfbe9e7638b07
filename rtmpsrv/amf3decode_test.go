package rtmpsrv

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"
)

// hx turns "0a 0b 01" into bytes.
func hx(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// decode3 decodes one AMF3 value that must fill b.
func decode3(b []byte, lim amfLimits) (any, error) {
	d := newAMFDecoder(b, lim)
	v, err := d.amf3(0)
	if err == nil && d.more() {
		return nil, d.errf3("%d bytes after the value", len(d.b)-d.off)
	}
	return v, err
}

func dbl(f float64) string {
	return hex.EncodeToString(amf0Number(f))
}

func amf0Number(f float64) []byte {
	b, _ := appendAMF0(nil, f)
	return b[1:]
}

// The U29 edge cases of the specification (1.3.1), as AMF3 integers: the byte sequences are
// worked out by hand from the encoding's table (7, 14, 21 bits, then 29 with a full last byte)
// and the sign rule (3.6: 29-bit two's complement).
func TestAMF3IntegerU29EdgeCases(t *testing.T) {
	cases := []struct {
		bytes string
		want  float64
	}{
		{"04 00", 0},
		{"04 7f", 0x7f},
		{"04 81 00", 0x80},
		{"04 ff 7f", 0x3fff},
		{"04 81 80 00", 0x4000},
		{"04 ff ff 7f", 0x1fffff},
		{"04 80 c0 80 00", 0x200000},
		{"04 bf ff ff ff", 0x0fffffff},
		{"04 ff ff ff ff", -1},
		{"04 ff ff ff fe", -2},
		{"04 c0 80 80 00", -1 << 28},
		{"04 1e", 30},
	}
	for _, tc := range cases {
		b := hx(t, tc.bytes)
		got, err := decode3(b, defaultAMFLimits())
		if err != nil || got != tc.want {
			t.Errorf("%s: decoded %v %v, want %v", tc.bytes, got, err, tc.want)
		}
		// Our encoder writes the same bytes (integral numbers in range go out as integers).
		enc, err := appendAMF3(nil, tc.want)
		if err != nil || !bytes.Equal(enc, b) {
			t.Errorf("%v: encoded % x %v, want % x", tc.want, enc, err, b)
		}
	}
	// Out of the 29-bit range, fractional, or -0: doubles.
	for _, f := range []float64{1 << 28, -1<<28 - 1, 5.5, math.Copysign(0, -1), math.Inf(1)} {
		enc, _ := appendAMF3(nil, f)
		if len(enc) != 9 || enc[0] != amf3Double {
			t.Errorf("%v: encoded % x, want a double", f, enc)
		}
	}
}

// Byte sequences worked out by hand from the specification, one per type and reference rule.
func TestAMF3DecodeHandWorked(t *testing.T) {
	date := time.UnixMilli(1_000_000_000_000).UTC()
	obj := func(kv ...any) amf0.Object {
		o := amf0.Object{}
		for i := 0; i < len(kv); i += 2 {
			o = append(o, amf0.ObjectEntry{Key: kv[i].(string), Value: kv[i+1]})
		}
		return o
	}
	cases := []struct {
		name  string
		bytes string
		want  any
	}{
		{"undefined", "00", amf0.Undefined{}},
		{"null", "01", nil},
		{"false", "02", false},
		{"true", "03", true},
		{"double 5.5", "05" + dbl(5.5), 5.5},
		{"string", "06 05 68 69", "hi"},
		{"empty string", "06 01", ""},
		// 3.8: a string sent once, then by reference (index 0: U29S-ref 0<<1).
		{"string reference", "09 05 01 06 05 61 62 06 00", amf0.StrictArray{"ab", "ab"}},
		// The empty string is never put in the table: reference 0 is "a".
		{"empty string not referenced", "09 07 01 06 01 06 03 61 06 00", amf0.StrictArray{"", "a", "a"}},
		// Object keys and string values share the table.
		{"key reused as value", "0a 0b 01 03 61 06 00 01", obj("a", "a")},
		// 3.12: anonymous dynamic object: traits 0x0b (inline, dynamic, 0 sealed), class "".
		{"camera.orbit arguments", "0a 0b 01 05 64 78 04 1e 05 64 79 05" + dbl(5.5) + " 01",
			obj("dx", 30.0, "dy", 5.5)},
		{"camera.set arguments", "0a 0b 01 07 65 79 65 09 07 01 04 00 04 03 04 09 01",
			obj("eye", amf0.StrictArray{0.0, 3.0, 9.0})},
		{"scene.setVisible arguments", "0a 0b 01 09 6e 6f 64 65 06 0b 74 6f 72 75 73 0f 76 69 73 69 62 6c 65 02 01",
			obj("node", "torus", "visible", false)},
		// Typed object with sealed and dynamic members: traits 0x1b = 1 sealed << 4 | dynamic
		// 8 | inline 2 | 1; class "P", sealed "x"; x = 1; dynamic y = 2.
		{"sealed and dynamic", "0a 1b 03 50 03 78 04 01 03 79 04 02 01", obj("x", 1.0, "y", 2.0)},
		// A second object of the same class by traits reference (U29O-traits-ref 0: 0x01).
		{"traits reference", "09 05 01 0a 13 03 50 03 78 04 01 0a 01 04 02",
			amf0.StrictArray{obj("x", 1.0), obj("x", 2.0)}},
		// Object reference: the array is object 0, {a: 1} object 1 (U29O-ref 1<<1).
		{"object reference", "09 05 01 0a 0b 01 03 61 04 01 01 0a 02",
			amf0.StrictArray{obj("a", 1.0), obj("a", 1.0)}},
		// 3.11: associative part first (k: "v"), then 2 dense values.
		{"array with named keys", "09 05 03 6b 06 03 76 01 04 01 04 02",
			amf0.ECMAArray{{Key: "0", Value: 1.0}, {Key: "1", Value: 2.0}, {Key: "k", Value: "v"}}},
		{"array with only named keys", "09 01 03 6b 06 03 76 01", amf0.ECMAArray{{Key: "k", Value: "v"}}},
		{"empty array", "09 01 01", amf0.StrictArray{}},
		// 3.10: U29D-value 1, then ms as a double; then a reference to it (object 1).
		{"date", "08 01" + dbl(1e12), date},
		{"date reference", "09 05 01 08 01" + dbl(1e12) + "08 02", amf0.StrictArray{date, date}},
		{"date before 1970", "08 01" + dbl(-1), time.UnixMilli(-1).UTC()},
		{"bytearray", "0c 07 01 02 ff", []byte{1, 2, 255}},
		{"empty bytearray", "0c 01", []byte{}},
		{"bytearray reference", "09 05 01 0c 03 07 0c 02", amf0.StrictArray{[]byte{7}, []byte{7}}},
		{"xml", "0b 09 3c 61 2f 3e", "<a/>"},
		{"xmldocument", "07 09 3c 61 2f 3e", "<a/>"},
		// 3.15: U29V-value 2, fixed flag, items.
		{"vector int", "0d 05 00 00 00 00 01 ff ff ff ff", amf0.StrictArray{1.0, -1.0}},
		{"vector uint", "0e 03 01 ff ff ff ff", amf0.StrictArray{4294967295.0}},
		{"vector double", "0f 03 00" + dbl(1.5), amf0.StrictArray{1.5}},
		{"vector object", "10 05 00 01 06 03 61 04 07", amf0.StrictArray{"a", 7.0}},
		{"vector of String", "10 05 00 0d 53 74 72 69 6e 67 06 03 61 06 02", amf0.StrictArray{"a", "a"}},
		// 3.16: U29Dict-value 1, weak keys flag, then key and value as AMF3 values.
		{"dictionary", "11 03 00 06 03 61 04 01", obj("a", 1.0)},
		{"dictionary reference", "09 05 01 11 03 01 06 03 61 04 01 11 02",
			amf0.StrictArray{obj("a", 1.0), obj("a", 1.0)}},
		// Externalizable (traits 0x07) Flex wrappers: their one value.
		{"ArrayCollection", "0a 07 43" + hex.EncodeToString([]byte(flexArrayCollection)) + "09 05 01 04 01 06 03 61",
			amf0.StrictArray{1.0, "a"}},
		{"ObjectProxy", "0a 07 3b" + hex.EncodeToString([]byte(flexObjectProxy)) + "0a 0b 01 03 61 04 01 01",
			obj("a", 1.0)},
	}
	for _, tc := range cases {
		got, err := decode3(hx(t, tc.bytes), defaultAMFLimits())
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: decoded\n%#v\nwant\n%#v", tc.name, got, tc.want)
		}
	}
}

// nestedArrays3 returns n AMF3 arrays nested in one another.
func nestedArrays3(n int) []byte {
	var b []byte
	for range n {
		b = append(b, amf3Array, 0x03, 0x01) // one dense value, no named ones
	}
	return append(b, amf3Null)
}

// Malformed AMF3 of every kind is an error, never a panic or a large allocation.
func TestAMF3DecodeMalformed(t *testing.T) {
	// An array of 101 references to an array of 100 values: 10,000 values from 500 bytes.
	bomb := []byte{amf3Array, 0x81, 0x4b, 0x01, amf3Array, 0x81, 0x49, 0x01}
	bomb = append(bomb, bytes.Repeat([]byte{amf3Null}, 100)...)
	bomb = append(bomb, bytes.Repeat([]byte{amf3Array, 0x02}, 100)...)
	// A string of 8000 bytes, then 200 references to it: 1.6 MB of strings.
	strBomb := append([]byte{amf3Array, 0x83, 0x13, 0x01, amf3String, 0xfd, 0x01}, bytes.Repeat([]byte{'s'}, 8000)...)
	for range 200 {
		strBomb = append(strBomb, amf3String, 0x00)
	}
	cases := []struct {
		name  string
		bytes []byte
		want  error
	}{
		{"nothing", nil, ErrProtocol},
		{"truncated U29 integer", hx(t, "04 ff ff"), ErrProtocol},
		{"truncated U29 length", hx(t, "06 80"), ErrProtocol},
		{"truncated double", hx(t, "05 40 16"), ErrProtocol},
		{"string shorter than announced", hx(t, "06 07 61"), ErrProtocol},
		{"string reference out of range", hx(t, "06 00"), ErrProtocol},
		{"string reference out of range in a key", hx(t, "0a 0b 01 02 04 01 01"), ErrProtocol},
		{"object reference out of range", hx(t, "0a 00"), ErrProtocol},
		{"array reference out of range", hx(t, "09 05 01 09 04"), ErrProtocol},
		{"traits reference out of range", hx(t, "0a 05"), ErrProtocol},
		{"date reference out of range", hx(t, "08 02"), ErrProtocol},
		{"object referring to itself", hx(t, "0a 0b 01 03 61 0a 00 01"), ErrProtocol},
		{"trait count too large", hx(t, "0a ff ff ff f3 01"), ErrProtocol},
		{"array count too large", hx(t, "09 ff ff ff ff 01 01"), ErrProtocol},
		{"vector count too large", hx(t, "0d ff ff ff ff 00 00 00 00 01"), ErrProtocol},
		{"vector without its fixed flag", hx(t, "0f 03"), ErrProtocol},
		{"dictionary count too large", hx(t, "11 ff ff ff ff 00 01 01"), ErrProtocol},
		{"bytearray longer than the message", hx(t, "0c ff ff ff ff 01"), ErrProtocol},
		{"string of 256 MiB", hx(t, "06 ff ff ff ff 61"), ErrLimit},
		{"xml of 256 MiB", hx(t, "0b ff ff ff ff 61"), ErrLimit},
		{"recursion too deep", nestedArrays3(10000), ErrLimit},
		{"objects nested too deep", bytes.Repeat(hx(t, "0a 0b 01 03 61"), 100), ErrLimit},
		{"reference bomb", bomb, ErrLimit},
		{"string reference bomb", strBomb, ErrLimit},
		{"unknown marker", hx(t, "12"), ErrProtocol},
		{"date NaN", hx(t, "08 01 7f f8 00 00 00 00 00 00"), ErrProtocol},
		{"date beyond a Date's range", hx(t, "08 01"+dbl(1e300)), ErrProtocol},
		{"unknown externalizable class", hx(t, "0a 07 0d 53 65 63 72 65 74 00"), ErrProtocol},
		{"dictionary with a number key", hx(t, "11 03 00 04 01 04 02"), ErrProtocol},
		{"dictionary with an empty key", hx(t, "11 03 00 06 01 04 02"), ErrProtocol},
		{"empty sealed member name", hx(t, "0a 13 03 50 01 04 01"), ErrProtocol},
		{"object without its end", hx(t, "0a 0b 01 03 61 04 01"), ErrProtocol},
	}
	for _, tc := range cases {
		_, err := decode3(tc.bytes, defaultAMFLimits())
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
	}
	_, err := decode3(hx(t, "0a 07 0d 53 65 63 72 65 74 00"), defaultAMFLimits())
	if err == nil || !strings.Contains(err.Error(), `"Secret"`) {
		t.Errorf("unknown externalizable class: %v, want the class named", err)
	}
}

// A reference counts as deep as what it refers to: a value nested to the limit cannot be
// referred to from deeper down.
func TestAMF3ReferencesKeepTheDepthLimit(t *testing.T) {
	lim := amfLimits{maxDepth: 4, maxString: 64, maxValues: 100}
	// [ [[[null]]] , ref ] : the outer array at depth 0, the inner chain 1..3: fits.
	ok := append([]byte{amf3Array, 0x05, 0x01}, nestedArrays3(3)...)
	ok = append(ok, amf3Array, 0x02)
	if _, err := decode3(ok, lim); err != nil {
		t.Fatalf("within the depth: %v", err)
	}
	// [ [[[null]]], [ref] ]: the reference sits at depth 2, so its deepest level is 4.
	deep := append([]byte{amf3Array, 0x05, 0x01}, nestedArrays3(3)...)
	deep = append(deep, amf3Array, 0x03, 0x01, amf3Array, 0x02)
	if _, err := decode3(deep, lim); !errors.Is(err, ErrLimit) {
		t.Fatalf("reference below the depth limit: %v, want ErrLimit", err)
	}
}

// The AMF0 types gortmplib does not read, worked out by hand from the AMF0 specification.
func TestAMF0CompleteHandWorked(t *testing.T) {
	cases := []struct {
		name  string
		bytes string
		want  []any
	}{
		{"date", "0b" + dbl(1e12) + "00 00", []any{time.UnixMilli(1e12).UTC()}},
		{"long string", "0c 00 00 00 02 68 69", []any{"hi"}},
		{"xml document", "0f 00 00 00 04 3c 61 2f 3e", []any{"<a/>"}},
		{"undefined", "06", []any{amf0.Undefined{}}},
		{"unsupported", "0d", []any{amf0.Undefined{}}},
		{"typed object", "10 00 01 50 00 01 78 00" + dbl(1) + "00 00 09", []any{amf0.Object{{Key: "x", Value: 1.0}}}},
		// The count is ignored: 0 with one entry, 1000 with one entry.
		{"ECMA array counted 0", "08 00 00 00 00 00 01 61 05 00 00 09", []any{amf0.ECMAArray{{Key: "a", Value: nil}}}},
		{"ECMA array counted 1000", "08 00 00 03 e8 00 01 61 05 00 00 09", []any{amf0.ECMAArray{{Key: "a", Value: nil}}}},
		// Reference 0 is the first complex value: the object, sent again as 07 00 00.
		{"reference", "03 00 01 61 05 00 00 09 07 00 00",
			[]any{amf0.Object{{Key: "a", Value: nil}}, amf0.Object{{Key: "a", Value: nil}}}},
		// The strict array is 0, the object 1.
		{"reference inside", "0a 00 00 00 02 03 00 00 09 07 00 01",
			[]any{amf0.StrictArray{amf0.Object{}, amf0.Object{}}}},
		// AMF3 behind the switch marker, in an object.
		{"AMF3 in AMF0", "03 00 01 61 11 04 1e 00 00 09", []any{amf0.Object{{Key: "a", Value: 30.0}}}},
	}
	for _, tc := range cases {
		got, err := decodeAMF0(hx(t, tc.bytes), defaultAMFLimits())
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: decoded %#v %v, want %#v", tc.name, got, err, tc.want)
		}
	}
	bad := []struct {
		name  string
		bytes string
		want  error
	}{
		{"reference out of range", "07 00 00", ErrProtocol},
		{"reference to itself", "03 00 01 61 07 00 00 00 00 09", ErrProtocol},
		{"movieclip", "04", ErrProtocol},
		{"recordset", "0e", ErrProtocol},
		{"date without time zone", "0b" + dbl(0), ErrProtocol},
		{"date NaN", "0b 7f f8 00 00 00 00 00 00 00 00", ErrProtocol},
		{"typed object without class name", "10 00", ErrProtocol},
		{"long string beyond the message", "0c 00 00 10 00 61", ErrProtocol},
	}
	for _, tc := range bad {
		if _, err := decodeAMF0(hx(t, tc.bytes), defaultAMFLimits()); !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
	}
	// References charge what they refer to: 200 references to an object of 30 values.
	b := []byte{amfStrictArray, 0, 0, 0, 201, amfObject}
	for range 30 {
		b = append(b, 0, 1, 'k', amfNull)
	}
	b = append(b, 0, 0, amfObjectEnd)
	for range 200 {
		b = append(b, amfReference, 0, 1)
	}
	if _, err := decodeAMF0(b, defaultAMFLimits()); !errors.Is(err, ErrLimit) {
		t.Errorf("reference bomb: %v, want ErrLimit", err)
	}
}

// Our encoder's output, checked by hand: what an AMF3 client gets.
func TestAMF3EncodeHandWorked(t *testing.T) {
	cases := []struct {
		v    any
		want string
	}{
		{nil, "01"},
		{amf0.Undefined{}, "00"},
		{true, "03"},
		{false, "02"},
		{"hi", "06 05 68 69"},
		{"", "06 01"},
		{amf0.StrictArray{"ab", "ab", ""}, "09 07 01 06 05 61 62 06 00 06 01"},
		{amf0.Object{{Key: "dx", Value: 30.0}, {Key: "dy", Value: 5.5}}, "0a 0b 01 05 64 78 04 1e 05 64 79 05" + dbl(5.5) + "01"},
		{amf0.ECMAArray{{Key: "k", Value: "k"}}, "09 01 03 6b 06 00 01"},
		{time.UnixMilli(1e12), "08 01" + dbl(1e12)},
		{[]byte{1, 255}, "0c 05 01 ff"},
		{"x" + strings.Repeat("y", 199), "06 83 11 78" + strings.Repeat("79", 199)},
		// The anonymous traits go inline once, then by reference (U29O-traits-ref 0: 0x01).
		{amf0.StrictArray{amf0.Object{{Key: "a", Value: 1.0}}, amf0.Object{{Key: "b", Value: amf0.Object{}}}},
			"09 05 01 0a 0b 01 03 61 04 01 01 0a 01 03 62 0a 01 01 01"},
	}
	for _, tc := range cases {
		got, err := appendAMF3(nil, tc.v)
		if want := hx(t, tc.want); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%#v: encoded % x %v, want % x", tc.v, got, err, want)
		}
	}
	if _, err := appendAMF3(nil, amf0.Object{{Key: "", Value: 1.0}}); err == nil {
		t.Error("an empty key was encoded")
	}
}

// A type-17 answer is what Flash reads: a zero byte, name and transaction id in AMF0, a
// null command object, then AMF3 behind 0x11; an AMF0 answer equals gortmplib's encoding.
func TestEncodeCommand(t *testing.T) {
	info := amf0.Object{{Key: "code", Value: "X"}}
	typ, body, err := encodeCommand(true, "_result", 2, nil, info)
	want := "00 02 00 07 5f 72 65 73 75 6c 74 00" + dbl(2) + "05 11 0a 0b 01 09 63 6f 64 65 06 03 58 01"
	if err != nil || typ != msgCommandAMF3 || !bytes.Equal(body, hx(t, want)) {
		t.Fatalf("AMF3 answer: %d % x %v\nwant % x", typ, body, err, hx(t, want))
	}
	name, txid, cmd, args, err := decodeCommand(body, true)
	if err != nil || name != "_result" || txid != 2 || cmd != nil || !reflect.DeepEqual(args, []any{info}) {
		t.Fatalf("decoding our AMF3 answer: %q %v %v %v %v", name, txid, cmd, args, err)
	}
	values := []any{nil, amf0.Object{{Key: "a", Value: amf0.StrictArray{1.0, "b", true}}, {Key: "e", Value: amf0.ECMAArray{{Key: "x", Value: amf0.Undefined{}}}}}}
	typ, body, err = encodeCommand(false, "onStatus", 0, values...)
	if err != nil || typ != msgCommandAMF0 || !bytes.Equal(body, mustMarshal(t, append([]any{"onStatus", 0.0}, values...)...)) {
		t.Fatalf("AMF0 answer differs from gortmplib's: % x %v", body, err)
	}
}

// FuzzDecodeAMF3 decodes arbitrary bytes as one AMF3 value with small limits: never a panic;
// what decodes encodes back (our encoder) to bytes that decode to the same encoding.
func FuzzDecodeAMF3(f *testing.F) {
	for _, s := range []string{
		"0a 0b 01 05 64 78 04 1e 05 64 79 05 40 16 00 00 00 00 00 00 01",
		"09 05 03 6b 06 03 76 01 04 01 04 02",
		"09 05 01 0a 13 03 50 03 78 04 01 0a 01 04 02",
		"09 05 01 0a 0b 01 03 61 04 01 01 0a 02",
		"0a 1b 03 50 03 78 04 01 03 79 04 02 01",
		"09 05 01 08 01 42 6d 1a 94 a2 00 00 00 08 02",
		"0d 05 00 00 00 00 01 ff ff ff ff",
		"10 05 00 0d 53 74 72 69 6e 67 06 03 61 06 02",
		"11 03 00 06 03 61 04 01",
		"0a 07 43" + hex.EncodeToString([]byte(flexArrayCollection)) + "09 05 01 04 01 06 03 61",
		"0c 07 01 02 ff",
		"0b 09 3c 61 2f 3e",
		"04 c0 80 80 00",
	} {
		f.Add(hx(f, s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := amfLimits{maxDepth: 8, maxString: 64, maxValues: 200, maxBytes: 4096}
		v, err := decode3(b, lim)
		if err != nil {
			if !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrLimit) {
				t.Fatalf("error outside ErrProtocol and ErrLimit: %v", err)
			}
			return
		}
		enc, err := appendAMF3(nil, v)
		if err != nil {
			t.Fatalf("decoded %#v does not encode: %v", v, err)
		}
		back, err := decode3(enc, amfLimits{maxDepth: 8, maxString: 64, maxValues: 1 << 20, maxBytes: 1 << 30})
		if err != nil {
			t.Fatalf("our encoding % x of %#v does not decode: %v", enc, v, err)
		}
		again, err := appendAMF3(nil, back)
		if err != nil || !bytes.Equal(again, enc) {
			t.Fatalf("round trip: % x then % x (%v)", enc, again, err)
		}
	})
}

// BenchmarkDecodeCommand measures decoding a camera.orbit call as an AMF0 client and as an
// AMF3 client (type 17) send it.
func BenchmarkDecodeCommand(b *testing.B) {
	amf0Body := mustMarshal(b, "camera.orbit", 4.0, nil, amf0.Object{{Key: "dx", Value: 30.0}, {Key: "dy", Value: 5.5}})
	amf3Body := amf3Command(b, "camera.orbit", 4, hx(b, "0a 0b 01 05 64 78 04 1e 05 64 79 05"+dbl(5.5)+"01"))
	for _, bc := range []struct {
		name string
		body []byte
		amf3 bool
	}{{"AMF0", amf0Body, false}, {"AMF3", amf3Body, true}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, _, _, err := decodeCommand(bc.body, bc.amf3); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodeAnswer measures encoding a camera call's answer in AMF0 and in AMF3.
func BenchmarkEncodeAnswer(b *testing.B) {
	v, err := toAMF(map[string]any{"eye": []any{0.0, 3.0, 9.0}, "target": []any{0.0, 0.7, 0.0},
		"up": []any{0.0, 1.0, 0.0}, "fov": 40.0, "yaw": 18.0, "pitch": 22.0, "distance": 9.0})
	if err != nil {
		b.Fatal(err)
	}
	for _, amf3 := range []bool{false, true} {
		b.Run(map[bool]string{false: "AMF0", true: "AMF3"}[amf3], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := encodeCommand(amf3, "_result", 4, nil, v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
