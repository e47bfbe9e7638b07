package rtmpsrv

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"

	"github.com/rendercast/rendercast/rtmpclient"
)

// rawConn is a hand-driven RTMP client for hostile-client tests: it writes exactly the bytes
// a test wants, and reads the server's messages with the package's own chunk reader.
type rawConn struct {
	t        *testing.T
	nc       net.Conn
	r        *chunkReader
	outChunk int
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { nc.Close() })
	lim := chunkLimits{maxMessage: 0xffffff, maxStreams: 1 << 16, maxBuffered: 64 << 20, maxChunkSize: 1 << 24}
	return &rawConn{t: t, nc: nc, r: newChunkReader(nc, lim, nil, nil), outChunk: defaultInChunkSize}
}

// write sends b; an error means the server closed the connection (or a test bug).
func (c *rawConn) write(b []byte) error {
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := c.nc.Write(b)
	return err
}

func (c *rawConn) mustWrite(b []byte) {
	c.t.Helper()
	if err := c.write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// c0c1 is a plain handshake's first packet.
func c0c1() []byte {
	b := make([]byte, 1+handshakeSize)
	b[0] = rtmpVersion
	rand.Read(b[9:])
	return b
}

// handshake performs a plain client handshake.
func (c *rawConn) handshake() {
	c.t.Helper()
	c.mustWrite(c0c1())
	s := make([]byte, 1+2*handshakeSize)
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c.nc, s); err != nil {
		c.t.Fatalf("reading S0+S1+S2: %v", err)
	}
	c.mustWrite(s[1 : 1+handshakeSize])
}

// send writes one message split at the client's chunk size.
func (c *rawConn) send(csid uint32, typ uint8, msid uint32, body []byte) error {
	return c.write(chunked(csid, 0, typ, msid, body, c.outChunk))
}

func commandBody(t testing.TB, name string, txid float64, values ...any) []byte {
	t.Helper()
	return mustMarshal(t, append([]any{name, txid}, values...)...)
}

// command sends an AMF0 command on message stream msid.
func (c *rawConn) command(msid uint32, name string, txid float64, values ...any) error {
	return c.send(3, msgCommandAMF0, msid, commandBody(c.t, name, txid, values...))
}

func (c *rawConn) mustCommand(msid uint32, name string, txid float64, values ...any) {
	c.t.Helper()
	if err := c.command(msid, name, txid, values...); err != nil {
		c.t.Fatalf("sending %s: %v", name, err)
	}
}

func connectObject(addr string) amf0.Object {
	return amf0.Object{{Key: "app", Value: "app"}, {Key: "tcUrl", Value: "rtmp://" + addr + "/app"},
		{Key: "flashVer", Value: "LNX 9,0,124,2"}, {Key: "objectEncoding", Value: 0.0}}
}

// connect performs the handshake and a successful connect.
func (c *rawConn) connect() {
	c.t.Helper()
	c.handshake()
	c.mustCommand(0, "connect", 1, connectObject(c.nc.RemoteAddr().String()))
	if name, _ := c.reply(1); name != "_result" {
		c.t.Fatalf("connect: %s", name)
	}
}

// next reads the server's next message, applying its Set Chunk Size.
func (c *rawConn) next(timeout time.Duration) (*message, error) {
	c.nc.SetReadDeadline(time.Now().Add(timeout))
	m, err := c.r.read()
	if err != nil {
		return nil, err
	}
	if m.typ == msgSetChunkSize && len(m.body) >= 4 {
		c.r.setChunkSize(binary.BigEndian.Uint32(m.body) & 0x7fffffff)
	}
	return m, nil
}

// reply waits for the _result or _error of transaction txid and returns its name and the
// value it carries (the info object of an _error).
func (c *rawConn) reply(txid float64) (string, any) {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		m, err := c.next(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("waiting for the reply to transaction %v: %v", txid, err)
		}
		if m.typ != msgCommandAMF0 {
			continue
		}
		name, id, _, args, err := decodeCommand(m.body, false)
		if err != nil || id != txid || name != "_result" && name != "_error" {
			continue
		}
		var v any
		if len(args) > 0 {
			v = args[0]
		}
		return name, v
	}
	c.t.Fatalf("no reply to transaction %v", txid)
	return "", nil
}

// replyCode returns the code of an _error's info object.
func replyCode(v any) string {
	obj, _ := v.(amf0.Object)
	code, _ := obj.GetString("code")
	return code
}

