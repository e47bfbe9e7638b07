package rtmpsrv

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/bluenviron/gortmplib/pkg/amf0"
)

// AMF3 decoding (Adobe's AMF 3 specification, January 2013), for values behind AMF0's switch
// marker 0x11: what an ActionScript 3 NetConnection with objectEncoding 3 sends as the
// arguments of every call. Values arrive as the Go values of their AMF0 equivalents, so
// handlers see one set of types whichever encoding a client uses:
//
//	undefined           Undefined          null           nil
//	false, true         bool               integer        float64 (29-bit, signed)
//	double              float64            String, XML,   string
//	                                       XMLDocument
//	Date                time.Time (UTC)    ByteArray      []byte
//	Array, dense only   StrictArray        Array with     ECMAArray (dense elements first,
//	                                       named keys     keyed "0", "1", ...)
//	Object (anonymous,  Object (sealed     Vector.<int>,  StrictArray of float64
//	typed, dynamic)     members first)     <uint>, <Number>
//	Vector.<Object>     StrictArray        Dictionary     Object (string keys only)
//
// Externalizable objects carry bytes only their class can read: the Flex wrappers
// flex.messaging.io.ArrayCollection and ObjectProxy (one AMF3 value inside) decode to their
// contents, any other class is refused with an error naming it.
//
// Each value behind a switch marker has its own string, object and traits reference tables.
// The limits of the AMF0 decoder apply to the whole message: depth, string length, values
// and string bytes, references counted at each use, and no count is trusted before the
// remaining bytes can hold it.

// AMF3 markers.
const (
	amf3Undefined    = 0x00
	amf3Null         = 0x01
	amf3False        = 0x02
	amf3True         = 0x03
	amf3Integer      = 0x04
	amf3Double       = 0x05
	amf3String       = 0x06
	amf3XMLDocument  = 0x07
	amf3Date         = 0x08
	amf3Array        = 0x09
	amf3Object       = 0x0a
	amf3XML          = 0x0b
	amf3ByteArray    = 0x0c
	amf3VectorInt    = 0x0d
	amf3VectorUint   = 0x0e
	amf3VectorDouble = 0x0f
	amf3VectorObject = 0x10
	amf3Dictionary   = 0x11
)

// The externalizable classes decoded: Flex's wrappers, whose writeExternal writes one value.
const (
	flexArrayCollection = "flex.messaging.io.ArrayCollection"
	flexObjectProxy     = "flex.messaging.io.ObjectProxy"
)

// amf3 integers are 29-bit signed.
const (
	amf3MinInt = -1 << 28
	amf3MaxInt = 1<<28 - 1
)

type amf3Traits struct {
	class    string
	sealed   []string
	dynamic  bool
	external bool
}

// amf3Tables are the reference tables of one AMF3 value.
type amf3Tables struct {
	strings []string
	objects []amfRef
	traits  []amf3Traits
}

// amf3 decodes one AMF3 value (after a switch marker) with fresh reference tables.
func (d *amfDecoder) amf3(depth int) (any, error) {
	return d.value3(&amf3Tables{}, depth)
}

func (d *amfDecoder) errf3(format string, args ...any) error {
	return fmt.Errorf("%w: amf3 at byte %d: %s", ErrProtocol, d.off, fmt.Sprintf(format, args...))
}

// u29 reads a variable-length unsigned 29-bit integer: up to three bytes of 7 bits with a
// continuation bit, then a fourth of 8 bits.
func (d *amfDecoder) u29() (uint32, error) {
	var v uint32
	for i := range 4 {
		if d.off >= len(d.b) {
			return 0, d.errf3("truncated U29 integer")
		}
		c := d.b[d.off]
		d.off++
		if i == 3 {
			return v<<8 | uint32(c), nil
		}
		v = v<<7 | uint32(c&0x7f)
		if c&0x80 == 0 {
			break
		}
	}
	return v, nil
}

