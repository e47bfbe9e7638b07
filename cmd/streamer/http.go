package main

import (
	"encoding/json"
	"html/template"
	"net/http"
	"sort"
	"time"
)

// httpHandler serves /metrics, /healthz, /readyz and the status page at /.
func (a *app) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.m.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		// GL and the encoder were proven at start (the process does not listen otherwise);
		// the RTMP listener must still be up.
		ready := a.srv.ListenAddr() != nil && a.renderer != nil
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
		json.NewEncoder(w).Encode(a.status())
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		statusPage.Execute(w, a.status())
	})
	return mux
}

type sessionStatus struct {
	Peer    string         `json:"peer"`
	App     string         `json:"app"`
	Scene   string         `json:"scene"`
	Seconds float64        `json:"seconds"`
	Stats   map[string]any `json:"stats"`
}

type status struct {
	Version  string             `json:"version"`
	Encoder  string             `json:"encoder"`
	Reason   string             `json:"encoderReason"`
	GL       string             `json:"gl"`
	Uptime   string             `json:"uptime"`
	Server   map[string]float64 `json:"server"`
	Sessions []sessionStatus    `json:"sessions"`
	Scenes   []string           `json:"scenes"`
}

func (a *app) status() status {
	a.mu.Lock()
	list := make([]sessionStatus, 0, len(a.sessions))
	for _, v := range a.sessions {
		list = append(list, sessionStatus{Peer: v.peer, App: v.app, Scene: v.scene,
			Seconds: time.Since(v.started).Round(time.Second).Seconds(), Stats: v.sess.Stats()})
	}
	a.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].Peer < list[j].Peer })
	return status{
		Version: version, Encoder: a.choice.Encoder, Reason: a.choice.Reason, GL: a.renderer.Info().Renderer,
		Uptime: time.Since(a.started).Round(time.Second).String(), Server: a.srv.Statistics(),
		Sessions: list, Scenes: a.lib.Names(),
	}
}

var statusPage = template.Must(template.New("status").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Rendercast</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}
td,th{border-bottom:1px solid #ddd;padding:.3em .8em;text-align:left}code{background:#f3f3f3;padding:0 .3em}</style>
</head><body>
<h1>Rendercast {{.Version}}</h1>
<p>Encoder <b>{{.Encoder}}</b> ({{.Reason}}) &middot; OpenGL <b>{{.GL}}</b> &middot; up {{.Uptime}}</p>
<p>Scenes: {{range .Scenes}}<code>{{.}}</code> {{end}} &middot; watch with <code>ffplay rtmp://HOST:PORT/live/demo</code></p>
<h2>Sessions ({{len .Sessions}})</h2>
<table><tr><th>peer</th><th>app</th><th>scene</th><th>seconds</th><th>renders</th><th>encodes</th></tr>
{{range .Sessions}}<tr><td>{{.Peer}}</td><td>{{.App}}</td><td>{{.Scene}}</td><td>{{.Seconds}}</td><td>{{index .Stats "renders"}}</td><td>{{index .Stats "encodes"}}</td></tr>
{{end}}</table>
<p><a href="/metrics">metrics</a> &middot; <a href="/status.json">status.json</a> &middot; <a href="/healthz">healthz</a> &middot; <a href="/readyz">readyz</a></p>
</body></html>
`))
