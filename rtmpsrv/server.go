// Package rtmpsrv is Rendercast's RTMP server framework. It reproduces the handler model of
// NVIDIA Iray's RTMP server module (mi::rtmp): connect, call, stream, play, pause, render and
// frame handlers, with the frame handler in its own goroutine and told when the outgoing
// queue is full. The wire protocol rests on gortmplib's low-level packages; the session state
// machine, the queues and the loops are ours.
//
// rtmpsrv imports no encoder and no renderer: a CodecFactory in Config supplies encoders,
// and render and frame handlers bring the pictures.
//
// An RTMP port faces the internet, so everything a client sends is bounded (see Config):
// connections, streams per connection, message size (checked in the chunk header by the
// package's own chunk reader, before anything is buffered), chunk streams and bytes held for
// unfinished messages, chunk size, AMF nesting depth, string length and value count,
// commands per second, and the handshake, connect and idle times. A client that breaks a
// bound loses its connection, or for a command gets _error; other clients do not notice.
// Handler panics are recovered and end only the stream or call concerned.
package rtmpsrv

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rendercast/rendercast/internal/access"
)

// Server is an RTMP server (neuray's IServer). Make one with NewServer; several servers in
// one process share nothing.
type Server struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	handlers []ConnectHandler
	ln       net.Listener
	tlsLn    net.Listener
	conns    map[*Conn]struct{}
	placed   int // connections holding a MaxConns place, with a Guard (takePlace)
	started  bool
	tlsOn    bool
	closed   bool
	nextID   atomic.Uint64
	connWG   sync.WaitGroup
	acceptWG sync.WaitGroup
	inShut   chan struct{}
	shutCtx  context.Context // cancelled by Shutdown: ends the waits for a Guard's places
	shutStop context.CancelFunc

	// Totals of closed connections, for Statistics.
	closedTotals ConnStats // the cumulative figures of closed connections
	tags         tagCache  // tag bodies of frames written to many streams (WriteFrame)
	accepted     atomic.Uint64
	acceptedTLS  atomic.Uint64
	tlsFailed    atomic.Uint64
}

// NewServer returns a server configured by cfg (zero fields take their defaults).
func NewServer(cfg Config) (*Server, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	log := c.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	shutCtx, shutStop := context.WithCancel(context.Background())
	return &Server{cfg: c, log: log, conns: map[*Conn]struct{}{}, inShut: make(chan struct{}),
		shutCtx: shutCtx, shutStop: shutStop}, nil
}

// Config returns the server's configuration with defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Install adds a connect handler; handlers are asked in install order.
func (s *Server) Install(h ConnectHandler) {
	if h == nil {
		return
	}
	s.mu.Lock()
	s.handlers = append(s.handlers, h)
	s.mu.Unlock()
}

// Remove removes a connect handler installed earlier. Handlers must be comparable
// (pointers, or named non-func types); a ConnectHandlerFunc cannot be removed.
func (s *Server) Remove(h ConnectHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.handlers {
		if sameHandler(x, h) {
			s.handlers = append(s.handlers[:i:i], s.handlers[i+1:]...)
			return
		}
	}
}

func sameHandler(a, b ConnectHandler) (eq bool) {
	defer func() {
		if recover() != nil { // uncomparable dynamic types (funcs, maps, slices)
			eq = false
		}
	}()
	return a == b
}

func (s *Server) connectHandlers() []ConnectHandler {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ConnectHandler(nil), s.handlers...)
}

// Start listens on address (e.g. "0.0.0.0:1935", "127.0.0.1:0") for plain RTMP and serves
// in the background. A failure to listen is returned at once. Start and StartTLS may be
// used together or alone, each once.
func (s *Server) Start(address string) error {
	return s.listen(address, false)
}

// StartTLS listens on address for RTMPS (RTMP over TLS 1.2 or newer, with Config.TLS) and
// serves in the background, beside or instead of Start's plain listener. TLS connections
// share the plain ones' limits (MaxConns counts both), handlers and statistics; the TLS
// handshake is bounded by HandshakeTimeout like the RTMP one. Without Config.TLS it returns
// ErrNoCertificate.
func (s *Server) StartTLS(address string) error {
	return s.listen(address, true)
}

func (s *Server) listen(address string, useTLS bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrServerClosed
	}
	if (!useTLS && s.started) || (useTLS && s.tlsOn) {
		return ErrServerStarted
	}
	if useTLS && s.cfg.TLS == nil {
		return fmt.Errorf("%w: Config.TLS is nil", ErrNoCertificate)
	}
	ln, err := net.Listen("tcp", address)
	if err != nil {
		return fmt.Errorf("rtmpsrv: listen on %q: %w", address, err)
	}
	kind := "rtmp server listening"
	var tc *tls.Config
	if useTLS {
		s.tlsLn, s.tlsOn, tc = ln, true, s.cfg.TLS
		kind = "rtmps server listening"
	} else {
		s.ln, s.started = ln, true
	}
	s.acceptWG.Add(1)
	go s.acceptLoop(ln, tc)
	s.log.Info(kind, "addr", ln.Addr().String())
	return nil
}

// ListenAddr returns the address the plain RTMP listener listens on, or nil when Start was
// not called.
func (s *Server) ListenAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// ListenAddrTLS returns the address the RTMPS listener listens on, or nil when StartTLS was
// not called.
func (s *Server) ListenAddrTLS() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tlsLn == nil {
		return nil
	}
	return s.tlsLn.Addr()
}

