package rtmpsrv

import (
	"fmt"
	"log/slog"
	"time"
)

// Config configures a Server. The zero value of every field is a documented default.
type Config struct {
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// Codecs makes the video encoders chosen with Stream.UseCodec; nil supports no codec
	// (streams then send what their frame handler returns as is).
	Codecs CodecFactory

	// MaxConns caps simultaneous connections; more are closed at once. Default 1000.
	MaxConns int
	// MaxStreamsPerConn caps the streams one connection may create. Default 8.
	MaxStreamsPerConn int
	// MaxMessageSize caps the size of one incoming message; clients only send commands.
	// Default 64 KiB.
	MaxMessageSize int
	// MaxChunkSize is the largest incoming chunk size a client may set (at least 1).
	// Default 65536.
	MaxChunkSize int
	// ChunkSize is the outgoing chunk size. Default 4096.
	ChunkSize int
	// WindowAckSize is the acknowledgement window announced to clients. Default 2,500,000.
	WindowAckSize int

	// HandshakeTimeout bounds the handshake. Default 5 s.
	HandshakeTimeout time.Duration
	// IdleTimeout closes a connection that has no playing stream and sent nothing for this
	// long. Default 60 s.
	IdleTimeout time.Duration
	// WriteTimeout closes a connection whose writes block longer. Default 10 s.
	WriteTimeout time.Duration

	// SendQueueFrames and SendQueueBytes bound each connection's media queue. When either is
	// reached the frame handler is told the queue is full. Defaults: 6 frames, 4 MiB.
	SendQueueFrames int
	SendQueueBytes  int

	// RenderRate is the default render_rate of a stream (calls per second). Default 30.
	RenderRate float64
	// FrameRate is the video frame rate: the frame loop runs at least this often while a
	// stream plays, and wakes earlier when a render finishes. Default 30.
	FrameRate float64
}

// Limits on configuration values.
const (
	maxRenderRate = 240.0
	minRenderRate = 0.1
)

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
	def(&c.MaxChunkSize, 65536)
	def(&c.ChunkSize, 4096)
	def(&c.WindowAckSize, 2500000)
	def(&c.SendQueueFrames, 6)
	def(&c.SendQueueBytes, 4<<20)
	defd(&c.HandshakeTimeout, 5*time.Second)
	defd(&c.IdleTimeout, 60*time.Second)
	defd(&c.WriteTimeout, 10*time.Second)
	if c.RenderRate == 0 {
		c.RenderRate = 30
	}
	if c.FrameRate == 0 {
		c.FrameRate = 30
	}
	switch {
	case c.MaxConns < 0, c.MaxStreamsPerConn < 0, c.MaxMessageSize < 0:
		return c, fmt.Errorf("rtmpsrv: negative limit in config")
	case c.MaxChunkSize < 1 || c.MaxChunkSize > 1<<24:
		return c, fmt.Errorf("rtmpsrv: MaxChunkSize %d outside [1, 16777216]", c.MaxChunkSize)
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
