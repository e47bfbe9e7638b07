package rtmpsrv

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/rendercast/rendercast/internal/access"
	"github.com/rendercast/rendercast/pacer"
)

// Config configures a Server. The zero value of every field is a documented default.
type Config struct {
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// Codecs makes the video encoders chosen with Stream.UseCodec; nil supports no codec
	// (streams then send what their frame handler returns as is).
	Codecs CodecFactory

	// MaxConns caps simultaneous connections; more are closed at once. Default 1000. With
	// a Guard it counts connected connections only (see Guard).
	MaxConns int
	// Guard, when set, applies per-address budgets to connections that are not connected
	// yet: each new connection is admitted by it before its handshake (it may wait there for
	// a place of its address, within HandshakeTimeout of its arrival, and is closed when
	// refused or evicted) and gives its place back when its connect is accepted. MaxConns
	// then counts connections whose connect was accepted (or is being decided), so that
	// connections in their handshake or connect never take a viewer's place; a connect
	// beyond it gets NetConnection.Connect.Rejected ("server full"), unless a connection of
	// another address that plays nothing, beyond that address's idle budget, can be closed
	// for it (access.Guard.ReclaimIdle). A connected connection playing no stream counts
	// against its address's idle budget (access.Budgets.IdlePerAddress) and may be closed
	// for it. Nil: no per-address
	// budget, and MaxConns counts every connection.
	Guard *access.Guard
	// MaxStreamsPerConn caps the streams one connection may create. Default 8.
	MaxStreamsPerConn int
	// MaxMessageSize caps the size of one incoming message; clients only send commands.
	// It is checked in the chunk header, before any of the body is buffered: a longer
	// message closes the connection. Default 64 KiB.
	MaxMessageSize int
	// MaxChunkStreams caps the distinct chunk stream ids one connection may use (clients use
	// a handful); more close the connection. Default 64.
	MaxChunkStreams int
	// MaxReadBuffer caps the bytes of partly received messages one connection may make the
	// server hold, over all its chunk streams (counted by their declared lengths); more close
	// the connection. At least MaxMessageSize. Default 4 x MaxMessageSize (256 KiB).
	MaxReadBuffer int
	// MaxChunkSize is the largest incoming chunk size a client may set (at least 1); a Set
	// Chunk Size of 0 or above it closes the connection. Default 65536.
	MaxChunkSize int
	// ChunkSize is the outgoing chunk size. Default 4096.
	ChunkSize int
	// WindowAckSize is the acknowledgement window announced to clients. Default 2,500,000.
	WindowAckSize int

	// MaxCallsPerSecond caps the commands (calls, createStream, play, ...) one connection
	// may send per second, with bursts of as many: a command beyond it is not run and gets
	// _error (NetConnection.Call.Failed), and the connection lives on. Default 200 (pointer
	// input at a display's refresh rate fits);
	// negative disables the limit.
	MaxCallsPerSecond float64
	// MaxAMFDepth caps the nesting of objects and arrays in a command; a deeper command is
	// refused with _error. Default 16.
	MaxAMFDepth int
	// MaxAMFString caps the length of every string and object key in a command, in bytes;
	// a longer one makes the command refused with _error. Default 8192. (A command may also
	// hold at most 4096 values and 1 MiB of strings, AMF references counted at each use.)
	MaxAMFString int

	// HandshakeTimeout bounds the handshake, and then again the wait for the connect
	// command. Default 5 s.
	HandshakeTimeout time.Duration
	// IdleTimeout closes a connection that has no playing stream and sent no command for
	// this long (acknowledgements, pings and other messages do not count, nor does a
	// command still arriving). Default 60 s.
	IdleTimeout time.Duration
	// WriteTimeout closes a connection whose writes block longer. Default 10 s.
	WriteTimeout time.Duration

	// SendQueueFrames and SendQueueBytes bound each connection's media queue. When either is
	// reached the frame handler is told the queue is full. Defaults: 6 frames, 4 MiB.
	SendQueueFrames int
	SendQueueBytes  int
	// UnsentBytes bounds the data the kernel holds unsent for each connection
	// (TCP_NOTSENT_LOWAT on Linux), so that a link slower than the stream shows as a growing
	// send queue, which the frame handler (queueFull), rate control (Conn.Link) and the
	// queue bounds act on, instead of seconds of video buffered in the kernel. Data in
	// flight (sent, not yet acknowledged) is not bounded by it. Default 16 KiB; negative
	// leaves the kernel's default (unbounded up to the socket buffer).
	UnsentBytes int

	// TLS configures the RTMPS listener started by Server.StartTLS: a certificate
	// (Certificates, or GetCertificate such as a CertSource's, to replace it while the server
	// runs) and anything else crypto/tls offers. The server keeps a copy, with MinVersion
	// raised to TLS 1.2 when lower and session tickets off (librtmp-based clients fail on a
	// TLS 1.3 ticket). Nil: no RTMPS (StartTLS fails with ErrNoCertificate).
	TLS *tls.Config

	// RenderRate is the default render_rate of a stream (calls per second). Default 30.
	RenderRate float64
	// FrameRate is the video frame rate: the frame loop runs at least this often while a
	// stream plays, and wakes earlier when a render finishes. Default 30.
	FrameRate float64
}

