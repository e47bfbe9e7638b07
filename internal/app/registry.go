package app

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rendercast/rendercast/internal/access"
	"github.com/rendercast/rendercast/session"
)

// Errors of the session registry.
var (
	// ErrBadSessionName refuses a session name that is not 1 to 64 of [A-Za-z0-9_-].
	ErrBadSessionName = errors.New("bad session name: want 1 to 64 letters, digits, '-' or '_'")
	// ErrNoSession refuses steering a shared session that does not exist.
	ErrNoSession = errors.New("no such session")
	// ErrControl refuses a call on a shared session from a client without the control
	// token.
	ErrControl = errors.New("calls on this shared session need the control token (-control-token): watching only")
)

var sessionName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// checkSessionName validates a session name from a URL or a flag.
func checkSessionName(name string) error {
	if !sessionName.MatchString(name) {
		return fmt.Errorf("%w: %q", ErrBadSessionName, truncate(name, 80))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// live is one session in the registry: a session.Session (scene, camera, view, encoder,
// loops) and who watches it. A private one has no name and one viewer; a shared one has a
// name and any number of viewers.
type live struct {
	id         string // the name, or "p-N" for a private session
	name       string // "" for a private session
	sess       *session.Session
	persistent bool // created by -session: kept with no viewers
	created    time.Time
	release    func() // gives back the admission slot

	mu         sync.Mutex
	viewers    map[*viewer]struct{}
	publishers map[string]*publisher // by URL
	closed     bool
}

func (l *live) shared() bool { return l.name != "" }

// sinkCount returns the viewers and publishers attached.
func (l *live) sinkCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.viewers) + len(l.publishers)
}

// registry holds every session. Its lock guards the maps only: sessions are made and
// closed outside it, and no frame ever takes it.
type registry struct {
	a       *App
	closing atomic.Bool // shutting down: failed -session sessions are not made again

	mu    sync.Mutex
	ended endedTotals // what sessions that ended counted: counters never go back
	// byID holds every session under its key: "s:" and the name for a shared one, "p:"
	// and its number for a private one. Private sessions are never found by name: a
	// client naming ?session=p-1 gets (or makes) the shared session p-1, not someone's
	// private view.
	byID     map[string]*live
	creating map[string]chan struct{} // named sessions being made
	next     uint64
}

func newRegistry(a *App) *registry {
	return &registry{a: a, byID: map[string]*live{}, creating: map[string]chan struct{}{}}
}

// join finds or makes the session a viewer asks for: private (name "") or the shared
// session name, made with scene if it does not exist. The viewer is registered with it
// (not attached: the transport attaches its sink when it is ready for frames).
func (r *registry) join(name, scene string, v *viewer) (*live, error) {
	if name == "" {
		l, err := r.create("", scene, false, v.transport == "webrtc")
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		l.viewers[v] = struct{}{}
		l.mu.Unlock()
		return l, nil
	}
	return r.obtain(name, scene, func(l *live) { l.viewers[v] = struct{}{} })
}

// obtain finds the open shared session name or makes it with scene (one maker at a time
// per name), and calls with on it under its lock, so that it cannot end in between.
func (r *registry) obtain(name, scene string, with func(l *live)) (*live, error) {
	for {
		r.mu.Lock()
		l := r.byID[sharedKey(name)]
		wait := r.creating[name]
		if l == nil && wait == nil {
			r.creating[name] = make(chan struct{})
		}
		r.mu.Unlock()
		if wait != nil {
			<-wait // made by another viewer just now: look again
			continue
		}
		if l == nil {
			var err error
			l, err = r.create(name, scene, false, true)
			r.mu.Lock()
			close(r.creating[name])
			delete(r.creating, name)
			r.mu.Unlock()
			if err != nil {
				return nil, err
			}
		}
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			time.Sleep(time.Millisecond) // ending as we found it: make it again once it is gone
			continue
		}
		with(l)
		l.mu.Unlock()
		return l, nil
	}
}

// failed forgets a session whose render or encode failed (its viewers were told by their
// sinks, and leave) and ends it. A session made by -session is made again after a pause,
// with its -publish targets.
func (r *registry) failed(l *live, err error) {
	l.mu.Lock()
	already := l.closed
	l.closed = true
	l.mu.Unlock()
	if already {
		return
	}
	r.a.m.StreamFailures.WithLabelValues("session").Inc()
	r.a.log.Error("session failed", "session", l.id, "err", err)
	r.a.ready.encoderFailed() // readiness opens a test encoder
	go func() {
		r.end(l)
		if l.persistent {
			r.revive(l.name, l.sess.SceneName(), time.Second)
		}
	}()
}

// revive makes the -session name again after delay, with its -publish targets; it tries
// again with a doubled delay (up to 30 s) while that fails.
func (r *registry) revive(name, scene string, delay time.Duration) {
	time.AfterFunc(delay, func() {
		if r.closing.Load() {
			return
		}
		l, err := r.obtain(name, scene, func(l *live) { l.persistent = true })
		if err != nil {
			next := min(2*delay, 30*time.Second)
			r.a.log.Warn("session not made again, retrying", "session", name, "err", err, "in", next)
			r.revive(name, scene, next)
			return
		}
		for _, p := range r.a.cfg.Publish {
			if p.Session == name {
				if err := r.a.publish(l, p.URL); err != nil && !errors.Is(err, errPublished) {
					r.a.log.Warn("publishing again failed", "session", name, "url", redactURL(p.URL), "err", err)
				}
			}
		}
		r.a.log.Info("session made again", "session", name, "scene", scene)
	})
}

