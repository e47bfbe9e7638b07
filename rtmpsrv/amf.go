package rtmpsrv

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"
)

// Status codes sent in onStatus and _error objects.
const (
	codeConnectSuccess   = "NetConnection.Connect.Success"
	codeConnectRejected  = "NetConnection.Connect.Rejected"
	codeCallFailed       = "NetConnection.Call.Failed"
	codePlayReset        = "NetStream.Play.Reset"
	codePlayStart        = "NetStream.Play.Start"
	codePlayStop         = "NetStream.Play.Stop"
	codePlayFailed       = "NetStream.Play.Failed"
	codePlayNotFound     = "NetStream.Play.StreamNotFound"
	codePauseNotify      = "NetStream.Pause.Notify"
	codeUnpauseNotify    = "NetStream.Unpause.Notify"
	codePublishBadName   = "NetStream.Publish.BadName"
	codeStreamFailed     = "NetStream.Failed"
	codeCreateStreamFail = "NetConnection.CreateStream.Failed"
)

func statusObject(level, code, description string) amf0.Object {
	return amf0.Object{
		{Key: "level", Value: level},
		{Key: "code", Value: code},
		{Key: "description", Value: description},
	}
}

// maxAMFString is the longest string AMF0's short string form carries.
const maxAMFString = 65535

// toAMF converts a handler's Go value into one AMF0 and AMF3 can carry: numbers of any Go kind
// become float64, slices StrictArray, maps and structs Object (keys sorted / field order;
// a field is named by its amf tag, else by its json tag's name, else by the field name);
// time.Time stays a date and []byte a byte array (a strict array of numbers in AMF0).
func toAMF(v any) (any, error) {
	return toAMFDepth(v, 0)
}

