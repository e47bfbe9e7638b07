package publish

import (
	"context"
	"crypto/tls"
	"errors"
	"image/color"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rendercast/rendercast/internal/nginxtest"
	"github.com/rendercast/rendercast/internal/testcert"
	"github.com/rendercast/rendercast/rtmpsrv"
)

// checkPlays has FFmpeg's ffprobe and ffmpeg (independent RTMP players) play url: an H.264
// stream of the test size, 15 decoded pictures, the centre pixel of each of the given colour.
func checkPlays(t *testing.T, url string, want color.RGBA) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	vs, err := nginxtest.Probe(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if vs.Codec != "h264" || vs.Width != testWidth || vs.Height != testHeight {
		t.Errorf("ffprobe: %+v, want h264 %dx%d", vs, testWidth, testHeight)
	}
	pics, err := nginxtest.DecodeRGB(ctx, url, 15, testWidth, testHeight)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pics {
		r, g, b := nginxtest.Pixel(p, testWidth, testWidth/2, testHeight/2)
		if !near(r, want.R) || !near(g, want.G) || !near(b, want.B) {
			t.Fatalf("picture %d: centre pixel %d,%d,%d, want about %d,%d,%d", i, r, g, b, want.R, want.G, want.B)
		}
	}
}

// near allows for the colour conversions to 4:2:0 and back.
func near(got, want byte) bool { return int(got)-int(want) < 40 && int(want)-int(got) < 40 }

// A stream published to nginx-rtmp plays in FFmpeg with the published colour; when nginx
// stops the publisher waits and retries, and when nginx is back on the same port it
// publishes again and the new pictures play.
func TestNginxRestart(t *testing.T) {
	ngx := nginxtest.Start(t, nginxtest.Options{})
	logs := &logRecorder{}
	p, err := New(Config{URL: ngx.URL("live", "show") + "?key=s3cret", FrameRate: 30, Logger: slog.New(logs),
		MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	defer p.Close()
	src := startSource(t, p, red)

	waitFor(t, p, 30*time.Second, "publishing", func(s Status) bool { return s.State == StatePublishing && s.FramesSent > 0 })
	// nginx splits the query off the published name: players use the bare name.
	checkPlays(t, ngx.URL("live", "show"), red)

	ngx.Stop()
	st := waitFor(t, p, 30*time.Second, "waiting after nginx stopped", func(s Status) bool {
		return s.State == StateWaiting && s.Failures >= 1
	})
	if st.Connects != 1 {
		t.Errorf("connects %d before the restart, want 1", st.Connects)
	}
	waitFor(t, p, 30*time.Second, "failures while nginx is down", func(s Status) bool { return s.Failures >= 2 })
	src.setColour(blue)
	ngx.Restart()
	st = waitFor(t, p, 30*time.Second, "publishing after the restart", func(s Status) bool {
		return s.State == StatePublishing && s.Connects >= 2
	})
	checkPlays(t, ngx.URL("live", "show"), blue)

	st = p.Status()
	if st.FramesSent < 30 || st.BytesSent < 5000 || st.LastError == "" || strings.Contains(st.URL, "s3cret") {
		t.Errorf("status %+v", st)
	}
	src.close(t)
	p.Close()
	if n := logs.count(slog.LevelWarn, ""); n != 1 {
		t.Errorf("%d Warn records for one outage, want 1:\n%s", n, logs)
	}
	if n := logs.count(slog.LevelInfo, "publish: publishing"); n != 2 {
		t.Errorf("%d Info records of publishing, want 2:\n%s", n, logs)
	}
}

// rtmps://: the publisher speaks TLS, verified against the test CA, to a TLS terminator in
// front of nginx; FFmpeg plays the stream from nginx.
func TestRTMPSToNginx(t *testing.T) {
	ngx := nginxtest.Start(t, nginxtest.Options{})
	ca, err := testcert.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue()
	if err != nil {
		t.Fatal(err)
	}
	proxy := startTLSProxy(t, &tls.Config{Certificates: []tls.Certificate{cert.TLS}}, ngx.Addr())
	p, err := New(Config{URL: "rtmps://" + proxy + "/live/sec", TLS: &tls.Config{RootCAs: ca.Pool()}})
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	defer p.Close()
	startSource(t, p, red)
	waitFor(t, p, 30*time.Second, "publishing over TLS", func(s Status) bool { return s.State == StatePublishing && s.FramesSent > 0 })
	checkPlays(t, ngx.URL("live", "sec"), red)

	// A server certificate the publisher does not trust: no stream.
	bad, err := New(Config{URL: "rtmps://" + proxy + "/live/other", MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	bad.Start()
	defer bad.Close()
	st := waitFor(t, bad, 30*time.Second, "failure with an untrusted certificate", func(s Status) bool { return s.Failures >= 1 })
	if st.Connects != 0 || !strings.Contains(st.LastError, "certificate") {
		t.Errorf("untrusted server: %+v, want a certificate error", st)
	}
}

// startTLSProxy accepts TLS on a loopback port and relays each connection to target.
func startTLSProxy(t *testing.T, cfg *tls.Config, target string) string {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, in, out)
			mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(out, in); out.Close() }()
			go func() { defer wg.Done(); io.Copy(in, out); in.Close() }()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return l.Addr().String()
}

// The project's own server over RTMPS takes the connection but refuses publishing: the
// publisher gets through TLS, connect and createStream, and reports the refusal.
func TestRTMPSToRtmpsrvRefused(t *testing.T) {
	ca, err := testcert.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := rtmpsrv.NewServer(rtmpsrv.Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert.TLS}}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Install(rtmpsrv.ConnectHandlerFunc(func(*rtmpsrv.Conn, bool, rtmpsrv.Object, []any) bool { return true }))
	if err := srv.StartTLS("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("shutdown: %v", err)
		}
	})
	logs := &logRecorder{}
	p, err := New(Config{URL: "rtmps://" + srv.ListenAddrTLS().String() + "/live/x", TLS: &tls.Config{RootCAs: ca.Pool()},
		Logger: slog.New(logs), MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	defer p.Close()
	st := waitFor(t, p, 30*time.Second, "refusals", func(s Status) bool { return s.Failures >= 3 })
	if st.Connects != 0 || !strings.Contains(st.LastError, "NetStream.Publish.BadName") {
		t.Errorf("status %+v, want publish refused with NetStream.Publish.BadName", st)
	}
	p.Close()
	if n := logs.count(slog.LevelWarn, ""); n != 1 {
		t.Errorf("%d Warn records, want 1:\n%s", n, logs)
	}
}
