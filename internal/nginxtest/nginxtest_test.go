package nginxtest

import (
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nginx listens on its port, refuses connections once stopped, and listens on the same port
// again after Restart.
func TestStopRestart(t *testing.T) {
	s := Start(t, Options{Apps: []string{"live", "other"}})
	if !strings.HasPrefix(s.URL("live", "x"), "rtmp://127.0.0.1:") || !strings.HasSuffix(s.URL("live", "x"), "/live/x") {
		t.Errorf("URL = %q", s.URL("live", "x"))
	}
	dial := func() error {
		c, err := net.DialTimeout("tcp", s.Addr(), 5*time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial(); err != nil {
		t.Fatalf("nginx not listening: %v", err)
	}
	s.Stop()
	if err := dial(); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("after Stop: dial error %v, want connection refused", err)
	}
	port := s.Port()
	s.Restart()
	if s.Port() != port {
		t.Errorf("port %d after Restart, want %d", s.Port(), port)
	}
	if err := dial(); err != nil {
		t.Fatalf("after Restart: %v", err)
	}
	if log := s.Log(); !strings.Contains(log, "nginx") {
		t.Errorf("error log has no nginx lines: %q", log)
	}
}

func TestConfig(t *testing.T) {
	c := config("/tmp/x", 1234, Options{Apps: []string{"a", "b"}})
	for _, want := range []string{"listen 127.0.0.1:1234;", "application a {", "application b {", "wait_key on;", "load_module " + DefaultModule} {
		if !strings.Contains(c, want) {
			t.Errorf("config lacks %q:\n%s", want, c)
		}
	}
	if c := config("/tmp/x", 1, Options{NoWaitKey: true}); !strings.Contains(c, "application live {") || !strings.Contains(c, "wait_key off;") {
		t.Errorf("default config:\n%s", c)
	}
}
