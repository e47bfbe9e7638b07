package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"

	"github.com/rendercast/rendercast/internal/playtest"
	"github.com/rendercast/rendercast/rtmpclient"
)

// The end-to-end tests run the real binary on loopback with real clients.

var streamerBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "streamer-e2e")
	if err != nil {
		panic(err)
	}
	streamerBin = filepath.Join(dir, "streamer")
	out, err := exec.Command("go", "build", "-tags", "egl", "-o", streamerBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building the streamer: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type runningStreamer struct {
	cmd      *exec.Cmd
	rtmpAddr string
	tlsAddr  string // RTMPS, with -listen-tls
	httpAddr string
	logPath  string // the streamer's log (JSON lines), as written so far
	exited   chan error
}

// startStreamer runs the binary on loopback ports it picks and waits until it listens.
func startStreamer(t *testing.T, args ...string) *runningStreamer {
	t.Helper()
	args = append([]string{"-listen", "127.0.0.1:0", "-http", "127.0.0.1:0", "-log-format", "json", "-log-level", "debug"}, args...)
	cmd := exec.Command(streamerBin, args...)
	cmd.Env = append(os.Environ(), "STREAMER_CONFIG=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rs := &runningStreamer{cmd: cmd, exited: make(chan error, 1)}
	found := make(chan struct{})
	logPath := filepath.Join(t.TempDir(), "streamer.log")
	logFile, _ := os.Create(logPath)
	rs.logPath = logPath
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, line)
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) != nil {
				continue
			}
			switch m["msg"] {
			case "rtmp server listening":
				rs.rtmpAddr, _ = m["addr"].(string)
			case "rtmps server listening":
				rs.tlsAddr, _ = m["addr"].(string)
			case "http listening":
				rs.httpAddr, _ = m["addr"].(string)
				close(found)
			}
		}
		logFile.Close()
	}()
	go func() { rs.exited <- cmd.Wait() }()
	select {
	case <-found:
	case err := <-rs.exited:
		b, _ := os.ReadFile(logPath)
		t.Fatalf("streamer exited at start: %v\n%s", err, b)
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("streamer did not start listening within 60 s")
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-rs.exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("streamer log:\n%s", b)
		}
	})
	return rs
}

func (rs *runningStreamer) url(path string) string { return "rtmp://" + rs.rtmpAddr + "/" + path }

// testViewer is a Go RTMP client playing a scene and decoding what it receives.
type testViewer = playtest.Viewer

func newViewer(t *testing.T, ctx context.Context, rawURL string, opts rtmpclient.Options) *testViewer {
	t.Helper()
	return playtest.Play(t, ctx, rawURL, opts)
}

var (
	corner = playtest.Corner
	isRed  = playtest.IsRed
)

func meanAbsDiff(a, b *image.YCbCr) float64 {
	sum := 0.0
	for i := range a.Y {
		d := int(a.Y[i]) - int(b.Y[i])
		if d < 0 {
			d = -d
		}
		sum += float64(d)
	}
	return sum / float64(len(a.Y))
}

func TestFFmpegDecodesDemo(t *testing.T) {
	rs := startStreamer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-i", rs.url("live/demo"),
		"-frames:v", "60", "-pix_fmt", "gray", "-f", "rawvideo", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	if want := 60 * 1280 * 720; len(out) != want {
		t.Fatalf("ffmpeg decoded %d bytes, want 60 frames of 1280x720 (%d)", len(out), want)
	}
}

