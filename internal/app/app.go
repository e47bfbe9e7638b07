package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rendercast/rendercast/encode"
	"github.com/rendercast/rendercast/metrics"
	"github.com/rendercast/rendercast/render"
	"github.com/rendercast/rendercast/rtmpsrv"
	"github.com/rendercast/rendercast/scenes"
	"github.com/rendercast/rendercast/session"
)

// app wires the renderer, the encoders and the RTMP server together, the way the neuray
// example does: the connect handler registers call handlers and a stream handler; the
// stream handler registers play, render and frame handlers.
type app struct {
	cfg      *config
	log      *slog.Logger
	m        *metrics.Metrics
	renderer *render.Pool
	lib      *scenes.Library
	viewers  *session.Viewers
	choice   encode.Choice
	srv      *rtmpsrv.Server
	certs    *rtmpsrv.CertSource // RTMPS certificate (tls.go); nil without -listen-tls
	httpSrv  *http.Server
	httpLn   net.Listener
	web      *webrtcViewers // browser (WHEP) sessions: webrtc.go
	started  time.Time

	mu       sync.Mutex
	sessions map[viewerKey]*viewer
	slots    int // viewers playing or being set up, both transports (-max-viewers)
}

// errFull refuses a viewer when -max-viewers are playing.
var errFull = errors.New("server full")

// reserve takes a viewer slot for a new RTMP play or WebRTC session; it fails (errFull,
// counted) when -max-viewers are taken. Every successful reserve is matched by a release.
func (a *app) reserve() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if limit := a.cfg.MaxViewers; limit > 0 && a.slots >= limit {
		a.m.ViewersRefused.Inc()
		return fmt.Errorf("%w: %d viewers playing, the most -max-viewers allows", errFull, a.slots)
	}
	a.slots++
	return nil
}

// release gives back a slot taken by reserve.
func (a *app) release() {
	a.mu.Lock()
	a.slots--
	a.mu.Unlock()
}

type viewerKey struct {
	conn   uint64
	stream uint32
}

// viewer is one playing stream: its session and what the status page shows.
type viewer struct {
	sess    *session.Session
	peer    string
	app     string
	scene   string
	started time.Time
}

func newApp(cfg *config, log *slog.Logger) (*app, error) {
	a := &app{cfg: cfg, log: log, m: metrics.New(), sessions: map[viewerKey]*viewer{}, started: time.Now()}
	tlsCfg, err := a.setupTLS() // before GL and the encoder: bad files fail fast
	if err != nil {
		return nil, err
	}
	r, err := render.NewPool(render.PoolConfig{
		Config: render.Config{
			Platform: cfg.GL, MSAA: cfg.MSAA, Shading: renderShading(cfg.Shading),
			Readback: renderReadback(cfg.Readback), Convert: renderConvert(cfg.Convert),
			Logger: log.With("part", "render"),
		},
		Contexts: cfg.GLContexts,
		GPUs:     cfg.GPUs,
	})
	if err != nil {
		return nil, fmt.Errorf("-gl %q -gpu %s -gl-contexts %d: %w", cfg.GL, gpuList(cfg.GPUs), cfg.GLContexts, err)
	}
	a.renderer = r
	info := r.Info()
	// The library comes after the renderer: -detail auto depends on whether it is software.
	detail := sceneDetail(cfg.Detail, info.Software)
	a.lib = scenes.NewLibraryDetail(detail)
	for _, sf := range cfg.Scenes {
		if err := a.lib.Add(sf.Name, sf.Path); err != nil {
			r.Close()
			return nil, fmt.Errorf("-scene %s=%s: %w", sf.Name, sf.Path, err)
		}
	}
	log.Info("OpenGL ready", "platform", info.Platform, "renderer", info.Renderer, "version", info.Version,
		"contexts", info.Contexts, "gpu", gpuList(cfg.GPUs), "readback", info.Readback, "convert", info.Convert,
		"msaa", info.MSAA, "shading", info.Shading, "detail", detail.String())

	// Probe the encoder once: "auto" tries NVENC here, and every viewer then uses the
	// encoder that opened, without probing again.
	probe, err := encode.New(a.encodeOptions(cfg.Encoder))
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("-encoder %s: %w", cfg.Encoder, err)
	}
	a.choice = probe.Choice()
	probe.Close()
	log.Info("encoder ready", "encoder", a.choice.Encoder, "requested", a.choice.Requested, "reason", a.choice.Reason)

	a.viewers = &session.Viewers{Renderer: r, Library: a.lib, Observer: a.m, Logger: log, Info: a.info}
	a.srv, err = rtmpsrv.NewServer(rtmpsrv.Config{
		Logger:     log.With("part", "rtmp"),
		Codecs:     rtmpsrv.CodecFactoryFunc(a.newEncoder),
		MaxConns:   cfg.MaxConns,
		RenderRate: cfg.FPS,
		FrameRate:  cfg.FPS,
		TLS:        tlsCfg,
	})
	if err != nil {
		r.Close()
		return nil, err
	}
	a.srv.Install(a)
	a.registerServerMetrics()
	if err := a.setupWebRTC(); err != nil {
		r.Close()
		return nil, err
	}
	return a, nil
}

