package rtmpsrv

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/rawmessage"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/pacer"
)

// PropertyRenderRate is the reserved stream property holding the render rate (calls of the
// render handler per second, a decimal number in [0.1, 240]).
const PropertyRenderRate = "render_rate"

// UserPropertyPrefix starts every user-defined stream property key.
const UserPropertyPrefix = "user_"

// Stream is one NetStream a client created (neuray's IStream). Handlers receive it; it is
// valid only during the handler call. Keep Conn().ID() and ID() to refer to it later.
type Stream struct {
	conn    *Conn
	id      uint32
	log     *slog.Logger
	created atomic.Bool

	mu         sync.Mutex
	name       string
	props      map[string]string
	renderRate float64
	render     RenderHandler
	frame      FrameHandler
	play       PlayHandler
	pause      PauseHandler
	codec      string
	enc        VideoEncoder
	start      time.Time

	// opMu serialises play, stop, pause and removal, whichever goroutine asks.
	opMu    sync.Mutex
	playing atomic.Bool
	paused  atomic.Bool
	loops   *pacer.Pacer
	kicks   atomic.Pointer[pacer.Pacer] // loops, for RenderNow without opMu
	gen     uint64
	wantKey atomic.Bool

	// Send state, guarded by sendMu: the frame loop (or WriteFrame) and play use it.
	sendMu       sync.Mutex
	pushBase     time.Duration // DTS of the first frame written since play (WriteFrame)
	pushStarted  bool
	config       []byte
	sentConfig   []byte
	needKey      bool
	keyRequested bool
	lastTS       uint32
	tsStarted    bool   // lastTS is a frame's
	tsBase       uint32 // added to every timestamp (tests use it to cross 2^24 ms)

	framesSent, framesDropped, renders atomic.Uint64
}

func newStream(c *Conn, id uint32) *Stream {
	return &Stream{
		conn:       c,
		id:         id,
		log:        c.log.With("stream", id),
		props:      map[string]string{},
		renderRate: c.srv.cfg.RenderRate,
	}
}

// ID returns the stream's message stream id, unique within its connection.
func (s *Stream) ID() uint32 { return s.id }

// Conn returns the stream's connection (e.g. to register stream-specific call handlers).
func (s *Stream) Conn() *Conn { return s.conn }

// Name returns the stream name from the client's play command ("" before play).
func (s *Stream) Name() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.name
}

// RegisterRenderHandler sets the render handler; nil removes it.
func (s *Stream) RegisterRenderHandler(h RenderHandler) { s.mu.Lock(); s.render = h; s.mu.Unlock() }

// RegisterFrameHandler sets the frame handler; nil removes it.
func (s *Stream) RegisterFrameHandler(h FrameHandler) { s.mu.Lock(); s.frame = h; s.mu.Unlock() }

// RegisterPlayHandler sets the play handler; nil removes it.
func (s *Stream) RegisterPlayHandler(h PlayHandler) { s.mu.Lock(); s.play = h; s.mu.Unlock() }

// RegisterPauseHandler sets the pause handler; nil removes it.
func (s *Stream) RegisterPauseHandler(h PauseHandler) { s.mu.Lock(); s.pause = h; s.mu.Unlock() }

// SetProperty sets a stream property. The reserved key "render_rate" takes a number in
// [0.1, 240]; user keys start with "user_". Anything else is ErrInvalidProperty.
func (s *Stream) SetProperty(key, value string) error {
	switch {
	case key == PropertyRenderRate:
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || pacer.CheckRate(v) != nil {
			return fmt.Errorf("%w: %s=%q, want a number in [%g, %g]", ErrInvalidProperty, key, value, minRenderRate, maxRenderRate)
		}
		return s.SetRenderRate(v)
	case strings.HasPrefix(key, UserPropertyPrefix):
		if err := checkProperty(key, value); err != nil {
			return err
		}
		s.mu.Lock()
		s.props[key] = value
		s.mu.Unlock()
		return nil
	}
	return fmt.Errorf("%w: unknown key %q (reserved: %s; user keys start with %q)", ErrInvalidProperty, key, PropertyRenderRate, UserPropertyPrefix)
}

// Property returns a stream property; render_rate is always set.
func (s *Stream) Property(key string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if key == PropertyRenderRate {
		return strconv.FormatFloat(s.renderRate, 'g', -1, 64), true
	}
	v, ok := s.props[key]
	return v, ok
}

