package rtmpsrv

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/bluenviron/gortmplib/pkg/amf0"
)

func mustMarshal(t testing.TB, values ...any) []byte {
	t.Helper()
	b, err := amf0.Data(values).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nested returns n objects nested in one another (depth n), as AMF0 bytes.
func nestedObjects(n int) []byte {
	var b []byte
	for range n {
		b = append(b, amfObject, 0, 1, 'k')
	}
	b = append(b, amfNull)
	for range n {
		b = append(b, 0, 0, amfObjectEnd)
	}
	return b
}

func nestedArrays(n int) []byte {
	var b []byte
	for range n {
		b = append(b, amfStrictArray, 0, 0, 0, 1)
	}
	return append(b, amfNull)
}

func TestAMF0DecodeMatchesGortmplib(t *testing.T) {
	values := []any{
		"connect", 1.0, nil, true, false, amf0.Undefined{}, "",
		amf0.Object{}, amf0.ECMAArray{}, amf0.StrictArray{},
		amf0.Object{{Key: "app", Value: "live"}, {Key: "n", Value: 3.5}, {Key: "o", Value: amf0.Object{{Key: "x", Value: nil}}}},
		amf0.ECMAArray{{Key: "width", Value: 1280.0}, {Key: "a", Value: amf0.StrictArray{1.0, "two", amf0.Object{}}}},
		amf0.StrictArray{amf0.StrictArray{amf0.StrictArray{}}},
	}
	b := mustMarshal(t, values...)
	got, err := decodeAMF0(b, defaultAMFLimits())
	if err != nil {
		t.Fatal(err)
	}
	ref, err := amf0.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []any(ref)) {
		t.Fatalf("decoded\n%#v\ngortmplib\n%#v", got, ref)
	}
}

