package publish

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/rendercast/rendercast/rtmpclient"
)

// target is a validated publishing URL, split for dialing and publishing.
type target struct {
	// dial is the URL dialed: scheme, host, port, app and stream, without the query, so the
	// tcUrl is rtmp://host:port/app as FFmpeg and OBS send it.
	dial string
	// name is the stream name published, with the URL's query ("stream?key=..."): the
	// place servers look for stream keys and arguments.
	name string
	// redacted is the URL without user info, query and fragment, for logs and Status.
	redacted string
}

// parseTarget checks that raw is rtmp://host[:port]/app[/...]/stream[?query] (or rtmps://).
// Errors wrap ErrBadURL and name the URL only in its redacted form: the query and user info
// may hold secrets.
func parseTarget(raw string) (target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return target{}, fmt.Errorf("%w: not a URL (%s)", ErrBadURL, parseReason(err))
	}
	red := Redact(raw)
	if u.Scheme != "rtmp" && u.Scheme != "rtmps" {
		return target{}, fmt.Errorf("%w: %q: scheme %q, want rtmp or rtmps", ErrBadURL, red, u.Scheme)
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return target{}, fmt.Errorf("%w: %q: no host, want %s://host[:port]/app/stream", ErrBadURL, red, u.Scheme)
	}
	if u.User != nil {
		return target{}, fmt.Errorf("%w: %q: user info is not supported (put credentials in the stream name or query)", ErrBadURL, red)
	}
	p := strings.Trim(u.Path, "/")
	i := strings.LastIndexByte(p, '/')
	if i < 0 || strings.Trim(p[:i], "/") == "" || p[i+1:] == "" {
		return target{}, fmt.Errorf("%w: %q: want %s://host[:port]/app/stream, the path needs an application and a stream name", ErrBadURL, red, u.Scheme)
	}
	d := *u
	d.RawQuery, d.Fragment, d.RawFragment = "", "", ""
	pu, err := rtmpclient.ParseURL(d.String())
	if err != nil {
		return target{}, fmt.Errorf("%w: %q: %v", ErrBadURL, red, err)
	}
	t := target{dial: d.String(), name: pu.Stream, redacted: red}
	if u.RawQuery != "" {
		t.name += "?" + u.RawQuery
	}
	return t, nil
}

// parseReason is url.Parse's complaint without the URL it quotes.
func parseReason(err error) string {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err.Error()
	}
	return "unparsable"
}

// Redact returns raw without user info, query and fragment, and with the stream name (the
// last path element, after the application) cut to its first two characters: stream keys
// and passwords live there (ingest services put the key in the query or in the stream
// name, rtmp://a.rtmp.youtube.com/live2/KEY). So scheme://host[:port]/app/st…. An
// unparsable URL gives "(unparsable URL)".
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	u.RawQuery, u.ForceQuery = "", false
	u.Fragment, u.RawFragment = "", ""
	r := u.String()
	if i := strings.LastIndexByte(r, '/'); i >= 0 && i < len(r)-1 && strings.Count(r, "/") >= 4 {
		name := r[i+1:]
		if len(name) > 2 {
			name = name[:2] + "…"
		}
		r = r[:i+1] + name
	}
	return r
}

// CheckURL reports whether raw is a URL a Publisher accepts (an error wrapping ErrBadURL
// otherwise), so that configuration can be checked before anything is started.
func CheckURL(raw string) error {
	_, err := parseTarget(raw)
	return err
}
