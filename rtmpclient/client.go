package rtmpclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/handshake"
	"github.com/bluenviron/gortmplib/pkg/rawmessage"
)

// Defaults for Options fields left at their zero value.
const (
	// DefaultFlashVer is the flashVer connect property: the one librtmp sends on Linux.
	DefaultFlashVer = "LNX 9,0,124,2"
	// DefaultTimeout bounds dialing plus connect, every request and every write.
	DefaultTimeout = 10 * time.Second
	// DefaultChunkSize is the chunk size the client announces and writes with.
	DefaultChunkSize = 4096
	// DefaultWindowAckSize is the window acknowledgement size announced after connect.
	DefaultWindowAckSize = 2500000
	// DefaultMediaBuffer is the number of media messages buffered for ReadMedia.
	DefaultMediaBuffer = 256
	// DefaultEventBuffer is the number of events buffered for ReadEvent.
	DefaultEventBuffer = 64
)

// maxMessageSize is the largest message body RTMP can describe (24-bit length).
const maxMessageSize = 0xFFFFFF

// Options configures Dial. The zero value is usable: every zero field means its default.
type Options struct {
	// ConnectProperties are merged into the connect command object: a property with the
	// name of a standard one (app, flashVer, tcUrl, fpad, capabilities, audioCodecs,
	// videoCodecs, videoFunction, objectEncoding) replaces it, others (e.g. "token",
	// "swfUrl", "pageUrl") are appended in order. Values are converted as for Call.
	ConnectProperties amf0.Object
	// ConnectArgs are extra user arguments sent after the connect command object.
	ConnectArgs []any
	// FlashVer is the flashVer connect property; empty means DefaultFlashVer.
	FlashVer string
	// Timeout bounds Dial (TCP, handshake, connect), the wait of each request (Call,
	// CreateStream, Play, Pause) on top of its context, and each write (a context does not
	// cut a write short: a half-written message would break the connection). Zero means
	// DefaultTimeout; negative means no bound beyond the contexts, so a write to a server
	// that stopped reading waits until Close. Reading media and events waits on the context
	// only.
	Timeout time.Duration
	// ChunkSize is the outgoing chunk size, announced right after the handshake. Zero means
	// DefaultChunkSize. At most 0x7FFFFFFF.
	ChunkSize uint32
	// WindowAckSize is announced to the server after a successful connect, as librtmp does.
	// Zero means DefaultWindowAckSize.
	WindowAckSize uint32
	// NoWindowAckSize suppresses that announcement.
	NoWindowAckSize bool
	// MediaBuffer is how many media messages wait for ReadMedia; zero means
	// DefaultMediaBuffer. When it is full the reader goroutine blocks (and stops reading the
	// socket) until the caller reads, unless DropMedia is set.
	MediaBuffer int
	// DropMedia makes the reader drop media messages that do not fit in the buffer (counted
	// in Stats.MediaDropped) instead of waiting.
	DropMedia bool
	// EventBuffer is how many events wait for ReadEvent; zero means DefaultEventBuffer.
	// When it is full the oldest event is dropped (counted in Stats.EventsDropped): events
	// never block the reader.
	EventBuffer int
	// ReadRate makes the client read the socket no faster than this many bits per second,
	// as a viewer behind a slow link would (a token bucket with a 4 KiB burst); 0 reads as
	// fast as the data comes. ReceiveBuffer sets the socket's receive buffer in bytes
	// (SO_RCVBUF; 0: the system's default): with ReadRate, a small buffer makes the server
	// feel the limit at once instead of after the buffer has filled.
	ReadRate      int
	ReceiveBuffer int
	// TLSConfig configures TLS for rtmps:// URLs. Nil verifies the server's certificate
	// against the system's roots for the URL's host name; a config without ServerName gets
	// the URL's host. Ignored for rtmp:// URLs.
	TLSConfig *tls.Config
	// Logger receives debug logs (ignored messages, the end of the connection); nil
	// discards them.
	Logger *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	if o.FlashVer == "" {
		o.FlashVer = DefaultFlashVer
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.ChunkSize == 0 {
		o.ChunkSize = DefaultChunkSize
	}
	if o.ChunkSize > maxChunkSize {
		return o, fmt.Errorf("rtmpclient: chunk size %d above the maximum %d", o.ChunkSize, maxChunkSize)
	}
	if o.ReadRate < 0 || o.ReceiveBuffer < 0 {
		return o, fmt.Errorf("rtmpclient: negative ReadRate %d or ReceiveBuffer %d", o.ReadRate, o.ReceiveBuffer)
	}
	if o.WindowAckSize == 0 {
		o.WindowAckSize = DefaultWindowAckSize
	}
	if o.MediaBuffer <= 0 {
		o.MediaBuffer = DefaultMediaBuffer
	}
	if o.EventBuffer <= 0 {
		o.EventBuffer = DefaultEventBuffer
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// Stats are a connection's counters.
type Stats struct {
	// BytesIn and BytesOut count every byte read and written, handshake included.
	BytesIn, BytesOut uint64
	// MessagesIn and MessagesOut count whole RTMP messages.
	MessagesIn, MessagesOut uint64
	// VideoMessages counts video messages received.
	VideoMessages uint64
	// MediaDropped counts media messages dropped because of DropMedia.
	MediaDropped uint64
	// EventsDropped counts events dropped from a full event buffer.
	EventsDropped uint64
	// AcksSent counts acknowledgements sent for the server's window.
	AcksSent uint64
	// PingsAnswered counts ping requests answered.
	PingsAnswered uint64
}

// ConnectResult is what the server answered to connect.
type ConnectResult struct {
	// Properties is the _result's command object (e.g. fmsVer, capabilities).
	Properties amf0.Object
	// Status is its information object (e.g. NetConnection.Connect.Success).
	Status Status
}

// Client is one RTMP connection. Its methods are safe for concurrent use.
type Client struct {
	opts Options
	log  *slog.Logger
	url  URL
	conn net.Conn
	bc   *bytecounter.ReadWriter
	r    *rawmessage.Reader // used by the reader goroutine only
	// lastAck is the last acknowledgement sent (reader goroutine only).
	lastAck uint32

	wmu sync.Mutex // serialises w
	w   *rawmessage.Writer

	mu        sync.Mutex
	nextTx    int64
	pending   map[float64]chan *Command
	waiters   map[*eventWaiter]struct{}
	metadata  amf0.Object
	connected ConnectResult
	failErr   error // first fatal error, e.g. from a write
	err       error // terminal error, set before done is closed

	media   chan MediaMessage // sent only by the reader goroutine, closed when it ends
	events  chan *Event       // likewise
	done    chan struct{}     // closed when the reader goroutine has ended
	closing chan struct{}     // closed by Close
	once    sync.Once
	wg      sync.WaitGroup

	messagesIn, messagesOut, videoMessages atomic.Uint64
	mediaDropped, eventsDropped            atomic.Uint64
	acksSent, pingsAnswered                atomic.Uint64
}

// Dial connects to an RTMP URL (rtmp://host[:port]/app[/...]/stream[?query], see ParseURL):
// TCP (and TLS for rtmps://, see Options.TLSConfig), plain handshake, set chunk size, then connect with the standard properties, the
// caller's ConnectProperties and ConnectArgs. It returns once the server accepted the
// connect. A refused connect returns a *StatusError (Code "NetConnection.Connect.Rejected"
// for a server that says why). The whole of Dial is bounded by ctx and Options.Timeout.
func Dial(ctx context.Context, rawURL string, opts Options) (*Client, error) {
	u, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	opts, err = opts.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := boundContext(ctx, opts.Timeout)
	defer cancel()

	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, fmt.Errorf("rtmpclient: dial %s: %w", u.Host, err)
	}
	if tc, ok := conn.(*net.TCPConn); ok && opts.ReceiveBuffer > 0 {
		if err := tc.SetReadBuffer(opts.ReceiveBuffer); err != nil {
			conn.Close()
			return nil, fmt.Errorf("rtmpclient: receive buffer: %w", err)
		}
	}
	if opts.ReadRate > 0 {
		conn = newThrottledConn(conn, opts.ReadRate)
	}
	if u.TLS {
		if conn, err = dialTLS(ctx, conn, u, opts.TLSConfig); err != nil {
			return nil, err
		}
	}
	c := &Client{
		opts:    opts,
		log:     opts.Logger.With("remote", u.Host),
		url:     *u,
		conn:    conn,
		bc:      bytecounter.NewReadWriter(conn),
		pending: make(map[float64]chan *Command),
		waiters: make(map[*eventWaiter]struct{}),
		media:   make(chan MediaMessage, opts.MediaBuffer),
		events:  make(chan *Event, opts.EventBuffer),
		done:    make(chan struct{}),
		closing: make(chan struct{}),
	}
	if err := c.handshake(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	c.r = rawmessage.NewReader(c.bc, c.bc.Reader, c.sendAck)
	c.w = rawmessage.NewWriter(c.bc, c.bc.Writer, false)
	c.wg.Add(1)
	go c.readLoop()
	if err := c.connect(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// dialTLS runs the TLS client handshake on conn under ctx; it closes conn on failure.
func dialTLS(ctx context.Context, conn net.Conn, u *URL, cfg *tls.Config) (net.Conn, error) {
	if cfg == nil {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg = cfg.Clone()
		cfg.ServerName, _, _ = net.SplitHostPort(u.Host)
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("rtmpclient: TLS handshake with %s: %w", u.Host, err)
	}
	return tc, nil
}

// boundContext applies the Options.Timeout bound to ctx (the earlier deadline wins).
func boundContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout > 0 {
		return context.WithTimeout(ctx, timeout)
	}
	return context.WithCancel(ctx)
}

// handshake runs the plain handshake under ctx's deadline; cancelling ctx interrupts it.
func (c *Client) handshake(ctx context.Context) error {
	if dl, ok := ctx.Deadline(); ok {
		c.conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
	_, _, err := handshake.DoClient(c.bc, false, false)
	if !stop() || err != nil {
		// The connection's deadlines come from ctx: report them as ctx's error, even when the
		// I/O deadline fired a moment before ctx's own timer.
		if cerr := ctx.Err(); cerr != nil {
			err = cerr
		} else if errors.Is(err, os.ErrDeadlineExceeded) {
			err = context.DeadlineExceeded
		}
		return fmt.Errorf("rtmpclient: handshake with %s: %w", c.url.Host, err)
	}
	return c.conn.SetDeadline(time.Time{})
}

// connect raises the chunk size, sends connect and waits for its response.
func (c *Client) connect(ctx context.Context) error {
	if err := c.writeSetChunkSize(c.opts.ChunkSize); err != nil {
		return err
	}
	obj := amf0.Object{
		{Key: "app", Value: c.url.App},
		{Key: "flashVer", Value: c.opts.FlashVer},
		{Key: "tcUrl", Value: c.url.TCURL},
		{Key: "fpad", Value: false},
		{Key: "capabilities", Value: 15.0},
		{Key: "audioCodecs", Value: 3191.0},
		{Key: "videoCodecs", Value: 252.0},
		{Key: "videoFunction", Value: 1.0},
		{Key: "objectEncoding", Value: 0.0},
	}
	obj = mergeProperties(obj, c.opts.ConnectProperties)
	resp, err := c.request(ctx, "connect", chunkStreamCommand, 0, obj, c.opts.ConnectArgs)
	if err != nil {
		return err
	}
	if resp.Name == "_error" {
		return &StatusError{Op: "connect", Status: statusFrom(resp.Arg(0))}
	}
	c.mu.Lock()
	c.connected = ConnectResult{Properties: asObject(resp.Object), Status: statusFrom(resp.Arg(0))}
	c.mu.Unlock()
	if !c.opts.NoWindowAckSize {
		return c.writeMsg(uint32Message(typeWindowAckSize, c.opts.WindowAckSize))
	}
	return nil
}

// mergeProperties replaces properties of base that extra names and appends the others.
func mergeProperties(base, extra amf0.Object) amf0.Object {
	out := append(amf0.Object(nil), base...)
	for _, e := range extra {
		replaced := false
		for i := range out {
			if out[i].Key == e.Key {
				out[i].Value = e.Value
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, e)
		}
	}
	return out
}

// Close closes the connection and waits for the reader goroutine to end. Pending and later
// operations fail with ErrClosed. Close is idempotent and always returns nil.
func (c *Client) Close() error {
	c.once.Do(func() {
		close(c.closing)
		c.conn.Close()
	})
	c.wg.Wait()
	return nil
}

// Done returns a channel closed when the connection has ended (closed by either side, or
// failed). Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended: ErrClosed after Close, a wrapped io.EOF when the
// server closed it, another error for a failure. It returns nil while the connection is up.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// URL returns the parsed URL the client dialed.
func (c *Client) URL() URL { return c.url }

// LocalAddr returns the local address of the TCP connection.
func (c *Client) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// ConnectResult returns what the server answered to connect.
func (c *Client) ConnectResult() ConnectResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected
}

// Metadata returns the properties of the latest onMetaData data message, nil before one
// arrived.
func (c *Client) Metadata() amf0.Object {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.metadata
}

// Stats returns a snapshot of the connection's counters.
func (c *Client) Stats() Stats {
	return Stats{
		BytesIn:       c.bc.Reader.Count(),
		BytesOut:      c.bc.Writer.Count(),
		MessagesIn:    c.messagesIn.Load(),
		MessagesOut:   c.messagesOut.Load(),
		VideoMessages: c.videoMessages.Load(),
		MediaDropped:  c.mediaDropped.Load(),
		EventsDropped: c.eventsDropped.Load(),
		AcksSent:      c.acksSent.Load(),
		PingsAnswered: c.pingsAnswered.Load(),
	}
}

// ReadMedia returns the next media message (*VideoMessage, *AudioMessage or *DataMessage)
// in arrival order. It waits on ctx only. Once the connection has ended and the buffered
// messages are read, it returns the connection's error (see Err).
func (c *Client) ReadMedia(ctx context.Context) (MediaMessage, error) {
	select {
	case m, ok := <-c.media:
		if !ok {
			return nil, c.Err()
		}
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ReadVideo returns the next video message, discarding audio and data messages before it
// (onMetaData is still kept for Metadata). It behaves like ReadMedia otherwise.
func (c *Client) ReadVideo(ctx context.Context) (*VideoMessage, error) {
	for {
		m, err := c.ReadMedia(ctx)
		if err != nil {
			return nil, err
		}
		if v, ok := m.(*VideoMessage); ok {
			return v, nil
		}
	}
}

// ReadEvent returns the next event (onStatus, stream user control events, other server
// commands) in arrival order. It waits on ctx only. Once the connection has ended and the
// buffered events are read, it returns the connection's error.
func (c *Client) ReadEvent(ctx context.Context) (*Event, error) {
	select {
	case e, ok := <-c.events:
		if !ok {
			return nil, c.Err()
		}
		return e, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fail records the first fatal error and closes the connection, which ends the reader (when
// the reader is not the caller). The error is recorded before the close, so that an
// operation failing because of the close can report the cause.
func (c *Client) fail(err error) {
	c.mu.Lock()
	if c.failErr == nil {
		c.failErr = err
	}
	c.mu.Unlock()
	c.conn.Close()
}

// writeMsg writes messages in order under the write lock, with Options.Timeout as the write
// deadline. A failed write leaves the chunk stream in an unknown state, so it ends the
// connection; that is also why a context does not cut writes short.
func (c *Client) writeMsg(msgs ...*rawmessage.Message) error {
	for _, m := range msgs {
		if len(m.Body) > maxMessageSize {
			return fmt.Errorf("rtmpclient: message of %d bytes exceeds the RTMP maximum %d", len(m.Body), maxMessageSize)
		}
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(func() error {
		for _, m := range msgs {
			if err := c.w.Write(m); err != nil {
				return err
			}
			c.messagesOut.Add(1)
		}
		return nil
	})
}

// writeSetChunkSize announces a chunk size and switches the writer to it.
func (c *Client) writeSetChunkSize(size uint32) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(func() error {
		if err := c.w.Write(uint32Message(typeSetChunkSize, size)); err != nil {
			return err
		}
		c.messagesOut.Add(1)
		c.w.SetChunkSize(size)
		return nil
	})
}

// writeLocked runs write with the write deadline set; c.wmu must be held.
func (c *Client) writeLocked(write func() error) error {
	select {
	case <-c.closing:
		return ErrClosed
	case <-c.done:
		return c.Err()
	default:
	}
	c.mu.Lock()
	ferr := c.failErr
	c.mu.Unlock()
	if ferr != nil {
		return ferr
	}
	var dl time.Time
	if c.opts.Timeout > 0 {
		dl = time.Now().Add(c.opts.Timeout)
	}
	c.conn.SetWriteDeadline(dl)
	if err := write(); err != nil {
		select {
		case <-c.closing:
			return ErrClosed
		default:
		}
		c.mu.Lock()
		ferr := c.failErr
		c.mu.Unlock()
		if ferr != nil { // the reader failed first and closed the connection
			return ferr
		}
		err = fmt.Errorf("rtmpclient: write to %s: %w", c.url.Host, err)
		c.fail(err)
		return err
	}
	return nil
}

// sendAck is rawmessage's callback when the bytes read exceed the server's window. It runs
// in the reader goroutine. rawmessage counts bytes as its buffered reader pulls them from the
// socket, and may ask again before more arrived: an unchanged count is not sent twice.
func (c *Client) sendAck(count uint32) error {
	if int32(count-c.lastAck) <= 0 {
		return nil
	}
	c.lastAck = count
	if err := c.writeMsg(uint32Message(typeAcknowledgement, count)); err != nil {
		return err
	}
	c.acksSent.Add(1)
	return nil
}

// register allocates a transaction id and the channel its response will arrive on.
func (c *Client) register() (float64, chan *Command, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, nil, c.err
	}
	c.nextTx++
	tx := float64(c.nextTx)
	ch := make(chan *Command, 1)
	c.pending[tx] = ch
	return tx, ch, nil
}

func (c *Client) unregister(tx float64) {
	c.mu.Lock()
	delete(c.pending, tx)
	c.mu.Unlock()
}

// request sends a command with a fresh transaction id and waits for its _result or _error.
func (c *Client) request(ctx context.Context, name string, csid byte, streamID uint32, obj any, args []any) (*Command, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("rtmpclient: %s: %w", name, err)
	}
	ctx, cancel := boundContext(ctx, c.opts.Timeout)
	defer cancel()
	tx, ch, err := c.register()
	if err != nil {
		return nil, fmt.Errorf("rtmpclient: %s: %w", name, err)
	}
	defer c.unregister(tx)
	msg, err := encodeCommand(csid, streamID, name, tx, obj, args)
	if err != nil {
		return nil, err
	}
	if err := c.writeMsg(msg); err != nil {
		return nil, fmt.Errorf("rtmpclient: %s: %w", name, err)
	}
	select {
	case resp := <-ch:
		return resp, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("rtmpclient: %s: no response: %w", name, ctx.Err())
	case <-c.done:
		select {
		case resp := <-ch: // arrived just before the end
			return resp, nil
		default:
		}
		return nil, fmt.Errorf("rtmpclient: %s: %w", name, c.Err())
	}
}

// readLoop is the reader goroutine.
func (c *Client) readLoop() {
	defer c.wg.Done()
	var err error
	for {
		var msg *rawmessage.Message
		msg, err = c.r.Read()
		if err != nil {
			err = fmt.Errorf("rtmpclient: read from %s: %w", c.url.Host, err)
			break
		}
		c.messagesIn.Add(1)
		if err = c.handle(msg); err != nil {
			break
		}
	}
	c.fail(err) // unless a write failed first, err is why the connection ended
	c.mu.Lock()
	select {
	case <-c.closing:
		c.err = ErrClosed
	default:
		c.err = c.failErr
	}
	err = c.err
	c.mu.Unlock()
	c.log.Debug("rtmpclient: connection ended", "err", err)
	close(c.media)
	close(c.events)
	close(c.done)
}

// handle processes one message in the reader goroutine. An error ends the connection.
func (c *Client) handle(msg *rawmessage.Message) error {
	streamID := wireStreamID(msg.MessageStreamID)
	switch msg.Type {
	case typeSetChunkSize:
		v, err := decodeUint32(msg.Type, msg.Body)
		if err != nil {
			return err
		}
		v &= maxChunkSize
		if v == 0 {
			return fmt.Errorf("%w: set chunk size 0", ErrProtocol)
		}
		if err := c.r.SetChunkSize(v); err != nil {
			return fmt.Errorf("%w: %v", ErrProtocol, err)
		}
	case typeAbort:
		v, err := decodeUint32(msg.Type, msg.Body)
		if err != nil {
			return err
		}
		c.r.AbortChunkStream(v)
	case typeAcknowledgement:
		// The client sends little; there is nothing to throttle.
	case typeWindowAckSize:
		v, err := decodeUint32(msg.Type, msg.Body)
		if err != nil {
			return err
		}
		c.r.SetWindowAckSize(v)
	case typeSetPeerBandwidth:
		// Limits what the client sends; the client sends little.
	case typeUserControl:
		return c.handleUserControl(msg.Body)
	case typeVideo:
		c.videoMessages.Add(1)
		v := &VideoMessage{Timestamp: msg.Timestamp, StreamID: streamID, Body: msg.Body}
		if t, err := ParseVideoTag(msg.Body); err == nil {
			v.VideoTag = t
		}
		return c.deliverMedia(v)
	case typeAudio:
		return c.deliverMedia(&AudioMessage{Timestamp: msg.Timestamp, StreamID: streamID, Body: msg.Body})
	case typeDataAMF0, typeDataAMF3:
		name, vals, err := decodeData(msg.Type, msg.Body)
		if err != nil {
			return err
		}
		d := &DataMessage{Timestamp: msg.Timestamp, StreamID: streamID, Name: name, Values: vals}
		if name == "onMetaData" {
			c.mu.Lock()
			c.metadata = d.Object()
			c.mu.Unlock()
		}
		return c.deliverMedia(d)
	case typeCommandAMF0, typeCommandAMF3:
		cmd, err := decodeCommand(msg.Type, msg.Body)
		if err != nil {
			return err
		}
		cmd.StreamID = streamID
		c.handleCommand(cmd)
	default:
		c.log.Debug("rtmpclient: ignoring message", "type", msg.Type, "stream", streamID, "bytes", len(msg.Body))
	}
	return nil
}

func (c *Client) handleUserControl(body []byte) error {
	u, err := decodeUserControl(body)
	if err != nil {
		return err
	}
	switch u.Event {
	case ucPingRequest:
		if err := c.writeMsg(userControlMessage(userControl{Event: ucPingResponse, Value: u.Value})); err != nil {
			return err
		}
		c.pingsAnswered.Add(1)
	case ucPingResponse, ucSetBufferLength:
	default:
		if k := userControlEvent(u.Event); k != 0 {
			c.deliverEvent(&Event{Kind: k, StreamID: u.StreamID})
		} else {
			c.log.Debug("rtmpclient: ignoring user control event", "event", u.Event)
		}
	}
	return nil
}

func (c *Client) handleCommand(cmd *Command) {
	switch cmd.Name {
	case "_result", "_error":
		c.mu.Lock()
		ch := c.pending[cmd.TransactionID]
		delete(c.pending, cmd.TransactionID)
		c.mu.Unlock()
		if ch == nil {
			c.log.Debug("rtmpclient: response to no pending request", "name", cmd.Name, "tx", cmd.TransactionID)
			return
		}
		ch <- cmd // buffered, and removed from pending: never blocks
	case "onStatus":
		info := cmd.Arg(0)
		if info == nil {
			info = cmd.Object
		}
		c.deliverEvent(&Event{Kind: EventStatus, StreamID: cmd.StreamID, Status: statusFrom(info)})
	default:
		c.deliverEvent(&Event{Kind: EventCommand, StreamID: cmd.StreamID, Command: cmd})
	}
}

// deliverEvent hands an event to the operations waiting on its stream and to ReadEvent,
// never blocking: a full event buffer loses its oldest event.
func (c *Client) deliverEvent(e *Event) {
	c.mu.Lock()
	for w := range c.waiters {
		if w.streamID == e.StreamID || e.StreamID == 0 {
			select {
			case w.ch <- e:
			default:
			}
		}
	}
	c.mu.Unlock()
	select {
	case c.events <- e:
		return
	default:
	}
	select {
	case <-c.events:
		c.eventsDropped.Add(1)
	default:
	}
	select {
	case c.events <- e: // only this goroutine sends: there is room now
	default:
		c.eventsDropped.Add(1)
	}
}

// deliverMedia hands a media message to ReadMedia, waiting while the buffer is full unless
// DropMedia is set.
func (c *Client) deliverMedia(m MediaMessage) error {
	if c.opts.DropMedia {
		select {
		case c.media <- m:
		default:
			c.mediaDropped.Add(1)
		}
		return nil
	}
	select {
	case c.media <- m:
		return nil
	case <-c.closing:
		return ErrClosed
	}
}

// addWaiter subscribes to the events of a stream (and of stream 0).
func (c *Client) addWaiter(streamID uint32) *eventWaiter {
	w := &eventWaiter{streamID: streamID, ch: make(chan *Event, 32)}
	c.mu.Lock()
	c.waiters[w] = struct{}{}
	c.mu.Unlock()
	return w
}

func (c *Client) removeWaiter(w *eventWaiter) {
	c.mu.Lock()
	delete(c.waiters, w)
	c.mu.Unlock()
}