func TestAMF0DecodeLimits(t *testing.T) {
	lim := amfLimits{maxDepth: 4, maxString: 10, maxValues: 50}
	long := append([]byte{amfString, 0, 11}, strings.Repeat("x", 11)...)
	longKey := append([]byte{amfObject, 0, 11}, strings.Repeat("k", 11)...)
	longKey = append(longKey, amfNull, 0, 0, amfObjectEnd)
	cases := []struct {
		name string
		in   []byte
		want error // nil: decodes
	}{
		{"depth at the limit", nestedObjects(4), nil},
		{"objects one deeper", nestedObjects(5), ErrLimit},
		{"arrays one deeper", nestedArrays(5), ErrLimit},
		{"100000 levels", nestedObjects(100000), ErrLimit},
		{"string at the limit", append([]byte{amfString, 0, 10}, strings.Repeat("x", 10)...), nil},
		{"string one longer", long, ErrLimit},
		{"long string within the cap", append([]byte{amfLongString, 0, 0, 0, 3}, "abc"...), nil},
		{"long string of 4 GiB", []byte{amfLongString, 0xff, 0xff, 0xff, 0xff, 'a'}, ErrLimit},
		{"key one longer", longKey, ErrLimit},
		{"too many values", bytes.Repeat([]byte{amfNull}, 51), ErrLimit},
		{"strict array claiming 4 billion values", []byte{amfStrictArray, 0xff, 0xff, 0xff, 0xff, amfNull}, ErrProtocol},
		{"AMF3 string shorter than announced", []byte{amfAVMPlus, 0x06, 0x05, 'a'}, ErrProtocol},
		{"AMF3 string reference out of range inside an object", []byte{amfObject, 0, 1, 'a', amfAVMPlus, 0x06, 0x00, 0, 0, amfObjectEnd}, ErrProtocol},
		{"AMF3 values nested one deeper", append([]byte{amfAVMPlus}, nestedArrays3(5)...), ErrLimit},
		{"AMF3 in AMF0 nested one deeper", append([]byte{amfStrictArray, 0, 0, 0, 1, amfAVMPlus}, nestedArrays3(4)...), ErrLimit},
		{"AMF3 at the depth limit", append([]byte{amfStrictArray, 0, 0, 0, 1, amfAVMPlus}, nestedArrays3(3)...), nil},
		{"reference out of range", []byte{0x07, 0, 1}, ErrProtocol},
		{"truncated date", []byte{0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0}, ErrProtocol},
		{"object end at top level", []byte{amfObjectEnd}, ErrProtocol},
		{"object without end", []byte{amfObject, 0, 1, 'a', amfNull}, ErrProtocol},
		{"truncated number", []byte{amfNumber, 1, 2, 3}, ErrProtocol},
		{"truncated string", []byte{amfString, 0, 5, 'a'}, ErrProtocol},
	}
	for _, tc := range cases {
		_, err := decodeAMF0(tc.in, lim)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestDecodeCommandReportsNameOfABadCommand(t *testing.T) {
	body := append(mustMarshal(t, "camera.set", 4.0, nil), nestedObjects(50)...)
	name, txid, _, _, err := decodeCommand(body, false)
	if !errors.Is(err, ErrLimit) || name != "camera.set" || txid != 4 {
		t.Fatalf("got %q %v %v; want the name and transaction id with ErrLimit", name, txid, err)
	}
	name, _, _, _, err = decodeCommand(append([]byte{amfString, 0, 1}, 'x', amfAVMPlus), false)
	if err == nil || name != "" {
		t.Fatalf("a command without a transaction id: %q %v", name, err)
	}
}

// FuzzDecodeAMF0 checks the bounded decoder against gortmplib's: whenever gortmplib decodes
// an input within our limits, ours gives the same values; whatever ours decodes (the AMF0
// types gortmplib lacks and AMF3 behind 0x11 too) encodes back, with our AMF0 encoder, to
// bytes that decode to the same values.
func FuzzDecodeAMF0(f *testing.F) {
	f.Add(mustMarshal(f, "connect", 1.0, amf0.Object{{Key: "app", Value: "live"}, {Key: "tcUrl", Value: "rtmp://h/live"}}))
	f.Add(mustMarshal(f, "camera.set", 3.0, nil, amf0.Object{{Key: "eye", Value: amf0.StrictArray{0.0, 2.0, 8.0}}}))
	f.Add(mustMarshal(f, amf0.ECMAArray{{Key: "a", Value: amf0.Undefined{}}}, true))
	f.Add(nestedObjects(20))
	f.Add(nestedArrays(20))
	f.Add([]byte{amfLongString, 0, 0, 0, 2, 'h', 'i'})
	f.Add([]byte{amfString, 0, 1, 'x', amfAVMPlus, 0x0a, 0x0b, 0x01})
	f.Add(hx(f, "10 00 01 50 00 01 78 0b 00 00 00 00 00 00 00 00 00 00 00 00 09 07 00 00"))
	f.Add(hx(f, "0a 00 00 00 02 03 00 00 09 07 00 01 0c 00 00 00 01 61 0d 0f 00 00 00 00"))
	f.Add(hx(f, "03 00 01 61 11 0a 0b 01 03 62 09 05 01 04 1e 0c 03 07 01 00 00 09"))
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := amfLimits{maxDepth: 8, maxString: 64, maxValues: 200}
		got, err := decodeAMF0(b, lim)
		// Values are compared through their encoding: NaN != NaN for reflect.DeepEqual.
		if ref, rerr := amf0.Unmarshal(b); rerr == nil && err == nil {
			if !bytes.Equal(marshalValues(t, got), marshalValues(t, ref)) {
				t.Fatalf("decoded\n%#v\ngortmplib\n%#v", got, ref)
			}
		} else if rerr == nil && err != nil && !errors.Is(err, ErrLimit) {
			t.Fatalf("gortmplib decodes, ours fails without a limit: %v", err)
		}
		if err != nil {
			return
		}
		// A []byte (an AMF3 ByteArray) goes out as a strict array of numbers: one level and
		// a value per byte more. References go out as copies, counted as before.
		again := marshalValues(t, got)
		back, err := decodeAMF0(again, amfLimits{maxDepth: lim.maxDepth + 1, maxString: lim.maxString, maxValues: 1 << 20, maxBytes: 1 << 30})
		if err != nil || !bytes.Equal(marshalValues(t, back), again) {
			t.Fatalf("round trip: %v\n%#v\n%#v", err, got, back)
		}
	})
}

func marshalValues(t *testing.T, v []any) []byte {
	t.Helper()
	var b []byte
	var err error
	for _, x := range v {
		if b, err = appendAMF0(b, x); err != nil {
			t.Fatalf("marshal %#v: %v", v, err)
		}
	}
	return b
}
