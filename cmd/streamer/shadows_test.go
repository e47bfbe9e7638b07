package main

import (
	"bytes"
	"image"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rendercast/rendercast/internal/app"
	"github.com/rendercast/rendercast/render"
)

// TestShadowsFlag: -shadows defaults to auto, reads the config file's shadows key and
// STREAMER_SHADOWS, the flag winning; it maps onto render.Config.Shadows; other values are
// errors naming the flag.
func TestShadowsFlag(t *testing.T) {
	none := func(string) string { return "" }
	c, err := parseConfig(nil, none, discard{})
	if err != nil || c.Shadows != "auto" || app.RenderShadows(c.Shadows) != render.ShadowsAuto {
		t.Fatalf("default -shadows: %q %v, want auto", c.Shadows, err)
	}
	dir := t.TempDir()
	if err := writeFile(dir+"/s.yaml", "shadows: off\n"); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"STREAMER_CONFIG": dir + "/s.yaml"}
	if c, err := parseConfig(nil, func(k string) string { return env[k] }, discard{}); err != nil || app.RenderShadows(c.Shadows) != render.ShadowsOff {
		t.Errorf("shadows from the config file: %q %v, want off", c.Shadows, err)
	}
	env["STREAMER_SHADOWS"] = "on"
	if c, err := parseConfig(nil, func(k string) string { return env[k] }, discard{}); err != nil || app.RenderShadows(c.Shadows) != render.ShadowsOn {
		t.Errorf("STREAMER_SHADOWS over the file: %q %v, want on", c.Shadows, err)
	}
	if c, err := parseConfig([]string{"-shadows", "off"}, func(k string) string { return env[k] }, discard{}); err != nil || c.Shadows != "off" {
		t.Errorf("-shadows over STREAMER_SHADOWS: %q %v, want off", c.Shadows, err)
	}
	if _, err := parseConfig([]string{"-shadows", "soft"}, none, discard{}); err == nil || !strings.Contains(err.Error(), "-shadows") {
		t.Errorf("-shadows soft: %v, want an error naming -shadows", err)
	}
}

// TestSnapshotShadows: `streamer snapshot` draws the demo with shadows by default: against
// -shadows off, over 2% of the picture (the shadows on the stage) is far darker and almost
// nothing brighter; -shadows soft is refused.
func TestSnapshotShadows(t *testing.T) {
	dir := t.TempDir()
	snap := func(extra ...string) image.Image {
		t.Helper()
		out := filepath.Join(dir, strings.Join(append([]string{"default"}, extra...), "")+".png")
		return snapshotPNG(t, out, append([]string{"-size", "320x180", "-msaa", "0", "-detail", "low"}, extra...)...)
	}
	on, off := snap(), snap("-shadows", "off")
	lum := func(img image.Image, x, y int) int {
		r, g, b, _ := img.At(x, y).RGBA()
		return int(r+g+b) / 3 >> 8
	}
	darker, brighter := 0, 0
	for y := range 180 {
		for x := range 320 {
			switch d := lum(on, x, y) - lum(off, x, y); {
			case d < -15:
				darker++
			case d > 4:
				brighter++
			}
		}
	}
	if darker < 320*180/50 || brighter > 320*180/1000 {
		t.Errorf("snapshot with shadows against -shadows off: %d pixels far darker, %d brighter (of %d)", darker, brighter, 320*180)
	}
	var stderr bytes.Buffer
	if code := runSnapshot([]string{"-shadows", "soft", "-o", filepath.Join(dir, "x.png")}, &bytes.Buffer{}, &stderr); code != 2 || !strings.Contains(stderr.String(), "-shadows") {
		t.Errorf("-shadows soft: exit %d: %s", code, stderr.String())
	}
}
