// Package web is Rendercast's browser viewer: one page, embedded in the binary (no build
// step, nothing loaded from elsewhere), that plays a scene over WebRTC with WHEP, steers it
// with the mouse through data-channel calls (input.pointer), and shows live figures and the
// call-to-frame latency the browser measures. Its script exposes window.rendercast for
// tests and tools (call, connect, measureLatency, ...).
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// Handler serves the page at / and its script at /viewer/viewer.js; anything else is 404.
func Handler() http.Handler {
	files, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var name string
		switch r.URL.Path {
		case "/":
			name = "index.html"
		case "/viewer/viewer.js":
			name = "viewer.js"
		default:
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		http.ServeFileFS(w, r, files, name)
	})
}
