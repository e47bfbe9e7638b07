package app

import (
	"log/slog"
	"net/netip"
	"time"

	"github.com/rendercast/rendercast/encode"
	"github.com/rendercast/rendercast/internal/access"
	"github.com/rendercast/rendercast/session"
	"github.com/rendercast/rendercast/whep"
)

// Config is the streamer's configuration: what cmd/streamer reads from flags, the
// environment and a YAML file. Each field is the setting of the flag of the same name.
type Config struct {
	Listen      string
	ListenTLS   string // RTMPS address; empty: none
	TLSCert     string // PEM certificate chain file for -listen-tls
	TLSKey      string // PEM private key file for -listen-tls
	HTTP        string
	Width       int
	Height      int
	FPS         float64
	BitrateKbps int
	// MinBitrateKbps is the floor of per-viewer rate control (0: 300 kbit/s, or
	// BitrateKbps when lower); RateControl "off" turns rate control off ("on" or "": on).
	MinBitrateKbps int
	RateControl    string
	Encoder        string
	Preset         string
	EncoderThreads int
	GOP            time.Duration
	Scenes         []SceneFile
	Environments   []SceneFile // -environment NAME=FILE.hdr: for scene.setEnvironment, besides "studio"
	Token          string
	MaxConns       int
	MaxViewers     int
	LogLevel       slog.Level
	LogFormat      string
	Window         bool
	GL             string
	GPUs           []int // nil: all
	GLContexts     int
	Readback       string
	Convert        string
	MSAA           int
	Shading        string
	Shadows        string // -shadows: auto, on or off
	Detail         string
	Marker         bool
	Animate        string
	ConfigFile     string
	// Still pictures and size changes: RefineAfter (0: no refined frames), Adaptive
	// ("on", "off", "auto" or ""; auto and "": on with a software renderer), MaxWidth and
	// MaxHeight (the largest stream.setSize; 0: 3840x2160).
	RefineAfter         time.Duration
	Adaptive            string
	MaxWidth, MaxHeight int
	// WebRTC (WHEP) settings.
	ICEServers    []whep.ICEServer
	PublicIPs     []string
	WebRTCPortMin uint16
	WebRTCPortMax uint16
	// WebRTCUDPPort carries every WebRTC session on this one UDP port (0: a port per
	// session, within WebRTCPortMin..Max when set).
	WebRTCUDPPort uint16
	// Shared sessions.
	Sessions     []SessionSpec // -session NAME=SCENE: created at start, kept with no viewers
	ControlToken string        // -control-token: required to steer shared sessions
	Publish      []PublishSpec // -publish NAME=URL
	PublishAllow []string      // -publish-allow: URL prefixes session.publish may use
	MaxSessions  int           // -max-sessions: sessions open at once (0: no limit)
	// Admin endpoints (/metrics, /status, /status.json).
	AdminListen string // -admin-listen: serve them only on this address; empty: on -http
	AdminToken  string // -admin-token: required to read them (Bearer or ?token=); empty: none
	// Per-address budgets of clients not yet viewers (-rtmp-conn-rate, -rtmp-pending, ...;
	// zero fields: access's defaults, negative: no limit) and the networks exempt from them.
	RTMPBudgets   access.Budgets
	WebRTCBudgets access.Budgets
	TrustedNets   []netip.Prefix
	// Version is reported by server.info and the status page.
	Version string

	// Stopping (see Drain).
	DrainTimeout time.Duration // -drain-timeout: closing the viewers after SIGTERM; 0: DefaultDrainTimeout
	DrainWait    time.Duration // -drain-wait: serving the viewers there after readiness turns false; 0: none
	// OpenEncoder opens an encoder: each session's, and the test encoder readiness opens
	// (see Ready). nil: encode.New. Tests inject encoder failures through it.
	OpenEncoder func(encode.Options) (session.Encoder, error)
}

// SessionSpec is a -session NAME=SCENE.
type SessionSpec struct{ Name, Scene string }

// PublishSpec is a -publish NAME=URL: session NAME's stream pushed to URL.
type PublishSpec struct{ Session, URL string }

// SceneFile is a -scene NAME=PATH: a glTF model served as a scene.
type SceneFile struct{ Name, Path string }
