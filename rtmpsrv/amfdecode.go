package rtmpsrv

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"
)

// A bounded AMF0 decoder for what clients send, with AMF3 values behind the switch marker
// 0x11 (amf3decode.go). It yields the same Go values as gortmplib's amf0.Unmarshal for the
// types that one reads (float64, bool, string, nil, Undefined, Object, ECMAArray,
// StrictArray) and adds the rest of AMF0: long strings and XML documents (string), dates
// (time.Time, UTC), typed objects (Object; the class name is dropped), references (the
// value referred to), unsupported (Undefined).
//
// Every value is bounded: the nesting depth (amf0.Unmarshal recurses once per level, as
// deep as the message allows), the length of every string and key, the number of values and
// the bytes of strings in one message. A reference counts as the whole value it refers to,
// at each use, so a few bytes of references cannot stand for more values, bytes or depth
// than the limits allow; a reference to a value still being decoded (a cycle) is refused.

// AMF0 markers.
const (
	amfNumber      = 0x00
	amfBoolean     = 0x01
	amfString      = 0x02
	amfObject      = 0x03
	amfMovieClip   = 0x04 // reserved, never sent
	amfNull        = 0x05
	amfUndefined   = 0x06
	amfReference   = 0x07
	amfECMAArray   = 0x08
	amfObjectEnd   = 0x09
	amfStrictArray = 0x0a
	amfDate        = 0x0b
	amfLongString  = 0x0c
	amfUnsupported = 0x0d
	amfRecordSet   = 0x0e // reserved, never sent
	amfXMLDocument = 0x0f
	amfTypedObject = 0x10
	amfAVMPlus     = 0x11 // switch to AMF3 for the next value
)

// maxAMFValues caps the values (every number, string, object, entry value...) in one
// message: a command has a few dozen.
const maxAMFValues = 4096

// maxAMFBytes caps the bytes of all strings, keys, XML and byte arrays in one message,
// references counted at each use.
const maxAMFBytes = 1 << 20

// amfLimits bound the decoder.
type amfLimits struct {
	maxDepth  int // objects and arrays nested deeper are refused; top-level values are depth 0
	maxString int // longest string or object key, in bytes
	maxValues int
	maxBytes  int // 0: maxAMFBytes
}

// amfRef is one entry of a reference table (AMF0's complex values, AMF3's objects): the
// value, and what it cost to decode, charged again at each reference to it.
type amfRef struct {
	v      any
	done   bool // false while the value is being decoded
	values int  // values it holds, itself included
	bytes  int  // string bytes it holds
	height int  // levels of objects below it
}

type amfDecoder struct {
	b      []byte
	off    int
	lim    amfLimits
	values int
	bytes  int
	// deepest is the deepest level an object or array reached so far (-1: none yet); a
	// reference table entry's height is measured with it.
	deepest int
	refs    []amfRef // AMF0 reference table
}

func newAMFDecoder(b []byte, lim amfLimits) *amfDecoder {
	if lim.maxBytes == 0 {
		lim.maxBytes = maxAMFBytes
	}
	return &amfDecoder{b: b, lim: lim, deepest: -1}
}

// more reports whether bytes remain.
func (d *amfDecoder) more() bool { return d.off < len(d.b) }

func (d *amfDecoder) errf(format string, args ...any) error {
	return fmt.Errorf("%w: amf0 at byte %d: %s", ErrProtocol, d.off, fmt.Sprintf(format, args...))
}

func (d *amfDecoder) need(n int) error {
	if n < 0 || len(d.b)-d.off < n {
		return d.errf("need %d bytes, %d left", n, len(d.b)-d.off)
	}
	return nil
}

// count charges one value.
func (d *amfDecoder) count() error {
	d.values++
	if d.values > d.lim.maxValues {
		return fmt.Errorf("%w: more than %d AMF values in one message", ErrLimit, d.lim.maxValues)
	}
	return nil
}

// charge adds n bytes of strings to the message's total.
func (d *amfDecoder) charge(n int) error {
	d.bytes += n
	if d.bytes > d.lim.maxBytes {
		return fmt.Errorf("%w: more than %d bytes of AMF strings in one message", ErrLimit, d.lim.maxBytes)
	}
	return nil
}

