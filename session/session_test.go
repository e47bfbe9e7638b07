package session

import (
	"errors"
	"image"
	"sync"
	"testing"
	"time"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/render"
	"github.com/rendercast/rendercast/scenes"
)

type fakeEncoder struct {
	mu      sync.Mutex
	got     []*image.YCbCr
	keyReqs int
	bps     int
	closed  bool
}

func (e *fakeEncoder) Encode(img image.Image, pts time.Duration) (*avc.Frame, error) {
	y := img.(*image.YCbCr)
	e.mu.Lock()
	e.got = append(e.got, y)
	e.mu.Unlock()
	return &avc.Frame{NALUs: []byte{0, 0, 0, 1, 0x65}, Keyframe: true, PTS: pts, DTS: pts}, nil
}

// fakeEncoder also serves as a session's encoder (Viewers.NewEncoder): it records the
// keyframe requests and bitrates, and makes a keyframe when one was requested.
func (e *fakeEncoder) RequestKeyframe()       { e.mu.Lock(); e.keyReqs++; e.mu.Unlock() }
func (e *fakeEncoder) SetBitrate(b int) error { e.mu.Lock(); e.bps = b; e.mu.Unlock(); return nil }
func (e *fakeEncoder) Name() string           { return "fake" }
func (e *fakeEncoder) Close() error           { e.mu.Lock(); e.closed = true; e.mu.Unlock(); return nil }

type observer struct {
	mu               sync.Mutex
	renders, encodes int
	callToFrame      []time.Duration
}

func (o *observer) Rendered(time.Duration) { o.mu.Lock(); o.renders++; o.mu.Unlock() }
func (o *observer) Encoded(time.Duration, int, bool) {
	o.mu.Lock()
	o.encodes++
	o.mu.Unlock()
}
func (o *observer) CallToFrame(d time.Duration) {
	o.mu.Lock()
	o.callToFrame = append(o.callToFrame, d)
	o.mu.Unlock()
}

var (
	rendererOnce sync.Once
	renderer     *render.Renderer
	rendererErr  error
)

func viewers(t *testing.T, obs Observer) *Viewers {
	t.Helper()
	rendererOnce.Do(func() { renderer, rendererErr = render.New(render.Config{}) })
	if rendererErr != nil {
		t.Fatalf("OpenGL: %v", rendererErr)
	}
	return &Viewers{Renderer: renderer, Library: scenes.NewLibrary(), Observer: obs,
		Info: func() map[string]any { return map[string]any{"version": "test"} }}
}

