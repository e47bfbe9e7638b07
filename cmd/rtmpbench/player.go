package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sync"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/encode"
	"github.com/rendercast/rendercast/rtmpclient"
	"github.com/rendercast/rendercast/scenes"
)

// markerKind says which frame marker a player reads from decoded pictures.
type markerKind int

const (
	markerNone    markerKind = iota
	markerScene              // the streamer's -marker (scenes.DecodeMarker)
	markerCounter            // the comparison source's counter strip (decodeCounterStrip)
)

// frameRecord is what a player saw of one video frame.
type frameRecord struct {
	// Arrived is when the player read the message, Decoded when its picture came out of the
	// decoder (zero when it produced none, or when the player does not decode).
	Arrived, Decoded time.Time
	// TS is the RTMP timestamp.
	TS       time.Duration
	Keyframe bool
	Bytes    int
	// MarkerOK reports a readable marker; Frame is its frame counter, Version the scene
	// version (the streamer's marker only).
	MarkerOK       bool
	Frame, Version uint32
	Colour         colour
}

// seen returns the time a frame was shown: decoded, or received when not decoded.
func (f frameRecord) seen() time.Time {
	if !f.Decoded.IsZero() {
		return f.Decoded
	}
	return f.Arrived
}

// playerOptions configure a player.
type playerOptions struct {
	// Decode decodes every frame (needed for markers and colours); without it the player only
	// records arrivals.
	Decode bool
	Marker markerKind
	// Keep bounds the frames kept (oldest dropped first); 0 keeps all.
	Keep int
}

// playTimings are the phases of starting to play.
type playTimings struct {
	Connect, CreateStream, Play time.Duration // each phase's own duration
}

// player is one RTMP connection playing one stream, reading (and optionally decoding) video
// in its own goroutine.
type player struct {
	c        *rtmpclient.Client
	streamID uint32
	opts     playerOptions
	start    time.Time

	mu         sync.Mutex
	frames     []frameRecord
	dropped    int       // records dropped by Keep
	firstVideo time.Time // arrival of the first coded frame
	decodeErrs int
	err        error
	notify     chan struct{}
	done       chan struct{}
}

// dialPlayer connects to rawURL, creates a stream and plays the URL's stream name.
func dialPlayer(ctx context.Context, rawURL string, opts playerOptions) (*player, playTimings, error) {
	var t playTimings
	start := time.Now()
	c, err := rtmpclient.Dial(ctx, rawURL, rtmpclient.Options{MediaBuffer: 1024})
	if err != nil {
		return nil, t, err
	}
	t.Connect = time.Since(start)
	mark := time.Now()
	id, err := c.CreateStream(ctx)
	if err != nil {
		c.Close()
		return nil, t, fmt.Errorf("createStream: %w", err)
	}
	t.CreateStream = time.Since(mark)
	p := &player{c: c, streamID: id, opts: opts, start: start, notify: make(chan struct{}, 1), done: make(chan struct{})}
	mark = time.Now()
	// The reader starts before play so the first frames are timed as they arrive.
	go p.run()
	if err := c.Play(ctx, id, c.URL().Stream); err != nil {
		c.Close()
		<-p.done
		return nil, t, fmt.Errorf("play %s: %w", c.URL().Stream, err)
	}
	t.Play = time.Since(mark)
	return p, t, nil
}

// run reads video until the connection ends.
func (p *player) run() {
	defer close(p.done)
	var dec *encode.Decoder
	defer func() {
		if dec != nil {
			dec.Close()
		}
	}()
	ctx := context.Background()
	for {
		m, err := p.c.ReadVideo(ctx)
		if err != nil {
			p.mu.Lock()
			p.err = err
			p.mu.Unlock()
			p.signal()
			return
		}
		arrived := time.Now()
		switch m.AVCPacketType {
		case rtmpclient.AVCSequenceHeader:
			if !p.opts.Decode {
				continue
			}
			if dec != nil {
				dec.Close()
			}
			if dec, err = encode.NewDecoder(m.Payload); err != nil {
				p.mu.Lock()
				p.err = fmt.Errorf("decoder: %w", err)
				p.mu.Unlock()
				p.c.Close()
				continue
			}
		case rtmpclient.AVCNALU:
			p.mu.Lock()
			if p.firstVideo.IsZero() {
				p.firstVideo = arrived
			}
			p.mu.Unlock()
			rec := frameRecord{Arrived: arrived, TS: m.Timestamp, Keyframe: m.Keyframe, Bytes: len(m.Payload)}
			if p.opts.Decode {
				if dec == nil {
					continue
				}
				pics, err := dec.Decode(&avc.Frame{NALUs: m.Payload, PTS: m.Timestamp + m.CompositionTime, DTS: m.Timestamp})
				if err != nil {
					p.mu.Lock()
					p.decodeErrs++
					p.mu.Unlock()
				}
				if len(pics) == 0 {
					// No picture (e.g. P-frames before a relay's next keyframe): not shown.
					continue
				}
				rec.Decoded = time.Now()
				inspectPicture(&rec, pics[len(pics)-1], p.opts.Marker)
			}
			p.mu.Lock()
			p.frames = append(p.frames, rec)
			if p.opts.Keep > 0 && len(p.frames) > 2*p.opts.Keep {
				n := len(p.frames) - p.opts.Keep
				p.frames = append(p.frames[:0], p.frames[n:]...)
				p.dropped += n
			}
			p.mu.Unlock()
			p.signal()
		}
	}
}

