package app

import (
	"errors"
	"net/url"
)

// errPublishNeedsControl refuses session.publish when no control token is configured:
// the call makes the server dial out.
var errPublishNeedsControl = errors.New("publishing by call needs -control-token (and -publish-allow)")

// publisher is one session's stream pushed to an external RTMP server.
type publisher struct {
	url    string
	detach func()
}

func (p *publisher) stop() {
	if p.detach != nil {
		p.detach()
	}
}

// publish starts pushing a session's stream to u.
func (a *App) publish(l *live, u string) error { return errors.New("publishing is not available yet") }

// unpublish stops pushing a session's stream to u; false when it was not published there.
func (a *App) unpublish(l *live, u string) bool { return false }

// redactURL drops the userinfo and the query of a URL (stream keys are secrets).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// publishStatus is one publishing target on the status page.
type publishStatus struct {
	URL        string `json:"url"`
	State      string `json:"state"`
	FramesSent uint64 `json:"frames_sent"`
	Failures   uint64 `json:"failures"`
}

func (p *publisher) status() publishStatus { return publishStatus{URL: redactURL(p.url), State: "off"} }

// checkPublishURL accepts rtmp:// and rtmps:// URLs with a host, an application and a
// stream name.
func checkPublishURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "rtmp" && u.Scheme != "rtmps") || u.Host == "" {
		return errors.New("want rtmp://HOST[:PORT]/APP/STREAM or rtmps://...")
	}
	return nil
}
