package main

import (
	"encoding/json"
	"html/template"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rendercast/rendercast/web"
)

// httpHandler serves the browser viewer at / (WHEP at /whep/), /metrics, /healthz,
// /readyz and the status page at /status (and /status.json).
func (a *app) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/whep/", a.web.srv.Handler())
	mux.Handle("GET /{$}", web.Handler())
	mux.Handle("GET /viewer/", web.Handler())
	mux.Handle("GET /metrics", a.m.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		// GL and the encoder were proven at start (the process does not listen otherwise);
		// the RTMP listener must still be up.
		ready := (a.srv.ListenAddr() != nil || a.srv.ListenAddrTLS() != nil) && a.renderer != nil && a.renderer.Working() > 0
		w.Header().Set("Content-Type", "application/json")
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(map[string]any{
			"ready": ready, "gl": a.renderer.Info().Renderer, "encoder": a.choice.Encoder,
		})
	})
	mux.HandleFunc("GET /status.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(a.statusFor(r))
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		statusPage.Execute(w, a.statusFor(r))
	})
	return mux
}

type sessionStatus struct {
	Transport string         `json:"transport"`
	Peer      string         `json:"peer"`
	App       string         `json:"app"`
	Scene     string         `json:"scene"`
	Seconds   float64        `json:"seconds"`
	Stats     map[string]any `json:"stats"`
}

type status struct {
	Version  string             `json:"version"`
	Encoder  string             `json:"encoder"`
	Reason   string             `json:"encoderReason"`
	GL       string             `json:"gl"`
	Contexts []map[string]any   `json:"glContexts"`
	Uptime   string             `json:"uptime"`
	Server   map[string]float64 `json:"server"`
	WebRTC   map[string]float64 `json:"webrtc"`
	Sessions []sessionStatus    `json:"sessions"`
	Scenes   []string           `json:"scenes"`
	// RTMPURL is the RTMP base URL as seen by the client that asked (host from its request).
	RTMPURL string `json:"rtmpURL"`
	// TokenRequired tells the browser viewer to ask for a token.
	TokenRequired bool `json:"tokenRequired"`
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
func (a *app) statusFor(r *http.Request) status {
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

func (a *app) status() status {
	a.mu.Lock()
	list := make([]sessionStatus, 0, len(a.sessions))
	for _, v := range a.sessions {
		list = append(list, sessionStatus{Transport: "rtmp", Peer: v.peer, App: v.app, Scene: v.scene,
			Seconds: time.Since(v.started).Round(time.Second).Seconds(), Stats: v.sess.Stats()})
	}
	a.mu.Unlock()
	for _, v := range a.web.viewers() {
		list = append(list, sessionStatus{Transport: "webrtc", Peer: v.ws.RemoteAddr(), App: "whep", Scene: v.sess.SceneName(),
			Seconds: time.Since(v.started).Round(time.Second).Seconds(), Stats: v.sess.Stats()})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Peer < list[j].Peer })
	return status{
		Version: version, Encoder: a.choice.Encoder, Reason: a.choice.Reason, GL: a.renderer.Info().Renderer,
		Contexts: a.glContexts(), Uptime: time.Since(a.started).Round(time.Second).String(), Server: a.srv.Statistics(),
		WebRTC: a.web.srv.Statistics(), Sessions: list, Scenes: a.lib.Names(), TokenRequired: a.cfg.Token != "",
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
<table><tr><th>transport</th><th>peer</th><th>app</th><th>scene</th><th>seconds</th><th>renders</th><th>encodes</th><th>GL context</th></tr>
{{range .Sessions}}<tr><td>{{.Transport}}</td><td>{{.Peer}}</td><td>{{.App}}</td><td>{{.Scene}}</td><td>{{.Seconds}}</td><td>{{index .Stats "renders"}}</td><td>{{index .Stats "encodes"}}</td><td>{{index .Stats "gl_context"}}</td></tr>
{{end}}</table>
<p><a href="/">browser viewer</a> &middot; <a href="/metrics">metrics</a> &middot; <a href="/status.json">status.json</a> &middot; <a href="/healthz">healthz</a> &middot; <a href="/readyz">readyz</a></p>
</body></html>
`))
