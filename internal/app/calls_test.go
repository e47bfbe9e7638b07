package app

import (
	"errors"
	"log/slog"
	"slices"
	"sort"
	"testing"

	"github.com/bluenviron/gortmplib/pkg/amf0"

	"github.com/rendercast/rendercast/rtmpsrv"
	"github.com/rendercast/rendercast/scenes"
	"github.com/rendercast/rendercast/session"
)

func TestProceduresListEveryCall(t *testing.T) {
	names := procedures()
	if !sort.StringsAreSorted(names) {
		t.Fatalf("procedures not sorted: %v", names)
	}
	for _, want := range []string{"camera.orbit", "input.pointer", "scene.list", "server.info", "session.publish", "session.unpublish",
		"stream.keyframe", "stream.setBitrate", "stream.setRenderRate", "stream.stats"} {
		if !slices.Contains(names, want) {
			t.Errorf("procedures lacks %s: %v", want, names)
		}
	}
	for i := 1; i < len(names); i++ {
		if names[i] == names[i-1] {
			t.Fatalf("%s listed twice", names[i])
		}
	}
	for _, n := range names {
		if !answers(n) {
			t.Errorf("%s is listed but answers(%s) is false", n, n)
		}
	}
	if answers("no.such") {
		t.Error("answers(no.such)")
	}
}

