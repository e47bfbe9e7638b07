package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/rawmessage"

	"github.com/rendercast/rendercast/rtmpclient"
)

// Shared sessions end to end: viewers of every transport (the ffmpeg CLI, the project's
// RTMP client, a hand-driven RTMP connection, a WHEP client) attached to one named session
// see what its calls change, on the real binary.

const (
	sharedW, sharedH = 320, 240
	sharedFPS        = 15
)

// sharedArgs are the streamer flags of these tests (a small picture at 15 frames/s: the
// tests run on 2 shared cores), then extra.
func sharedArgs(extra ...string) []string {
	return append([]string{"-size", fmt.Sprintf("%dx%d", sharedW, sharedH), "-fps", fmt.Sprint(sharedFPS)}, extra...)
}

// sessionViewer is a viewer in /status.json's session list.
type sessionViewer struct {
	Transport string `json:"transport"`
	Peer      string `json:"peer"`
}

// sessionEntry is a session in /status.json. ForcedKeyframes is a pointer so that a missing
// field fails the test that reads it instead of reading as zero.
type sessionEntry struct {
	ID              string          `json:"id"`
	Name            string          `json:"name"`
	Scene           string          `json:"scene"`
	Shared          bool            `json:"shared"`
	Viewers         []sessionViewer `json:"viewers"`
	Frames          float64         `json:"frames"`
	Keyframes       float64         `json:"keyframes"`
	ForcedKeyframes *float64        `json:"forced_keyframes"`
}

// transports lists the session's viewers' transports, sorted.
func (s *sessionEntry) transports() []string {
	var out []string
	for _, v := range s.Viewers {
		out = append(out, v.Transport)
	}
	slices.Sort(out)
	return out
}