func replyDescription(v any) string {
	obj, _ := v.(amf0.Object)
	d, _ := obj.GetString("description")
	return d
}

// status waits for an onStatus with one of codes on any stream and returns its code.
func (c *rawConn) status(codes ...string) string {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var seen []string
	for time.Now().Before(deadline) {
		m, err := c.next(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("waiting for %v (saw %v): %v", codes, seen, err)
		}
		if m.typ != msgCommandAMF0 {
			continue
		}
		name, _, _, args, err := decodeCommand(m.body, false)
		if err != nil || name != "onStatus" || len(args) == 0 {
			continue
		}
		code := replyCode(args[0])
		seen = append(seen, code)
		for _, want := range codes {
			if code == want {
				return code
			}
		}
	}
	c.t.Fatalf("no onStatus %v (saw %v)", codes, seen)
	return ""
}

// createAndPlay creates a stream and plays name on it.
func (c *rawConn) createAndPlay(txid float64, name string) uint32 {
	c.t.Helper()
	c.mustCommand(0, "createStream", txid, nil)
	res, v := c.reply(txid)
	id, ok := v.(float64)
	if res != "_result" || !ok {
		c.t.Fatalf("createStream: %s %v", res, v)
	}
	if err := c.send(8, msgCommandAMF0, uint32(id), commandBody(c.t, "play", 0, nil, name)); err != nil {
		c.t.Fatal(err)
	}
	c.status(codePlayStart)
	return uint32(id)
}

// call sends a call and returns the reply's name and value.
func (c *rawConn) call(txid float64, name string, args ...any) (string, any) {
	c.t.Helper()
	c.mustCommand(0, name, txid, append([]any{nil}, args...)...)
	return c.reply(txid)
}

// requireClosed reads (and discards) until the server closes the connection; it fails if
// the connection is still open after within.
func (c *rawConn) requireClosed(within time.Duration) time.Duration {
	c.t.Helper()
	start := time.Now()
	deadline := start.Add(within)
	buf := make([]byte, 64<<10)
	total := 0
	for {
		c.nc.SetReadDeadline(deadline)
		n, err := c.nc.Read(buf)
		total += n
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.t.Fatalf("the server kept the connection open for %v (%d bytes read meanwhile)", within, total)
		}
		return time.Since(start)
	}
}

// requireOpen checks that the connection still works: a call to an unknown procedure gets
// its _error.
func (c *rawConn) requireOpen(txid float64) {
	c.t.Helper()
	if name, v := c.call(txid, "still.there"); name != "_error" || replyCode(v) != codeCallFailed {
		c.t.Fatalf("call after the hostile input: %s %v", name, v)
	}
}

