package app

import (
	"errors"
	"fmt"
	"sync"

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
	url string
	p   *publish.Publisher

	mu      sync.Mutex
	detach  func() // set once attached
	stopped bool
}

// stop detaches the publisher (when attached) and closes it; once.
func (p *publisher) stop() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.stopped = true
	detach := p.detach
	p.mu.Unlock()
	if detach != nil {
		detach()
	}
	p.p.Close()
}

// publishStatus is one publishing target on the status page.
type publishStatus = publish.Status

func (p *publisher) status() publishStatus { return p.p.Status() }

// publish starts pushing a shared session's stream to u. It never waits for the server:
// the publisher connects, and reconnects, in the background.
func (a *App) publish(l *live, u string) error {
	if err := checkPublishURL(u); err != nil {
		return err
	}
	pub, err := publish.New(publish.Config{
		URL:       u,
		Logger:    a.log.With("part", "publish", "session", l.id),
		FrameRate: a.cfg.FPS,
	})
	if err != nil {
		return err
	}
	p := &publisher{url: u, p: pub}
	l.mu.Lock()
	switch {
	case l.closed:
		l.mu.Unlock()
		return fmt.Errorf("session %s: %w", l.id, ErrNoSession)
	case l.publishers[u] != nil:
		l.mu.Unlock()
		return errPublished
	}
	l.publishers[u] = p // unpublish (or the session's end) may stop it from now on
	l.mu.Unlock()
	pub.Start()
	detach, err := l.sess.Attach(pub)
	if err != nil {
		l.mu.Lock()
		if l.publishers[u] == p {
			delete(l.publishers, u)
		}
		l.mu.Unlock()
		p.stop()
		return err
	}
	p.mu.Lock()
	stopped := p.stopped
	if !stopped {
		p.detach = detach
	}
	p.mu.Unlock()
	if stopped { // unpublished as it started: the publish happened and was undone
		detach()
		return nil
	}
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
	a.reg.publisherEnded(p)
	a.log.Info("session unpublished", "session", l.id, "url", redactURL(u))
	if end {
		a.reg.end(l)
	}
	return true
}

// redactURL drops the user info and the query of a URL and shortens its stream name
// (publish.Redact): stream keys are secrets.
func redactURL(raw string) string { return publish.Redact(raw) }

// checkPublishURL accepts rtmp:// and rtmps:// URLs with a host, an application and a
// stream name.
func checkPublishURL(raw string) error { return publish.CheckURL(raw) }
