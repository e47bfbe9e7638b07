package session

import (
	"fmt"
	"math"
)

// Args are a call's named arguments: the fields of the object a client passes
// (NetConnection.call("camera.orbit", responder, {dx: 10, dy: 0}) over RTMP, or the "args"
// member of a JSON call). Values are float64, bool, string, []any or map[string]any.
type Args map[string]any

// ArgError reports a missing or malformed argument; its text names the argument.
type ArgError struct {
	Call, Arg, Problem string
}

// Error implements error.
func (e *ArgError) Error() string {
	return fmt.Sprintf("%s: argument %q: %s", e.Call, e.Arg, e.Problem)
}

func (a Args) number(call, name string) (float64, error) {
	v, ok := a[name]
	if !ok || v == nil {
		return 0, &ArgError{call, name, "missing (want a number)"}
	}
	f, ok := toFloat(v)
	if !ok {
		return 0, &ArgError{call, name, fmt.Sprintf("want a number, got %s", typeName(v))}
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, &ArgError{call, name, "want a finite number"}
	}
	return f, nil
}

func (a Args) numberOr(call, name string, def float64) (float64, error) {
	if v, ok := a[name]; !ok || v == nil {
		return def, nil
	}
	return a.number(call, name)
}

func (a Args) str(call, name string) (string, error) {
	v, ok := a[name]
	if !ok || v == nil {
		return "", &ArgError{call, name, "missing (want a string)"}
	}
	s, ok := v.(string)
	if !ok {
		return "", &ArgError{call, name, fmt.Sprintf("want a string, got %s", typeName(v))}
	}
	return s, nil
}

func (a Args) boolean(call, name string) (bool, error) {
	v, ok := a[name]
	if !ok || v == nil {
		return false, &ArgError{call, name, "missing (want true or false)"}
	}
	b, ok := v.(bool)
	if !ok {
		return false, &ArgError{call, name, fmt.Sprintf("want true or false, got %s", typeName(v))}
	}
	return b, nil
}

func (a Args) vec3(call, name string) ([3]float32, error) {
	v, ok := a[name]
	if !ok || v == nil {
		return [3]float32{}, &ArgError{call, name, "missing (want [x, y, z])"}
	}
	list, ok := v.([]any)
	if !ok || len(list) != 3 {
		return [3]float32{}, &ArgError{call, name, fmt.Sprintf("want [x, y, z], got %s", typeName(v))}
	}
	var out [3]float32
	for i, x := range list {
		f, ok := toFloat(x)
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
			return out, &ArgError{call, name, fmt.Sprintf("element %d: want a finite number", i)}
		}
		out[i] = float32(f)
	}
	return out, nil
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case float64, float32, int, int64:
		return "a number"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}