// requireFreshViewer plays the clip on a new connection and requires at least 20 of the 30
// frames a second over about a second: whatever a test did, newcomers get full service. (20
// leaves room for a loaded machine and still catches a server held up by the test's client.)
func requireFreshViewer(t *testing.T, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := rtmpclient.Dial(ctx, "rtmp://"+addr+"/app/clip", rtmpclient.Options{})
	if err != nil {
		t.Fatalf("fresh viewer: dial: %v", err)
	}
	defer c.Close()
	id, err := c.CreateStream(ctx)
	if err != nil {
		t.Fatalf("fresh viewer: createStream: %v", err)
	}
	if err := c.Play(ctx, id, "clip"); err != nil {
		t.Fatalf("fresh viewer: play: %v", err)
	}
	for {
		m, err := c.ReadVideo(ctx)
		if err != nil {
			t.Fatalf("fresh viewer: %v", err)
		}
		if m.AVCPacketType == rtmpclient.AVCNALU && m.Keyframe {
			break
		}
	}
	start := time.Now()
	frames := 0
	for time.Since(start) < time.Second {
		m, err := c.ReadVideo(ctx)
		if err != nil {
			t.Fatalf("fresh viewer after %d frames: %v", frames, err)
		}
		if m.AVCPacketType == rtmpclient.AVCNALU {
			frames++
		}
	}
	if fps := float64(frames) / time.Since(start).Seconds(); fps < 20 {
		t.Fatalf("fresh viewer got %.1f fps, want >= 20 of 30", fps)
	}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// heapInUse returns the heap in use after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// hostileApp is the clip app with fault injection chosen by the stream name:
//
//	clip          the clip at 30 fps
//	big           256 KiB raw frames at 30 fps (fills a stalled client's socket quickly)
//	render-error  the render handler fails on its third call
//	render-panic  the render handler panics on its third call
//	frame-error   the frame handler fails on its third call
//	frame-panic   the frame handler panics on its third call
//	play-panic    the play handler panics
//
// and by the app: "noenc" makes the codec factory fail. It answers the call "ping" with
// "pong" and panics in "panic".
type hostileApp struct {
	clip *testClip

	encoders, encodersClosed atomic.Int64
	streamsCreated           atomic.Int64
	streamsRemoved           atomic.Int64
	playStops                atomic.Int64
	connsClosed              atomic.Int64
	full                     atomic.Int64
}

const bigFrame = 256 << 10

func (a *hostileApp) codecs() CodecFactory {
	return CodecFactoryFunc(func(codec string, s *Stream) (VideoEncoder, error) {
		if s.Conn().App() == "noenc" {
			return nil, errors.New("no encoder today (injected)")
		}
		a.encoders.Add(1)
		return &countingEncoder{clipEncoder: newClipEncoder(a.clip), closed: &a.encodersClosed}, nil
	})
}

type countingEncoder struct {
	*clipEncoder
	closed *atomic.Int64
}

func (e *countingEncoder) Close() error {
	e.closed.Add(1)
	return e.clipEncoder.Close()
}

func (a *hostileApp) HandleConnect(c *Conn, created bool, cmd Object, args []any) bool {
	if !created {
		a.connsClosed.Add(1)
		return true
	}
	c.RegisterCallHandler(CallHandlerFunc(func(*Conn, string, any, []any) (any, error) { return "pong", nil }), "ping")
	c.RegisterCallHandler(CallHandlerFunc(func(*Conn, string, any, []any) (any, error) { panic("call handler bug (injected)") }), "panic")
	c.RegisterStreamHandler(StreamHandlerFunc(a.handleStream))
	return true
}

func (a *hostileApp) handleStream(s *Stream, created bool, cmd any) bool {
	if !created {
		a.streamsRemoved.Add(1)
		return true
	}
	if err := s.UseCodec("h264"); err != nil {
		return false
	}
	a.streamsCreated.Add(1)
	var renders, frames atomic.Int64
	s.RegisterPlayHandler(PlayHandlerFunc(func(s *Stream, play bool) (*VideoData, error) {
		if !play {
			a.playStops.Add(1)
			return nil, nil
		}
		if s.Name() == "play-panic" {
			panic("play handler bug (injected)")
		}
		renders.Store(0)
		frames.Store(0)
		return nil, nil
	}))
	s.RegisterRenderHandler(RenderHandlerFunc(func(s *Stream) error {
		if renders.Add(1) == 3 {
			switch s.Name() {
			case "render-error":
				return errors.New("GL context lost (injected)")
			case "render-panic":
				panic("renderer bug (injected)")
			}
		}
		return nil
	}))
	s.RegisterFrameHandler(FrameHandlerFunc(func(s *Stream, queueFull bool) (*VideoData, error) {
		if frames.Add(1) == 3 {
			switch s.Name() {
			case "frame-error":
				return nil, errors.New("encoder failed (injected)")
			case "frame-panic":
				panic("encoder bug (injected)")
			}
		}
		if queueFull {
			a.full.Add(1)
			return nil, nil
		}
		if s.Name() == "big" {
			return &VideoData{Raw: make([]byte, bigFrame), Timestamp: s.Elapsed()}, nil
		}
		f, err := s.VideoEncoder().Encode(nil, s.Elapsed())
		if err != nil {
			return nil, err
		}
		return &VideoData{Frame: f}, nil
	}))
	return true
}

// startHostileServer starts a server running hostileApp on loopback.
func startHostileServer(t *testing.T, cfg Config) (*Server, *hostileApp, string) {
	t.Helper()
	app := &hostileApp{clip: loadClip(t)}
	cfg.Codecs = app.codecs()
	srv := startAppServer(t, cfg, app, 10*time.Second)
	return srv, app, srv.ListenAddr().String()
}

// hostileConfig has short timeouts so that tests of them stay quick.
func hostileConfig() Config {
	return Config{HandshakeTimeout: 500 * time.Millisecond, IdleTimeout: time.Second, WriteTimeout: 2 * time.Second}
}
