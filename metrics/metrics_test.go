package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMetricsExposition(t *testing.T) {
	m := New()
	m.Rendered(4 * time.Millisecond)
	m.Encoded(3*time.Millisecond, 1000, true)
	m.CallToFrame(40 * time.Millisecond)
	m.Call("camera.orbit", true, true)
	m.Call("camera.orbit", true, false)
	m.Call("x.y.z.attacker-chosen", false, false)
	m.Connections.Inc()
	m.ViewersRefused.Inc()

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	for _, want := range []string{
		"rendercast_frames_rendered_total 1",
		"rendercast_frames_encoded_total 1",
		"rendercast_render_seconds_count 1",
		"rendercast_call_to_frame_seconds_sum 0.04",
		`rendercast_calls_total{name="camera.orbit",result="ok"} 1`,
		`rendercast_calls_total{name="camera.orbit",result="error"} 1`,
		`rendercast_calls_total{name="other",result="error"} 1`,
		"rendercast_connections 1",
		"rendercast_viewers_refused_total 1",
		"go_goroutines",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	if strings.Contains(text, "attacker-chosen") {
		t.Error("an unknown call name became a label value")
	}
}
