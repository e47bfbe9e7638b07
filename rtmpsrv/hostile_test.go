package rtmpsrv

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"

	"github.com/rendercast/rendercast/rtmpclient"
)

// Hostile clients: each test attacks a server running hostileApp, checks that the attacking
// connection is closed or answered as documented, and ends by requiring that a fresh viewer
// still gets full frame rate. Timeouts are shortened in the configuration; every wait on the
// wall clock is loose enough for a loaded 2-core machine. Most tests run in parallel (they
// mostly wait on timeouts); those that measure process-wide goroutines or heap do not.

func TestHostileHandshakeStalls(t *testing.T) {
	t.Parallel()
	srv, _, addr := startHostileServer(t, hostileConfig())
	const bound = 5 * time.Second // HandshakeTimeout is 0.5 s; a stalled connection must go well before this

	t.Run("silent", func(t *testing.T) {
		dialRaw(t, addr).requireClosed(bound)
	})
	t.Run("half C1", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.mustWrite(c0c1()[:700])
		c.requireClosed(bound)
	})
	t.Run("no C2", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.mustWrite(c0c1())
		c.requireClosed(bound)
	})
	t.Run("byte at a time", func(t *testing.T) {
		// 1537 bytes, one every 5 ms, would take 7.7 s: the handshake deadline is absolute,
		// so trickling bytes does not extend it.
		c := dialRaw(t, addr)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for _, b := range c0c1() {
				if c.write([]byte{b}) != nil {
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
		if d := c.requireClosed(bound); d > bound {
			t.Fatalf("closed after %v", d)
		}
		c.nc.Close()
		<-done
	})
	t.Run("handshake then nothing", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.handshake()
		c.requireClosed(bound)
	})
	t.Run("connect trickled", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.handshake()
		msg := chunked(3, 0, msgCommandAMF0, 0, commandBody(t, "connect", 1, connectObject(addr)), 128)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for _, b := range msg {
				if c.write([]byte{b}) != nil {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
		c.requireClosed(bound)
		c.nc.Close()
		<-done
	})
	waitFor(t, 5*time.Second, "stalled connections to close", func() bool { return srv.NumConns() == 0 })
	requireFreshViewer(t, addr)
}

// Half-open connections hold a slot for at most HandshakeTimeout and do not hold up others.
func TestHostileHalfOpenConnectionsDoNotBlockOthers(t *testing.T) {
	t.Parallel()
	srv, _, addr := startHostileServer(t, Config{}) // default 5 s handshake timeout
	for range 50 {
		c := dialRaw(t, addr)
		c.mustWrite([]byte{rtmpVersion})
	}
	waitFor(t, 5*time.Second, "50 half-open connections", func() bool { return srv.NumConns() >= 50 })
	requireFreshViewer(t, addr)
}

func TestHostileGarbage(t *testing.T) {
	t.Parallel()
	srv, _, addr := startHostileServer(t, hostileConfig())
	rng := rand.New(rand.NewPCG(3, 4))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	t.Run("HTTP request", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.mustWrite([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		if d := c.requireClosed(5 * time.Second); d > 2*time.Second {
			t.Fatalf("a wrong version byte took %v to close", d)
		}
	})
	t.Run("RTMPE version", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.write(append([]byte{6}, random(handshakeSize)...))
		c.requireClosed(5 * time.Second)
	})
	for _, after := range []struct {
		name  string
		reach func(c *rawConn)
	}{
		{"random after the handshake", (*rawConn).handshake},
		{"random after connect", (*rawConn).connect},
	} {
		t.Run(after.name, func(t *testing.T) {
			for range 10 {
				c := dialRaw(t, addr)
				after.reach(c)
				c.write(random(4096))
				// Either a protocol error closes it at once, or (after connect) the garbage
				// parsed as the start of a message that never completes: then the idle
				// timeout (1 s) closes it.
				c.requireClosed(5 * time.Second)
			}
		})
	}
	t.Run("random chunk bodies keep framing", func(t *testing.T) {
		// Garbage inside well-framed messages of unknown types is skipped.
		c := dialRaw(t, addr)
		c.connect()
		for i := range 50 {
			c.send(uint32(4+i%10), uint8(100+i), 1, random(rng.IntN(3000)))
		}
		c.requireOpen(10)
	})
	waitFor(t, 5*time.Second, "garbage connections to close", func() bool { return srv.NumConns() == 0 })
	requireFreshViewer(t, addr)
}

func TestHostileChunkSizes(t *testing.T) {
	t.Parallel()
	srv, _, addr := startHostileServer(t, hostileConfig())
	setChunkSize := func(v uint32) []byte {
		return append(hdr0(2, 0, 4, msgSetChunkSize, 0), binary.BigEndian.AppendUint32(nil, v)...)
	}
	for _, v := range []uint32{0, 0x80000000, 65537, 0x7fffffff} {
		c := dialRaw(t, addr)
		c.connect()
		c.mustWrite(setChunkSize(v))
		c.requireClosed(5 * time.Second)
	}
	for _, v := range []uint32{1, 2, 65536} {
		c := dialRaw(t, addr)
		c.handshake()
		c.mustWrite(setChunkSize(v))
		c.outChunk = int(v)
		c.mustCommand(0, "connect", 1, connectObject(addr))
		if name, _ := c.reply(1); name != "_result" {
			t.Fatalf("chunk size %d: connect %s", v, name)
		}
		if name, res := c.call(2, "ping"); name != "_result" || res != "pong" {
			t.Fatalf("chunk size %d: ping: %s %v", v, name, res)
		}
		c.createAndPlay(3, "clip")
		for n := 0; n < 5; {
			m, err := c.next(10 * time.Second)
			if err != nil {
				t.Fatalf("chunk size %d: %v", v, err)
			}
			if m.typ == msgVideo {
				n++
			}
		}
	}
	waitFor(t, 5*time.Second, "refused connections to close", func() bool { return srv.NumConns() <= 3 })
	requireFreshViewer(t, addr)
}

func TestHostileMessageLength(t *testing.T) {
	t.Parallel()
	cfg := hostileConfig()
	cfg.MaxMessageSize = 4096
	cfg.MaxChunkStreams = 16
	srv, _, addr := startHostileServer(t, cfg)

	t.Run("exactly the limit is served", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.connect()
		body := commandBody(t, "ping", 2, nil)
		pad := 4096 - len(body) - 3
		body = append(body, amfString, byte(pad>>8), byte(pad))
		body = append(body, bytes.Repeat([]byte{'x'}, pad)...)
		if len(body) != 4096 {
			t.Fatalf("test body is %d bytes", len(body))
		}
		c.send(3, msgCommandAMF0, 0, body)
		if name, v := c.reply(2); name != "_result" || v != "pong" {
			t.Fatalf("a 4096-byte call: %s %v", name, v)
		}
	})
	for _, length := range []uint32{4097, 1 << 20, 0xffffff} {
		c := dialRaw(t, addr)
		c.connect()
		// Only the header: the server must refuse it from the length alone.
		c.mustWrite(hdr0(3, 0, length, msgCommandAMF0, 0))
		if d := c.requireClosed(5 * time.Second); d > 2*time.Second {
			t.Fatalf("length %d: closed after %v, want at once", length, d)
		}
	}
	t.Run("unfinished messages on many chunk streams", func(t *testing.T) {
		// Each declares 4000 bytes and sends 100: MaxReadBuffer (16 KiB) ends it at the
		// fifth, before 5 x 4000 bytes could be held.
		c := dialRaw(t, addr)
		c.connect()
		for cs := uint32(10); cs < 20; cs++ {
			if c.write(append(hdr0(cs, 0, 4000, msgCommandAMF0, 0), make([]byte, 100)...)) != nil {
				break
			}
		}
		c.requireClosed(5 * time.Second)
	})
	t.Run("too many chunk streams", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.connect()
		for cs := uint32(100); cs < 200; cs++ {
			if c.write(hdr0(cs, 0, 0, 99, 0)) != nil {
				break
			}
		}
		c.requireClosed(5 * time.Second)
	})
	waitFor(t, 5*time.Second, "oversized connections to close", func() bool { return srv.NumConns() <= 1 })
	requireFreshViewer(t, addr)
}

