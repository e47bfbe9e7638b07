package session

import (
	"errors"
	"fmt"
	"sort"

	"github.com/rendercast/rendercast/pacer"
)

// ErrNotPlaying is returned by Dispatch for a call that needs a view (or a playing stream)
// when the client has none.
var ErrNotPlaying = errors.New("no stream is playing on this connection: play a scene first")

// Transport is the client a call came from, for the calls that describe it
// (stream.stats): its connection's figures, its streams and their sessions.
type Transport interface {
	Stats() any
}

// Bounds of the transport calls' arguments.
const (
	MinBitrateKbps = 100
	MaxBitrateKbps = 100000
)

type transportCall func(v *Viewers, t Transport, views []*Session, name string, a Args) (any, error)

// transportCalls are answered by Dispatch itself: they act on the sessions' output (render
// rate, encoder) or on the client, or need no view.
var transportCalls = map[string]transportCall{
	"stream.setRenderRate": func(v *Viewers, t Transport, views []*Session, name string, a Args) (any, error) {
		fps, err := a.number(name, "fps")
		if err != nil {
			return nil, err
		}
		if pacer.CheckRate(fps) != nil {
			return nil, &ArgError{name, "fps", fmt.Sprintf("want a number in [%g, %d]", pacer.MinRate, pacer.MaxRate)}
		}
		for _, s := range views {
			if err := s.SetRenderRate(fps); err != nil {
				return nil, err
			}
		}
		return map[string]any{"fps": fps}, nil
	},
	"stream.setBitrate": func(v *Viewers, t Transport, views []*Session, name string, a Args) (any, error) {
		kbps, err := a.number(name, "kbps")
		if err != nil {
			return nil, err
		}
		if kbps < MinBitrateKbps || kbps > MaxBitrateKbps {
			return nil, &ArgError{name, "kbps", fmt.Sprintf("%g is outside %d..%d", kbps, MinBitrateKbps, MaxBitrateKbps)}
		}
		for _, s := range views {
			if s.out.bitrate == nil {
				continue
			}
			if err := s.SetBitrate(int(kbps * 1000)); err != nil {
				return nil, err
			}
		}
		return map[string]any{"kbps": kbps}, nil
	},
	"stream.setSize": func(v *Viewers, t Transport, views []*Session, name string, a Args) (any, error) {
		w, err := a.number(name, "width")
		if err != nil {
			return nil, err
		}
		h, err := a.number(name, "height")
		if err != nil {
			return nil, err
		}
		if err := v.CheckSize(name, w, h); err != nil {
			return nil, err
		}
		for _, s := range views {
			if err := s.SetSize(int(w), int(h)); err != nil {
				return nil, err
			}
		}
		return map[string]any{"width": w, "height": h}, nil
	},
	"stream.keyframe": func(v *Viewers, t Transport, views []*Session, name string, a Args) (any, error) {
		for _, s := range views {
			s.RequestKeyframe()
		}
		return map[string]any{"ok": true}, nil
	},
	"stream.stats": func(v *Viewers, t Transport, views []*Session, name string, a Args) (any, error) {
		return t.Stats(), nil
	},
	"scene.list": func(v *Viewers, t Transport, views []*Session, name string, a Args) (any, error) {
		return v.Library.Names(), nil
	},
	"server.info": func(v *Viewers, t Transport, views []*Session, name string, a Args) (any, error) {
		if v.Info == nil {
			return map[string]any{}, nil
		}
		return v.Info(), nil
	},
}

// needsView lists the transport calls that act on a playing stream.
var needsView = map[string]bool{"stream.setRenderRate": true, "stream.setBitrate": true, "stream.keyframe": true, "stream.setSize": true}

// TransportProcedures lists the calls Dispatch answers itself or through the Transport
// (not through a session), sorted.
func TransportProcedures() []string {
	names := make([]string, 0, len(transportCalls))
	for n := range transportCalls {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// AllProcedures lists every call Dispatch answers, sorted.
func AllProcedures() []string {
	seen := map[string]bool{}
	var names []string
	for _, list := range [][]string{Procedures(), TransportProcedures()} {
		for _, n := range list {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	return names
}

// Answers reports whether Dispatch answers the procedure name (a session call or a
// transport call). Transports use it to label metrics without growing the label set.
func Answers(name string) bool {
	_, ok := transportCalls[name]
	return ok || Known(name)
}

// Dispatch runs one remote call from a client of any transport, so every call has one
// implementation whatever carries it. Transport calls (stream.*) go to t; scene.list and
// server.info are answered without a view; every other call runs on each session in views
// (a client may play several streams; the result is the last one's). A call that needs a
// view when views is empty gives ErrNotPlaying; an unknown procedure gives ErrUnknownCall;
// bad arguments give an *ArgError naming the argument. After a call that changed a view
// (camera, scene, pointer drag), the session renders as soon as its render rate allows.
func (v *Viewers) Dispatch(t Transport, views []*Session, name string, args Args) (any, error) {
	if args == nil {
		args = Args{}
	}
	if f, ok := transportCalls[name]; ok {
		if (needsView[name] && len(views) == 0) || (t == nil && name != "scene.list" && name != "server.info") {
			return nil, fmt.Errorf("%s: %w", name, ErrNotPlaying)
		}
		return f(v, t, views, name, args)
	}
	if !Known(name) {
		return nil, fmt.Errorf("%w: %q", ErrUnknownCall, name)
	}
	if len(views) == 0 {
		return nil, fmt.Errorf("%s: %w", name, ErrNotPlaying)
	}
	var res any
	for _, s := range views {
		before := s.edits()
		var err error
		res, err = s.Call(name, args)
		if s.edits() != before {
			s.RenderNow()
		}
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}
