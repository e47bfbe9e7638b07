package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/rawmessage"

	"github.com/rendercast/rendercast/rtmpclient"
)

// Reliability and security against the real binary: hostile clients, names from the
// network, tokens in logs. (The exhaustive hostile-client suite runs against package rtmpsrv,
// where it is fast; these check the product as shipped.)

// metric returns the value of an unlabelled metric from /metrics, or -1 when absent.
func metric(t *testing.T, rs *runningStreamer, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + rs.httpAddr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %q", name, v)
			}
			return f
		}
	}
	return -1
}

func waitMetric(t *testing.T, rs *runningStreamer, name string, cond func(float64) bool) float64 {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		v := metric(t, rs, name)
		if cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("metric %s stuck at %v", name, v)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rawClient speaks RTMP by hand, to send what no well-behaved client would.
type rawClient struct {
	t  *testing.T
	nc net.Conn
	r  *rawmessage.Reader
}

func dialRawRTMP(t *testing.T, addr string, handshake bool) *rawClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &rawClient{t: t, nc: nc}
	br := bytecounter.NewReader(nc)
	c.r = rawmessage.NewReader(br, br, func(uint32) error { return nil })
	if handshake {
		c0c1 := make([]byte, 1537)
		c0c1[0] = 3
		rand.Read(c0c1[9:])
		c.write(c0c1)
		s := make([]byte, 3073)
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(nc, s); err != nil {
			t.Fatalf("handshake: %v", err)
		}
		c.write(s[1:1537])
	}
	return c
}

func (c *rawClient) write(b []byte) error {
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := c.nc.Write(b)
	return err
}

// message encodes body as one RTMP message on chunk stream 3 (type 0, then type 3 chunks of
// 128 bytes).
func rawMessage(typ uint8, msid uint32, body []byte) []byte {
	n := len(body)
	out := []byte{3, 0, 0, 0, byte(n >> 16), byte(n >> 8), byte(n), typ}
	out = binary.LittleEndian.AppendUint32(out, msid)
	for i := 0; ; i += 128 {
		out = append(out, body[i:min(i+128, n)]...)
		if i+128 >= n {
			return out
		}
		out = append(out, 0xc3)
	}
}

func rawCommand(t *testing.T, name string, txid float64, values ...any) []byte {
	t.Helper()
	b, err := amf0.Data(append([]any{name, txid}, values...)).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// reply waits for the _result or _error of txid.
func (c *rawClient) reply(txid float64) (string, amf0.Data) {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		m, err := c.r.Read()
		if err != nil {
			c.t.Fatalf("waiting for the reply to %v: %v", txid, err)
		}
		switch m.Type {
		case 1:
			c.r.SetChunkSize(binary.BigEndian.Uint32(m.Body))
		case 20:
			d, err := amf0.Unmarshal(m.Body)
			if err == nil && len(d) >= 2 && d[1] == txid {
				return d[0].(string), d
			}
		}
	}
}

// requireClosed fails unless the server closes the connection within d.
func (c *rawClient) requireClosed(d time.Duration) {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c.nc)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatalf("the streamer kept a hostile connection open for %v", d)
	}
}

