// Package whep serves viewers over WebRTC with WHEP signalling (WebRTC-HTTP Egress
// Protocol): a client POSTs an SDP offer to /whep/<scene>, gets the answer (ICE candidates
// gathered, no trickle) and a session URL to DELETE when done. Each session sends one H.264
// video track and answers JSON calls on a data channel:
//
//	{"id":1,"name":"camera.orbit","args":{"dx":10}}  ->  {"id":1,"ok":true,"result":...}
//
// Like rtmpsrv, the package is a transport: it knows neither the renderer nor the encoder.
// The application supplies a ViewerFactory (how each session answers calls) and, once the
// peer is connected, writes encoded frames to the session (Session.WriteFrame), typically
// from a source shared by several viewers. Receiver feedback goes to the viewer: keyframe
// requests (RTCP PLI/FIR, at most one per round trip) and bandwidth estimates (the
// receiver's REMB, and the sender's own from transport-wide congestion control feedback,
// whose rate also paces the packets). Lost packets are resent on NACK, on an RTX stream
// when the peer negotiated one.
package whep

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/rendercast/rendercast/internal/access"
)

// maxOfferSize bounds the body of a WHEP POST.
const maxOfferSize = 64 << 10

// Server answers WHEP requests and runs the sessions. Create it with NewServer, mount
// Handler on an HTTP server, and call Shutdown to end every session.
type Server struct {
	cfg   Config
	api   *webrtc.API
	cc    *congestionFactory
	log   *slog.Logger
	token access.Secret // cfg.Token

	mux     ice.UDPMux // Config.UDPPort's sockets; nil without it
	muxOnce sync.Once

	mu       sync.Mutex
	sessions map[string]*Session
	placed   int // connected sessions, with a Guard (takePlace)
	closing  bool
	wg       sync.WaitGroup // sessions not yet fully closed

	started, refused                                 atomic.Uint64
	framesSent, bytesSent, packetsSent, callsLimited atomic.Uint64
	nacks, pliIgnored                                atomic.Uint64
}

// NewServer checks cfg and prepares the WebRTC engine (codecs, interceptors, ICE settings)
// shared by all sessions.
func NewServer(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	mux, err := listenUDPMux(cfg)
	if err != nil {
		return nil, err
	}
	api, ccf, err := newAPI(cfg, mux)
	if err != nil {
		if mux != nil {
			mux.Close()
		}
		return nil, err
	}
	return &Server{cfg: cfg, api: api, cc: ccf, mux: mux, log: cfg.Logger, token: access.NewSecret(cfg.Token), sessions: map[string]*Session{}}, nil
}

func newAPI(cfg Config, mux ice.UDPMux) (*webrtc.API, *congestionFactory, error) {
	m := &webrtc.MediaEngine{}
	for _, c := range []webrtc.RTPCodecParameters{h264Codec, rtxCodec} {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, nil, fmt.Errorf("whep: registering %s: %w", c.MimeType, err)
		}
	}
	for _, uri := range []string{sdp.ABSSendTimeURI, playoutDelayURI} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, nil, fmt.Errorf("whep: header extension %s: %w", uri, err)
		}
	}
	// Interceptors, the first nearest the wire: congestion control (the pacer, and the
	// count of packets sent), transport-wide sequence numbers on every packet sent (so
	// retransmissions are paced and acknowledged too), NACK answers (on the RTX stream when
	// negotiated) and RTCP reports (sender reports, whose echo gives the round trip).
	// Browsers that negotiate transport-cc stop sending REMB; others (and pion peers) keep
	// sending it, and sessions follow the lower of the two estimates.
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, webrtc.RTPCodecTypeVideo)
	ccf := &congestionFactory{start: cfg.StartBitrate, min: cfg.MinBitrate, max: cfg.MaxBitrate}
	reg := &interceptor.Registry{}
	reg.Add(ccf)
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(m, reg); err != nil {
		return nil, nil, fmt.Errorf("whep: transport-cc: %w", err)
	}
	if err := webrtc.ConfigureNack(m, reg); err != nil {
		return nil, nil, fmt.Errorf("whep: NACK: %w", err)
	}
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		return nil, nil, fmt.Errorf("whep: RTCP reports: %w", err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	// A browser gone without a DELETE (tab killed, network lost) is noticed within 15 s.
	se.SetICETimeouts(5*time.Second, 15*time.Second, 2*time.Second)
	// Browsers hide their addresses behind mDNS names; resolving them would send multicast
	// queries. Connectivity checks from the browser reveal its address anyway (peer
	// reflexive candidates), so no mDNS.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if len(cfg.LocalIPs) > 0 {
		ips := append([]net.IP(nil), cfg.LocalIPs...)
		se.SetIPFilter(func(ip net.IP) bool {
			for _, want := range ips {
				if want.Equal(ip) {
					return true
				}
			}
			return false
		})
	}
	if cfg.PortMin != 0 {
		if err := se.SetEphemeralUDPPortRange(cfg.PortMin, cfg.PortMax); err != nil {
			return nil, nil, fmt.Errorf("%w: UDP ports %d-%d: %w", ErrInvalidConfig, cfg.PortMin, cfg.PortMax, err)
		}
	}
	if len(cfg.PublicIPs) > 0 {
		// Append (not replace): local clients keep reaching the private addresses.
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: cfg.PublicIPs, AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteAppend,
		}); err != nil {
			return nil, nil, fmt.Errorf("%w: public IPs %v: %w", ErrInvalidConfig, cfg.PublicIPs, err)
		}
	}
	if mux != nil {
		se.SetICEUDPMux(mux)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), ccf, nil
}