// Limits on configuration values, and defaults used in more than one place.
const (
	defaultMaxAMFDepth  = 16
	defaultMaxAMFString = 8192

	maxRenderRate = float64(pacer.MaxRate)
	minRenderRate = pacer.MinRate
)

func (c Config) chunkLimits() chunkLimits {
	return chunkLimits{maxMessage: uint32(c.MaxMessageSize), maxStreams: c.MaxChunkStreams,
		maxBuffered: c.MaxReadBuffer, maxChunkSize: uint32(c.MaxChunkSize)}
}

func (c Config) amfLimits() amfLimits {
	return amfLimits{maxDepth: c.MaxAMFDepth, maxString: c.MaxAMFString, maxValues: maxAMFValues, maxBytes: maxAMFBytes}
}

func (c Config) withDefaults() (Config, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.MaxConns, 1000)
	def(&c.MaxStreamsPerConn, 8)
	def(&c.MaxMessageSize, 64*1024)
	def(&c.MaxChunkStreams, 64)
	def(&c.MaxReadBuffer, 4*c.MaxMessageSize)
	def(&c.MaxChunkSize, 65536)
	def(&c.MaxAMFDepth, defaultMaxAMFDepth)
	def(&c.MaxAMFString, defaultMaxAMFString)
	def(&c.ChunkSize, 4096)
	def(&c.WindowAckSize, 2500000)
	def(&c.SendQueueFrames, 6)
	def(&c.SendQueueBytes, 4<<20)
	def(&c.UnsentBytes, 16<<10)
	defd(&c.HandshakeTimeout, 5*time.Second)
	defd(&c.IdleTimeout, 60*time.Second)
	defd(&c.WriteTimeout, 10*time.Second)
	if c.MaxCallsPerSecond == 0 {
		c.MaxCallsPerSecond = 200
	}
	if c.RenderRate == 0 {
		c.RenderRate = 30
	}
	if c.FrameRate == 0 {
		c.FrameRate = 30
	}
	if c.TLS != nil {
		tc, err := tlsConfig(c.TLS)
		if err != nil {
			return c, err
		}
		c.TLS = tc
	}
	switch {
	case c.MaxConns < 0, c.MaxStreamsPerConn < 0, c.MaxMessageSize < 0, c.MaxChunkStreams < 0,
		c.MaxAMFDepth < 0, c.MaxAMFString < 0:
		return c, fmt.Errorf("rtmpsrv: negative limit in config")
	case c.MaxMessageSize > 0xffffff:
		return c, fmt.Errorf("rtmpsrv: MaxMessageSize %d above RTMP's 16777215", c.MaxMessageSize)
	case c.MaxReadBuffer < c.MaxMessageSize:
		return c, fmt.Errorf("rtmpsrv: MaxReadBuffer %d below MaxMessageSize %d", c.MaxReadBuffer, c.MaxMessageSize)
	case c.MaxAMFDepth > 64:
		return c, fmt.Errorf("rtmpsrv: MaxAMFDepth %d above 64", c.MaxAMFDepth)
	case math.IsNaN(c.MaxCallsPerSecond) || math.IsInf(c.MaxCallsPerSecond, 0):
		return c, fmt.Errorf("rtmpsrv: MaxCallsPerSecond %g is not a number of calls", c.MaxCallsPerSecond)
	case c.HandshakeTimeout < 0, c.IdleTimeout < 0, c.WriteTimeout < 0:
		return c, fmt.Errorf("rtmpsrv: negative timeout in config")
	case c.MaxChunkSize < 1 || c.MaxChunkSize > 0x7fffffff:
		return c, fmt.Errorf("rtmpsrv: MaxChunkSize %d outside [1, 2147483647]", c.MaxChunkSize)
	case c.ChunkSize < 128 || c.ChunkSize > 65536:
		return c, fmt.Errorf("rtmpsrv: ChunkSize %d outside [128, 65536]", c.ChunkSize)
	case c.SendQueueFrames < 1 || c.SendQueueBytes < 1:
		return c, fmt.Errorf("rtmpsrv: send queue bounds must be positive")
	case c.RenderRate < minRenderRate || c.RenderRate > maxRenderRate:
		return c, fmt.Errorf("rtmpsrv: RenderRate %g outside [%g, %g]", c.RenderRate, minRenderRate, maxRenderRate)
	case c.FrameRate < minRenderRate || c.FrameRate > maxRenderRate:
		return c, fmt.Errorf("rtmpsrv: FrameRate %g outside [%g, %g]", c.FrameRate, minRenderRate, maxRenderRate)
	}
	return c, nil
}