// SetRenderRate sets how often the render handler is called (calls per second, in
// [0.1, 240]; ErrInvalidProperty otherwise), from the next render on.
func (s *Stream) SetRenderRate(fps float64) error {
	if err := pacer.CheckRate(fps); err != nil {
		return fmt.Errorf("%w: %s=%g: %w", ErrInvalidProperty, PropertyRenderRate, fps, err)
	}
	s.mu.Lock()
	s.renderRate = fps
	s.mu.Unlock()
	return nil
}

// RenderRate returns the stream's render rate in calls per second.
func (s *Stream) RenderRate() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.renderRate
}

// UseCodec chooses the stream's video codec ("h264") and makes its encoder through the
// server's CodecFactory, replacing (and closing) an earlier one.
func (s *Stream) UseCodec(name string) error {
	f := s.conn.srv.cfg.Codecs
	if f == nil {
		return fmt.Errorf("%w: %q (no codec factory configured)", ErrUnsupportedCodec, name)
	}
	enc, err := f.NewVideoEncoder(name, s)
	if err != nil {
		return fmt.Errorf("%w: %q: %w", ErrUnsupportedCodec, name, err)
	}
	if enc == nil {
		return fmt.Errorf("%w: %q", ErrUnsupportedCodec, name)
	}
	s.mu.Lock()
	old := s.enc
	s.enc, s.codec = enc, name
	s.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

// Codec returns the codec chosen with UseCodec, or "".
func (s *Stream) Codec() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codec
}

// VideoEncoder returns the encoder of the chosen codec, or nil.
func (s *Stream) VideoEncoder() VideoEncoder {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enc
}

// Elapsed returns the time since the stream started playing: the natural presentation time
// of the frame being produced.
func (s *Stream) Elapsed() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.start.IsZero() {
		return 0
	}
	return time.Since(s.start)
}

// Playing reports whether the stream is playing (paused or not).
func (s *Stream) Playing() bool { return s.playing.Load() }

// Paused reports whether the stream is paused.
func (s *Stream) Paused() bool { return s.paused.Load() }

// RenderNow asks for a render as soon as the render rate allows, because what the stream
// shows changed (a call): at once when no render is running, else right after the one
// under way (pacer.Pacer.Kick). It does nothing unless the stream plays; it never blocks,
// and may be called from any goroutine, handlers included.
func (s *Stream) RenderNow() {
	if p := s.kicks.Load(); p != nil {
		p.Kick()
	}
}

// StreamStats are a stream's figures.
type StreamStats struct {
	FramesSent    uint64  `json:"frames_sent"`
	FramesDropped uint64  `json:"frames_dropped"`
	Renders       uint64  `json:"renders"`
	RenderRate    float64 `json:"render_rate"`
	Playing       bool    `json:"playing"`
	Paused        bool    `json:"paused"`
	ElapsedS      float64 `json:"elapsed_s"`
}

// Stats returns the stream's figures: frames sent and dropped, renders, render rate,
// playing and paused flags, time since play.
func (s *Stream) Stats() StreamStats {
	return StreamStats{
		FramesSent: s.framesSent.Load(), FramesDropped: s.framesDropped.Load(), Renders: s.renders.Load(),
		RenderRate: s.RenderRate(), Playing: s.playing.Load(), Paused: s.paused.Load(),
		ElapsedS: s.Elapsed().Seconds(),
	}
}

// PlayHandler returns the stream's play handler (nil when none is registered).
func (s *Stream) PlayHandler() PlayHandler {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.play
}

func (s *Stream) handlers() (RenderHandler, FrameHandler, PlayHandler, PauseHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.render, s.frame, s.play, s.pause
}

func (s *Stream) sendStatus(level, code, description string) {
	obj := statusObject(level, code, description)
	if name := s.Name(); name != "" {
		obj = append(obj, amf0.ObjectEntry{Key: "details", Value: name})
	}
	obj = append(obj, amf0.ObjectEntry{Key: "clientid", Value: strconv.FormatUint(s.conn.id, 10)})
	s.conn.sendCommand(s.id, "onStatus", 0, nil, obj)
}

func (s *Stream) sendData(values ...any) error {
	body, err := amf0.Data(values).Marshal()
	if err != nil {
		return err
	}
	return s.conn.sendCtrl(&rawmessage.Message{ChunkStreamID: csStream, Type: msgDataAMF0, MessageStreamID: wireStreamID(s.id), Body: body})
}