// str3 reads a UTF-8-vr string: inline (and remembered unless empty) or a string reference.
func (d *amfDecoder) str3(t *amf3Tables) (string, error) {
	u, err := d.u29()
	if err != nil {
		return "", err
	}
	if u&1 == 0 {
		i := int(u >> 1)
		if i >= len(t.strings) {
			return "", d.errf3("string reference %d, only %d strings so far", i, len(t.strings))
		}
		s := t.strings[i]
		return s, d.charge(len(s))
	}
	s, err := d.bytes3(int(u>>1), true)
	if err != nil {
		return "", err
	}
	if s != "" {
		t.strings = append(t.strings, s)
	}
	return s, nil
}

// bytes3 reads n bytes of a string (capped at maxString) or a byte array.
func (d *amfDecoder) bytes3(n int, isString bool) (string, error) {
	if isString && n > d.lim.maxString {
		return "", fmt.Errorf("%w: AMF3 string of %d bytes, max %d", ErrLimit, n, d.lim.maxString)
	}
	if n > len(d.b)-d.off {
		return "", d.errf3("%d bytes announced, %d left", n, len(d.b)-d.off)
	}
	if err := d.charge(n); err != nil {
		return "", err
	}
	s := string(d.b[d.off : d.off+n])
	d.off += n
	return s, nil
}

// fits refuses a count of items that the remaining bytes cannot hold at size bytes each,
// before anything is allocated for them.
func (d *amfDecoder) fits(n, size int, what string) error {
	if uint64(n)*uint64(size) > uint64(len(d.b)-d.off) {
		return d.errf3("%s of %d items in %d bytes", what, n, len(d.b)-d.off)
	}
	return nil
}

// value3 decodes one AMF3 value at the given nesting depth.
func (d *amfDecoder) value3(t *amf3Tables, depth int) (any, error) {
	if d.off >= len(d.b) {
		return nil, d.errf3("value missing: need 1 byte, 0 left")
	}
	if err := d.count(); err != nil {
		return nil, err
	}
	marker := d.b[d.off]
	d.off++
	switch marker {
	case amf3Undefined:
		return amf0.Undefined{}, nil
	case amf3Null:
		return nil, nil
	case amf3False:
		return false, nil
	case amf3True:
		return true, nil
	case amf3Integer:
		u, err := d.u29()
		if err != nil {
			return nil, err
		}
		return float64(int32(u<<3) >> 3), nil
	case amf3Double:
		return d.number()
	case amf3String:
		return d.str3(t)
	case amf3XMLDocument, amf3Date, amf3Array, amf3Object, amf3XML, amf3ByteArray,
		amf3VectorInt, amf3VectorUint, amf3VectorDouble, amf3VectorObject, amf3Dictionary:
		return d.referable3(t, marker, depth)
	}
	d.off--
	return nil, d.errf3("unknown marker 0x%02x", marker)
}

var amf3Names = map[byte]string{
	amf3XMLDocument: "XMLDocument", amf3Date: "Date", amf3Array: "Array", amf3Object: "Object",
	amf3XML: "XML", amf3ByteArray: "ByteArray", amf3VectorInt: "Vector.<int>",
	amf3VectorUint: "Vector.<uint>", amf3VectorDouble: "Vector.<Number>",
	amf3VectorObject: "Vector.<Object>", amf3Dictionary: "Dictionary",
}

