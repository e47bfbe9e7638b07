package whep

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/internal/access"
)

// queueFrames bounds the frames waiting for the network. A frame written while it is full
// is dropped, and the session then takes nothing but a keyframe (WriteFrame asks for one),
// so no reference picture goes missing.
const queueFrames = 3

// Session is one WebRTC viewer: a peer connection with one H.264 track and a data channel
// for calls, its viewer, and the queue of frames written to it. Its methods are safe for
// concurrent use.
type Session struct {
	srv     *Server
	id      string
	scene   string
	peer    string
	query   url.Values
	header  http.Header
	created time.Time
	log     *slog.Logger
	answer  string

	pc     *webrtc.PeerConnection
	cc     *congestion
	track  *videoTrack
	viewer Viewer
	calls  *access.Limiter

	wantKey atomic.Bool
	queue   chan *avc.Frame
	done    chan struct{}
	wg      sync.WaitGroup // writer and RTCP reader

	pending   *access.Pending    // the Guard's place until the peer connects
	evict     context.CancelFunc // the Guard's eviction (cancels evictCtx)
	stopEvict func() bool        // unregisters the close on eviction

	mu        sync.Mutex
	start     time.Time // connected; zero before
	connected bool
	placed    bool // holds a MaxSessions place (with a Guard)
	closed    bool
	timer     *time.Timer
	closeOnce sync.Once

	est estimates // what Viewer.Estimate was told
	rtt roundTrip

	pli, fir, remb, callCount, callsLimited, queueDrops atomic.Uint64
	nacks, pliIgnored, pacerWaits                       atomic.Uint64
	rembBps                                             atomic.Int64
}

// ID returns the session's id (the last element of its URL).
func (s *Session) ID() string { return s.id }

// Scene returns the scene named in the offer's URL.
func (s *Session) Scene() string { return s.scene }

// Query returns the offer URL's query parameters (the token removed).
func (s *Session) Query() url.Values { return s.query }

// Header returns a header of the offer request (Authorization removed).
func (s *Session) Header(name string) string { return s.header.Get(name) }

// RemoteAddr returns the address the offer came from.
func (s *Session) RemoteAddr() string { return s.peer }

// Created returns when the offer was answered.
func (s *Session) Created() time.Time { return s.created }

// WriteFrame queues a frame for the peer without blocking (session.Sink). It returns true
// when the session wants a keyframe: the peer is not connected yet, or the session waits
// for a keyframe (at the start, after a drop, after the track was bound) and f is not one,
// or the queue is full (f is dropped). Every keyframe must carry its Config.
func (s *Session) WriteFrame(f *avc.Frame) (wantKeyframe bool) {
	if f == nil {
		return false
	}
	s.mu.Lock()
	ok := s.connected && !s.closed
	s.mu.Unlock()
	if !ok {
		return true
	}
	if s.wantKey.Load() && !f.Keyframe {
		return true
	}
	select {
	case s.queue <- f:
		if f.Keyframe {
			s.wantKey.Store(false)
		}
		return s.wantKey.Load()
	default:
		s.queueDrops.Add(1)
		s.wantKey.Store(true)
		return true
	}
}

// End closes the session because its source of frames stopped (session.Ender). It never
// blocks.
func (s *Session) End(err error) {
	reason := "source ended"
	if err != nil {
		reason = "source failed: " + err.Error()
	}
	go s.Close(reason)
}

// QueueFull reports whether a frame written now would be dropped.
func (s *Session) QueueFull() bool { return len(s.queue) >= cap(s.queue) }

