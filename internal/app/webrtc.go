package app

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/rendercast/rendercast/internal/access"
	"github.com/rendercast/rendercast/session"
	"github.com/rendercast/rendercast/whep"
)

// setupWebRTC creates the WHEP server from the configuration; its handler is mounted on
// the HTTP server at /whep/.
func (a *App) setupWebRTC() error {
	cfg := whep.Config{
		Viewers:    whep.ViewerFactoryFunc(a.newWebViewer),
		Token:      a.cfg.Token,
		Logger:     a.log.With("part", "webrtc"),
		ICEServers: a.cfg.ICEServers,
		PublicIPs:  a.cfg.PublicIPs,
		PortMin:    a.cfg.WebRTCPortMin,
		PortMax:    a.cfg.WebRTCPortMax,
		UDPPort:    a.cfg.WebRTCUDPPort,
		CallRate:   callRate,
		Guard:      a.webGuard,
		// The sender's congestion-control estimate (peers that negotiate transport-cc)
		// moves between the floor a browser's estimate may push a private session to and
		// the encoder's ceiling.
		MinBitrate: minBitrate(a.cfg),
		MaxBitrate: a.cfg.BitrateKbps * 1000,
	}
	// An HTTP address on one IP (e.g. 127.0.0.1:8080) keeps ICE host candidates on it too.
	if host, _, err := net.SplitHostPort(a.cfg.HTTP); err == nil {
		if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
			cfg.LocalIPs = []net.IP{ip}
		}
	}
	srv, err := whep.NewServer(cfg)
	if err != nil {
		return fmt.Errorf("webrtc: %w", err)
	}
	a.web = srv
	return nil
}

// webViewer is a WebRTC session's application side (whep.Viewer): a viewer whose sink is
// the WHEP session.
type webViewer struct {
	v  *viewer
	ws *whep.Session
}

// newWebViewer admits an offer: POST /whep/SCENE[?session=NAME].
func (a *App) newWebViewer(ws *whep.Session) (whep.Viewer, error) {
	q := ws.Query()
	name := q.Get("session")
	if _, ok := q["session"]; ok {
		if err := checkSessionName(name); err != nil {
			return nil, fmt.Errorf("%w: %w", whep.ErrBadRequest, err)
		}
	}
	scene := ws.Scene()
	if !a.lib.Has(scene) && (name == "" || a.reg.get(name) == nil) {
		return nil, fmt.Errorf("%w: %q (available: %s)", whep.ErrUnknownScene, scene, strings.Join(a.lib.Names(), ", "))
	}
	control := a.controlToken.Match(append(firstValue(q, access.KeyControlToken), ws.Header(access.HeaderControlToken))...)
	v := &viewer{a: a, transport: "webrtc", peer: ws.RemoteAddr(), app: "whep", started: time.Now(), control: control}
	if err := v.open(name, scene); err != nil {
		if errors.Is(err, access.ErrFull) {
			return nil, fmt.Errorf("%w (%w)", whep.ErrTooManySessions, err)
		}
		if errors.Is(err, ErrDraining) {
			return nil, fmt.Errorf("%w: %w", whep.ErrClosed, err)
		}
		return nil, err
	}
	return &webViewer{v: v, ws: ws}, nil
}

// Connected implements whep.Viewer: frames flow from now on.
func (w *webViewer) Connected() {
	if err := w.v.attach(w.ws); err != nil {
		go w.ws.Close(fmt.Sprintf("session: %v", err))
	}
}

// Call implements whep.Viewer: data-channel calls go through the same dispatcher as RTMP
// calls.
func (w *webViewer) Call(name string, args map[string]any) (any, error) {
	a := w.v.a
	var lives []*live
	if l := w.v.session(); l != nil {
		lives = append(lives, l)
	}
	res, err := a.call(webStats{w}, lives, w.v.control, name, session.Args(args))
	a.m.Call(name, answers(name), err == nil)
	if err != nil {
		a.log.Debug("call failed", "transport", "webrtc", "peer", w.ws.RemoteAddr(), "name", name, "err", err)
	}
	return res, err
}

// KeyframeWanted implements whep.Viewer: a receiver's PLI or FIR asks the session for a
// keyframe (at most one per session.KeyframeSpacing).
func (w *webViewer) KeyframeWanted() {
	if l := w.v.session(); l != nil {
		l.sess.RequestKeyframe()
	}
}

// Estimate implements whep.Viewer: a private session follows the receiver's estimate; a
// shared one only records it (session.Session.ReceiverEstimate).
func (w *webViewer) Estimate(bps int) {
	if l := w.v.session(); l != nil {
		if err := l.sess.ReceiverEstimate(bps); err != nil {
			w.v.a.log.Warn("bitrate change failed", "bps", bps, "err", err)
		}
	}
}

// Close implements whep.Viewer.
func (w *webViewer) Close() { w.v.end() }

// webStats answers stream.stats for a WebRTC viewer, in the shape RTMP's has.
type webStats struct{ w *webViewer }

// Stats implements session.Transport.
func (t webStats) Stats() any {
	st := map[string]any{"id": t.w.ws.ID(), "name": t.w.ws.Scene()}
	if l := t.w.v.session(); l != nil {
		st["session"] = l.sess.Stats()
		st["session_id"] = l.id
	}
	return map[string]any{"transport": "webrtc", "connection": t.w.ws.Stats(), "streams": []any{st}}
}
