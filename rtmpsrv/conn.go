package rtmpsrv

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/bits"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/rawmessage"

	"github.com/rendercast/rendercast/internal/access"
)

// RTMP message types.
const (
	msgSetChunkSize     = 1
	msgAbort            = 2
	msgAck              = 3
	msgUserControl      = 4
	msgWindowAckSize    = 5
	msgSetPeerBandwidth = 6
	msgAudio            = 8
	msgVideo            = 9
	msgDataAMF3         = 15
	msgCommandAMF3      = 17
	msgDataAMF0         = 18
	msgCommandAMF0      = 20
)

// User control event types.
const (
	ucStreamBegin     = 0
	ucStreamEOF       = 1
	ucSetBufferLength = 3
	ucPingRequest     = 6
	ucPingResponse    = 7
)

// Chunk stream ids we send on.
const (
	csControl = 2
	csCommand = 3
	csStream  = 5
	csVideo   = 6
)

// wireStreamID converts a message stream id to the byte order gortmplib's chunk layer
// stores (it writes the field big-endian; RTMP puts it little-endian).
func wireStreamID(id uint32) uint32 { return bits.ReverseBytes32(id) }

// Conn is one client connection (neuray's IConnection). Handlers receive it; it is valid
// only during the handler call. Keep ID() to refer to a connection later.
type Conn struct {
	srv  *Server
	nc   net.Conn
	id   uint64
	log  *slog.Logger
	bcr  *bytecounter.Reader
	bcw  *bytecounter.Writer
	r    *chunkReader
	w    *chunkWriter
	peer string
	born time.Time

	ctx    context.Context
	cancel context.CancelFunc

	ctrl        chan *rawmessage.Message
	mediaSignal chan struct{}
	writerDone  chan struct{}
	closing     atomic.Bool

	qmu        sync.Mutex
	queue      []queued
	queueBytes int
	link       linkMeter
	tcpInfo    func() (rtt, minRTT time.Duration, deliveryBps int, ok bool) // nil: not TCP, or not Linux

	mu            sync.Mutex
	owner         ConnectHandler
	connected     bool
	app           string
	refusal       string // description of a refused connect (Refuse)
	cmdObj        Object
	callHandlers  map[string]CallHandler
	streamHandler StreamHandler
	props         map[string]string
	streams       map[uint32]*Stream
	nextStreamID  uint32
	lastActivity  atomic.Int64 // unix nanoseconds of the last command, or of the last stop
	playing       atomic.Int32
	calls         *access.Limiter
	amf3          atomic.Bool       // the client connected with objectEncoding 3: answer in AMF3
	connectBy     time.Time         // the connect command must arrive before this
	pending       *access.Pending   // the Guard's place until the connect is accepted
	placed        bool              // holds a MaxConns place (with a Guard; reader goroutine only)
	idle          *access.Connected // the Guard's count of connected clients not playing (set under mu)
	viewMu        sync.Mutex        // orders the idle count's updates (viewingChanged)

	msgsIn, msgsOut     atomic.Uint64
	framesSent, dropped atomic.Uint64
	acksIn              atomic.Uint64
	peerWindow          atomic.Uint32
	handlerPanics       atomic.Uint64
	streamsFailed       atomic.Uint64
	callsLimited        atomic.Uint64
}

type queued struct {
	msgs     []*rawmessage.Message
	stream   *Stream
	size     int
	at       time.Time // when it was queued
	keyframe bool
}

func newConn(s *Server, nc net.Conn, id uint64) *Conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Conn{
		srv:          s,
		nc:           nc,
		id:           id,
		peer:         nc.RemoteAddr().String(),
		born:         time.Now(),
		ctx:          ctx,
		cancel:       cancel,
		ctrl:         make(chan *rawmessage.Message, 256),
		mediaSignal:  make(chan struct{}, 1),
		writerDone:   make(chan struct{}),
		callHandlers: map[string]CallHandler{},
		props:        map[string]string{},
		streams:      map[uint32]*Stream{},
	}
	c.log = s.log.With("conn", id, "peer", c.peer)
	raw := nc
	if t, ok := nc.(*tlsConn); ok {
		raw = t.raw
	}
	c.tcpInfo = tcpInfoOf(raw)
	c.bcr = bytecounter.NewReader(nc)
	c.bcw = bytecounter.NewWriter(nc)
	c.lastActivity.Store(time.Now().UnixNano())
	c.calls = access.NewLimiter(s.cfg.MaxCallsPerSecond, nil)
	return c
}

