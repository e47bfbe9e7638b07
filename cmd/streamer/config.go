package main

import (
	"errors"
	"flag"
	"fmt"
	"github.com/rendercast/rendercast/internal/app"
	"io"
	"net"
	"net/netip"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/rendercast/rendercast/render"
	"github.com/rendercast/rendercast/whep"
)

// config is the streamer's configuration (app.Config). Sources, weakest first: defaults,
// the YAML file named by -config (or STREAMER_CONFIG), STREAMER_* environment variables,
// flags.
type config = app.Config

type sceneFile = app.SceneFile

// option is one setting: its flag name (also the YAML key; STREAMER_ + upper snake case for
// the environment), default, help, and how to apply a string value.
type option struct {
	name, def, usage string
	// repeat: the option takes several values (flags given again, a YAML list, a
	// comma-separated environment variable); reset clears its list, so that a stronger
	// source replaces a weaker one's.
	repeat bool
	reset  func(c *config)
	set    func(c *config, v string) error
}

var sceneName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func options() []option {
	return []option{
		{name: "listen", def: ":1935", usage: "RTMP listen address (host:port); empty disables plain RTMP (with -listen-tls set)", set: func(c *config, v string) error {
			if v != "" {
				if _, _, err := splitHostPort(v); err != nil {
					return err
				}
			}
			c.Listen = v
			return nil
		}},
		{name: "listen-tls", def: "", usage: "RTMPS (RTMP over TLS 1.2+) listen address (host:port), with -tls-cert and -tls-key; empty disables", set: func(c *config, v string) error {
			if v != "" {
				if _, _, err := splitHostPort(v); err != nil {
					return err
				}
			}
			c.ListenTLS = v
			return nil
		}},
		{name: "tls-cert", def: "", usage: "PEM certificate chain for -listen-tls (reloaded on SIGHUP)", set: func(c *config, v string) error {
			c.TLSCert = v
			return nil
		}},
		{name: "tls-key", def: "", usage: "PEM private key for -tls-cert (reloaded on SIGHUP)", set: func(c *config, v string) error {
			c.TLSKey = v
			return nil
		}},
		{name: "http", def: ":8080", usage: "HTTP address for the browser viewer (/ and WHEP at /whep/), /metrics, /healthz, /readyz and the status page; empty disables", set: func(c *config, v string) error {
			if v != "" {
				if _, _, err := splitHostPort(v); err != nil {
					return err
				}
			}
			c.HTTP = v
			return nil
		}},
		{name: "admin-listen", def: "", usage: "serve /metrics, /status and /status.json only on this address (host:port), not on -http; empty: on -http", set: func(c *config, v string) error {
			if v != "" {
				if _, _, err := splitHostPort(v); err != nil {
					return err
				}
			}
			c.AdminListen = v
			return nil
		}},
		{name: "admin-token", def: "", usage: "secret required to read /metrics, /status and /status.json (Authorization: Bearer or ?token=); empty: none", set: func(c *config, v string) error {
			c.AdminToken = v
			return nil
		}},
		{name: "size", def: "1280x720", usage: "video size WIDTHxHEIGHT (even numbers, 64..4096)", set: func(c *config, v string) error {
			w, h, ok := strings.Cut(strings.ToLower(v), "x")
			wi, err1 := strconv.Atoi(w)
			hi, err2 := strconv.Atoi(h)
			if !ok || err1 != nil || err2 != nil || wi < 64 || hi < 64 || wi > 4096 || hi > 4096 || wi%2 != 0 || hi%2 != 0 {
				return fmt.Errorf("%q is not WIDTHxHEIGHT with even sides in 64..4096", v)
			}
			c.Width, c.Height = wi, hi
			return nil
		}},
		{name: "fps", def: "30", usage: "frames per second (1..120)", set: func(c *config, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 1 || f > 120 {
				return fmt.Errorf("%q is not a frame rate in 1..120", v)
			}
			c.FPS = f
			return nil
		}},
		{name: "bitrate", def: "4000", usage: "video bitrate in kbit/s (100..100000)", set: func(c *config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 100 || n > 100000 {
				return fmt.Errorf("%q is not a bitrate in 100..100000 kbit/s", v)
			}
			c.BitrateKbps = n
			return nil
		}},
		{name: "min-bitrate", def: "300", usage: "the lowest video bitrate per-viewer rate control goes down to, in kbit/s (50..100000; -bitrate when that is lower)", set: func(c *config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 50 || n > 100000 {
				return fmt.Errorf("%q is not a bitrate in 50..100000 kbit/s", v)
			}
			c.MinBitrateKbps = n
			return nil
		}},
		{name: "rate-control", def: "on", usage: "fit each private viewer's bitrate to its link, between -min-bitrate and -bitrate (RTMP: from its send queue; WebRTC: from congestion control and receiver estimates): on or off", set: func(c *config, v string) error {
			if v != "on" && v != "off" {
				return fmt.Errorf("%q is not on or off", v)
			}
			c.RateControl = v
			return nil
		}},
		{name: "encoder", def: "auto", usage: "H.264 encoder: auto (NVENC if it opens, else x264), libx264 or h264_nvenc", set: func(c *config, v string) error {
			switch v {
			case "auto", "libx264", "h264_nvenc":
				c.Encoder = v
				return nil
			}
			return fmt.Errorf("%q is not auto, libx264 or h264_nvenc", v)
		}},
		{name: "preset", def: "", usage: "encoder preset (x264: ultrafast..veryslow, default ultrafast; NVENC: p1..p7, default p1)", set: func(c *config, v string) error {
			c.Preset = v
			return nil
		}},
		{name: "encoder-threads", def: "0", usage: "threads of each viewer's x264 encoder (slice threads: no added latency); 0 lets x264 choose (one per core); 1 spends the least CPU per viewer when many viewers share the machine", set: func(c *config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 64 {
				return fmt.Errorf("%q is not a thread count from 0 to 64", v)
			}
			c.EncoderThreads = n
			return nil
		}},
		{name: "gop", def: "2s", usage: "keyframe interval (duration, e.g. 2s; or seconds)", set: func(c *config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				f, err2 := strconv.ParseFloat(v, 64)
				if err2 != nil {
					return fmt.Errorf("%q is not a duration", v)
				}
				d = time.Duration(f * float64(time.Second))
			}
			if d < 100*time.Millisecond || d > time.Minute {
				return fmt.Errorf("%q is outside 100ms..1m", v)
			}
			c.GOP = d
			return nil
		}},
		{name: "scene", usage: "add a glTF scene as NAME=PATH.glb (repeatable; demo and testcard are built in)", repeat: true, reset: func(c *config) { c.Scenes = nil }, set: func(c *config, v string) error {
			name, path, ok := strings.Cut(v, "=")
			if !ok || !sceneName.MatchString(name) || path == "" {
				return fmt.Errorf("%q is not NAME=PATH with NAME of letters, digits, - and _", v)
			}
			c.Scenes = append(c.Scenes, sceneFile{Name: name, Path: path})
			return nil
		}},
		{name: "environment", usage: "add an environment for image-based light as NAME=FILE.hdr (Radiance HDR, equirectangular; repeatable; studio is built in), for scene.setEnvironment", repeat: true, reset: func(c *config) { c.Environments = nil }, set: func(c *config, v string) error {
			name, path, ok := strings.Cut(v, "=")
			if !ok || !sceneName.MatchString(name) || path == "" || name == "studio" || name == "none" {
				return fmt.Errorf("%q is not NAME=FILE.hdr with NAME of letters, digits, - and _ (not studio or none)", v)
			}
			c.Environments = append(c.Environments, sceneFile{Name: name, Path: path})
			return nil
		}},
		{name: "token", def: "", usage: "shared secret clients must present (RTMP: tcUrl ?token=, connect property token, or first connect argument; WHEP: Authorization: Bearer or ?token=); empty disables", set: func(c *config, v string) error {
			c.Token = v
			return nil
		}},
		{name: "max-conns", def: "100", usage: "most RTMP connections past their connect at once (connections still in their handshake or connect hold none of these places: -rtmp-pending bounds them)", set: func(c *config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 100000 {
				return fmt.Errorf("%q is not a number in 1..100000", v)
			}
			c.MaxConns = n
			return nil
		}},
		{name: "max-viewers", def: "0", usage: "most viewers playing at once, RTMP and WebRTC together (0: no limit); more are refused (NetStream.Play.Failed, HTTP 503) so that those playing keep their frame rate (docs/PERFORMANCE.md measures what a machine holds)", set: func(c *config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 100000 {
				return fmt.Errorf("%q is not a number in 0..100000", v)
			}
			c.MaxViewers = n
			return nil
		}},
		{name: "max-sessions", def: "0", usage: "most sessions (one render and one encode each) at once, private and shared together (0: no limit); a viewer that would open one more is refused", set: func(c *config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 100000 {
				return fmt.Errorf("%q is not a number in 0..100000", v)
			}
			c.MaxSessions = n
			return nil
		}},
		// Per-address budgets: what one address may hold before its clients are viewers.
		{name: "trusted-nets", def: "", usage: "networks exempt from the per-address budgets, comma-separated CIDRs or addresses (e.g. 10.0.0.0/8,2001:db8::/32); empty: none", set: func(c *config, v string) error {
			c.TrustedNets = nil
			for _, f := range splitList(v) {
				p, err := netip.ParsePrefix(f)
				if err != nil {
					a, err2 := netip.ParseAddr(f)
					if err2 != nil {
						return fmt.Errorf("%q is not a CIDR (10.0.0.0/8) or an address", f)
					}
					p = netip.PrefixFrom(a, a.BitLen())
				}
				c.TrustedNets = append(c.TrustedNets, p.Masked())
			}
			return nil
		}},
		{name: "rtmp-conn-rate", def: "20", usage: "new RTMP connections a second per address (an IPv4 address or an IPv6 /64), in bursts of -rtmp-conn-burst; more are closed at once; 0: no limit", set: rateSetter(func(c *config) *float64 { return &c.RTMPBudgets.Rate })},
		{name: "rtmp-conn-burst", def: "120", usage: "burst of new RTMP connections one address may open at once (a hundred viewers behind one NAT address start together)", set: countSetter(1, func(c *config) *int { return &c.RTMPBudgets.Burst })},
		{name: "rtmp-pending-per-addr", def: "16", usage: "RTMP connections of one address in their handshake or connect at once; more wait for a place (within the 5 s handshake deadline); 0: no limit", set: countSetter(0, func(c *config) *int { return &c.RTMPBudgets.PerAddress })},
		{name: "rtmp-pending", def: "64", usage: "RTMP connections in their handshake or connect at once, all addresses together; when reached, a newcomer from an address holding fewer evicts the newest of the address holding the most; 0: no limit", set: countSetter(0, func(c *config) *int { return &c.RTMPBudgets.Total })},
		{name: "rtmp-idle-per-addr", def: "16", usage: "RTMP connections of one address past their connect that play nothing (steering clients, or connections left idle); beyond it the address's longest idle are closed once idle 5 s, and when -max-conns is reached a newcomer from another address takes such a connection's place at once; 0: no limit", set: countSetter(0, func(c *config) *int { return &c.RTMPBudgets.IdlePerAddress })},
		{name: "whep-offer-rate", def: "10", usage: "WHEP offers a second per address, in bursts of -whep-offer-burst; more get 429; 0: no limit", set: rateSetter(func(c *config) *float64 { return &c.WebRTCBudgets.Rate })},
		{name: "whep-offer-burst", def: "120", usage: "burst of WHEP offers one address may send at once", set: countSetter(1, func(c *config) *int { return &c.WebRTCBudgets.Burst })},
		{name: "webrtc-pending-per-addr", def: "8", usage: "WebRTC sessions of one address whose peer has not connected yet (they are closed after 10 s); more offers wait up to 5 s, then get 429; 0: no limit", set: countSetter(0, func(c *config) *int { return &c.WebRTCBudgets.PerAddress })},
		{name: "webrtc-pending", def: "32", usage: "WebRTC sessions not connected yet, all addresses together (as -rtmp-pending); 0: no limit", set: countSetter(0, func(c *config) *int { return &c.WebRTCBudgets.Total })},
		{name: "session", usage: "create the shared session NAME showing SCENE at start, kept with no viewers (repeatable); viewers join it with ?session=NAME", repeat: true, reset: func(c *config) { c.Sessions = nil }, set: func(c *config, v string) error {
			name, scene, ok := strings.Cut(v, "=")
			if !ok || !sceneName.MatchString(name) || scene == "" {
				return fmt.Errorf("%q is not NAME=SCENE with NAME of 1 to 64 letters, digits, - and _", v)
			}
			c.Sessions = append(c.Sessions, app.SessionSpec{Name: name, Scene: scene})
			return nil
		}},
		{name: "control-token", def: "", usage: "secret a client must present to steer shared sessions (RTMP: tcUrl ?control_token= or connect property control_token; WHEP: ?control_token= or header X-Control-Token); others only watch; empty: every viewer may steer", set: func(c *config, v string) error {
			c.ControlToken = v
			return nil
		}},
		{name: "publish", usage: "push shared session NAME to an RTMP server as NAME=URL (rtmp:// or rtmps://; repeatable), with reconnects", repeat: true, reset: func(c *config) { c.Publish = nil }, set: func(c *config, v string) error {
			name, u, ok := strings.Cut(v, "=")
			if !ok || !sceneName.MatchString(name) || !(strings.HasPrefix(u, "rtmp://") || strings.HasPrefix(u, "rtmps://")) {
				return errors.New("want NAME=rtmp://HOST/APP/STREAM (or rtmps://) with NAME of 1 to 64 letters, digits, - and _ (the value is not repeated here: it may hold a stream key)")
			}
			c.Publish = append(c.Publish, app.PublishSpec{Session: name, URL: u})
			return nil
		}},
		{name: "publish-allow", def: "", usage: "URL prefixes (comma-separated) the session.publish call may push to; empty: calls may not publish (-publish may)", set: func(c *config, v string) error {
			c.PublishAllow = nil
			for _, p := range splitList(v) {
				if !strings.HasPrefix(p, "rtmp://") && !strings.HasPrefix(p, "rtmps://") {
					return fmt.Errorf("%q is not an rtmp:// or rtmps:// prefix", p)
				}
				c.PublishAllow = append(c.PublishAllow, p)
			}
			return nil
		}},
		{name: "log-level", def: "info", usage: "log level: debug, info, warn, error", set: func(c *config, v string) error {
			return c.LogLevel.UnmarshalText([]byte(v))
		}},
		{name: "log-format", def: "text", usage: "log format: text or json", set: func(c *config, v string) error {
			if v != "text" && v != "json" {
				return fmt.Errorf("%q is not text or json", v)
			}
			c.LogFormat = v
			return nil
		}},
		{name: "window", def: "false", usage: "show a preview window of the first viewer (needs a display)", set: boolSetter(func(c *config, b bool) { c.Window = b })},
		{name: "gl", def: "", usage: "force the EGL platform: device or surfaceless (default: device, then surfaceless)", set: func(c *config, v string) error {
			if v != "" && v != "device" && v != "surfaceless" {
				return fmt.Errorf("%q is not device or surfaceless", v)
			}
			c.GL = v
			return nil
		}},
		{name: "gpu", def: "all", usage: "GPUs to render on, numbered as nvidia-smi numbers them: all, or a list such as 0,1 (all: every NVIDIA GPU, else every GPU; software devices such as Mesa's only when no GPU opens, or with -gl surfaceless)", set: func(c *config, v string) error {
			gpus, err := parseGPUs(v)
			if err != nil {
				return err
			}
			c.GPUs = gpus
			return nil
		}},
		{name: "gl-contexts", def: "0", usage: "OpenGL contexts per device, each on its own thread, viewers spread across them; 0 chooses (one per four cores on GPUs, at most 8; one on software renderers)", set: func(c *config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > render.MaxContexts {
				return fmt.Errorf("%q is not a number from 0 to %d", v, render.MaxContexts)
			}
			c.GLContexts = n
			return nil
		}},
		{name: "readback", def: "auto", usage: "how frames come back from the GPU: sync (wait for the frame), pbo (through a pixel buffer, overlapping other viewers' work), or auto (pbo on GPUs, sync on software renderers)", set: func(c *config, v string) error {
			if v != "auto" && v != "sync" && v != "pbo" {
				return fmt.Errorf("%q is not auto, sync or pbo", v)
			}
			c.Readback = v
			return nil
		}},
		{name: "convert", def: "auto", usage: "where RGB becomes I420: gpu (a shader), cpu (in Go, off the GL thread), or auto (gpu on GPUs, cpu on software renderers)", set: func(c *config, v string) error {
			if v != "auto" && v != "gpu" && v != "cpu" {
				return fmt.Errorf("%q is not auto, gpu or cpu", v)
			}
			c.Convert = v
			return nil
		}},
		{name: "msaa", def: "-1", usage: "multisample anti-aliasing samples: 0, 2, 4, 8; -1 picks 4 on GPUs, 0 on software renderers", set: func(c *config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || (n != -1 && n != 0 && n != 2 && n != 4 && n != 8) {
				return fmt.Errorf("%q is not -1, 0, 2, 4 or 8", v)
			}
			c.MSAA = n
			return nil
		}},
		{name: "shading", def: "auto", usage: "lighting: pbr (per pixel), fast (per vertex: the same colours, softer highlights, a fraction of the CPU time on software renderers), or auto (pbr on GPUs, fast on software renderers)", set: func(c *config, v string) error {
			if v != "auto" && v != "pbr" && v != "fast" {
				return fmt.Errorf("%q is not auto, pbr or fast", v)
			}
			c.Shading = v
			return nil
		}},
		{name: "shadows", def: "auto", usage: "the key light's shadows (shadow map, filtered): on, off, or auto (on GPUs; on software renderers in refined still frames only, not while the picture moves)", set: func(c *config, v string) error {
			if v != "auto" && v != "on" && v != "off" {
				return fmt.Errorf("%q is not auto, on or off", v)
			}
			c.Shadows = v
			return nil
		}},
		{name: "detail", def: "auto", usage: "built-in scenes' geometry: full, low (half the segments of curved shapes each way, about a quarter of the demo's triangles: roughly half the scene pass's CPU time on software renderers), or auto (full on GPUs, low on software renderers); glTF scenes are unaffected", set: func(c *config, v string) error {
			if v != "auto" && v != "full" && v != "low" {
				return fmt.Errorf("%q is not auto, full or low", v)
			}
			c.Detail = v
			return nil
		}},
		{name: "animate", def: "auto", usage: "play scene animations (built-in scenes' motion, glTF models' animations): on, off, or auto (on with a GPU, off on software renderers, where a still scene is drawn only when a call changes it)", set: func(c *config, v string) error {
			if v != "auto" && v != "on" && v != "off" {
				return fmt.Errorf("%q is not auto, on or off", v)
			}
			c.Animate = v
			return nil
		}},
		{name: "refine-after", def: "300ms", usage: "after this long without change, draw the picture once refined (PBR shading, full detail, 4 samples per pixel) and send it at high quality; 0 disables", set: func(c *config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 || d > time.Minute {
				return fmt.Errorf("%q is not a duration from 0 to 1m", v)
			}
			c.RefineAfter = d
			return nil
		}},
		{name: "adaptive", def: "auto", usage: "draw moving frames at a lower internal size (0.75, 0.5) while renders cannot hold the frame rate: on, off, or auto (on with a software renderer, off on GPUs)", set: func(c *config, v string) error {
			if v != "auto" && v != "on" && v != "off" {
				return fmt.Errorf("%q is not auto, on or off", v)
			}
			c.Adaptive = v
			return nil
		}},
		{name: "max-size", def: "3840x2160", usage: "largest picture size stream.setSize may ask for, WIDTHxHEIGHT (even numbers, 64..8192)", set: func(c *config, v string) error {
			w, h, ok := strings.Cut(strings.ToLower(v), "x")
			wi, err1 := strconv.Atoi(w)
			hi, err2 := strconv.Atoi(h)
			if !ok || err1 != nil || err2 != nil || wi < 64 || hi < 64 || wi > 8192 || hi > 8192 || wi%2 != 0 || hi%2 != 0 {
				return fmt.Errorf("%q is not WIDTHxHEIGHT with even sides in 64..8192", v)
			}
			c.MaxWidth, c.MaxHeight = wi, hi
			return nil
		}},
		{name: "marker", def: "false", usage: "draw the frame marker (frame counter and scene version) at the bottom edge", set: boolSetter(func(c *config, b bool) { c.Marker = b })},
		{name: "ice-servers", def: "", usage: "WebRTC STUN/TURN servers, comma-separated: stun:HOST:PORT, turn:USER:PASS@HOST:PORT?transport=udp; empty: host candidates only", set: func(c *config, v string) error {
			list, err := parseICEServers(v)
			if err != nil {
				return err
			}
			c.ICEServers = list
			return nil
		}},
		{name: "webrtc-public-ip", def: "", usage: "public IP(s) to offer as WebRTC host candidates behind 1:1 NAT, comma-separated", set: func(c *config, v string) error {
			var ips []string
			for _, f := range splitList(v) {
				if net.ParseIP(f) == nil {
					return fmt.Errorf("%q is not an IP address", f)
				}
				ips = append(ips, f)
			}
			c.PublicIPs = ips
			return nil
		}},
		{name: "webrtc-ports", def: "", usage: "UDP port range MIN-MAX for WebRTC (ICE) candidates; empty: any port", set: func(c *config, v string) error {
			if v == "" {
				c.WebRTCPortMin, c.WebRTCPortMax = 0, 0
				return nil
			}
			lo, hi, ok := strings.Cut(v, "-")
			a, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
			b, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
			if !ok || err1 != nil || err2 != nil || a == 0 || a > b {
				return fmt.Errorf("%q is not a port range MIN-MAX with 0 < MIN <= MAX <= 65535", v)
			}
			c.WebRTCPortMin, c.WebRTCPortMax = uint16(a), uint16(b)
			return nil
		}},
		// One-port WebRTC and stopping (Kubernetes: hostPort, readiness, SIGTERM).
		{name: "webrtc-udp-port", def: "0", usage: "carry every WebRTC session on this one UDP port (ICE UDP mux, a socket per local address; what a container exposes with one hostPort); 0: a port per session (-webrtc-ports)", set: func(c *config, v string) error {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 16)
			if err != nil {
				return fmt.Errorf("%q is not a UDP port from 0 to 65535", v)
			}
			c.WebRTCUDPPort = uint16(n)
			return nil
		}},
		{name: "drain-timeout", def: "5s", usage: "on SIGTERM, how long closing the viewers may take (after -drain-wait): RTMP viewers are told NetStream.Play.UnpublishNotify, WebRTC sessions closed; 1s..60s", set: func(c *config, v string) error {
			d, err := parseSeconds(v, app.MinDrainTimeout, app.MaxDrainTimeout)
			c.DrainTimeout = d
			return err
		}},
		{name: "drain-wait", def: "0s", usage: "on SIGTERM, how long the viewers playing keep their streams after readiness turns false (new viewers are refused), so that load balancers move new viewers first; it ends early when they all leave; 0s..60s", set: func(c *config, v string) error {
			d, err := parseSeconds(v, 0, app.MaxDrainWait)
			c.DrainWait = d
			return err
		}},
	}
}

