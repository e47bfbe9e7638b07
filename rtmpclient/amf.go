package rtmpclient

import (
	"fmt"
	"math"
	"sort"

	"github.com/bluenviron/gortmplib/pkg/amf0"
)

// asObject returns v as an Object when it is an Object or an ECMAArray (servers send
// onMetaData and information objects as either), nil otherwise.
func asObject(v any) amf0.Object {
	switch o := v.(type) {
	case amf0.Object:
		return o
	case amf0.ECMAArray:
		return amf0.Object(o)
	}
	return nil
}

// amfValue converts a Go value to one amf0 can encode: numbers become float64, maps with
// string keys become Objects (keys sorted), slices become StrictArrays. Objects, arrays and
// the values amf0 knows pass through, with their members converted.
func amfValue(v any) (any, error) {
	switch x := v.(type) {
	case nil, float64, bool, amf0.Undefined:
		return x, nil
	case string:
		// amf0 writes only short strings and would silently truncate a longer length.
		if len(x) > math.MaxUint16 {
			return nil, fmt.Errorf("%w: string of %d bytes (AMF0 long strings are not supported)", ErrUnsupportedValue, len(x))
		}
		return x, nil
	case float32:
		return float64(x), nil
	case int:
		return float64(x), nil
	case int8:
		return float64(x), nil
	case int16:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case uint:
		return float64(x), nil
	case uint8:
		return float64(x), nil
	case uint16:
		return float64(x), nil
	case uint32:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	case amf0.Object:
		return amfObject(x)
	case amf0.ECMAArray:
		o, err := amfObject(amf0.Object(x))
		return amf0.ECMAArray(o), err
	case amf0.StrictArray:
		return amfArray(x)
	case []any:
		return amfArray(x)
	case []string:
		a := make([]any, len(x))
		for i, s := range x {
			a[i] = s
		}
		return amfArray(a)
	case []float64:
		a := make(amf0.StrictArray, len(x))
		for i, f := range x {
			a[i] = f
		}
		return a, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		o := make(amf0.Object, 0, len(x))
		for _, k := range keys {
			o = append(o, amf0.ObjectEntry{Key: k, Value: x[k]})
		}
		return amfObject(o)
	}
	return nil, fmt.Errorf("%w: %T", ErrUnsupportedValue, v)
}

func amfObject(o amf0.Object) (amf0.Object, error) {
	out := make(amf0.Object, len(o))
	for i, e := range o {
		if len(e.Key) > math.MaxUint16 {
			return nil, fmt.Errorf("%w: object key of %d bytes", ErrUnsupportedValue, len(e.Key))
		}
		v, err := amfValue(e.Value)
		if err != nil {
			return nil, fmt.Errorf("property %q: %w", e.Key, err)
		}
		out[i] = amf0.ObjectEntry{Key: e.Key, Value: v}
	}
	return out, nil
}

func amfArray(a []any) (amf0.StrictArray, error) {
	out := make(amf0.StrictArray, len(a))
	for i, e := range a {
		v, err := amfValue(e)
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		out[i] = v
	}
	return out, nil
}
