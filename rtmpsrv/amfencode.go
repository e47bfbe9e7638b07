package rtmpsrv

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"
)

// Encoders for what the server sends, in AMF0 or AMF3. They take the values toAMF produces
// (nil, float64, bool, string, Undefined, Object, ECMAArray, StrictArray, time.Time, []byte).
// AMF0 has no byte array: a []byte goes out as a strict array of numbers there.

// appendAMF0 appends v in AMF0.
func appendAMF0(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, amfNull), nil
	case amf0.Undefined:
		return append(b, amfUndefined), nil
	case float64:
		return binary.BigEndian.AppendUint64(append(b, amfNumber), math.Float64bits(x)), nil
	case bool:
		if x {
			return append(b, amfBoolean, 1), nil
		}
		return append(b, amfBoolean, 0), nil
	case string:
		if len(x) > 0xffff {
			b = binary.BigEndian.AppendUint32(append(b, amfLongString), uint32(len(x)))
			return append(b, x...), nil
		}
		b = binary.BigEndian.AppendUint16(append(b, amfString), uint16(len(x)))
		return append(b, x...), nil
	case time.Time:
		ms := float64(x.UnixMilli()) // a Date holds whole milliseconds
		b = binary.BigEndian.AppendUint64(append(b, amfDate), math.Float64bits(ms))
		return append(b, 0, 0), nil // time zone: reserved, 0
	case amf0.Object:
		return appendAMF0Entries(append(b, amfObject), x)
	case amf0.ECMAArray:
		b = binary.BigEndian.AppendUint32(append(b, amfECMAArray), uint32(len(x)))
		return appendAMF0Entries(b, amf0.Object(x))
	case amf0.StrictArray:
		b = binary.BigEndian.AppendUint32(append(b, amfStrictArray), uint32(len(x)))
		var err error
		for _, e := range x {
			if b, err = appendAMF0(b, e); err != nil {
				return nil, err
			}
		}
		return b, nil
	case []byte:
		b = binary.BigEndian.AppendUint32(append(b, amfStrictArray), uint32(len(x)))
		for _, c := range x {
			b = binary.BigEndian.AppendUint64(append(b, amfNumber), math.Float64bits(float64(c)))
		}
		return b, nil
	}
	return nil, fmt.Errorf("a %T cannot be encoded in AMF0", v)
}

func appendAMF0Entries(b []byte, o amf0.Object) ([]byte, error) {
	var err error
	for _, e := range o {
		if e.Key == "" || len(e.Key) > 0xffff {
			return nil, fmt.Errorf("object key of %d bytes: AMF keys are 1 to 65535 bytes", len(e.Key))
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(e.Key)))
		b = append(b, e.Key...)
		if b, err = appendAMF0(b, e.Value); err != nil {
			return nil, err
		}
	}
	return append(b, 0, 0, amfObjectEnd), nil
}

// amf3Encoder writes one AMF3 value; it keeps the string reference table, and sends the
// traits of anonymous objects (its only traits) once, then by reference.
type amf3Encoder struct {
	b          []byte
	strings    map[string]int
	anonTraits bool
}

// appendAMF3 appends v in AMF3 (without the AMF0 switch marker), with its own reference
// tables. Integral numbers within AMF3's 29-bit range go out as integers, others as doubles.
func appendAMF3(b []byte, v any) ([]byte, error) {
	e := &amf3Encoder{b: b, strings: map[string]int{}}
	if err := e.value(v); err != nil {
		return nil, err
	}
	return e.b, nil
}

// appendU29 appends n (below 2^29) as a variable-length integer.
func appendU29(b []byte, n uint32) []byte {
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n < 0x4000:
		return append(b, byte(n>>7)|0x80, byte(n&0x7f))
	case n < 0x200000:
		return append(b, byte(n>>14)|0x80, byte(n>>7)|0x80, byte(n&0x7f))
	}
	return append(b, byte(n>>22)|0x80, byte(n>>15)|0x80, byte(n>>8)|0x80, byte(n))
}

// maxU29 is the largest length or count AMF3 can carry (28 bits beside the flag bit).
const maxU29 = 1<<28 - 1

func (e *amf3Encoder) str(s string) error {
	if s == "" {
		e.b = append(e.b, 0x01)
		return nil
	}
	if i, ok := e.strings[s]; ok {
		e.b = appendU29(e.b, uint32(i)<<1)
		return nil
	}
	if len(s) > maxU29 {
		return fmt.Errorf("string of %d bytes exceeds AMF3's %d", len(s), maxU29)
	}
	e.strings[s] = len(e.strings)
	e.b = appendU29(e.b, uint32(len(s))<<1|1)
	e.b = append(e.b, s...)
	return nil
}

func (e *amf3Encoder) entries(o amf0.Object) error {
	for _, en := range o {
		if en.Key == "" {
			return fmt.Errorf("empty object key: AMF3 ends the members there")
		}
		if err := e.str(en.Key); err != nil {
			return err
		}
		if err := e.value(en.Value); err != nil {
			return err
		}
	}
	e.b = append(e.b, 0x01) // the empty name ends the members
	return nil
}

func (e *amf3Encoder) value(v any) error {
	switch x := v.(type) {
	case nil:
		e.b = append(e.b, amf3Null)
	case amf0.Undefined:
		e.b = append(e.b, amf3Undefined)
	case bool:
		if x {
			e.b = append(e.b, amf3True)
		} else {
			e.b = append(e.b, amf3False)
		}
	case float64:
		if x == math.Trunc(x) && x >= amf3MinInt && x <= amf3MaxInt && !(x == 0 && math.Signbit(x)) {
			e.b = appendU29(append(e.b, amf3Integer), uint32(int32(x))&0x1fffffff)
		} else {
			e.b = binary.BigEndian.AppendUint64(append(e.b, amf3Double), math.Float64bits(x))
		}
	case string:
		e.b = append(e.b, amf3String)
		return e.str(x)
	case time.Time:
		ms := float64(x.UnixMilli())
		e.b = binary.BigEndian.AppendUint64(append(e.b, amf3Date, 0x01), math.Float64bits(ms))
	case []byte:
		if len(x) > maxU29 {
			return fmt.Errorf("byte array of %d bytes exceeds AMF3's %d", len(x), maxU29)
		}
		e.b = appendU29(append(e.b, amf3ByteArray), uint32(len(x))<<1|1)
		e.b = append(e.b, x...)
	case amf0.Object:
		// An anonymous dynamic object: the first time inline traits (0x0b: no sealed members,
		// dynamic) and the empty class name, later traits reference 0 (0x01).
		if e.anonTraits {
			e.b = append(e.b, amf3Object, 0x01)
		} else {
			e.b = append(e.b, amf3Object, 0x0b, 0x01)
			e.anonTraits = true
		}
		return e.entries(x)
	case amf0.ECMAArray:
		e.b = append(e.b, amf3Array, 0x01) // no dense part
		return e.entries(amf0.Object(x))
	case amf0.StrictArray:
		if len(x) > maxU29 {
			return fmt.Errorf("array of %d values exceeds AMF3's %d", len(x), maxU29)
		}
		e.b = appendU29(append(e.b, amf3Array), uint32(len(x))<<1|1)
		e.b = append(e.b, 0x01) // no associative part
		for _, el := range x {
			if err := e.value(el); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("a %T cannot be encoded in AMF3", v)
	}
	return nil
}