func TestCallsChangeTheFrames(t *testing.T) {
	rs := startStreamer(t, "-size", "640x360")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	v := newViewer(t, ctx, rs.url("live/demo"), rtmpclient.Options{})
	var before *image.YCbCr
	for range 5 {
		before = v.Next(ctx)
	}
	if b := before.Bounds(); b.Dx() != 640 || b.Dy() != 360 {
		t.Fatalf("frame size %v, want 640x360", b)
	}
	if isRed(before) {
		t.Fatal("corner red before any call")
	}

	// camera.orbit: the frames that follow differ from the ones before.
	if _, err := v.Call(ctx, "camera.orbit", amf0.Object{{Key: "dx", Value: 90.0}, {Key: "dy", Value: 0.0}}); err != nil {
		t.Fatalf("camera.orbit: %v", err)
	}
	changed := false
	for range 30 {
		if meanAbsDiff(before, v.Next(ctx)) > 3 {
			changed = true
			break
		}
	}
	if !changed {
		t.Fatal("camera.orbit by 90° did not change the picture within 30 frames")
	}

	// scene.setBackground red: the top-left corner turns red in frames after the call.
	if _, err := v.Call(ctx, "scene.setBackground", amf0.Object{{Key: "r", Value: 1.0}, {Key: "g", Value: 0.0}, {Key: "b", Value: 0.0}}); err != nil {
		t.Fatalf("scene.setBackground: %v", err)
	}
	red := false
	for range 30 {
		if isRed(v.Next(ctx)) {
			red = true
			break
		}
	}
	if !red {
		y, cb, cr := corner(v.Next(ctx))
		t.Fatalf("corner not red within 30 frames after scene.setBackground: Y %.0f Cb %.0f Cr %.0f", y, cb, cr)
	}

	// Wrong arguments: _error naming the argument, and the stream goes on.
	_, err := v.Call(ctx, "camera.zoom", amf0.Object{{Key: "factor", Value: "big"}})
	var ce *rtmpclient.CallError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "factor") {
		t.Fatalf("camera.zoom with a string factor: %v, want a call error naming factor", err)
	}
	_, err = v.Call(ctx, "no.such.call", nil)
	if !errors.As(err, &ce) {
		t.Fatalf("unknown call: %v, want a call error", err)
	}
	got, err := v.Call(ctx, "camera.get", nil)
	if err != nil {
		t.Fatalf("camera.get: %v", err)
	}
	if obj, ok := got.(amf0.Object); !ok || len(obj) == 0 {
		t.Fatalf("camera.get returned %#v", got)
	}
	v.Next(ctx) // still streaming
}