// sessionList reads the sessions of /status.json, and the body for failure messages.
func sessionList(t *testing.T, rs *runningStreamer) ([]sessionEntry, string) {
	t.Helper()
	resp, err := http.Get("http://" + rs.httpAddr + "/status.json")
	if err != nil {
		t.Fatalf("GET /status.json: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /status.json: %d %s", resp.StatusCode, b)
	}
	var st struct {
		Sessions []sessionEntry `json:"sessions"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("/status.json: %v\n%s", err, b)
	}
	return st.Sessions, string(b)
}

// namedSession returns the session called name, or nil.
func namedSession(list []sessionEntry, name string) *sessionEntry {
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

// waitSessions polls /status.json until ok accepts its session list, for 15 s at most.
func waitSessions(t *testing.T, rs *runningStreamer, what string, ok func([]sessionEntry) bool) []sessionEntry {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		list, body := sessionList(t, rs)
		if ok(list) {
			return list
		}
		if time.Now().After(deadline) {
			t.Fatalf("/status.json: no %s within 15 s; it says:\n%s", what, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// hasViewers reports whether list has the session name with n viewers.
func hasViewers(list []sessionEntry, name string, n int) bool {
	s := namedSession(list, name)
	return s != nil && len(s.Viewers) == n
}

// background is a scene.setBackground colour and the BT.709 limited-range Y, Cb, Cr that
// the encoder makes of it.
type background struct {
	name      string
	r, g, b   float64
	y, cb, cr float64
}

var (
	bgRed   = background{"red", 1, 0, 0, 63, 102, 240}
	bgGreen = background{"green", 0, 1, 0, 173, 42, 26}
	bgBlue  = background{"blue", 0, 0, 1, 32, 240, 118}
)

// args are the call's arguments, for RTMP.
func (c background) args() amf0.Object {
	return amf0.Object{{Key: "r", Value: c.r}, {Key: "g", Value: c.g}, {Key: "b", Value: c.b}}
}

// jsonArgs are the call's arguments, for the data channel.
func (c background) jsonArgs() map[string]any { return map[string]any{"r": c.r, "g": c.g, "b": c.b} }

// in reports whether the picture's top-left corner (background in the built-in scenes) has
// this colour, within 24 levels on each component.
func (c background) in(img *image.YCbCr) bool {
	y, cb, cr := corner(img)
	near := func(a, b float64) bool { return a > b-24 && a < b+24 }
	return near(y, c.y) && near(cb, c.cb) && near(cr, c.cr)
}

// waitBackground reads pictures with next until one has the background c, for within at
// most. Pictures buffered before the change come first, so the bound is in time, not frames.
func waitBackground(t *testing.T, who string, c background, within time.Duration, next func() *image.YCbCr) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		img := next()
		if c.in(img) {
			return
		}
		if time.Now().After(deadline) {
			y, cb, cr := corner(img)
			t.Fatalf("%s: background not %s within %v: corner Y %.0f Cb %.0f Cr %.0f", who, c.name, within, y, cb, cr)
		}
	}
}

// keepBackground reads pictures with next for d and fails if one has the background c.
func keepBackground(t *testing.T, who string, c background, d time.Duration, next func() *image.YCbCr) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); {
		if c.in(next()) {
			t.Fatalf("%s: background turned %s", who, c.name)
		}
	}
}

// ffmpegPlayer plays a URL with the ffmpeg CLI (libavformat's own RTMP client) and keeps the
// mean RGB colour of the top-left 32x32 pixels of the latest decoded frame.
type ffmpegPlayer struct {
	mu     sync.Mutex
	frames int
	rgb    [3]float64
	ended  error // why the output ended; nil while it plays
	stderr syncBuffer
}

const ffmpegCorner = 32 * 32 * 3 // bytes of one cropped RGB24 frame

func playFFmpeg(t *testing.T, rawURL string) *ffmpegPlayer {
	t.Helper()
	needClient(t, "ffmpeg", "ffmpeg")
	p := &ffmpegPlayer{}
	cmd := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", rawURL, "-an",
		"-vf", "crop=32:32:0:0", "-pix_fmt", "rgb24", "-f", "rawvideo", "-flush_packets", "1", "pipe:1")
	cmd.Stderr = &p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, ffmpegCorner)
		for {
			if _, err := io.ReadFull(stdout, buf); err != nil {
				p.mu.Lock()
				p.ended = err
				p.mu.Unlock()
				return
			}
			var sum [3]float64
			for i, v := range buf {
				sum[i%3] += float64(v)
			}
			p.mu.Lock()
			p.frames++
			for i := range sum {
				p.rgb[i] = sum[i] / (32 * 32)
			}
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		cmd.Wait()
	})
	return p
}

// wait polls until ok accepts the frame count and the latest corner colour, for within at
// most.
func (p *ffmpegPlayer) wait(t *testing.T, what string, within time.Duration, ok func(frames int, rgb [3]float64) bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		p.mu.Lock()
		frames, rgb, ended := p.frames, p.rgb, p.ended
		p.mu.Unlock()
		if ok(frames, rgb) {
			return
		}
		if ended != nil {
			t.Fatalf("ffmpeg: output ended (%v) before %s; %d frames; stderr:\n%s", ended, what, frames, p.stderr.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("ffmpeg: no %s within %v: %d frames, corner RGB %.0f; stderr:\n%s", what, within, frames, rgb, p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rgbRed reports whether an RGB corner is red (swscale turns the encoder's BT.709 red into
// about 233, 0, 2).
func rgbRed(rgb [3]float64) bool { return rgb[0] > 180 && rgb[1] < 80 && rgb[2] < 80 }

func TestSharedSessionTwoPlayersOneCall(t *testing.T) {
	rs := startStreamer(t, sharedArgs("-session", "show=demo")...)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	showURL := rs.url("live/demo?session=show")

	// ffmpeg sends the query in the play name ("demo?session=show"), the project's client in
	// the tcUrl (rtmp://.../live?session=show): both must reach the session.
	ff := playFFmpeg(t, showURL)
	v := newViewer(t, ctx, showURL, rtmpclient.Options{})
	img := v.Next(ctx)
	if b := img.Bounds(); b.Dx() != sharedW || b.Dy() != sharedH {
		t.Fatalf("frame size %v, want %dx%d", b, sharedW, sharedH)
	}
	if bgRed.in(img) {
		t.Fatal("background red before any call")
	}
	ff.wait(t, "first frame", 30*time.Second, func(n int, _ [3]float64) bool { return n > 0 })
	ff.wait(t, "non-red frame", time.Second, func(_ int, rgb [3]float64) bool { return !rgbRed(rgb) })

	list := waitSessions(t, rs, `session "show" with 2 viewers`, func(l []sessionEntry) bool { return hasViewers(l, "show", 2) })
	s := namedSession(list, "show")
	if len(list) != 1 || s.ID != "show" || !s.Shared || s.Scene != "demo" || !slices.Equal(s.transports(), []string{"rtmp", "rtmp"}) {
		t.Fatalf("sessions %+v, want only \"show\" (id show, shared, scene demo) with two RTMP viewers", list)
	}

	// A third process steers the session without playing.
	out, err := exec.CommandContext(ctx, streamerBin, "call", showURL, "scene.setBackground", "r=1", "g=0", "b=0").CombinedOutput()
	if err != nil {
		t.Fatalf("streamer call scene.setBackground: %v\n%s", err, out)
	}
	waitBackground(t, "RTMP viewer", bgRed, 10*time.Second, func() *image.YCbCr { return v.Next(ctx) })
	ff.wait(t, "red corner after scene.setBackground", 10*time.Second, func(_ int, rgb [3]float64) bool { return rgbRed(rgb) })

	// server.info, asked the same way, counts the session's viewers: the caller is not one.
	out, err = exec.CommandContext(ctx, streamerBin, "call", showURL, "server.info").CombinedOutput()
	if err != nil {
		t.Fatalf("streamer call server.info: %v\n%s", err, out)
	}
	var info struct {
		Sessions []struct {
			Name        string  `json:"name"`
			Shared      bool    `json:"shared"`
			ViewerCount float64 `json:"viewerCount"`
		} `json:"sessions"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatalf("server.info: %v\n%s", err, out)
	}
	found := false
	for _, s := range info.Sessions {
		if s.Name == "show" {
			found = true
			if s.ViewerCount != 2 || !s.Shared {
				t.Fatalf("server.info: session show has viewerCount %v (shared %v), want 2 (shared): the calling process must not play\n%s", s.ViewerCount, s.Shared, out)
			}
		}
	}
	if !found {
		t.Fatalf("server.info lists no session \"show\":\n%s", out)
	}
	list, body := sessionList(t, rs)
	if !hasViewers(list, "show", 2) || len(list) != 1 {
		t.Fatalf("/status.json after the calls: want only \"show\" with 2 viewers:\n%s", body)
	}
}