func newSession(t *testing.T, obs Observer) *Session {
	t.Helper()
	s, err := New(viewers(t, obs), "demo", Options{Width: 320, Height: 180})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func cornerRGB(img *image.YCbCr) (y, cb, cr uint8) {
	c := img.YCbCrAt(4, 4)
	return c.Y, c.Cb, c.Cr
}

func TestUnknownScene(t *testing.T) {
	_, err := New(viewers(t, nil), "nope", Options{Width: 64, Height: 64})
	if !errors.Is(err, scenes.ErrUnknownScene) {
		t.Fatalf("unknown scene: %v", err)
	}
}

func TestRenderFrameAndCallToFrame(t *testing.T) {
	obs := &observer{}
	s := newSession(t, obs)
	enc := &fakeEncoder{}
	if f, err := s.Frame(enc, false, 0); f != nil || err != nil {
		t.Fatalf("frame before any render: %v %v, want nothing", f, err)
	}
	if err := s.Render(); err != nil {
		t.Fatal(err)
	}
	if f, _ := s.Frame(enc, true, 0); f != nil {
		t.Fatal("a frame was produced with the queue full")
	}
	if f, err := s.Frame(enc, false, 33*time.Millisecond); err != nil || f == nil {
		t.Fatalf("frame: %v %v", f, err)
	}
	y0, _, cr0 := cornerRGB(enc.got[0])

	if _, err := s.Call("scene.setBackground", Args{"r": 1.0, "g": 0.0, "b": 0.0}); err != nil {
		t.Fatal(err)
	}
	if err := s.Render(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Frame(enc, false, 66*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	y1, _, cr1 := cornerRGB(enc.got[1])
	if cr1 < 200 || cr1 <= cr0 {
		t.Fatalf("corner after setBackground red: Y %d Cr %d (before Y %d Cr %d)", y1, cr1, y0, cr0)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if len(obs.callToFrame) != 1 {
		t.Fatalf("call-to-frame observed %d times, want 1", len(obs.callToFrame))
	}
	if obs.renders != 2 || obs.encodes != 2 {
		t.Fatalf("observer saw %d renders, %d encodes", obs.renders, obs.encodes)
	}
}

func TestCameraCallsAndPointer(t *testing.T) {
	s := newSession(t, nil)
	get := func() map[string]any {
		v, err := s.Call("camera.get", nil)
		if err != nil {
			t.Fatal(err)
		}
		return v.(map[string]any)
	}
	start := get()
	if _, err := s.Call("camera.orbit", Args{"dx": 30.0}); err != nil {
		t.Fatal(err)
	}
	if d := get()["yaw"].(float64) - start["yaw"].(float64); d < 29.9 || d > 30.1 {
		t.Fatalf("orbit by 30 changed yaw by %v", d)
	}
	if _, err := s.Call("camera.zoom", Args{"factor": 2.0}); err != nil {
		t.Fatal(err)
	}
	if d := get()["distance"].(float64); d > start["distance"].(float64)/2+0.01 {
		t.Fatalf("zoom 2 left distance %v (was %v)", d, start["distance"])
	}
	if _, err := s.Call("camera.reset", nil); err != nil {
		t.Fatal(err)
	}
	if get()["yaw"] != start["yaw"] {
		t.Fatal("reset did not restore the camera")
	}
	// Left drag of 100 px to the right orbits by -30°; the wheel zooms.
	for _, ev := range []Args{
		{"type": "down", "x": 100.0, "y": 100.0, "button": 0.0},
		{"type": "move", "x": 200.0, "y": 100.0},
		{"type": "up", "x": 200.0, "y": 100.0},
		{"type": "move", "x": 400.0, "y": 100.0}, // no button held: nothing
	} {
		if _, err := s.Call("input.pointer", ev); err != nil {
			t.Fatalf("%v: %v", ev, err)
		}
	}
	if d := get()["yaw"].(float64) - start["yaw"].(float64); d > -29.9 || d < -30.1 {
		t.Fatalf("drag of 100 px changed yaw by %v, want -30", d)
	}
	if _, err := s.Call("input.pointer", Args{"type": "wheel", "delta": -100.0}); err != nil {
		t.Fatal(err)
	}
	if get()["distance"].(float64) >= start["distance"].(float64) {
		t.Fatal("wheel up did not zoom in")
	}
}

func TestBadArgumentsNameTheArgument(t *testing.T) {
	s := newSession(t, nil)
	cases := []struct {
		call string
		args Args
		arg  string
	}{
		{"camera.orbit", Args{}, "dx"},
		{"camera.orbit", Args{"dx": "ten"}, "dx"},
		{"camera.zoom", Args{"factor": -1.0}, "factor"},
		{"camera.set", Args{"eye": []any{1.0, 2.0}}, "eye"},
		{"scene.setBackground", Args{"r": 2.0, "g": 0.0, "b": 0.0}, "r"},
		{"scene.setVisible", Args{"node": "nope", "visible": true}, "node"},
		{"scene.setColor", Args{"node": "x"}, "r"},
		{"scene.load", Args{"name": "../../etc/passwd"}, "name"},
		{"input.pointer", Args{"type": "jump"}, "type"},
		{"input.pointer", Args{"type": "down", "button": 7.0}, "button"},
	}
	for _, c := range cases {
		_, err := s.Call(c.call, c.args)
		var ae *ArgError
		if !errors.As(err, &ae) || ae.Arg != c.arg {
			t.Errorf("%s %v: %v, want an error naming %q", c.call, c.args, err, c.arg)
		}
	}
	if _, err := s.Call("no.such", nil); !errors.Is(err, ErrUnknownCall) {
		t.Errorf("unknown call: %v", err)
	}
	if Known("no.such") || !Known("camera.orbit") {
		t.Error("Known is wrong")
	}
}

func TestSceneCalls(t *testing.T) {
	s := newSession(t, nil)
	list, err := s.Call("scene.list", nil)
	if err != nil || len(list.([]string)) < 2 {
		t.Fatalf("scene.list: %v %v", list, err)
	}
	nodes, err := s.Call("scene.nodes", nil)
	if err != nil || len(nodes.([]string)) == 0 {
		t.Fatalf("scene.nodes: %v %v", nodes, err)
	}
	first := nodes.([]string)[0]
	if _, err := s.Call("scene.setVisible", Args{"node": first, "visible": false}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Call("scene.setColor", Args{"node": first, "r": 0.1, "g": 0.2, "b": 0.3}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Call("scene.load", Args{"name": "testcard"}); err != nil {
		t.Fatal(err)
	}
	if s.SceneName() != "testcard" {
		t.Fatalf("scene %q after scene.load", s.SceneName())
	}
	if err := s.Render(); err != nil {
		t.Fatal(err)
	}
	if info, err := s.Call("server.info", nil); err != nil || info.(map[string]any)["version"] != "test" {
		t.Fatalf("server.info: %v %v", info, err)
	}
}

func TestDrawsOnlyWhenSomethingChanged(t *testing.T) {
	s := newSession(t, nil) // demo, Animate off
	for range 3 {
		if err := s.Render(); err != nil {
			t.Fatal(err)
		}
	}
	if d := s.view.Stats().Drawn; d != 1 {
		t.Fatalf("a static scene was drawn %d times in 3 renders, want 1", d)
	}
	if _, err := s.Call("camera.orbit", Args{"dx": 5.0}); err != nil {
		t.Fatal(err)
	}
	s.Render()
	s.Render()
	if d := s.view.Stats().Drawn; d != 2 {
		t.Fatalf("after a call: drawn %d times, want 2", d)
	}

	moving, err := New(viewers(t, nil), "testcard", Options{Width: 320, Height: 180, Animate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer moving.Close()
	for range 3 {
		moving.Render()
	}
	if d := moving.view.Stats().Drawn; d != 3 {
		t.Fatalf("an animated scene was drawn %d times in 3 renders, want 3", d)
	}
}

// stallImage is a texture whose first Bounds call (made by the draw, on the GL goroutine)
// signals stalled and waits for release.
type stallImage struct {
	image.Image
	once             sync.Once
	stalled, release chan struct{}
}

func (m *stallImage) Bounds() image.Rectangle {
	m.once.Do(func() { close(m.stalled); <-m.release })
	return m.Image.Bounds()
}

// A call that edits the scene completes while a render is drawing; the next render draws
// the edit.
func TestCallsDoNotWaitForTheDraw(t *testing.T) {
	v := viewers(t, nil)
	sc, err := v.Library.Get("demo")
	if err != nil {
		t.Fatal(err)
	}
	tex := &stallImage{Image: image.NewNRGBA(image.Rect(0, 0, 4, 4)), stalled: make(chan struct{}), release: make(chan struct{})}
	for _, m := range sc.Materials {
		m.BaseColorTexture = tex
	}
	if err := v.Library.AddScene("stall", sc); err != nil {
		t.Fatal(err)
	}
	s, err := New(v, "stall", Options{Width: 64, Height: 64})
	if err != nil {
		t.Fatal(err)
	}
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(tex.release) }) }
	rendered := make(chan error, 1)
	t.Cleanup(func() {
		release()
		<-rendered
		s.Close()
	})
	go func() { rendered <- s.Render() }()
	select {
	case <-tex.stalled:
	case <-time.After(10 * time.Second):
		t.Fatal("the draw never reached the texture")
	}
	called := make(chan error, 1)
	go func() {
		_, err := s.Call("camera.orbit", Args{"dx": 10.0})
		called <- err
	}()
	select {
	case err := <-called:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("camera.orbit waited for the draw in progress")
	}
	release()
	if err := <-rendered; err != nil {
		t.Fatal(err)
	}
	rendered <- nil // for the cleanup
	if drawn, err := s.RenderChanged(); err != nil || !drawn {
		t.Fatalf("the render after the call: drawn %v, %v; the edit made during the draw was lost", drawn, err)
	}
	if drawn, err := s.RenderChanged(); err != nil || drawn {
		t.Fatalf("a render with nothing new: drawn %v, %v", drawn, err)
	}
}
