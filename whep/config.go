package whep

import (
	"fmt"
	"image"
	"log/slog"
	"net"
	"time"

	"github.com/rendercast/rendercast/avc"
)

// VideoEncoder encodes a session's pictures to H.264 (encode.H264Encoder satisfies it). The
// whep package asks it for keyframes (on join, on RTCP PLI/FIR) and changes its bitrate
// (receiver estimate, stream.setBitrate); the Viewer calls Encode from its Frame.
type VideoEncoder interface {
	// Encode encodes one picture presented at pts from the stream start (AVCC output).
	Encode(img image.Image, pts time.Duration) (*avc.Frame, error)
	// RequestKeyframe makes the next frame out an IDR.
	RequestKeyframe()
	// SetBitrate changes the target bitrate (bits/s) from the next frame.
	SetBitrate(bitsPerSecond int) error
	// Close frees the encoder.
	Close() error
}

// EncoderFactory makes the encoder of a new session.
type EncoderFactory interface {
	NewVideoEncoder(s *Session) (VideoEncoder, error)
}

// EncoderFactoryFunc adapts a function to an EncoderFactory.
type EncoderFactoryFunc func(s *Session) (VideoEncoder, error)

// NewVideoEncoder calls f.
func (f EncoderFactoryFunc) NewVideoEncoder(s *Session) (VideoEncoder, error) { return f(s) }

// Viewer is the application side of one session: what it shows and how it answers calls.
// Render and Frame run on the session's render and frame loops (package pacer); Call runs
// on the data channel's goroutine; Close runs once, after the loops have stopped.
type Viewer interface {
	// Render draws the next picture. ErrUnchanged means it had nothing new to draw; any
	// other error ends the session. Session.RenderNow makes the next call come sooner.
	Render() error
	// Frame encodes the latest picture with the session's encoder (Session.VideoEncoder,
	// at Session.Elapsed). With queueFull it should produce nothing: the network is behind.
	// A nil frame sends nothing.
	Frame(queueFull bool) (*avc.Frame, error)
	// Call answers one data-channel call; args are the JSON "args" object.
	Call(name string, args map[string]any) (any, error)
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
	DefaultRate           = 30.0
	DefaultMinBitrate     = 300_000
	DefaultMaxBitrate     = 4_000_000
	DefaultMaxSessions    = 100
	DefaultGatherTimeout  = 5 * time.Second
	DefaultConnectTimeout = 30 * time.Second
)

// Config configures a Server. Viewers and Codecs are required; every other zero value is a
// documented default.
type Config struct {
	// Viewers opens the viewer of each new session.
	Viewers ViewerFactory
	// Codecs makes each session's H.264 encoder, opened at MaxBitrate (Constrained Baseline
	// plays everywhere; sessions offer profile-level-id 42e01f).
	Codecs EncoderFactory
	// Token, when set, must be presented as "Authorization: Bearer <token>" or a "token"
	// query parameter on every request; compared in constant time, never logged.
	Token string
	// Logger receives one line per session start and end; nil discards.
	Logger *slog.Logger
	// RenderRate is the initial render rate (renders/s, a ceiling), default 30.
	RenderRate float64
	// FrameRate is the video frame rate: a frame goes out at least every 1/FrameRate s.
	// Default 30.
	FrameRate float64
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
	// MinBitrate and MaxBitrate (bits/s) bound the bitrate that follows the receiver's
	// estimate (REMB); sessions start at MaxBitrate. Defaults 300 kbit/s and 4 Mbit/s.
	MinBitrate, MaxBitrate int
	// MaxSessions bounds simultaneous sessions, default 100.
	MaxSessions int
	// GatherTimeout bounds ICE candidate gathering before the answer, default 5 s.
	GatherTimeout time.Duration
	// ConnectTimeout ends a session whose peer has not connected in time, default 30 s.
	ConnectTimeout time.Duration
}

func (c Config) withDefaults() (Config, error) {
	if c.Viewers == nil || c.Codecs == nil {
		return c, fmt.Errorf("%w: Viewers and Codecs are required", ErrInvalidConfig)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.RenderRate <= 0 {
		c.RenderRate = DefaultRate
	}
	if c.FrameRate <= 0 {
		c.FrameRate = DefaultRate
	}
	if c.MaxBitrate <= 0 {
		c.MaxBitrate = DefaultMaxBitrate
	}
	if c.MinBitrate <= 0 {
		c.MinBitrate = min(DefaultMinBitrate, c.MaxBitrate)
	}
	if c.MinBitrate > c.MaxBitrate {
		return c, fmt.Errorf("%w: MinBitrate %d above MaxBitrate %d", ErrInvalidConfig, c.MinBitrate, c.MaxBitrate)
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