func (a *app) encodeOptions(encoder string) encode.Options {
	o := encode.Options{
		Width: a.cfg.Width, Height: a.cfg.Height, FrameRate: a.cfg.FPS,
		Bitrate: a.cfg.BitrateKbps * 1000, KeyframeInterval: a.cfg.GOP,
		Encoder: encoder, Threads: a.cfg.EncoderThreads, Logger: a.log.With("part", "encode"),
	}
	if a.cfg.Preset != "" {
		if strings.HasPrefix(a.cfg.Preset, "p") && len(a.cfg.Preset) == 2 {
			o.NVENCPreset = a.cfg.Preset
		} else {
			o.X264Preset = a.cfg.Preset
		}
	}
	return o
}

// newEncoder is the RTMP server's codec factory: one encoder per stream.
func (a *app) newEncoder(codec string, s *rtmpsrv.Stream) (rtmpsrv.VideoEncoder, error) {
	if codec != "h264" {
		return nil, fmt.Errorf("codec %q: only h264 is supported", codec)
	}
	return encode.New(a.encodeOptions(a.choice.Encoder))
}

func (a *app) registerServerMetrics() {
	stat := func(key string) func() float64 {
		return func() float64 { return a.srv.Statistics()[key] }
	}
	a.m.Registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "rendercast_rtmp_frames_sent_total", Help: "Video frames written to RTMP clients."}, stat("frames_sent")),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "rendercast_rtmp_frames_dropped_total", Help: "Video frames dropped because a client's send queue was full."}, stat("frames_dropped")),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "rendercast_rtmp_bytes_out_total", Help: "Bytes written to RTMP clients."}, stat("bytes_out")),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "rendercast_rtmp_bytes_in_total", Help: "Bytes read from RTMP clients."}, stat("bytes_in")),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "rendercast_rtmp_stream_failures_total", Help: "Streams the RTMP server stopped because their render or frame handler failed or panicked."}, stat("streams_failed")),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "rendercast_rtmp_handler_panics_total", Help: "Panics recovered in RTMP handlers (the stream or call fails, the server lives on)."}, stat("handler_panics")),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "rendercast_rtmp_calls_limited_total", Help: "RTMP commands refused by the per-connection rate limit."}, stat("calls_limited")),
	)
}

