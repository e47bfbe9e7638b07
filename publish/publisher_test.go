package publish

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/rtmpclient"
)

func TestBadURLs(t *testing.T) {
	for _, raw := range []string{
		"http://x/a/b",
		"rtmp://",
		"rtmp://host",
		"rtmp://host/",
		"rtmp://host/app",
		"rtmp://host/app/",
		"rtmp://host//stream",
		"rtmps://:1935/app/stream",
		"garbage",
		"",
		"://nothing",
		"rtmp://host:notaport/app/stream",
		"rtmp://user:secret@host/app/stream?key=secret",
		"rtmp:opaque/app/stream",
	} {
		_, err := New(Config{URL: raw})
		if !errors.Is(err, ErrBadURL) {
			t.Errorf("New(%q): %v, want ErrBadURL", raw, err)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("New(%q): error %q shows a secret", raw, err)
		}
	}
}

func TestTargets(t *testing.T) {
	for _, tc := range []struct {
		raw, dial, name, redacted string
	}{
		{"rtmp://h/live/cam", "rtmp://h/live/cam", "cam", "rtmp://h/live/ca…"},
		{"rtmp://h:1936/live/cam?key=k&x=1", "rtmp://h:1936/live/cam", "cam?key=k&x=1", "rtmp://h:1936/live/ca…"},
		{"rtmps://ingest.example/app/inst/key-123#frag", "rtmps://ingest.example/app/inst/key-123", "key-123", "rtmps://ingest.example/app/inst/ke…"},
		{"rtmp://h/live/ab", "rtmp://h/live/ab", "ab", "rtmp://h/live/ab"},
	} {
		got, err := parseTarget(tc.raw)
		if err != nil {
			t.Errorf("parseTarget(%q): %v", tc.raw, err)
			continue
		}
		if got.dial != tc.dial || got.name != tc.name || got.redacted != tc.redacted {
			t.Errorf("parseTarget(%q) = %+v, want dial %q name %q redacted %q", tc.raw, got, tc.dial, tc.name, tc.redacted)
		}
	}
	if r := Redact("rtmp://u:p@h/a/b?key=s"); r != "rtmp://h/a/b" {
		t.Errorf("Redact = %q", r)
	}
	if r := Redact("rtmp://a.rtmp.youtube.com/live2/SECRETKEY"); r != "rtmp://a.rtmp.youtube.com/live2/SE…" {
		t.Errorf("Redact = %q", r)
	}
}

