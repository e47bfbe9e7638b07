package app

import (
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rendercast/rendercast/internal/access"
	"github.com/rendercast/rendercast/rtmpsrv"
	"github.com/rendercast/rendercast/session"
)

// rtmpClient is one RTMP connection's handler object (the connect handler registers it
// as the connection's call and stream handler): the session its connect URL names, and
// whether it presented the control token.
type rtmpClient struct {
	a       *App
	c       *rtmpsrv.Conn
	session string // ?session= of the tcUrl: what calls steer when nothing plays
	control bool
}

// HandleConnect accepts or refuses a connection (token check) and registers its handlers.
func (a *App) HandleConnect(c *rtmpsrv.Conn, created bool, cmd rtmpsrv.Object, args []any) bool {
	if !created {
		a.conns.remove(c)
		a.m.Connections.Dec()
		return true
	}
	if a.ready.draining.Load() {
		a.m.ConnectsTotal.WithLabelValues("refused").Inc()
		a.log.Info("connect refused: draining", "peer", c.PeerAddress(), "app", c.App())
		c.Refuse(ErrDraining.Error())
		return false
	}
	tcURL, _ := cmd.GetString("tcUrl")
	appName, _ := cmd.GetString("app")
	if !a.token.Match(access.FromRTMPConnect(access.KeyToken, tcURL, appName, cmd.GetString, args)...) {
		a.m.ConnectsTotal.WithLabelValues("refused").Inc()
		// c.App() has no query string: a token there must not reach the log.
		a.log.Info("connect refused: missing or wrong token", "peer", c.PeerAddress(), "app", c.App())
		c.Refuse("missing or wrong token")
		return false
	}
	cl := &rtmpClient{a: a, c: c, control: a.controlToken.Match(access.FromRTMPConnect(access.KeyControlToken, tcURL, appName, cmd.GetString, nil)...)}
	if name := connectQuery(cmd).Get("session"); name != "" {
		if err := checkSessionName(name); err != nil {
			a.m.ConnectsTotal.WithLabelValues("refused").Inc()
			a.log.Info("connect refused", "peer", c.PeerAddress(), "app", c.App(), "err", err)
			c.Refuse(err.Error())
			return false
		}
		cl.session = name
	}
	a.m.ConnectsTotal.WithLabelValues("accepted").Inc()
	a.m.Connections.Inc()
	a.conns.add(c)
	c.RegisterCallHandler(cl, "")
	c.RegisterStreamHandler(cl)
	return true
}

// connectQuery merges the query of the connect command's tcUrl and app.
func connectQuery(cmd rtmpsrv.Object) url.Values {
	q := url.Values{}
	if tc, ok := cmd.GetString("tcUrl"); ok {
		if u, err := url.Parse(tc); err == nil {
			for k, v := range u.Query() {
				q[k] = append(q[k], v...)
			}
		}
	}
	if app, ok := cmd.GetString("app"); ok {
		if _, raw, ok := strings.Cut(app, "?"); ok {
			if v, err := url.ParseQuery(raw); err == nil {
				for k, vs := range v {
					q[k] = append(q[k], vs...)
				}
			}
		}
	}
	return q
}

// HandleStream gives each new stream its own handler object.
func (cl *rtmpClient) HandleStream(s *rtmpsrv.Stream, created bool, cmd any) bool {
	if created {
		s.RegisterPlayHandler(&rtmpViewer{cl: cl})
	}
	return true
}

// rtmpViewer is one RTMP stream's play handler: the viewer it plays as. v is replaced by
// plays and stops (the stream's goroutines) and read by calls (the connection's reader).
type rtmpViewer struct {
	cl *rtmpClient
	v  atomic.Pointer[viewer]
}

// splitPlayName cuts a play name into the scene and its query ("demo?session=x").
func splitPlayName(name string) (string, url.Values) {
	scene, raw, _ := strings.Cut(name, "?")
	q, _ := url.ParseQuery(raw)
	return scene, q
}

