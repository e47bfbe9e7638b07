package whep

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/pacer"
)

// queueFrames bounds the frames waiting for the network. The frame loop produces nothing
// while it is full (the viewer is told queueFull), so no frame is ever dropped from it and
// no reference picture goes missing.
const queueFrames = 3

// Session is one WebRTC viewer: a peer connection with one H.264 track and a data channel
// for calls, its encoder, its viewer and its render and frame loops. Its methods are safe
// for concurrent use.
type Session struct {
	srv     *Server
	id      string
	scene   string
	peer    string
	created time.Time
	log     *slog.Logger
	answer  string

	pc      *webrtc.PeerConnection
	track   *videoTrack
	viewer  Viewer
	enc     VideoEncoder
	bitrate *bitrateControl

	renderRate atomic.Uint64 // float64 bits
	wantKey    atomic.Bool
	queue      chan *avc.Frame
	done       chan struct{}
	wg         sync.WaitGroup // writer and RTCP reader

	mu        sync.Mutex
	loops     *pacer.Pacer
	start     time.Time // loops started (pts 0); zero before
	connected bool
	closed    bool
	timer     *time.Timer
	closeOnce sync.Once

	pli, fir, remb, calls, queueDrops atomic.Uint64
}

// ID returns the session's id (the last element of its URL).
func (s *Session) ID() string { return s.id }

// Scene returns the scene named in the offer's URL.
func (s *Session) Scene() string { return s.scene }

// RemoteAddr returns the address the offer came from.
func (s *Session) RemoteAddr() string { return s.peer }

// Created returns when the offer was answered.
func (s *Session) Created() time.Time { return s.created }

// VideoEncoder returns the session's encoder (nil while the ViewerFactory runs).
func (s *Session) VideoEncoder() VideoEncoder { return s.enc }

// Elapsed returns the time since the session's loops started: the pts of a frame made now.
func (s *Session) Elapsed() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.start.IsZero() {
		return 0
	}
	return time.Since(s.start)
}

// RenderRate returns the current render rate (renders per second, a ceiling).
func (s *Session) RenderRate() float64 { return math.Float64frombits(s.renderRate.Load()) }

// SetRenderRate changes the render rate; it takes effect from the next render.
func (s *Session) SetRenderRate(fps float64) error {
	if !(fps > 0) || math.IsInf(fps, 0) {
		return fmt.Errorf("whep: render rate %g: want a positive number", fps)
	}
	s.renderRate.Store(math.Float64bits(fps))
	return nil
}

// SetBitrate sets the session's bitrate ceiling (bits/s): the encoder follows the
// receiver's estimate up to it.
func (s *Session) SetBitrate(bps int) error { return s.bitrate.setCeiling(bps) }

// RequestKeyframe makes the next frame an IDR.
func (s *Session) RequestKeyframe() { s.enc.RequestKeyframe() }

// RenderNow asks for a render as soon as the render rate allows, because what the session
// shows changed (a call): at once when no render is running, else right after the one
// under way (pacer.Pacer.Kick). It does nothing before the peer is connected and never
// blocks for long.
func (s *Session) RenderNow() {
	s.mu.Lock()
	loops := s.loops
	s.mu.Unlock()
	if loops != nil {
		loops.Kick()
	}
}