// playCommand handles the client's play.
func (s *Stream) playCommand(name string) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.mu.Lock()
	s.name = name
	s.mu.Unlock()
	_, _, ph, _ := s.handlers()

	var vd *VideoData
	if ph != nil {
		var err error
		if !s.conn.safe("play handler", func() { vd, err = ph.HandlePlay(s, true) }) {
			err = errors.New("internal error")
		}
		if err != nil {
			code := codePlayFailed
			if errors.Is(err, ErrStreamNotFound) {
				code = codePlayNotFound
			}
			s.log.Info("rtmp play refused", "name", redactQuery(name), "err", err)
			if s.playing.Load() {
				s.stopLoopsLocked() // a second play refused: the first one is over too
			}
			s.sendStatus("error", code, err.Error())
			return
		}
	}
	if s.playing.Load() {
		s.stopLoopsLocked()
	}
	s.conn.sendCtrl(userControl(ucStreamBegin, s.id))
	s.sendStatus("status", codePlayReset, "Playing and resetting "+name+".")
	s.sendStatus("status", codePlayStart, "Started playing "+name+".")
	s.sendData("|RtmpSampleAccess", true, true)

	s.mu.Lock()
	s.start = time.Now()
	enc := s.enc
	s.mu.Unlock()
	s.sendMu.Lock()
	s.needKey, s.keyRequested, s.sentConfig, s.lastTS, s.tsStarted, s.pushStarted = true, false, nil, 0, false, false
	s.paused.Store(false)
	if enc != nil {
		enc.RequestKeyframe()
		s.keyRequested = true
	}
	if vd != nil {
		s.sendLocked(vd)
	}
	s.sendMu.Unlock()
	s.startLoopsLocked()
	s.log.Info("rtmp play", "name", redactQuery(name), "app", s.conn.App())
	if ps, ok := ph.(PlayStartedHandler); ok {
		s.conn.safe("play handler (started)", func() { ps.HandlePlayStarted(s) })
	}
}

// stopCommand handles closeStream: the play handler may veto the stop.
func (s *Stream) stopCommand() {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	if !s.playing.Load() {
		return
	}
	if _, _, ph, _ := s.handlers(); ph != nil {
		var err error
		if !s.conn.safe("play handler (stop)", func() { _, err = ph.HandlePlay(s, false) }) {
			err = errors.New("internal error")
		}
		if err != nil {
			return
		}
	}
	s.stopLoopsLocked()
	s.sendStatus("status", codePlayStop, "Stopped playing "+s.Name()+".")
	s.conn.sendCtrl(userControl(ucStreamEOF, s.id))
	s.log.Info("rtmp stop", "name", redactQuery(s.Name()))
}

func (s *Stream) pauseCommand(pause bool) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	if !s.playing.Load() {
		s.sendStatus("error", codeStreamFailed, "pause on a stream that is not playing")
		return
	}
	if _, _, _, ph := s.handlers(); ph != nil {
		ok := false
		s.conn.safe("pause handler", func() { ok = ph.HandlePause(s, pause) })
		if !ok {
			return
		}
	}
	if pause {
		s.paused.Store(true)
		if s.loops != nil {
			s.loops.SetPaused(true)
		}
		s.sendStatus("status", codePauseNotify, "Paused "+s.Name()+".")
		s.conn.sendCtrl(userControl(ucStreamEOF, s.id))
		return
	}
	s.paused.Store(false)
	s.wantKey.Store(true) // the player may have flushed its decoder
	s.sendMu.Lock()
	s.needKey, s.keyRequested = true, false // frames written from elsewhere (WriteFrame) too
	s.sendMu.Unlock()
	s.conn.sendCtrl(userControl(ucStreamBegin, s.id))
	s.sendStatus("status", codeUnpauseNotify, "Unpaused "+s.Name()+".")
	if s.loops != nil {
		s.loops.SetPaused(false)
	}
}

// remove ends the stream: deleteStream, or the connection's end (closing=true).
func (s *Stream) remove(closing bool) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	if s.playing.Load() {
		s.stopLoopsLocked()
		if _, _, ph, _ := s.handlers(); ph != nil {
			s.conn.safe("play handler (stop)", func() { ph.HandlePlay(s, false) })
		}
		if !closing {
			s.sendStatus("status", codePlayStop, "Stopped playing "+s.Name()+".")
		}
	}
	s.conn.mu.Lock()
	_, present := s.conn.streams[s.id]
	delete(s.conn.streams, s.id)
	sh := s.conn.streamHandler
	s.conn.mu.Unlock()
	if !present {
		return
	}
	if sh != nil && s.created.Load() {
		s.conn.safe("stream handler (remove)", func() { sh.HandleStream(s, false, nil) })
	}
	s.closeEncoder()
}

