package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/rendercast/rendercast/rtmpclient"
)

func TestDrainAndUDPPortSettings(t *testing.T) {
	c, err := parseConfig([]string{"-drain-timeout", "12s", "-drain-wait", "1.5", "-webrtc-udp-port", "50000"}, func(string) string { return "" }, discard{})
	if err != nil {
		t.Fatal(err)
	}
	if c.DrainTimeout != 12*time.Second || c.DrainWait != 1500*time.Millisecond || c.WebRTCUDPPort != 50000 {
		t.Errorf("parsed %v %v %d", c.DrainTimeout, c.DrainWait, c.WebRTCUDPPort)
	}
	c, err = parseConfig(nil, func(string) string { return "" }, discard{})
	if err != nil {
		t.Fatal(err)
	}
	if c.DrainTimeout != 5*time.Second || c.DrainWait != 0 || c.WebRTCUDPPort != 0 {
		t.Errorf("defaults %v %v %d, want 5s, 0 and 0", c.DrainTimeout, c.DrainWait, c.WebRTCUDPPort)
	}
	// Out of range: refused at start by the binary, naming the flag (exit status 2).
	for _, args := range [][]string{
		{"-drain-timeout", "500ms"}, {"-drain-timeout", "61s"}, {"-drain-timeout", "0"}, {"-drain-timeout", "soon"},
		{"-drain-wait", "61s"}, {"-drain-wait", "-1s"}, {"-webrtc-udp-port", "65536"}, {"-webrtc-udp-port", "-1"},
	} {
		cmd := exec.Command(streamerBin, append(args, "-listen", "127.0.0.1:0", "-http", "")...)
		cmd.Env = append(os.Environ(), "STREAMER_CONFIG=")
		out, err := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); err == nil || code != 2 || !strings.Contains(string(out), args[0]) {
			t.Errorf("%v: exit %d (%v), output %q; want status 2 naming %s", args, code, err, out, args[0])
		}
	}
	cmd := exec.Command(streamerBin, "-listen", "127.0.0.1:0", "-http", "")
	cmd.Env = append(os.Environ(), "STREAMER_CONFIG=", "STREAMER_DRAIN_WAIT=2m")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "STREAMER_DRAIN_WAIT") {
		t.Errorf("STREAMER_DRAIN_WAIT=2m: %v %q, want refused naming it", err, out)
	}
}

// countingWriter counts what is written to it.
type countingWriter struct{ n atomic.Int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	return len(p), nil
}

// waitFor polls cond until it holds, failing the test after within.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitExit waits for the streamer's exit and returns how long it took from start.
func waitExit(t *testing.T, rs *runningStreamer, start time.Time, within time.Duration) time.Duration {
	t.Helper()
	select {
	case err := <-rs.exited:
		rs.exited <- err // for the cleanup
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v, want status 0", err)
		}
		return time.Since(start)
	case <-time.After(within):
		t.Fatalf("streamer still running %v after SIGTERM", within)
	}
	return 0
}

// logLine returns the first JSON log line with msg, or nil.
func logLine(t *testing.T, rs *runningStreamer, msg string) map[string]any {
	t.Helper()
	b, _ := os.ReadFile(rs.logPath)
	for _, line := range strings.Split(string(b), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
			return m
		}
	}
	return nil
}

// SIGTERM with viewers of both transports: the RTMP viewers (our client and ffmpeg) get
// NetStream.Play.UnpublishNotify and their connections close, ffmpeg ends as at the end of
// a stream (status 0, the frames decoded), the WebRTC session closes, and the process
// exits 0 within the default -drain-timeout (5 s), logging the drain.
func TestSIGTERMDrainsViewers(t *testing.T) {
	rs := startStreamer(t, "-size", "320x180")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	v := newViewer(t, ctx, rs.url("live/demo"), rtmpclient.Options{DropMedia: true})
	v.Next(ctx)
	var ffOut countingWriter
	var ffErr syncBuffer
	ff := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-v", "error", "-i", rs.url("live/testcard"), "-pix_fmt", "gray", "-f", "rawvideo", "-")
	ff.Stdout, ff.Stderr = &ffOut, &ffErr
	if err := ff.Start(); err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	ffDone := make(chan error, 1)
	go func() { ffDone <- ff.Wait() }()
	w := dialWHEP(t, rs.httpAddr, "demo", "")
	w.next(ctx)
	closed := make(chan struct{})
	w.pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateClosed || s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateDisconnected {
			select {
			case <-closed:
			default:
				close(closed)
			}
		}
	})
	waitFor(t, "ffmpeg decoding frames", 60*time.Second, func() bool { return ffOut.n.Load() >= 10*320*180 })

	start := time.Now()
	rs.cmd.Process.Signal(syscall.SIGTERM)
	var seen []string
	for {
		e, err := v.C.ReadEvent(ctx)
		if err != nil {
			t.Fatalf("no NetStream.Play.UnpublishNotify (saw %v): %v", seen, err)
		}
		if e.Kind == rtmpclient.EventStatus {
			seen = append(seen, e.Status.Code)
			if e.Status.Code == "NetStream.Play.UnpublishNotify" {
				break
			}
		}
	}
	took := waitExit(t, rs, start, 10*time.Second)
	t.Logf("exited %v after SIGTERM", took)
	if took > 5*time.Second {
		t.Errorf("exit %v after SIGTERM, want within the default -drain-timeout (5 s)", took)
	}
	select {
	case err := <-ffDone:
		if err != nil {
			t.Errorf("ffmpeg: %v (want the end of the stream, status 0)\n%s", err, ffErr.String())
		}
		if n := ffOut.n.Load(); n < 10*320*180 || n%(320*180) != 0 {
			t.Errorf("ffmpeg wrote %d bytes, want whole 320x180 frames", n)
		}
	case <-time.After(10 * time.Second):
		t.Error("ffmpeg still running 10 s after the drain")
	}
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Errorf("the WebRTC peer connection is still %v after the drain", w.pc.ConnectionState())
	}
	if m := logLine(t, rs, "drained"); m == nil || m["viewers"] != 3.0 {
		t.Errorf("log line \"drained\": %v, want it with 3 viewers", m)
	}
}