// parseSeconds reads a duration (5s, 1500ms) or a number of seconds, within lo..hi.
func parseSeconds(v string, lo, hi time.Duration) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		f, err2 := strconv.ParseFloat(v, 64)
		if err2 != nil {
			return 0, fmt.Errorf("%q is not a duration", v)
		}
		d = time.Duration(f * float64(time.Second))
	}
	if d < lo || d > hi {
		return 0, fmt.Errorf("%q is outside %v..%v", v, lo, hi)
	}
	return d, nil
}

// rateSetter sets a per-address rate: a number >= 0, 0 meaning no limit (a negative
// access.Budgets rate).
func rateSetter(field func(*config) *float64) func(*config, string) error {
	return func(c *config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= 0 && f <= 1e6) { // NaN fails both
			return fmt.Errorf("%q is not a rate in 0..1000000 a second", v)
		}
		if f == 0 {
			f = -1
		}
		*field(c) = f
		return nil
	}
}

// countSetter sets a per-address budget: a whole number from least, 0 meaning no limit (a
// negative access.Budgets field).
func countSetter(least int, field func(*config) *int) func(*config, string) error {
	return func(c *config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < least || n > 100000 {
			return fmt.Errorf("%q is not a number in %d..100000", v, least)
		}
		if n == 0 {
			n = -1
		}
		*field(c) = n
		return nil
	}
}

