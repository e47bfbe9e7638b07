package session

import (
	"errors"
	"slices"
	"testing"
)

type fakeTransport struct{}

func (f *fakeTransport) Stats() any { return map[string]any{"transport": "fake"} }

// withEncoder makes a session with output, its encoder a fakeEncoder.
func withEncoder(t *testing.T) (*Session, *fakeEncoder) {
	t.Helper()
	v := viewers(t, nil)
	enc := &fakeEncoder{}
	v.NewEncoder = func(EncoderOptions) (Encoder, error) { return enc, nil }
	s, err := New(v, "demo", Options{Width: 320, Height: 180})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, enc
}

func TestDispatchTransportCalls(t *testing.T) {
	s, enc := withEncoder(t)
	v := s.v
	tr := &fakeTransport{}
	views := []*Session{s}
	if res, err := v.Dispatch(tr, views, "stream.setRenderRate", Args{"fps": 15.0}); err != nil || s.RenderRate() != 15 || res.(map[string]any)["fps"] != 15.0 {
		t.Fatalf("setRenderRate: %v %v (session at %v)", res, err, s.RenderRate())
	}
	if _, err := v.Dispatch(tr, views, "stream.setBitrate", Args{"kbps": 1500.0}); err != nil || enc.bps != 1_500_000 || s.Stats().BitrateMaxBps != 1_500_000 {
		t.Fatalf("setBitrate: %v (encoder at %d)", err, enc.bps)
	}
	if _, err := v.Dispatch(tr, views, "stream.keyframe", nil); err != nil || s.out.wants.Load() != 1 {
		t.Fatalf("keyframe: %v (%d keyframes wanted)", err, s.out.wants.Load())
	}
	if res, err := v.Dispatch(tr, views, "stream.stats", nil); err != nil || res.(map[string]any)["transport"] != "fake" {
		t.Fatalf("stats: %v %v", res, err)
	}
	if res, err := v.Dispatch(tr, views, "scene.list", nil); err != nil || !slices.Contains(res.([]string), "demo") {
		t.Fatalf("scene.list: %v %v", res, err)
	}
	if res, err := v.Dispatch(tr, views, "server.info", nil); err != nil || res.(map[string]any)["version"] != "test" {
		t.Fatalf("server.info: %v %v", res, err)
	}
	// View calls run on the session.
	if res, err := v.Dispatch(tr, views, "camera.get", nil); err != nil || res.(map[string]any)["yaw"] == nil {
		t.Fatalf("camera.get: %v %v", res, err)
	}
	// Bad arguments name the argument; transport errors pass through.
	for _, c := range []struct {
		name string
		args Args
		arg  string
	}{
		{"stream.setRenderRate", Args{"fps": 0.0}, "fps"},
		{"stream.setRenderRate", Args{"fps": "fast"}, "fps"},
		{"stream.setBitrate", Args{"kbps": 50.0}, "kbps"},
		{"stream.setBitrate", Args{}, "kbps"},
		{"camera.orbit", Args{}, "dx"},
	} {
		var ae *ArgError
		if _, err := v.Dispatch(tr, views, c.name, c.args); !errors.As(err, &ae) || ae.Arg != c.arg {
			t.Errorf("%s %v: %v, want an error naming %s", c.name, c.args, err, c.arg)
		}
	}
}

func TestDispatchWithoutAView(t *testing.T) {
	v := viewers(t, nil)
	tr := &fakeTransport{}
	for _, name := range []string{"stream.setRenderRate", "stream.setBitrate", "stream.keyframe", "camera.orbit"} {
		if _, err := v.Dispatch(tr, nil, name, Args{"fps": 10.0, "kbps": 500.0, "dx": 1.0}); !errors.Is(err, ErrNotPlaying) {
			t.Errorf("%s without a view: %v, want ErrNotPlaying", name, err)
		}
	}
	if _, err := v.Dispatch(tr, nil, "stream.stats", nil); err != nil {
		t.Errorf("stream.stats without a view: %v", err)
	}
	if _, err := v.Dispatch(nil, nil, "scene.list", nil); err != nil {
		t.Errorf("scene.list without a transport: %v", err)
	}
	if _, err := v.Dispatch(tr, nil, "no.such", nil); !errors.Is(err, ErrUnknownCall) {
		t.Errorf("unknown call: %v", err)
	}
}

func TestProcedureLists(t *testing.T) {
	all := AllProcedures()
	for _, n := range append(Procedures(), TransportProcedures()...) {
		if !slices.Contains(all, n) || !Answers(n) {
			t.Errorf("%s missing from AllProcedures or Answers", n)
		}
	}
	if !slices.IsSorted(all) || slices.Compact(slices.Clone(all))[len(all)-1] != all[len(all)-1] || len(slices.Compact(slices.Clone(all))) != len(all) {
		t.Errorf("AllProcedures not sorted and unique: %v", all)
	}
	if Answers("no.such") {
		t.Error("Answers(no.such)")
	}
}

// Dispatch asks the session for a render after every call that changed a view, and only
// then: the edit count moves exactly then.
func TestDispatchAsksForARenderAfterAChange(t *testing.T) {
	s := newSession(t, nil)
	v := s.v
	for _, c := range []struct {
		name    string
		args    Args
		renders int
	}{
		{"camera.get", nil, 0},
		{"camera.orbit", Args{"dx": 10.0}, 1},
		{"camera.zoom", Args{"factor": -1.0}, 0}, // refused
		{"scene.setBackground", Args{"r": 1.0, "g": 0.0, "b": 0.0}, 1},
		{"scene.setVisible", Args{"node": "no such node", "visible": false}, 0},
		{"scene.nodes", nil, 0},
		{"input.pointer", Args{"type": "down", "x": 10.0, "y": 10.0}, 0},
		{"input.pointer", Args{"type": "move", "x": 30.0, "y": 10.0}, 1},
		{"input.pointer", Args{"type": "up"}, 0},
		{"input.pointer", Args{"type": "move", "x": 50.0, "y": 10.0}, 0}, // no button held
		{"camera.reset", nil, 1},
		{"stream.keyframe", nil, 0},
		{"scene.list", nil, 0},
	} {
		tr := &fakeTransport{}
		before := s.edits()
		v.Dispatch(tr, []*Session{s}, c.name, c.args)
		if got := int(s.edits() - before); got != c.renders {
			t.Errorf("%s %v: %d changes, want %d", c.name, c.args, got, c.renders)
		}
	}
}