// ID returns the connection's identity, unique within its server.
func (c *Conn) ID() uint64 { return c.id }

// Refuse sets the description the client gets in NetConnection.Connect.Rejected when the
// connect handler refuses the connection (returns false); without it the description is
// "connection refused". Call it only from HandleConnect; never put a secret in it.
func (c *Conn) Refuse(description string) {
	c.mu.Lock()
	c.refusal = description
	c.mu.Unlock()
}

// PeerAddress returns the client's "ip:port".
func (c *Conn) PeerAddress() string { return c.peer }

// App returns the application name from the connect command, without the query string
// some clients append to it (it may carry credentials, e.g. "live?token=..."; the connect
// command object passed to connect handlers has it unchanged).
func (c *Conn) App() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.app
}

// ConnectObject returns the connect command object the client sent.
func (c *Conn) ConnectObject() Object {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cmdObj
}

// Context is cancelled when the connection ends.
func (c *Conn) Context() context.Context { return c.ctx }

// Close ends the connection. It may be called from any goroutine, handlers included.
func (c *Conn) Close() {
	c.closing.Store(true)
	c.nc.SetReadDeadline(time.Now())
}

// RegisterCallHandler sets the handler for one procedure name; an empty name sets the
// default handler used when no specific one matches. A nil handler removes it.
func (c *Conn) RegisterCallHandler(h CallHandler, procedure string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h == nil {
		delete(c.callHandlers, procedure)
		return
	}
	c.callHandlers[procedure] = h
}

// RegisterStreamHandler sets the connection's stream handler; nil removes it.
func (c *Conn) RegisterStreamHandler(h StreamHandler) {
	c.mu.Lock()
	c.streamHandler = h
	c.mu.Unlock()
}

// SetProperty sets a string property of the connection. Keys must be non-empty printable
// ASCII without spaces, at most 64 bytes; values at most 4096 bytes.
func (c *Conn) SetProperty(key, value string) error {
	if err := checkProperty(key, value); err != nil {
		return err
	}
	c.mu.Lock()
	c.props[key] = value
	c.mu.Unlock()
	return nil
}

// Property returns a property set with SetProperty.
func (c *Conn) Property(key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.props[key]
	return v, ok
}

// maxPropertyValue is the longest property value, in bytes, a connection or stream takes.
const maxPropertyValue = 4096

// checkProperty checks a connection property or user stream property: the key non-empty
// printable ASCII without spaces, at most 64 bytes; the value at most maxPropertyValue bytes.
func checkProperty(key, value string) error {
	if key == "" || len(key) > 64 {
		return fmt.Errorf("%w: key %q must be 1 to 64 bytes", ErrInvalidProperty, key)
	}
	for _, r := range key {
		if r <= ' ' || r > '~' {
			return fmt.Errorf("%w: key %q has a character outside printable ASCII", ErrInvalidProperty, key)
		}
	}
	if len(value) > maxPropertyValue {
		return fmt.Errorf("%w: value of %q is %d bytes, max %d", ErrInvalidProperty, key, len(value), maxPropertyValue)
	}
	return nil
}

// ConnStats are a connection's figures.
type ConnStats struct {
	BytesIn     uint64 `json:"bytes_in"`
	BytesOut    uint64 `json:"bytes_out"`
	MessagesIn  uint64 `json:"messages_in"`
	MessagesOut uint64 `json:"messages_out"`
	FramesSent  uint64 `json:"frames_sent"`
	// FramesDropped were dropped because the send queue was full.
	FramesDropped uint64 `json:"frames_dropped"`
	// QueueFrames and QueueBytes wait in the send queue now.
	QueueFrames int `json:"queue_frames"`
	QueueBytes  int `json:"queue_bytes"`
	// QueueDelayMS is the smoothed time frames wait in the send queue and in the
	// network's queues; RTTMS the smoothed round-trip time (Linux); LinkBps the estimated
	// throughput of the link to the client (0: not measured yet, the link has not been the
	// limit). See LinkStats.
	QueueDelayMS float64 `json:"queue_delay_ms"`
	RTTMS        float64 `json:"rtt_ms"`
	LinkBps      int     `json:"link_bps"`
	// DeliveryBps is the kernel's latest delivery rate sample (TCP_INFO; 0 elsewhere).
	DeliveryBps   int     `json:"delivery_bps"`
	AcksIn        uint64  `json:"acks_in"`
	HandlerPanics uint64  `json:"handler_panics"`
	StreamsFailed uint64  `json:"streams_failed"`
	CallsLimited  uint64  `json:"calls_limited"`
	Streams       int     `json:"streams"`
	UptimeSeconds float64 `json:"uptime_seconds"`
}

