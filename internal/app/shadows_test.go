package app

import (
	"testing"

	"github.com/rendercast/rendercast/render"
)

// TestShadowsInfo: server.info names the renderer's shadow mode; the automatic one of a
// software renderer is "refined" (refined frames only); -shadows values map onto
// render.Config.Shadows.
func TestShadowsInfo(t *testing.T) {
	for in, want := range map[render.Shadows]string{render.ShadowsOn: "on", render.ShadowsOff: "off", render.ShadowsAuto: "refined"} {
		if got := shadowsInfo(in); got != want {
			t.Errorf("shadowsInfo(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]render.Shadows{"auto": render.ShadowsAuto, "on": render.ShadowsOn, "off": render.ShadowsOff} {
		if got := RenderShadows(in); got != want {
			t.Errorf("RenderShadows(%q) = %q, want %q", in, got, want)
		}
	}
}
