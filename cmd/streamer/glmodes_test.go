package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"

	"github.com/rendercast/rendercast/rtmpclient"
)

// field walks AMF0 objects and arrays along path (keys; "0", "1"... index arrays).
func field(v any, path ...string) any {
	for _, k := range path {
		switch o := v.(type) {
		case amf0.Object:
			var found any
			for _, e := range o {
				if e.Key == k {
					found = e.Value
				}
			}
			v = found
		case amf0.ECMAArray:
			v = field(amf0.Object(o), k)
		case amf0.StrictArray:
			i := int(k[0] - '0')
			if len(k) != 1 || i >= len(o) {
				return nil
			}
			v = o[i]
		default:
			return nil
		}
	}
	return v
}

// renders reads the session's render count from stream.stats.
func renders(t *testing.T, ctx context.Context, v *testViewer) float64 {
	t.Helper()
	st, err := v.Call(ctx, "stream.stats", nil)
	if err != nil {
		t.Fatalf("stream.stats: %v", err)
	}
	n, ok := field(st, "streams", "0", "session", "renders").(float64)
	if !ok {
		t.Fatalf("stream.stats has no streams[0].session.renders: %#v", st)
	}
	return n
}

// TestPBOGPUChangeInFirstRender plays through the real binary in the GPUs' modes
// (-readback pbo -convert gpu, here on llvmpipe): a call's change is in the first frame
// rendered after it. The scene is still (no marker, no animation), so the session draws
// only when something changed: one call must cost exactly one render, and the picture
// must show the change. (A read-back one frame late shows the change only after a second,
// catch-up render, or never.)
func TestPBOGPUChangeInFirstRender(t *testing.T) {
	for _, mode := range [][2]string{{"pbo", "gpu"}, {"pbo", "cpu"}} {
		t.Run(mode[0]+"-"+mode[1], func(t *testing.T) {
			rs := startStreamer(t, "-size", "320x180", "-readback", mode[0], "-convert", mode[1], "-animate", "off", "-gl-contexts", "2")
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			v := newViewer(t, ctx, rs.url("live/demo"), rtmpclient.Options{})
			for range 5 {
				if isRed(v.Next(ctx)) {
					t.Fatal("corner red before any call")
				}
			}
			info, err := v.Call(ctx, "server.info", nil)
			if err != nil {
				t.Fatal(err)
			}
			if rb, cv := field(info, "readback"), field(info, "convert"); rb != mode[0] || cv != mode[1] {
				t.Fatalf("server.info readback %v convert %v, want %s %s", rb, cv, mode[0], mode[1])
			}
			if ctxs, _ := field(info, "glContexts").(amf0.StrictArray); len(ctxs) != 2 {
				t.Fatalf("server.info glContexts %#v, want 2 contexts", field(info, "glContexts"))
			}
			before := renders(t, ctx, v)
			if _, err := v.Call(ctx, "scene.setBackground", amf0.Object{{Key: "r", Value: 1.0}, {Key: "g", Value: 0.0}, {Key: "b", Value: 0.0}}); err != nil {
				t.Fatalf("scene.setBackground: %v", err)
			}
			red := false
			for range 60 {
				if isRed(v.Next(ctx)) {
					red = true
					break
				}
			}
			if !red {
				t.Fatal("corner not red within 60 frames after scene.setBackground")
			}
			time.Sleep(200 * time.Millisecond) // a catch-up render would come within a frame interval
			if after := renders(t, ctx, v); after != before+1 {
				t.Fatalf("renders %v before the call, %v after it shows: want exactly one render for one change", before, after)
			}
			if gc, _ := field(renderStats(t, ctx, v), "gl_context").(string); !strings.HasPrefix(gc, "context ") {
				t.Errorf("stream.stats session gl_context %q, want the context serving the viewer", gc)
			}
		})
	}
}

func renderStats(t *testing.T, ctx context.Context, v *testViewer) any {
	t.Helper()
	st, err := v.Call(ctx, "stream.stats", nil)
	if err != nil {
		t.Fatalf("stream.stats: %v", err)
	}
	return field(st, "streams", "0", "session")
}

// TestGLFlagsRefused: bad -gpu, -gl-contexts, -readback and -convert values are refused at
// start naming the flag, and a GPU that is not there is named with what is present.
func TestGLFlagsRefused(t *testing.T) {
	for _, args := range [][]string{{"-gpu", "x"}, {"-gpu", "0,0"}, {"-gpu", "-1"}, {"-gl-contexts", "-1"}, {"-gl-contexts", "65"}, {"-readback", "async"}, {"-convert", "shader"}} {
		out, err := exec.Command(streamerBin, args...).CombinedOutput()
		if err == nil {
			t.Fatalf("%v accepted", args)
		}
		if !strings.Contains(string(out), args[0]) {
			t.Fatalf("%v: message %q does not name the flag", args, out)
		}
	}
	out, err := exec.Command(streamerBin, "-gpu", "7", "-listen", "127.0.0.1:0", "-http", "").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "-gpu 7") || !strings.Contains(string(out), "GPU 7") {
		t.Fatalf("-gpu 7 on a machine without it: err %v, output %q", err, out)
	}
}