// splitList splits a comma-separated value, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// redactCredentials hides USER:PASS@ in an ICE server URL for error messages.
func redactCredentials(u string) string {
	if i := strings.LastIndex(u, "@"); i >= 0 {
		scheme, _, _ := strings.Cut(u, ":")
		return scheme + ":…@" + u[i+1:]
	}
	return u
}

// parseICEServers reads -ice-servers: STUN/TURN URLs, comma-separated, with TURN
// credentials as USER:PASS@ before the host (turn:alice:s3cret@turn.example.org:3478).
func parseICEServers(v string) ([]whep.ICEServer, error) {
	var out []whep.ICEServer
	for _, f := range splitList(v) {
		scheme, rest, ok := strings.Cut(f, ":")
		switch scheme {
		case "stun", "stuns", "turn", "turns":
		default:
			ok = false
		}
		if !ok || rest == "" {
			return nil, fmt.Errorf("%q is not a stun:, stuns:, turn: or turns: URL", redactCredentials(f))
		}
		s := whep.ICEServer{URLs: []string{f}}
		if cred, host, found := strings.Cut(rest, "@"); found {
			if scheme != "turn" && scheme != "turns" {
				return nil, fmt.Errorf("%q: only TURN servers take USER:PASS@", redactCredentials(f))
			}
			user, pass, ok := strings.Cut(cred, ":")
			if !ok || user == "" || host == "" {
				return nil, fmt.Errorf("TURN server %q: want %s:USER:PASS@HOST:PORT", host, scheme)
			}
			s = whep.ICEServer{URLs: []string{scheme + ":" + host}, Username: user, Credential: pass}
		}
		out = append(out, s)
	}
	return out, nil
}

