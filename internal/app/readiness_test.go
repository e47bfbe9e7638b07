package app

import (
	"context"
	"encoding/json"
	"errors"
	"image"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/encode"
	"github.com/rendercast/rendercast/internal/playtest"
	"github.com/rendercast/rendercast/rtmpclient"
	"github.com/rendercast/rendercast/session"
)

// probe asks the app's handler for path and returns the status and body.
func probe(t *testing.T, a *App, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	a.httpHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

// readyz returns /readyz's status and decoded answer.
func readyz(t *testing.T, a *App) (int, ReadyStatus) {
	t.Helper()
	code, body := probe(t, a, "/readyz")
	var st ReadyStatus
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("/readyz body %q: %v", body, err)
	}
	if (code == http.StatusOK) != st.Ready || (len(st.Reasons) == 0) != st.Ready {
		t.Fatalf("/readyz %d with %+v: status, ready and reasons disagree", code, st)
	}
	return code, st
}

// waitReady waits until /readyz answers want, with a reason containing why when want is
// 503, and returns the answer.
func waitReady(t *testing.T, a *App, want int, why string) ReadyStatus {
	t.Helper()
	var st ReadyStatus
	var code int
	waitUntil(t, "/readyz "+http.StatusText(want)+" "+why, func() bool {
		code, st = readyz(t, a)
		return code == want && (why == "" || strings.Contains(strings.Join(st.Reasons, "\n"), why))
	})
	return st
}

// injectedEncoders opens real encoders that fail to open while failOpen is set and whose
// Encode fails while failEncode is set.
type injectedEncoders struct {
	failOpen, failEncode atomic.Bool
	opened               atomic.Int64
}

var errInjectedOpen = errors.New("injected: the encoder does not open")

func (f *injectedEncoders) open(o encode.Options) (session.Encoder, error) {
	if f.failOpen.Load() {
		return nil, errInjectedOpen
	}
	e, err := encode.New(o)
	if err != nil {
		return nil, err
	}
	f.opened.Add(1)
	return switchedEncoder{e, &f.failEncode}, nil
}

// switchedEncoder is a real encoder whose Encode fails while fail is set.
type switchedEncoder struct {
	session.Encoder
	fail *atomic.Bool
}

func (e switchedEncoder) Encode(img image.Image, pts time.Duration) (*avc.Frame, error) {
	if e.fail.Load() {
		return nil, errors.New("injected encoder failure")
	}
	return e.Encoder.Encode(img, pts)
}

// startedTestApp is newTestApp listening for RTMP on loopback (readiness needs it).
func startedTestApp(t *testing.T, mutate func(*Config)) *App {
	t.Helper()
	a := newTestApp(t, func(c *Config) {
		c.Listen = "127.0.0.1:0"
		if mutate != nil {
			mutate(c)
		}
	})
	if code, st := readyz(t, a); code != http.StatusServiceUnavailable || !strings.Contains(strings.Join(st.Reasons, ""), "RTMP is not listening") {
		t.Fatalf("/readyz before Start: %d %+v, want 503: RTMP is not listening", code, st)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Shutdown(ctx)
	})
	return a
}

