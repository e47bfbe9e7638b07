package app

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rendercast/rendercast/rtmpsrv"
	"github.com/rendercast/rendercast/session"
	"github.com/rendercast/rendercast/web"
	"github.com/rendercast/rendercast/whep"
)

// httpHandler serves the public listener (-http): the browser viewer at / (WHEP at
// /whep/), /healthz, /readyz and, unless -admin-listen moves them to their own listener,
// the admin endpoints (/metrics, /status, /status.json, behind -admin-token when set).
// Every request body is bounded (maxBodyBytes).
func (a *App) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/whep/", a.web.Handler())
	mux.Handle("GET /{$}", web.Handler())
	mux.Handle("GET /viewer/", web.Handler())
	a.healthRoutes(mux)
	if a.cfg.AdminListen == "" {
		a.adminRoutes(mux)
	}
	return limitBody(mux)
}

// healthRoutes adds /healthz and /readyz: open to every client (container and Kubernetes
// probes), on the public and the admin listener alike.
func (a *App) healthRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if ok, why := a.Alive(); !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(why + "\n"))
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		st := a.Ready()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if !st.Ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(st)
	})
}

// viewerStatus is one viewer (or publisher) of a session on the status page.
type viewerStatus struct {
	Transport string  `json:"transport"`
	Peer      string  `json:"peer"`
	App       string  `json:"app,omitempty"`
	Seconds   float64 `json:"seconds"`
	// Control: the viewer may steer a shared session.
	Control bool `json:"control"`
}

// sessionStatus is one session on the status page and in server.info.
type sessionStatus struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Scene      string         `json:"scene"`
	Shared     bool           `json:"shared"`
	Persistent bool           `json:"persistent"`
	Seconds    float64        `json:"seconds"`
	Viewers    []viewerStatus `json:"viewers"`
	// ViewerCount counts viewers (publishers not included).
	ViewerCount int             `json:"viewerCount"`
	Publish     []publishStatus `json:"publish,omitempty"`
	Stats       session.Stats   `json:"stats"`
	Frames      uint64          `json:"frames"`
	Keyframes   uint64          `json:"keyframes"`
	Forced      uint64          `json:"forced_keyframes"`
	// Rate: the encoder's bitrate and, under rate control, the viewer's link, for the
	// status page.
	Rate string `json:"-"`
}

type status struct {
	Version  string           `json:"version"`
	Encoder  string           `json:"encoder"`
	Reason   string           `json:"encoderReason"`
	GL       string           `json:"gl"`
	Contexts []map[string]any `json:"glContexts"`
	Uptime   string           `json:"uptime"`
	Server   rtmpsrv.Stats    `json:"server"`
	WebRTC   whep.ServerStats `json:"webrtc"`
	Sessions []sessionStatus  `json:"sessions"`
	Scenes   []string         `json:"scenes"`
	// RTMPURL is the RTMP base URL as seen by the client that asked (host from its request).
	RTMPURL string `json:"rtmpURL"`
	// TokenRequired tells the browser viewer to ask for a token.
	TokenRequired bool `json:"tokenRequired"`
}

// sessions describes every session with its viewers. It reads figures without waiting
// for any frame.
func (a *App) sessions() []sessionStatus {
	var out []sessionStatus
	for _, l := range a.reg.list() {
		st := l.sess.Stats()
		ss := sessionStatus{ID: l.id, Name: l.name, Scene: st.Scene, Shared: l.shared(), Persistent: l.persistent,
			Seconds: time.Since(l.created).Round(time.Second).Seconds(), Stats: st,
			Frames: st.Frames, Keyframes: st.Keyframes, Forced: st.ForcedKeyframes, Viewers: []viewerStatus{},
			Rate: rateText(st)}
		l.mu.Lock()
		for v := range l.viewers {
			ss.Viewers = append(ss.Viewers, viewerStatus{Transport: v.transport, Peer: v.peer, App: v.app,
				Seconds: time.Since(v.started).Round(time.Second).Seconds(), Control: v.control || !l.shared()})
		}
		pubs := make([]*publisher, 0, len(l.publishers))
		for _, p := range l.publishers {
			pubs = append(pubs, p)
		}
		l.mu.Unlock()
		ss.ViewerCount = len(ss.Viewers)
		sort.Slice(ss.Viewers, func(i, j int) bool { return ss.Viewers[i].Peer < ss.Viewers[j].Peer })
		for _, p := range pubs {
			ss.Publish = append(ss.Publish, p.status())
		}
		sort.Slice(ss.Publish, func(i, j int) bool { return ss.Publish[i].URL < ss.Publish[j].URL })
		out = append(out, ss)
	}
	return out
}

