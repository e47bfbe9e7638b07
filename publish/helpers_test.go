package publish

import (
	"context"
	"image"
	"image/color"
	"image/draw"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/encode"
)

// Test pictures are small, to keep the x264 work cheap on shared CI machines.
const testWidth, testHeight = 320, 240

var (
	red  = color.RGBA{R: 230, G: 20, B: 20, A: 255}
	blue = color.RGBA{R: 20, G: 20, B: 230, A: 255}
)

// newEncoder opens x264 at the test size and 30 fps with a keyframe every 10 frames.
func newEncoder(t *testing.T) *encode.H264Encoder {
	t.Helper()
	enc, err := encode.New(encode.Options{Width: testWidth, Height: testHeight, FrameRate: 30,
		Encoder: encode.EncoderX264, KeyframeInterval: time.Second / 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { enc.Close() })
	return enc
}

func solid(c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, testWidth, testHeight))
	draw.Draw(img, img.Bounds(), image.NewUniform(c), image.Point{}, draw.Src)
	return img
}

// encodeFrames encodes n frames of one colour at 30 fps; every keyframe carries the
// configuration, as a session's frames do.
func encodeFrames(t *testing.T, n int, c color.RGBA) []*avc.Frame {
	t.Helper()
	enc := newEncoder(t)
	img := solid(c)
	var config []byte
	out := make([]*avc.Frame, 0, n)
	for i := range n {
		f, err := enc.Encode(img, time.Duration(i)*time.Second/30)
		if err != nil {
			t.Fatal(err)
		}
		if f.Config != nil {
			config = f.Config
		}
		if f.Keyframe {
			f.Config = config
		}
		out = append(out, f)
	}
	return out
}

// source encodes a solid picture at 30 fps into a publisher, as a session would: every
// keyframe with its configuration, and a keyframe made when the publisher asks for one.
type source struct {
	mu     sync.Mutex
	colour color.RGBA
	stop   chan struct{}
	done   chan error
}

func startSource(t *testing.T, p *Publisher, c color.RGBA) *source {
	t.Helper()
	enc := newEncoder(t)
	s := &source{colour: c, stop: make(chan struct{}), done: make(chan error, 1)}
	go func() {
		tick := time.NewTicker(time.Second / 30)
		defer tick.Stop()
		start := time.Now()
		var config []byte
		var cur color.RGBA
		var img *image.RGBA
		for {
			s.mu.Lock()
			if img == nil || s.colour != cur {
				cur, img = s.colour, solid(s.colour)
			}
			s.mu.Unlock()
			f, err := enc.Encode(img, time.Since(start))
			if err != nil {
				s.done <- err
				return
			}
			if f.Config != nil {
				config = f.Config
			}
			if f.Keyframe {
				f.Config = config
			}
			if p.WriteFrame(f) {
				enc.RequestKeyframe()
			}
			select {
			case <-s.stop:
				s.done <- nil
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { s.close(t) })
	return s
}

func (s *source) setColour(c color.RGBA) {
	s.mu.Lock()
	s.colour = c
	s.mu.Unlock()
}

// close stops the source and waits for it (idempotent).
func (s *source) close(t *testing.T) {
	select {
	case <-s.stop:
		return
	default:
	}
	close(s.stop)
	if err := <-s.done; err != nil {
		t.Errorf("source: %v", err)
	}
}

// waitFor polls the publisher's status until ok holds, failing the test after d.
func waitFor(t *testing.T, p *Publisher, d time.Duration, what string, ok func(Status) bool) Status {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		st := p.Status()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; status %+v", what, d, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logRecorder is a slog.Handler that keeps every record, for checks on what was logged.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.records = append(r.records, rec.Clone())
	r.mu.Unlock()
	return nil
}
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *logRecorder) WithGroup(string) slog.Handler      { return r }

// count returns how many records of the level have a message starting with prefix.
func (r *logRecorder) count(level slog.Level, prefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rec := range r.records {
		if rec.Level == level && strings.HasPrefix(rec.Message, prefix) {
			n++
		}
	}
	return n
}

// String lists the records, for failure messages.
func (r *logRecorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, rec := range r.records {
		b.WriteString(rec.Level.String() + " " + rec.Message + "\n")
	}
	return b.String()
}