// referable3 decodes a value of the object reference table: a reference to an earlier one,
// or one sent inline (then remembered).
func (d *amfDecoder) referable3(t *amf3Tables, marker byte, depth int) (any, error) {
	u, err := d.u29()
	if err != nil {
		return nil, err
	}
	if u&1 == 0 {
		i := int(u >> 1)
		if i >= len(t.objects) {
			return nil, d.errf3("%s reference %d, only %d objects so far", amf3Names[marker], i, len(t.objects))
		}
		return d.use(&t.objects[i], depth, fmt.Sprintf("%s reference %d", amf3Names[marker], i))
	}
	n := int(u >> 1)
	complexValue := marker != amf3XMLDocument && marker != amf3XML && marker != amf3Date && marker != amf3ByteArray
	if complexValue {
		if err := d.enter(depth); err != nil {
			return nil, err
		}
	}
	i := len(t.objects)
	t.objects = append(t.objects, amfRef{})
	m := d.begin(depth)
	var v any
	switch marker {
	case amf3XMLDocument, amf3XML:
		v, err = d.bytes3(n, true)
	case amf3ByteArray:
		var s string
		s, err = d.bytes3(n, false)
		v = []byte(s)
	case amf3Date: // n is unused
		var ms float64
		if ms, err = d.number(); err == nil {
			if v, err = dateFromMillis(ms); err != nil {
				err = d.errf3("%v", err)
			}
		}
	case amf3Array:
		v, err = d.array3(t, n, depth)
	case amf3Object:
		v, err = d.object3(t, u, depth)
	case amf3VectorInt, amf3VectorUint, amf3VectorDouble:
		v, err = d.numberVector3(marker, n)
	case amf3VectorObject:
		v, err = d.objectVector3(t, n, depth)
	case amf3Dictionary:
		v, err = d.dictionary3(t, n, depth)
	}
	if err != nil {
		return nil, err
	}
	d.finish(m, &t.objects[i], v)
	return v, nil
}

// array3 reads an Array's associative part (name, value pairs up to an empty name), then
// its n dense values.
func (d *amfDecoder) array3(t *amf3Tables, n, depth int) (any, error) {
	named, err := d.pairs3(t, depth, nil)
	if err != nil {
		return nil, err
	}
	if err := d.fits(n, 1, "Array"); err != nil {
		return nil, err
	}
	dense := make(amf0.StrictArray, 0, n)
	for range n {
		v, err := d.value3(t, depth+1)
		if err != nil {
			return nil, err
		}
		dense = append(dense, v)
	}
	if len(named) == 0 {
		return dense, nil
	}
	out := make(amf0.ECMAArray, 0, len(dense)+len(named))
	for i, v := range dense {
		out = append(out, amf0.ObjectEntry{Key: fmt.Sprint(i), Value: v})
	}
	return append(out, named...), nil
}

// object3 reads an Object whose U29O header (not a reference) is u.
func (d *amfDecoder) object3(t *amf3Tables, u uint32, depth int) (any, error) {
	var tr amf3Traits
	if u&2 == 0 {
		i := int(u >> 2)
		if i >= len(t.traits) {
			return nil, d.errf3("traits reference %d, only %d traits so far", i, len(t.traits))
		}
		tr = t.traits[i]
	} else {
		tr.external = u&4 != 0
		tr.dynamic = u&8 != 0
		n := int(u >> 4)
		class, err := d.str3(t)
		if err != nil {
			return nil, err
		}
		tr.class = class
		if !tr.external {
			if err := d.fits(n, 1, "sealed member list"); err != nil {
				return nil, err
			}
			if n > d.lim.maxValues {
				return nil, fmt.Errorf("%w: AMF3 traits with %d sealed members, max %d", ErrLimit, n, d.lim.maxValues)
			}
			tr.sealed = make([]string, 0, n)
			for range n {
				name, err := d.str3(t)
				if err != nil {
					return nil, err
				}
				if name == "" {
					return nil, d.errf3("empty sealed member name in class %q", class)
				}
				tr.sealed = append(tr.sealed, name)
			}
		}
		t.traits = append(t.traits, tr)
	}
	if tr.external {
		switch tr.class {
		case flexArrayCollection, flexObjectProxy:
			return d.value3(t, depth+1)
		}
		return nil, d.errf3("externalizable class %q cannot be decoded (only %s and %s can)", tr.class, flexArrayCollection, flexObjectProxy)
	}
	out := make(amf0.Object, 0, len(tr.sealed))
	for _, name := range tr.sealed {
		v, err := d.value3(t, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, amf0.ObjectEntry{Key: name, Value: v})
	}
	if tr.dynamic {
		return d.pairs3(t, depth, out)
	}
	return out, nil
}

