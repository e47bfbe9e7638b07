package main

import (
	"errors"
	"fmt"
	"sort"

	"github.com/rendercast/rendercast/rtmpsrv"
	"github.com/rendercast/rendercast/session"
)

// Calls answered here rather than by a session: they act on the transport (the RTMP stream
// and its encoder) or need no view.
var transportCalls = map[string]func(a *app, c *rtmpsrv.Conn, name string, args session.Args) (any, error){
	"stream.setRenderRate": func(a *app, c *rtmpsrv.Conn, name string, args session.Args) (any, error) {
		fps, err := numberArg(name, args, "fps")
		if err != nil {
			return nil, err
		}
		streams, err := playingStreams(c)
		if err != nil {
			return nil, err
		}
		for _, s := range streams {
			if err := s.SetProperty(rtmpsrv.PropertyRenderRate, fmt.Sprint(fps)); err != nil {
				return nil, &session.ArgError{Call: name, Arg: "fps", Problem: "want a number in [0.1, 240]"}
			}
		}
		return map[string]any{"fps": fps}, nil
	},
	"stream.setBitrate": func(a *app, c *rtmpsrv.Conn, name string, args session.Args) (any, error) {
		kbps, err := numberArg(name, args, "kbps")
		if err != nil {
			return nil, err
		}
		if kbps < 100 || kbps > 100000 {
			return nil, &session.ArgError{Call: name, Arg: "kbps", Problem: fmt.Sprintf("%g is outside 100..100000", kbps)}
		}
		streams, err := playingStreams(c)
		if err != nil {
			return nil, err
		}
		for _, s := range streams {
			if enc := s.VideoEncoder(); enc != nil {
				if err := enc.SetBitrate(int(kbps * 1000)); err != nil {
					return nil, err
				}
			}
		}
		return map[string]any{"kbps": kbps}, nil
	},
	"stream.keyframe": func(a *app, c *rtmpsrv.Conn, name string, args session.Args) (any, error) {
		streams, err := playingStreams(c)
		if err != nil {
			return nil, err
		}
		for _, s := range streams {
			if enc := s.VideoEncoder(); enc != nil {
				enc.RequestKeyframe()
			}
		}
		return map[string]any{"ok": true}, nil
	},
	"stream.stats": func(a *app, c *rtmpsrv.Conn, name string, args session.Args) (any, error) {
		out := map[string]any{"connection": c.Statistics()}
		var list []any
		for _, s := range c.Streams() {
			st := map[string]any{"id": s.ID(), "name": s.Name(), "stream": s.Statistics()}
			if v := a.viewer(viewerKey{c.ID(), s.ID()}); v != nil {
				st["session"] = v.sess.Stats()
			}
			list = append(list, st)
		}
		out["streams"] = list
		return out, nil
	},
	"scene.list": func(a *app, c *rtmpsrv.Conn, name string, args session.Args) (any, error) {
		return a.lib.Names(), nil
	},
	"server.info": func(a *app, c *rtmpsrv.Conn, name string, args session.Args) (any, error) {
		return a.info(), nil
	},
}

// transportProcedures names the keys of transportCalls (kept apart to avoid an
// initialisation cycle through server.info; a test checks they agree).
var transportProcedures = []string{"scene.list", "server.info", "stream.keyframe", "stream.setBitrate", "stream.setRenderRate", "stream.stats"}

// procedures lists every call the streamer answers.
func procedures() []string {
	names := append(session.Procedures(), transportProcedures...)
	sort.Strings(names)
	out := names[:0]
	for i, n := range names {
		if i == 0 || n != names[i-1] {
			out = append(out, n)
		}
	}
	return out
}

func numberArg(call string, args session.Args, key string) (float64, error) {
	v, ok := args[key]
	if !ok || v == nil {
		return 0, &session.ArgError{Call: call, Arg: key, Problem: "missing (want a number)"}
	}
	f, ok := v.(float64)
	if !ok {
		return 0, &session.ArgError{Call: call, Arg: key, Problem: fmt.Sprintf("want a number, got %T", v)}
	}
	return f, nil
}

var errNotPlaying = errors.New("no stream is playing on this connection: play a scene first")

func playingStreams(c *rtmpsrv.Conn) ([]*rtmpsrv.Stream, error) {
	var out []*rtmpsrv.Stream
	for _, s := range c.Streams() {
		if s.Playing() {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, errNotPlaying
	}
	return out, nil
}

// handleCall is the connection's default call handler: every procedure goes through it.
func (a *app) handleCall(c *rtmpsrv.Conn, name string, cmd any, rawArgs []any) (any, error) {
	res, known, err := a.call(c, name, rawArgs)
	a.m.Call(name, known, err == nil)
	if err != nil {
		a.log.Debug("call failed", "peer", c.PeerAddress(), "name", name, "err", err)
	}
	return res, err
}

func (a *app) call(c *rtmpsrv.Conn, name string, rawArgs []any) (any, bool, error) {
	args, err := argsFromAMF(name, rawArgs)
	if err != nil {
		_, known := transportCalls[name]
		return nil, known, err
	}
	if f, ok := transportCalls[name]; ok {
		res, err := f(a, c, name, args)
		return res, true, err
	}
	viewers := a.viewersOf(c)
	if len(viewers) == 0 {
		// Still tell an unknown procedure apart from a known one called too early.
		if !session.Known(name) {
			return nil, false, fmt.Errorf("%w: %q", session.ErrUnknownCall, name)
		}
		return nil, true, fmt.Errorf("%s: %w", name, errNotPlaying)
	}
	var res any
	for _, v := range viewers {
		res, err = v.sess.Call(name, args)
		if errors.Is(err, session.ErrUnknownCall) {
			return nil, false, err
		}
		if err != nil {
			return nil, true, err
		}
	}
	return res, true, nil
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