func TestReliabilityHostileClientsAgainstStreamer(t *testing.T) {
	// The churn below opens 200 connections in a second or two from one address, beyond the
	// per-address rate (guard_test.go tests that): trusted here, as a local proxy would be.
	rs := startStreamer(t, "-size", "320x180", "-trusted-nets", "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	url := rs.url("live/demo")
	{ // warm up: first-use allocations (GL programs, encoder), then take the baseline
		v := newViewer(t, ctx, url, rtmpclient.Options{})
		for range 10 {
			v.Next(ctx)
		}
		v.C.Close()
	}
	waitMetric(t, rs, "rendercast_connections", func(v float64) bool { return v == 0 })
	baseGoroutines := metric(t, rs, "go_goroutines")

	// Garbage: an HTTP request, random bytes after a handshake, an oversized message.
	c := dialRawRTMP(t, rs.rtmpAddr, false)
	c.write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	c.requireClosed(5 * time.Second)
	for range 5 {
		c := dialRawRTMP(t, rs.rtmpAddr, true)
		junk := make([]byte, 4096)
		rand.Read(junk)
		c.write(junk)
		c.requireClosed(15 * time.Second)
	}
	c = dialRawRTMP(t, rs.rtmpAddr, true)
	c.write([]byte{3, 0, 0, 0, 0xff, 0xff, 0xff, 20, 0, 0, 0, 0}) // a 16 MiB command: header only
	c.requireClosed(5 * time.Second)

	// Bad AMF after a good connect: _error, and the connection goes on.
	c = dialRawRTMP(t, rs.rtmpAddr, true)
	c.write(rawMessage(20, 0, rawCommand(t, "connect", 1, amf0.Object{{Key: "app", Value: "live"}, {Key: "tcUrl", Value: "rtmp://" + rs.rtmpAddr + "/live"}})))
	if name, _ := c.reply(1); name != "_result" {
		t.Fatalf("connect: %s", name)
	}
	amf3 := append(rawCommand(t, "camera.get", 2, nil), 0x11, 0x06, 0x00) // AMF3 string reference out of range
	deep := rawCommand(t, "camera.set", 3, nil)
	for range 3000 {
		deep = append(deep, 0x0a, 0, 0, 0, 1) // strict arrays nested 3000 deep
	}
	deep = append(deep, 0x05)
	for txid, body := range map[float64][]byte{2: amf3, 3: deep} {
		c.write(rawMessage(20, 0, body))
		if name, d := c.reply(txid); name != "_error" || !strings.Contains(errorDescription(d), "malformed") {
			t.Fatalf("bad AMF (transaction %v): %s %v", txid, name, d)
		}
	}
	c.write(rawMessage(20, 0, rawCommand(t, "scene.list", 4, nil)))
	if name, _ := c.reply(4); name != "_result" {
		t.Fatalf("scene.list after bad AMF: %s", name)
	}
	c.nc.Close()

	// A call flood from a playing viewer: the rate limit refuses some, the video goes on.
	v := newViewer(t, ctx, url, rtmpclient.Options{})
	v.Next(ctx)
	var ok, limited atomic.Int64
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				_, err := v.C.Call(ctx, "camera.get", nil)
				var ce *rtmpclient.CallError
				if err == nil {
					ok.Add(1)
				} else if errors.As(err, &ce) && strings.Contains(ce.Description, "too many") {
					limited.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if limited.Load() == 0 || ok.Load() == 0 || ok.Load()+limited.Load() != 2000 {
		t.Fatalf("call flood: %d answered, %d limited, of 2000", ok.Load(), limited.Load())
	}
	for range 5 {
		v.Next(ctx)
	}
	if n := metric(t, rs, "rendercast_rtmp_calls_limited_total"); n != float64(limited.Load()) {
		t.Fatalf("rendercast_rtmp_calls_limited_total %v, clients saw %d", n, limited.Load())
	}
	v.C.Close()

	// A createStream flood: 8 streams (and encoders) per connection, no more.
	fc, err := rtmpclient.Dial(ctx, url, rtmpclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	created := 0
	for range 20 {
		if _, err := fc.CreateStream(ctx); err == nil {
			created++
		}
	}
	if created != 8 {
		t.Fatalf("%d of 20 createStreams succeeded, want 8", created)
	}
	fc.Close()

	// Connect and disconnect cycles, some playing; clients vanishing mid-frame.
	for i := range 200 {
		cc, err := rtmpclient.Dial(ctx, url, rtmpclient.Options{})
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		if i%10 == 0 {
			id, err := cc.CreateStream(ctx)
			if err == nil {
				err = cc.Play(ctx, id, "demo")
			}
			if err == nil {
				_, err = cc.ReadVideo(ctx)
			}
			if err != nil {
				t.Fatalf("cycle %d: %v", i, err)
			}
		}
		cc.Close()
	}
	for range 5 {
		vv := newViewer(t, ctx, url, rtmpclient.Options{})
		vv.C.ReadVideo(ctx)
		vv.C.Close() // mid-stream, with frames in flight
	}

	// Everything is gone, and a fresh viewer gets full frame rate.
	waitMetric(t, rs, "rendercast_connections", func(v float64) bool { return v == 0 })
	waitMetric(t, rs, "rendercast_streams_playing", func(v float64) bool { return v == 0 })
	waitMetric(t, rs, "go_goroutines", func(v float64) bool { return v <= baseGoroutines+10 })
	fresh := newViewer(t, ctx, url, rtmpclient.Options{})
	for range 3 {
		fresh.Next(ctx)
	}
	start, frames := time.Now(), 0
	for time.Since(start) < 2*time.Second {
		fresh.Next(ctx)
		frames++
	}
	if fps := float64(frames) / time.Since(start).Seconds(); fps < 20 {
		t.Fatalf("fresh viewer after the attacks: %.1f fps, want >= 20 of 30", fps)
	}
	for _, name := range []string{"rendercast_rtmp_stream_failures_total", "rendercast_rtmp_handler_panics_total"} {
		if v := metric(t, rs, name); v != 0 {
			t.Errorf("%s = %v after attacks that should not fail a stream or panic", name, v)
		}
	}
}

func errorDescription(d amf0.Data) string {
	if len(d) < 4 {
		return ""
	}
	obj, _ := d[3].(amf0.Object)
	s, _ := obj.GetString("description")
	return s
}

// Names from the network only select configured scenes: paths get StreamNotFound (play) or
// _error (scene.load), and nothing is opened.
func TestReliabilitySceneNamesAreNotPaths(t *testing.T) {
	rs := startStreamer(t, "-size", "160x90")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	names := []string{"../../../../etc/passwd", "/etc/passwd", "demo/../testcard", "..", "%2e%2e%2fetc", "C:\\Windows\\win.ini",
		"demo\x00.glb", "file:///etc/passwd", "$(touch /tmp/rendercast-pwned)", "`id`", strings.Repeat("a", 5000)}
	c, err := rtmpclient.Dial(ctx, rs.url("live/demo"), rtmpclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, name := range names {
		id, err := c.CreateStream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var se *rtmpclient.StatusError
		if err := c.Play(ctx, id, name); !errors.As(err, &se) || se.Code != "NetStream.Play.StreamNotFound" {
			t.Fatalf("play %q: %v, want NetStream.Play.StreamNotFound", name, err)
		}
		c.DeleteStream(id)
		time.Sleep(20 * time.Millisecond) // stay under the call rate limit
	}
	v := newViewer(t, ctx, rs.url("live/demo"), rtmpclient.Options{})
	v.Next(ctx)
	for _, name := range names {
		var ce *rtmpclient.CallError
		if _, err := v.Call(ctx, "scene.load", amf0.Object{{Key: "name", Value: name}}); !errors.As(err, &ce) {
			t.Fatalf("scene.load %q: %v, want _error", name, err)
		}
	}
	if _, err := os.Stat("/tmp/rendercast-pwned"); err == nil {
		t.Fatal("a scene name reached a shell")
	}
	v.Next(ctx) // still streaming
}

// Tokens presented by clients, right or wrong, never reach the log or the status pages.
func TestReliabilityTokensNeverLogged(t *testing.T) {
	const secret = "s3cret-Z9q"
	rs := startStreamer(t, "-size", "160x90", "-token", secret)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Wrong tokens in each place a client may put one.
	for _, tc := range []struct {
		url  string
		opts rtmpclient.Options
	}{
		{rs.url("live/demo?token=wrong-tok-1"), rtmpclient.Options{}},
		{rs.url("live/demo"), rtmpclient.Options{ConnectProperties: amf0.Object{{Key: "app", Value: "live?token=wrong-tok-2"}}}},
		{rs.url("live/demo"), rtmpclient.Options{ConnectProperties: amf0.Object{{Key: "token", Value: "wrong-tok-3"}}}},
		{rs.url("live/demo"), rtmpclient.Options{ConnectArgs: []any{"wrong-tok-4"}}},
	} {
		if _, err := rtmpclient.Dial(ctx, tc.url, tc.opts); err == nil {
			t.Fatalf("%s accepted with a wrong token", tc.url)
		}
	}
	// The right one, in the tcUrl, the app and the play name.
	opts := rtmpclient.Options{ConnectProperties: amf0.Object{{Key: "app", Value: "live?token=" + secret}}}
	c, err := rtmpclient.Dial(ctx, rs.url("live/demo?token="+secret), opts)
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.CreateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Play(ctx, id, "demo?token="+secret); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadVideo(ctx); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/status.json", "/metrics"} {
		resp, err := http.Get("http://" + rs.httpAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), secret) {
			t.Fatalf("GET %s shows the token", path)
		}
	}
	c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(rs.logPath)
		logs := string(b)
		if strings.Contains(logs, `"msg":"stop"`) && strings.Contains(logs, `"msg":"rtmp disconnect"`) {
			if strings.Contains(logs, secret) || strings.Contains(logs, "wrong-tok") {
				t.Fatalf("a token reached the log:\n%s", logs)
			}
			if !strings.Contains(logs, "connect refused: missing or wrong token") {
				t.Fatalf("no refusal logged:\n%s", logs)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no stop and disconnect in the log:\n%s", logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// An encoder that cannot open at start is a clear error naming the flag, not a crash.
func TestReliabilityEncoderOpenFailureAtStart(t *testing.T) {
	if _, err := os.Stat("/dev/nvidiactl"); err == nil {
		t.Skip("an NVIDIA device is present: NVENC may open")
	}
	out, err := exec.Command(streamerBin, "-encoder", "h264_nvenc", "-listen", "127.0.0.1:0", "-http", "").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() <= 0 {
		t.Fatalf("streamer with an unopenable encoder: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "-encoder") || strings.Contains(string(out), "panic") {
		t.Fatalf("the error does not name -encoder (or panics):\n%s", out)
	}
}
