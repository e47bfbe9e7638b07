// Package nginxtest runs nginx with the RTMP module (Debian's nginx-light and
// libnginx-mod-rtmp) on a loopback port for tests: an independent RTMP server to publish to
// and play from. Each server gets its own temporary prefix, configuration and logs; it can
// be stopped and started again on the same port to test reconnection.
package nginxtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Where Debian's packages put nginx and the RTMP module.
const (
	// DefaultNginx is the nginx binary used when none is on PATH.
	DefaultNginx = "/usr/sbin/nginx"
	// DefaultModule is the RTMP module loaded into nginx.
	DefaultModule = "/usr/lib/nginx/modules/ngx_rtmp_module.so"
)

// ErrMissing reports that nginx or its RTMP module is not installed.
var ErrMissing = errors.New("nginxtest: nginx with the RTMP module not found (apt-get install nginx-light libnginx-mod-rtmp; scripts/setup.sh does)")

// Options configures Start. The zero value serves one live application "live".
type Options struct {
	// Apps are the live applications; empty means just "live".
	Apps []string
	// NoWaitKey turns off the live module's wait_key, which is on by default here: a player
	// that joins gets its first video from a keyframe, so that decoding checks see no
	// broken pictures.
	NoWaitKey bool
}

// Server is one nginx process (or a stopped one that Restart brings back).
type Server struct {
	t    testing.TB
	dir  string
	port int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start writes a configuration for a free 127.0.0.1 port into a temporary directory and runs
// nginx with it in the foreground (one process, no daemon). It returns once the port accepts
// connections. A missing nginx or module, or an nginx that does not start, fails the test.
// The server is stopped at the test's cleanup, and its error log is written to the test log
// when the test failed.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin := binary()
	for _, p := range []string{bin, DefaultModule} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%v: %v", ErrMissing, err)
		}
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("nginxtest: %v", err)
	}
	s := &Server{t: t, dir: t.TempDir(), port: port}
	if err := os.WriteFile(s.confPath(), []byte(config(s.dir, port, opts)), 0o644); err != nil {
		t.Fatalf("nginxtest: %v", err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("nginx error log:\n%s", s.Log())
		}
	})
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// binary returns the nginx to run: the one on PATH, else Debian's.
func binary() string {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	return DefaultNginx
}

// config renders nginx.conf: every path under dir, RTMP on loopback only, live
// applications without recording.
func config(dir string, port int, opts Options) string {
	apps := opts.Apps
	if len(apps) == 0 {
		apps = []string{"live"}
	}
	waitKey := "on"
	if opts.NoWaitKey {
		waitKey = "off"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "load_module %s;\n", DefaultModule)
	fmt.Fprintf(&b, "daemon off;\nmaster_process off;\nworker_processes 1;\n")
	fmt.Fprintf(&b, "pid %s;\n", filepath.Join(dir, "nginx.pid"))
	fmt.Fprintf(&b, "error_log %s info;\n", filepath.Join(dir, "error.log"))
	fmt.Fprintf(&b, "events {\n    worker_connections 256;\n}\n")
	fmt.Fprintf(&b, "rtmp {\n    server {\n        listen 127.0.0.1:%d;\n        chunk_size 4096;\n", port)
	for _, a := range apps {
		fmt.Fprintf(&b, "        application %s {\n            live on;\n            record off;\n            wait_key %s;\n        }\n", a, waitKey)
	}
	fmt.Fprintf(&b, "    }\n}\n")
	return b.String()
}

func (s *Server) confPath() string { return filepath.Join(s.dir, "nginx.conf") }

// start runs nginx and waits until it accepts connections.
func (s *Server) start() error {
	log := filepath.Join(s.dir, "error.log")
	// -e: the error log before the configuration is read (else /var/log/nginx/error.log);
	// -p: the prefix for relative paths.
	cmd := exec.Command(binary(), "-p", s.dir+"/", "-c", s.confPath(), "-e", log)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("nginxtest: starting nginx: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("nginxtest: nginx exited at start:\n%s", s.Log())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return fmt.Errorf("nginxtest: nginx did not listen on %s within 15 s:\n%s", s.Addr(), s.Log())
		}
	}
}

// Addr returns the RTMP listen address, "127.0.0.1:PORT".
func (s *Server) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

// Port returns the RTMP port.
func (s *Server) Port() int { return s.port }

// URL returns rtmp://127.0.0.1:PORT/app/stream.
func (s *Server) URL(app, stream string) string {
	return fmt.Sprintf("rtmp://%s/%s/%s", s.Addr(), app, stream)
}

// Log returns nginx's error log (info level: connections, publishers, players).
func (s *Server) Log() string {
	b, err := os.ReadFile(filepath.Join(s.dir, "error.log"))
	if err != nil {
		return fmt.Sprintf("(no error log: %v)", err)
	}
	return string(b)
}

// Stop ends nginx (SIGTERM: fast shutdown, which drops every connection; SIGKILL after
// 5 s) and waits for it. The port and directory stay for Restart. Stop is idempotent.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exited:
		return
	default:
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
}

// Restart starts nginx again on the same port with the same configuration (after Stop, or
// stopping it first); it fails the test when nginx does not come back.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	// The port may be briefly unavailable; nginx sets SO_REUSEADDR, so an old connection in
	// TIME_WAIT does not block it.
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
