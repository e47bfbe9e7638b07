package rtmpsrv

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"

	"github.com/rendercast/rendercast/rtmpclient"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func startServer(t *testing.T, cfg Config, handlers ...ConnectHandler) (*Server, string) {
	t.Helper()
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range handlers {
		srv.Install(h)
	}
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv, "rtmp://" + srv.ListenAddr().String()
}

func dial(t *testing.T, url string, opts rtmpclient.Options) *rtmpclient.Client {
	t.Helper()
	c, err := rtmpclient.Dial(testCtx(t), url, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// recorder is a connect handler that records what it saw.
type recorder struct {
	name    string
	accept  bool
	mu      sync.Mutex
	seen    []string
	cmd     Object
	args    []any
	closed  chan struct{}
	setup   func(c *Conn)
	onClose atomic.Int32
}

func newRecorder(name string, accept bool) *recorder {
	return &recorder{name: name, accept: accept, closed: make(chan struct{}, 16)}
}

func (r *recorder) HandleConnect(c *Conn, created bool, cmd Object, args []any) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !created {
		r.onClose.Add(1)
		r.closed <- struct{}{}
		return true
	}
	r.seen = append(r.seen, r.name)
	r.cmd, r.args = cmd, args
	if r.accept && r.setup != nil {
		r.setup(c)
	}
	return r.accept
}

// seenCount returns how many connects the recorder was asked about. The client's answer
// comes over the network, which orders nothing for the race detector: read under the lock.
func (r *recorder) seenCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

func TestConnectHandlersInOrderAndRefusal(t *testing.T) {
	var order []string
	var mu sync.Mutex
	mk := func(name string, accept bool) ConnectHandler {
		return ConnectHandlerFunc(func(c *Conn, created bool, cmd Object, args []any) bool {
			if created {
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
			}
			return accept
		})
	}
	srv, url := startServer(t, Config{}, mk("a", false), mk("b", false))
	_, err := rtmpclient.Dial(testCtx(t), url+"/app/x", rtmpclient.Options{})
	var se *rtmpclient.StatusError
	if !errors.As(err, &se) || se.Code != "NetConnection.Connect.Rejected" {
		t.Fatalf("refused connect: %v, want NetConnection.Connect.Rejected", err)
	}
	mu.Lock()
	if strings.Join(order, ",") != "a,b" {
		t.Fatalf("handlers asked in order %v, want a,b", order)
	}
	order = nil
	mu.Unlock()

	accepting := newRecorder("c", true)
	srv.Install(accepting)
	srv.Install(mk("d", true)) // never asked: c accepts first
	c := dial(t, url+"/app/x", rtmpclient.Options{})
	mu.Lock()
	got := strings.Join(order, ",")
	mu.Unlock()
	if got != "a,b" || accepting.seenCount() != 1 {
		t.Fatalf("order %q and c asked %d times; want a,b then c once, d never", got, accepting.seenCount())
	}
	c.Close()
	select {
	case <-accepting.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the accepting handler was not told created=false")
	}
	time.Sleep(50 * time.Millisecond)
	if n := accepting.onClose.Load(); n != 1 {
		t.Fatalf("created=false calls: %d, want 1", n)
	}

	srv.Remove(accepting)
	dial(t, url+"/app/x", rtmpclient.Options{}) // d accepts now
	if accepting.seenCount() != 1 {
		t.Fatal("a removed handler was asked")
	}
}

func TestConnectObjectAndArgs(t *testing.T) {
	rec := newRecorder("r", true)
	_, url := startServer(t, Config{}, rec)
	dial(t, url+"/myapp/stream?x=1", rtmpclient.Options{
		ConnectProperties: amf0.Object{{Key: "token", Value: "abc"}, {Key: "custom", Value: 42.0}},
		ConnectArgs:       []any{"first", 2.0},
	})
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if app, _ := rec.cmd.GetString("app"); app != "myapp" {
		t.Errorf("app %q", app)
	}
	if tc, _ := rec.cmd.GetString("tcUrl"); !strings.HasSuffix(tc, "/myapp?x=1") {
		t.Errorf("tcUrl %q", tc)
	}
	if fv, _ := rec.cmd.GetString("flashVer"); fv == "" {
		t.Error("flashVer missing")
	}
	if tok, _ := rec.cmd.GetString("token"); tok != "abc" {
		t.Errorf("custom property token = %q", tok)
	}
	if v, _ := rec.cmd.GetFloat64("custom"); v != 42 {
		t.Errorf("custom property = %v", v)
	}
	if len(rec.args) != 2 || rec.args[0] != "first" || rec.args[1] != 2.0 {
		t.Errorf("extra args %#v", rec.args)
	}
}

func TestCalls(t *testing.T) {
	rec := newRecorder("r", true)
	var defaultCalls atomic.Int32
	rec.setup = func(c *Conn) {
		c.RegisterCallHandler(CallHandlerFunc(func(c *Conn, p string, cmd any, args []any) (any, error) {
			return map[string]any{"sum": args[0].(float64) + args[1].(float64)}, nil
		}), "add")
		c.RegisterCallHandler(CallHandlerFunc(func(c *Conn, p string, cmd any, args []any) (any, error) {
			return nil, &CallError{Code: "App.Failed", Description: "it failed on purpose"}
		}), "fail")
		c.RegisterCallHandler(CallHandlerFunc(func(c *Conn, p string, cmd any, args []any) (any, error) {
			panic("boom")
		}), "panics")
		c.RegisterCallHandler(CallHandlerFunc(func(c *Conn, p string, cmd any, args []any) (any, error) {
			if p == "fallthrough" {
				defaultCalls.Add(1)
				return "default:" + p, nil
			}
			return nil, fmt.Errorf("default handler does not know %q", p)
		}), "")
		c.RegisterCallHandler(CallHandlerFunc(func(c *Conn, p string, cmd any, args []any) (any, error) {
			return "removed", nil
		}), "gone")
		c.RegisterCallHandler(nil, "gone")
	}
	_, url := startServer(t, Config{}, rec)
	c := dial(t, url+"/app", rtmpclient.Options{})
	ctx := testCtx(t)

	res, err := c.Call(ctx, "add", nil, 2, 3)
	if err != nil {
		t.Fatalf("add: %v", err)
	}
	if obj, ok := res.(amf0.Object); !ok || fmt.Sprint(obj) != "[{sum 5}]" {
		t.Fatalf("add result %#v", res)
	}
	_, err = c.Call(ctx, "fail", nil)
	var ce *rtmpclient.CallError
	if !errors.As(err, &ce) || ce.Code != "App.Failed" || ce.Description != "it failed on purpose" {
		t.Fatalf("fail: %v", err)
	}
	if res, err := c.Call(ctx, "fallthrough", nil); err != nil || res != "default:fallthrough" {
		t.Fatalf("default handler: %v %v", res, err)
	}
	if _, err := c.Call(ctx, "gone", nil); !errors.As(err, &ce) || !strings.Contains(ce.Description, "gone") {
		t.Fatalf("removed handler: %v", err)
	}
	if _, err := c.Call(ctx, "panics", nil); !errors.As(err, &ce) {
		t.Fatalf("panicking handler: %v, want _error", err)
	}
	// The connection survived the panic, and a call with transaction id 0 gets no reply
	// (the next call's reply is the next thing that arrives).
	if err := c.CallNoReply("fallthrough", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Call(ctx, "add", nil, 1, 1); err != nil {
		t.Fatalf("after panic: %v", err)
	}
	if n := defaultCalls.Load(); n != 2 {
		t.Fatalf("default handler ran %d times, want 2 (one with id 0)", n)
	}
}

func TestUnknownProcedureWithoutHandlers(t *testing.T) {
	_, url := startServer(t, Config{}, newRecorder("r", true))
	c := dial(t, url+"/app", rtmpclient.Options{})
	_, err := c.Call(testCtx(t), "nothing", nil)
	var ce *rtmpclient.CallError
	if !errors.As(err, &ce) || !strings.Contains(ce.Description, "unknown procedure") {
		t.Fatalf("unknown procedure: %v", err)
	}
}

// streamEvents collects onStatus codes until want is seen.
func waitStatus(t *testing.T, c *rtmpclient.Client, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var seen []string
	for {
		e, err := c.ReadEvent(ctx)
		if err != nil {
			t.Fatalf("waiting for %s (saw %v): %v", want, seen, err)
		}
		if e.Status.Code != "" {
			seen = append(seen, e.Status.Code)
			if e.Status.Code == want {
				return
			}
		}
	}
}

func TestPlayPauseDeleteAndCloseOnClip(t *testing.T) {
	var streamsCreated, streamsRemoved atomic.Int32
	rec := newRecorder("r", true)
	app := &clipApp{t: t, clip: loadClip(t)}
	var paused atomic.Bool
	rec.setup = func(c *Conn) {
		c.RegisterStreamHandler(StreamHandlerFunc(func(s *Stream, created bool, cmd any) bool {
			if !created {
				streamsRemoved.Add(1)
				return true
			}
			streamsCreated.Add(1)
			if err := s.UseCodec("h264"); err != nil {
				t.Errorf("UseCodec: %v", err)
			}
			if err := s.UseCodec("vp9"); err == nil {
				t.Error("UseCodec(vp9) succeeded")
			}
			if err := s.SetProperty("render_rate", "0"); err == nil {
				t.Error("render_rate 0 accepted")
			}
			if err := s.SetProperty("render_rate", "25"); err != nil {
				t.Errorf("render_rate 25: %v", err)
			}
			if err := s.SetProperty("bogus", "1"); err == nil {
				t.Error("unknown reserved property accepted")
			}
			if err := s.SetProperty("user_x", "1"); err != nil {
				t.Errorf("user property: %v", err)
			}
			s.RegisterPauseHandler(PauseHandlerFunc(func(s *Stream, pause bool) bool {
				paused.Store(pause)
				return true
			}))
			s.RegisterRenderHandler(RenderHandlerFunc(func(s *Stream) error { app.renders.Add(1); return nil }))
			s.RegisterFrameHandler(FrameHandlerFunc(func(s *Stream, full bool) (*VideoData, error) {
				f, err := s.VideoEncoder().Encode(nil, s.Elapsed())
				return &VideoData{Frame: f}, err
			}))
			return true
		}))
	}
	cfg := Config{Codecs: app.codecs()}
	_, url := startServer(t, cfg, rec)
	c := dial(t, url+"/app/clip", rtmpclient.Options{})
	ctx := testCtx(t)
	id, err := c.CreateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Play(ctx, id, "clip"); err != nil {
		t.Fatal(err)
	}
	// The first video messages: the sequence header, then a keyframe.
	m, err := c.ReadVideo(ctx)
	if err != nil || m.AVCPacketType != rtmpclient.AVCSequenceHeader {
		t.Fatalf("first video message: %+v %v, want the sequence header", m, err)
	}
	m, err = c.ReadVideo(ctx)
	if err != nil || !m.Keyframe || m.AVCPacketType != rtmpclient.AVCNALU {
		t.Fatalf("second video message: keyframe %v type %d, %v; want an IDR", m.Keyframe, m.AVCPacketType, err)
	}
	if md := c.Metadata(); md == nil {
		t.Error("no onMetaData before the video")
	} else if w, _ := md.GetFloat64("width"); w != clipWidth {
		t.Errorf("onMetaData width %v", w)
	}

	if err := c.Pause(ctx, id, true, 0); err != nil {
		t.Fatalf("pause: %v", err)
	}
	if !paused.Load() {
		t.Fatal("pause handler not called")
	}
	rendersAtPause := app.renders.Load()
	time.Sleep(300 * time.Millisecond)
	if d := app.renders.Load() - rendersAtPause; d > 1 {
		t.Fatalf("%d renders while paused", d)
	}
	if err := c.Pause(ctx, id, false, 0); err != nil {
		t.Fatalf("resume: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for app.renders.Load() <= rendersAtPause+2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if app.renders.Load() <= rendersAtPause+2 {
		t.Fatal("render loop did not resume")
	}
	if err := c.DeleteStream(id); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for streamsRemoved.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if streamsCreated.Load() != 1 || streamsRemoved.Load() != 1 {
		t.Fatalf("stream handler: %d created, %d removed", streamsCreated.Load(), streamsRemoved.Load())
	}
	app.mu.Lock()
	closed := len(app.encoders) == 1 && app.encoders[0].isClosed()
	app.mu.Unlock()
	if !closed {
		t.Fatal("the stream's encoder was not closed on deleteStream")
	}
	c.Close()
	select {
	case <-rec.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("no created=false on close")
	}
}

func TestPlayBeforeCreateStreamAndStreamLimit(t *testing.T) {
	_, url := startServer(t, Config{MaxStreamsPerConn: 2}, newRecorder("r", true))
	c := dial(t, url+"/app", rtmpclient.Options{})
	ctx := testCtx(t)
	if err := c.Play(ctx, 7, "x"); err == nil {
		t.Fatal("play on a stream never created succeeded")
	}
	for i := range 2 {
		if _, err := c.CreateStream(ctx); err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
	}
	if _, err := c.CreateStream(ctx); err == nil {
		t.Fatal("a third stream was created past MaxStreamsPerConn=2")
	}
	if _, err := c.Call(ctx, "still.alive", nil); err == nil {
		t.Fatal("unknown call succeeded")
	}
}

func TestPlayHandlerErrors(t *testing.T) {
	rec := newRecorder("r", true)
	rec.setup = func(c *Conn) {
		c.RegisterStreamHandler(StreamHandlerFunc(func(s *Stream, created bool, cmd any) bool {
			s.RegisterPlayHandler(PlayHandlerFunc(func(s *Stream, play bool) (*VideoData, error) {
				if s.Name() == "missing" {
					return nil, fmt.Errorf("%w: no scene %q", ErrStreamNotFound, s.Name())
				}
				return nil, errors.New("refused")
			}))
			return true
		}))
	}
	_, url := startServer(t, Config{}, rec)
	c := dial(t, url+"/app", rtmpclient.Options{})
	ctx := testCtx(t)
	id, _ := c.CreateStream(ctx)
	var se *rtmpclient.StatusError
	if err := c.Play(ctx, id, "missing"); !errors.As(err, &se) || se.Code != "NetStream.Play.StreamNotFound" {
		t.Fatalf("missing: %v", err)
	}
	if err := c.Play(ctx, id, "other"); !errors.As(err, &se) || se.Code != "NetStream.Play.Failed" {
		t.Fatalf("refused: %v", err)
	}
}

func TestRenderErrorStopsStreamOnly(t *testing.T) {
	rec := newRecorder("r", true)
	rec.setup = func(c *Conn) {
		c.RegisterCallHandler(CallHandlerFunc(func(*Conn, string, any, []any) (any, error) { return "pong", nil }), "ping")
		c.RegisterStreamHandler(StreamHandlerFunc(func(s *Stream, created bool, cmd any) bool {
			n := 0
			s.RegisterRenderHandler(RenderHandlerFunc(func(s *Stream) error {
				n++
				if n == 3 {
					return errors.New("GL context lost")
				}
				return nil
			}))
			s.RegisterFrameHandler(FrameHandlerFunc(func(s *Stream, full bool) (*VideoData, error) {
				if s.Name() == "panic" {
					panic("frame handler bug")
				}
				return nil, nil
			}))
			return true
		}))
	}
	_, url := startServer(t, Config{}, rec)
	c := dial(t, url+"/app", rtmpclient.Options{})
	ctx := testCtx(t)
	id, _ := c.CreateStream(ctx)
	if err := c.Play(ctx, id, "x"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, "NetStream.Play.Failed")
	id2, _ := c.CreateStream(ctx)
	if err := c.Play(ctx, id2, "panic"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, "NetStream.Play.Failed")
	if res, err := c.Call(ctx, "ping", nil); err != nil || res != "pong" {
		t.Fatalf("connection after stream failures: %v %v", res, err)
	}
}

func TestSlowClientQueueFullAndOthersUnaffected(t *testing.T) {
	// Large raw frames (256 KiB at 30 fps, 7.5 MiB/s) fill a stalled client's socket buffers
	// within a second, so the server's own queue is what bounds memory.
	const frameSize = 256 << 10
	var full atomic.Int64
	var producedMu sync.Mutex
	produced := map[uint64]int{} // frames produced per connection
	rec := newRecorder("r", true)
	rec.setup = func(c *Conn) {
		c.RegisterStreamHandler(StreamHandlerFunc(func(s *Stream, created bool, cmd any) bool {
			s.RegisterFrameHandler(FrameHandlerFunc(func(s *Stream, queueFull bool) (*VideoData, error) {
				if queueFull {
					full.Add(1)
					return nil, nil
				}
				producedMu.Lock()
				produced[s.Conn().ID()]++
				producedMu.Unlock()
				return &VideoData{Raw: make([]byte, frameSize), Timestamp: s.Elapsed()}, nil
			}))
			return true
		}))
	}
	srv, url := startServer(t, Config{SendQueueFrames: 4}, rec)
	ctx := testCtx(t)
	// The stalled client: a media buffer of 1 and it never reads, so its socket fills.
	stalled := dial(t, url+"/app/big", rtmpclient.Options{MediaBuffer: 1})
	id, _ := stalled.CreateStream(ctx)
	if err := stalled.Play(ctx, id, "big"); err != nil {
		t.Fatal(err)
	}
	healthy := dial(t, url+"/app/big", rtmpclient.Options{})
	id2, _ := healthy.CreateStream(ctx)
	if err := healthy.Play(ctx, id2, "big"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	frames := 0
	for time.Since(start) < 3*time.Second {
		m, err := healthy.ReadVideo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Body) == frameSize {
			frames++
		}
	}
	elapsed := time.Since(start)
	if full.Load() == 0 {
		t.Fatal("the frame handler was never told the queue was full")
	}
	// The healthy viewer gets every frame its frame loop produced (none dropped, none held
	// behind the stalled client), and the loop keeps the frame rate: 30 nominal, >= 12 even
	// on a loaded CI machine with the race detector (a viewer blocked by the stalled one
	// would get next to nothing).
	producedMu.Lock()
	most := 0
	for _, n := range produced {
		most = max(most, n)
	}
	producedMu.Unlock()
	if frames < most-8 { // up to 4 queued, a few in flight
		t.Fatalf("healthy viewer received %d of the %d frames produced for it", frames, most)
	}
	if fps := float64(frames) / elapsed.Seconds(); fps < 12 {
		t.Fatalf("healthy viewer got %.1f fps while another stalled", fps)
	}
	var worst *ConnStats
	srv.mu.Lock()
	for c := range srv.conns {
		st := c.Stats()
		if worst == nil || st.FramesSent < worst.FramesSent {
			worst = &st
		}
	}
	srv.mu.Unlock()
	if worst.FramesSent > uint64(frames)/2 {
		t.Fatalf("no connection looks stalled: %v", worst)
	}
	if worst.QueueFrames > 4 || worst.QueueBytes > 4*frameSize {
		t.Fatalf("stalled queue beyond its bounds: %v", worst)
	}
	// Memory stays bounded: 3 s of unsent video would be ~22 MiB per second of stall if
	// the queue grew; the queue holds at most 4 frames (1 MiB).
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.HeapInuse > 256<<20 {
		t.Fatalf("heap in use %d MiB", ms.HeapInuse>>20)
	}
}

func TestShutdownWithLiveConnections(t *testing.T) {
	app := &clipApp{t: t, clip: loadClip(t)}
	srv, err := NewServer(Config{Codecs: app.codecs()})
	if err != nil {
		t.Fatal(err)
	}
	srv.Install(app)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	url := "rtmp://" + srv.ListenAddr().String() + "/app/clip"
	ctx := testCtx(t)
	var clients []*rtmpclient.Client
	for range 3 {
		c, err := rtmpclient.Dial(ctx, url, rtmpclient.Options{DropMedia: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		id, _ := c.CreateStream(ctx)
		if err := c.Play(ctx, id, "clip"); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	time.Sleep(200 * time.Millisecond)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := srv.Shutdown(sctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("shutdown took %v", d)
	}
	if srv.NumConns() != 0 {
		t.Fatalf("%d connections after shutdown", srv.NumConns())
	}
	if n := app.closed.Load(); n != 3 {
		t.Fatalf("connect handler told created=false %d times, want 3", n)
	}
	for _, c := range clients {
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("a client's connection is still open after shutdown")
		}
	}
	if err := srv.Start("127.0.0.1:0"); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Start after Shutdown: %v", err)
	}
	// goleak in TestMain checks that no goroutine is left.
}

func TestTwoServersShareNothing(t *testing.T) {
	a := newRecorder("a", true)
	b := newRecorder("b", false)
	srvA, urlA := startServer(t, Config{}, a)
	_, urlB := startServer(t, Config{}, b)
	dial(t, urlA+"/app", rtmpclient.Options{})
	if _, err := rtmpclient.Dial(testCtx(t), urlB+"/app", rtmpclient.Options{}); err == nil {
		t.Fatal("server B accepted: its only handler refuses")
	}
	if a.seenCount() != 1 || b.seenCount() != 1 {
		t.Fatalf("handlers asked a=%d b=%d times, want 1 each", a.seenCount(), b.seenCount())
	}
	if srvA.NumConns() != 1 {
		t.Fatalf("server A has %d connections", srvA.NumConns())
	}
	if err := srvA.Start("127.0.0.1:0"); !errors.Is(err, ErrServerStarted) {
		t.Fatalf("second Start: %v", err)
	}
	if _, err := NewServer(Config{ChunkSize: 10}); err == nil {
		t.Fatal("ChunkSize 10 accepted")
	}
}

func TestListenFailureReportedAtOnce(t *testing.T) {
	srv, _ := NewServer(Config{})
	if err := srv.Start("127.0.0.1:99999"); err == nil {
		t.Fatal("listening on port 99999 succeeded")
	}
}