func TestTwoViewersHaveTheirOwnCameras(t *testing.T) {
	rs := startStreamer(t, "-size", "320x180")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	a := newViewer(t, ctx, rs.url("live/demo"), rtmpclient.Options{})
	b := newViewer(t, ctx, rs.url("live/demo"), rtmpclient.Options{})
	if _, err := a.Call(ctx, "camera.orbit", amf0.Object{{Key: "dx", Value: 120.0}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Call(ctx, "scene.setBackground", amf0.Object{{Key: "r", Value: 1.0}, {Key: "g", Value: 0.0}, {Key: "b", Value: 0.0}}); err != nil {
		t.Fatal(err)
	}
	var fa, fb *image.YCbCr
	for range 20 {
		fa, fb = a.Next(ctx), b.Next(ctx)
	}
	if isRed(fa) {
		t.Fatal("viewer A's background turned red by viewer B's call")
	}
	if !isRed(fb) {
		t.Fatal("viewer B's background is not red after its call")
	}
	if meanAbsDiff(fa, fb) < 3 {
		t.Fatal("viewers with different cameras see the same picture")
	}
}

func TestTokenAndUnknownScene(t *testing.T) {
	rs := startStreamer(t, "-token", "s3cret", "-size", "320x180")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var se *rtmpclient.StatusError
	_, err := rtmpclient.Dial(ctx, rs.url("live/demo"), rtmpclient.Options{})
	if !errors.As(err, &se) || se.Code != "NetConnection.Connect.Rejected" {
		t.Fatalf("connect without token: %v, want NetConnection.Connect.Rejected", err)
	}
	_, err = rtmpclient.Dial(ctx, rs.url("live/demo"), rtmpclient.Options{ConnectProperties: amf0.Object{{Key: "token", Value: "wrong"}}})
	if !errors.As(err, &se) {
		t.Fatalf("connect with a wrong token: %v, want refused", err)
	}
	for name, opts := range map[string]rtmpclient.Options{
		"property": {ConnectProperties: amf0.Object{{Key: "token", Value: "s3cret"}}},
		"argument": {ConnectArgs: []any{"s3cret"}},
	} {
		c, err := rtmpclient.Dial(ctx, rs.url("live/demo"), opts)
		if err != nil {
			t.Fatalf("token as %s: %v", name, err)
		}
		c.Close()
	}
	c, err := rtmpclient.Dial(ctx, rs.url("live/demo?token=s3cret"), rtmpclient.Options{})
	if err != nil {
		t.Fatalf("token in the tcUrl query: %v", err)
	}
	defer c.Close()
	id, err := c.CreateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Play(ctx, id, "nosuchscene")
	if !errors.As(err, &se) || se.Code != "NetStream.Play.StreamNotFound" {
		t.Fatalf("play of an unknown scene: %v, want NetStream.Play.StreamNotFound", err)
	}
}

func TestHTTPEndpoints(t *testing.T) {
	rs := startStreamer(t, "-size", "320x180")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	v := newViewer(t, ctx, rs.url("live/demo"), rtmpclient.Options{})
	for range 10 {
		v.Next(ctx)
	}
	v.Call(ctx, "camera.orbit", amf0.Object{{Key: "dx", Value: 5.0}})
	v.Next(ctx)
	v.Next(ctx)
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + rs.httpAddr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	if code, body := get("/readyz"); code != 200 || !strings.Contains(body, `"ready":true`) {
		t.Fatalf("/readyz: %d %q", code, body)
	}
	code, body := get("/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{"rendercast_connections 1", "rendercast_streams_playing 1", "rendercast_frames_encoded_total", "rendercast_rtmp_frames_sent_total", "rendercast_rtmp_bytes_out_total",
		"rendercast_call_to_frame_seconds_count", `rendercast_calls_total{name="camera.orbit",result="ok"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if code, body := get("/status"); code != 200 || !strings.Contains(body, "demo") || !strings.Contains(body, "Sessions (1)") || !strings.Contains(body, "rtmp") {
		t.Fatalf("status page: %d\n%s", code, body)
	}
	if code, body := get("/"); code != 200 || !strings.Contains(body, "<video") || !strings.Contains(body, "/viewer/viewer.js") {
		t.Fatalf("browser viewer page: %d\n%s", code, body)
	}
	if code, body := get("/viewer/viewer.js"); code != 200 || !strings.Contains(body, "window.rendercast") {
		t.Fatalf("viewer script: %d", code)
	}
}

func TestSIGTERMWithViewersExitsCleanly(t *testing.T) {
	rs := startStreamer(t, "-size", "320x180")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a := newViewer(t, ctx, rs.url("live/demo"), rtmpclient.Options{})
	b := newViewer(t, ctx, rs.url("live/testcard"), rtmpclient.Options{})
	a.Next(ctx)
	b.Next(ctx)
	start := time.Now()
	rs.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-rs.exited:
		rs.exited <- err // for the cleanup
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v, want status 0", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("shutdown took %v, want under 5 s", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("streamer still running 10 s after SIGTERM")
	}
}

func TestCallCommand(t *testing.T) {
	rs := startStreamer(t, "-size", "320x180")
	out, err := exec.Command(streamerBin, "call", rs.url("live/demo"), "camera.orbit", "dx=30", "dy=0").CombinedOutput()
	if err != nil {
		t.Fatalf("streamer call: %v\n%s", err, out)
	}
	var cam map[string]any
	if err := json.Unmarshal(out, &cam); err != nil || cam["yaw"] == nil {
		t.Fatalf("streamer call printed %q", out)
	}
	out, err = exec.Command(streamerBin, "call", rs.url("live/demo"), "camera.zoom", "factor=oops").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "factor") {
		t.Fatalf("bad argument: err %v, output %q", err, out)
	}
}

func TestInvalidFlagsAreRefused(t *testing.T) {
	for _, args := range [][]string{{"-size", "12x"}, {"-fps", "0"}, {"-encoder", "vp9"}, {"-scene", "bad name=x.glb"}, {"-log-format", "xml"}} {
		out, err := exec.Command(streamerBin, args...).CombinedOutput()
		if err == nil {
			t.Fatalf("%v accepted", args)
		}
		if !strings.Contains(string(out), args[0]) {
			t.Fatalf("%v: message %q does not name the flag", args, out)
		}
	}
	out, err := exec.Command(streamerBin, "-scene", "broken=/nonexistent.glb", "-listen", "127.0.0.1:0", "-http", "").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "nonexistent.glb") {
		t.Fatalf("missing glTF file: err %v, output %q", err, out)
	}
}