// -drain-wait: after SIGTERM /readyz is 503 (draining) at once, new RTMP connects and
// WHEP offers are refused, the viewer playing keeps its picture, and the process exits as
// soon as that viewer leaves, long before the wait is over.
func TestSIGTERMDrainWait(t *testing.T) {
	rs := startStreamer(t, "-size", "320x180", "-drain-wait", "40s")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	v := newViewer(t, ctx, rs.url("live/demo"), rtmpclient.Options{})
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
	if code, body := get("/readyz"); code != 200 {
		t.Fatalf("/readyz before SIGTERM: %d %s", code, body)
	}
	start := time.Now()
	rs.cmd.Process.Signal(syscall.SIGTERM)
	waitFor(t, "/readyz 503 draining", 10*time.Second, func() bool {
		code, body := get("/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "draining")
	})
	if _, err := rtmpclient.Dial(ctx, rs.url("live/demo"), rtmpclient.Options{}); err == nil || !strings.Contains(err.Error(), "draining") {
		t.Errorf("an RTMP connect while draining: %v, want it rejected, saying why", err)
	}
	_, _, offer := whepOffer(t, newWHEPAPI(t))
	if code, _, body := postOffer(t, "http://"+rs.httpAddr+"/whep/demo", offer, ""); code != http.StatusServiceUnavailable || !strings.Contains(body, "draining") {
		t.Errorf("a WHEP offer while draining: %d %q, want 503 saying why", code, body)
	}
	for range 20 {
		v.Next(ctx) // the viewer there keeps its picture
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz while draining: %d, want 200 (alive)", code)
	}
	v.C.Close()
	left := time.Now()
	took := waitExit(t, rs, start, 30*time.Second)
	t.Logf("exited %v after SIGTERM, %v after the viewer left", took, time.Since(left))
	if took > 20*time.Second {
		t.Errorf("exit %v after SIGTERM with -drain-wait 40s and the viewer gone: want soon after it left", took)
	}
	m := logLine(t, rs, "draining: not ready, new viewers refused")
	if m == nil || m["wait"] != "40s" || m["timeout"] != "5s" {
		t.Errorf("drain log line: %v", m)
	}
}

// -webrtc-udp-port with -webrtc-public-ip: two browsers' worth of WebRTC sessions (pion)
// play on the one port: each decodes pictures, and every candidate of both answers
// carries the port, the public address among them.
func TestWebRTCOneUDPPort(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	c.Close()
	rs := startStreamer(t, "-size", "320x180", "-webrtc-udp-port", strconv.Itoa(port), "-webrtc-public-ip", "127.0.0.2")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	clients := []*whepClient{dialWHEP(t, rs.httpAddr, "demo", ""), dialWHEP(t, rs.httpAddr, "testcard", "")}
	for i, w := range clients {
		for range 5 {
			if img := w.next(ctx); img.Rect.Dx() != 320 || img.Rect.Dy() != 180 {
				t.Fatalf("client %d: picture %v, want 320x180", i, img.Rect)
			}
		}
		var cands []string
		for _, line := range strings.Split(w.pc.RemoteDescription().SDP, "\n") {
			if !strings.HasPrefix(line, "a=candidate:") {
				continue
			}
			f := strings.Fields(line)
			cands = append(cands, f[4]+":"+f[5])
			if f[5] != strconv.Itoa(port) {
				t.Errorf("client %d: server candidate %s, want port %d", i, line, port)
			}
		}
		if want := "127.0.0.2:" + strconv.Itoa(port); !strings.Contains(strings.Join(cands, " "), want) {
			t.Errorf("client %d: candidates %v, want %s (the public IP)", i, cands, want)
		}
		pair, err := w.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
		if err != nil || pair == nil || int(pair.Remote.Port) != port {
			t.Errorf("client %d: selected pair %v (%v), want the server on port %d", i, pair, err, port)
		}
	}
}

// streamer check reads the configuration as serving would, and opens nothing.
func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	good, bad := dir+"/good.yaml", dir+"/bad.yaml"
	writeFile(good, "size: 640x360\nmax-viewers: 8\nsession: [show=demo]\n")
	writeFile(bad, "size: 640x360\nmax-viewer: 8\n")
	cmd := exec.Command(streamerBin, "check", "-config", good, "-drain-timeout", "10s")
	cmd.Env = append(os.Environ(), "STREAMER_CONFIG=", "STREAMER_WEBRTC_UDP_PORT=30000")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "configuration ok") {
		t.Errorf("check of a good configuration: %v %q", err, out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{{[]string{"-config", bad}, `unknown setting "max-viewer"`}, {[]string{"-config", good, "-drain-wait", "2m"}, "-drain-wait"}} {
		cmd := exec.Command(streamerBin, append([]string{"check"}, c.args...)...)
		out, err := cmd.CombinedOutput()
		if err == nil || cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), c.want) {
			t.Errorf("check %v: %v %q, want status 2 and %q", c.args, err, out, c.want)
		}
	}
}
