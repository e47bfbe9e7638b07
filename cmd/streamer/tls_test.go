package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rendercast/rendercast/internal/testcert"
	"github.com/rendercast/rendercast/rtmpclient"
)

// rtmpsFiles writes a CA and a server certificate for 127.0.0.1 into a temporary folder.
type rtmpsFiles struct {
	ca                     *testcert.CA
	dir, cert, key, caPath string
	serial                 *big.Int
}

func newRTMPSFiles(t *testing.T) *rtmpsFiles {
	t.Helper()
	ca, err := testcert.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	f := &rtmpsFiles{ca: ca, dir: t.TempDir()}
	f.caPath = filepath.Join(f.dir, "ca.pem")
	if err := os.WriteFile(f.caPath, ca.PEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	f.renew(t)
	return f
}

// renew issues a new server certificate and replaces the files with it.
func (f *rtmpsFiles) renew(t *testing.T) {
	t.Helper()
	s, err := f.ca.Issue()
	if err != nil {
		t.Fatal(err)
	}
	if f.cert, f.key, err = s.WriteFiles(f.dir); err != nil {
		t.Fatal(err)
	}
	f.serial = s.Serial
}

// The streamer with RTMPS only: ffprobe (GnuTLS) decodes frames of the configured size,
// `streamer call rtmps://` steers, /readyz is ready without a plain listener.
func TestRTMPSOnly(t *testing.T) {
	f := newRTMPSFiles(t)
	rs := startStreamer(t, "-size", "320x180", "-listen", "", "-listen-tls", "127.0.0.1:0", "-tls-cert", f.cert, "-tls-key", f.key)
	if rs.rtmpAddr != "" || rs.tlsAddr == "" {
		t.Fatalf("listeners: plain %q, TLS %q; want TLS only", rs.rtmpAddr, rs.tlsAddr)
	}
	url := "rtmps://" + rs.tlsAddr + "/live/demo"
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-i", url,
		"-frames:v", "30", "-pix_fmt", "gray", "-f", "rawvideo", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg %s: %v", url, err)
	}
	if want := 30 * 320 * 180; len(out) != want {
		t.Fatalf("ffmpeg decoded %d bytes over RTMPS, want 30 frames of 320x180 (%d)", len(out), want)
	}

	out, err = exec.CommandContext(ctx, streamerBin, "call", "-tls-ca", f.caPath, url, "camera.orbit", "dx=30", "dy=0").CombinedOutput()
	if err != nil {
		t.Fatalf("streamer call %s: %v\n%s", url, err, out)
	}
	var cam map[string]any
	if err := json.Unmarshal(out, &cam); err != nil || cam["yaw"] == nil {
		t.Fatalf("streamer call printed %q", out)
	}
	// Without the CA the certificate is not trusted.
	out, err = exec.CommandContext(ctx, streamerBin, "call", url, "camera.get").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "certificate") {
		t.Fatalf("streamer call without -tls-ca: err %v, output %q; want a certificate error", err, out)
	}

	resp, err := http.Get("http://" + rs.httpAddr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz %d with the RTMPS listener up", resp.StatusCode)
	}
}

// SIGHUP reloads the certificate files: new connections get the new certificate; a bad
// file is logged and the old certificate stays.
func TestRTMPSCertificateReloadOnSIGHUP(t *testing.T) {
	f := newRTMPSFiles(t)
	rs := startStreamer(t, "-size", "320x180", "-listen-tls", "127.0.0.1:0", "-tls-cert", f.cert, "-tls-key", f.key)
	pool := f.ca.Pool()
	first := f.serial
	if got, err := testcert.PeerSerial(rs.tlsAddr, pool); err != nil || got.Cmp(first) != 0 {
		t.Fatalf("served serial %v (%v), want %v", got, err, first)
	}
	f.renew(t)
	second := f.serial
	if err := rs.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitForSerial(t, rs, pool, second)
	waitForLog(t, rs, "tls certificate reloaded")

	// A broken certificate file: logged, and the second certificate stays.
	if err := os.WriteFile(f.cert, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rs.cmd.Process.Signal(syscall.SIGHUP)
	waitForLog(t, rs, "tls certificate reload failed")
	if got, err := testcert.PeerSerial(rs.tlsAddr, pool); err != nil || got.Cmp(second) != 0 {
		t.Fatalf("after a bad reload: serial %v (%v), want %v still", got, err, second)
	}
	// The plain listener works beside it.
	if rs.rtmpAddr == "" {
		t.Fatal("no plain RTMP listener beside RTMPS")
	}
	v := newViewer(t, context.Background(), rs.url("live/demo"), rtmpclient.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if img := v.Next(ctx); img.Rect.Dx() != 320 || img.Rect.Dy() != 180 {
		t.Fatalf("plain viewer: frame %v", img.Rect)
	}
}

// waitForSerial polls the TLS listener until it serves the certificate with serial want.
func waitForSerial(t *testing.T, rs *runningStreamer, pool *x509.CertPool, want *big.Int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got, err := testcert.PeerSerial(rs.tlsAddr, pool)
		if err == nil && got.Cmp(want) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("served serial %v (%v) 15 s after SIGHUP, want %v", got, err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitForLog waits until the streamer's log has a line whose message starts with msg.
func waitForLog(t *testing.T, rs *runningStreamer, msg string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, _ := os.ReadFile(rs.logPath)
		if strings.Contains(string(b), `"msg":"`+msg) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line %q within 15 s", msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Listener settings that do not go together, and certificate files that cannot be used,
// stop the streamer at start with a message naming the flag.
func TestRTMPSFlagsRefused(t *testing.T) {
	f := newRTMPSFiles(t)
	other, err := f.ca.Issue()
	if err != nil {
		t.Fatal(err)
	}
	otherKey := filepath.Join(t.TempDir(), "other-key.pem")
	if err := os.WriteFile(otherKey, other.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	tlsOn := []string{"-listen-tls", "127.0.0.1:0"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append(tlsOn, "-tls-cert", f.cert), "-tls-key"},
		{append(tlsOn, "-tls-key", f.key), "-tls-cert"},
		{tlsOn, "-listen-tls"},
		{[]string{"-tls-cert", f.cert, "-tls-key", f.key}, "-listen-tls"},
		{[]string{"-listen", ""}, "-listen"},
		{[]string{"-listen-tls", "nowhere", "-tls-cert", f.cert, "-tls-key", f.key}, "-listen-tls"},
		{append(tlsOn, "-tls-cert", filepath.Join(f.dir, "missing.pem"), "-tls-key", f.key), "-tls-cert"},
		{append(tlsOn, "-tls-cert", f.cert, "-tls-key", filepath.Join(f.dir, "missing.pem")), "-tls-key"},
		{append(tlsOn, "-tls-cert", f.cert, "-tls-key", otherKey), "-tls-key " + otherKey},
		{append(tlsOn, "-tls-cert", f.caPath, "-tls-key", f.key), "-tls-cert " + f.caPath},
	} {
		args := append([]string{"-http", "", "-listen", "127.0.0.1:0"}, tc.args...)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		out, err := exec.CommandContext(ctx, streamerBin, args...).CombinedOutput()
		cancel()
		if err == nil {
			t.Fatalf("%v accepted", tc.args)
		}
		if !strings.Contains(string(out), tc.want) {
			t.Errorf("%v: message %q does not name %s", tc.args, out, tc.want)
		}
	}
}
