package rtmpsrv

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rendercast/rendercast/internal/testcert"
	"github.com/rendercast/rendercast/rtmpclient"
)

// tlsFixture is a server with a plain and a TLS listener running the clip app, and the CA
// that signed its certificate.
type tlsFixture struct {
	srv       *Server
	certs     *CertSource
	ca        *testcert.CA
	serial    string
	plainAddr string
	tlsAddr   string
}

func issue(t testing.TB, ca *testcert.CA) *testcert.Server {
	t.Helper()
	s, err := ca.Issue()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// startTLSServer starts the hostile-test app (clip frames at 30 fps) with RTMPS on
// loopback, and plain RTMP too when plain is set.
func startTLSServer(t *testing.T, cfg Config, plain bool) *tlsFixture {
	t.Helper()
	ca, err := testcert.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert := issue(t, ca)
	f := &tlsFixture{certs: NewCertSource(cert.TLS), ca: ca, serial: cert.Serial.String()}
	cfg.TLS = f.certs.TLSConfig()
	app := &hostileApp{clip: loadClip(t)}
	cfg.Codecs = app.codecs()
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.Install(app)
	if err := srv.StartTLS("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if plain {
		if err := srv.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		f.plainAddr = srv.ListenAddr().String()
	} else if srv.ListenAddr() != nil {
		t.Fatalf("ListenAddr %v without Start", srv.ListenAddr())
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	f.srv = srv
	f.tlsAddr = srv.ListenAddrTLS().String()
	return f
}

func (f *tlsFixture) clientTLS() *tls.Config { return &tls.Config{RootCAs: f.ca.Pool()} }

// requireFreshTLSViewer plays the clip over RTMPS and requires at least 20 of the 30 frames
// a second, as requireFreshViewer does over plain RTMP.
func (f *tlsFixture) requireFreshTLSViewer(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := rtmpclient.Dial(ctx, "rtmps://"+f.tlsAddr+"/app/clip", rtmpclient.Options{TLSConfig: f.clientTLS()})
	if err != nil {
		t.Fatalf("TLS viewer: dial: %v", err)
	}
	defer c.Close()
	id, err := c.CreateStream(ctx)
	if err == nil {
		err = c.Play(ctx, id, "clip")
	}
	if err != nil {
		t.Fatalf("TLS viewer: play: %v", err)
	}
	start, frames := time.Time{}, 0
	for start.IsZero() || time.Since(start) < time.Second {
		m, err := c.ReadVideo(ctx)
		if err != nil {
			t.Fatalf("TLS viewer after %d frames: %v", frames, err)
		}
		if m.AVCPacketType != rtmpclient.AVCNALU {
			continue
		}
		if start.IsZero() {
			start = time.Now()
			continue
		}
		frames++
	}
	if fps := float64(frames) / time.Since(start).Seconds(); fps < 20 {
		t.Fatalf("TLS viewer got %.1f fps, want >= 20 of 30", fps)
	}
}

func TestTLSConfigErrors(t *testing.T) {
	if _, err := NewServer(Config{TLS: &tls.Config{}}); !errors.Is(err, ErrNoCertificate) {
		t.Fatalf("NewServer with a TLS config without certificate: %v, want ErrNoCertificate", err)
	}
	srv, err := NewServer(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.StartTLS("127.0.0.1:0"); !errors.Is(err, ErrNoCertificate) {
		t.Fatalf("StartTLS without Config.TLS: %v, want ErrNoCertificate", err)
	}
	if srv.ListenAddrTLS() != nil {
		t.Fatal("ListenAddrTLS set after a failed StartTLS")
	}
	// TLS 1.0 and 1.1 asked for are raised to 1.2.
	srv, err = NewServer(Config{TLS: &tls.Config{MinVersion: tls.VersionTLS10, GetCertificate: NewCertSource(tls.Certificate{}).GetCertificate}})
	if err != nil {
		t.Fatal(err)
	}
	if v := srv.Config().TLS.MinVersion; v != tls.VersionTLS12 {
		t.Fatalf("MinVersion %x, want TLS 1.2", v)
	}
	if !srv.Config().TLS.SessionTicketsDisabled {
		t.Fatal("session tickets left on (librtmp fails on them)")
	}
}

// Both listeners serve the same app at once; statistics count TLS connections with the
// others; a TLS 1.1 client is refused; Shutdown closes both listeners.
func TestTLSBesidePlain(t *testing.T) {
	f := startTLSServer(t, hostileConfig(), true)
	if f.plainAddr == f.tlsAddr {
		t.Fatalf("one address for both listeners: %s", f.tlsAddr)
	}
	if err := f.srv.StartTLS("127.0.0.1:0"); !errors.Is(err, ErrServerStarted) {
		t.Fatalf("second StartTLS: %v, want ErrServerStarted", err)
	}
	requireFreshViewer(t, f.plainAddr)
	f.requireFreshTLSViewer(t)

	old := &tls.Config{RootCAs: f.ca.Pool(), ServerName: "127.0.0.1", MaxVersion: tls.VersionTLS11}
	if c, err := tls.Dial("tcp", f.tlsAddr, old); err == nil {
		c.Close()
		t.Fatal("a TLS 1.1 client completed the handshake")
	}
	waitFor(t, 5*time.Second, "the refused handshake to be counted", func() bool {
		return f.srv.Stats().TLSHandshakesFailed >= 1
	})
	st := f.srv.Stats()
	if st.ConnectionsAccepted < 3 || st.ConnectionsAcceptedTLS != 2 || st.FramesSent < 40 {
		t.Fatalf("statistics %v: want 3 accepted, 2 of them TLS, and the frames of both viewers", st)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{f.plainAddr, f.tlsAddr} {
		if c, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
			c.Close()
			t.Fatalf("%s still accepts after Shutdown", addr)
		}
	}
}

// Bad input on the TLS port ends that connection only: plain RTMP bytes, a client that
// stalls in the TLS handshake (bounded by HandshakeTimeout), one that stalls after it.
// MaxConns counts TLS connections.
func TestTLSHostileClients(t *testing.T) {
	cfg := hostileConfig()
	cfg.MaxConns = 3
	f := startTLSServer(t, cfg, false)
	const bound = 5 * time.Second // HandshakeTimeout is 0.5 s

	t.Run("plain RTMP on the TLS port", func(t *testing.T) {
		c := dialRaw(t, f.tlsAddr)
		c.mustWrite(c0c1())
		c.requireClosed(bound)
	})
	t.Run("silent", func(t *testing.T) {
		dialRaw(t, f.tlsAddr).requireClosed(bound)
	})
	t.Run("half a ClientHello", func(t *testing.T) {
		// A TLS record header announcing a 512-byte handshake message, then nothing.
		c := dialRaw(t, f.tlsAddr)
		c.mustWrite([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03})
		c.requireClosed(bound)
	})
	t.Run("TLS then no RTMP handshake", func(t *testing.T) {
		nc, err := tls.Dial("tcp", f.tlsAddr, &tls.Config{RootCAs: f.ca.Pool(), ServerName: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetReadDeadline(time.Now().Add(bound))
		if _, err := nc.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read after the stalled RTMP handshake: %v, want the server's close", err)
		}
	})
	if st := f.srv.Stats(); st.TLSHandshakesFailed < 3 {
		t.Fatalf("tls_handshakes_failed %v, want >= 3", st.TLSHandshakesFailed)
	}

	// MaxConns (3) covers TLS connections: three stalled handshakes fill the server, a
	// fourth is closed at once, and once they time out a viewer is served.
	waitFor(t, 10*time.Second, "the earlier connections to end", func() bool { return f.srv.NumConns() == 0 })
	var stalled []net.Conn
	for range 3 {
		nc, err := net.Dial("tcp", f.tlsAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		stalled = append(stalled, nc)
	}
	waitFor(t, 5*time.Second, "three connections", func() bool { return f.srv.NumConns() == 3 })
	extra := dialRaw(t, f.tlsAddr)
	extra.requireClosed(bound)
	waitFor(t, 10*time.Second, "the stalled connections to time out", func() bool { return f.srv.NumConns() == 0 })
	f.requireFreshTLSViewer(t)
}

// Connections after CertSource.Set get the new certificate.
func TestCertSourceReplacesCertificate(t *testing.T) {
	f := startTLSServer(t, Config{}, false)
	pool := f.ca.Pool()
	got, err := testcert.PeerSerial(f.tlsAddr, pool)
	if err != nil || got.String() != f.serial {
		t.Fatalf("first certificate: serial %v (%v), want %s", got, err, f.serial)
	}
	next := issue(t, f.ca)
	f.certs.Set(next.TLS)
	got, err = testcert.PeerSerial(f.tlsAddr, pool)
	if err != nil || got.Cmp(next.Serial) != 0 {
		t.Fatalf("after Set: serial %v (%v), want %v", got, err, next.Serial)
	}
}

// ffmpeg (GnuTLS) reads rtmps:// and decodes frames of the clip's size.
func TestTLSFFmpegDecodesFrames(t *testing.T) {
	needTool(t, "ffmpeg")
	f := startTLSServer(t, Config{}, false)
	const want = 30
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-i", "rtmps://"+f.tlsAddr+"/app/clip",
		"-frames:v", strconv.Itoa(want), "-pix_fmt", "gray", "-f", "rawvideo", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	if got := len(out); got != want*clipWidth*clipHeight {
		t.Fatalf("decoded %d bytes, want %d frames of %dx%d", got, want, clipWidth, clipHeight)
	}
	frame := out[:clipWidth*clipHeight]
	if bytes.Count(frame, frame[:1]) == len(frame) {
		t.Fatal("first decoded frame is uniform")
	}
	if st := f.srv.Stats(); st.ConnectionsAcceptedTLS < 1 {
		t.Fatalf("statistics %v: no TLS connection counted", st)
	}
}

// rtmpdump (librtmp with GnuTLS) records over rtmps://.
func TestTLSRtmpdumpRecords(t *testing.T) {
	needTool(t, "rtmpdump")
	needTool(t, "ffprobe")
	f := startTLSServer(t, Config{}, false)
	path := filepath.Join(t.TempDir(), "out.flv")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "rtmpdump", "-q", "--live", "-r", "rtmps://"+f.tlsAddr+"/app/clip", "-o", path)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() < 0 {
			t.Fatalf("rtmpdump: %v\n%s", err, stderr.String())
		}
	}
	probe, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v", "-count_frames", "-show_entries",
		"stream=codec_name,width,height,nb_read_frames", "-of", "default=nw=1", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v (rtmpdump: %s)", path, err, stderr.String())
	}
	want := "codec_name=h264\nwidth=" + strconv.Itoa(clipWidth) + "\nheight=" + strconv.Itoa(clipHeight) + "\n"
	if !bytes.HasPrefix(probe, []byte(want)) {
		t.Fatalf("recording: %s, want %s", probe, want)
	}
	n, _ := strconv.Atoi(string(bytes.TrimSpace(bytes.TrimPrefix(probe, []byte(want+"nb_read_frames=")))))
	if n < 20 {
		t.Fatalf("%d frames in 2.5 s of recording, want >= 20 (%s)", n, probe)
	}
}
