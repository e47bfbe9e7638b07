package rtmpsrv

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/bluenviron/gortmplib/pkg/amf0"
)

// A bounded AMF0 decoder for what clients send. It yields the same Go values as gortmplib's
// amf0.Unmarshal (float64, bool, string, nil, Undefined, Object, ECMAArray, StrictArray), but
// caps the nesting depth (amf0.Unmarshal recurses once per level, as deep as the message
// allows), the length of every string and key, and the number of values in one message, and
// it also reads long strings (marker 0x0C) within the string cap. Other markers (references,
// dates, typed objects, the AMF3 switch 0x11) are refused: no command needs them.

// AMF0 markers.
const (
	amfNumber      = 0x00
	amfBoolean     = 0x01
	amfString      = 0x02
	amfObject      = 0x03
	amfNull        = 0x05
	amfUndefined   = 0x06
	amfECMAArray   = 0x08
	amfObjectEnd   = 0x09
	amfStrictArray = 0x0a
	amfLongString  = 0x0c
	amfAVMPlus     = 0x11 // switch to AMF3 for the next value
)

// maxAMFValues caps the values (every number, string, object, entry value...) in one
// message: a command has a few dozen.
const maxAMFValues = 4096

// amfLimits bound the decoder.
type amfLimits struct {
	maxDepth  int // objects and arrays nested deeper are refused; top-level values are depth 0
	maxString int // longest string or object key, in bytes
	maxValues int
}

type amfDecoder struct {
	b      []byte
	off    int
	lim    amfLimits
	values int
}

func newAMFDecoder(b []byte, lim amfLimits) *amfDecoder { return &amfDecoder{b: b, lim: lim} }

// more reports whether bytes remain.
func (d *amfDecoder) more() bool { return d.off < len(d.b) }

func (d *amfDecoder) errf(format string, args ...any) error {
	return fmt.Errorf("%w: amf0 at byte %d: %s", ErrProtocol, d.off, fmt.Sprintf(format, args...))
}

func (d *amfDecoder) need(n int) error {
	if len(d.b)-d.off < n {
		return d.errf("need %d bytes, %d left", n, len(d.b)-d.off)
	}
	return nil
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
	d.values++
	if d.values > d.lim.maxValues {
		return nil, fmt.Errorf("%w: more than %d AMF0 values in one message", ErrLimit, d.lim.maxValues)
	}
	marker := d.b[d.off]
	d.off++
	switch marker {
	case amfNumber:
		if err := d.need(8); err != nil {
			return nil, err
		}
		v := math.Float64frombits(binary.BigEndian.Uint64(d.b[d.off:]))
		d.off += 8
		return v, nil
	case amfBoolean:
		if err := d.need(1); err != nil {
			return nil, err
		}
		v := d.b[d.off] != 0
		d.off++
		return v, nil
	case amfString:
		return d.str(2)
	case amfLongString:
		return d.str(4)
	case amfNull:
		return nil, nil
	case amfUndefined:
		return amf0.Undefined{}, nil
	case amfObject, amfECMAArray:
		if depth >= d.lim.maxDepth {
			return nil, fmt.Errorf("%w: AMF0 values nested deeper than %d levels", ErrLimit, d.lim.maxDepth)
		}
		if marker == amfECMAArray {
			// The count is a hint only (encoders disagree on it): the end marker ends it.
			if err := d.need(4); err != nil {
				return nil, err
			}
			d.off += 4
		}
		obj, err := d.entries(depth)
		if err != nil {
			return nil, err
		}
		if marker == amfECMAArray {
			return amf0.ECMAArray(obj), nil
		}
		return obj, nil
	case amfStrictArray:
		if depth >= d.lim.maxDepth {
			return nil, fmt.Errorf("%w: AMF0 values nested deeper than %d levels", ErrLimit, d.lim.maxDepth)
		}
		if err := d.need(4); err != nil {
			return nil, err
		}
		n := binary.BigEndian.Uint32(d.b[d.off:])
		d.off += 4
		if uint64(n) > uint64(len(d.b)-d.off) { // every value takes at least one byte
			return nil, d.errf("strict array of %d values in %d bytes", n, len(d.b)-d.off)
		}
		out := make(amf0.StrictArray, 0, n)
		for range n {
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case amfAVMPlus:
		d.off--
		return nil, d.errf("AMF3 value (marker 0x11) in AMF0 data is not supported")
	}
	d.off--
	return nil, d.errf("unsupported marker 0x%02x", marker)
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