// newSession builds a session for an offer: viewer, encoder, peer connection, answer with
// every ICE candidate gathered.
func (srv *Server) newSession(ctx context.Context, scene, peer, offer string) (_ *Session, err error) {
	srv.mu.Lock()
	full, closing := len(srv.sessions) >= srv.cfg.MaxSessions, srv.closing
	srv.mu.Unlock()
	if closing {
		return nil, ErrClosed
	}
	if full {
		return nil, ErrTooManySessions // checked again, exactly, in add
	}
	s := &Session{srv: srv, id: newID(), scene: scene, peer: peer, created: time.Now(),
		queue: make(chan *avc.Frame, queueFrames), done: make(chan struct{})}
	s.log = srv.log.With("session", s.id[:8], "scene", scene, "peer", peer)
	s.renderRate.Store(math.Float64bits(srv.cfg.RenderRate))
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
	var enc VideoEncoder
	if err := safe("encoder factory", func() error { e, err := srv.cfg.Codecs.NewVideoEncoder(s); enc = e; return err }); err != nil {
		return nil, fmt.Errorf("whep: encoder: %w", err)
	}
	if enc == nil {
		return nil, errors.New("whep: the encoder factory returned no encoder")
	}
	s.enc = enc
	s.bitrate = newBitrateControl(srv.cfg.MinBitrate, srv.cfg.MaxBitrate, enc.SetBitrate)

	var ice []webrtc.ICEServer
	for _, is := range srv.cfg.ICEServers {
		ice = append(ice, webrtc.ICEServer{URLs: is.URLs, Username: is.Username, Credential: is.Credential})
	}
	s.pc, err = srv.api.NewPeerConnection(webrtc.Configuration{ICEServers: ice})
	if err != nil {
		return nil, fmt.Errorf("whep: peer connection: %w", err)
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	s.track = newVideoTrack("video", "rendercast", binary.BigEndian.Uint16(rnd[:2]), binary.BigEndian.Uint32(rnd[2:]), func() { s.wantKey.Store(true) })
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

// startLoops starts the writer and the render and frame loops once the peer is connected,
// with a keyframe first.
func (s *Session) startLoops() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.connected {
		return
	}
	s.connected = true
	s.start = time.Now()
	s.wantKey.Store(true)
	s.wg.Add(1)
	go s.writeLoop()
	s.loops = pacer.Start(context.Background(), pacer.Config{
		RenderRate:    s.RenderRate,
		FrameInterval: time.Duration(float64(time.Second) / s.srv.cfg.FrameRate),
		Render:        func() error { return safe("render", s.viewer.Render) },
		Frame:         s.produceFrame,
		Failed: func(which string, err error) {
			go s.Close(fmt.Sprintf("%s failed: %v", which, err))
		},
	})
	s.log.Info("webrtc session connected")
}

// produceFrame is the frame loop's body: a keyframe if one is wanted, then a frame from
// the viewer unless the send queue is full.
func (s *Session) produceFrame() error {
	if s.wantKey.Swap(false) {
		s.enc.RequestKeyframe()
	}
	full := len(s.queue) >= cap(s.queue)
	var f *avc.Frame
	err := safe("frame", func() error {
		var err error
		f, err = s.viewer.Frame(full)
		return err
	})
	if err != nil || f == nil {
		return err
	}
	select {
	case s.queue <- f:
	default: // cannot happen with one producer; if it does, restart from a keyframe
		s.queueDrops.Add(1)
		s.wantKey.Store(true)
	}
	return nil
}

// writeLoop sends queued frames until the session closes.
func (s *Session) writeLoop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.done:
			return
		case f := <-s.queue:
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

// readRTCP acts on the receiver's feedback: keyframes on PLI and FIR, bitrate on REMB.
func (s *Session) readRTCP(sender *webrtc.RTPSender) {
	defer s.wg.Done()
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.PictureLossIndication:
				s.pli.Add(1)
				s.enc.RequestKeyframe()
			case *rtcp.FullIntraRequest:
				s.fir.Add(1)
				s.enc.RequestKeyframe()
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				s.remb.Add(1)
				if err := s.bitrate.estimated(int(p.Bitrate)); err != nil {
					s.log.Warn("bitrate change failed", "bps", int(p.Bitrate), "err", err)
				}
			}
		}
	}
}

func (s *Session) onDataChannel(dc *webrtc.DataChannel) {
	dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		id, name, args, err := parseCall(msg.Data)
		var res any
		if err == nil {
			s.calls.Add(1)
			res, err = s.call(name, args)
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

// Statistics returns the session's figures: connection state, frames, packets and bytes
// sent, receiver feedback, bitrate and render rate.
func (s *Session) Statistics() map[string]any {
	ts := s.track.stats()
	est, cur, ceil := s.bitrate.figures()
	s.mu.Lock()
	connected, start := s.connected, s.start
	s.mu.Unlock()
	st := map[string]any{
		"transport":         "webrtc",
		"id":                s.id,
		"scene":             s.scene,
		"peer":              s.peer,
		"state":             s.pc.ConnectionState().String(),
		"connected":         connected,
		"seconds":           time.Since(s.created).Seconds(),
		"frames_sent":       ts.frames,
		"keyframes_sent":    ts.keyframes,
		"packets_sent":      ts.packets,
		"payload_bytes_out": ts.bytes,
		"frames_unbound":    ts.unboundDrops,
		"pli":               s.pli.Load(),
		"fir":               s.fir.Load(),
		"remb":              s.remb.Load(),
		"remb_bps":          est,
		"bitrate_bps":       cur,
		"bitrate_max_bps":   ceil,
		"render_rate":       s.RenderRate(),
		"calls":             s.calls.Load(),
	}
	if !start.IsZero() {
		st["stream_seconds"] = time.Since(start).Seconds()
	}
	if sctp := s.pc.SCTP(); sctp != nil && sctp.Transport() != nil && sctp.Transport().ICETransport() != nil {
		if pair, err := sctp.Transport().ICETransport().GetSelectedCandidatePair(); err == nil && pair != nil {
			st["candidate_pair"] = pair.String()
		}
	}
	return st
}

// Close ends the session: loops stopped, peer connection closed, viewer and encoder
// released. It returns at once when already closed. It must not be called from the
// viewer's Render or Frame.
func (s *Session) Close(reason string) {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		loops, timer := s.loops, s.timer
		s.mu.Unlock()
		if timer != nil {
			timer.Stop()
		}
		if loops != nil {
			loops.Stop()
		}
		ts := s.track.stats()
		s.teardown()
		s.srv.remove(s)
		s.log.Info("webrtc session ended", "reason", reason, "seconds", time.Since(s.created).Round(time.Millisecond).Seconds(), "frames", ts.frames)
	})
}

// teardown releases what newSession built; the loops must have stopped.
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
	if s.enc != nil {
		s.enc.Close()
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