// inspectPicture reads the colour and the marker of kind of a decoded picture into rec.
func inspectPicture(rec *frameRecord, img *image.YCbCr, kind markerKind) {
	rec.Colour = classifyCorner(img)
	switch kind {
	case markerScene:
		rec.Frame, rec.Version, rec.MarkerOK = scenes.DecodeMarker(img)
	case markerCounter:
		rec.Frame, rec.MarkerOK = decodeCounterStrip(img)
	}
}

func (p *player) signal() {
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

// count returns the number of frames recorded so far (including ones dropped by Keep): an
// index for waitFor.
func (p *player) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dropped + len(p.frames)
}

// snapshot returns a copy of the frames kept.
func (p *player) snapshot() []frameRecord {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]frameRecord(nil), p.frames...)
}

// errPlayerEnded reports that a player's connection ended while waiting for a frame.
var errPlayerEnded = errors.New("player: connection ended")

// waitFor waits for the first frame at index since or later (see count) for which match
// is true, and returns it and its index.
func (p *player) waitFor(ctx context.Context, since int, match func(frameRecord) bool) (frameRecord, int, error) {
	for {
		p.mu.Lock()
		i := max(since-p.dropped, 0)
		for ; i < len(p.frames); i++ {
			if match(p.frames[i]) {
				f, idx := p.frames[i], p.dropped+i
				p.mu.Unlock()
				return f, idx, nil
			}
		}
		since = p.dropped + len(p.frames)
		err := p.err
		p.mu.Unlock()
		if err != nil {
			return frameRecord{}, 0, fmt.Errorf("%w: %w", errPlayerEnded, err)
		}
		select {
		case <-p.notify:
		case <-ctx.Done():
			return frameRecord{}, 0, ctx.Err()
		}
	}
}

// call sends a remote call on the player's connection.
func (p *player) call(ctx context.Context, name string, args amf0.Object) (any, error) {
	return p.c.Call(ctx, name, nil, args)
}

// streamStats asks the server for stream.stats and returns the figures of the player's
// stream: the rtmpsrv stream statistics merged with the session's (keys prefixed
// "session.").
func (p *player) streamStats(ctx context.Context) (map[string]float64, error) {
	res, err := p.call(ctx, "stream.stats", nil)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	obj, _ := asObject(res)
	streams, _ := obj.Get("streams")
	list, _ := streams.(amf0.StrictArray)
	for _, s := range list {
		so, ok := asObject(s)
		if !ok {
			continue
		}
		if id, _ := so.GetFloat64("id"); uint32(id) != p.streamID {
			continue
		}
		if st, ok := so.Get("stream"); ok {
			addNumbers(out, "", st)
		}
		if st, ok := so.Get("session"); ok {
			addNumbers(out, "session.", st)
		}
	}
	if c, ok := obj.Get("connection"); ok {
		addNumbers(out, "conn.", c)
	}
	return out, nil
}

func asObject(v any) (amf0.Object, bool) {
	switch o := v.(type) {
	case amf0.Object:
		return o, true
	case amf0.ECMAArray:
		return amf0.Object(o), true
	}
	return nil, false
}

func addNumbers(out map[string]float64, prefix string, v any) {
	o, ok := asObject(v)
	if !ok {
		return
	}
	for _, e := range o {
		if f, ok := e.Value.(float64); ok {
			out[prefix+e.Key] = f
		}
	}
}

// close ends the connection and waits for the reader.
func (p *player) close() {
	p.c.Close()
	<-p.done
}