func toAMFDepth(v any, depth int) (any, error) {
	if depth > 32 {
		return nil, fmt.Errorf("value nested deeper than 32 levels")
	}
	switch x := v.(type) {
	case nil, float64, bool, amf0.Undefined, time.Time:
		return x, nil
	case []byte:
		return bytes.Clone(x), nil
	case string:
		if len(x) > maxAMFString {
			return nil, fmt.Errorf("string of %d bytes exceeds AMF0's %d", len(x), maxAMFString)
		}
		return x, nil
	case amf0.Object:
		out := make(amf0.Object, len(x))
		for i, e := range x {
			val, err := toAMFDepth(e.Value, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = amf0.ObjectEntry{Key: e.Key, Value: val}
		}
		return out, nil
	case amf0.ECMAArray:
		o, err := toAMFDepth(amf0.Object(x), depth)
		if err != nil {
			return nil, err
		}
		return amf0.ECMAArray(o.(amf0.Object)), nil
	case amf0.StrictArray:
		out := make(amf0.StrictArray, len(x))
		for i, e := range x {
			val, err := toAMFDepth(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = val
		}
		return out, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return float64(rv.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.String:
		return toAMFDepth(rv.String(), depth)
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		return toAMFDepth(rv.Elem().Interface(), depth)
	case reflect.Slice, reflect.Array:
		out := make(amf0.StrictArray, rv.Len())
		for i := range out {
			val, err := toAMFDepth(rv.Index(i).Interface(), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = val
		}
		return out, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map with %s keys cannot become an AMF0 object", rv.Type().Key())
		}
		keys := make([]string, 0, rv.Len())
		for _, k := range rv.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		out := make(amf0.Object, 0, len(keys))
		for _, k := range keys {
			val, err := toAMFDepth(rv.MapIndex(reflect.ValueOf(k).Convert(rv.Type().Key())).Interface(), depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, amf0.ObjectEntry{Key: k, Value: val})
		}
		return out, nil
	case reflect.Struct:
		t := rv.Type()
		out := amf0.Object{}
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Name
			if tag := f.Tag.Get("amf"); tag != "" {
				if tag == "-" {
					continue
				}
				name = tag
			} else if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == "-" {
				continue
			} else if tag != "" {
				name = tag // the name the value has in JSON (WebRTC data-channel answers)
			}
			val, err := toAMFDepth(rv.Field(i).Interface(), depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, amf0.ObjectEntry{Key: name, Value: val})
		}
		return out, nil
	}
	return nil, fmt.Errorf("a %T cannot be sent as AMF0", v)
}

// defaultAMFLimits returns the decoder's bounds at Config's defaults.
func defaultAMFLimits() amfLimits {
	return amfLimits{maxDepth: defaultMaxAMFDepth, maxString: defaultMaxAMFString, maxValues: maxAMFValues, maxBytes: maxAMFBytes}
}

// decodeCommand decodes a command message body with the default limits.
func decodeCommand(body []byte, amf3 bool) (name string, txid float64, cmd any, args []any, err error) {
	return decodeCommandLimits(body, amf3, defaultAMFLimits())
}

// decodeCommandLimits decodes a command message body: name, transaction id, command object
// and user arguments. amf3 marks a type-17 message, whose body starts with a zero byte and
// continues in AMF0, with AMF3 values behind switch markers (0x11), as Flash sends them.
// When the name and transaction id decode but a later value does not, they are returned
// with the error, so the client can be told.
func decodeCommandLimits(body []byte, amf3 bool, lim amfLimits) (name string, txid float64, cmd any, args []any, err error) {
	if amf3 {
		if len(body) == 0 || body[0] != 0 {
			return "", 0, nil, nil, fmt.Errorf("%w: AMF3 command without the AMF0 switch byte", ErrProtocol)
		}
		body = body[1:]
	}
	d := newAMFDecoder(body, lim)
	first, err := d.value(0)
	if err != nil {
		return "", 0, nil, nil, fmt.Errorf("command name: %w", err)
	}
	name, ok := first.(string)
	if !ok {
		return "", 0, nil, nil, fmt.Errorf("%w: command name is a %T, want a string", ErrProtocol, first)
	}
	if !d.more() {
		return "", 0, nil, nil, fmt.Errorf("%w: command %q without a transaction id", ErrProtocol, name)
	}
	second, err := d.value(0)
	if err != nil {
		return "", 0, nil, nil, fmt.Errorf("command %q: transaction id: %w", name, err)
	}
	txid, ok = second.(float64)
	if !ok || math.IsNaN(txid) || math.IsInf(txid, 0) {
		return "", 0, nil, nil, fmt.Errorf("%w: command %q: transaction id is %v", ErrProtocol, name, second)
	}
	args = []any{}
	for i := 0; d.more(); i++ {
		v, err := d.value(0)
		if err != nil {
			return name, txid, nil, nil, fmt.Errorf("command %q: value %d: %w", name, i+3, err)
		}
		if i == 0 {
			cmd = v
			continue
		}
		args = append(args, v)
	}
	return name, txid, cmd, args, nil
}

// decodeData decodes a data message body (type 18, or 15: a zero byte, then as type 18): a
// handler name and its values.
func decodeData(body []byte, amf3 bool, lim amfLimits) (name string, values []any, err error) {
	if amf3 {
		if len(body) == 0 || body[0] != 0 {
			return "", nil, fmt.Errorf("%w: AMF3 data message without the AMF0 switch byte", ErrProtocol)
		}
		body = body[1:]
	}
	all, err := decodeAMF0(body, lim)
	if err != nil {
		return "", nil, err
	}
	if len(all) == 0 {
		return "", nil, fmt.Errorf("%w: empty data message", ErrProtocol)
	}
	name, ok := all[0].(string)
	if !ok {
		return "", nil, fmt.Errorf("%w: data message name is %s, want a string", ErrProtocol, amfKind(all[0]))
	}
	return name, all[1:], nil
}

// encodeCommand encodes a command message: name, transaction id and values, in AMF0 (type
// 20) or AMF3 (type 17). A type-17 body is what Flash reads: a zero byte, the name and
// transaction id in AMF0, a null command object as AMF0 null, every other value as AMF3
// behind the switch marker 0x11.
func encodeCommand(amf3 bool, name string, txid float64, values ...any) (typ uint8, body []byte, err error) {
	typ = msgCommandAMF0
	if amf3 {
		typ = msgCommandAMF3
		body = []byte{0}
	}
	if body, err = appendAMF0(body, name); err != nil {
		return 0, nil, err
	}
	if body, err = appendAMF0(body, txid); err != nil {
		return 0, nil, err
	}
	for i, v := range values {
		if !amf3 || i == 0 && v == nil {
			body, err = appendAMF0(body, v)
		} else {
			body, err = appendAMF3(append(body, amfAVMPlus), v)
		}
		if err != nil {
			return 0, nil, fmt.Errorf("command %q: value %d: %w", name, i+3, err)
		}
	}
	return typ, body, nil
}
