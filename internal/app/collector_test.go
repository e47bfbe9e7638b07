package app

import (
	"testing"
	"time"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/session"
)

// acceptAll is a sink that takes every frame.
type acceptAll struct{ frames, keys int }

func (s *acceptAll) WriteFrame(f *avc.Frame) bool {
	s.frames++
	if f.Keyframe {
		s.keys++
	}
	return false
}

// metricValue returns the value of a metric family's first sample with the given label
// (any when label is "").
func metricValue(t *testing.T, a *App, name, label string) (float64, bool) {
	t.Helper()
	mfs, err := a.m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label != "" && (len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() != label) {
				continue
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue(), true
			}
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

// The session metrics: sessions and viewers by kind while a shared session plays, and
// forced keyframes that stay counted after the session ended (a counter never goes back).
func TestCollectorSessions(t *testing.T) {
	a := newTestApp(t, nil)
	v := &viewer{a: a, transport: "rtmp", peer: "test", started: time.Now(), control: true}
	if err := v.open("tmp", "demo"); err != nil {
		t.Fatal(err)
	}
	sink := &acceptAll{}
	if err := v.attach(sink); err != nil {
		t.Fatal(err)
	}
	l := v.session()
	deadline := time.Now().Add(10 * time.Second)
	for l.sess.Stats().ForcedKeyframes == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n, _ := metricValue(t, a, "rendercast_sessions", "shared"); n != 1 {
		t.Errorf("rendercast_sessions{kind=shared} = %v, want 1", n)
	}
	if n, _ := metricValue(t, a, "rendercast_session_viewers", "shared"); n != 1 {
		t.Errorf("rendercast_session_viewers{kind=shared} = %v, want 1", n)
	}
	forced, ok := metricValue(t, a, "rendercast_forced_keyframes_total", "")
	if !ok || forced < 1 {
		t.Fatalf("rendercast_forced_keyframes_total = %v while a joiner was served", forced)
	}
	v.end()
	if a.reg.get("tmp") != nil {
		t.Fatal("the session outlived its last viewer")
	}
	if n, _ := metricValue(t, a, "rendercast_sessions", "shared"); n != 0 {
		t.Errorf("rendercast_sessions{kind=shared} = %v after the end, want 0", n)
	}
	if after, _ := metricValue(t, a, "rendercast_forced_keyframes_total", ""); after < forced {
		t.Errorf("rendercast_forced_keyframes_total went back from %v to %v when the session ended", forced, after)
	}
}

// congestedSink takes no frame: its link reports frames waiting for 400 ms.
type congestedSink struct{}

func (congestedSink) WriteFrame(*avc.Frame) bool { return false }
func (congestedSink) Link() session.Link {
	return session.Link{Delay: 400 * time.Millisecond, Oldest: 400 * time.Millisecond}
}

// Rate control's metrics: a congested private viewer's bitrate steps down and its skipped
// ticks are counted, and the counters keep their values after the session ended.
func TestCollectorRateControl(t *testing.T) {
	a := newTestApp(t, nil)
	v := &viewer{a: a, transport: "rtmp", peer: "test", started: time.Now(), control: true}
	if err := v.open("", "demo"); err != nil {
		t.Fatal(err)
	}
	if err := v.attach(congestedSink{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if n, _ := metricValue(t, a, "rendercast_rate_decreases_total", ""); n >= 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	decreases, _ := metricValue(t, a, "rendercast_rate_decreases_total", "")
	skips, _ := metricValue(t, a, "rendercast_congested_skips_total", "")
	if decreases < 2 || skips < 1 {
		t.Fatalf("rate decreases %v, congested skips %v for a congested private viewer", decreases, skips)
	}
	if bps, ok := metricValue(t, a, "rendercast_viewer_bitrate_bps", "max"); !ok || bps <= 0 || bps >= float64(a.viewers.Bitrate) {
		t.Errorf("rendercast_viewer_bitrate_bps{stat=max} = %v (%v), want under the ceiling %d", bps, ok, a.viewers.Bitrate)
	}
	v.end()
	if after, _ := metricValue(t, a, "rendercast_rate_decreases_total", ""); after < decreases {
		t.Errorf("rendercast_rate_decreases_total went back from %v to %v", decreases, after)
	}
}