// newSession builds a session for an offer: viewer, peer connection, answer with every
// ICE candidate gathered.
// pending is the Guard's place (nil without one), which the session gives back when its
// peer connects or it ends; evictCtx ends when the Guard evicts it.
func (srv *Server) newSession(r *http.Request, scene, offer string, pending *access.Pending, evictCtx context.Context, evict context.CancelFunc) (_ *Session, err error) {
	ctx := r.Context()
	srv.mu.Lock()
	full, closing := srv.fullLocked(), srv.closing
	srv.mu.Unlock()
	if closing {
		return nil, ErrClosed
	}
	if full {
		return nil, ErrTooManySessions // checked again, exactly, in add
	}
	query := r.URL.Query()
	query.Del("token")
	header := r.Header.Clone()
	header.Del("Authorization")
	s := &Session{srv: srv, id: newID(), scene: scene, peer: r.RemoteAddr, query: query, header: header,
		created: time.Now(), calls: access.NewLimiter(srv.cfg.CallRate, nil),
		queue: make(chan *avc.Frame, queueFrames), done: make(chan struct{}), est: estimates{throttle: estimateEvery}}
	s.wantKey.Store(true)
	s.log = srv.log.With("session", s.id[:8], "scene", scene, "peer", s.peer)
	defer func() {
		if err != nil {
			s.closeOnce.Do(func() {
				s.mu.Lock()
				s.closed = true
				if s.timer != nil {
					s.timer.Stop()
				}
				s.mu.Unlock()
				s.teardown()
			})
		}
	}()
	if err := safe("viewer factory", func() error { v, err := srv.cfg.Viewers.NewViewer(s); s.viewer = v; return err }); err != nil {
		return nil, err
	}
	if s.viewer == nil {
		return nil, errors.New("whep: the viewer factory returned no viewer")
	}

	var ice []webrtc.ICEServer
	for _, is := range srv.cfg.ICEServers {
		ice = append(ice, webrtc.ICEServer{URLs: is.URLs, Username: is.Username, Credential: is.Credential})
	}
	s.pc, s.cc, err = srv.newPeerConnection(webrtc.Configuration{ICEServers: ice})
	if err != nil {
		return nil, fmt.Errorf("whep: peer connection: %w", err)
	}
	s.cc.bwe.OnTargetBitrateChange(func(int) { s.senderEstimate() })
	var rnd [6]byte
	rand.Read(rnd[:])
	s.track = newVideoTrack("video", "rendercast", binary.BigEndian.Uint16(rnd[:2]), binary.BigEndian.Uint32(rnd[2:]), func() {
		s.wantKey.Store(true)
		// With transport-cc the estimate follows the link, and the pacer its rate;
		// without, nothing would move the estimate from its start.
		s.cc.pacer.setPacing(s.track.stats().transportCC)
	})
	sender, err := s.pc.AddTrack(s.track)
	if err != nil {
		return nil, fmt.Errorf("whep: adding the video track: %w", err)
	}
	s.pc.OnConnectionStateChange(s.onState)
	s.pc.OnDataChannel(s.onDataChannel)
	s.wg.Add(1)
	go s.readRTCP(sender) // ends when the peer connection closes
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	answer, err := s.pc.CreateAnswer(nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	gathered := webrtc.GatheringCompletePromise(s.pc)
	if err := s.pc.SetLocalDescription(answer); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	select {
	case <-gathered:
	case <-time.After(srv.cfg.GatherTimeout):
		s.log.Warn("ICE gathering not complete: answering with the candidates so far", "timeout", srv.cfg.GatherTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.answer = s.pc.LocalDescription().SDP
	s.mu.Lock()
	s.timer = time.AfterFunc(srv.cfg.ConnectTimeout, func() {
		s.mu.Lock()
		ok := s.connected
		s.mu.Unlock()
		if !ok {
			s.Close(fmt.Sprintf("peer did not connect within %v", srv.cfg.ConnectTimeout))
		}
	})
	s.mu.Unlock()
	if err := srv.add(s); err != nil {
		return nil, err
	}
	s.pending, s.evict = pending, evict
	s.stopEvict = context.AfterFunc(evictCtx, func() { s.Close("evicted: its address held more sessions not connected") })
	s.log.Info("webrtc session offered")
	return s, nil
}

func (s *Session) onState(st webrtc.PeerConnectionState) {
	s.log.Debug("webrtc connection state", "state", st.String())
	switch st {
	case webrtc.PeerConnectionStateConnected:
		s.startLoops()
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		go s.Close("connection " + st.String())
	}
}

// startLoops starts the writer once the peer is connected and tells the viewer, whose
// frames are sent from then on (a keyframe first).
func (s *Session) startLoops() {
	s.mu.Lock()
	if s.closed || s.connected {
		s.mu.Unlock()
		return
	}
	if g := s.srv.cfg.Guard; g != nil {
		if !s.srv.takePlace() {
			s.mu.Unlock()
			g.Refuse(access.ParseRemote(s.peer), access.ReasonFull)
			go s.Close(fmt.Sprintf("server full: %d sessions connected", s.srv.cfg.MaxSessions))
			return
		}
		s.placed = true
	}
	s.connected = true
	s.start = time.Now()
	s.wantKey.Store(true)
	s.wg.Add(1)
	go s.writeLoop()
	s.mu.Unlock()
	s.pending.Promote()
	if strings.Contains(s.answer, sdp.TransportCCURI) {
		// The estimate's start, before the first frame: the viewer's encoder follows
		// the estimate from now on.
		s.senderEstimate()
	}
	safe("viewer connected", func() error { s.viewer.Connected(); return nil })
	s.log.Info("webrtc session connected")
}

// writeLoop sends queued frames until the session closes.
func (s *Session) writeLoop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.done:
			return
		case f := <-s.queue:
			if !s.waitPacer() {
				return
			}
			packets, bytes, err := s.track.writeFrame(f)
			if err != nil {
				s.log.Debug("webrtc frame not sent", "err", err)
				s.wantKey.Store(true)
				continue
			}
			if packets == 0 {
				continue // not bound yet: a keyframe follows the binding
			}
			s.srv.framesSent.Add(1)
			s.srv.packetsSent.Add(uint64(packets))
			s.srv.bytesSent.Add(uint64(bytes))
		}
	}
}

