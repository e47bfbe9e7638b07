package whep

import (
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/rendercast/rendercast/internal/access"
)

// Viewer is the application side of one session: where its frames come from and how it
// answers calls. The application writes frames with Session.WriteFrame once Connected has
// been called (typically by attaching the session to a source of frames shared by several
// viewers). Call runs on the data channel's goroutine; Close runs once, at the end.
type Viewer interface {
	// Connected tells the viewer the peer connected: frames written from now on are sent.
	Connected()
	// Call answers one data-channel call; args are the JSON "args" object.
	Call(name string, args map[string]any) (any, error)
	// KeyframeWanted passes on the receiver's request for a keyframe (RTCP PLI or FIR).
	KeyframeWanted()
	// Estimate passes on the bandwidth estimate of the viewer's link, bits/s: the lower of
	// the receiver's (RTCP REMB) and the sender's own (from transport-wide congestion
	// control feedback), told when it changes by more than 5 %, or after 500 ms.
	Estimate(bitsPerSecond int)
	// Close releases the viewer: the session has ended.
	Close()
}

// ViewerFactory opens the viewer of a new session (Session.Scene names the scene of the
// URL). An error wrapping ErrUnknownScene answers the offer 404; others answer 500.
type ViewerFactory interface {
	NewViewer(s *Session) (Viewer, error)
}

// ViewerFactoryFunc adapts a function to a ViewerFactory.
type ViewerFactoryFunc func(s *Session) (Viewer, error)

// NewViewer calls f.
func (f ViewerFactoryFunc) NewViewer(s *Session) (Viewer, error) { return f(s) }

// ICEServer is a STUN or TURN server offered to the ICE agent (and to WHEP clients in
// Link headers).
type ICEServer struct {
	// URLs like "stun:stun.example.org:3478" or "turn:turn.example.org:3478?transport=udp".
	URLs []string
	// Username and Credential authenticate to a TURN server.
	Username, Credential string
}

// Defaults applied by NewServer to zero-valued Config fields.
const (
	DefaultMaxSessions    = 100
	DefaultGatherTimeout  = 5 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultMinBitrate     = 300_000
	DefaultMaxBitrate     = 10_000_000
	DefaultStartBitrate   = 1_000_000
)

// Config configures a Server. Viewers is required; every other zero value is a documented
// default.
type Config struct {
	// Viewers opens the viewer of each new session.
	Viewers ViewerFactory
	// Token, when set, must be presented as "Authorization: Bearer <token>" or a "token"
	// query parameter on every request; compared in constant time, never logged.
	Token string
	// Logger receives one line per session start and end; nil discards.
	Logger *slog.Logger
	// ICEServers are STUN/TURN servers; none by default (host candidates only, which is
	// enough on a LAN and on loopback).
	ICEServers []ICEServer
	// PublicIPs are added as host candidates for a server behind 1:1 NAT (for example a
	// cloud VM's public address).
	PublicIPs []string
	// LocalIPs restricts host candidates to these local addresses; empty gathers every
	// interface, loopback included.
	LocalIPs []net.IP
	// PortMin and PortMax bound the UDP ports of ICE candidates; zero means any port.
	PortMin, PortMax uint16
	// UDPPort, when not 0, carries every session's ICE traffic on this one UDP port (one
	// socket per local address, sessions told apart by their ICE username): what a
	// container exposes with a single host port. PortMin and PortMax then bound only the
	// sockets of server-reflexive candidates (STUN).
	UDPPort uint16
	// CallRate bounds each session's data-channel calls per second (a token bucket
	// holding one second's worth); 0 allows every call.
	CallRate float64
	// MaxSessions bounds simultaneous sessions, default 100. With a Guard it counts
	// connected sessions only (see Guard).
	MaxSessions int
	// Guard, when set, applies per-address budgets to offers and to sessions whose peer has
	// not connected yet: an offer is admitted by it before anything else is done (it may wait
	// there for a place of its address; refused: 429, or 503 when every place stayed taken,
	// with Retry-After), and its session gives the place back once connected, or is closed
	// when evicted. MaxSessions then counts connected sessions, so that sessions of peers
	// that never connect take no viewer's place; a peer connecting beyond it is closed.
	// Refusals of the Guard are counted and logged by it, not once per request. Nil: no
	// per-address budget, and MaxSessions counts every session.
	Guard *access.Guard
	// GatherTimeout bounds ICE candidate gathering before the answer, default 5 s.
	GatherTimeout time.Duration
	// ConnectTimeout ends a session whose peer has not connected in time, default 10 s.
	ConnectTimeout time.Duration
	// MinBitrate and MaxBitrate (bits/s) bound the sender's bandwidth estimate of a peer
	// that negotiated transport-wide congestion control (transport-cc), which goes to
	// Viewer.Estimate; defaults 300 kbit/s and 10 Mbit/s. MaxBitrate is best the encoder's
	// ceiling.
	MinBitrate, MaxBitrate int
	// StartBitrate is where that estimate starts, default 1 Mbit/s (within the bounds):
	// the estimate rises by about 8 % a second while the link keeps up, and starting above
	// a link loses packets until it falls, which the loss-based part of the estimate then
	// punishes for seconds.
	StartBitrate int
}

func (c Config) withDefaults() (Config, error) {
	if c.Viewers == nil {
		return c, fmt.Errorf("%w: Viewers is required", ErrInvalidConfig)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = DefaultMaxSessions
	}
	if c.GatherTimeout <= 0 {
		c.GatherTimeout = DefaultGatherTimeout
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.MinBitrate < 0 || c.MaxBitrate < 0 || c.StartBitrate < 0 {
		return c, fmt.Errorf("%w: negative bitrate (min %d, max %d, start %d)", ErrInvalidConfig, c.MinBitrate, c.MaxBitrate, c.StartBitrate)
	}
	if c.MinBitrate == 0 {
		c.MinBitrate = DefaultMinBitrate
	}
	if c.MaxBitrate == 0 {
		c.MaxBitrate = max(DefaultMaxBitrate, c.MinBitrate)
	}
	if c.StartBitrate == 0 {
		c.StartBitrate = min(max(DefaultStartBitrate, c.MinBitrate), c.MaxBitrate)
	}
	if c.MinBitrate > c.MaxBitrate || c.StartBitrate < c.MinBitrate || c.StartBitrate > c.MaxBitrate {
		return c, fmt.Errorf("%w: bitrates: want min %d <= start %d <= max %d", ErrInvalidConfig, c.MinBitrate, c.StartBitrate, c.MaxBitrate)
	}
	if (c.PortMin == 0) != (c.PortMax == 0) || c.PortMin > c.PortMax {
		return c, fmt.Errorf("%w: UDP port range %d-%d", ErrInvalidConfig, c.PortMin, c.PortMax)
	}
	for _, ip := range c.PublicIPs {
		if net.ParseIP(ip) == nil {
			return c, fmt.Errorf("%w: public IP %q", ErrInvalidConfig, ip)
		}
	}
	for _, s := range c.ICEServers {
		if len(s.URLs) == 0 {
			return c, fmt.Errorf("%w: an ICE server without URLs", ErrInvalidConfig)
		}
	}
	return c, nil
}
