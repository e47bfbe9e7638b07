package app

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rendercast/rendercast/internal/access"
	"github.com/rendercast/rendercast/session"
)

// viewer is one client watching a session, whatever carries it: an RTMP stream or a
// WebRTC (WHEP) session. The transport makes it when the client asks to play, attaches its
// sink when it is ready for frames, and ends it when the client stops.
type viewer struct {
	a         *App
	transport string // "rtmp" or "webrtc"
	peer      string
	app       string // the RTMP application ("whep" for WebRTC)
	started   time.Time
	// control: the client presented the control token (or none is configured), so its
	// calls may steer a shared session.
	control bool

	mu      sync.Mutex
	live    *live
	detach  func()
	release func() // the -max-viewers slot
	ended   bool
}

// errUnknownScene wraps a scene the library does not have.
var errUnknownScene = errors.New("unknown scene")

// open admits the viewer and joins (or makes) its session: private without a name, else
// the shared session name (made with scene when it does not exist; a session that exists
// shows what it shows, whatever scene is asked).
func (v *viewer) open(name, scene string) error {
	a := v.a
	if name != "" {
		if err := checkSessionName(name); err != nil {
			return err
		}
	}
	if a.ready.draining.Load() {
		return ErrDraining
	}
	release, err := a.admit.Reserve(access.Viewer)
	if err != nil {
		return err
	}
	l, err := a.reg.join(name, scene, v)
	if err != nil {
		release()
		return err
	}
	v.mu.Lock()
	v.live, v.release = l, release
	v.mu.Unlock()
	a.m.Streams.Inc()
	a.log.Info("play", "transport", v.transport, "peer", v.peer, "app", v.app, "scene", l.sess.SceneName(), "session", l.id)
	return nil
}

// attach starts the session's frames flowing to sink.
func (v *viewer) attach(sink session.Sink) error {
	v.mu.Lock()
	l, ended := v.live, v.ended
	v.mu.Unlock()
	if l == nil || ended {
		return session.ErrClosed
	}
	detach, err := l.sess.Attach(sink)
	if err != nil {
		return fmt.Errorf("session %s: %w", l.id, err)
	}
	v.mu.Lock()
	if v.ended {
		v.mu.Unlock()
		detach()
		return session.ErrClosed
	}
	v.detach = detach
	v.mu.Unlock()
	return nil
}

// end detaches the viewer, leaves its session and gives back its slot; once.
func (v *viewer) end() {
	v.mu.Lock()
	if v.ended || v.live == nil {
		v.ended = true
		v.mu.Unlock()
		return
	}
	v.ended = true
	l, detach, release := v.live, v.detach, v.release
	v.mu.Unlock()
	if detach != nil {
		detach()
	}
	v.a.reg.leave(l, v)
	release()
	v.a.m.Streams.Dec()
	v.a.log.Info("stop", "transport", v.transport, "peer", v.peer, "app", v.app, "session", l.id,
		"seconds", time.Since(v.started).Round(time.Millisecond).Seconds())
}

// session returns the viewer's session (nil before open, after end, or for a nil viewer).
func (v *viewer) session() *live {
	if v == nil {
		return nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ended {
		return nil
	}
	return v.live
}