// newPeerConnection builds a session's peer connection and returns its congestion
// control (built by the interceptor registry on the way).
func (s *Server) newPeerConnection(c webrtc.Configuration) (*webrtc.PeerConnection, *congestion, error) {
	s.cc.mu.Lock()
	defer s.cc.mu.Unlock()
	s.cc.made = nil
	pc, err := s.api.NewPeerConnection(c)
	if err != nil {
		if s.cc.made != nil {
			s.cc.made.bwe.Close() // and its pacer
		}
		return nil, nil, err
	}
	if s.cc.made == nil {
		pc.Close()
		return nil, nil, errors.New("whep: no congestion control was built for the peer connection")
	}
	return pc, s.cc.made, nil
}

// listenUDPMux opens Config.UDPPort on every local address host candidates may use
// (loopback included, LocalIPs only when set); nil without UDPPort.
func listenUDPMux(cfg Config) (ice.UDPMux, error) {
	if cfg.UDPPort == 0 {
		return nil, nil
	}
	opts := []ice.UDPMuxFromPortOption{
		ice.UDPMuxFromPortWithLoopback(),
		ice.UDPMuxFromPortWithNetworks(ice.NetworkTypeUDP4, ice.NetworkTypeUDP6),
	}
	if len(cfg.LocalIPs) > 0 {
		ips := append([]net.IP(nil), cfg.LocalIPs...)
		opts = append(opts, ice.UDPMuxFromPortWithIPFilter(func(ip net.IP) bool {
			return slices.ContainsFunc(ips, ip.Equal)
		}))
	}
	mux, err := ice.NewMultiUDPMuxFromPort(int(cfg.UDPPort), opts...)
	if err != nil {
		return nil, fmt.Errorf("whep: UDP port %d: %w", cfg.UDPPort, err)
	}
	if len(mux.GetListenAddresses()) == 0 {
		mux.Close()
		return nil, fmt.Errorf("%w: UDP port %d: no local address to listen on", ErrInvalidConfig, cfg.UDPPort)
	}
	return mux, nil
}

// UDPAddrs returns the addresses Config.UDPPort listens on (none without it).
func (s *Server) UDPAddrs() []net.Addr {
	if s.mux == nil {
		return nil
	}
	return s.mux.GetListenAddresses()
}

// Handler serves WHEP:
//
//	POST   /whep/{scene}        SDP offer in, 201 + answer + Location: /whep/session/{id}
//	DELETE /whep/session/{id}   ends the session (204)
//	OPTIONS on both             CORS preflight (and ICE servers in Link headers)
//
// PATCH (trickle ICE) is answered 405: answers carry every candidate.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /whep/{scene}", s.handleOffer)
	mux.HandleFunc("DELETE /whep/session/{id}", s.handleDelete)
	mux.HandleFunc("PATCH /whep/session/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.cors(w)
		w.Header().Set("Allow", "DELETE, OPTIONS")
		http.Error(w, "trickle ICE is not supported: the answer carries every candidate", http.StatusMethodNotAllowed)
	})
	preflight := func(w http.ResponseWriter, r *http.Request) {
		s.cors(w)
		s.linkICEServers(w)
		w.WriteHeader(http.StatusNoContent)
	}
	mux.HandleFunc("OPTIONS /whep/{scene}", preflight)
	mux.HandleFunc("OPTIONS /whep/session/{id}", preflight)
	return mux
}

func (s *Server) cors(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST, DELETE, PATCH, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Control-Token")
	h.Set("Access-Control-Expose-Headers", "Location, Link")
}