func TestHostileTimestamps(t *testing.T) {
	t.Parallel()
	_, _, addr := startHostileServer(t, hostileConfig())
	c := dialRaw(t, addr)
	c.connect()
	c.mustWrite(append(hdr0(2, 0, 4, msgSetChunkSize, 0), 0, 0, 0, 16)) // calls span several chunks
	c.outChunk = 16
	body := func(txid float64) []byte { return commandBody(t, "ping", txid, nil) }
	ext := func(v uint32) *uint32 { return &v }
	split := func(b []byte, ext *uint32) []byte { // the continuation chunks of a message
		var out []byte
		for i := 16; i < len(b); i += 16 {
			out = append(out, hdr3(5, ext)...)
			out = append(out, b[i:min(i+16, len(b))]...)
		}
		return out
	}
	type step struct {
		name string
		wire func(b []byte) []byte
	}
	steps := []step{
		{"type 0 at the largest timestamp", func(b []byte) []byte {
			return append(append(hdr0(5, 0xffffffff, uint32(len(b)), msgCommandAMF0, 0), b[:16]...), split(b, ext(0xffffffff))...)
		}},
		{"type 1 wrapping past 2^32", func(b []byte) []byte {
			return append(append(hdr1(5, 10, uint32(len(b)), msgCommandAMF0), b[:16]...), split(b, nil)...)
		}},
		{"type 2 with an extended delta", func(b []byte) []byte {
			return append(append(hdr2(5, 0x01000000), b[:16]...), split(b, ext(0x01000000))...)
		}},
		{"type 3 starting a message, extended delta repeated", func(b []byte) []byte {
			return append(append(hdr3(5, ext(0x01000000)), b[:16]...), split(b, ext(0x01000000))...)
		}},
		{"type 0 at exactly 0xffffff", func(b []byte) []byte {
			return append(append(hdr0(5, 0xffffff, uint32(len(b)), msgCommandAMF0, 0), b[:16]...), split(b, ext(0xffffff))...)
		}},
		{"type 0 just below the extended range", func(b []byte) []byte {
			return append(append(hdr0(5, 0xfffffe, uint32(len(b)), msgCommandAMF0, 0), b[:16]...), split(b, nil)...)
		}},
	}
	for i, s := range steps {
		txid := float64(10 + i)
		c.mustWrite(s.wire(body(txid)))
		if name, v := c.reply(txid); name != "_result" || v != "pong" {
			t.Fatalf("%s: %s %v", s.name, name, v)
		}
	}
	requireFreshViewer(t, addr)
}