func (s *Stream) closeEncoder() {
	s.mu.Lock()
	enc := s.enc
	s.enc = nil
	s.mu.Unlock()
	if enc != nil {
		enc.Close()
	}
}

func (s *Stream) startLoopsLocked() {
	s.gen++
	gen := s.gen
	s.playing.Store(true)
	s.conn.playing.Add(1)
	s.conn.viewingChanged()
	cfg := pacer.Config{
		RenderRate:    s.RenderRate,
		FrameInterval: time.Duration(float64(time.Second) / s.conn.srv.cfg.FrameRate),
		Frame:         s.produceFrame,
		Failed:        func(which string, err error) { s.fail(gen, which+" handler", err) },
	}
	rh, fh, _, _ := s.handlers()
	if rh == nil && fh == nil {
		return // frames come from elsewhere (WriteFrame): no loops to run
	}
	if rh != nil {
		cfg.Render = s.renderOnce
	}
	s.loops = pacer.Start(s.conn.ctx, cfg)
	s.kicks.Store(s.loops)
}

func (s *Stream) stopLoopsLocked() {
	if s.loops != nil {
		s.kicks.Store(nil)
		s.loops.Stop()
		s.loops = nil
	}
	if s.playing.Swap(false) {
		if s.conn.playing.Add(-1) == 0 {
			s.conn.touch() // the idle time of a connection counts from its last stop
		}
		s.conn.viewingChanged()
	}
	s.paused.Store(false)
}

// fail stops the stream after a render or frame handler error (from a loop goroutine).
func (s *Stream) fail(gen uint64, what string, err error) {
	go func() {
		s.opMu.Lock()
		defer s.opMu.Unlock()
		if s.gen != gen || !s.playing.Load() {
			return
		}
		s.log.Warn("rtmp stream failed", "handler", what, "err", err)
		s.conn.streamsFailed.Add(1)
		s.stopLoopsLocked()
		// The play handler is told the stream stopped (its answer cannot change that), so
		// it can release what play set up.
		if _, _, ph, _ := s.handlers(); ph != nil {
			s.conn.safe("play handler (stop)", func() { ph.HandlePlay(s, false) })
		}
		s.sendStatus("error", codePlayFailed, fmt.Sprintf("%s: %v", what, err))
		s.conn.sendCtrl(userControl(ucStreamEOF, s.id))
	}()
}

// renderOnce is the render loop's body: the current render handler, panics recovered.
func (s *Stream) renderOnce() error {
	rh, _, _, _ := s.handlers()
	if rh == nil {
		return nil
	}
	var err error
	if !s.conn.safe("render handler", func() { err = rh.HandleRender(s) }) {
		err = errors.New("panic")
	}
	if err == nil {
		s.renders.Add(1)
	}
	return err
}

// produceFrame is the frame loop's body: ask the frame handler for a frame (telling it
// whether the send queue is full) and queue what it returns.
func (s *Stream) produceFrame() error {
	_, fh, _, _ := s.handlers()
	if fh == nil {
		return nil
	}
	if s.wantKey.Swap(false) {
		if enc := s.VideoEncoder(); enc != nil {
			enc.RequestKeyframe()
		}
	}
	full := s.conn.queueFull()
	var vd *VideoData
	var err error
	if !s.conn.safe("frame handler", func() { vd, err = fh.HandleFrame(s, full) }) {
		err = errors.New("panic")
	}
	if err != nil {
		return err
	}
	if vd != nil {
		s.send(vd)
	}
	return nil
}

func (s *Stream) timestamp(d time.Duration) uint32 {
	ts := s.tsBase + uint32(max(d, 0)/time.Millisecond)
	if s.tsStarted && int32(ts-s.lastTS) <= 0 {
		// Video timestamps strictly increase within a stream (two frames made within the
		// same millisecond, a clock that went back): FLV muxers refuse equal DTS.
		ts = s.lastTS + 1
	}
	s.lastTS, s.tsStarted = ts, true
	return ts
}

func (s *Stream) drop() {
	s.framesDropped.Add(1)
	s.conn.dropped.Add(1)
}

// send queues one frame. H.264 frames are guarded so that a player never gets a P-frame
// whose reference was dropped: after any drop, nothing but a keyframe is sent.
func (s *Stream) send(vd *VideoData) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.sendLocked(vd)
}

