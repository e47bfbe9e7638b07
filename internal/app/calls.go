package main

import (
	"fmt"

	"github.com/rendercast/rendercast/rtmpsrv"
	"github.com/rendercast/rendercast/session"
)

// rtmpTransport is one RTMP connection seen by the transport-level calls
// (session.Transport): they act on every playing stream of the connection.
type rtmpTransport struct {
	a *app
	c *rtmpsrv.Conn
}

// SetRenderRate implements session.Transport.
func (t rtmpTransport) SetRenderRate(fps float64) error {
	for _, s := range playingStreams(t.c) {
		if err := s.SetProperty(rtmpsrv.PropertyRenderRate, fmt.Sprint(fps)); err != nil {
			return &session.ArgError{Call: "stream.setRenderRate", Arg: "fps", Problem: err.Error()}
		}
	}
	return nil
}

// SetBitrate implements session.Transport.
func (t rtmpTransport) SetBitrate(bps int) error {
	for _, s := range playingStreams(t.c) {
		if enc := s.VideoEncoder(); enc != nil {
			if err := enc.SetBitrate(bps); err != nil {
				return err
			}
		}
	}
	return nil
}

// RequestKeyframe implements session.Transport.
func (t rtmpTransport) RequestKeyframe() {
	for _, s := range playingStreams(t.c) {
		if enc := s.VideoEncoder(); enc != nil {
			enc.RequestKeyframe()
		}
	}
}

// RenderNow implements session.Transport: a call changed the connection's views, whose
// streams render at once when their render rate allows.
func (t rtmpTransport) RenderNow() {
	for _, s := range playingStreams(t.c) {
		s.RenderNow()
	}
}

// Stats implements session.Transport: the connection's figures and each stream's, with
// its session's.
func (t rtmpTransport) Stats() map[string]any {
	out := map[string]any{"transport": "rtmp", "connection": t.c.Statistics()}
	var list []any
	for _, s := range t.c.Streams() {
		st := map[string]any{"id": s.ID(), "name": s.Name(), "stream": s.Statistics()}
		if v := t.a.viewer(viewerKey{t.c.ID(), s.ID()}); v != nil {
			st["session"] = v.sess.Stats()
		}
		list = append(list, st)
	}
	out["streams"] = list
	return out
}

// procedures lists every call the streamer answers.
func procedures() []string { return session.AllProcedures() }

func playingStreams(c *rtmpsrv.Conn) []*rtmpsrv.Stream {
	var out []*rtmpsrv.Stream
	for _, s := range c.Streams() {
		if s.Playing() {
			out = append(out, s)
		}
	}
	return out
}

// handleCall is the connection's default call handler: every procedure goes through the
// transport-neutral dispatcher, as data-channel calls of WebRTC sessions do.
func (a *app) handleCall(c *rtmpsrv.Conn, name string, cmd any, rawArgs []any) (any, error) {
	res, err := a.call(c, name, rawArgs)
	a.m.Call(name, session.Answers(name), err == nil)
	if err != nil {
		a.log.Debug("call failed", "transport", "rtmp", "peer", c.PeerAddress(), "name", name, "err", err)
	}
	return res, err
}

func (a *app) call(c *rtmpsrv.Conn, name string, rawArgs []any) (any, error) {
	args, err := argsFromAMF(name, rawArgs)
	if err != nil {
		return nil, err
	}
	viewers := a.viewersOf(c)
	views := make([]*session.Session, len(viewers))
	for i, v := range viewers {
		views[i] = v.sess
	}
	return a.viewers.Dispatch(rtmpTransport{a, c}, views, name, args)
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
