package app

import (
	"log/slog"
	"net/netip"
	"time"

	"github.com/rendercast/rendercast/internal/access"
	"github.com/rendercast/rendercast/whep"
)

// Config is the streamer's configuration: what cmd/streamer reads from flags, the
// environment and a YAML file. Each field is the setting of the flag of the same name.
type Config struct {
	Listen         string
	ListenTLS      string // RTMPS address; empty: none
	TLSCert        string // PEM certificate chain file for -listen-tls
	TLSKey         string // PEM private key file for -listen-tls
	HTTP           string
	Width          int
	Height         int
	FPS            float64
	BitrateKbps    int
	Encoder        string
	Preset         string
	EncoderThreads int
	GOP            time.Duration
	Scenes         []SceneFile
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
	Detail         string
	Marker         bool
	Animate        string
	ConfigFile     string
	// WebRTC (WHEP) settings.
	ICEServers    []whep.ICEServer
	PublicIPs     []string
	WebRTCPortMin uint16
	WebRTCPortMax uint16
	// Shared sessions.
	Sessions     []SessionSpec // -session NAME=SCENE: created at start, kept with no viewers
	ControlToken string        // -control-token: required to steer shared sessions
	Publish      []PublishSpec // -publish NAME=URL
	PublishAllow []string      // -publish-allow: URL prefixes session.publish may use
	MaxSessions  int           // -max-sessions: sessions open at once (0: no limit)
	// Per-address budgets of clients not yet viewers (-rtmp-conn-rate, -rtmp-pending, ...;
	// zero fields: access's defaults, negative: no limit) and the networks exempt from them.
	RTMPBudgets   access.Budgets
	WebRTCBudgets access.Budgets
	TrustedNets   []netip.Prefix
	// Version is reported by server.info and the status page.
	Version string
}

// SessionSpec is a -session NAME=SCENE.
type SessionSpec struct{ Name, Scene string }

// PublishSpec is a -publish NAME=URL: session NAME's stream pushed to URL.
type PublishSpec struct{ Session, URL string }

// SceneFile is a -scene NAME=PATH: a glTF model served as a scene.
type SceneFile struct{ Name, Path string }