func (a *app) start() error {
	if a.cfg.Listen != "" {
		if err := a.srv.Start(a.cfg.Listen); err != nil {
			return fmt.Errorf("-listen %s: %w", a.cfg.Listen, err)
		}
	}
	if a.cfg.ListenTLS != "" {
		if err := a.srv.StartTLS(a.cfg.ListenTLS); err != nil {
			return fmt.Errorf("-listen-tls %s: %w", a.cfg.ListenTLS, err)
		}
	}
	if a.cfg.HTTP != "" {
		ln, err := net.Listen("tcp", a.cfg.HTTP)
		if err != nil {
			return fmt.Errorf("-http %s: %w", a.cfg.HTTP, err)
		}
		a.httpLn = ln
		a.httpSrv = &http.Server{Handler: a.httpHandler(), ReadHeaderTimeout: 5 * time.Second}
		go a.httpSrv.Serve(ln)
		a.log.Info("http listening", "addr", ln.Addr().String())
		a.log.Info("watch in a browser: " + browserURL(ln.Addr()))
	}
	for _, l := range []struct {
		scheme string
		addr   net.Addr
	}{{"rtmp", a.srv.ListenAddr()}, {"rtmps", a.srv.ListenAddrTLS()}} {
		addr, ok := l.addr.(*net.TCPAddr)
		if !ok {
			continue
		}
		host := addr.IP.String()
		if addr.IP.IsUnspecified() {
			host = "127.0.0.1"
		}
		a.log.Info("watch with: ffplay " + l.scheme + "://" + net.JoinHostPort(host, fmt.Sprint(addr.Port)) + "/live/demo")
	}
	return nil
}

func (a *app) shutdown(ctx context.Context) error {
	var errs []error
	if a.httpSrv != nil {
		hctx, cancel := context.WithTimeout(ctx, time.Second)
		a.httpSrv.Shutdown(hctx)
		cancel()
	}
	if err := a.web.shutdown(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := a.srv.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("rtmp shutdown: %w", err))
	}
	return errors.Join(errs...)
}

func (a *app) close() {
	a.mu.Lock()
	for k, v := range a.sessions {
		v.sess.Close()
		delete(a.sessions, k)
	}
	a.mu.Unlock()
	if a.renderer != nil {
		a.renderer.Close()
	}
}

// animate resolves -animate: auto plays animations on GPUs only (on a software renderer a
// moving demo costs more CPU than a 720p30 stream can spend).
func (a *app) animate() bool {
	switch a.cfg.Animate {
	case "on":
		return true
	case "off":
		return false
	}
	return !a.renderer.Info().Software
}

// renderShading maps -shading to render.Config.Shading: auto leaves the choice to the
// renderer (fast on software renderers, pbr on GPUs).
func renderShading(v string) render.Shading {
	if v == "auto" {
		return render.ShadingAuto
	}
	return render.Shading(v)
}

// renderReadback maps -readback to render.Config.Readback (auto: the renderer's choice).
func renderReadback(v string) render.Readback {
	if v == "auto" {
		return render.ReadbackAuto
	}
	return render.Readback(v)
}

// renderConvert maps -convert to render.Config.Convert (auto: the renderer's choice).
func renderConvert(v string) render.Convert {
	if v == "auto" {
		return render.ConvertAuto
	}
	return render.Convert(v)
}

// gpuList writes -gpu back: "all" or the numbers.
func gpuList(gpus []int) string {
	if gpus == nil {
		return "all"
	}
	s := make([]string, len(gpus))
	for i, g := range gpus {
		s[i] = strconv.Itoa(g)
	}
	return strings.Join(s, ",")
}

// glContexts describes the renderer's contexts for server.info and /status.json.
func (a *app) glContexts() []map[string]any {
	var out []map[string]any
	for _, c := range a.renderer.Contexts() {
		m := map[string]any{
			"context": c.Context, "gpu": c.GPU, "device": c.Device, "renderer": c.Renderer,
			"views": c.Views, "working": c.Lost == nil,
		}
		if c.Lost != nil {
			m["error"] = c.Lost.Error()
		}
		out = append(out, m)
	}
	return out
}

// sceneDetail maps -detail to the built-in scenes' level of detail: auto is low on software
// renderers, where the triangle count is a main cost of the scene pass, and full on GPUs.
func sceneDetail(v string, software bool) scenes.Detail {
	if v == "low" || v == "auto" && software {
		return scenes.DetailLow
	}
	return scenes.DetailFull
}

