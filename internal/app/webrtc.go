package main

import (
	"context"
	"fmt"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/encode"
	"github.com/rendercast/rendercast/session"
	"github.com/rendercast/rendercast/whep"
)

// minWebRTCBitrate is the lowest bitrate a browser's estimate can push a session to.
const minWebRTCBitrate = 300_000

// webrtcViewers wires browser (WHEP) sessions the way app.go wires RTMP streams: one
// session.Session and one encoder per WebRTC session, calls through the same dispatcher.
type webrtcViewers struct {
	a   *app
	srv *whep.Server

	mu   sync.Mutex
	list map[string]*webViewer
}

// webViewer is one WebRTC session's application side (whep.Viewer).
type webViewer struct {
	a       *app
	ws      *whep.Session
	sess    *session.Session
	started time.Time
}

// setupWebRTC creates the WHEP server from the configuration; its handler is mounted on
// the HTTP server at /whep/.
func (a *app) setupWebRTC() error {
	w := &webrtcViewers{a: a, list: map[string]*webViewer{}}
	cfg := whep.Config{
		Viewers:    whep.ViewerFactoryFunc(w.newViewer),
		Codecs:     whep.EncoderFactoryFunc(w.newEncoder),
		Token:      a.cfg.Token,
		Logger:     a.log.With("part", "webrtc"),
		RenderRate: a.cfg.FPS,
		FrameRate:  a.cfg.FPS,
		ICEServers: a.cfg.ICEServers,
		PublicIPs:  a.cfg.PublicIPs,
		PortMin:    a.cfg.WebRTCPortMin,
		PortMax:    a.cfg.WebRTCPortMax,
		MaxBitrate: a.cfg.BitrateKbps * 1000,
		MinBitrate: min(minWebRTCBitrate, a.cfg.BitrateKbps*1000),
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
	w.srv = srv
	a.web = w
	stat := func(key string) func() float64 {
		return func() float64 { return srv.Statistics()[key] }
	}
	a.m.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "rendercast_webrtc_sessions", Help: "Open WebRTC (WHEP) sessions."}, stat("sessions")),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "rendercast_webrtc_sessions_started_total", Help: "WebRTC sessions answered."}, stat("sessions_started")),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "rendercast_webrtc_requests_refused_total", Help: "WHEP requests refused (token, scene, offer, capacity)."}, stat("requests_refused")),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "rendercast_webrtc_frames_sent_total", Help: "Video frames sent to WebRTC clients."}, stat("frames_sent")),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "rendercast_webrtc_packets_sent_total", Help: "RTP packets sent to WebRTC clients."}, stat("packets_sent")),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "rendercast_webrtc_payload_bytes_out_total", Help: "RTP payload bytes sent to WebRTC clients."}, stat("payload_bytes_out")),
	)
	return nil
}

func (w *webrtcViewers) newEncoder(ws *whep.Session) (whep.VideoEncoder, error) {
	o := w.a.encodeOptions(w.a.choice.Encoder)
	o.Profile = encode.ProfileBaseline // what the session offers (42e01f)
	return encode.New(o)
}

func (w *webrtcViewers) newViewer(ws *whep.Session) (whep.Viewer, error) {
	a := w.a
	name := ws.Scene()
	if !a.lib.Has(name) {
		return nil, fmt.Errorf("%w: %q (available: %v)", whep.ErrUnknownScene, name, a.lib.Names())
	}
	if err := a.reserve(); err != nil {
		return nil, fmt.Errorf("%w (%w)", whep.ErrTooManySessions, err)
	}
	sess, err := session.New(a.viewers, name, session.Options{Width: a.cfg.Width, Height: a.cfg.Height, Marker: a.cfg.Marker, Animate: a.animate()})
	if err != nil {
		a.release()
		a.m.StreamFailures.WithLabelValues("session").Inc()
		return nil, fmt.Errorf("scene %q: %w", name, err)
	}
	v := &webViewer{a: a, ws: ws, sess: sess, started: time.Now()}
	w.mu.Lock()
	w.list[ws.ID()] = v
	w.mu.Unlock()
	a.m.Streams.Inc()
	a.log.Info("play", "transport", "webrtc", "peer", ws.RemoteAddr(), "scene", name)
	return v, nil
}

// viewers returns the open WebRTC viewers, oldest first.
func (w *webrtcViewers) viewers() []*webViewer {
	w.mu.Lock()
	out := make([]*webViewer, 0, len(w.list))
	for _, v := range w.list {
		out = append(out, v)
	}
	w.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].started.Before(out[j].started) })
	return out
}

func (w *webrtcViewers) shutdown(ctx context.Context) error {
	if err := w.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("webrtc shutdown: %w", err)
	}
	return nil
}

// Render implements whep.Viewer; a render with nothing new to draw is whep.ErrUnchanged,
// so it does not use up the render rate.
func (v *webViewer) Render() error {
	drawn, err := v.sess.RenderChanged()
	if err != nil {
		v.a.m.StreamFailures.WithLabelValues("render").Inc()
		return err
	}
	if !drawn {
		return whep.ErrUnchanged
	}
	return nil
}

// Frame implements whep.Viewer.
func (v *webViewer) Frame(queueFull bool) (*avc.Frame, error) {
	f, err := v.sess.Frame(v.ws.VideoEncoder(), queueFull, v.ws.Elapsed())
	if err != nil {
		v.a.m.StreamFailures.WithLabelValues("encode").Inc()
	}
	return f, err
}

// Call implements whep.Viewer: data-channel calls go through the same dispatcher as RTMP
// calls.
func (v *webViewer) Call(name string, args map[string]any) (any, error) {
	res, err := v.a.viewers.Dispatch(webTransport{v}, []*session.Session{v.sess}, name, session.Args(args))
	v.a.m.Call(name, session.Answers(name), err == nil)
	if err != nil {
		v.a.log.Debug("call failed", "transport", "webrtc", "peer", v.ws.RemoteAddr(), "name", name, "err", err)
	}
	return res, err
}

// Close implements whep.Viewer.
func (v *webViewer) Close() {
	w := v.a.web
	w.mu.Lock()
	delete(w.list, v.ws.ID())
	w.mu.Unlock()
	v.sess.Close()
	v.a.release()
	v.a.m.Streams.Dec()
	v.a.log.Info("stop", "transport", "webrtc", "peer", v.ws.RemoteAddr(), "scene", v.sess.SceneName(),
		"seconds", time.Since(v.started).Round(time.Millisecond).Seconds())
}

// webTransport is a WebRTC session seen by the transport-level calls (session.Transport).
type webTransport struct{ v *webViewer }

// SetRenderRate implements session.Transport.
func (t webTransport) SetRenderRate(fps float64) error { return t.v.ws.SetRenderRate(fps) }

// SetBitrate implements session.Transport: the ceiling of the bitrate that follows the
// browser's estimate.
func (t webTransport) SetBitrate(bps int) error { return t.v.ws.SetBitrate(bps) }

// RequestKeyframe implements session.Transport.
func (t webTransport) RequestKeyframe() { t.v.ws.RequestKeyframe() }

// RenderNow implements session.Transport.
func (t webTransport) RenderNow() { t.v.ws.RenderNow() }

// Stats implements session.Transport, in the shape RTMP's stream.stats has.
func (t webTransport) Stats() map[string]any {
	return map[string]any{
		"transport":  "webrtc",
		"connection": t.v.ws.Statistics(),
		"streams": []any{map[string]any{
			"id": t.v.ws.ID(), "name": t.v.sess.SceneName(), "session": t.v.sess.Stats(),
		}},
	}
}