// waitPacer holds the writer while the pacer's queue needs more than maxPacerBacklog to
// drain; false when the session closed meanwhile.
func (s *Session) waitPacer() bool {
	if s.cc.pacer.backlog() <= maxPacerBacklog {
		return true
	}
	s.pacerWaits.Add(1)
	tick := time.NewTicker(pacerStep)
	defer tick.Stop()
	for s.cc.pacer.backlog() > maxPacerBacklog {
		select {
		case <-s.done:
			return false
		case <-tick.C:
		}
	}
	return true
}

// readRTCP acts on the receiver's feedback: keyframes on PLI and FIR (once per round
// trip), the estimate on REMB, the round trip and loss from receiver reports. NACKs are
// answered by the interceptors, and only counted here.
func (s *Session) readRTCP(sender *webrtc.RTPSender) {
	defer s.wg.Done()
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		now := time.Now()
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.PictureLossIndication:
				s.pli.Add(1)
				s.keyframeWanted(now)
			case *rtcp.FullIntraRequest:
				s.fir.Add(1)
				s.keyframeWanted(now)
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				s.remb.Add(1)
				s.rembBps.Store(int64(p.Bitrate))
				s.tellEstimate(now, int(min(p.Bitrate, float32(1<<31-1))), 0)
			case *rtcp.ReceiverReport:
				s.receptionReports(now, p.Reports)
			case *rtcp.SenderReport:
				s.receptionReports(now, p.Reports)
			case *rtcp.TransportLayerNack:
				for _, n := range p.Nacks {
					s.nacks.Add(uint64(len(n.PacketList())))
					s.srv.nacks.Add(uint64(len(n.PacketList())))
				}
			}
		}
	}
}

func (s *Session) receptionReports(now time.Time, reports []rtcp.ReceptionReport) {
	ssrc := s.track.stats().ssrc
	for _, r := range reports {
		if r.SSRC == ssrc {
			s.rtt.report(now, r)
		}
	}
}

// keyframeWanted passes a keyframe request on, unless one was passed on within a round
// trip (the receiver could not have seen the keyframe yet).
func (s *Session) keyframeWanted(now time.Time) {
	if !s.rtt.keyframeWanted(now) {
		s.pliIgnored.Add(1)
		s.srv.pliIgnored.Add(1)
		return
	}
	safe("keyframe wanted", func() error { s.viewer.KeyframeWanted(); return nil })
}

