package rtmpclient

import (
	"errors"
	"fmt"

	"github.com/bluenviron/gortmplib/pkg/amf0"
)

// Errors returned by this package. Wrapped errors add the failing operation and its input.
var (
	// ErrClosed is returned by operations on a client that Close has closed.
	ErrClosed = errors.New("rtmpclient: client closed")
	// ErrBadURL reports an RTMP URL that cannot be used (wrong scheme, no host, no app).
	ErrBadURL = errors.New("rtmpclient: bad URL")
	// ErrProtocol reports a message from the server that breaks the RTMP protocol.
	ErrProtocol = errors.New("rtmpclient: protocol error")
	// ErrUnsupportedValue reports an argument that has no AMF0 encoding.
	ErrUnsupportedValue = errors.New("rtmpclient: value has no AMF0 encoding")
	// ErrBadVideoTag reports a video message body that is not a valid FLV video tag.
	ErrBadVideoTag = errors.New("rtmpclient: bad FLV video tag")
	// ErrBadCommand reports a command or data message that cannot be decoded.
	ErrBadCommand = errors.New("rtmpclient: bad command message")
	// ErrBadUserControl reports a user control message that cannot be decoded.
	ErrBadUserControl = errors.New("rtmpclient: bad user control message")
)

// Status is the information object of an onStatus event or of a refused connect:
// level ("status", "warning" or "error"), code (e.g. "NetStream.Play.Start") and description.
type Status struct {
	// Level is "status", "warning" or "error".
	Level string
	// Code names the event, e.g. "NetStream.Play.Start".
	Code string
	// Description is the server's human-readable text.
	Description string
	// Info is the whole information object, including any extra properties.
	Info amf0.Object
}

// statusFrom reads the standard fields of an information object. v may be an Object, an
// ECMAArray or anything else (then only Info stays empty).
func statusFrom(v any) Status {
	o := asObject(v)
	s := Status{Info: o}
	s.Level, _ = o.GetString("level")
	s.Code, _ = o.GetString("code")
	s.Description, _ = o.GetString("description")
	return s
}

// StatusError reports an operation the server refused with a status: a rejected connect
// (Code "NetConnection.Connect.Rejected"), a play that failed (e.g.
// "NetStream.Play.StreamNotFound"), or a pause the server refused.
type StatusError struct {
	// Op is the command that failed: "connect", "play", "pause".
	Op string
	// Status is the server's information object.
	Status
}

// Error implements error.
func (e *StatusError) Error() string {
	if e.Description != "" {
		return fmt.Sprintf("rtmpclient: %s: %s (%s)", e.Op, e.Code, e.Description)
	}
	return fmt.Sprintf("rtmpclient: %s: %s", e.Op, e.Code)
}

// CallError reports a call the server answered with _error.
type CallError struct {
	// Name is the procedure that was called.
	Name string
	// Info is the response value of the _error (often an information object).
	Info any
	// Code is read from Info when it is an object with a code property.
	Code string
	// Description is read from Info's description property, or is Info when it is a string.
	Description string
}

// Error implements error.
func (e *CallError) Error() string {
	switch {
	case e.Code != "" && e.Description != "":
		return fmt.Sprintf("rtmpclient: call %q: _error %s (%s)", e.Name, e.Code, e.Description)
	case e.Code != "":
		return fmt.Sprintf("rtmpclient: call %q: _error %s", e.Name, e.Code)
	case e.Description != "":
		return fmt.Sprintf("rtmpclient: call %q: _error (%s)", e.Name, e.Description)
	default:
		return fmt.Sprintf("rtmpclient: call %q: _error", e.Name)
	}
}