// acceptLoop accepts connections from ln; with tc they are RTMPS connections.
func (s *Server) acceptLoop(ln net.Listener, tc *tls.Config) {
	defer s.acceptWG.Done()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Temporary failures (e.g. out of file descriptors): back off and retry.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("rtmp accept failed", "err", err, "retry_in", delay)
			select {
			case <-time.After(delay):
			case <-s.inShut:
				return
			}
			continue
		}
		delay = 0
		s.mu.Lock()
		g := s.cfg.Guard
		full := g == nil && len(s.conns) >= s.cfg.MaxConns || g != nil && s.placed >= s.cfg.MaxConns
		if full && g != nil && g.CanReclaimIdle(remoteAddr(nc)) {
			full = false // its connect may take an idle connection's place (Guard.ReclaimIdle)
		}
		if s.closed || full {
			closed := s.closed
			s.mu.Unlock()
			switch {
			case closed:
			case g != nil: // counted and logged once per address and interval
				g.Refuse(remoteAddr(nc), access.ReasonFull)
			default:
				s.log.Warn("rtmp connection refused: too many connections", "peer", nc.RemoteAddr().String(), "max_conns", s.cfg.MaxConns)
			}
			nc.Close()
			continue
		}
		s.accepted.Add(1)
		if s.cfg.UnsentBytes > 0 {
			if err := setUnsentBytes(nc, s.cfg.UnsentBytes); err != nil {
				s.log.Debug("rtmp: bounding unsent bytes failed", "err", err)
			}
		}
		if tc != nil {
			s.acceptedTLS.Add(1)
			nc = &tlsConn{Conn: tls.Server(nc, tc), raw: nc}
		}
		c := newConn(s, nc, s.nextID.Add(1))
		s.conns[c] = struct{}{}
		s.connWG.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.connWG.Done()
			c.serve()
			st := c.Stats()
			s.mu.Lock()
			if c.placed {
				s.placed--
			}
			delete(s.conns, c)
			s.closedTotals.add(st)
			s.mu.Unlock()
		}()
	}
}

// takePlace takes one of MaxConns's places for a connection whose connect is being
// decided (with a Guard); false when none is left.
func (s *Server) takePlace() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.placed >= s.cfg.MaxConns {
		return false
	}
	s.placed++
	return true
}

// forcePlace takes a MaxConns place beyond MaxConns, for a connect that closed an idle
// connection whose place is still counted until it has left.
func (s *Server) forcePlace() {
	s.mu.Lock()
	s.placed++
	s.mu.Unlock()
}

// releasePlace gives back a place taken for a connect that was refused.
func (s *Server) releasePlace() {
	s.mu.Lock()
	s.placed--
	s.mu.Unlock()
}

// remoteAddr is the address of a connection's peer, for the Guard.
func remoteAddr(nc net.Conn) netip.Addr { return access.ParseRemote(nc.RemoteAddr().String()) }

// Stats are server-wide figures: connections open and accepted, and the cumulative
// connection figures (bytes, messages, frames, handler panics, failed streams, calls
// refused by the rate limit) summed over every connection since Start.
type Stats struct {
	Connections         int    `json:"connections"`
	ConnectionsAccepted uint64 `json:"connections_accepted"`
	// ConnectionsAcceptedTLS (included in ConnectionsAccepted) came in on RTMPS;
	// TLSHandshakesFailed did not finish their handshake.
	ConnectionsAcceptedTLS uint64 `json:"connections_accepted_tls"`
	TLSHandshakesFailed    uint64 `json:"tls_handshakes_failed"`
	BytesIn                uint64 `json:"bytes_in"`
	BytesOut               uint64 `json:"bytes_out"`
	MessagesIn             uint64 `json:"messages_in"`
	MessagesOut            uint64 `json:"messages_out"`
	FramesSent             uint64 `json:"frames_sent"`
	FramesDropped          uint64 `json:"frames_dropped"`
	HandlerPanics          uint64 `json:"handler_panics"`
	StreamsFailed          uint64 `json:"streams_failed"`
	CallsLimited           uint64 `json:"calls_limited"`
}

// Stats returns the server-wide figures; it reads each open connection once, without
// waiting for any frame.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	conns := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	sum := s.closedTotals
	s.mu.Unlock()
	for _, c := range conns {
		sum.add(c.Stats())
	}
	return Stats{
		Connections: len(conns), ConnectionsAccepted: s.accepted.Load(),
		ConnectionsAcceptedTLS: s.acceptedTLS.Load(), TLSHandshakesFailed: s.tlsFailed.Load(),
		BytesIn: sum.BytesIn, BytesOut: sum.BytesOut, MessagesIn: sum.MessagesIn, MessagesOut: sum.MessagesOut,
		FramesSent: sum.FramesSent, FramesDropped: sum.FramesDropped, HandlerPanics: sum.HandlerPanics,
		StreamsFailed: sum.StreamsFailed, CallsLimited: sum.CallsLimited,
	}
}

// NumConns returns the number of open connections.
func (s *Server) NumConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Shutdown stops accepting at once, asks every connection to end (their streams are
// stopped and the accepting connect handlers told), and waits until they have. When ctx ends
// first, the remaining connections are closed forcibly and ctx.Err() is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.inShut)
	s.shutStop()
	if s.ln != nil {
		s.ln.Close()
	}
	if s.tlsLn != nil {
		s.tlsLn.Close()
	}
	conns := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	s.acceptWG.Wait()

	for _, c := range conns {
		c.shutdown()
	}
	done := make(chan struct{})
	go func() {
		s.connWG.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, c := range conns {
			c.nc.Close()
		}
		<-done
		return ctx.Err()
	}
}
