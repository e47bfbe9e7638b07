package main

import (
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