// info answers server.info.
func (a *app) info() map[string]any {
	gi := a.renderer.Info()
	return map[string]any{
		"version":        version,
		"encoder":        a.choice.Encoder,
		"encoderReason":  a.choice.Reason,
		"glRenderer":     gi.Renderer,
		"glVendor":       gi.Vendor,
		"glVersion":      gi.Version,
		"glPlatform":     gi.Platform,
		"glContexts":     a.glContexts(),
		"readback":       string(gi.Readback),
		"convert":        string(gi.Convert),
		"shading":        string(gi.Shading),
		"detail":         sceneDetail(a.cfg.Detail, gi.Software).String(),
		"size":           fmt.Sprintf("%dx%d", a.cfg.Width, a.cfg.Height),
		"fps":            a.cfg.FPS,
		"scenes":         a.lib.Names(),
		"uptimeSeconds":  time.Since(a.started).Seconds(),
		"procedures":     procedures(),
		"tokenRequired":  a.cfg.Token != "",
		"bitrateKbps":    a.cfg.BitrateKbps,
		"keyframeSecond": a.cfg.GOP.Seconds(),
	}
}

// HandleConnect accepts or refuses a connection (token check) and registers its handlers.
func (a *app) HandleConnect(c *rtmpsrv.Conn, created bool, cmd rtmpsrv.Object, args []any) bool {
	if !created {
		a.m.Connections.Dec()
		return true
	}
	if a.cfg.Token != "" && !a.tokenOK(cmd, args) {
		a.m.ConnectsTotal.WithLabelValues("refused").Inc()
		// c.App() has no query string: a token there must not reach the log.
		a.log.Info("connect refused: missing or wrong token", "peer", c.PeerAddress(), "app", c.App())
		return false
	}
	a.m.ConnectsTotal.WithLabelValues("accepted").Inc()
	a.m.Connections.Inc()
	c.RegisterCallHandler(rtmpsrv.CallHandlerFunc(a.handleCall), "")
	c.RegisterStreamHandler(rtmpsrv.StreamHandlerFunc(a.handleStream))
	return true
}

// tokenOK looks for the token in the tcUrl query, the connect property "token" and the
// first extra connect argument, comparing in constant time. The token is never logged.
// Digests are compared, so that the time taken does not depend on the lengths either.
func (a *app) tokenOK(cmd rtmpsrv.Object, args []any) bool {
	want := sha256.Sum256([]byte(a.cfg.Token))
	var candidates []string
	if tc, ok := cmd.GetString("tcUrl"); ok {
		if u, err := url.Parse(tc); err == nil {
			candidates = append(candidates, u.Query().Get("token"))
		}
	}
	if app, ok := cmd.GetString("app"); ok {
		if _, q, ok := strings.Cut(app, "?"); ok {
			if v, err := url.ParseQuery(q); err == nil {
				candidates = append(candidates, v.Get("token"))
			}
		}
	}
	if t, ok := cmd.GetString("token"); ok {
		candidates = append(candidates, t)
	}
	if len(args) > 0 {
		if t, ok := args[0].(string); ok {
			candidates = append(candidates, t)
		}
	}
	match := 0
	for _, c := range candidates {
		got := sha256.Sum256([]byte(c))
		match |= subtle.ConstantTimeCompare(got[:], want[:])
	}
	return match == 1
}

func (a *app) handleStream(s *rtmpsrv.Stream, created bool, cmd any) bool {
	key := viewerKey{s.Conn().ID(), s.ID()}
	if !created {
		a.dropViewer(key)
		return true
	}
	if err := s.UseCodec("h264"); err != nil {
		a.log.Error("stream refused: no encoder", "peer", s.Conn().PeerAddress(), "err", err)
		a.m.StreamFailures.WithLabelValues("encoder").Inc()
		return false
	}
	s.RegisterPlayHandler(rtmpsrv.PlayHandlerFunc(a.handlePlay))
	s.RegisterRenderHandler(rtmpsrv.RenderHandlerFunc(a.handleRender))
	s.RegisterFrameHandler(rtmpsrv.FrameHandlerFunc(a.handleFrame))
	return true
}