func TestHostileUnknownMessageTypes(t *testing.T) {
	t.Parallel()
	srv, _, addr := startHostileServer(t, hostileConfig())
	c := dialRaw(t, addr)
	c.connect()
	for _, typ := range []uint8{0, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 21, 22, 23, 0x7f, 0xff} {
		for _, body := range [][]byte{nil, {0}, {0xff, 0xff, 0xff, 0xff}, bytes.Repeat([]byte{0xaa}, 300)} {
			if err := c.send(6, typ, 1, body); err != nil {
				t.Fatalf("type %d: %v", typ, err)
			}
		}
	}
	// Control messages with odd values: short bodies, a zero window, unknown user control
	// events, pings, an abort of a chunk stream never used.
	for _, m := range []struct {
		typ  uint8
		body []byte
	}{
		{msgAbort, nil}, {msgAbort, []byte{0, 0, 0, 99}}, {msgAck, nil}, {msgAck, []byte{1, 2, 3, 4}},
		{msgWindowAckSize, []byte{0, 0, 0, 0}}, {msgSetPeerBandwidth, []byte{0, 0, 0, 1, 9}},
		{msgUserControl, nil}, {msgUserControl, []byte{0x12, 0x34, 0, 0, 0, 0}}, {msgUserControl, []byte{0, ucPingRequest, 1, 2, 3, 4}},
	} {
		if err := c.send(2, m.typ, 0, m.body); err != nil {
			t.Fatal(err)
		}
	}
	c.requireOpen(20)
	if srv.NumConns() != 1 {
		t.Fatalf("%d connections", srv.NumConns())
	}
	requireFreshViewer(t, addr)
}

