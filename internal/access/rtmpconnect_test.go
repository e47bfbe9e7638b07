package access_test

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/rendercast/rendercast/internal/access"
	"github.com/rendercast/rendercast/rtmpsrv"
)

// connectSeen is what the connect handler found in one connect command.
type connectSeen struct {
	token, control []string
	accepted       bool
}

// startConnectServer runs an RTMP server whose connect handler collects the tokens of each
// connect and accepts it when the viewing token matches secret.
func startConnectServer(t *testing.T, secret access.Secret) (string, <-chan connectSeen) {
	t.Helper()
	srv, err := rtmpsrv.NewServer(rtmpsrv.Config{})
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan connectSeen, 16)
	srv.Install(rtmpsrv.ConnectHandlerFunc(func(c *rtmpsrv.Conn, created bool, cmd rtmpsrv.Object, args []any) bool {
		if !created {
			return true
		}
		tcURL, _ := cmd.GetString("tcUrl")
		app, _ := cmd.GetString("app")
		s := connectSeen{
			token:   access.FromRTMPConnect(access.KeyToken, tcURL, app, cmd.GetString, args),
			control: access.FromRTMPConnect(access.KeyControlToken, tcURL, app, cmd.GetString, args),
		}
		s.accepted = secret.Match(s.token...)
		seen <- s
		return s.accepted
	}))
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return srv.ListenAddr().String(), seen
}

// runClient starts a real RTMP client; it is killed once its connect has been seen.
func runClient(t *testing.T, seen <-chan connectSeen, name string, args ...string) connectSeen {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s not found: run scripts/setup.sh (make test does)", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	select {
	case s := <-seen:
		return s
	case <-ctx.Done():
		t.Fatalf("%s %q: no connect within 60 s", name, args)
		return connectSeen{}
	}
}

// TestRTMPConnectRealClients: ffmpeg and rtmpdump present the tokens where RTMP clients
// put them (tcUrl query, app query, first extra connect argument), and FromRTMPConnect finds
// each, the control token apart from the viewing token.
func TestRTMPConnectRealClients(t *testing.T) {
	addr, seen := startConnectServer(t, access.NewSecret("argtok"))
	base := "rtmp://" + addr

	ffmpeg := func(tcURL, app, conn string) []string {
		a := []string{"-hide_banner", "-loglevel", "quiet", "-rw_timeout", "30000000",
			"-rtmp_tcurl", tcURL, "-rtmp_app", app}
		if conn != "" {
			a = append(a, "-rtmp_conn", conn)
		}
		return append(a, "-i", base+"/live/demo", "-frames:v", "1", "-f", "null", "-")
	}
	rtmpdump := func(tcURL, app, conn string) []string {
		a := []string{"-q", "-r", base + "/live/demo", "-t", tcURL, "-a", app, "-y", "demo", "-m", "30", "-o", "/dev/null"}
		if conn != "" {
			a = append(a, "-C", conn)
		}
		return a
	}
	for _, client := range []struct {
		name string
		args func(tcURL, app, conn string) []string
	}{{"ffmpeg", ffmpeg}, {"rtmpdump", rtmpdump}} {
		for _, tc := range []struct {
			name, tcURL, app, conn string
			token, control         []string
			accepted               bool
		}{
			{"argument", base + "/live?session=s&control_token=c1", "live", "S:argtok",
				[]string{"argtok"}, []string{"c1"}, true},
			{"everywhere", base + "/live?token=q&control_token=c1", "live?token=a&control_token=c2", "S:argtok",
				[]string{"q", "a", "argtok"}, []string{"c1", "c2"}, true},
			{"tcUrl query", base + "/live?token=argtok", "live", "",
				[]string{"argtok"}, []string{}, true},
			{"app query", base + "/live", "live?token=argtok", "",
				[]string{"argtok"}, []string{}, true},
			{"wrong", base + "/live?token=argto", "live?token=argtokk", "S:ARGTOK",
				[]string{"argto", "argtokk", "ARGTOK"}, []string{}, false},
			{"none", base + "/live", "live", "",
				[]string{}, []string{}, false},
		} {
			name := fmt.Sprintf("%s %s", client.name, tc.name)
			s := runClient(t, seen, client.name, client.args(tc.tcURL, tc.app, tc.conn)...)
			if !slices.Equal(s.token, tc.token) || !slices.Equal(s.control, tc.control) || s.accepted != tc.accepted {
				t.Errorf("%s: tokens %q, control tokens %q, accepted %v; want %q, %q, %v",
					name, s.token, s.control, s.accepted, tc.token, tc.control, tc.accepted)
			}
		}
	}
}
