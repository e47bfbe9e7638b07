package publish

import "errors"

// Errors returned by this package. Wrapped errors add the failing input (URLs redacted).
var (
	// ErrBadURL reports a target URL that cannot be published to: not rtmp:// or
	// rtmps://, no host, or no application and stream name.
	ErrBadURL = errors.New("publish: bad URL")
	// ErrBadConfig reports a Config value out of range.
	ErrBadConfig = errors.New("publish: bad config")
	// ErrServerClosed reports that the server ended the connection while publishing.
	ErrServerClosed = errors.New("publish: server closed the connection")
)