func TestHostileAMF(t *testing.T) {
	t.Parallel()
	_, _, addr := startHostileServer(t, hostileConfig())
	c := dialRaw(t, addr)
	c.connect()
	prefix := func(name string, txid float64) []byte { return commandBody(t, name, txid, nil) }
	withTail := func(txid float64, tail ...byte) []byte { return append(prefix("ping", txid), tail...) }
	long := append([]byte{amfString, 0x7f, 0xff}, bytes.Repeat([]byte{'a'}, 0x7fff)...)

	// Decodable name and transaction id, bad values after them: _error, the call is not run.
	for i, body := range [][]byte{
		withTail(2, amfAVMPlus, 0x06, 0x05, 'h'),                                      // AMF3 string shorter than announced
		withTail(3, amfObject, 0, 1, 'a', amfAVMPlus, 0x04, 0xff, 0, 0, amfObjectEnd), // truncated AMF3 integer inside an object
		withTail(4, nestedObjects(5000)...),                                           // far deeper than MaxAMFDepth
		withTail(5, nestedArrays(2000)...),
		withTail(6, long...),                                                     // a string above MaxAMFString
		withTail(7, 0x07, 0, 1),                                                  // an AMF0 reference out of range
		withTail(8, amfStrictArray, 0xff, 0xff, 0xff, 0xff),                      // a count the bytes cannot hold
		withTail(9, amfAVMPlus, 0x06, 0x00),                                      // AMF3 string reference out of range
		withTail(10, amfAVMPlus, 0x0a, 0x00),                                     // AMF3 object reference out of range
		withTail(11, amfAVMPlus, 0x0a, 0x05),                                     // AMF3 traits reference out of range
		withTail(12, amfAVMPlus, 0x0a, 0xff, 0xff, 0xff, 0xf3, 0x01),             // 33 million sealed members
		withTail(13, append([]byte{amfAVMPlus}, nestedArrays3(5000)...)...),      // AMF3 recursion
		withTail(14, amfAVMPlus, 0x0c, 0xff, 0xff, 0xff, 0xff, 0x01),             // 256 MiB ByteArray
		withTail(15, amfAVMPlus, 0x0a, 0x07, 0x0d, 'S', 'e', 'c', 'r', 'e', 't'), // unknown externalizable class
	} {
		txid := float64(i + 2)
		if err := c.send(3, msgCommandAMF0, 0, body); err != nil {
			t.Fatal(err)
		}
		if name, v := c.reply(txid); name != "_error" || !strings.Contains(replyDescription(v), "malformed") {
			t.Fatalf("transaction %v: %s %v, want a malformed-command _error", txid, name, v)
		}
	}
	// Undecodable name or transaction id: ignored (there is no one to answer).
	for _, m := range []struct {
		typ  uint8
		body []byte
	}{
		{msgCommandAMF3, commandBody(t, "ping", 50, nil)}, // type 17 without its zero byte
		{msgCommandAMF3, nil},
		{msgCommandAMF0, nil},
		{msgCommandAMF0, mustMarshal(t, 1.0, 2.0)},                                  // name not a string
		{msgCommandAMF0, mustMarshal(t, "ping", "x")},                               // id not a number
		{msgCommandAMF0, mustMarshal(t, "ping", math.NaN())},                        // NaN id
		{msgCommandAMF0, append([]byte{amfAVMPlus}, commandBody(t, "ping", 51)...)}, // AMF3 name
		{msgCommandAMF0, []byte{amfString, 0xff, 0xff, 'x'}},
	} {
		if err := c.send(3, m.typ, 0, m.body); err != nil {
			t.Fatal(err)
		}
	}
	// A well-formed AMF3-wrapped call (type 17, zero byte, AMF0) is answered.
	if err := c.send(3, msgCommandAMF3, 0, append([]byte{0}, commandBody(t, "ping", 60, nil)...)); err != nil {
		t.Fatal(err)
	}
	if name, v := c.reply(60); name != "_result" || v != "pong" {
		t.Fatalf("AMF3-wrapped ping: %s %v", name, v)
	}
	c.requireOpen(61)
	requireFreshViewer(t, addr)
}

func TestHostileCommandsBeforeConnect(t *testing.T) {
	t.Parallel()
	_, _, addr := startHostileServer(t, hostileConfig())
	c := dialRaw(t, addr)
	c.handshake()
	for i, name := range []string{"ping", "createStream", "deleteStream", "releaseStream", "getStreamLength"} {
		txid := float64(i + 2)
		c.mustCommand(0, name, txid, nil, 1.0)
		if res, v := c.reply(txid); res != "_error" || !strings.Contains(replyDescription(v), "connect first") {
			t.Fatalf("%s before connect: %s %v", name, res, v)
		}
	}
	c.mustCommand(1, "play", 10, nil, "clip") // on a stream that cannot exist yet
	if res, _ := c.reply(10); res != "_error" {
		t.Fatalf("play before connect: %s", res)
	}
	c.mustCommand(0, "connect", 20, connectObject(addr))
	if res, _ := c.reply(20); res != "_result" {
		t.Fatalf("connect after the refusals: %s", res)
	}
	c.mustCommand(0, "connect", 21, connectObject(addr))
	if res, _ := c.reply(21); res != "_error" {
		t.Fatalf("second connect: %s", res)
	}
	if res, v := c.call(22, "ping"); res != "_result" || v != "pong" {
		t.Fatalf("ping after connect: %s %v", res, v)
	}
	requireFreshViewer(t, addr)
}

func TestHostilePlayBeforeCreateStream(t *testing.T) {
	t.Parallel()
	_, app, addr := startHostileServer(t, hostileConfig())
	c := dialRaw(t, addr)
	c.connect()
	for i, msid := range []uint32{0, 1, 7, 0xffffffff} {
		for j, name := range []string{"play", "pause", "publish"} {
			txid := float64(10 + 3*i + j)
			if err := c.send(8, msgCommandAMF0, msid, commandBody(t, name, txid, nil, "clip")); err != nil {
				t.Fatal(err)
			}
			if res, _ := c.reply(txid); res != "_error" {
				t.Fatalf("%s on stream %d that was never created: %s", name, msid, res)
			}
		}
		// closeStream, and deleteStream of odd ids: nothing to answer, nothing to break.
		c.send(8, msgCommandAMF0, msid, commandBody(t, "closeStream", 0, nil))
	}
	for _, id := range []float64{math.NaN(), -1, 0, 1, 4294967296, 1e300, math.Inf(1)} {
		c.mustCommand(0, "deleteStream", 0, nil, id)
	}
	if app.streamsCreated.Load() != 0 {
		t.Fatalf("%d streams created", app.streamsCreated.Load())
	}
	c.requireOpen(50)
	id := c.createAndPlay(51, "clip")
	if id != 1 {
		t.Fatalf("first stream id %d", id)
	}
	requireFreshViewer(t, addr)
}