// WriteFrame queues a frame made elsewhere (a session shared by several streams, which
// runs its own loops) instead of by the frame handler: a stream with neither a render nor
// a frame handler runs no loops and sends what is written here. It never blocks. It
// returns true when the stream wants a keyframe: it is waiting for one (at the start of
// play, after a drop or an unpause) and f is not one, or its connection's send queue is
// full (f is dropped). A stream that is not playing, or is paused, drops f and wants
// nothing yet: it asks for its keyframe when it plays again. Timestamps start at 0 with the
// first frame sent after play. Every keyframe must carry its Config. Safe for concurrent
// use.
func (s *Stream) WriteFrame(f *avc.Frame) (wantKeyframe bool) {
	if f == nil {
		return false
	}
	if !s.playing.Load() || s.paused.Load() {
		s.drop()
		return false
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.needKey && (!f.Keyframe || f.Config == nil) {
		s.drop()
		return true
	}
	if !s.pushStarted {
		s.pushStarted, s.pushBase = true, f.DTS
	}
	// The tag body is made once for every stream the frame is written to (the viewers
	// of a shared session): the server keeps the last frames' bodies.
	s.sendFrameLocked(f, f.DTS-s.pushBase, func(cts int32) []byte { return s.conn.srv.tags.get(f, cts) })
	return s.needKey
}

// QueueFull reports whether a frame written now would be dropped: the stream is not
// playing, is paused, or its connection's send queue is full.
func (s *Stream) QueueFull() bool {
	return !s.playing.Load() || s.paused.Load() || s.conn.queueFull()
}

// End stops a stream fed by WriteFrame because its source stopped: with err the player
// gets NetStream.Play.Failed naming it, without NetStream.Play.Stop. The play handler is
// told the stream stopped. It never blocks.
func (s *Stream) End(err error) {
	go func() {
		s.opMu.Lock()
		defer s.opMu.Unlock()
		if !s.playing.Load() {
			return
		}
		s.stopLoopsLocked()
		if _, _, ph, _ := s.handlers(); ph != nil {
			s.conn.safe("play handler (stop)", func() { ph.HandlePlay(s, false) })
		}
		if err != nil {
			s.conn.streamsFailed.Add(1)
			s.log.Warn("rtmp stream ended: its source failed", "err", err)
			s.sendStatus("error", codePlayFailed, err.Error())
		} else {
			s.sendStatus("status", codePlayStop, "Stopped playing "+s.Name()+".")
		}
		s.conn.sendCtrl(userControl(ucStreamEOF, s.id))
	}()
}

// codeUnpublishNotify tells a player its stream's source is gone (the server drains).
const codeUnpublishNotify = "NetStream.Play.UnpublishNotify"

// Unpublish ends a play because its source goes away for good (the server is draining, a
// publisher left): the player gets NetStream.Play.UnpublishNotify with description and
// the end of the stream, and the play handler is told the stream stopped. It returns once
// the status is queued for the player (a Conn.Close after it still delivers it); a stream
// that is not playing is left alone.
func (s *Stream) Unpublish(description string) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	if !s.playing.Load() {
		return
	}
	s.stopLoopsLocked()
	if _, _, ph, _ := s.handlers(); ph != nil {
		s.conn.safe("play handler (stop)", func() { ph.HandlePlay(s, false) })
	}
	s.sendStatus("status", codeUnpublishNotify, description)
	s.conn.sendCtrl(userControl(ucStreamEOF, s.id))
}

// sendLocked is send with sendMu held.
func (s *Stream) sendLocked(vd *VideoData) {
	if vd.Frame == nil {
		msid := wireStreamID(s.id)
		if vd.Raw == nil {
			return
		}
		m := &rawmessage.Message{ChunkStreamID: csVideo, Type: msgVideo, MessageStreamID: msid,
			Timestamp: time.Duration(s.timestamp(vd.Timestamp)) * time.Millisecond, Body: vd.Raw}
		if !s.conn.enqueueMedia(s, []*rawmessage.Message{m}) {
			s.drop()
		}
		return
	}
	s.sendFrameLocked(vd.Frame, vd.Frame.DTS, func(cts int32) []byte { return videoTag(vd.Frame.Keyframe, 1, cts, vd.Frame.NALUs) })
}