// enter checks that an object or array may start at depth.
func (d *amfDecoder) enter(depth int) error {
	if depth >= d.lim.maxDepth {
		return fmt.Errorf("%w: AMF values nested deeper than %d levels", ErrLimit, d.lim.maxDepth)
	}
	d.deepest = max(d.deepest, depth)
	return nil
}

// begin starts measuring a value that goes into a reference table; finish records what it
// cost. A reference to it (use) charges that again.
type refMark struct{ values, bytes, deepest, depth int }

func (d *amfDecoder) begin(depth int) refMark {
	m := refMark{values: d.values, bytes: d.bytes, deepest: d.deepest, depth: depth}
	d.deepest = depth
	return m
}

func (d *amfDecoder) finish(m refMark, r *amfRef, v any) {
	r.v, r.done = v, true
	r.values = d.values - m.values + 1 // the marker's own value was counted before begin
	r.bytes = d.bytes - m.bytes
	r.height = max(d.deepest-m.depth, 0)
	d.deepest = max(d.deepest, m.deepest)
}

// use returns a referenced value, charging what it holds as if it were sent again here.
func (d *amfDecoder) use(r *amfRef, depth int, what string) (any, error) {
	if !r.done {
		return nil, d.errf("%s refers to a value that contains it (a cycle)", what)
	}
	d.values += r.values - 1 // the reference's own value is counted
	if d.values > d.lim.maxValues {
		return nil, fmt.Errorf("%w: more than %d AMF values in one message (references counted at each use)", ErrLimit, d.lim.maxValues)
	}
	if err := d.charge(r.bytes); err != nil {
		return nil, err
	}
	if isComplex(r.v) {
		if depth+r.height >= d.lim.maxDepth {
			return nil, fmt.Errorf("%w: AMF values nested deeper than %d levels (through a reference)", ErrLimit, d.lim.maxDepth)
		}
		d.deepest = max(d.deepest, depth+r.height)
	}
	if b, ok := r.v.([]byte); ok {
		return bytes.Clone(b), nil // each use its own, as handlers may write into it
	}
	return r.v, nil
}

func isComplex(v any) bool {
	switch v.(type) {
	case amf0.Object, amf0.ECMAArray, amf0.StrictArray:
		return true
	}
	return false
}

