// Package app is the Rendercast application: the renderer, the encoders, the session
// registry and both transports (RTMP through rtmpsrv, WebRTC through whep) wired into one
// service, with admission, authentication, calls, publishing, HTTP status and metrics.
// cmd/streamer reads the configuration and handles signals; New, Start and Shutdown are
// all it needs.
//
// A session (package session) is the unit: a scene, a camera, a view, one encoder and the
// render and frame loops. Viewers of either transport attach to one: privately (every
// viewer its own session) or by name (?session=NAME: one picture for many, steered by any
// client that may control it).
package app

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rendercast/rendercast/encode"
	"github.com/rendercast/rendercast/internal/access"
	"github.com/rendercast/rendercast/metrics"
	"github.com/rendercast/rendercast/render"
	"github.com/rendercast/rendercast/rtmpsrv"
	"github.com/rendercast/rendercast/scenes"
	"github.com/rendercast/rendercast/session"
	"github.com/rendercast/rendercast/whep"
)

// App is the streamer's application. Make it with New, serve with Start, end with
// Shutdown then Close.
type App struct {
	cfg      *Config
	log      *slog.Logger
	m        *metrics.Metrics
	renderer *render.Pool
	lib      *scenes.Library
	viewers  *session.Viewers
	choice   encode.Choice
	srv      *rtmpsrv.Server
	certs    *rtmpsrv.CertSource // RTMPS certificate (tls.go); nil without -listen-tls
	web      *whep.Server
	httpSrv  *http.Server
	httpLn   net.Listener
	adminSrv *http.Server // -admin-listen; nil without
	adminLn  net.Listener
	started  time.Time

	token        access.Secret // -token: watching
	controlToken access.Secret // -control-token: steering shared sessions
	admit        *access.Admission
	rtmpGuard    *access.Guard // per-address budgets of RTMP connections not connected yet
	webGuard     *access.Guard // and of WHEP offers and WebRTC sessions not connected yet
	reg          *registry

	ready *readiness // /readyz: the test encoder, draining
	conns rtmpConns  // open RTMP connections, told to leave by Shutdown
}

