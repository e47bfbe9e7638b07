package rtmpsrv

import (
	"errors"
	"fmt"

	"github.com/rendercast/rendercast/pacer"
)

// Errors returned by the server and its objects.
var (
	// ErrServerStarted is returned by Start on a server that was already started.
	ErrServerStarted = errors.New("rtmpsrv: server already started")
	// ErrServerClosed is returned by Start after Shutdown.
	ErrServerClosed = errors.New("rtmpsrv: server closed")
	// ErrInvalidProperty is returned by SetProperty for an invalid key or value.
	ErrInvalidProperty = errors.New("rtmpsrv: invalid property")
	// ErrStreamNotFound, wrapped in a play handler's error, makes the client get
	// NetStream.Play.StreamNotFound instead of NetStream.Play.Failed.
	ErrStreamNotFound = errors.New("rtmpsrv: stream not found")
	// ErrUnknownProcedure is the error a call gets when no handler answers its name.
	ErrUnknownProcedure = errors.New("rtmpsrv: unknown procedure")
	// ErrUnsupportedCodec is returned when no codec factory provides the codec.
	ErrUnsupportedCodec = errors.New("rtmpsrv: unsupported codec")
	// ErrHandshake wraps handshake failures.
	ErrHandshake = errors.New("rtmpsrv: handshake failed")
	// ErrNoCertificate is returned by NewServer for a Config.TLS without a certificate, and
	// by StartTLS without Config.TLS.
	ErrNoCertificate = errors.New("rtmpsrv: no TLS certificate")
	// ErrProtocol wraps violations of the RTMP protocol by a client.
	ErrProtocol = errors.New("rtmpsrv: protocol error")
	// ErrLimit wraps a client exceeding a configured limit.
	ErrLimit = errors.New("rtmpsrv: limit exceeded")
	// ErrUnchanged is what a render handler returns when it had nothing new to draw: the
	// stream goes on, and the render neither counts nor uses up the render rate (the
	// pacer's ErrUnchanged).
	ErrUnchanged = pacer.ErrUnchanged
)

// CallError is a call failure with a status code and an optional payload. A call handler
// returns it to control what the client's _error carries.
type CallError struct {
	// Code is the status code, e.g. "NetConnection.Call.Failed" (the default when empty).
	Code string
	// Description is human-readable text.
	Description string
	// Info, if not nil, is sent instead of the usual {level, code, description} object.
	Info any
}

// Error implements error.
func (e *CallError) Error() string {
	code := e.Code
	if code == "" {
		code = codeCallFailed
	}
	return fmt.Sprintf("%s: %s", code, e.Description)
}
