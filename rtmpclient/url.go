package rtmpclient

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// DefaultPort is the RTMP port used when a URL names none.
const DefaultPort = "1935"

// DefaultTLSPort is the RTMPS port used when an rtmps:// URL names none (as librtmp and
// FFmpeg do).
const DefaultTLSPort = "443"

// URL is an RTMP URL split the way librtmp splits it:
// rtmp://host[:port]/app[/more/app]/stream[?query], or rtmps:// for RTMP over TLS.
type URL struct {
	// TLS is true for rtmps:// (RTMP inside TLS).
	TLS bool
	// Host is "host:port", with the default port filled in.
	Host string
	// App is the path up to the last '/', without slashes at its ends ("live",
	// "app/instance").
	App string
	// Stream is the last path segment: the name to play. It may be empty.
	Stream string
	// Query is the raw query string, without '?'. It is sent as part of TCURL.
	Query string
	// TCURL is the tcUrl connect property: rtmp://host:port/app[?query] (rtmps:// for
	// RTMPS).
	TCURL string
}

// ParseURL splits an RTMP URL. The rtmp and rtmps schemes are accepted; the URL must name a
// host and an app. With a single path segment ("rtmp://h/app") the segment is the app and the stream is
// empty.
func ParseURL(rawURL string) (*URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrBadURL, rawURL, err)
	}
	if u.Scheme != "rtmp" && u.Scheme != "rtmps" {
		return nil, fmt.Errorf("%w: %q: scheme %q, want rtmp or rtmps", ErrBadURL, rawURL, u.Scheme)
	}
	useTLS := u.Scheme == "rtmps"
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
		if useTLS {
			port = DefaultTLSPort
		}
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
		TLS:    useTLS,
		Host:   net.JoinHostPort(host, port),
		App:    app,
		Stream: stream,
		Query:  u.RawQuery,
	}
	r.TCURL = u.Scheme + "://" + r.Host + "/" + app
	if r.Query != "" {
		r.TCURL += "?" + r.Query
	}
	return r, nil
}