func TestHostileCreateStreamFlood(t *testing.T) {
	t.Parallel()
	cfg := hostileConfig()
	cfg.IdleTimeout = time.Minute // the test rests for a second between commands
	srv, app, addr := startHostileServer(t, cfg)
	c := dialRaw(t, addr)
	c.connect()
	const n = 500
	var wire []byte
	for i := range n {
		wire = append(wire, chunked(3, 0, msgCommandAMF0, 0, commandBody(t, "createStream", float64(10+i), nil), 128)...)
	}
	c.mustWrite(wire)
	results, limited := 0, 0
	for i := range n {
		res, v := c.reply(float64(10 + i))
		if res == "_result" {
			results++
		} else if strings.Contains(replyDescription(v), "too many commands") {
			limited++
		}
	}
	maxStreams := srv.Config().MaxStreamsPerConn
	if results != maxStreams {
		t.Fatalf("%d of %d createStreams succeeded, want MaxStreamsPerConn = %d", results, n, maxStreams)
	}
	if limited == 0 {
		t.Fatal("no createStream was refused by the call rate limit")
	}
	if got := app.encoders.Load(); got != int64(maxStreams) {
		t.Fatalf("%d encoders opened for %d streams", got, maxStreams)
	}
	// After a second of rest (the flood used up the rate limit: commands now would be
	// refused) delete them all: every encoder is closed, and the connection may create
	// streams again.
	time.Sleep(1100 * time.Millisecond)
	for id := 1; id <= maxStreams; id++ {
		c.mustCommand(0, "deleteStream", 0, nil, float64(id))
	}
	waitFor(t, 5*time.Second, "encoders to close", func() bool { return app.encodersClosed.Load() == int64(maxStreams) })
	c.createAndPlay(1000, "clip")
	requireFreshViewer(t, addr)
}

func TestHostileConnectCycles(t *testing.T) {
	srv, app, addr := startHostileServer(t, Config{})
	url := "rtmp://" + addr + "/app/clip"
	cycle := func(play bool) error {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, err := rtmpclient.Dial(ctx, url, rtmpclient.Options{})
		if err != nil {
			return err
		}
		defer c.Close()
		if play {
			id, err := c.CreateStream(ctx)
			if err != nil {
				return err
			}
			if err := c.Play(ctx, id, "clip"); err != nil {
				return err
			}
			if _, err := c.ReadVideo(ctx); err != nil {
				return err
			}
		}
		return nil
	}
	// Warm up (the clip, first-use allocations), then take the baseline.
	for range 20 {
		if err := cycle(true); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "warm-up connections to close", func() bool { return srv.NumConns() == 0 })
	baseGoroutines := runtime.NumGoroutine()
	baseHeap := heapInUse()
	closedBefore := app.connsClosed.Load()

	const cycles, workers = 1000, 4
	var next atomic.Int64
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > cycles {
					return
				}
				if err := cycle(i%20 == 0); err != nil { // every 20th plays: streams and encoders too
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("cycle: %v", err)
	}
	waitFor(t, 10*time.Second, "every connection to close", func() bool { return srv.NumConns() == 0 })
	waitFor(t, 10*time.Second, "the connect handler to see every close", func() bool {
		return app.connsClosed.Load()-closedBefore == cycles
	})
	if st := srv.Stats(); st.ConnectionsAccepted < uint64(cycles) {
		t.Fatalf("accepted %v connections", st.ConnectionsAccepted)
	}
	if created, removed := app.streamsCreated.Load(), app.streamsRemoved.Load(); created != removed {
		t.Fatalf("%d streams created, %d removed", created, removed)
	}
	if opened, closed := app.encoders.Load(), app.encodersClosed.Load(); opened != closed {
		t.Fatalf("%d encoders opened, %d closed", opened, closed)
	}
	// Goroutines and heap back to the baseline (a little slack for runtime and timers).
	waitFor(t, 10*time.Second, "goroutines to return to the baseline", func() bool {
		return runtime.NumGoroutine() <= baseGoroutines+3
	})
	if h := heapInUse(); h > baseHeap+16<<20 {
		t.Fatalf("heap in use %d MiB after 1000 cycles, baseline %d MiB", h>>20, baseHeap>>20)
	}
	requireFreshViewer(t, addr)
}