// pairs3 reads (name, value) pairs up to an empty name, appending them to out: an Array's
// associative part or an object's dynamic members.
func (d *amfDecoder) pairs3(t *amf3Tables, depth int, out amf0.Object) (amf0.Object, error) {
	for {
		key, err := d.str3(t)
		if err != nil {
			return nil, err
		}
		if key == "" {
			return out, nil
		}
		v, err := d.value3(t, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, amf0.ObjectEntry{Key: key, Value: v})
	}
}

// numberVector3 reads a Vector.<int>, <uint> or <Number> of n items.
func (d *amfDecoder) numberVector3(marker byte, n int) (any, error) {
	size := 4
	if marker == amf3VectorDouble {
		size = 8
	}
	if err := d.fits(1, 1, "fixed flag"); err != nil {
		return nil, err
	}
	d.off++ // fixed-length flag: irrelevant here
	if err := d.fits(n, size, amf3Names[marker]); err != nil {
		return nil, err
	}
	d.values += n
	if d.values > d.lim.maxValues {
		return nil, fmt.Errorf("%w: more than %d AMF values in one message", ErrLimit, d.lim.maxValues)
	}
	out := make(amf0.StrictArray, n)
	for i := range out {
		switch marker {
		case amf3VectorInt:
			out[i] = float64(int32(binary.BigEndian.Uint32(d.b[d.off:])))
		case amf3VectorUint:
			out[i] = float64(binary.BigEndian.Uint32(d.b[d.off:]))
		default:
			out[i] = math.Float64frombits(binary.BigEndian.Uint64(d.b[d.off:]))
		}
		d.off += size
	}
	return out, nil
}

// objectVector3 reads a Vector.<Object> (of any class) of n items.
func (d *amfDecoder) objectVector3(t *amf3Tables, n, depth int) (any, error) {
	if err := d.fits(1, 1, "fixed flag"); err != nil {
		return nil, err
	}
	d.off++
	if _, err := d.str3(t); err != nil { // the item class name, "" for Object
		return nil, err
	}
	if err := d.fits(n, 1, "Vector.<Object>"); err != nil {
		return nil, err
	}
	out := make(amf0.StrictArray, 0, n)
	for range n {
		v, err := d.value3(t, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// dictionary3 reads a Dictionary of n key, value pairs; keys must be strings.
func (d *amfDecoder) dictionary3(t *amf3Tables, n, depth int) (any, error) {
	if err := d.fits(1, 1, "weak keys flag"); err != nil {
		return nil, err
	}
	d.off++
	if err := d.fits(n, 2, "Dictionary"); err != nil {
		return nil, err
	}
	out := make(amf0.Object, 0, n)
	for i := range n {
		at := d.off
		k, err := d.value3(t, depth+1)
		if err != nil {
			return nil, err
		}
		key, ok := k.(string)
		if !ok || key == "" {
			d.off = at
			kind := amfKind(k)
			if ok {
				kind = "an empty string"
			}
			return nil, d.errf3("Dictionary key %d is %s; only non-empty string keys can be decoded", i, kind)
		}
		v, err := d.value3(t, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, amf0.ObjectEntry{Key: key, Value: v})
	}
	return out, nil
}

// amfKind names the kind of a decoded value for error messages.
func amfKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case amf0.Undefined:
		return "undefined"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case amf0.Object:
		return "an object"
	case amf0.ECMAArray, amf0.StrictArray:
		return "an array"
	case []byte:
		return "a ByteArray"
	}
	return fmt.Sprintf("a %T", v)
}