// linkICEServers advertises the configured STUN/TURN servers (WHEP's Link rel=ice-server).
func (s *Server) linkICEServers(w http.ResponseWriter) {
	for _, is := range s.cfg.ICEServers {
		for _, u := range is.URLs {
			v := "<" + u + `>; rel="ice-server"`
			if is.Username != "" {
				v += fmt.Sprintf(`; username=%q; credential=%q; credential-type="password"`, is.Username, is.Credential)
			}
			w.Header().Add("Link", v)
		}
	}
}

// authorized checks the token in the Authorization header (Bearer) or the token query
// parameter, in constant time.
func (s *Server) authorized(r *http.Request) bool {
	return s.token.Match(access.FromRequest(r, access.KeyToken, "")...)
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, code int, err error) {
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="rendercast"`)
	}
	s.refused.Add(1)
	// r.URL.Path only: the query may hold the token.
	s.log.Info("whep request refused", "method", r.Method, "path", r.URL.Path, "peer", r.RemoteAddr, "status", code, "err", err)
	http.Error(w, err.Error(), code)
}

// refuse answers a request the Guard refused, or found no place for: counted, and logged
// by the Guard once per address and interval instead of here.
func (s *Server) refuse(w http.ResponseWriter, code int, err error) {
	s.refused.Add(1)
	w.Header().Set("Retry-After", "1")
	http.Error(w, err.Error(), code)
}

func (s *Server) handleOffer(w http.ResponseWriter, r *http.Request) {
	s.cors(w)
	// The Guard's place, released unless a session takes it over; evicting the client
	// cancels evictCtx, which closes its session. It comes before the token check, so that
	// the offer rate also bounds how fast one address can try tokens.
	evictCtx, evict := context.WithCancel(context.Background())
	addr := access.ParseRemote(r.RemoteAddr)
	pending, err := s.cfg.Guard.Admit(r.Context(), addr, evict)
	if err != nil {
		evict()
		code := http.StatusTooManyRequests
		if errors.Is(err, access.ErrBusy) {
			code = http.StatusServiceUnavailable
		}
		s.refuse(w, code, err)
		return
	}
	kept := false
	defer func() {
		if !kept {
			pending.Done()
			evict()
		}
	}()
	if !s.authorized(r) {
		s.fail(w, r, http.StatusUnauthorized, ErrUnauthorized)
		return
	}
	if ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); !strings.EqualFold(strings.TrimSpace(ct), "application/sdp") {
		s.fail(w, r, http.StatusUnsupportedMediaType, fmt.Errorf("%w: Content-Type %q, want application/sdp", ErrBadOffer, ct))
		return
	}
	// MaxBytesReader, not a LimitReader: the server closes the connection after a 413
	// instead of reading the rest of an oversize body.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxOfferSize))
	if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
		s.fail(w, r, http.StatusRequestEntityTooLarge, fmt.Errorf("%w: more than %d bytes", ErrBadOffer, tooLarge.Limit))
		return
	}
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, fmt.Errorf("%w: reading the body: %v", ErrBadOffer, err))
		return
	}
	if err := checkOffer(body); err != nil {
		s.fail(w, r, http.StatusBadRequest, err)
		return
	}
	sess, err := s.newSession(r, r.PathValue("scene"), string(body), pending, evictCtx, evict)
	switch {
	case errors.Is(err, ErrUnknownScene):
		s.fail(w, r, http.StatusNotFound, err)
		return
	case errors.Is(err, ErrBadOffer), errors.Is(err, ErrBadRequest):
		s.fail(w, r, http.StatusBadRequest, err)
		return
	case errors.Is(err, ErrTooManySessions) && s.cfg.Guard != nil:
		s.cfg.Guard.Refuse(addr, access.ReasonFull)
		s.refuse(w, http.StatusServiceUnavailable, err)
		return
	case errors.Is(err, ErrTooManySessions), errors.Is(err, ErrClosed):
		s.fail(w, r, http.StatusServiceUnavailable, err)
		return
	case err != nil:
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	kept = true // the session gives the Guard's place back
	s.started.Add(1)
	loc := "/whep/session/" + sess.id
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", loc)
	w.Header().Set("ETag", `"`+sess.id+`"`)
	s.linkICEServers(w)
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, sess.answer)
}

// checkOffer parses an offer and makes sure it can receive H.264 video.
func checkOffer(offer []byte) error {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(string(offer)); err != nil {
		return fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != "video" {
			continue
		}
		for _, a := range m.Attributes {
			if a.Key == "rtpmap" && strings.Contains(strings.ToUpper(a.Value), " H264/90000") {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: no video section offering H264/90000", ErrBadOffer)
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	s.cors(w)
	if !s.authorized(r) {
		s.fail(w, r, http.StatusUnauthorized, ErrUnauthorized)
		return
	}
	s.mu.Lock()
	sess := s.sessions[r.PathValue("id")]
	s.mu.Unlock()
	if sess == nil {
		http.Error(w, "no such session", http.StatusNotFound)
		return
	}
	sess.Close("deleted by the client")
	w.WriteHeader(http.StatusNoContent)
}

// add registers a session unless the server is closing or full.
func (s *Server) add(sess *Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return ErrClosed
	}
	if s.fullLocked() {
		return fmt.Errorf("%w: %d open", ErrTooManySessions, s.openLocked())
	}
	s.sessions[sess.id] = sess
	s.wg.Add(1)
	return nil
}

// openLocked is what MaxSessions counts: every session, or with a Guard the connected ones.
func (s *Server) openLocked() int {
	if s.cfg.Guard != nil {
		return s.placed
	}
	return len(s.sessions)
}

func (s *Server) fullLocked() bool { return s.openLocked() >= s.cfg.MaxSessions }

// takePlace takes one of MaxSessions's places for a session whose peer connected (with a
// Guard); false when none is left.
func (s *Server) takePlace() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fullLocked() {
		return false
	}
	s.placed++
	return true
}

func (s *Server) releasePlace() {
	s.mu.Lock()
	s.placed--
	s.mu.Unlock()
}

// remove forgets a session; it calls wg.Done once per added session.
func (s *Server) remove(sess *Session) {
	s.mu.Lock()
	_, ok := s.sessions[sess.id]
	delete(s.sessions, sess.id)
	s.mu.Unlock()
	if ok {
		s.wg.Done()
	}
}

// Sessions returns the open sessions, oldest first.
func (s *Server) Sessions() []*Session {
	s.mu.Lock()
	out := make([]*Session, 0, len(s.sessions))
	for _, x := range s.sessions {
		out = append(out, x)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].created.Before(out[j].created) })
	return out
}

// ServerStats are the server's counters.
type ServerStats struct {
	// Sessions open; SessionsStarted answered; RequestsRefused (token, scene, offer,
	// capacity).
	Sessions        int    `json:"sessions"`
	SessionsStarted uint64 `json:"sessions_started"`
	RequestsRefused uint64 `json:"requests_refused"`
	// FramesSent, PacketsSent and PayloadBytesOut (without RTP/SRTP overhead) went to
	// peers; CallsLimited are data-channel calls refused by Config.CallRate.
	FramesSent      uint64 `json:"frames_sent"`
	PacketsSent     uint64 `json:"packets_sent"`
	PayloadBytesOut uint64 `json:"payload_bytes_out"`
	CallsLimited    uint64 `json:"calls_limited"`
	// NACKs counts packets receivers asked again for, RetransmittedPackets those resent,
	// PLIIgnored keyframe requests not passed on (within a round trip of the last one).
	NACKs                uint64 `json:"nacks"`
	RetransmittedPackets uint64 `json:"retransmitted_packets"`
	PLIIgnored           uint64 `json:"pli_ignored"`
}

// Stats returns the server's counters.
func (s *Server) Stats() ServerStats {
	s.mu.Lock()
	open := len(s.sessions)
	s.mu.Unlock()
	return ServerStats{
		Sessions: open, SessionsStarted: s.started.Load(), RequestsRefused: s.refused.Load(),
		FramesSent: s.framesSent.Load(), PacketsSent: s.packetsSent.Load(), PayloadBytesOut: s.bytesSent.Load(),
		CallsLimited: s.callsLimited.Load(),
		NACKs:        s.nacks.Load(), RetransmittedPackets: s.cc.resent.Load(), PLIIgnored: s.pliIgnored.Load(),
	}
}

// Shutdown refuses new offers, ends every session and waits until they are closed, or
// until ctx ends (then it returns ctx.Err()). Config.UDPPort's sockets close with it.
func (s *Server) Shutdown(ctx context.Context) error {
	defer s.closeMux()
	s.mu.Lock()
	s.closing = true
	list := make([]*Session, 0, len(s.sessions))
	for _, x := range s.sessions {
		list = append(list, x)
	}
	s.mu.Unlock()
	for _, x := range list {
		go x.Close("server shutting down")
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// closeMux closes Config.UDPPort's sockets, once.
func (s *Server) closeMux() {
	s.muxOnce.Do(func() {
		if s.mux != nil {
			s.mux.Close()
		}
	})
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