func TestHostileClientVanishesMidFrame(t *testing.T) {
	srv, app, addr := startHostileServer(t, hostileConfig())
	baseGoroutines := runtime.NumGoroutine()
	for i := range 10 {
		c := dialRaw(t, addr)
		c.connect()
		c.createAndPlay(2, "big")
		// Read part of a 256 KiB frame, then reset the connection (no FIN, unread data).
		c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.nc.Read(make([]byte, 1000+i*777)); err != nil {
			t.Fatal(err)
		}
		c.nc.(*net.TCPConn).SetLinger(0)
		c.nc.Close()
	}
	for range 10 {
		// Half a command, then gone.
		c := dialRaw(t, addr)
		c.connect()
		c.mustWrite(hdr0(3, 0, 500, msgCommandAMF0, 0))
		c.mustWrite(make([]byte, 60))
		c.nc.(*net.TCPConn).SetLinger(0)
		c.nc.Close()
	}
	waitFor(t, 10*time.Second, "vanished clients' connections to close", func() bool { return srv.NumConns() == 0 })
	if created, removed := app.streamsCreated.Load(), app.streamsRemoved.Load(); created != 10 || removed != 10 {
		t.Fatalf("streams created %d, removed %d; want 10 and 10", created, removed)
	}
	if app.playStops.Load() != 10 || app.encodersClosed.Load() != 10 {
		t.Fatalf("play handler stops %d, encoders closed %d; want 10 each", app.playStops.Load(), app.encodersClosed.Load())
	}
	waitFor(t, 10*time.Second, "goroutines to return to the baseline", func() bool {
		return runtime.NumGoroutine() <= baseGoroutines+3
	})
	requireFreshViewer(t, addr)
}

func TestHostileClientNeverReads(t *testing.T) {
	srv, app, addr := startHostileServer(t, hostileConfig()) // WriteTimeout 2 s
	baseHeap := heapInUse()

	// A player of 256 KiB frames (7.5 MiB/s) that never reads: its socket fills within a
	// second, the frame handler is told the queue is full, and the write timeout ends it.
	stalled := dialRaw(t, addr)
	stalled.nc.(*net.TCPConn).SetReadBuffer(4096)
	stalled.connect()
	stalled.createAndPlay(2, "big")
	// And a client flooding commands without reading the replies.
	flooder := dialRaw(t, addr)
	flooder.connect()
	floodDone := make(chan struct{})
	wire := chunked(3, 0, msgCommandAMF0, 0, commandBody(t, "ping", 7, nil), 128)
	go func() {
		defer close(floodDone)
		for range 20000 {
			flooder.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := flooder.nc.Write(wire); err != nil {
				return
			}
		}
	}()

	// Meanwhile a healthy viewer is unaffected.
	requireFreshViewer(t, addr)

	var peakQueue int
	srv.mu.Lock()
	for c := range srv.conns {
		peakQueue = max(peakQueue, c.Stats().QueueBytes)
	}
	srv.mu.Unlock()
	if limit := srv.Config().SendQueueBytes + bigFrame; peakQueue > limit {
		t.Fatalf("a send queue holds %v bytes, bound %v", peakQueue, limit)
	}
	if app.full.Load() == 0 {
		t.Fatal("the frame handler was never told the queue was full")
	}
	// The write timeout (2 s) ends both. (Wait on the server's side: reading here would
	// unstall them.)
	// (The stalled player's own socket is not drained here: through its tiny receive window
	// the kernel's zero-window probing would take longer than the test.)
	waitFor(t, 15*time.Second, "the stalled connections to close", func() bool { return srv.NumConns() == 0 })
	if c, r, e := app.streamsCreated.Load(), app.streamsRemoved.Load(), app.encodersClosed.Load(); r != c || e != c {
		t.Fatalf("%d streams created (the stalled player's and the fresh viewer's), %d removed, %d encoders closed", c, r, e)
	}
	flooder.requireClosed(15 * time.Second)
	<-floodDone
	if h := heapInUse(); h > baseHeap+64<<20 {
		t.Fatalf("heap in use %d MiB, baseline %d MiB", h>>20, baseHeap>>20)
	}
	requireFreshViewer(t, addr)
}