// add sums the cumulative figures of o into st.
func (st *ConnStats) add(o ConnStats) {
	st.BytesIn += o.BytesIn
	st.BytesOut += o.BytesOut
	st.MessagesIn += o.MessagesIn
	st.MessagesOut += o.MessagesOut
	st.FramesSent += o.FramesSent
	st.FramesDropped += o.FramesDropped
	st.HandlerPanics += o.HandlerPanics
	st.StreamsFailed += o.StreamsFailed
	st.CallsLimited += o.CallsLimited
}

// Stats returns the connection's figures: bytes and messages in and out, frames sent and
// dropped, the send queue's depth, acknowledgements received, handler panics, failed
// streams, calls refused by the rate limit, streams and uptime.
func (c *Conn) Stats() ConnStats {
	c.qmu.Lock()
	depth, qbytes := len(c.queue), c.queueBytes
	c.qmu.Unlock()
	c.mu.Lock()
	nstreams := len(c.streams)
	c.mu.Unlock()
	link := c.Link()
	return ConnStats{
		QueueDelayMS: float64(link.Delay.Microseconds()) / 1000, LinkBps: link.Bps,
		RTTMS:   float64(link.RTT.Microseconds()) / 1000,
		BytesIn: c.bcr.Count(), BytesOut: c.bcw.Count(),
		MessagesIn: c.msgsIn.Load(), MessagesOut: c.msgsOut.Load(),
		FramesSent: c.framesSent.Load(), FramesDropped: c.dropped.Load(),
		QueueFrames: depth, QueueBytes: qbytes, AcksIn: c.acksIn.Load(),
		HandlerPanics: c.handlerPanics.Load(), StreamsFailed: c.streamsFailed.Load(),
		CallsLimited: c.callsLimited.Load(), Streams: nstreams,
		UptimeSeconds: time.Since(c.born).Seconds(),
	}
}

// Streams returns the connection's live streams, ordered by id.
func (c *Conn) Streams() []*Stream {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*Stream, 0, len(c.streams))
	for id := uint32(1); id <= c.nextStreamID; id++ {
		if s, ok := c.streams[id]; ok {
			out = append(out, s)
		}
	}
	return out
}

// serve runs the connection: admission by the Guard, handshake, reading and dispatching,
// then cleanup.
func (c *Conn) serve() {
	defer c.nc.Close()
	// The deadline counts from the connection's arrival: a wait for the Guard's place is
	// part of it. It is set before the Guard admits, so that an eviction's Close wins.
	deadline := c.born.Add(c.srv.cfg.HandshakeTimeout)
	c.nc.SetDeadline(deadline)
	if g := c.srv.cfg.Guard; g != nil {
		ctx, cancel := context.WithDeadline(c.srv.shutCtx, deadline)
		p, err := g.Admit(ctx, remoteAddr(c.nc), c.Close)
		cancel()
		if err != nil { // counted and logged by the Guard, once per address and interval
			c.cancel()
			return
		}
		c.pending = p
		defer p.Done()
	}
	var digest bool
	err := c.tlsHandshake() // RTMPS: TLS first, under the same deadline
	if err == nil {
		digest, err = serverHandshake(struct {
			io.Reader
			io.Writer
		}{c.bcr, c.bcw})
	}
	if err != nil {
		c.log.Debug("rtmp handshake failed", "err", err)
		c.cancel()
		return
	}
	c.nc.SetDeadline(time.Time{})
	c.connectBy = time.Now().Add(c.srv.cfg.HandshakeTimeout)
	c.log.Debug("rtmp handshake done", "digest", digest)

	c.r = newChunkReader(c.bcr, c.srv.cfg.chunkLimits(), func() uint64 { return c.bcr.Count() },
		func(count uint32) error { return c.sendCtrl(ackMsg(count)) })
	raw := c.nc
	if t, ok := raw.(*tlsConn); ok {
		raw = t.Conn // TLS: the tls.Conn, written to in whole messages
	}
	c.w = newChunkWriter(raw, func(n int) { c.bcw.SetCount(c.bcw.Count() + uint64(n)) })
	go c.writeLoop()

	err = c.readLoopRecovered()
	if err != nil && !c.closing.Load() && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, access.ErrFull) {
		c.log.Info("rtmp connection error", "err", err)
	}
	c.cleanup()
}