// sessionInfo is sessions for server.info: viewers as a count.
func (a *App) sessionInfo() []map[string]any {
	var out []map[string]any
	for _, s := range a.sessions() {
		out = append(out, map[string]any{"id": s.ID, "name": s.Name, "scene": s.Scene, "shared": s.Shared,
			"persistent": s.Persistent, "viewerCount": s.ViewerCount, "seconds": s.Seconds})
	}
	return out
}

// browserURL is the viewer page's URL for the HTTP listener (loopback when it listens on
// every address).
func browserURL(addr net.Addr) string {
	host, port := "127.0.0.1", ""
	if a, ok := addr.(*net.TCPAddr); ok {
		port = strconv.Itoa(a.Port)
		if !a.IP.IsUnspecified() {
			host = a.IP.String()
		}
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// statusFor is status with the RTMP URL for the host the request was sent to.
func (a *App) statusFor(r *http.Request) status {
	st := a.status()
	host := r.Host
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		host = h
	}
	if addr, ok := a.srv.ListenAddr().(*net.TCPAddr); ok && host != "" {
		st.RTMPURL = "rtmp://" + net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(addr.Port)) + "/live/"
	} else if addr, ok := a.srv.ListenAddrTLS().(*net.TCPAddr); ok && host != "" {
		st.RTMPURL = "rtmps://" + net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(addr.Port)) + "/live/"
	}
	return st
}

func (a *App) status() status {
	return status{
		Version: a.cfg.Version, Encoder: a.choice.Encoder, Reason: a.choice.Reason, GL: a.renderer.Info().Renderer,
		Contexts: a.glContexts(), Uptime: time.Since(a.started).Round(time.Second).String(), Server: a.srv.Stats(),
		WebRTC: a.web.Stats(), Sessions: a.sessions(), Scenes: a.lib.Names(), TokenRequired: a.token.Required(),
	}
}

var statusPage = template.Must(template.New("status").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Rendercast</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}
td,th{border-bottom:1px solid #ddd;padding:.3em .8em;text-align:left}code{background:#f3f3f3;padding:0 .3em}</style>
</head><body>
<h1>Rendercast {{.Version}}</h1>
<p>Encoder <b>{{.Encoder}}</b> ({{.Reason}}) &middot; OpenGL <b>{{.GL}}</b> &middot; up {{.Uptime}}</p>
<p>Scenes: {{range .Scenes}}<code>{{.}}</code> {{end}} &middot; watch with <code>ffplay {{if .RTMPURL}}{{.RTMPURL}}{{else}}rtmp://HOST:PORT/live/{{end}}demo</code> or in a browser at <a href="/">/</a></p>
<h2>OpenGL contexts ({{len .Contexts}})</h2>
<table><tr><th>context</th><th>GPU</th><th>device</th><th>renderer</th><th>views</th><th>working</th></tr>
{{range .Contexts}}<tr><td>{{index . "context"}}</td><td>{{index . "gpu"}}</td><td>{{index . "device"}}</td><td>{{index . "renderer"}}</td><td>{{index . "views"}}</td><td>{{index . "working"}} {{index . "error"}}</td></tr>
{{end}}</table>
<h2>Sessions ({{len .Sessions}})</h2>
<table><tr><th>session</th><th>scene</th><th>seconds</th><th>viewers</th><th>renders</th><th>frames</th><th>keyframes (forced)</th><th>kbit/s</th><th>GL context</th><th>published to</th></tr>
{{range .Sessions}}<tr><td>{{if .Shared}}<b>{{.Name}}</b>{{else}}{{.ID}}{{end}}</td><td>{{.Scene}}</td><td>{{.Seconds}}</td><td>{{range .Viewers}}{{.Transport}} {{.Peer}}<br>{{end}}</td><td>{{.Stats.Renders}}</td><td>{{.Frames}}</td><td>{{.Keyframes}} ({{.Forced}})</td><td>{{.Rate}}</td><td>{{.Stats.GLContext}}</td><td>{{range .Publish}}{{.URL}} {{.State}}<br>{{end}}</td></tr>
{{end}}</table>
<p><a href="/">browser viewer</a> &middot; <a href="/metrics">metrics</a> &middot; <a href="/status.json">status.json</a> &middot; <a href="/healthz">healthz</a> &middot; <a href="/readyz">readyz</a></p>
</body></html>
`))

// rateText is a session's bitrate for the status page: the encoder's, and under rate
// control the link's estimate and the queue delay.
func rateText(st session.Stats) string {
	t := fmt.Sprintf("%d", st.BitrateBps/1000)
	if st.RateControl {
		link := "?"
		if st.LinkBps > 0 {
			link = fmt.Sprintf("%d", st.LinkBps/1000)
		}
		t += fmt.Sprintf(" (link %s, delay %.0f ms)", link, st.QueueDelayMS)
	}
	return t
}
