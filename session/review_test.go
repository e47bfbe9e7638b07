package session

import (
	"testing"
	"time"
)

// slowResizeEncoder is a stillEncoder whose Resize takes what a size change costs on
// llvmpipe with x264 from 720p to 1080p (view 60 ms, x264 reopened 5 to 50 ms).
type slowResizeEncoder struct {
	stillEncoder
	took time.Duration
}

func (e *slowResizeEncoder) Resize(w, h int) error {
	time.Sleep(e.took)
	return e.stillEncoder.Resize(w, h)
}

// A size change is not a slow render: the adaptive controller, which lowers the internal
// size of moving frames when renders cannot hold the frame rate, must not count the time
// spent reopening the encoder and the view at the new size. Else every stream.setSize (a
// browser window resized) drops the next moving frames to a smaller internal size, for
// seconds, although renders keep up.
func TestReviewResizeIsNotASlowRender(t *testing.T) {
	enc := &slowResizeEncoder{took: 120 * time.Millisecond}
	s, _ := stillSession(t, enc, Options{}, func(v *Viewers) { v.Adaptive = true })
	k := newRecSink()
	attach(t, s, k)
	for range 8 { // moving frames, as a client dragging: the controller has its samples
		orbit(t, s, 1)
		before := s.Stats().Renders
		waitFor(t, "a render of the move", 10*time.Second, func() bool { return s.Stats().Renders > before })
	}
	if st := s.Stats(); st.Scale != 1 || st.ScaleSteps != 0 {
		t.Fatalf("before the resize: scale %v, %d steps; renders of 320x180 must hold 30/s", st.Scale, st.ScaleSteps)
	}
	if err := s.SetSize(480, 270); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the resize applied and drawn", 10*time.Second, func() bool {
		st := s.Stats()
		return st.Resizes == 1 && st.Width == 480 && !s.resizeWanted()
	})
	time.Sleep(200 * time.Millisecond)
	if st := s.Stats(); st.Scale != 1 || st.ScaleSteps != 0 {
		t.Fatalf("after one resize: scale %v, %d steps; want 1 and none (renders hold the rate, the resize is not a render)", st.Scale, st.ScaleSteps)
	}
}
