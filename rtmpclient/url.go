package rtmpclient

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// DefaultPort is the RTMP port used when a URL names none.
const DefaultPort = "1935"

// URL is an RTMP URL split the way librtmp splits it:
// rtmp://host[:port]/app[/more/app]/stream[?query].
type URL struct {
	// Host is "host:port", with the default port filled in.
	Host string
	// App is the path up to the last '/', without slashes at its ends ("live",
	// "app/instance").
	App string
	// Stream is the last path segment: the name to play. It may be empty.
	Stream string
	// Query is the raw query string, without '?'. It is sent as part of TCURL.
	Query string
	// TCURL is the tcUrl connect property: rtmp://host:port/app[?query].
	TCURL string
}

// ParseURL splits an RTMP URL. Only the rtmp scheme is accepted; the URL must name a host and
// an app. With a single path segment ("rtmp://h/app") the segment is the app and the stream is
// empty.
func ParseURL(rawURL string) (*URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrBadURL, rawURL, err)
	}
	if u.Scheme != "rtmp" {
		return nil, fmt.Errorf("%w: %q: scheme %q, want rtmp", ErrBadURL, rawURL, u.Scheme)
	}
	if u.User != nil || u.Opaque != "" {
		return nil, fmt.Errorf("%w: %q: user info or opaque form not supported", ErrBadURL, rawURL)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("%w: %q: no host", ErrBadURL, rawURL)
	}
	port := u.Port()
	if port == "" {
		port = DefaultPort
	}
	p := strings.Trim(u.Path, "/")
	var app, stream string
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		app, stream = strings.Trim(p[:i], "/"), p[i+1:]
	} else {
		app = p
	}
	if app == "" {
		return nil, fmt.Errorf("%w: %q: no app in path", ErrBadURL, rawURL)
	}
	r := &URL{
		Host:   net.JoinHostPort(host, port),
		App:    app,
		Stream: stream,
		Query:  u.RawQuery,
	}
	r.TCURL = "rtmp://" + r.Host + "/" + app
	if r.Query != "" {
		r.TCURL += "?" + r.Query
	}
	return r, nil
}