// sceneFromStreamName strips a query ("demo?token=...") from a play name.
func sceneFromStreamName(name string) string {
	name, _, _ = strings.Cut(name, "?")
	return name
}

func (a *app) handlePlay(s *rtmpsrv.Stream, play bool) (*rtmpsrv.VideoData, error) {
	key := viewerKey{s.Conn().ID(), s.ID()}
	if !play {
		a.dropViewer(key)
		return nil, nil
	}
	name := sceneFromStreamName(s.Name())
	if !a.lib.Has(name) {
		return nil, fmt.Errorf("%w: scene %q (available: %s)", rtmpsrv.ErrStreamNotFound, name, strings.Join(a.lib.Names(), ", "))
	}
	a.dropViewer(key) // a second play on the same stream replaces the first (and frees its slot)
	if err := a.reserve(); err != nil {
		return nil, err
	}
	sess, err := session.New(a.viewers, name, session.Options{Width: a.cfg.Width, Height: a.cfg.Height, Marker: a.cfg.Marker, Animate: a.animate()})
	if err != nil {
		a.release()
		a.m.StreamFailures.WithLabelValues("session").Inc()
		return nil, fmt.Errorf("scene %q: %w", name, err)
	}
	conn := s.Conn()
	v := &viewer{sess: sess, peer: conn.PeerAddress(), app: conn.App(), scene: name, started: time.Now()}
	a.mu.Lock()
	a.sessions[key] = v
	a.mu.Unlock()
	a.m.Streams.Inc()
	a.log.Info("play", "peer", v.peer, "app", v.app, "scene", name)
	return nil, nil
}

func (a *app) dropViewer(key viewerKey) {
	a.mu.Lock()
	v := a.sessions[key]
	delete(a.sessions, key)
	a.mu.Unlock()
	if v != nil {
		v.sess.Close()
		a.release()
		a.m.Streams.Dec()
		a.log.Info("stop", "peer", v.peer, "app", v.app, "scene", v.scene, "seconds", time.Since(v.started).Round(time.Millisecond).Seconds())
	}
}

func (a *app) viewer(key viewerKey) *viewer {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sessions[key]
}

func (a *app) handleRender(s *rtmpsrv.Stream) error {
	v := a.viewer(viewerKey{s.Conn().ID(), s.ID()})
	if v == nil {
		return nil
	}
	drawn, err := v.sess.RenderChanged()
	if err != nil {
		a.m.StreamFailures.WithLabelValues("render").Inc()
		return err
	}
	if !drawn {
		return rtmpsrv.ErrUnchanged // nothing new: the render rate is not spent
	}
	return nil
}

func (a *app) handleFrame(s *rtmpsrv.Stream, queueFull bool) (*rtmpsrv.VideoData, error) {
	v := a.viewer(viewerKey{s.Conn().ID(), s.ID()})
	if v == nil {
		return nil, nil
	}
	f, err := v.sess.Frame(s.VideoEncoder(), queueFull, s.Elapsed())
	if err != nil {
		a.m.StreamFailures.WithLabelValues("encode").Inc()
		return nil, err
	}
	if f == nil {
		return nil, nil
	}
	return &rtmpsrv.VideoData{Frame: f}, nil
}

// viewersOf returns the sessions of a connection's playing streams, by stream id.
func (a *app) viewersOf(c *rtmpsrv.Conn) []*viewer {
	a.mu.Lock()
	defer a.mu.Unlock()
	var ids []viewerKey
	for k := range a.sessions {
		if k.conn == c.ID() {
			ids = append(ids, k)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].stream < ids[j].stream })
	out := make([]*viewer, len(ids))
	for i, k := range ids {
		out[i] = a.sessions[k]
	}
	return out
}
