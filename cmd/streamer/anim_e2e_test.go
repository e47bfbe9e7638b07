package main

import (
	"context"
	"image"
	"os"
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
