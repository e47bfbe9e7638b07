package whep

import "errors"

// Errors of the whep package. HTTP answers map them to status codes: ErrUnknownScene to
// 404, ErrBadOffer and ErrBadRequest to 400, ErrUnauthorized to 401, ErrTooManySessions and ErrClosed to 503.
var (
	// ErrUnknownScene is what a ViewerFactory returns (wrapped) for a scene it does not
	// have; the offer is answered 404.
	ErrUnknownScene = errors.New("whep: unknown scene")
	// ErrBadRequest is what a ViewerFactory returns (wrapped) for a request it refuses as
	// malformed (a bad query parameter); the offer is answered 400.
	ErrBadRequest = errors.New("whep: bad request")
	// ErrBadOffer reports an SDP offer that cannot be parsed or has no H.264 video.
	ErrBadOffer = errors.New("whep: bad SDP offer")
	// ErrUnauthorized reports a missing or wrong token.
	ErrUnauthorized = errors.New("whep: missing or wrong token")
	// ErrTooManySessions is returned when Config.MaxSessions sessions are open.
	ErrTooManySessions = errors.New("whep: too many sessions")
	// ErrClosed is returned after Shutdown, and by a closed session.
	ErrClosed = errors.New("whep: closed")
	// ErrInvalidConfig reports a Config that NewServer refuses.
	ErrInvalidConfig = errors.New("whep: invalid configuration")
	// ErrCallLimit answers a data-channel call over Config.CallRate.
	ErrCallLimit = errors.New("whep: too many calls: slow down")
)