func TestPrivateSessionsStayPrivate(t *testing.T) {
	rs := startStreamer(t, sharedArgs()...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a := newViewer(t, ctx, rs.url("live/demo"), rtmpclient.Options{})
	b := newViewer(t, ctx, rs.url("live/demo"), rtmpclient.Options{})
	a.Next(ctx)
	b.Next(ctx)
	if _, err := b.Call(ctx, "scene.setBackground", bgRed.args()); err != nil {
		t.Fatalf("scene.setBackground: %v", err)
	}
	waitBackground(t, "viewer B", bgRed, 10*time.Second, func() *image.YCbCr { return b.Next(ctx) })
	keepBackground(t, "viewer A (B called)", bgRed, time.Second, func() *image.YCbCr { return a.Next(ctx) })

	list := waitSessions(t, rs, "two sessions", func(l []sessionEntry) bool { return len(l) == 2 })
	peers := map[string]bool{a.C.LocalAddr().String(): true, b.C.LocalAddr().String(): true}
	for _, s := range list {
		if s.Shared || s.Name != "" || !strings.HasPrefix(s.ID, "p-") || s.Scene != "demo" || len(s.Viewers) != 1 || s.Viewers[0].Transport != "rtmp" {
			t.Fatalf("session %+v, want a private one (id p-<n>, no name, not shared) of scene demo with one RTMP viewer", s)
		}
		if !peers[s.Viewers[0].Peer] {
			t.Fatalf("session %s: viewer peer %q, want one of the clients' addresses %v", s.ID, s.Viewers[0].Peer, peers)
		}
		delete(peers, s.Viewers[0].Peer)
	}
	if list[0].ID == list[1].ID {
		t.Fatalf("two private sessions with one id %q", list[0].ID)
	}
}

func TestSharedSessionEndsWithLastViewer(t *testing.T) {
	rs := startStreamer(t, sharedArgs("-session", "show=demo")...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The -session one is there before any viewer.
	list := waitSessions(t, rs, `session "show"`, func(l []sessionEntry) bool { return namedSession(l, "show") != nil })
	if s := namedSession(list, "show"); len(list) != 1 || !s.Shared || s.Scene != "demo" || len(s.Viewers) != 0 {
		t.Fatalf("at start: sessions %+v, want only \"show\" (shared, scene demo, no viewers)", list)
	}

	// The first viewer of "tmp" makes it with its scene; the second joins it as it is.
	a := newViewer(t, ctx, rs.url("live/testcard?session=tmp"), rtmpclient.Options{})
	a.Next(ctx)
	b := newViewer(t, ctx, rs.url("live/demo?session=tmp"), rtmpclient.Options{})
	b.Next(ctx)
	list = waitSessions(t, rs, `session "tmp" with 2 viewers`, func(l []sessionEntry) bool { return hasViewers(l, "tmp", 2) })
	if s := namedSession(list, "tmp"); !s.Shared || s.Scene != "testcard" || len(list) != 2 || !hasViewers(list, "show", 0) {
		t.Fatalf("sessions %+v, want \"tmp\" (shared, scene testcard, its first viewer's) and \"show\" with no viewers", list)
	}

	a.C.Close()
	waitSessions(t, rs, `session "tmp" with 1 viewer`, func(l []sessionEntry) bool { return hasViewers(l, "tmp", 1) })
	b.C.Close()
	list = waitSessions(t, rs, `the end of session "tmp"`, func(l []sessionEntry) bool { return namedSession(l, "tmp") == nil })
	if len(list) != 1 || !hasViewers(list, "show", 0) {
		t.Fatalf("after tmp's viewers left: sessions %+v, want \"show\" alone, with no viewers", list)
	}

	// A new viewer of "tmp" makes a new session, with its own scene.
	c := newViewer(t, ctx, rs.url("live/demo?session=tmp"), rtmpclient.Options{})
	c.Next(ctx)
	list = waitSessions(t, rs, `session "tmp" again`, func(l []sessionEntry) bool { return hasViewers(l, "tmp", 1) })
	if s := namedSession(list, "tmp"); s.Scene != "demo" {
		t.Fatalf("session \"tmp\" made again by a viewer of demo has scene %q", s.Scene)
	}

	// The -session one outlives its last viewer, and takes viewers again.
	for round := range 2 {
		s := newViewer(t, ctx, rs.url("live/testcard?session=show"), rtmpclient.Options{})
		s.Next(ctx)
		list = waitSessions(t, rs, `session "show" with 1 viewer`, func(l []sessionEntry) bool { return hasViewers(l, "show", 1) })
		if sh := namedSession(list, "show"); sh.Scene != "demo" {
			t.Fatalf("session \"show\" (-session show=demo) joined by a viewer of testcard has scene %q", sh.Scene)
		}
		s.C.Close()
		waitSessions(t, rs, `session "show" without its viewer`, func(l []sessionEntry) bool { return !hasViewers(l, "show", 1) })
		time.Sleep(300 * time.Millisecond) // an ending session would be gone by now
		if list, body := sessionList(t, rs); !hasViewers(list, "show", 0) {
			t.Fatalf("round %d: session \"show\" (-session) gone after its last viewer left:\n%s", round, body)
		}
	}
}

func TestControlToken(t *testing.T) {
	rs := startStreamer(t, sharedArgs("-session", "show=demo", "-control-token", "secret")...)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	showURL := rs.url("live/demo?session=show")

	// A viewer without the control token watches; its calls are refused.
	w := newViewer(t, ctx, showURL, rtmpclient.Options{})
	watch := func() *image.YCbCr { return w.Next(ctx) }
	if img := w.Next(ctx); bgRed.in(img) {
		t.Fatal("background red before any call")
	}
	var ce *rtmpclient.CallError
	if _, err := w.Call(ctx, "scene.setBackground", bgRed.args()); !errors.As(err, &ce) {
		t.Fatalf("scene.setBackground from a viewer without the control token: %v, want _error", err)
	}
	keepBackground(t, "after a refused call", bgRed, time.Second, watch)

	// Connections that play nothing: refused without the token or with a wrong one.
	for name, c := range map[string]struct {
		url  string
		opts rtmpclient.Options
	}{
		"no control token":             {showURL, rtmpclient.Options{}},
		"wrong control_token property": {showURL, rtmpclient.Options{ConnectProperties: amf0.Object{{Key: "control_token", Value: "nope"}}}},
		"wrong control_token in query": {rs.url("live/demo?session=show&control_token=nope"), rtmpclient.Options{}},
	} {
		cc, err := rtmpclient.Dial(ctx, c.url, c.opts)
		if err != nil {
			t.Fatalf("%s: connect: %v (watching and connecting need no control token)", name, err)
		}
		_, err = cc.Call(ctx, "scene.setBackground", nil, bgRed.args())
		cc.Close()
		if !errors.As(err, &ce) {
			t.Fatalf("%s: scene.setBackground: %v, want _error", name, err)
		}
	}

	// The control token in the tcUrl query: the call succeeds and the viewer sees it.
	steer, err := rtmpclient.Dial(ctx, rs.url("live/demo?session=show&control_token=secret"), rtmpclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer steer.Close()
	if _, err := steer.Call(ctx, "scene.setBackground", nil, bgRed.args()); err != nil {
		t.Fatalf("scene.setBackground with the control token in the tcUrl: %v", err)
	}
	waitBackground(t, "viewer without the control token", bgRed, 10*time.Second, watch)

	// As the connect property control_token.
	prop, err := rtmpclient.Dial(ctx, showURL, rtmpclient.Options{ConnectProperties: amf0.Object{{Key: "control_token", Value: "secret"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer prop.Close()
	if _, err := prop.Call(ctx, "scene.setBackground", nil, bgGreen.args()); err != nil {
		t.Fatalf("scene.setBackground with the control_token connect property: %v", err)
	}
	waitBackground(t, "viewer without the control token", bgGreen, 10*time.Second, watch)

	// WHEP: watching needs no control token, data-channel calls do.
	whepBase := "http://" + rs.httpAddr + "/whep/demo?session=show"
	plain := dialWHEPURL(t, whepBase, nil)
	plain.next(ctx)
	if a := plain.call(ctx, "scene.setBackground", bgBlue.jsonArgs()); a["ok"] != false {
		t.Fatalf("data-channel scene.setBackground without the control token: %v, want ok false", a)
	}
	keepBackground(t, "after a refused data-channel call", bgBlue, time.Second, watch)
	query := dialWHEPURL(t, whepBase+"&control_token=secret", nil)
	if a := query.call(ctx, "scene.setBackground", bgBlue.jsonArgs()); a["ok"] != true {
		t.Fatalf("data-channel scene.setBackground, control_token in the offer URL: %v, want ok", a)
	}
	waitBackground(t, "viewer without the control token", bgBlue, 10*time.Second, watch)
	hdr := http.Header{}
	hdr.Set("X-Control-Token", "secret")
	header := dialWHEPURL(t, whepBase, hdr)
	if a := header.call(ctx, "scene.setBackground", bgRed.jsonArgs()); a["ok"] != true {
		t.Fatalf("data-channel scene.setBackground, X-Control-Token header: %v, want ok", a)
	}
	waitBackground(t, "viewer without the control token", bgRed, 10*time.Second, watch)
	waitBackground(t, "WHEP viewer without the control token", bgRed, 10*time.Second, func() *image.YCbCr { return plain.next(ctx) })

	// streamer call: refused without -control-token (exit status 1, the reason shown),
	// steers with it.
	out, err := exec.CommandContext(ctx, streamerBin, "call", showURL, "scene.setBackground", "r=0", "g=1", "b=0").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "control token") {
		t.Fatalf("streamer call without -control-token: err %v, output %q; want a failure naming the control token", err, out)
	}
	out, err = exec.CommandContext(ctx, streamerBin, "call", "-control-token", "secret", showURL, "scene.setBackground", "r=0", "g=1", "b=0").CombinedOutput()
	if err != nil {
		t.Fatalf("streamer call -control-token: %v\n%s", err, out)
	}
	waitBackground(t, "viewer without the control token", bgGreen, 10*time.Second, watch)
}

// lateJoin plays rawURL and reads video until the first frame; it returns the client and
// the time from play to that frame, which must be a keyframe after the sequence header.
func lateJoin(ctx context.Context, rawURL string) (*rtmpclient.Client, time.Duration, error) {
	c, err := rtmpclient.Dial(ctx, rawURL, rtmpclient.Options{})
	if err != nil {
		return nil, 0, err
	}
	id, err := c.CreateStream(ctx)
	if err != nil {
		return c, 0, err
	}
	start := time.Now()
	if err := c.Play(ctx, id, c.URL().Stream); err != nil {
		return c, 0, err
	}
	header := false
	for {
		m, err := c.ReadVideo(ctx)
		if err != nil {
			return c, 0, err
		}
		switch {
		case m.AVCPacketType == rtmpclient.AVCSequenceHeader:
			header = true
		case m.AVCPacketType != rtmpclient.AVCNALU:
		case !header:
			return c, 0, errors.New("a frame before the sequence header")
		case !m.Keyframe:
			return c, 0, errors.New("a P-frame before the first keyframe")
		default:
			return c, time.Since(start), nil
		}
	}
}

func TestLateJoinerGetsKeyframe(t *testing.T) {
	// A 10 s GOP: the joiners' keyframes are forced ones, not the GOP's.
	rs := startStreamer(t, sharedArgs("-session", "show=demo", "-gop", "10s")...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	showURL := rs.url("live/demo?session=show")
	first := newViewer(t, ctx, showURL, rtmpclient.Options{})
	first.Next(ctx)
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	go func() { // the first viewer keeps reading
		for {
			if _, err := first.C.ReadVideo(readCtx); err != nil {
				return
			}
		}
	}()
	list, body := sessionList(t, rs)
	s := namedSession(list, "show")
	if s == nil || s.ForcedKeyframes == nil {
		t.Fatalf("/status.json: no session \"show\" with forced_keyframes:\n%s", body)
	}
	forced0 := *s.ForcedKeyframes

	const joiners = 5
	type joined struct {
		c   *rtmpclient.Client
		d   time.Duration
		err error
	}
	results := make(chan joined, joiners)
	start := time.Now()
	for i := range joiners {
		if i > 0 {
			time.Sleep(50 * time.Millisecond)
		}
		go func() {
			c, d, err := lateJoin(ctx, showURL)
			results <- joined{c, d, err}
		}()
	}
	var worst time.Duration
	for i := range joiners {
		r := <-results
		if r.c != nil {
			defer r.c.Close()
		}
		if r.err != nil {
			t.Errorf("joiner: %v", r.err)
			continue
		}
		t.Logf("joiner (%d to arrive): first keyframe %v after play", i+1, r.d.Round(time.Millisecond))
		worst = max(worst, r.d)
	}
	elapsed := time.Since(start)
	if t.Failed() {
		t.FailNow()
	}
	if worst > 2*time.Second {
		t.Fatalf("a late joiner waited %v for its first keyframe, want under 2 s (250 ms specified)", worst)
	}
	list, body = sessionList(t, rs)
	s = namedSession(list, "show")
	if s == nil || s.ForcedKeyframes == nil || !hasViewers(list, "show", joiners+1) {
		t.Fatalf("/status.json: want session \"show\" with %d viewers and forced_keyframes:\n%s", joiners+1, body)
	}
	forced := *s.ForcedKeyframes - forced0
	limit := float64(elapsed/(250*time.Millisecond)) + 1
	t.Logf("%d joiners 50 ms apart: %v forced keyframes in %v (at most %v allowed)", joiners, forced, elapsed.Round(time.Millisecond), limit)
	if forced < 1 || forced > limit {
		t.Fatalf("%v keyframes forced in %v for %d joiners (10 s GOP), want 1..%v (at most one per 250 ms)", forced, elapsed, joiners, limit)
	}
}

// stallingViewer is a viewer that speaks RTMP by hand over a TCP connection with a small
// receive buffer and segment size, so that once it stops reading, the streamer's writes to
// it block soon: the kernel sizes the streamer's socket buffer by what the connection has
// delivered, so a client that read little buffers little, where one that read fast at first
// (as the project's RTMP client does, which cannot set socket options either) can hold
// megabytes on loopback.
type stallingViewer struct {
	*rawClient
}

func dialStalling(t *testing.T, addr, app, query, play string) *stallingViewer {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		if cerr := rc.Control(func(fd uintptr) {
			if err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096); err == nil {
				err = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_MAXSEG, 536)
			}
		}); cerr != nil {
			return cerr
		}
		return err
	}}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	br := bytecounter.NewReader(nc)
	c := &stallingViewer{&rawClient{t: t, nc: nc, r: rawmessage.NewReader(br, br, func(uint32) error { return nil })}}
	c0c1 := make([]byte, 1537)
	c0c1[0] = 3
	rand.Read(c0c1[9:])
	c.write(c0c1)
	s := make([]byte, 3073)
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(nc, s); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	c.write(s[1:1537])

	tcURL := "rtmp://" + addr + "/" + app
	if query != "" {
		tcURL += "?" + query
	}
	c.write(rawMessage(20, 0, rawCommand(t, "connect", 1, amf0.Object{{Key: "app", Value: app}, {Key: "tcUrl", Value: tcURL}})))
	if name, d := c.reply(1); name != "_result" {
		t.Fatalf("connect: %s %v", name, d)
	}
	c.write(rawMessage(20, 0, rawCommand(t, "createStream", 2, nil)))
	name, reply := c.reply(2)
	if name != "_result" || len(reply) < 4 {
		t.Fatalf("createStream: %s %v", name, reply)
	}
	id, _ := reply[3].(float64)
	c.write(rawMessage(20, uint32(id), rawCommand(t, "play", 3, nil, play, -2.0)))
	return c
}

// next returns the next video message and its parsed tag, or the code of the next onStatus
// (with a nil message); it fails the test on an error status or when nothing comes for 10 s.
func (c *stallingViewer) next() (*rawmessage.Message, rtmpclient.VideoTag, string) {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		m, err := c.r.Read()
		if err != nil {
			c.t.Fatalf("stalling viewer: reading: %v", err)
		}
		switch m.Type {
		case 1:
			if len(m.Body) == 4 {
				c.r.SetChunkSize(binary.BigEndian.Uint32(m.Body))
			}
		case 20:
			if d, err := amf0.Unmarshal(m.Body); err == nil && len(d) >= 4 && d[0] == "onStatus" {
				if o, ok := d[3].(amf0.Object); ok {
					if lvl, _ := o.GetString("level"); lvl == "error" {
						c.t.Fatalf("stalling viewer: %v", o)
					}
					code, _ := o.GetString("code")
					return nil, rtmpclient.VideoTag{}, code
				}
			}
		case 9:
			tag, err := rtmpclient.ParseVideoTag(m.Body)
			if err != nil {
				c.t.Fatalf("stalling viewer: %v", err)
			}
			return m, tag, ""
		}
	}
}

// nextVideo returns the next video message and its parsed tag.
func (c *stallingViewer) nextVideo() (*rawmessage.Message, rtmpclient.VideoTag) {
	c.t.Helper()
	for {
		if m, tag, _ := c.next(); m != nil {
			return m, tag
		}
	}
}

// waitPlayStart reads up to NetStream.Play.Start, and no media after it.
func (c *stallingViewer) waitPlayStart() {
	c.t.Helper()
	for {
		if _, _, code := c.next(); code == "NetStream.Play.Start" {
			return
		}
	}
}

func TestSlowViewerDoesNotSlowOthers(t *testing.T) {
	// Animated and 640x480: frames big enough to fill what the kernel buffers for the
	// stalled connection well within the stall.
	rs := startStreamer(t, "-size", "640x480", "-fps", fmt.Sprint(sharedFPS), "-session", "show=demo", "-animate", "on", "-gop", "1s")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	normal := newViewer(t, ctx, rs.url("live/demo?session=show"), rtmpclient.Options{})
	normal.Next(ctx)

	// The slow viewer reads nothing after NetStream.Play.Start: the less its connection has
	// delivered, the less the streamer's socket buffers for it.
	slow := dialStalling(t, rs.rtmpAddr, "live", "session=show", "demo")
	slow.waitPlayStart()

	// The slow viewer stops reading; the normal one counts its frames meanwhile.
	forced := func() float64 {
		list, body := sessionList(t, rs)
		if s := namedSession(list, "show"); s != nil && s.ForcedKeyframes != nil {
			return *s.ForcedKeyframes
		}
		t.Fatalf("/status.json: no session \"show\" with forced_keyframes:\n%s", body)
		return 0
	}
	forced0 := forced()
	const window = 5 * time.Second
	frames := 0
	var firstTS, lastTS time.Duration
	for end := time.Now().Add(window); time.Now().Before(end); {
		m, err := normal.C.ReadVideo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.AVCPacketType == rtmpclient.AVCNALU {
			if frames == 0 {
				firstTS = m.Timestamp
			}
			frames++
			lastTS = m.Timestamp
		}
	}
	want := int(0.7 * sharedFPS * window.Seconds())
	rate := float64(frames-1) / (lastTS - firstTS).Seconds() // in stream time: no wall-clock noise
	t.Logf("normal viewer: %d frames in %v beside a stalled one, %.1f frames/s by their timestamps (-fps %d); %v keyframes forced meanwhile",
		frames, window, rate, sharedFPS, forced()-forced0)
	if frames < want {
		t.Fatalf("normal viewer got %d frames in %v beside a stalled viewer, want at least %d (70%% of %d fps)", frames, window, want, sharedFPS)
	}
	if rate > 1.3*sharedFPS {
		t.Errorf("normal viewer: %.1f frames/s by the timestamps beside a stalled viewer, want about -fps %d: the stalled viewer's keyframe requests must not add frames", rate, sharedFPS)
	}

	// The slow viewer reads again: what was buffered for it (from its first keyframe on),
	// then, after the frames skipped for it (a jump in time), a keyframe, never a P-frame
	// that references what it missed.
	var last time.Duration
	started, skipped := false, false
	for deadline := time.Now().Add(15 * time.Second); !skipped; {
		if time.Now().After(deadline) {
			t.Fatal("the slow viewer saw no frames skipped for it within 15 s of reading again")
		}
		m, tag := slow.nextVideo()
		if tag.AVCPacketType != rtmpclient.AVCNALU {
			continue
		}
		if !started && !tag.Keyframe {
			t.Fatal("slow viewer: its first frame is a P-frame, want a keyframe")
		}
		if started && m.Timestamp-last > time.Second {
			t.Logf("slow viewer: skipped %v, then a frame (keyframe %v)", m.Timestamp-last, tag.Keyframe)
			if !tag.Keyframe {
				t.Fatalf("slow viewer: after %v of skipped frames, a P-frame, want a keyframe", m.Timestamp-last)
			}
			skipped = true
		}
		started, last = true, m.Timestamp
	}
	for range 5 { // and it plays on
		slow.nextVideo()
	}
}

func TestWHEPJoinsSharedSession(t *testing.T) {
	rs := startStreamer(t, sharedArgs()...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The WHEP viewer makes the session; the RTMP viewer joins it (its scene name is ignored).
	wc := dialWHEPURL(t, "http://"+rs.httpAddr+"/whep/demo?session=mix", nil)
	if img := wc.next(ctx); bgRed.in(img) {
		t.Fatal("background red before any call")
	}
	v := newViewer(t, ctx, rs.url("live/testcard?session=mix"), rtmpclient.Options{})
	v.Next(ctx)
	list := waitSessions(t, rs, `session "mix" with 2 viewers`, func(l []sessionEntry) bool { return hasViewers(l, "mix", 2) })
	if s := namedSession(list, "mix"); len(list) != 1 || !s.Shared || s.Scene != "demo" || !slices.Equal(s.transports(), []string{"rtmp", "webrtc"}) {
		t.Fatalf("sessions %+v, want only \"mix\" (shared, scene demo) with an RTMP and a WebRTC viewer", list)
	}
	// With no control token, any viewer steers: a data-channel call changes the RTMP picture.
	if a := wc.call(ctx, "scene.setBackground", bgRed.jsonArgs()); a["ok"] != true {
		t.Fatalf("data-channel scene.setBackground: %v", a)
	}
	waitBackground(t, "RTMP viewer", bgRed, 10*time.Second, func() *image.YCbCr { return v.Next(ctx) })
	waitBackground(t, "WHEP viewer", bgRed, 10*time.Second, func() *image.YCbCr { return wc.next(ctx) })
}

func TestBadSessionNames(t *testing.T) {
	rs := startStreamer(t, sharedArgs()...)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	good := newViewer(t, ctx, rs.url("live/demo?session=ok"), rtmpclient.Options{})
	good.Next(ctx)
	_, _, offer := whepOffer(t, newWHEPAPI(t))

	for _, name := range []string{"../x", strings.Repeat("a", 65), "a b", "x/y", "dé", "a.b"} {
		q := url.QueryEscape(name)
		// In the tcUrl query (the project's client, librtmp): refused at connect or at play.
		var se *rtmpclient.StatusError
		c, err := rtmpclient.Dial(ctx, rs.url("live/demo?session="+q), rtmpclient.Options{})
		if err == nil {
			id, err := c.CreateStream(ctx)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Play(ctx, id, "demo")
			c.Close()
		}
		if !errors.As(err, &se) || se.Level != "error" && se.Code != "NetConnection.Connect.Rejected" ||
			!strings.Contains(strings.ToLower(se.Description), "session") {
			t.Fatalf("session %q in the tcUrl: %v, want the connect or the play refused, naming the session", name, err)
		}
		// In the play name (ffmpeg): the play is refused.
		{
			c, err := rtmpclient.Dial(ctx, rs.url("live/demo"), rtmpclient.Options{})
			if err != nil {
				t.Fatal(err)
			}
			play := "demo?session=" + q
			id, err := c.CreateStream(ctx)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Play(ctx, id, play)
			c.Close()
			if !errors.As(err, &se) || se.Level != "error" || (se.Code != "NetStream.Play.Failed" && se.Code != "NetStream.Play.StreamNotFound") ||
				!strings.Contains(strings.ToLower(se.Description), "session") {
				t.Fatalf("session %q in the play name: %v, want NetStream.Play.Failed (or StreamNotFound) naming the session", name, err)
			}
		}
		if status, _, body := postOffer(t, "http://"+rs.httpAddr+"/whep/demo?session="+q, offer, ""); status != http.StatusBadRequest {
			t.Fatalf("WHEP offer with session %q: %d %s, want 400", name, status, body)
		}
	}
	// The longest name, of every allowed character, is fine.
	longest := strings.Repeat("Az_9-", 12) + "Az_9"
	v := newViewer(t, ctx, rs.url("live/demo?session="+longest), rtmpclient.Options{})
	v.Next(ctx)
	good.Next(ctx) // the first viewer plays on
	list := waitSessions(t, rs, "sessions ok and the 64-character one", func(l []sessionEntry) bool {
		return hasViewers(l, "ok", 1) && hasViewers(l, longest, 1)
	})
	if len(list) != 2 {
		t.Fatalf("sessions %+v, want only \"ok\" and %q: refused plays leave nothing behind", list, longest)
	}

	// Bad -session flags stop the streamer at start, naming the flag.
	for _, arg := range []string{"bad name=demo", "x=nosuchscene", "noscene", "../x=demo", strings.Repeat("a", 65) + "=demo"} {
		cctx, ccancel := context.WithTimeout(ctx, 30*time.Second)
		out, err := exec.CommandContext(cctx, streamerBin, "-session", arg, "-listen", "127.0.0.1:0", "-http", "").CombinedOutput()
		expired := cctx.Err() != nil
		ccancel()
		if expired {
			t.Fatalf("-session %q: the streamer still ran after 30 s, want it refused at start", arg)
		}
		if err == nil || !strings.Contains(string(out), "-session") {
			t.Fatalf("-session %q: err %v, output %q; want a non-zero exit with a message naming -session", arg, err, out)
		}
	}
}
