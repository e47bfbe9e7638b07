package publish

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/rtmpclient"
)

// run is the publisher's goroutine: connect, publish until the connection fails, wait,
// again, until Close.
func (p *Publisher) run() {
	defer p.wg.Done()
	inRow := 0      // failures since the last stable connection, for the backoff
	warned := false // a Warn was logged for the current failure streak
	for attempt := 1; ; attempt++ {
		p.mu.Lock()
		p.setStateLocked(StateConnecting)
		p.mu.Unlock()
		p.log.Debug("publish: connecting", "attempt", attempt)
		c, id, err := p.connect()
		if err == nil {
			warned = false
			var began time.Time
			began, err = p.publish(c, id)
			if time.Since(began) >= stableAfter {
				inRow = 0
			}
		}
		if p.ctx.Err() != nil {
			return
		}
		inRow++
		wait := backoff(p.cfg.MinBackoff, p.cfg.MaxBackoff, inRow)
		p.mu.Lock()
		p.setStateLocked(StateWaiting)
		p.status.Failures++
		p.status.LastError = err.Error()
		p.mu.Unlock()
		p.drain()
		if !warned {
			p.log.Warn("publish: failed, retrying until it works", "err", err, "retry_in", wait.Round(time.Millisecond))
			warned = true
		} else {
			p.log.Debug("publish: retry failed", "err", err, "attempt", attempt, "retry_in", wait.Round(time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-p.ctx.Done():
			t.Stop()
			return
		}
	}
}

// connect dials, creates a stream and publishes the URL's stream name. The client is
// registered for Close before the slow steps.
func (p *Publisher) connect() (*rtmpclient.Client, uint32, error) {
	c, err := rtmpclient.Dial(p.ctx, p.target.dial, p.cfg.Dial)
	if err != nil {
		return nil, 0, err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		c.Close()
		return nil, 0, errors.New("publish: closed")
	}
	p.client = c
	p.mu.Unlock()
	id, err := c.CreateStream(p.ctx)
	if err == nil {
		err = c.Publish(p.ctx, id, p.target.name)
	}
	if err != nil {
		p.endConn(c)
		return nil, 0, err
	}
	return c, id, nil
}

// endConn closes the connection and keeps its byte count.
func (p *Publisher) endConn(c *rtmpclient.Client) {
	c.Close()
	p.mu.Lock()
	p.bytesOld += c.Stats().BytesOut
	if p.client == c {
		p.client = nil
	}
	p.status.BytesSent = p.bytesOld
	p.mu.Unlock()
}

// publish writes queued frames to the published stream until the connection fails or Close.
// It returns when publishing began and why it ended.
func (p *Publisher) publish(c *rtmpclient.Client, id uint32) (time.Time, error) {
	defer p.endConn(c)
	began := time.Now()
	p.mu.Lock()
	p.setStateLocked(StatePublishing)
	p.needKey = true
	p.status.Connects++
	connects := p.status.Connects
	p.mu.Unlock()
	p.log.Info("publish: publishing", "connects", connects)

	w := streamWriter{p: p, c: c, id: id}
	for {
		select {
		case f := <-p.queue:
			if err := w.write(f); err != nil {
				return began, err
			}
			p.mu.Lock()
			p.status.FramesSent++
			p.mu.Unlock()
		case <-c.Done():
			err := c.Err()
			if errors.Is(err, io.EOF) {
				err = fmt.Errorf("%w (%v)", ErrServerClosed, err)
			}
			return began, err
		case <-p.ctx.Done():
			return began, p.ctx.Err()
		}
	}
}

// streamWriter writes one connection's frames: the first is a keyframe with Config (WriteFrame
// lets nothing else through first); timestamps start at 0 and never go back.
type streamWriter struct {
	p       *Publisher
	c       *rtmpclient.Client
	id      uint32
	started bool
	base    time.Duration // DTS of the first frame
	last    time.Duration // last timestamp written
	config  []byte        // configuration last sent
	w, h    int           // size last announced
}

func (w *streamWriter) write(f *avc.Frame) error {
	if !w.started {
		w.started, w.base = true, f.DTS
	}
	ts := max(f.DTS-w.base, w.last)
	w.last = ts
	g := *f // the frame is shared: change a copy
	if f.Config != nil && !bytes.Equal(f.Config, w.config) {
		if err := w.announce(f.Config); err != nil {
			return err
		}
		w.config = f.Config
	} else {
		g.Config = nil
	}
	return w.c.WriteAVC(w.id, ts, &g)
}

// announce sends onMetaData when the stream starts or its size changes.
func (w *streamWriter) announce(config []byte) error {
	cfg := w.p.cfg
	width, height := cfg.Width, cfg.Height
	if width == 0 || height == 0 {
		if sps, _, err := avc.ParseConfigRecord(config); err == nil && len(sps) > 0 {
			if info, err := avc.ParseSPS(sps[0]); err == nil {
				width, height = info.Width, info.Height
			}
		}
	}
	if w.config != nil && width == w.w && height == w.h {
		return nil
	}
	w.w, w.h = width, height
	meta := amf0.ECMAArray{}
	if width > 0 && height > 0 {
		meta = append(meta, amf0.ObjectEntry{Key: "width", Value: float64(width)}, amf0.ObjectEntry{Key: "height", Value: float64(height)})
	}
	if cfg.FrameRate > 0 {
		meta = append(meta, amf0.ObjectEntry{Key: "framerate", Value: cfg.FrameRate})
	}
	meta = append(meta,
		amf0.ObjectEntry{Key: "videocodecid", Value: float64(rtmpclient.CodecAVC)},
		amf0.ObjectEntry{Key: "encoder", Value: "Rendercast"})
	return w.c.WriteMetadata(w.id, meta)
}
