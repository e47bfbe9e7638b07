package app

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/rendercast/rendercast/internal/access"
)

// Limits of both HTTP listeners. A client that sends its request slowly, sends too much or
// keeps an idle connection is cut off; what honest clients send and receive fits with room
// to spare: the longest response, a WHEP answer, waits for ICE gathering (5 s at most, see
// whep.DefaultGatherTimeout) and the session's encoder. No handler streams its response.
const (
	// httpReadHeaderTimeout bounds the request line and headers (slowloris).
	httpReadHeaderTimeout = 10 * time.Second
	// httpReadTimeout bounds the whole request, body included.
	httpReadTimeout = 30 * time.Second
	// httpWriteTimeout bounds the time from the end of the headers to the end of the
	// response.
	httpWriteTimeout = 30 * time.Second
	// httpIdleTimeout closes a keep-alive connection that sends no new request.
	httpIdleTimeout = 2 * time.Minute
	// httpMaxHeaderBytes bounds the request line and headers; more is answered 431.
	httpMaxHeaderBytes = 16 << 10
	// maxBodyBytes bounds every request body (an SDP offer is a few KiB); more is
	// answered 413 and the connection is closed after the answer.
	maxBodyBytes = 64 << 10
)

// newHTTPServer is an http.Server for h with the limits above.
func (a *App) newHTTPServer(h http.Handler, listener string) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: httpReadHeaderTimeout,
		ReadTimeout:       httpReadTimeout,
		WriteTimeout:      httpWriteTimeout,
		IdleTimeout:       httpIdleTimeout,
		MaxHeaderBytes:    httpMaxHeaderBytes,
		// net/http's own messages (a handler's panic, a failed accept) as log lines.
		ErrorLog: slog.NewLogLogger(a.log.With("part", "http", "listener", listener).Handler(), slog.LevelWarn),
	}
}

// limitBody bounds the body of every request to maxBodyBytes: a handler that reads more
// gets an error (*http.MaxBytesError), and the server closes the connection after its
// answer instead of reading the rest.
func limitBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxBodyBytes {
			w.Header().Set("Connection", "close")
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		h.ServeHTTP(w, r)
	})
}

// adminHandler serves the admin listener (-admin-listen): the admin endpoints and, for
// probes on that port, /healthz and /readyz.
func (a *App) adminHandler() http.Handler {
	mux := http.NewServeMux()
	a.healthRoutes(mux)
	a.adminRoutes(mux)
	return limitBody(mux)
}

// adminRoutes adds /metrics, /status and /status.json, behind the admin token when one
// is set.
func (a *App) adminRoutes(mux *http.ServeMux) {
	admin := access.NewSecret(a.cfg.AdminToken)
	guard := func(h http.Handler) http.Handler {
		if !admin.Required() {
			return h
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !admin.Match(access.FromRequest(r, access.KeyToken, "")...) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="rendercast admin"`)
				http.Error(w, "admin token required (Authorization: Bearer TOKEN or ?token=TOKEN)", http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	mux.Handle("GET /metrics", guard(a.m.Handler()))
	mux.Handle("GET /status.json", guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(a.statusFor(r))
	})))
	mux.Handle("GET /status", guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		statusPage.Execute(w, a.statusFor(r))
	})))
}
