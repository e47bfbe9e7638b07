package access

import "errors"

// Errors returned by the package.
var (
	// ErrFull is wrapped by the error of Admission.Reserve when a limit is reached. Its text
	// carries no package prefix: it is what a refused client reads (an RTMP onStatus
	// description, an HTTP 503 body).
	ErrFull = errors.New("server full")
	// ErrUnknownKind is returned by Admission.Reserve for a Kind it does not know.
	ErrUnknownKind = errors.New("access: unknown kind")
)
