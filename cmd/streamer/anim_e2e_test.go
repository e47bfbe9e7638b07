package main

import (
	"context"
	"image"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"

	"github.com/rendercast/rendercast/rtmpclient"
)

// TestPlayAnimationOverRTMP: a glTF model with a skin animation streams still with
// -animate off; scene.animations lists its animation, scene.playAnimation makes the frames
// change over time, scene.pauseAnimation is answered, and the stream goes on.
func TestPlayAnimationOverRTMP(t *testing.T) {
	model := "/usr/share/assimp/models/glTF2/simple_skin/simple_skin.gltf"
	if _, err := os.Stat(model); err != nil {
		t.Fatalf("%v: install assimp-testmodels (scripts/setup.sh)", err)
	}
	// No refinement: a refined still frame must not pass for the animation's motion.
	rs := startStreamer(t, "-size", "320x180", "-animate", "off", "-refine-after", "0", "-scene", "skin="+model)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	v := newViewer(t, ctx, rs.url("live/skin"), rtmpclient.Options{})
	var before *image.YCbCr
	for range 5 {
		before = v.Next(ctx)
	}
	for range 10 {
		if d := meanAbsDiff(before, v.Next(ctx)); d > 0.5 {
			t.Fatalf("the still model's frames changed by %.2f before any call", d)
		}
	}
	got, err := v.Call(ctx, "scene.animations", nil)
	if err != nil {
		t.Fatalf("scene.animations: %v", err)
	}
	list, ok := got.(amf0.StrictArray)
	if !ok || len(list) != 1 {
		t.Fatalf("scene.animations returned %#v, want one animation", got)
	}
	if _, err := v.Call(ctx, "scene.playAnimation", amf0.Object{{Key: "name", Value: "animation0"}}); err != nil {
		t.Fatalf("scene.playAnimation: %v", err)
	}
	changed := false
	for range 120 { // 4 s at 30 fps: the joint swings within the first seconds
		if meanAbsDiff(before, v.Next(ctx)) > 1 {
			changed = true
			break
		}
	}
	if !changed {
		t.Fatal("the frames did not change within 120 frames of scene.playAnimation")
	}
	if _, err := v.Call(ctx, "scene.pauseAnimation", nil); err != nil {
		t.Fatalf("scene.pauseAnimation: %v", err)
	}
	if _, err := v.Call(ctx, "scene.playAnimation", amf0.Object{{Key: "name", Value: "nope"}}); err == nil {
		t.Fatal("scene.playAnimation of an unknown animation was accepted")
	}
	v.Next(ctx) // still streaming
}

// TestAnimatedModelDecodedByFFmpeg: with -animate on the skin model's animation plays from
// the session's start; ffmpeg (a client not written here) decodes frames that change over
// time, while with -animate off the same frames stay alike.
func TestAnimatedModelDecodedByFFmpeg(t *testing.T) {
	model := "/usr/share/assimp/models/glTF2/simple_skin/simple_skin.gltf"
	if _, err := os.Stat(model); err != nil {
		t.Fatalf("%v: install assimp-testmodels (scripts/setup.sh)", err)
	}
	const w, h, n = 320, 180, 45
	spread := func(animate string) float64 {
		rs := startStreamer(t, "-size", "320x180", "-animate", animate, "-refine-after", "0", "-scene", "skin="+model)
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-i", rs.url("live/skin"),
			"-frames:v", strconv.Itoa(n), "-pix_fmt", "gray", "-f", "rawvideo", "-").Output()
		if err != nil {
			t.Fatalf("-animate %s: ffmpeg: %v", animate, err)
		}
		if len(out) != n*w*h {
			t.Fatalf("-animate %s: ffmpeg decoded %d bytes, want %d frames of %dx%d", animate, len(out), n, w, h)
		}
		// The largest mean difference between the first frame and a later one.
		first, most := out[:w*h], 0.0
		for i := 1; i < n; i++ {
			f := out[i*w*h : (i+1)*w*h]
			sum := 0
			for j := range f {
				d := int(f[j]) - int(first[j])
				sum += max(d, -d)
			}
			most = max(most, float64(sum)/float64(w*h))
		}
		return most
	}
	still, moving := spread("off"), spread("on")
	t.Logf("largest mean difference from the first decoded frame: -animate off %.2f, on %.2f", still, moving)
	if still > 0.5 || moving < 1 {
		t.Errorf("decoded frames change by %.2f with -animate off and %.2f with -animate on; want under 0.5 and over 1", still, moving)
	}
}