// create makes a session and registers it.
func (r *registry) create(name, scene string, persistent, baseline bool) (*live, error) {
	a := r.a
	if !a.lib.Has(scene) {
		return nil, fmt.Errorf("%w: scene %q (available: %v)", errUnknownScene, scene, a.lib.Names())
	}
	release, err := a.admit.Reserve(access.Session)
	if err != nil {
		return nil, err
	}
	var made atomic.Pointer[live] // for Failed, which may run before create returns
	sess, err := session.New(a.viewers, scene, session.Options{
		Width: a.cfg.Width, Height: a.cfg.Height, Marker: a.cfg.Marker, Animate: a.animate(),
		Shared: name != "", Baseline: baseline || name != "",
		Failed: func(err error) {
			for made.Load() == nil {
				time.Sleep(time.Millisecond)
			}
			r.failed(made.Load(), err)
		},
	})
	if err != nil {
		release()
		a.m.StreamFailures.WithLabelValues("session").Inc()
		a.ready.encoderFailed() // its encoder may not have opened: readiness opens a test one
		return nil, fmt.Errorf("scene %q: %w", scene, err)
	}
	l := &live{name: name, sess: sess, persistent: persistent, created: time.Now(), release: release,
		viewers: map[*viewer]struct{}{}, publishers: map[string]*publisher{}}
	r.mu.Lock()
	if name == "" {
		r.next++
		l.id = "p-" + strconv.FormatUint(r.next, 10)
	} else {
		l.id = name
	}
	r.byID[l.key()] = l
	r.mu.Unlock()
	made.Store(l)
	if name != "" {
		a.log.Info("session created", "session", name, "scene", scene, "persistent", persistent)
	}
	return l, nil
}

// leave removes a viewer from its session; the session ends with its last viewer (and
// publisher) unless it was made by -session.
func (r *registry) leave(l *live, v *viewer) {
	l.mu.Lock()
	delete(l.viewers, v)
	end := !l.persistent && len(l.viewers) == 0 && len(l.publishers) == 0 && !l.closed
	if end {
		l.closed = true
	}
	l.mu.Unlock()
	if end {
		r.end(l)
	}
}

// endedTotals are the cumulative figures of sessions and publishers that ended.
type endedTotals struct {
	forced, pubFrames, pubFailures uint64
	rateDecreases, rateIncreases   uint64
	congestedSkips                 uint64
}

// end closes a session and forgets it.
func (r *registry) end(l *live) {
	r.mu.Lock()
	if r.byID[l.key()] == l {
		delete(r.byID, l.key())
	}
	r.mu.Unlock()
	l.mu.Lock()
	pubs := l.publishers
	l.publishers = map[string]*publisher{}
	l.mu.Unlock()
	for _, p := range pubs {
		p.stop()
		r.publisherEnded(p)
	}
	l.sess.Close()
	r.mu.Lock()
	st := l.sess.Stats()
	r.ended.forced += st.ForcedKeyframes
	r.ended.rateDecreases += st.RateDecreases
	r.ended.rateIncreases += st.RateIncreases
	r.ended.congestedSkips += st.CongestedSkips
	r.mu.Unlock()
	l.release()
	if l.shared() {
		r.a.log.Info("session ended", "session", l.name, "seconds", time.Since(l.created).Round(time.Millisecond).Seconds())
	}
}

// publisherEnded adds a stopped publisher's counts to the totals.
func (r *registry) publisherEnded(p *publisher) {
	st := p.status()
	r.mu.Lock()
	r.ended.pubFrames += st.FramesSent
	r.ended.pubFailures += st.Failures
	r.mu.Unlock()
}

// endedTotals returns the cumulative figures of what ended.
func (r *registry) endedTotals() endedTotals {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ended
}

// get returns the shared session name, or nil.
func (r *registry) get(name string) *live {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byID[sharedKey(name)]
}

// sharedKey is the registry key of the shared session name.
func sharedKey(name string) string { return "s:" + name }

// key is the session's registry key (see registry.byID).
func (l *live) key() string {
	if l.shared() {
		return sharedKey(l.name)
	}
	return "p:" + l.id
}

// list returns every session, shared ones first by name, then private ones by age.
func (r *registry) list() []*live {
	r.mu.Lock()
	out := make([]*live, 0, len(r.byID))
	for _, l := range r.byID {
		out = append(out, l)
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].shared() != out[j].shared() {
			return out[i].shared()
		}
		if out[i].shared() {
			return out[i].name < out[j].name
		}
		return out[i].created.Before(out[j].created)
	})
	return out
}

// closeAll ends every session (shutdown).
func (r *registry) closeAll() {
	r.closing.Store(true)
	for _, l := range r.list() {
		l.mu.Lock()
		already := l.closed
		l.closed = true
		l.mu.Unlock()
		if !already {
			r.end(l)
		}
	}
}