// senderEstimate passes the congestion controller's new estimate on, no lower than
// Config.MinBitrate (the loss-based part of the estimate is not bounded by it).
func (s *Session) senderEstimate() {
	s.tellEstimate(time.Now(), 0, max(s.cc.bwe.GetTargetBitrate(), s.srv.cfg.MinBitrate))
}

// tellEstimate records a receiver's (remb) or the sender's estimate, and tells the viewer
// the lower of the two when it changed enough.
func (s *Session) tellEstimate(now time.Time, remb, sender int) {
	bps, tell := s.est.update(now, remb, sender)
	if !tell {
		return
	}
	select {
	case <-s.done:
		return // the viewer is closed, or about to be
	default:
	}
	safe("estimate", func() error { s.viewer.Estimate(bps); return nil })
}

func (s *Session) onDataChannel(dc *webrtc.DataChannel) {
	dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		id, name, args, err := parseCall(msg.Data)
		var res any
		if err == nil {
			if !s.calls.Allow() {
				s.callsLimited.Add(1)
				s.srv.callsLimited.Add(1)
				err = ErrCallLimit
			} else {
				s.callCount.Add(1)
				res, err = s.call(name, args)
			}
		}
		if err := dc.SendText(string(encodeResponse(id, res, err))); err != nil {
			s.log.Debug("call answer not sent", "name", name, "err", err)
		}
	})
}

func (s *Session) call(name string, args map[string]any) (res any, err error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	err = safe("call "+name, func() error {
		var err error
		res, err = s.viewer.Call(name, args)
		return err
	})
	return res, err
}

// Stats are a session's figures.
type Stats struct {
	ID              string  `json:"id"`
	Scene           string  `json:"scene"`
	Peer            string  `json:"peer"`
	State           string  `json:"state"`
	Connected       bool    `json:"connected"`
	Seconds         float64 `json:"seconds"`
	StreamSeconds   float64 `json:"stream_seconds"`
	FramesSent      uint64  `json:"frames_sent"`
	KeyframesSent   uint64  `json:"keyframes_sent"`
	PacketsSent     uint64  `json:"packets_sent"`
	PayloadBytesOut uint64  `json:"payload_bytes_out"`
	FramesUnbound   uint64  `json:"frames_unbound"`
	FramesDropped   uint64  `json:"frames_dropped"`
	PLI             uint64  `json:"pli"`
	FIR             uint64  `json:"fir"`
	REMB            uint64  `json:"remb"`
	REMBBps         int64   `json:"remb_bps"`
	// TransportCC: the peer negotiated transport-wide congestion control, so EstimateBps
	// (the sender's delay- and loss-based estimate) follows its link and paces the packets;
	// without it EstimateBps is 0. The viewer is told the lower of it and REMBBps.
	TransportCC bool  `json:"transport_cc"`
	EstimateBps int64 `json:"estimate_bps"`
	// PacerDelayMs is how long packets waited in the pacer (smoothed), PacerDelayMaxMs the
	// longest; PacerWaits counts frames held while its queue was over 500 ms.
	PacerDelayMs    float64 `json:"pacer_delay_ms"`
	PacerDelayMaxMs float64 `json:"pacer_delay_max_ms"`
	PacerWaits      uint64  `json:"pacer_waits"`
	// PacerInputBps is the media rate coming into the pacer (paced, 0 otherwise);
	// PacerDropped counts retransmissions dropped because its queue was over 500 ms.
	PacerInputBps int64  `json:"pacer_input_bps"`
	PacerDropped  uint64 `json:"pacer_dropped"`
	// RTTMs is the round trip from receiver reports (0 before one); Loss the fraction of
	// packets the last one reported lost.
	RTTMs float64 `json:"rtt_ms"`
	Loss  float64 `json:"loss"`
	// NACKs counts packets the receiver asked again for; RetransmittedPackets those resent
	// (on the RTX stream when RTX is true).
	NACKs                uint64 `json:"nacks"`
	RetransmittedPackets uint64 `json:"retransmitted_packets"`
	RTX                  bool   `json:"rtx"`
	// PLIIgnored counts keyframe requests (PLI, FIR) not passed on: they came within a
	// round trip of the last one passed on.
	PLIIgnored    uint64 `json:"pli_ignored"`
	Calls         uint64 `json:"calls"`
	CallsLimited  uint64 `json:"calls_limited"`
	CandidatePair string `json:"candidate_pair,omitempty"`
	Transport     string `json:"transport"`
}