func TestBadConfig(t *testing.T) {
	for _, c := range []Config{
		{Queue: -1},
		{MinBackoff: time.Second, MaxBackoff: time.Millisecond},
		{MinBackoff: -time.Second},
		{Width: -2},
	} {
		c.URL = "rtmp://h/a/b"
		if _, err := New(c); !errors.Is(err, ErrBadConfig) {
			t.Errorf("New(%+v): %v, want ErrBadConfig", c, err)
		}
	}
	p, err := New(Config{URL: "rtmp://h/a/b"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.cfg.Queue != DefaultQueue || p.cfg.MinBackoff != DefaultMinBackoff || p.cfg.MaxBackoff != DefaultMaxBackoff {
		t.Errorf("defaults: %+v", p.cfg)
	}
	if st := p.Status(); st.State != StateIdle || st.URL != "rtmp://h/a/b" {
		t.Errorf("status before Start: %+v", st)
	}
}

func TestBackoff(t *testing.T) {
	lo, hi := 500*time.Millisecond, 30*time.Second
	for n := 1; n <= 12; n++ {
		want := min(lo<<(n-1), hi)
		for range 50 {
			if d := backoff(lo, hi, n); d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %v, want %v..%v", n, d, want/2, want)
			}
		}
	}
	// The jitter spreads the waits.
	seen := map[time.Duration]bool{}
	for range 20 {
		seen[backoff(lo, hi, 3)] = true
	}
	if len(seen) < 5 {
		t.Errorf("backoff(3) took %d distinct values in 20 draws", len(seen))
	}
}

// WriteFrame takes only a keyframe with its configuration first, queues without blocking,
// and on a full queue drops and wants a keyframe.
func TestWriteFrameGating(t *testing.T) {
	p, err := New(Config{URL: "rtmp://h/a/b", Queue: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	key := &avc.Frame{Keyframe: true, Config: []byte{1}, NALUs: []byte{0, 0, 0, 1, 0x65}}
	bare := &avc.Frame{Keyframe: true, NALUs: []byte{0, 0, 0, 1, 0x65}}
	inter := &avc.Frame{NALUs: []byte{0, 0, 0, 1, 0x41}}
	if p.WriteFrame(key) {
		t.Error("idle publisher wants a keyframe")
	}
	// As the goroutine does once it publishes.
	p.mu.Lock()
	p.setStateLocked(StatePublishing)
	p.needKey = true
	p.mu.Unlock()
	steps := []struct {
		f      *avc.Frame
		want   bool
		queued int
	}{
		{inter, true, 0},
		{bare, true, 0}, // a keyframe without configuration cannot start a stream
		{key, false, 1},
		{inter, false, 2},
		{inter, true, 2}, // full: dropped
		{inter, true, 2}, // still waiting for a keyframe
	}
	for i, s := range steps {
		if got := p.WriteFrame(s.f); got != s.want || len(p.queue) != s.queued {
			t.Fatalf("step %d: WriteFrame = %v with %d queued, want %v with %d", i, got, len(p.queue), s.want, s.queued)
		}
	}
	<-p.queue
	<-p.queue
	if p.WriteFrame(key) || len(p.queue) != 1 {
		t.Error("a keyframe after the drop was not taken")
	}
	if st := p.Status(); st.FramesDropped != 4 {
		t.Errorf("FramesDropped = %d, want 4", st.FramesDropped)
	}
}

// After every connect the server first gets onMetaData, the sequence header and a keyframe
// at timestamp 0; later frames keep their spacing; the stream name keeps its query. A
// connection the server closes is replaced, and the new one starts the same way.
func TestStartsAtKeyframeAfterEachConnect(t *testing.T) {
	srv := startFakeIngest(t)
	frames := encodeFrames(t, 30, red)
	logs := &logRecorder{}
	p, err := New(Config{URL: srv.url("cam?key=s3cret"), FrameRate: 30, MinBackoff: 10 * time.Millisecond,
		MaxBackoff: 50 * time.Millisecond, Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	defer p.Close()

	// shifted returns frame i, as a session that has run for a while has it.
	shifted := func(i int, by time.Duration) *avc.Frame {
		g := *frames[i]
		g.PTS += by
		g.DTS += by
		return &g
	}
	for conn, offset := range []time.Duration{5 * time.Second, 9 * time.Second} {
		conn++
		waitFor(t, p, 30*time.Second, "publishing", func(s Status) bool {
			return s.State == StatePublishing && s.Connects == uint64(conn)
		})
		if name := <-srv.publ; name != "cam?key=s3cret" {
			t.Errorf("published name %q, want cam?key=s3cret", name)
		}
		if !p.WriteFrame(shifted(1, offset)) {
			t.Errorf("connection %d: an inter frame first was taken", conn)
		}
		for i := 10; i < 15; i++ { // frame 10 is a keyframe
			if p.WriteFrame(shifted(i, offset)) {
				t.Errorf("connection %d: frame %d refused", conn, i)
			}
		}
		var got []received
		for len(got) < 7 {
			m := srv.next(t)
			if m.conn == conn && !m.end {
				got = append(got, m)
			}
		}
		if got[0].typ != 18 {
			t.Fatalf("connection %d: first message type %d, want data (onMetaData)", conn, got[0].typ)
		}
		meta, err := amf0.Unmarshal(got[0].body)
		if err != nil || len(meta) != 3 || meta[0] != "@setDataFrame" || meta[1] != "onMetaData" {
			t.Fatalf("connection %d: metadata %v, %v", conn, meta, err)
		}
		props, _ := meta[2].(amf0.ECMAArray)
		for k, v := range map[string]float64{"width": testWidth, "height": testHeight, "framerate": 30, "videocodecid": 7} {
			if got, _ := amf0.Object(props).GetFloat64(k); got != v {
				t.Errorf("connection %d: onMetaData %s = %v, want %v", conn, k, got, v)
			}
		}
		seq, err := rtmpclient.ParseVideoTag(got[1].body)
		if err != nil || got[1].typ != 9 || seq.AVCPacketType != rtmpclient.AVCSequenceHeader || !bytes.Equal(seq.Payload, frames[0].Config) || got[1].ts != 0 {
			t.Errorf("connection %d: second message (type %d, AVC packet type %d) at %v, want the sequence header at 0", conn, got[1].typ, seq.AVCPacketType, got[1].ts)
		}
		for j, m := range got[2:] {
			v, err := rtmpclient.ParseVideoTag(m.body)
			wantTS := frames[10+j].DTS - frames[10].DTS
			if err != nil || v.AVCPacketType != rtmpclient.AVCNALU || v.Keyframe != (j == 0) || m.ts != wantTS.Truncate(time.Millisecond) ||
				!bytes.Equal(v.Payload, frames[10+j].NALUs) {
				t.Errorf("connection %d: frame %d: AVC packet type %d key %v at %v (err %v), want NALU key %v at %v", conn, j, v.AVCPacketType, v.Keyframe, m.ts, err, j == 0, wantTS)
			}
		}
		if conn == 1 {
			srv.kick()
		}
	}
	// The server may see the last frame a moment before the publisher counts it.
	st := waitFor(t, p, 10*time.Second, "10 frames counted", func(s Status) bool { return s.FramesSent >= 10 })
	if st.Connects != 2 || st.Failures != 1 || st.FramesSent != 10 || st.BytesSent == 0 || !strings.Contains(st.LastError, "server closed") {
		t.Errorf("status %+v: want 2 connects, 1 failure (the server closed), 10 frames sent", st)
	}
	if strings.Contains(st.URL, "s3cret") {
		t.Errorf("status URL %q shows the stream key", st.URL)
	}
	p.Close()
	if st := p.Status(); st.State != StateClosed {
		t.Errorf("after Close: state %s", st.State)
	}
	if n := logs.count(slog.LevelInfo, "publish: publishing"); n != 2 {
		t.Errorf("%d Info records for publishing, want 2:\n%s", n, logs)
	}
	if n := logs.count(slog.LevelWarn, "publish:"); n != 1 {
		t.Errorf("%d Warn records, want 1 (the server closed):\n%s", n, logs)
	}
}

// A target that refuses connections: WriteFrame never blocks and asks for nothing, the
// publisher waits between retries, failures grow, and the failure is logged at Warn once.
func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // a closed port: connections are refused
	logs := &logRecorder{}
	p, err := New(Config{URL: "rtmp://" + addr + "/live/x", Logger: slog.New(logs),
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 40 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	defer p.Close()
	key := &avc.Frame{Keyframe: true, Config: []byte{1, 2}, NALUs: []byte{0, 0, 0, 1, 0x65}}
	start := time.Now()
	for i := range 300 {
		if p.WriteFrame(key) {
			t.Fatalf("frame %d: WriteFrame asks for a keyframe without a connection", i)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("300 WriteFrame calls with 5 ms pauses took %v", d)
	}
	st := waitFor(t, p, 10*time.Second, "waiting after failures", func(s Status) bool {
		return s.State == StateWaiting && s.Failures >= 3
	})
	waitFor(t, p, 10*time.Second, "more failures", func(s Status) bool { return s.Failures > st.Failures })
	if !strings.Contains(st.LastError, "refused") {
		t.Errorf("LastError %q, want connection refused", st.LastError)
	}
	if st.Connects != 0 || st.FramesSent != 0 || st.FramesDropped < 300 {
		t.Errorf("status %+v: want no connect, nothing sent, 300 dropped", st)
	}
	p.Close()
	if n := logs.count(slog.LevelWarn, ""); n != 1 {
		t.Errorf("%d Warn records, want 1:\n%s", n, logs)
	}
	if n := logs.count(slog.LevelDebug, "publish: retry failed"); n < 2 {
		t.Errorf("%d Debug records of retries, want >= 2", n)
	}
}

// Close ends a publisher stuck on a server that accepts TCP but never answers, promptly.
func TestCloseWhileConnecting(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	p, err := New(Config{URL: "rtmp://" + l.Addr().String() + "/live/x"})
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	c := <-accepted
	defer c.Close()
	waitFor(t, p, 5*time.Second, "connecting", func(s Status) bool { return s.State == StateConnecting })
	start := time.Now()
	p.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	if st := p.Status(); st.State != StateClosed || st.Failures != 0 {
		t.Errorf("after Close: %+v", st)
	}
	if p.WriteFrame(&avc.Frame{Keyframe: true, Config: []byte{1}}) {
		t.Error("closed publisher wants a keyframe")
	}
	p.Start() // no effect after Close
	if st := p.Status(); st.State != StateClosed {
		t.Errorf("Start after Close: %+v", st)
	}
}
