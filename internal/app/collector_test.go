package app

import (
	"testing"
	"time"

	"github.com/rendercast/rendercast/avc"
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
