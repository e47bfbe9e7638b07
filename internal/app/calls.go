package app

import (
	"fmt"
	"sort"
	"strings"

	"github.com/rendercast/rendercast/rtmpsrv"
	"github.com/rendercast/rendercast/session"
)

// callRate bounds the calls one client may make per second, with bursts of as many: RTMP
// commands per connection and data-channel calls per WebRTC viewer alike (pointer input
// at a display's refresh rate fits).
const callRate = 200

// readOnly are the calls any viewer of a shared session may make without the control
// token: they change nothing.
var readOnly = map[string]bool{
	"camera.get": true, "scene.list": true, "scene.nodes": true, "server.info": true, "stream.stats": true,
	"scene.animations": true,
}

// appCalls are answered by the application itself: they act on the session registry.
var appCalls = map[string]func(a *App, l *live, args session.Args) (any, error){
	"session.publish":   (*App).callPublish,
	"session.unpublish": (*App).callUnpublish,
}

// procedures lists every call the streamer answers, sorted.
func procedures() []string {
	names := session.AllProcedures()
	for n := range appCalls {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// answers reports whether the streamer answers the procedure (metrics labels).
func answers(name string) bool {
	_, ok := appCalls[name]
	return ok || session.Answers(name)
}

// call runs one remote call from a client of either transport on the sessions it plays
// (or steers): shared sessions take calls that change them only from clients with the
// control token (when one is configured).
func (a *App) call(t session.Transport, lives []*live, control bool, name string, args session.Args) (any, error) {
	if args == nil {
		args = session.Args{}
	}
	for _, l := range lives {
		if l.shared() && !control && !readOnly[name] {
			return nil, fmt.Errorf("%s: %w", name, ErrControl)
		}
	}
	if f, ok := appCalls[name]; ok {
		if len(lives) == 0 {
			return nil, fmt.Errorf("%s: %w", name, session.ErrNotPlaying)
		}
		return f(a, lives[len(lives)-1], args)
	}
	views := make([]*session.Session, len(lives))
	for i, l := range lives {
		views[i] = l.sess
	}
	return a.viewers.Dispatch(t, views, name, args)
}

// publishURL checks a session.publish / unpublish URL argument.
func (a *App) publishURL(call string, l *live, args session.Args) (string, error) {
	u, ok := args["url"].(string)
	if !ok || u == "" {
		return "", &session.ArgError{Call: call, Arg: "url", Problem: "want the rtmp:// or rtmps:// URL to publish to"}
	}
	if !l.shared() {
		return "", &session.ArgError{Call: call, Arg: "url", Problem: "only a shared session (?session=NAME) can be published"}
	}
	if a.cfg.ControlToken == "" {
		return "", fmt.Errorf("%s: %w", call, errPublishNeedsControl)
	}
	allowed := false
	for _, p := range a.cfg.PublishAllow {
		if p != "" && strings.HasPrefix(u, p) {
			allowed = true
		}
	}
	if !allowed {
		return "", &session.ArgError{Call: call, Arg: "url", Problem: "not under a -publish-allow prefix"}
	}
	return u, nil
}

func (a *App) callPublish(l *live, args session.Args) (any, error) {
	u, err := a.publishURL("session.publish", l, args)
	if err != nil {
		return nil, err
	}
	if err := a.publish(l, u); err != nil {
		return nil, err
	}
	return map[string]any{"session": l.id, "url": redactURL(u)}, nil
}

func (a *App) callUnpublish(l *live, args session.Args) (any, error) {
	u, err := a.publishURL("session.unpublish", l, args)
	if err != nil {
		return nil, err
	}
	if !a.unpublish(l, u) {
		return nil, &session.ArgError{Call: "session.unpublish", Arg: "url", Problem: "the session is not published there"}
	}
	return map[string]any{"session": l.id, "url": redactURL(u)}, nil
}

// argsFromAMF turns a call's user arguments into named arguments: the first argument must
// be an object (or absent / null).
func argsFromAMF(call string, raw []any) (session.Args, error) {
	if len(raw) == 0 || raw[0] == nil {
		return session.Args{}, nil
	}
	var obj rtmpsrv.Object
	switch v := raw[0].(type) {
	case rtmpsrv.Object:
		obj = v
	case rtmpsrv.ECMAArray:
		obj = rtmpsrv.Object(v)
	case rtmpsrv.Undefined:
		return session.Args{}, nil
	default:
		return nil, &session.ArgError{Call: call, Arg: "arguments", Problem: fmt.Sprintf("want an object of named arguments, got %T", raw[0])}
	}
	m := make(session.Args, len(obj))
	for _, e := range obj {
		m[e.Key] = fromAMF(e.Value, 0)
	}
	return m, nil
}

func fromAMF(v any, depth int) any {
	if depth > 16 {
		return nil
	}
	switch x := v.(type) {
	case rtmpsrv.Object:
		m := make(map[string]any, len(x))
		for _, e := range x {
			m[e.Key] = fromAMF(e.Value, depth+1)
		}
		return m
	case rtmpsrv.ECMAArray:
		return fromAMF(rtmpsrv.Object(x), depth)
	case rtmpsrv.StrictArray:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = fromAMF(e, depth+1)
		}
		return out
	case rtmpsrv.Undefined:
		return nil
	}
	return v
}
