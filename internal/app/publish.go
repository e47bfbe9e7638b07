package app

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rendercast/rendercast/publish"
)

// errPublishNeedsControl refuses session.publish when no control token is configured:
// the call makes the server dial out.
var errPublishNeedsControl = errors.New("publishing by call needs -control-token (and -publish-allow)")

// errPublished refuses publishing a session twice to the same URL.
var errPublished = errors.New("the session is already published there")

// publisher is one session's stream pushed to an external RTMP server: a sink of the
// session, with its own queue, connection and reconnects (package publish).
type publisher struct {
	url    string
	p      *publish.Publisher
	detach func()
}

func (p *publisher) stop() {
	p.detach()
	p.p.Close()
}

// publishStatus is one publishing target on the status page.
type publishStatus = publish.Status

func (p *publisher) status() publishStatus {
	st := p.p.Status()
	st.URL = redactURL(p.url)
	return st
}

// publish starts pushing a shared session's stream to u. It never waits for the server:
// the publisher connects, and reconnects, in the background.
func (a *App) publish(l *live, u string) error {
	if err := checkPublishURL(u); err != nil {
		return err
	}
	l.mu.Lock()
	_, dup := l.publishers[u]
	closed := l.closed
	l.mu.Unlock()
	if dup {
		return errPublished
	}
	if closed {
		return fmt.Errorf("session %s: %w", l.id, ErrNoSession)
	}
	pub, err := publish.New(publish.Config{
		URL:       u,
		Logger:    a.log.With("part", "publish", "session", l.id),
		FrameRate: a.cfg.FPS,
		Width:     a.cfg.Width,
		Height:    a.cfg.Height,
	})
	if err != nil {
		return err
	}
	p := &publisher{url: u, p: pub}
	l.mu.Lock()
	if _, dup := l.publishers[u]; dup || l.closed {
		l.mu.Unlock()
		return errPublished
	}
	l.publishers[u] = p
	l.mu.Unlock()
	pub.Start()
	detach, err := l.sess.Attach(pub)
	if err != nil {
		l.mu.Lock()
		delete(l.publishers, u)
		l.mu.Unlock()
		pub.Close()
		return err
	}
	p.detach = detach
	a.log.Info("session published", "session", l.id, "url", redactURL(u))
	return nil
}

// unpublish stops pushing a session's stream to u; false when it was not published there.
// A session made by a viewer ends when its last viewer has left and it publishes nowhere.
func (a *App) unpublish(l *live, u string) bool {
	l.mu.Lock()
	p := l.publishers[u]
	delete(l.publishers, u)
	end := p != nil && !l.persistent && len(l.viewers) == 0 && len(l.publishers) == 0 && !l.closed
	if end {
		l.closed = true
	}
	l.mu.Unlock()
	if p == nil {
		return false
	}
	p.stop()
	a.log.Info("session unpublished", "session", l.id, "url", redactURL(u))
	if end {
		a.reg.end(l)
	}
	return true
}

// redactURL drops the user info and the query of a URL and shortens its stream name to
// its first two characters: stream keys are secrets, and ingest services put them in the
// query or in the stream name (rtmp://a.rtmp.youtube.com/live2/KEY).
func redactURL(raw string) string {
	r := publish.Redact(raw)
	if i := strings.LastIndexByte(r, '/'); i >= 0 && i < len(r)-1 && strings.Count(r, "/") >= 4 {
		name := r[i+1:]
		if len(name) > 2 {
			name = name[:2] + "…"
		}
		r = r[:i+1] + name
	}
	return r
}

// checkPublishURL accepts rtmp:// and rtmps:// URLs with a host, an application and a
// stream name.
func checkPublishURL(raw string) error { return publish.CheckURL(raw) }
