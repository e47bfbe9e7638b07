package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/rtmpclient"
	"github.com/rendercast/rendercast/session"
)

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// newLoggedApp is newTestApp with every log line (debug included) kept in the returned
// buffer.
func newLoggedApp(t *testing.T, mutate func(*Config)) (*App, *lockedBuffer) {
	t.Helper()
	buf := &lockedBuffer{}
	a, err := New(testConfig(mutate), slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(a.Close)
	return a, buf
}

// session.unpublish racing session.publish of the same URL (two controllers, or a call and
// a shutdown) must stop the publisher cleanly: no panic, and no sink left on the session.
// publish puts the publisher in the map before it has its detach function (publish.go),
// so an unpublish that finds it in between calls a nil func, or leaves the sink attached.
func TestReviewUnpublishRacingPublish(t *testing.T) {
	a := newTestApp(t, func(c *Config) { c.Sessions = []SessionSpec{{"pub", "testcard"}} })
	l := a.reg.get("pub")
	const u = "rtmp://127.0.0.1:1/live/x" // nothing listens: the publisher only retries
	for i := range 30 {
		done := make(chan any, 1)
		go func() {
			defer func() { done <- recover() }()
			for !a.unpublish(l, u) {
				runtime.Gosched()
			}
		}()
		if err := a.publish(l, u); err != nil {
			t.Fatalf("round %d: publish: %v", i, err)
		}
		if p := <-done; p != nil {
			t.Fatalf("round %d: unpublish racing publish panicked: %v", i, p)
		}
		if n := l.sess.Sinks(); n != 0 {
			t.Fatalf("round %d: %d sinks left on the session after unpublish", i, n)
		}
	}
}

// A stream key in the stream name of a -publish URL (rtmp://a.rtmp.youtube.com/live2/KEY,
// the case redactURL exists for) must not reach the log. The publisher's logger is made
// by the application, but package publish logs the URL with the stream name in full.
func TestReviewPublishLogHidesStreamKey(t *testing.T) {
	const key = "SECRETSTREAMKEY42"
	a, logs := newLoggedApp(t, func(c *Config) {
		c.Sessions = []SessionSpec{{"show", "testcard"}}
		c.Publish = []PublishSpec{{"show", "rtmp://127.0.0.1:1/live2/" + key}}
	})
	_ = a
	waitUntil(t, "the publisher's first failure is logged", func() bool {
		return strings.Contains(logs.String(), "publish: failed")
	})
	if strings.Contains(logs.String(), key) {
		var lines []string
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, key) {
				lines = append(lines, line)
			}
		}
		t.Fatalf("the stream key reached the log:\n%s", strings.Join(lines, "\n"))
	}
	for _, st := range a.sessions() {
		for _, p := range st.Publish {
			if strings.Contains(p.URL, key) || strings.Contains(p.LastError, key) {
				t.Fatalf("the stream key is on the status page: %+v", p)
			}
		}
	}
}

// failingEncoder wraps a session's real encoder; Encode fails while fail is set.
type failingEncoder struct {
	session.Encoder
	fail *atomic.Bool
}

func (e failingEncoder) Encode(img image.Image, pts time.Duration) (*avc.Frame, error) {
	if e.fail.Load() {
		return nil, errors.New("injected encoder failure")
	}
	return e.Encoder.Encode(img, pts)
}