// sendFrameLocked queues f at dts (the stream's time), with the tag body body makes for
// its composition offset: see send.
func (s *Stream) sendFrameLocked(f *avc.Frame, dts time.Duration, body func(cts int32) []byte) {
	msid := wireStreamID(s.id)
	if f.Config != nil {
		s.config = f.Config
	}
	requestKey := func() {
		if !s.keyRequested {
			if enc := s.VideoEncoder(); enc != nil {
				enc.RequestKeyframe()
			}
			s.keyRequested = true
		}
	}
	if s.needKey && (!f.Keyframe || s.config == nil) {
		s.drop()
		requestKey()
		return
	}
	ts := s.timestamp(dts)
	tsd := time.Duration(ts) * time.Millisecond
	var msgs []*rawmessage.Message
	if !bytes.Equal(s.config, s.sentConfig) {
		msgs = append(msgs, &rawmessage.Message{ChunkStreamID: csVideo, Type: msgVideo, MessageStreamID: msid, Timestamp: tsd,
			Body: videoTag(true, 0, 0, s.config)})
		if meta := s.metadata(); meta != nil {
			// After the sequence header and at timestamp 0, for FFmpeg's FLV demuxer
			// (ffmpeg, ffplay, ffprobe, VLC): with any other timestamp it reads a data
			// message as a subtitle stream, and once the video stream exists an empty
			// audiocodecid object tells it that no audio stream will come, so that it does
			// not wait its analysis time (5 s) for one before the first picture.
			msgs = append(msgs, &rawmessage.Message{ChunkStreamID: csVideo, Type: msgDataAMF0, MessageStreamID: msid, Timestamp: 0, Body: meta})
		}
	}
	cts := int32((f.PTS - f.DTS) / time.Millisecond)
	msgs = append(msgs, &rawmessage.Message{ChunkStreamID: csVideo, Type: msgVideo, MessageStreamID: msid, Timestamp: tsd,
		Body: body(cts)})
	if !s.conn.enqueueFrame(s, msgs, f.Keyframe) {
		s.drop()
		s.needKey, s.keyRequested = true, false
		requestKey()
		return
	}
	s.sentConfig = s.config
	s.needKey, s.keyRequested = false, false
}

// tagCache keeps the FLV tag bodies of the last frames written with Stream.WriteFrame,
// so that a frame written to many streams is tagged (copied) once: the bodies are
// immutable and shared by the streams' send queues.
type tagCache struct {
	mu      sync.Mutex
	entries [8]tagEntry
	next    int
}

type tagEntry struct {
	f    *avc.Frame
	cts  int32
	body []byte
}

// get returns f's tag body with composition offset cts, made now or earlier.
func (c *tagCache) get(f *avc.Frame, cts int32) []byte {
	c.mu.Lock()
	for _, e := range c.entries {
		if e.f == f && e.cts == cts {
			c.mu.Unlock()
			return e.body
		}
	}
	c.mu.Unlock()
	body := videoTag(f.Keyframe, 1, cts, f.NALUs)
	c.mu.Lock()
	c.entries[c.next] = tagEntry{f: f, cts: cts, body: body}
	c.next = (c.next + 1) % len(c.entries)
	c.mu.Unlock()
	return body
}

// videoTag builds an FLV AVC video tag body.
func videoTag(key bool, packetType byte, cts int32, data []byte) []byte {
	ft := byte(2)
	if key {
		ft = 1
	}
	b := make([]byte, 5, 5+len(data))
	b[0] = ft<<4 | 7 // frame type, codec id 7 (AVC)
	b[1] = packetType
	b[2], b[3], b[4] = byte(cts>>16), byte(cts>>8), byte(cts)
	return append(b, data...)
}

// metadata builds the onMetaData message announcing the stream (size from the SPS).
func (s *Stream) metadata() []byte {
	sps, _, err := avc.ParseConfigRecord(s.config)
	if err != nil {
		return nil
	}
	info, err := avc.ParseSPS(sps[0])
	if err != nil {
		return nil
	}
	name := "h264"
	if enc := s.VideoEncoder(); enc != nil {
		name = enc.Name()
	}
	meta := amf0.ECMAArray{
		{Key: "width", Value: float64(info.Width)},
		{Key: "height", Value: float64(info.Height)},
		{Key: "framerate", Value: s.conn.srv.cfg.FrameRate},
		{Key: "videocodecid", Value: float64(7)},
		{Key: "audiocodecid", Value: amf0.Object{}}, // no audio (see where it is sent)
		{Key: "encoder", Value: "Rendercast " + name},
	}
	body, err := amf0.Data{"onMetaData", meta}.Marshal()
	if err != nil {
		return nil
	}
	return body
}