func TestArgsFromAMF(t *testing.T) {
	args, err := argsFromAMF("camera.set", []any{rtmpsrv.Object{
		{Key: "eye", Value: rtmpsrv.StrictArray{1.0, 2.0, 3.0}},
		{Key: "fov", Value: 40.0},
		{Key: "nested", Value: rtmpsrv.ECMAArray{{Key: "a", Value: true}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if eye, ok := args["eye"].([]any); !ok || len(eye) != 3 || eye[2] != 3.0 {
		t.Fatalf("eye %#v", args["eye"])
	}
	if n, ok := args["nested"].(map[string]any); !ok || n["a"] != true {
		t.Fatalf("nested %#v", args["nested"])
	}
	if a, err := argsFromAMF("x", nil); err != nil || len(a) != 0 {
		t.Fatalf("no arguments: %v %v", a, err)
	}
	_, err = argsFromAMF("camera.orbit", []any{30.0})
	if ae, ok := err.(*session.ArgError); !ok || ae.Call != "camera.orbit" {
		t.Fatalf("positional number: %v, want an ArgError", err)
	}
}

// FuzzCallArgs decodes a call's AMF0 user arguments the way the RTMP path does, then runs
// them through the dispatcher: calls that need no view, and calls that need one without one.
func FuzzCallArgs(f *testing.F) {
	v := &session.Viewers{Library: scenes.NewLibrary()}
	seed, _ := amf0.Data{amf0.Object{{Key: "dx", Value: 10.0}, {Key: "eye", Value: amf0.StrictArray{1.0, 2.0, 3.0}}}}.Marshal()
	f.Add(seed)
	f.Add([]byte{0x05})
	f.Add([]byte{0x03, 0x00, 0x01, 'r', 0x02, 0x00, 0x01, 'x', 0x00, 0x00, 0x09})
	f.Fuzz(func(t *testing.T, b []byte) {
		data, err := amf0.Unmarshal(b)
		if err != nil {
			return
		}
		args, err := argsFromAMF("fuzz", data)
		if err != nil {
			if _, ok := err.(*session.ArgError); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		for _, name := range []string{"scene.list", "server.info", "stream.setBitrate", "camera.orbit", "no.such"} {
			_, err := v.Dispatch(nil, nil, name, args)
			var ae *session.ArgError
			if err != nil && !errors.Is(err, session.ErrNotPlaying) && !errors.Is(err, session.ErrUnknownCall) && !errors.As(err, &ae) {
				t.Fatalf("%s: error %v of type %T", name, err, err)
			}
		}
	})
}

func TestEncodeOptions(t *testing.T) {
	a := &App{cfg: &Config{Width: 640, Height: 360, FPS: 25, BitrateKbps: 900, EncoderThreads: 1, Preset: "veryfast"},
		log: slog.New(slog.DiscardHandler)}
	o := a.encodeOptions("libx264")
	if o.Threads != 1 || o.Width != 640 || o.Height != 360 || o.FrameRate != 25 || o.Bitrate != 900_000 || o.Encoder != "libx264" {
		t.Errorf("encoder options %+v do not carry the configuration", o)
	}
	if o.X264Preset != "veryfast" || o.NVENCPreset != "" {
		t.Errorf("-preset veryfast: x264 %q, NVENC %q", o.X264Preset, o.NVENCPreset)
	}
	a.cfg.Preset = "p4"
	if o := a.encodeOptions("h264_nvenc"); o.NVENCPreset != "p4" || o.X264Preset != "" {
		t.Errorf("-preset p4: x264 %q, NVENC %q", o.X264Preset, o.NVENCPreset)
	}
}

// testTransport answers stream.stats.
type testTransport struct{}

func (testTransport) Stats() any { return map[string]any{"transport": "test"} }

// Calls that change a shared session need the control token; read-only ones and calls on
// a private session do not.
func TestCallControlRule(t *testing.T) {
	a := newTestApp(t, nil)
	shared := joinTest(t, a, "ctl", "demo")
	private := joinTest(t, a, "", "demo")
	tr := testTransport{}
	yaw := func(l *live) float64 {
		res, err := a.call(tr, []*live{l}, true, "camera.get", nil)
		if err != nil {
			t.Fatal(err)
		}
		return res.(map[string]any)["yaw"].(float64)
	}

	before := yaw(shared.l)
	if _, err := a.call(tr, []*live{shared.l}, false, "camera.orbit", session.Args{"dx": 30.0}); !errors.Is(err, ErrControl) {
		t.Fatalf("camera.orbit on a shared session without control: %v, want ErrControl", err)
	}
	if yaw(shared.l) != before {
		t.Fatal("a refused camera.orbit moved the camera")
	}
	for _, name := range []string{"camera.get", "scene.list", "scene.nodes", "scene.animations", "server.info", "stream.stats"} {
		if _, err := a.call(tr, []*live{shared.l}, false, name, nil); err != nil {
			t.Errorf("read-only %s on a shared session without control: %v", name, err)
		}
	}
	for _, name := range []string{"scene.load", "scene.setBackground", "stream.setBitrate", "stream.setRenderRate", "stream.keyframe", "stream.setSize", "input.pointer", "session.publish", "session.unpublish",
		"scene.playAnimation", "scene.pauseAnimation"} {
		if _, err := a.call(tr, []*live{shared.l}, false, name, session.Args{}); !errors.Is(err, ErrControl) {
			t.Errorf("%s on a shared session without control: %v, want ErrControl", name, err)
		}
	}
	if _, err := a.call(tr, []*live{shared.l}, true, "camera.orbit", session.Args{"dx": 30.0}); err != nil {
		t.Fatalf("camera.orbit on a shared session with control: %v", err)
	}
	if d := yaw(shared.l) - before; d < 29.9 || d > 30.1 {
		t.Fatalf("camera.orbit dx=30 with control moved yaw by %v", d)
	}

	pBefore := yaw(private.l)
	if _, err := a.call(tr, []*live{private.l}, false, "camera.orbit", session.Args{"dx": 10.0}); err != nil {
		t.Fatalf("camera.orbit on a private session without control: %v", err)
	}
	if d := yaw(private.l) - pBefore; d < 9.9 || d > 10.1 {
		t.Fatalf("camera.orbit dx=10 on a private session moved yaw by %v", d)
	}
	// A client playing a private and a shared session may not change the shared one.
	if _, err := a.call(tr, []*live{private.l, shared.l}, false, "camera.orbit", session.Args{"dx": 10.0}); !errors.Is(err, ErrControl) {
		t.Fatalf("camera.orbit on private + shared without control: %v, want ErrControl", err)
	}

	// stream.setSize: with control, the shared session's size is asked for; bad sizes name
	// the argument.
	if _, err := a.call(tr, []*live{shared.l}, true, "stream.setSize", session.Args{"width": 640.0, "height": 360.0}); err != nil {
		t.Errorf("stream.setSize on a shared session with control: %v", err)
	}
	var se *session.ArgError
	if _, err := a.call(tr, []*live{private.l}, false, "stream.setSize", session.Args{"width": 640.0, "height": 361.0}); !errors.As(err, &se) || se.Arg != "height" {
		t.Errorf("stream.setSize 640x361: %v, want an error naming height", err)
	}

	// session.publish: allowed to call with control, but refused without -control-token,
	// and on a private session.
	if _, err := a.call(tr, []*live{shared.l}, true, "session.publish", session.Args{"url": "rtmp://127.0.0.1/live/x"}); !errors.Is(err, errPublishNeedsControl) {
		t.Errorf("session.publish with no -control-token configured: %v", err)
	}
	var ae *session.ArgError
	if _, err := a.call(tr, []*live{private.l}, true, "session.publish", session.Args{"url": "rtmp://127.0.0.1/live/x"}); !errors.As(err, &ae) || ae.Arg != "url" {
		t.Errorf("session.publish on a private session: %v, want an error naming url", err)
	}
	if _, err := a.call(tr, []*live{shared.l}, true, "session.publish", session.Args{}); !errors.As(err, &ae) || ae.Arg != "url" {
		t.Errorf("session.publish without url: %v, want an error naming url", err)
	}
	if _, err := a.call(tr, nil, true, "session.publish", session.Args{"url": "rtmp://127.0.0.1/live/x"}); !errors.Is(err, session.ErrNotPlaying) {
		t.Errorf("session.publish without a session: %v, want ErrNotPlaying", err)
	}
}