// /readyz follows each fault as it comes and goes: a full house (-max-viewers), an encoder
// that fails in a session and then does not open, OpenGL contexts lost under the renderer.
// Every reason present at once is listed.
func TestReadyzFollowsFaults(t *testing.T) {
	enc := &injectedEncoders{}
	a := startedTestApp(t, func(c *Config) {
		c.MaxViewers = 2
		c.GLContexts = 2
		c.OpenEncoder = enc.open
	})
	if code, st := readyz(t, a); code != http.StatusOK || st.GLContextsWorking != 2 || st.Encoder != "libx264" || st.MaxViewers != 2 {
		t.Fatalf("/readyz after Start: %d %+v, want 200 with 2 working contexts, libx264, max 2", code, st)
	}

	// A full house, then a seat free again.
	v1 := joinTest(t, a, "", "testcard")
	if code, st := readyz(t, a); code != http.StatusOK || st.Viewers != 1 {
		t.Fatalf("one viewer of two: %d %+v, want 200", code, st)
	}
	v2 := joinTest(t, a, "", "demo")
	st := waitReady(t, a, http.StatusServiceUnavailable, "full: 2 viewers playing, the most -max-viewers allows")
	if st.Viewers != 2 || len(st.Reasons) != 1 {
		t.Errorf("full house: %+v, want 2 viewers and one reason", st)
	}
	v2.v.end()
	waitReady(t, a, http.StatusOK, "")

	// An encoder fails in a session and no encoder opens: not ready, with the error;
	// encoders open again: ready again (the test encoder is tried again every second or so).
	sink := &frameSink{}
	if err := v1.v.attach(sink); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "frames before the failure", func() bool { return sink.count() >= 3 })
	enc.failOpen.Store(true)
	enc.failEncode.Store(true)
	st = waitReady(t, a, http.StatusServiceUnavailable, "the test encoder (libx264) does not open: "+errInjectedOpen.Error())
	if len(st.Reasons) != 1 {
		t.Errorf("reasons %q, want the encoder's alone", st.Reasons)
	}
	v1.v.end()
	v := &viewer{a: a, transport: "rtmp", peer: "127.0.0.1:3", started: time.Now()}
	if err := v.open("", "demo"); !errors.Is(err, errInjectedOpen) {
		t.Errorf("a viewer while no encoder opens: %v, want the encoder's error", err)
		v.end()
	}
	enc.failEncode.Store(false)
	enc.failOpen.Store(false)
	waitReady(t, a, http.StatusOK, "")
	v4 := joinTest(t, a, "", "demo")
	sink4 := &frameSink{}
	if err := v4.v.attach(sink4); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "frames after the encoder came back", func() bool { return sink4.count() >= 3 })
	v4.v.end()

	// OpenGL: one context of two lost keeps the streamer ready; both lost is not ready
	// (nothing brings a lost context back: /healthz fails too, so that the process is
	// restarted).
	if err := a.renderer.LoseContext(0, "simulated GPU reset"); err != nil {
		t.Fatal(err)
	}
	if code, st := readyz(t, a); code != http.StatusOK || st.GLContextsWorking != 1 || st.GLContexts != 2 {
		t.Fatalf("one context lost of two: %d %+v, want 200 with 1 working of 2", code, st)
	}
	if code, body := probe(t, a, "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("/healthz with one context working: %d %q", code, body)
	}
	joinTest(t, a, "full", "demo")
	joinTest(t, a, "house", "demo")
	if err := a.renderer.LoseContext(1, "second reset"); err != nil {
		t.Fatal(err)
	}
	st = waitReady(t, a, http.StatusServiceUnavailable, "no OpenGL context works")
	all := strings.Join(st.Reasons, "\n")
	if !strings.Contains(all, "simulated GPU reset") || !strings.Contains(all, "second reset") || !strings.Contains(all, "full:") || len(st.Reasons) != 2 {
		t.Errorf("reasons %q, want the lost contexts (both causes) and the full house", st.Reasons)
	}
	code, body := probe(t, a, "/healthz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "no OpenGL context works") || !strings.Contains(body, "second reset") {
		t.Errorf("/healthz with every context lost: %d %q, want 503 naming the loss", code, body)
	}
	if err := a.renderer.LoseContext(2, "x"); err == nil {
		t.Error("LoseContext(2) of a 2-context pool accepted")
	}
}

// offerH264 is the least offer WHEP takes to ask the application for a viewer.
const offerH264 = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\n" +
	"c=IN IP4 0.0.0.0\r\na=rtpmap:102 H264/90000\r\n"

// Drain (SIGTERM): not ready and no new viewers at once (RTMP connect rejected, WHEP
// 503), the viewers there keep playing for the drain wait, then an RTMP viewer is told
// NetStream.Play.UnpublishNotify and its connection closes, and every session is closed.
func TestDrainStopsAdmittingThenEnds(t *testing.T) {
	a := startedTestApp(t, func(c *Config) {
		c.HTTP = "127.0.0.1:0"
		c.DrainWait = 2 * time.Second
		c.DrainTimeout = 5 * time.Second
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	url := "rtmp://" + a.RTMPAddr().String() + "/live/demo"
	pv := playtest.Play(t, ctx, url, rtmpclient.Options{})
	pv.Next(ctx)
	sessions := a.reg.list()
	if len(sessions) != 1 {
		t.Fatalf("%d sessions, want the viewer's", len(sessions))
	}
	done := make(chan error, 1)
	go func() { done <- a.Drain() }()
	st := waitReady(t, a, http.StatusServiceUnavailable, "draining")
	if !st.Draining || len(st.Reasons) != 1 {
		t.Errorf("draining: %+v, want draining alone", st)
	}
	if _, err := rtmpclient.Dial(ctx, url, rtmpclient.Options{}); err == nil || !strings.Contains(err.Error(), "draining") {
		t.Errorf("an RTMP connect while draining: %v, want it rejected, saying why", err)
	}
	resp, err := http.Post("http://"+a.HTTPAddr().String()+"/whep/demo", "application/sdp", strings.NewReader(offerH264))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "draining") {
		t.Errorf("a WHEP offer while draining: %d %q, want 503 saying why", resp.StatusCode, body)
	}
	// The viewer there keeps its picture through the wait.
	for range 15 {
		pv.Next(ctx)
	}
	if st, _ := readyz(t, a); st != http.StatusServiceUnavailable {
		t.Fatal("ready again while draining")
	}
	var seen []string
	for {
		e, err := pv.C.ReadEvent(ctx)
		if err != nil {
			t.Fatalf("no NetStream.Play.UnpublishNotify (saw %v): %v", seen, err)
		}
		if e.Kind == rtmpclient.EventStatus {
			seen = append(seen, e.Status.Code)
			if e.Status.Code == "NetStream.Play.UnpublishNotify" {
				break
			}
		}
	}
	select {
	case <-pv.C.Done():
	case <-ctx.Done():
		t.Fatal("the RTMP connection stays open after the drain")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Drain: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Drain did not return")
	}
	l := sessions[0]
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if !closed || len(a.reg.list()) != 0 {
		t.Errorf("sessions left after Drain: %d (the viewer's closed: %v)", len(a.reg.list()), closed)
	}
}