// viewingChanged tells the Guard whether the connection plays a stream now; callers have
// just changed c.playing. The lock makes the last update win with the latest count.
func (c *Conn) viewingChanged() {
	c.mu.Lock()
	idle := c.idle
	c.mu.Unlock()
	c.viewMu.Lock()
	idle.SetViewing(c.playing.Load() > 0)
	c.viewMu.Unlock()
}

// readLoopRecovered runs readLoop; a panic in it (a bug in this package: user handlers
// are recovered one by one) ends this connection only, as net/http does.
func (c *Conn) readLoopRecovered() (err error) {
	defer func() {
		if p := recover(); p != nil {
			c.handlerPanics.Add(1)
			c.log.Error("panic in rtmp connection", "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("%w: internal error: %v", ErrProtocol, p)
		}
	}()
	return c.readLoop()
}

// shutdown asks the connection to end gracefully (server shutdown).
func (c *Conn) shutdown() { c.Close() }

func (c *Conn) cleanup() {
	// Forget the idle count first: the streams stopped below do not make the connection idle.
	c.mu.Lock()
	idle := c.idle
	c.mu.Unlock()
	if idle.Evicted() {
		c.log.Debug("rtmp connection closed: idle beyond its address's budget")
	}
	idle.Done()
	// Streams first: stop loops, tell stream handlers.
	for _, s := range c.Streams() {
		s.remove(true)
	}
	c.mu.Lock()
	owner := c.owner
	c.owner = nil
	c.mu.Unlock()
	if owner != nil {
		c.safe("connect handler (close)", func() { owner.HandleConnect(c, false, c.cmdObj, nil) })
	}
	// Let queued control messages (e.g. Play.Stop) go out, bounded by the write timeout.
	c.flushAndStopWriter()
	c.log.Info("rtmp disconnect", "app", c.App(), "bytes_in", c.bcr.Count(), "bytes_out", c.bcw.Count())
}

func (c *Conn) flushAndStopWriter() {
	if c.w == nil {
		c.cancel()
		return
	}
	deadline := time.NewTimer(c.srv.cfg.WriteTimeout)
	defer deadline.Stop()
	select { // sentinel: the writer exits after everything queued before it
	case c.ctrl <- nil:
		select {
		case <-c.writerDone:
		case <-deadline.C:
		}
	case <-c.writerDone:
	case <-deadline.C:
	}
	c.cancel()
	c.nc.Close()
	<-c.writerDone
}

// safe runs a user handler, recovering a panic; it reports whether f completed.
func (c *Conn) safe(what string, f func()) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			c.handlerPanics.Add(1)
			c.log.Error("panic in "+what, "panic", p, "stack", string(debug.Stack()))
			ok = false
		}
	}()
	f()
	return true
}

// readLoop reads messages until the connection fails or is closed.
func (c *Conn) readLoop() error {
	cfg := c.srv.cfg
	for {
		c.nc.SetReadDeadline(c.readDeadline())
		if c.closing.Load() { // checked after setting the deadline: Close's deadline wins
			return nil
		}
		msg, err := c.r.read()
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() || c.closing.Load() {
				return err
			}
			// A deadline passed; the reader can resume where it stopped.
			switch {
			case !c.isConnected():
				return fmt.Errorf("no connect command within %s of the handshake: %w", cfg.HandshakeTimeout, ErrLimit)
			case c.playing.Load() > 0:
				c.touch() // players need not send anything while watching
				continue
			case time.Since(time.Unix(0, c.lastActivity.Load())) < cfg.IdleTimeout:
				continue // a stream stopped meanwhile: the idle time counts from then
			}
			return fmt.Errorf("idle for %s: %w", cfg.IdleTimeout, ErrLimit)
		}
		c.msgsIn.Add(1)
		if err := c.handleMessage(msg); err != nil {
			return err
		}
	}
}

