package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthURL(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{":8080", "http://127.0.0.1:8080/healthz"},
		{"0.0.0.0:9000", "http://127.0.0.1:9000/healthz"},
		{"[::]:8080", "http://[::1]:8080/healthz"},
		{"10.1.2.3:8080", "http://10.1.2.3:8080/healthz"},
		{"localhost:8080", "http://localhost:8080/healthz"},
		{"8080", ""},
		{"127.0.0.1:0", ""},
	} {
		got, err := healthURL(tc.addr)
		if tc.want == "" {
			if err == nil {
				t.Errorf("healthURL(%q) = %q, want an error", tc.addr, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("healthURL(%q) = %q, %v, want %q", tc.addr, got, err, tc.want)
		}
	}
}

func TestHealthCommand(t *testing.T) {
	code := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(code)
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()

	for _, tc := range []struct {
		name     string
		args     []string
		env      map[string]string
		status   int
		wantCode int
		wantOut  string
	}{
		{"STREAMER_HTTP", nil, map[string]string{"STREAMER_HTTP": addr}, 200, 0, "ok: GET http://" + addr + "/healthz: 200"},
		{"flag wins", []string{"-http", addr}, map[string]string{"STREAMER_HTTP": closed}, 200, 0, "ok"},
		{"503", nil, map[string]string{"STREAMER_HTTP": addr}, 503, 1, "unhealthy: GET http://" + addr + "/healthz: 503"},
		{"nothing listening", nil, map[string]string{"STREAMER_HTTP": closed}, 200, 1, "unhealthy"},
		{"HTTP disabled", nil, map[string]string{"STREAMER_HTTP": ""}, 200, 1, "STREAMER_HTTP is empty"},
		{"bad address", []string{"-http", "8080"}, nil, 200, 2, "want HOST:PORT"},
		{"extra argument", []string{"now"}, nil, 200, 2, "Usage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code = tc.status
			var out bytes.Buffer
			got := runHealth(tc.args, env(tc.env), &out, &out)
			if got != tc.wantCode || !strings.Contains(out.String(), tc.wantOut) {
				t.Fatalf("exit %d, output %q; want %d and %q", got, out.String(), tc.wantCode, tc.wantOut)
			}
		})
	}
}