// New opens the renderer and probes the encoder (both fail fast with a message naming
// the flag), makes the sessions of -session and prepares both transports. It listens on
// nothing: Start does.
func New(cfg *Config, log *slog.Logger) (*App, error) {
	a := &App{cfg: cfg, log: log, m: metrics.New(), started: time.Now(),
		token: access.NewSecret(cfg.Token), controlToken: access.NewSecret(cfg.ControlToken)}
	a.admit = access.NewAdmission(access.Limits{Viewers: cfg.MaxViewers, Sessions: cfg.MaxSessions},
		func(kind, reason string) {
			if kind == access.Session.String() {
				a.m.SessionsRefused.Inc()
			} else {
				a.m.ViewersRefused.Inc()
			}
		})
	a.reg = newRegistry(a)
	a.ready = &readiness{a: a}
	tlsCfg, err := a.setupTLS() // before GL and the encoder: bad files fail fast
	if err != nil {
		return nil, err
	}
	if err := checkSpecs(cfg); err != nil {
		return nil, err
	}
	r, err := render.NewPool(render.PoolConfig{
		Config: render.Config{
			Platform: cfg.GL, MSAA: cfg.MSAA, Shading: RenderShading(cfg.Shading),
			Shadows:  RenderShadows(cfg.Shadows),
			Readback: RenderReadback(cfg.Readback), Convert: RenderConvert(cfg.Convert),
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
	detail := SceneDetail(cfg.Detail, info.Software)
	a.lib = scenes.NewLibraryDetail(detail)
	// Default texture limits (8192 per side, 512 MiB decoded per scene); what a model's
	// load works around (a texture skipped, a sampler value replaced) is logged.
	a.lib.SetModelOptions(scenes.ModelOptions{Logger: log.With("part", "scenes")})
	for _, sf := range cfg.Scenes {
		if err := a.lib.Add(sf.Name, sf.Path); err != nil {
			r.Close()
			return nil, fmt.Errorf("-scene %s=%s: %w", sf.Name, sf.Path, err)
		}
	}
	for _, ef := range cfg.Environments {
		if err := a.lib.AddEnvironment(ef.Name, ef.Path); err != nil {
			r.Close()
			return nil, fmt.Errorf("-environment %s=%s: %w", ef.Name, ef.Path, err)
		}
	}
	log.Info("OpenGL ready", "platform", info.Platform, "renderer", info.Renderer, "version", info.Version,
		"contexts", info.Contexts, "gpu", gpuList(cfg.GPUs), "readback", info.Readback, "convert", info.Convert,
		"msaa", info.MSAA, "shading", info.Shading, "shadows", shadowsInfo(info.Shadows), "detail", detail.String())

	// Probe the encoder once: "auto" tries NVENC here, and every session then uses the
	// encoder that opened, without probing again.
	probe, err := encode.New(a.encodeOptions(cfg.Encoder))
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("-encoder %s: %w", cfg.Encoder, err)
	}
	a.choice = probe.Choice()
	probe.Close()
	log.Info("encoder ready", "encoder", a.choice.Encoder, "requested", a.choice.Requested, "reason", a.choice.Reason)

	a.viewers = &session.Viewers{
		Renderer: r, Library: a.lib, Observer: a.m, Logger: log, Info: a.info,
		NewEncoder: a.newEncoder, FrameRate: cfg.FPS, RenderRate: cfg.FPS,
		Bitrate: cfg.BitrateKbps * 1000, MinBitrate: minBitrate(cfg), FixedBitrate: cfg.RateControl == "off",
		RefineAfter: cfg.RefineAfter, Adaptive: Adaptive(cfg.Adaptive, info.Software),
		MaxWidth: cfg.MaxWidth, MaxHeight: cfg.MaxHeight,
	}
	if err := a.setupGuards(); err != nil {
		r.Close()
		return nil, err
	}
	a.srv, err = rtmpsrv.NewServer(rtmpsrv.Config{
		Logger:            log.With("part", "rtmp"),
		MaxConns:          cfg.MaxConns,
		Guard:             a.rtmpGuard,
		MaxCallsPerSecond: callRate,
		RenderRate:        cfg.FPS,
		FrameRate:         cfg.FPS,
		TLS:               tlsCfg,
	})
	if err != nil {
		r.Close()
		return nil, err
	}
	a.srv.Install(a)
	if err := a.setupWebRTC(); err != nil {
		r.Close()
		return nil, err
	}
	a.m.Registry.MustRegister(&collector{a}, guardCollector{a})
	for _, sp := range cfg.Sessions {
		l, err := a.reg.create(sp.Name, sp.Scene, true, true)
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("-session %s=%s: %w", sp.Name, sp.Scene, err)
		}
		_ = l
	}
	for _, p := range cfg.Publish {
		l := a.reg.get(p.Session)
		if l == nil {
			a.Close()
			return nil, fmt.Errorf("-publish %s=%s: %w: name it with -session %s=SCENE", p.Session, redactURL(p.URL), ErrNoSession, p.Session)
		}
		if err := a.publish(l, p.URL); err != nil {
			a.Close()
			return nil, fmt.Errorf("-publish %s=%s: %w", p.Session, redactURL(p.URL), err)
		}
	}
	return a, nil
}

// defaultMinBitrate is the lowest bitrate rate control (a browser's estimate, an RTMP
// viewer's queue) pushes a private session to, without -min-bitrate.
const defaultMinBitrate = 300_000

// minBitrate is the floor of rate control in bits/s: -min-bitrate, never above -bitrate.
func minBitrate(cfg *Config) int {
	m := defaultMinBitrate
	if cfg.MinBitrateKbps > 0 {
		m = cfg.MinBitrateKbps * 1000
	}
	return min(m, cfg.BitrateKbps*1000)
}

// checkSpecs validates -session and -publish before anything is opened.
func checkSpecs(cfg *Config) error {
	seen := map[string]bool{}
	for _, sp := range cfg.Sessions {
		if err := checkSessionName(sp.Name); err != nil {
			return fmt.Errorf("-session %s=%s: %w", sp.Name, sp.Scene, err)
		}
		if seen[sp.Name] {
			return fmt.Errorf("-session %s: named twice", sp.Name)
		}
		seen[sp.Name] = true
	}
	for _, p := range cfg.Publish {
		if err := checkSessionName(p.Session); err != nil {
			return fmt.Errorf("-publish %s=...: %w", p.Session, err)
		}
		if err := checkPublishURL(p.URL); err != nil {
			return fmt.Errorf("-publish %s=%s: %w", p.Session, redactURL(p.URL), err)
		}
	}
	for _, p := range cfg.PublishAllow {
		if err := checkPublishURL(p); err != nil && !strings.HasPrefix(p, "rtmp://") && !strings.HasPrefix(p, "rtmps://") {
			return fmt.Errorf("-publish-allow %s: want an rtmp:// or rtmps:// URL prefix", redactURL(p))
		}
	}
	return nil
}

func (a *App) encodeOptions(encoder string) encode.Options {
	return EncodeOptions(a.cfg, a.log, encoder)
}

// EncodeOptions are the encoder options the configuration asks for, with encoder named.
func EncodeOptions(cfg *Config, log *slog.Logger, encoder string) encode.Options {
	o := encode.Options{
		Width: cfg.Width, Height: cfg.Height, FrameRate: cfg.FPS,
		Bitrate: cfg.BitrateKbps * 1000, KeyframeInterval: cfg.GOP,
		Encoder: encoder, Threads: cfg.EncoderThreads, Logger: log.With("part", "encode"),
	}
	if cfg.Preset != "" {
		if strings.HasPrefix(cfg.Preset, "p") && len(cfg.Preset) == 2 {
			o.NVENCPreset = cfg.Preset
		} else {
			o.X264Preset = cfg.Preset
		}
	}
	return o
}

// newEncoder opens a session's encoder: the one the probe chose.
func (a *App) newEncoder(eo session.EncoderOptions) (session.Encoder, error) {
	o := a.encodeOptions(a.choice.Encoder)
	if eo.Baseline {
		o.Profile = encode.ProfileBaseline // what WebRTC offers (42e01f)
	}
	if eo.LowDelay {
		o.VBVFrames = 1
	}
	return a.openEncoder(o)
}

// Start listens: RTMP (-listen), RTMPS (-listen-tls), HTTP (-http), admin HTTP
// (-admin-listen).
func (a *App) Start() error {
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
		a.httpSrv = a.newHTTPServer(a.httpHandler(), "http")
		go a.httpSrv.Serve(ln)
		a.log.Info("http listening", "addr", ln.Addr().String())
		a.log.Info("watch in a browser: " + browserURL(ln.Addr()))
	}
	if a.cfg.AdminListen != "" {
		ln, err := net.Listen("tcp", a.cfg.AdminListen)
		if err != nil {
			return fmt.Errorf("-admin-listen %s: %w", a.cfg.AdminListen, err)
		}
		a.adminLn = ln
		a.adminSrv = a.newHTTPServer(a.adminHandler(), "admin")
		go a.adminSrv.Serve(ln)
		a.log.Info("admin listening", "addr", ln.Addr().String(), "token", a.cfg.AdminToken != "")
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

// RTMPAddr and HTTPAddr return the listening addresses (nil when not listening).
func (a *App) RTMPAddr() net.Addr { return a.srv.ListenAddr() }

// HTTPAddr returns the HTTP listener's address, or nil.
func (a *App) HTTPAddr() net.Addr {
	if a.httpLn == nil {
		return nil
	}
	return a.httpLn.Addr()
}

// AdminAddr returns the admin listener's address (-admin-listen), or nil.
func (a *App) AdminAddr() net.Addr {
	if a.adminLn == nil {
		return nil
	}
	return a.adminLn.Addr()
}

// Shutdown refuses new viewers, tells the RTMP viewers to leave
// (NetStream.Play.UnpublishNotify), then stops HTTP and ends every WebRTC session and RTMP
// connection together (waiting for them until ctx ends), and closes every session. Drain
// is the graceful way to call it.
func (a *App) Shutdown(ctx context.Context) error {
	a.StopAdmitting()
	a.ready.close()
	err := a.closeTransports(ctx)
	a.reg.closeAll()
	a.rtmpGuard.Close() // refusals not logged yet
	a.webGuard.Close()
	return err
}

// Close frees the sessions and the renderer.
func (a *App) Close() {
	a.ready.close()
	if a.web != nil { // frees -webrtc-udp-port when Start or Shutdown never ran
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		a.web.Shutdown(ctx)
		cancel()
	}
	a.reg.closeAll()
	if a.renderer != nil {
		a.renderer.Close()
	}
}

// WithCanvas calls f with the latest canvas of the oldest session (nil when there is
// none) while holding its canvas lock: f must not keep the image. The preview window
// shows it.
func (a *App) WithCanvas(f func(img *image.YCbCr)) {
	list := a.reg.list()
	if len(list) == 0 {
		f(nil)
		return
	}
	oldest := list[0]
	for _, l := range list[1:] {
		if l.created.Before(oldest.created) {
			oldest = l
		}
	}
	oldest.sess.WithCanvas(f)
}

// Size returns the picture size and the frame rate.
func (a *App) Size() (width, height int, fps float64) { return a.cfg.Width, a.cfg.Height, a.cfg.FPS }

// animate resolves -animate: auto plays animations on GPUs only (on a software renderer a
// moving demo costs more CPU than a 720p30 stream can spend).
func (a *App) animate() bool {
	switch a.cfg.Animate {
	case "on":
		return true
	case "off":
		return false
	}
	return !a.renderer.Info().Software
}

// RenderShading maps -shading to render.Config.Shading: auto leaves the choice to the
// renderer (fast on software renderers, pbr on GPUs).
func RenderShading(v string) render.Shading {
	if v == "auto" {
		return render.ShadingAuto
	}
	return render.Shading(v)
}

// RenderShadows maps -shadows to render.Config.Shadows: auto (or empty) leaves the choice to
// the renderer (on GPUs; in refined frames only on software renderers).
func RenderShadows(v string) render.Shadows {
	if v == "auto" {
		return render.ShadowsAuto
	}
	return render.Shadows(v)
}

// shadowsInfo names render.Info.Shadows for server.info: on, off, or refined (refined
// frames alone: the automatic choice on software renderers).
func shadowsInfo(s render.Shadows) string {
	if s == render.ShadowsAuto {
		return "refined"
	}
	return string(s)
}

// RenderReadback maps -readback to render.Config.Readback (auto: the renderer's choice).
func RenderReadback(v string) render.Readback {
	if v == "auto" {
		return render.ReadbackAuto
	}
	return render.Readback(v)
}

// RenderConvert maps -convert to render.Config.Convert (auto: the renderer's choice).
func RenderConvert(v string) render.Convert {
	if v == "auto" {
		return render.ConvertAuto
	}
	return render.Convert(v)
}

// Adaptive resolves -adaptive: auto (or empty) lowers the render scale of moving frames
// on software renderers only, where rendering is what cannot hold the frame rate.
func Adaptive(v string, software bool) bool {
	switch v {
	case "on":
		return true
	case "off":
		return false
	}
	return software
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
func (a *App) glContexts() []map[string]any {
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

// SceneDetail maps -detail to the built-in scenes' level of detail: auto is low on software
// renderers, where the triangle count is a main cost of the scene pass, and full on GPUs.
func SceneDetail(v string, software bool) scenes.Detail {
	if v == "low" || v == "auto" && software {
		return scenes.DetailLow
	}
	return scenes.DetailFull
}

// info answers server.info.
func (a *App) info() map[string]any {
	gi := a.renderer.Info()
	maxW, maxH := a.viewers.MaxSize()
	return map[string]any{
		"version":              a.cfg.Version,
		"encoder":              a.choice.Encoder,
		"encoderReason":        a.choice.Reason,
		"glRenderer":           gi.Renderer,
		"glVendor":             gi.Vendor,
		"glVersion":            gi.Version,
		"glPlatform":           gi.Platform,
		"glContexts":           a.glContexts(),
		"readback":             string(gi.Readback),
		"convert":              string(gi.Convert),
		"shading":              string(gi.Shading),
		"shadows":              shadowsInfo(gi.Shadows),
		"detail":               SceneDetail(a.cfg.Detail, gi.Software).String(),
		"size":                 fmt.Sprintf("%dx%d", a.cfg.Width, a.cfg.Height),
		"fps":                  a.cfg.FPS,
		"scenes":               a.lib.Names(),
		"uptimeSeconds":        time.Since(a.started).Seconds(),
		"procedures":           procedures(),
		"tokenRequired":        a.token.Required(),
		"controlTokenRequired": a.controlToken.Required(),
		"bitrateKbps":          a.cfg.BitrateKbps,
		"keyframeSecond":       a.cfg.GOP.Seconds(),
		"refineAfterSecond":    a.cfg.RefineAfter.Seconds(),
		"adaptive":             a.viewers.Adaptive,
		"maxSize":              fmt.Sprintf("%dx%d", maxW, maxH),
		"sessions":             a.sessionInfo(),
	}
}