// readDeadline is when the connection counts as idle: before connect, the connect deadline;
// after, IdleTimeout after the last command (or stop).
func (c *Conn) readDeadline() time.Time {
	if !c.isConnected() {
		return c.connectBy
	}
	return time.Unix(0, c.lastActivity.Load()).Add(c.srv.cfg.IdleTimeout)
}

func (c *Conn) isConnected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected
}

// touch restarts the idle time.
func (c *Conn) touch() { c.lastActivity.Store(time.Now().UnixNano()) }

func (c *Conn) handleMessage(msg *message) error {
	b := msg.body
	switch msg.typ {
	case msgSetChunkSize:
		if len(b) < 4 {
			return fmt.Errorf("%w: short set chunk size", ErrProtocol)
		}
		return c.r.setChunkSize(binary.BigEndian.Uint32(b) & 0x7fffffff)
	case msgAbort:
		if len(b) >= 4 {
			c.r.abort(binary.BigEndian.Uint32(b))
		}
	case msgAck:
		c.acksIn.Add(1)
	case msgWindowAckSize:
		if len(b) >= 4 {
			v := binary.BigEndian.Uint32(b)
			if v < 1024 {
				v = 1024 // guard against an ack storm
			}
			c.peerWindow.Store(v)
			c.r.setAckWindow(v)
		}
	case msgUserControl:
		if len(b) >= 6 && binary.BigEndian.Uint16(b) == ucPingRequest {
			return c.sendCtrl(userControl(ucPingResponse, binary.BigEndian.Uint32(b[2:])))
		}
	case msgCommandAMF0, msgCommandAMF3:
		c.touch()
		name, txid, cmd, args, err := decodeCommandLimits(b, msg.typ == msgCommandAMF3, c.srv.cfg.amfLimits())
		if err != nil {
			c.log.Debug("rtmp bad command", "err", err)
			if name != "" && c.calls.Allow() {
				c.replyError(txid, codeCallFailed, fmt.Sprintf("malformed command: %v", err), nil)
			}
			return nil // a malformed command is not run; the connection lives
		}
		return c.handleCommand(msg.streamID, name, txid, cmd, args)
	case msgDataAMF0, msgDataAMF3:
		// No handler takes data messages (a player has none to send); they are decoded
		// within the limits, so that what a client sends is seen in the log.
		name, values, err := decodeData(b, msg.typ == msgDataAMF3, c.srv.cfg.amfLimits())
		if err != nil {
			c.log.Debug("rtmp bad data message", "err", err)
			return nil
		}
		c.log.Debug("rtmp data message ignored", "name", name, "values", len(values))
	default:
		// Audio, video, peer bandwidth and unknown types: a player sends none we use.
	}
	return nil
}

func (c *Conn) handleCommand(streamID uint32, name string, txid float64, cmd any, args []any) error {
	c.mu.Lock()
	connected := c.connected
	c.mu.Unlock()
	if !c.calls.Allow() {
		c.callsLimited.Add(1)
		desc := fmt.Sprintf("too many commands: at most %g per second", c.srv.cfg.MaxCallsPerSecond)
		c.replyError(txid, codeCallFailed, desc, nil)
		if name == "play" {
			if s := c.stream(streamID); s != nil {
				s.sendStatus("error", codePlayFailed, desc)
			}
		}
		return nil
	}
	if name == "connect" {
		if connected {
			c.replyError(txid, codeCallFailed, "already connected", nil)
			return nil
		}
		return c.handleConnect(txid, cmd, args)
	}
	if !connected {
		c.replyError(txid, codeCallFailed, "connect first", nil)
		return nil
	}
	switch name {
	case "createStream":
		c.handleCreateStream(txid, cmd)
		return nil
	case "deleteStream":
		if len(args) > 0 {
			if id, ok := args[0].(float64); ok && id >= 1 && id <= math.MaxUint32 {
				if s := c.stream(uint32(id)); s != nil {
					s.remove(false)
				}
			}
		}
		return nil
	case "closeStream":
		if s := c.stream(streamID); s != nil {
			s.stopCommand()
		}
		return nil
	case "play":
		return c.onStream(streamID, txid, name, func(s *Stream) {
			streamName, _ := firstString(args)
			s.playCommand(streamName)
		})
	case "pause", "pauseRaw":
		return c.onStream(streamID, txid, name, func(s *Stream) {
			pause := true
			if len(args) > 0 {
				pause, _ = args[0].(bool)
			}
			s.pauseCommand(pause)
		})
	case "publish":
		return c.onStream(streamID, txid, name, func(s *Stream) {
			s.sendStatus("error", codePublishBadName, "publishing is not supported by this server")
		})
	case "receiveAudio", "receiveVideo", "seek", "play2":
		return nil
	case "releaseStream", "FCPublish", "FCUnpublish", "FCSubscribe", "FCUnsubscribe", "_checkbw":
		c.replyResult(txid, nil)
		return nil
	case "getStreamLength":
		c.replyResult(txid, float64(0))
		return nil
	}
	c.handleCall(streamID, name, txid, cmd, args)
	return nil
}