// A -session session is kept alive with no viewers. When its encoder fails once (an NVENC
// hiccup, a driver reset), the session stops for good but stays in the registry under its
// name: every later viewer joins the dead session and is refused at attach, until the
// process restarts. Expected: a viewer after the failure gets a picture (the session is
// made again), or at least the failed session is no longer offered.
func TestReviewFailedPersistentSessionIsNotKeptDead(t *testing.T) {
	a := newTestApp(t, nil)
	var fail atomic.Bool
	newEnc := a.viewers.NewEncoder
	a.viewers.NewEncoder = func(o session.EncoderOptions) (session.Encoder, error) {
		e, err := newEnc(o)
		if err != nil {
			return nil, err
		}
		return failingEncoder{e, &fail}, nil
	}
	if _, err := a.reg.create("keep", "testcard", true, true); err != nil {
		t.Fatal(err)
	}
	v1 := &viewer{a: a, transport: "rtmp", peer: "127.0.0.1:1", started: time.Now()}
	if err := v1.open("keep", "testcard"); err != nil {
		t.Fatal(err)
	}
	k1 := &frameSink{}
	if err := v1.attach(k1); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "frames before the failure", func() bool { return k1.count() >= 3 })
	fail.Store(true)
	waitUntil(t, "the sink is told the session stopped", func() bool {
		k1.mu.Lock()
		defer k1.mu.Unlock()
		return k1.ended
	})
	v1.end() // what a transport does when its sink is ended
	fail.Store(false)

	v2 := &viewer{a: a, transport: "rtmp", peer: "127.0.0.1:2", started: time.Now()}
	if err := v2.open("keep", "testcard"); err != nil {
		return // refused with an error: acceptable
	}
	defer v2.end()
	k2 := &frameSink{}
	if err := v2.attach(k2); err != nil {
		t.Fatalf("a viewer of the -session session after one encoder failure: joined, then refused at attach (%v); "+
			"the session stays dead in the registry (listed: %v)", err, a.reg.get("keep") != nil)
	}
	waitUntil(t, "frames after the failure", func() bool { return k2.count() >= 3 })
}

// The control token is one secret compared in constant time, and access.FromRequest /
// FromRTMPConnect take only the first value of each query parameter, so one request tries
// at most a few guesses. A play name's query is passed whole (rtmp.go HandlePlay:
// q[control_token]...), so one play tries every control_token= it carries, and the last
// one that matches grants control.
func TestReviewPlayQueryTriesOneControlToken(t *testing.T) {
	a := newTestApp(t, func(c *Config) {
		c.Listen = "127.0.0.1:0"
		c.ControlToken = "secret"
	})
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Shutdown(ctx)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := rtmpclient.Dial(ctx, fmt.Sprintf("rtmp://%s/live", a.RTMPAddr()), rtmpclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id, err := c.CreateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	guesses := []string{"a", "b", "c", "d", "e", "f", "g", "secret"}
	name := "demo?session=guess"
	for _, g := range guesses {
		name += "&control_token=" + g
	}
	if err := c.Play(ctx, id, name); err != nil {
		t.Fatal(err)
	}
	_, err = c.Call(ctx, "camera.orbit", nil, amf0.Object{{Key: "dx", Value: 10.0}})
	if err == nil {
		t.Fatalf("a play carrying %d control_token values (the last one right) steers the shared session: "+
			"every value is tried, not only the first", len(guesses))
	}
}

// When a session stops (its encoder fails), rtmpsrv's Stream.End tells the play handler
// from a goroutine of its own: HandlePlay(false) sets rtmpViewer.v to nil there, while the
// connection's reader goroutine reads rv.v for every call (viewersOf, rtmpStats) without a
// lock. Run with -race: the detector reports the pair.
func TestReviewStreamEndRacesCalls(t *testing.T) {
	a := newTestApp(t, func(c *Config) { c.Listen = "127.0.0.1:0" })
	var fail atomic.Bool
	newEnc := a.viewers.NewEncoder
	a.viewers.NewEncoder = func(o session.EncoderOptions) (session.Encoder, error) {
		e, err := newEnc(o)
		if err != nil {
			return nil, err
		}
		return failingEncoder{e, &fail}, nil
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Shutdown(ctx)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	for round := range 10 {
		fail.Store(false)
		c, err := rtmpclient.Dial(ctx, fmt.Sprintf("rtmp://%s/live", a.RTMPAddr()), rtmpclient.Options{})
		if err != nil {
			t.Fatal(err)
		}
		id, err := c.CreateStream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Play(ctx, id, fmt.Sprintf("demo?session=r%d", round)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ReadVideo(ctx); err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.Call(ctx, "stream.stats", nil); err != nil {
					return
				}
			}
		}()
		time.Sleep(20 * time.Millisecond)
		fail.Store(true)
		waitUntil(t, "the failed session leaves the registry", func() bool { return a.reg.get(fmt.Sprintf("r%d", round)) == nil })
		time.Sleep(20 * time.Millisecond)
		close(stop)
		<-done
		c.Close()
	}
}