// decodeAMF0 decodes every value in b.
func decodeAMF0(b []byte, lim amfLimits) ([]any, error) {
	d := newAMFDecoder(b, lim)
	var out []any
	for d.more() {
		v, err := d.value(0)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// value decodes one value at the given nesting depth.
func (d *amfDecoder) value(depth int) (any, error) {
	if err := d.need(1); err != nil {
		return nil, err
	}
	if err := d.count(); err != nil {
		return nil, err
	}
	marker := d.b[d.off]
	d.off++
	switch marker {
	case amfNumber:
		return d.number()
	case amfBoolean:
		if err := d.need(1); err != nil {
			return nil, err
		}
		v := d.b[d.off] != 0
		d.off++
		return v, nil
	case amfString:
		return d.str(2)
	case amfLongString, amfXMLDocument:
		return d.str(4)
	case amfNull:
		return nil, nil
	case amfUndefined, amfUnsupported:
		return amf0.Undefined{}, nil
	case amfDate:
		ms, err := d.number()
		if err != nil {
			return nil, err
		}
		if err := d.need(2); err != nil { // time zone: reserved, written as 0, ignored
			return nil, err
		}
		d.off += 2
		t, err := dateFromMillis(ms)
		if err != nil {
			return nil, d.errf("%v", err)
		}
		return t, nil
	case amfReference:
		if err := d.need(2); err != nil {
			return nil, err
		}
		i := int(binary.BigEndian.Uint16(d.b[d.off:]))
		if i >= len(d.refs) {
			return nil, d.errf("reference %d, only %d objects so far", i, len(d.refs))
		}
		d.off += 2
		return d.use(&d.refs[i], depth, fmt.Sprintf("reference %d", i))
	case amfObject, amfECMAArray, amfTypedObject:
		if err := d.enter(depth); err != nil {
			return nil, err
		}
		if marker == amfTypedObject {
			if _, err := d.str(2); err != nil { // the class name
				return nil, err
			}
		}
		if marker == amfECMAArray {
			// The count is a hint only (Flash and other encoders disagree on it): the end
			// marker ends the array.
			if err := d.need(4); err != nil {
				return nil, err
			}
			d.off += 4
		}
		i := len(d.refs)
		d.refs = append(d.refs, amfRef{})
		m := d.begin(depth)
		obj, err := d.entries(depth)
		if err != nil {
			return nil, err
		}
		var v any = obj
		if marker == amfECMAArray {
			v = amf0.ECMAArray(obj)
		}
		d.finish(m, &d.refs[i], v)
		return v, nil
	case amfStrictArray:
		if err := d.enter(depth); err != nil {
			return nil, err
		}
		if err := d.need(4); err != nil {
			return nil, err
		}
		n := binary.BigEndian.Uint32(d.b[d.off:])
		d.off += 4
		if uint64(n) > uint64(len(d.b)-d.off) { // every value takes at least one byte
			return nil, d.errf("strict array of %d values in %d bytes", n, len(d.b)-d.off)
		}
		i := len(d.refs)
		d.refs = append(d.refs, amfRef{})
		m := d.begin(depth)
		out := make(amf0.StrictArray, 0, n)
		for range n {
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		d.finish(m, &d.refs[i], out)
		return out, nil
	case amfAVMPlus:
		d.values-- // the AMF3 value counts itself
		return d.amf3(depth)
	case amfObjectEnd:
		d.off--
		return nil, d.errf("object end marker outside an object")
	case amfMovieClip, amfRecordSet:
		d.off--
		return nil, d.errf("reserved marker 0x%02x (never sent by Flash)", marker)
	}
	d.off--
	return nil, d.errf("unknown marker 0x%02x", marker)
}

func (d *amfDecoder) number() (float64, error) {
	if err := d.need(8); err != nil {
		return 0, err
	}
	v := math.Float64frombits(binary.BigEndian.Uint64(d.b[d.off:]))
	d.off += 8
	return v, nil
}

// maxDateMillis is the range of an ActionScript Date: ±100,000,000 days around 1970.
const maxDateMillis = 8.64e15

// dateFromMillis converts milliseconds since 1970 (UTC) into a time.Time. A Date holds whole
// milliseconds (ECMAScript's TimeClip): a fraction is cut off as it does.
func dateFromMillis(ms float64) (time.Time, error) {
	if math.IsNaN(ms) || math.Abs(ms) > maxDateMillis {
		return time.Time{}, fmt.Errorf("date of %v ms is outside the range of a date", ms)
	}
	return time.UnixMilli(int64(ms)).UTC(), nil
}

// str reads a string whose length field has size bytes.
func (d *amfDecoder) str(size int) (string, error) {
	if err := d.need(size); err != nil {
		return "", err
	}
	var n uint64
	if size == 2 {
		n = uint64(binary.BigEndian.Uint16(d.b[d.off:]))
	} else {
		n = uint64(binary.BigEndian.Uint32(d.b[d.off:]))
	}
	if n > uint64(d.lim.maxString) {
		return "", fmt.Errorf("%w: AMF0 string of %d bytes, max %d", ErrLimit, n, d.lim.maxString)
	}
	d.off += size
	if err := d.need(int(n)); err != nil {
		return "", err
	}
	if err := d.charge(int(n)); err != nil {
		return "", err
	}
	s := string(d.b[d.off : d.off+int(n)])
	d.off += int(n)
	return s, nil
}

// entries reads object entries up to the end marker (an empty key, then 0x09).
func (d *amfDecoder) entries(depth int) (amf0.Object, error) {
	out := amf0.Object{}
	for {
		key, err := d.str(2)
		if err != nil {
			return nil, err
		}
		if key == "" {
			if err := d.need(1); err != nil {
				return nil, err
			}
			if d.b[d.off] != amfObjectEnd {
				return nil, d.errf("object end marker missing (0x%02x)", d.b[d.off])
			}
			d.off++
			return out, nil
		}
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		out = append(out, amf0.ObjectEntry{Key: key, Value: v})
	}
}