func firstString(args []any) (string, bool) {
	if len(args) == 0 {
		return "", false
	}
	s, ok := args[0].(string)
	return s, ok
}

func (c *Conn) stream(id uint32) *Stream {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.streams[id]
}

func (c *Conn) onStream(id uint32, txid float64, name string, f func(*Stream)) error {
	s := c.stream(id)
	if s == nil {
		c.replyError(txid, codeCallFailed, fmt.Sprintf("%s on stream %d, which does not exist (createStream first)", name, id), nil)
		return nil
	}
	f(s)
	return nil
}

func (c *Conn) handleConnect(txid float64, cmd any, args []any) error {
	obj, _ := cmd.(amf0.Object)
	if obj == nil {
		if e, ok := cmd.(amf0.ECMAArray); ok {
			obj = amf0.Object(e)
		}
	}
	app, _ := obj.GetString("app")
	app, _, _ = strings.Cut(app, "?")
	c.mu.Lock()
	c.app = strings.TrimSuffix(app, "/")
	c.cmdObj = obj
	c.mu.Unlock()
	if g := c.srv.cfg.Guard; g != nil {
		if !c.srv.takePlace() {
			// The house is full: a connection idle beyond its address's budget gives
			// its place (closed, it gives it back as it leaves: until then MaxConns is
			// exceeded by the connections being closed).
			if !g.ReclaimIdle(remoteAddr(c.nc)) {
				g.Refuse(remoteAddr(c.nc), access.ReasonFull)
				c.replyError(txid, codeConnectRejected, fmt.Sprintf("%v: %d connections", access.ErrFull, c.srv.cfg.MaxConns), nil)
				return fmt.Errorf("connect refused: %w", access.ErrFull)
			}
			c.srv.forcePlace()
		}
		c.placed = true
	}

	var owner ConnectHandler
	for _, h := range c.srv.connectHandlers() {
		accepted := false
		if !c.safe("connect handler", func() { accepted = h.HandleConnect(c, true, obj, args) }) {
			continue
		}
		if accepted {
			owner = h
			break
		}
	}
	if owner == nil {
		c.log.Info("rtmp connect refused", "app", c.App())
		reason := "connection refused"
		c.mu.Lock()
		if c.refusal != "" {
			reason = c.refusal
		}
		c.mu.Unlock()
		c.replyError(txid, codeConnectRejected, reason, nil)
		if c.placed {
			c.placed = false
			c.srv.releasePlace()
		}
		return fmt.Errorf("connect refused: %w", errRefused)
	}
	idle := c.srv.cfg.Guard.Connected(remoteAddr(c.nc), c.Close)
	c.mu.Lock()
	c.owner = owner
	c.connected = true
	c.idle = idle
	c.mu.Unlock()
	c.pending.Promote()

	cfg := c.srv.cfg
	c.sendCtrl(controlU32(msgWindowAckSize, uint32(cfg.WindowAckSize)))
	c.sendCtrl(&rawmessage.Message{ChunkStreamID: csControl, Type: msgSetPeerBandwidth,
		Body: []byte{byte(cfg.WindowAckSize >> 24), byte(cfg.WindowAckSize >> 16), byte(cfg.WindowAckSize >> 8), byte(cfg.WindowAckSize), 2}})
	c.sendCtrl(controlU32(msgSetChunkSize, uint32(cfg.ChunkSize)))
	enc := float64(0)
	if v, ok := obj.GetFloat64("objectEncoding"); ok {
		enc = v
	}
	info := statusObject("status", codeConnectSuccess, "Connection succeeded.")
	info = append(info, amf0.ObjectEntry{Key: "objectEncoding", Value: enc})
	c.sendCommand(0, "_result", txid, amf0.Object{
		{Key: "fmsVer", Value: "FMS/3,5,7,7009"},
		{Key: "capabilities", Value: float64(31)},
		{Key: "mode", Value: float64(1)},
	}, info)
	// The connect answer itself is AMF0 (it tells the encoding); every later answer to a
	// client that asked for AMF3 is AMF3, as Flash Media Server does.
	c.amf3.Store(enc == 3)
	c.log.Info("rtmp connect", "app", c.App(), "objectEncoding", enc)
	return nil
}