func TestHostileCallFlood(t *testing.T) {
	t.Parallel()
	srv, _, addr := startHostileServer(t, Config{MaxCallsPerSecond: 50})
	ctx := testCtx(t)
	// One interactive client watches and floods calls on the same connection.
	c, err := rtmpclient.Dial(ctx, "rtmp://"+addr+"/app/clip", rtmpclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id, err := c.CreateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Play(ctx, id, "clip"); err != nil {
		t.Fatal(err)
	}
	const callers, each = 50, 40
	var ok, limited, other atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				res, err := c.Call(ctx, "ping", nil)
				var ce *rtmpclient.CallError
				switch {
				case err == nil && res == "pong":
					ok.Add(1)
				case errors.As(err, &ce) && strings.Contains(ce.Description, "too many commands"):
					limited.Add(1)
				default:
					other.Add(1)
				}
			}
		}()
	}
	// The flooding connection still gets its video.
	frames := 0
	for time.Since(start) < time.Second {
		m, err := c.ReadVideo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.AVCPacketType == rtmpclient.AVCNALU {
			frames++
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	if other.Load() != 0 {
		t.Fatalf("%d calls failed otherwise", other.Load())
	}
	// 50 a second with a burst of 50: at most 50 + 50 x elapsed pass.
	if max := 50 + 50*elapsed.Seconds() + 1; float64(ok.Load()) > max || limited.Load() == 0 {
		t.Fatalf("%d calls answered, %d limited in %v; want at most %.0f answered", ok.Load(), limited.Load(), elapsed, max)
	}
	if frames < 15 {
		t.Fatalf("the flooding connection got %d frames in its first second", frames)
	}
	if st := srv.Stats(); st.CallsLimited != uint64(limited.Load()) {
		t.Fatalf("statistics count %v limited calls, clients saw %d", st.CallsLimited, limited.Load())
	}
	time.Sleep(1100 * time.Millisecond)
	if res, err := c.Call(ctx, "ping", nil); err != nil || res != "pong" {
		t.Fatalf("a call after a second of rest: %v %v", res, err)
	}
	requireFreshViewer(t, addr)
}

// Faults: a failing or panicking handler ends its stream with the right status; the
// connection, its other streams and the server live on, and the statistics count it.
func TestFaultsEndOnlyTheirStream(t *testing.T) {
	t.Parallel()
	srv, app, addr := startHostileServer(t, hostileConfig())
	c := dialRaw(t, addr)
	c.connect()
	keeper := c.createAndPlay(2, "clip") // a stream on the same connection that must keep playing
	txid := 10.0
	for _, name := range []string{"render-error", "render-panic", "frame-error", "frame-panic"} {
		stops := app.playStops.Load()
		txid++
		c.mustCommand(0, "createStream", txid, nil)
		res, v := c.reply(txid)
		if res != "_result" {
			t.Fatalf("%s: createStream %s", name, res)
		}
		if err := c.send(8, msgCommandAMF0, uint32(v.(float64)), commandBody(t, "play", 0, nil, name)); err != nil {
			t.Fatal(err)
		}
		if got := c.status(codePlayFailed, codePlayStop); got != codePlayFailed {
			t.Fatalf("%s: %s, want %s", name, got, codePlayFailed)
		}
		waitFor(t, 5*time.Second, name+": the play handler told of the stop", func() bool { return app.playStops.Load() == stops+1 })
	}
	// A panicking play handler: Play.Failed, and nothing starts.
	txid++
	c.mustCommand(0, "createStream", txid, nil)
	_, v := c.reply(txid)
	c.send(8, msgCommandAMF0, uint32(v.(float64)), commandBody(t, "play", 0, nil, "play-panic"))
	if got := c.status(codePlayFailed, codePlayStart); got != codePlayFailed {
		t.Fatalf("play-panic: %s", got)
	}
	// A panicking call handler: _error, the connection lives.
	txid++
	if res, _ := c.call(txid, "panic"); res != "_error" {
		t.Fatalf("panicking call: %s", res)
	}
	txid++
	if res, v := c.call(txid, "ping"); res != "_result" || v != "pong" {
		t.Fatalf("ping after the faults: %s %v", res, v)
	}
	// The first stream still plays.
	seen := 0
	for seen < 10 {
		m, err := c.next(10 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if m.typ == msgVideo && m.streamID == keeper {
			seen++
		}
	}
	st := srv.Stats()
	if st.StreamsFailed != 4 || st.HandlerPanics != 4 {
		t.Fatalf("statistics: %v streams failed (want 4), %v handler panics (want 4: render, frame, play, call)",
			st.StreamsFailed, st.HandlerPanics)
	}

	// An encoder that cannot open: the stream is refused (createStream _error), and the
	// connection lives.
	bad := dialRaw(t, addr)
	bad.handshake()
	obj := connectObject(addr)
	obj[0].Value = "noenc"
	bad.mustCommand(0, "connect", 1, obj)
	if res, _ := bad.reply(1); res != "_result" {
		t.Fatal("connect to app noenc refused")
	}
	bad.mustCommand(0, "createStream", 2, nil)
	if res, v := bad.reply(2); res != "_error" || replyCode(v) != codeCreateStreamFail {
		t.Fatalf("createStream without an encoder: %s %v", res, v)
	}
	bad.requireOpen(3)
	requireFreshViewer(t, addr)
}

// A panicking connect handler counts as refusing: the next handler is asked.
func TestConnectHandlerPanicFallsThrough(t *testing.T) {
	t.Parallel()
	calls := 0
	var mu sync.Mutex
	panicky := ConnectHandlerFunc(func(c *Conn, created bool, cmd Object, args []any) bool {
		mu.Lock()
		calls++
		mu.Unlock()
		if app, _ := cmd.GetString("app"); app == "boom" && created {
			panic("connect handler bug (injected)")
		}
		return false
	})
	app := &hostileApp{clip: loadClip(t)}
	cfg := hostileConfig()
	cfg.Codecs = app.codecs()
	srv, addr := startServerAddr(t, cfg, panicky, app)
	_, err := rtmpclient.Dial(testCtx(t), "rtmp://"+addr+"/boom", rtmpclient.Options{})
	if err != nil {
		t.Fatalf("a panicking first handler must fall through to the next: %v", err)
	}
	if srv.Stats().HandlerPanics != 1 {
		t.Fatalf("handler panics: %v", srv.Stats().HandlerPanics)
	}
	requireFreshViewer(t, addr)
}

func startServerAddr(t *testing.T, cfg Config, handlers ...ConnectHandler) (*Server, string) {
	t.Helper()
	srv, url := startServer(t, cfg, handlers...)
	return srv, strings.TrimPrefix(url, "rtmp://")
}

func TestRedactQuery(t *testing.T) {
	for in, want := range map[string]string{
		"demo":                "demo",
		"demo?token=s3cret":   "demo?REDACTED",
		"live?s3cret":         "live?REDACTED",
		"a?b=1&token=x&c":     "a?REDACTED",
		"":                    "",
		"?token=s3cret&x=y":   "?REDACTED",
		"live/demo?tok=a?b=c": "live/demo?REDACTED",
	} {
		if got := redactQuery(in); got != want {
			t.Errorf("redactQuery(%q) = %q, want %q", in, got, want)
		}
	}
}

// Nothing a client sends in its app, stream name or call arguments reaches the logs in a
// query string: tokens there are redacted.
func TestTokensInNamesAreNotLogged(t *testing.T) {
	t.Parallel()
	var buf lockedBuffer
	app := &hostileApp{clip: loadClip(t)}
	cfg := hostileConfig()
	cfg.Codecs = app.codecs()
	cfg.Logger = slogTo(&buf)
	_, addr := startServerAddr(t, cfg, app)
	ctx := testCtx(t)
	// Tokens in the tcUrl query, the app and the stream name, as clients put them.
	c, err := rtmpclient.Dial(ctx, "rtmp://"+addr+"/live/clip?token=s3cret-tcurl", rtmpclient.Options{
		ConnectProperties: amf0.Object{{Key: "app", Value: "live?token=s3cret-app"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := c.CreateStream(ctx)
	if err := c.Play(ctx, id, "clip?token=s3cret-stream"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadVideo(ctx); err != nil {
		t.Fatal(err)
	}
	c.Close()
	waitFor(t, 5*time.Second, "the disconnect log line", func() bool { return strings.Contains(buf.String(), "rtmp disconnect") })
	logs := buf.String()
	if strings.Contains(logs, "s3cret") {
		t.Fatalf("a token reached the log:\n%s", logs)
	}
	if !strings.Contains(logs, "clip?REDACTED") || !strings.Contains(logs, "app=live ") {
		t.Fatalf("the log lacks the redacted names:\n%s", logs)
	}
}

// lockedBuffer is a log sink written by server goroutines and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// IdleTimeout closes connections that neither play nor send commands; pings and other
// messages do not keep them open, commands and playing do.
func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	srv, _, addr := startHostileServer(t, hostileConfig()) // IdleTimeout 1 s
	t.Run("connected, nothing sent", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.connect()
		if d := c.requireClosed(10 * time.Second); d < 500*time.Millisecond {
			t.Fatalf("closed after %v, before the idle timeout", d)
		}
	})
	t.Run("pings do not count", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.connect()
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				ping := []byte{0, ucPingRequest, 0, 0, 0, 1}
				if c.send(2, msgUserControl, 0, ping) != nil || c.send(2, msgAck, 0, []byte{0, 0, 0, 1}) != nil {
					return
				}
			}
		}()
		c.requireClosed(10 * time.Second)
		close(stop)
		<-done
	})
	t.Run("commands and playing count", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.connect()
		for i := range 8 { // 2.4 s of calls, 0.3 s apart
			time.Sleep(300 * time.Millisecond)
			if res, _ := c.call(float64(10+i), "ping"); res != "_result" {
				t.Fatalf("call %d: %s", i, res)
			}
		}
		id := c.createAndPlay(30, "clip")
		deadline := time.Now().Add(2500 * time.Millisecond) // a silent player for 2.5 s
		for time.Now().Before(deadline) {
			if _, err := c.next(5 * time.Second); err != nil {
				t.Fatalf("a silent player was cut off: %v", err)
			}
		}
		// Once it stops playing, the idle time runs again.
		c.mustCommand(0, "deleteStream", 0, nil, float64(id))
		c.requireClosed(10 * time.Second)
	})
	waitFor(t, 5*time.Second, "idle connections to close", func() bool { return srv.NumConns() == 0 })
	requireFreshViewer(t, addr)
}