// HandlePlay admits a play and joins its session; play=false ends the viewer.
func (rv *rtmpViewer) HandlePlay(s *rtmpsrv.Stream, play bool) (*rtmpsrv.VideoData, error) {
	cl := rv.cl
	a := cl.a
	if old := rv.v.Swap(nil); old != nil {
		old.end() // a stop, or a second play on the same stream replacing the first
	}
	if !play {
		return nil, nil
	}
	scene, q := splitPlayName(s.Name())
	name := q.Get("session")
	if _, ok := q["session"]; !ok {
		name = cl.session
	}
	if !a.lib.Has(scene) && (name == "" || a.reg.get(name) == nil) {
		return nil, fmt.Errorf("%w: scene %q (available: %s)", rtmpsrv.ErrStreamNotFound, scene, strings.Join(a.lib.Names(), ", "))
	}
	if _, ok := q["session"]; ok && name == "" {
		return nil, fmt.Errorf("%w: empty", ErrBadSessionName)
	}
	conn := s.Conn()
	v := &viewer{a: a, transport: "rtmp", peer: conn.PeerAddress(), app: conn.App(), started: time.Now(),
		control: cl.control || a.controlToken.Match(firstValue(q, access.KeyControlToken)...)}
	if err := v.open(name, scene); err != nil {
		return nil, err
	}
	rv.v.Store(v)
	return nil, nil
}

// HandlePlayStarted attaches the stream to the viewer's session: frames flow from now on.
func (rv *rtmpViewer) HandlePlayStarted(s *rtmpsrv.Stream) {
	v := rv.v.Load()
	if v == nil {
		return
	}
	if err := v.attach(rtmpSink{s}); err != nil {
		s.End(err)
	}
}

// rtmpSink is an RTMP stream as a session's sink: frames, its queue, its end, and its
// connection's link for the session's rate control.
type rtmpSink struct{ *rtmpsrv.Stream }

// Link implements session.LinkReporter.
func (k rtmpSink) Link() session.Link {
	l := k.Stream.Link()
	return session.Link{Bps: l.Bps, SampledAt: l.SampledAt, Delay: l.Delay, Oldest: l.Oldest, KeyframeQueued: l.KeyframeQueued, BytesSent: l.BytesSent}
}

var (
	_ session.LinkReporter  = rtmpSink{}
	_ session.QueueReporter = rtmpSink{}
	_ session.Ender         = rtmpSink{}
)

// viewersOf returns the viewers of a connection's playing streams, by stream id.
func viewersOf(c *rtmpsrv.Conn) []*viewer {
	var out []*viewer
	for _, s := range c.Streams() {
		if rv, ok := s.PlayHandler().(*rtmpViewer); ok && s.Playing() {
			if v := rv.v.Load(); v != nil {
				out = append(out, v)
			}
		}
	}
	return out
}

// HandleCall is the connection's call handler: every procedure goes through the
// application's dispatcher, as data-channel calls of WebRTC viewers do.
func (cl *rtmpClient) HandleCall(c *rtmpsrv.Conn, name string, cmd any, rawArgs []any) (any, error) {
	a := cl.a
	args, err := argsFromAMF(name, rawArgs)
	var res any
	if err == nil {
		var lives []*live
		control := cl.control
		for _, v := range viewersOf(c) {
			if l := v.session(); l != nil {
				lives = append(lives, l)
				control = control || v.control
			}
		}
		if len(lives) == 0 && cl.session != "" {
			l := a.reg.get(cl.session)
			if l == nil {
				err = fmt.Errorf("%w: %q", ErrNoSession, cl.session)
			} else {
				lives = append(lives, l)
			}
		}
		if err == nil {
			res, err = a.call(rtmpStats{a, c}, lives, control, name, args)
		}
	}
	a.m.Call(name, answers(name), err == nil)
	if err != nil {
		a.log.Debug("call failed", "transport", "rtmp", "peer", c.PeerAddress(), "name", name, "err", err)
	}
	return res, err
}

// rtmpStats answers stream.stats for an RTMP connection: its figures and each stream's,
// with its session's.
type rtmpStats struct {
	a *App
	c *rtmpsrv.Conn
}

// Stats implements session.Transport.
func (t rtmpStats) Stats() any {
	var list []any
	for _, s := range t.c.Streams() {
		st := map[string]any{"id": s.ID(), "name": redactPlayName(s.Name()), "stream": s.Stats()}
		if rv, ok := s.PlayHandler().(*rtmpViewer); ok {
			if l := rv.v.Load().session(); l != nil {
				st["session"] = l.sess.Stats()
				st["session_id"] = l.id
			}
		}
		list = append(list, st)
	}
	return map[string]any{"transport": "rtmp", "connection": t.c.Stats(), "streams": list}
}

// redactPlayName drops a play name's query (it may hold tokens).
func redactPlayName(name string) string {
	scene, _, _ := strings.Cut(name, "?")
	return scene
}

var _ session.Transport = rtmpStats{}

// firstValue returns the first value of a query parameter as candidates for a secret (none
// when absent): one guess per request, as access.FromRequest and FromRTMPConnect take.
func firstValue(q url.Values, key string) []string {
	if v := q.Get(key); v != "" {
		return []string{v}
	}
	return nil
}