func boolSetter(f func(*config, bool)) func(*config, string) error {
	return func(c *config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		f(c, b)
		return nil
	}
}

func splitHostPort(v string) (string, int, error) {
	i := strings.LastIndex(v, ":")
	if i < 0 {
		return "", 0, fmt.Errorf("%q is not host:port", v)
	}
	p, err := strconv.Atoi(v[i+1:])
	if err != nil || p < 0 || p > 65535 {
		return "", 0, fmt.Errorf("%q has no valid port", v)
	}
	return v[:i], p, nil
}

func envName(flagName string) string {
	return "STREAMER_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// errHelp is returned when -h was asked for (usage already printed).
var errHelp = flag.ErrHelp

// parseConfig reads the configuration from args, the environment and the optional file.
func parseConfig(args []string, getenv func(string) string, usageOut io.Writer) (*config, error) {
	opts := options()
	byName := map[string]option{}
	for _, o := range opts {
		byName[o.name] = o
	}
	fs := flag.NewFlagSet("streamer", flag.ContinueOnError)
	fs.SetOutput(usageOut)
	flagVals := map[string]*[]string{}
	for _, o := range opts {
		vals := &[]string{}
		flagVals[o.name] = vals
		usage := o.usage + " [env " + envName(o.name) + "]"
		add := func(v string) error {
			*vals = append(*vals, v)
			return nil
		}
		if o.def == "true" || o.def == "false" {
			fs.BoolFunc(o.name, usage+defaultNote(o.def), add) // -window alone means true
		} else {
			fs.Func(o.name, usage+defaultNote(o.def), add)
		}
	}
	var configFile string
	fs.StringVar(&configFile, "config", "", "YAML file with settings (keys are the flag names) [env STREAMER_CONFIG]")
	fs.Usage = func() {
		fmt.Fprintf(usageOut, "Usage: streamer [flags]\n       streamer call [-token T] [-tls-ca FILE] rtmp[s]://HOST:PORT/APP/SCENE PROCEDURE [key=value ...]\n\n"+
			"Renders a 3D scene with OpenGL, encodes it to H.264 and streams it over RTMP and WebRTC.\n"+
			"Watch: ffplay rtmp://127.0.0.1:1935/live/demo\n\nFlags (precedence: flag > environment > config file > default):\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (see streamer -h)", fs.Arg(0))
	}

	c := &config{}
	for _, o := range opts {
		if o.def == "" && o.repeat {
			continue
		}
		if err := o.set(c, o.def); err != nil {
			return nil, fmt.Errorf("default of -%s: %w", o.name, err)
		}
	}
	if configFile == "" {
		configFile = getenv("STREAMER_CONFIG")
	}
	c.ConfigFile = configFile
	if configFile != "" {
		if err := applyFile(c, configFile, byName); err != nil {
			return nil, err
		}
	}
	for _, o := range opts {
		v := getenv(envName(o.name))
		if v == "" {
			continue
		}
		vals := []string{v}
		if o.repeat {
			o.reset(c)
			vals = strings.Split(v, ",")
		}
		for _, x := range vals {
			if err := o.set(c, strings.TrimSpace(x)); err != nil {
				return nil, fmt.Errorf("%s: %w", envName(o.name), err)
			}
		}
	}
	for _, o := range opts {
		vals := *flagVals[o.name]
		if len(vals) == 0 {
			continue
		}
		if o.repeat {
			o.reset(c)
		}
		for _, v := range vals {
			if err := o.set(c, v); err != nil {
				return nil, fmt.Errorf("-%s: %w", o.name, err)
			}
		}
	}
	if err := checkListeners(c); err != nil {
		return nil, err
	}
	return c, nil
}

// checkListeners refuses listener settings that do not go together.
func checkListeners(c *config) error {
	switch {
	case c.TLSCert != "" && c.TLSKey == "":
		return fmt.Errorf("-tls-key: missing (-tls-cert %s needs its key)", c.TLSCert)
	case c.TLSKey != "" && c.TLSCert == "":
		return fmt.Errorf("-tls-cert: missing (-tls-key %s needs its certificate)", c.TLSKey)
	case c.ListenTLS != "" && c.TLSCert == "":
		return fmt.Errorf("-listen-tls %s: needs -tls-cert and -tls-key (PEM files)", c.ListenTLS)
	case c.ListenTLS == "" && c.TLSCert != "":
		return fmt.Errorf("-tls-cert: given without -listen-tls, no RTMPS listener would use it")
	case c.Listen == "" && c.ListenTLS == "":
		return fmt.Errorf("-listen: empty and no -listen-tls: no RTMP listener at all")
	}
	return nil
}

func defaultNote(def string) string {
	if def == "" {
		return ""
	}
	return " (default " + def + ")"
}

func applyFile(c *config, path string, byName map[string]option) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("-config: %w", err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("-config %s: %w", path, err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		o, ok := byName[k]
		if !ok {
			return fmt.Errorf("-config %s: unknown setting %q", path, k)
		}
		var vals []string
		switch v := m[k].(type) {
		case []any:
			if !o.repeat {
				return fmt.Errorf("-config %s: %s takes one value, not a list", path, k)
			}
			for _, x := range v {
				vals = append(vals, fmt.Sprint(x))
			}
		case nil:
			vals = []string{""}
		default:
			vals = []string{fmt.Sprint(v)}
		}
		for _, v := range vals {
			if err := o.set(c, v); err != nil {
				return fmt.Errorf("-config %s: %s: %w", path, k, err)
			}
		}
	}
	return nil
}

// parseGPUs parses -gpu: "all" (nil) or a comma-separated list of distinct GPU numbers.
func parseGPUs(v string) ([]int, error) {
	v = strings.TrimSpace(v)
	if v == "all" || v == "" {
		return nil, nil
	}
	var gpus []int
	seen := map[int]bool{}
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q is not all or a list of GPU numbers such as 0,1", v)
		}
		if seen[n] {
			return nil, fmt.Errorf("GPU %d listed twice in %q", n, v)
		}
		seen[n] = true
		gpus = append(gpus, n)
	}
	return gpus, nil
}