// Stats returns the session's figures: connection state, frames, packets and bytes sent,
// receiver feedback.
func (s *Session) Stats() Stats {
	ts := s.track.stats()
	s.mu.Lock()
	connected, start := s.connected, s.start
	s.mu.Unlock()
	st := Stats{
		Transport: "webrtc", ID: s.id, Scene: s.scene, Peer: s.peer,
		State: s.pc.ConnectionState().String(), Connected: connected,
		Seconds:    time.Since(s.created).Seconds(),
		FramesSent: ts.frames, KeyframesSent: ts.keyframes, PacketsSent: ts.packets, PayloadBytesOut: ts.bytes,
		FramesUnbound: ts.unboundDrops, FramesDropped: s.queueDrops.Load(),
		PLI: s.pli.Load(), FIR: s.fir.Load(), REMB: s.remb.Load(), REMBBps: s.rembBps.Load(),
		Calls: s.callCount.Load(), CallsLimited: s.callsLimited.Load(),
	}
	if ts.transportCC {
		st.TransportCC, st.EstimateBps = true, int64(s.cc.bwe.GetTargetBitrate())
	}
	ps := s.cc.pacer.stats()
	st.PacerDelayMs, st.PacerDelayMaxMs, st.PacerInputBps, st.PacerDropped = ms(ps.delay), ms(ps.maxDelay), int64(ps.inputBps), ps.dropped
	st.PacerWaits = s.pacerWaits.Load()
	st.RTTMs, st.Loss = ms(time.Duration(s.rtt.rtt.Load())), float64(s.rtt.loss.Load())/256
	st.NACKs, st.RetransmittedPackets, st.RTX = s.nacks.Load(), s.cc.sent.resent.Load(), ts.rtxSSRC != 0
	st.PLIIgnored = s.pliIgnored.Load()
	if !start.IsZero() {
		st.StreamSeconds = time.Since(start).Seconds()
	}
	if sctp := s.pc.SCTP(); sctp != nil && sctp.Transport() != nil && sctp.Transport().ICETransport() != nil {
		if pair, err := sctp.Transport().ICETransport().GetSelectedCandidatePair(); err == nil && pair != nil {
			st.CandidatePair = pair.String()
		}
	}
	return st
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Close ends the session: peer connection closed, viewer released. It returns at once
// when already closed.
func (s *Session) Close(reason string) {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		timer, placed := s.timer, s.placed
		s.placed = false
		s.mu.Unlock()
		if timer != nil {
			timer.Stop()
		}
		ts := s.track.stats()
		s.teardown()
		s.srv.remove(s)
		if placed {
			s.srv.releasePlace()
		}
		if s.stopEvict != nil {
			s.stopEvict()
		}
		if s.evict != nil {
			s.evict()
		}
		s.pending.Done()
		s.log.Info("webrtc session ended", "reason", reason, "seconds", time.Since(s.created).Round(time.Millisecond).Seconds(), "frames", ts.frames)
	})
}

// teardown releases what newSession built.
func (s *Session) teardown() {
	close(s.done)
	if s.pc != nil {
		if err := s.pc.Close(); err != nil {
			s.log.Debug("closing the peer connection", "err", err)
		}
	}
	s.wg.Wait()
	if s.viewer != nil {
		safe("viewer close", func() error { s.viewer.Close(); return nil })
	}
}

// safe runs f, turning a panic into an error, so a bug in a viewer ends one session, not
// the process.
func safe(what string, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("whep: %s panicked: %v\n%s", what, r, debug.Stack())
		}
	}()
	return f()
}