var errRefused = errors.New("refused by every connect handler")

func (c *Conn) handleCreateStream(txid float64, cmd any) {
	c.mu.Lock()
	if len(c.streams) >= c.srv.cfg.MaxStreamsPerConn {
		c.mu.Unlock()
		c.replyError(txid, codeCreateStreamFail, fmt.Sprintf("at most %d streams per connection", c.srv.cfg.MaxStreamsPerConn), nil)
		return
	}
	c.nextStreamID++
	s := newStream(c, c.nextStreamID)
	c.streams[s.id] = s
	sh := c.streamHandler
	c.mu.Unlock()

	ok := true
	if sh != nil {
		ok = false
		c.safe("stream handler", func() { ok = sh.HandleStream(s, true, cmd) })
	}
	if !ok {
		c.mu.Lock()
		delete(c.streams, s.id)
		c.mu.Unlock()
		s.closeEncoder()
		c.replyError(txid, codeCreateStreamFail, "stream refused", nil)
		return
	}
	s.created.Store(true)
	c.replyResult(txid, float64(s.id))
}

func (c *Conn) handleCall(streamID uint32, name string, txid float64, cmd any, args []any) {
	c.mu.Lock()
	h := c.callHandlers[name]
	if h == nil {
		h = c.callHandlers[""]
	}
	c.mu.Unlock()
	if h == nil {
		c.replyError(txid, codeCallFailed, fmt.Sprintf("unknown procedure %q", name), nil)
		return
	}
	var resp any
	var err error
	if !c.safe("call handler "+name, func() { resp, err = h.HandleCall(c, name, cmd, args) }) {
		err = fmt.Errorf("internal error in %q", name)
	}
	if err != nil {
		var ce *CallError
		if errors.As(err, &ce) {
			code := ce.Code
			if code == "" {
				code = codeCallFailed
			}
			c.replyError(txid, code, ce.Description, ce.Info)
			return
		}
		c.replyError(txid, codeCallFailed, err.Error(), nil)
		return
	}
	v, err := toAMF(resp)
	if err == nil {
		_, _, err = encodeCommand(c.amf3.Load(), "_result", txid, nil, v) // an empty key, say
	}
	if err != nil {
		c.replyError(txid, codeCallFailed, fmt.Sprintf("response of %q cannot be encoded: %v", name, err), nil)
		return
	}
	c.replyResult(txid, v)
}

func (c *Conn) replyResult(txid float64, v any) {
	if txid == 0 {
		return
	}
	c.sendCommand(0, "_result", txid, nil, v)
}

func (c *Conn) replyError(txid float64, code, description string, info any) {
	if txid == 0 {
		return
	}
	var v any = statusObject("error", code, description)
	if info != nil {
		if iv, err := toAMF(info); err == nil {
			v = iv
		}
	}
	c.sendCommand(0, "_error", txid, nil, v)
}

// sendCommand queues a command message on message stream msid: AMF0 (type 20), or for a
// client that connected with objectEncoding 3, AMF3 (type 17).
func (c *Conn) sendCommand(msid uint32, name string, txid float64, values ...any) error {
	typ, body, err := encodeCommand(c.amf3.Load(), name, txid, values...)
	if err != nil {
		c.log.Error("rtmp command not encodable", "name", name, "err", err)
		return nil
	}
	cs := byte(csCommand)
	if msid != 0 {
		cs = csStream
	}
	return c.sendCtrl(&rawmessage.Message{ChunkStreamID: cs, Type: typ, MessageStreamID: wireStreamID(msid), Body: body})
}

func controlU32(typ uint8, v uint32) *rawmessage.Message {
	return &rawmessage.Message{ChunkStreamID: csControl, Type: typ, Body: binary.BigEndian.AppendUint32(nil, v)}
}

func ackMsg(count uint32) *rawmessage.Message { return controlU32(msgAck, count) }

func userControl(event uint16, v uint32) *rawmessage.Message {
	b := binary.BigEndian.AppendUint16(nil, event)
	b = binary.BigEndian.AppendUint32(b, v)
	return &rawmessage.Message{ChunkStreamID: csControl, Type: msgUserControl, Body: b}
}

// sendCtrl queues a control or command message ahead of media. It blocks while the
// control queue is full (the client is not reading) until the connection ends.
func (c *Conn) sendCtrl(m *rawmessage.Message) error {
	select {
	case c.ctrl <- m:
		return nil
	case <-c.writerDone:
		return net.ErrClosed
	case <-c.ctx.Done():
		return net.ErrClosed
	}
}

// queueFull reports whether the media queue has reached a bound.
func (c *Conn) queueFull() bool {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	return len(c.queue) >= c.srv.cfg.SendQueueFrames || c.queueBytes >= c.srv.cfg.SendQueueBytes
}

// enqueueMedia queues one frame's messages unless the queue is full. It never blocks.
func (c *Conn) enqueueMedia(s *Stream, msgs []*rawmessage.Message) bool {
	return c.enqueueFrame(s, msgs, false)
}

// enqueueFrame is enqueueMedia, telling whether the frame is a keyframe.
func (c *Conn) enqueueFrame(s *Stream, msgs []*rawmessage.Message, keyframe bool) bool {
	size := 0
	for _, m := range msgs {
		size += len(m.Body)
	}
	c.qmu.Lock()
	if len(c.queue) >= c.srv.cfg.SendQueueFrames || c.queueBytes+size > c.srv.cfg.SendQueueBytes && len(c.queue) > 0 {
		c.qmu.Unlock()
		return false
	}
	c.queue = append(c.queue, queued{msgs: msgs, stream: s, size: size, at: time.Now(), keyframe: keyframe})
	c.queueBytes += size
	if keyframe {
		c.link.keyframesQueued.Add(1)
	}
	c.qmu.Unlock()
	select {
	case c.mediaSignal <- struct{}{}:
	default:
	}
	return true
}

func (c *Conn) popMedia() (queued, bool) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if len(c.queue) == 0 {
		return queued{}, false
	}
	q := c.queue[0]
	c.queue[0] = queued{}
	c.queue = c.queue[1:]
	c.queueBytes -= q.size
	return q, true
}

// writeLoop is the connection's only writer: control first, then media.
func (c *Conn) writeLoop() {
	defer close(c.writerDone)
	write := func(m *rawmessage.Message) bool {
		c.nc.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout))
		if err := c.w.write(m); err != nil {
			if !c.closing.Load() {
				c.log.Debug("rtmp write failed", "err", err)
			}
			c.closing.Store(true)
			c.nc.Close()
			return false
		}
		c.msgsOut.Add(1)
		if m.Type == msgSetChunkSize {
			c.w.setChunkSize(binary.BigEndian.Uint32(m.Body))
		}
		return true
	}
	for {
		// Control and call responses go ahead of media.
		select {
		case m := <-c.ctrl:
			if m == nil || !write(m) {
				return
			}
			continue
		default:
		}
		if q, ok := c.popMedia(); ok {
			start := time.Now()
			for _, m := range q.msgs {
				if !write(m) {
					return
				}
			}
			c.link.frameWritten(q.size, q.at, start, time.Now())
			if q.keyframe {
				c.link.keyframesQueued.Add(-1)
			}
			if q.stream != nil {
				q.stream.framesSent.Add(1)
			}
			c.framesSent.Add(1)
			continue
		}
		select {
		case m := <-c.ctrl:
			if m == nil || !write(m) {
				return
			}
		case <-c.mediaSignal:
		case <-c.ctx.Done():
			return
		}
	}
}
