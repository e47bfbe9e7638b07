package session

import (
	"errors"
	"image"
	"strings"
	"testing"
	"time"
)

// meanLumaDiff is the mean absolute difference of two frames' luma.
func meanLumaDiff(a, b *image.YCbCr) float64 {
	var sum float64
	for i := range a.Y {
		d := int(a.Y[i]) - int(b.Y[i])
		sum += float64(max(d, -d))
	}
	return sum / float64(len(a.Y))
}

// scene.setEnvironment changes the picture (the studio lights the demo; with background
// the corner shows the environment), "none" restores it, unknown names and bad arguments
// are refused and change nothing.
func TestSetEnvironment(t *testing.T) {
	s := newSession(t, nil)
	enc := &fakeEncoder{}
	pts := time.Duration(0)
	frame := func() *image.YCbCr {
		t.Helper()
		if err := s.Render(); err != nil {
			t.Fatal(err)
		}
		pts += 33 * time.Millisecond
		if _, err := s.Frame(enc, false, pts); err != nil {
			t.Fatal(err)
		}
		enc.mu.Lock()
		defer enc.mu.Unlock()
		// Frames may reuse their buffers: keep a copy.
		f := *enc.got[len(enc.got)-1]
		f.Y, f.Cb, f.Cr = append([]uint8(nil), f.Y...), append([]uint8(nil), f.Cb...), append([]uint8(nil), f.Cr...)
		return &f
	}
	before := frame()
	if _, err := s.Call("scene.setEnvironment", Args{"name": "studio"}); err != nil {
		t.Fatal(err)
	}
	lit := frame()
	if d := meanLumaDiff(before, lit); d < 1 {
		t.Errorf("the studio environment changed the picture by %.2f levels on average, want >= 1", d)
	}
	if y0, _, _ := cornerRGB(before); func() bool { y1, _, _ := cornerRGB(lit); return y1 != y0 }() {
		t.Error("the background colour changed without background: true")
	}
	if _, err := s.Call("scene.setEnvironment", Args{"name": "studio", "background": true}); err != nil {
		t.Fatal(err)
	}
	withBG := frame()
	if y0, _, _ := cornerRGB(lit); func() bool { y1, _, _ := cornerRGB(withBG); return y1 == y0 }() {
		t.Error("the corner still shows the background colour with background: true")
	}
	for _, c := range []struct {
		args Args
		arg  string
		want string
	}{
		{Args{"name": "nope"}, "name", "unknown environment"},
		{Args{}, "name", "missing"},
		{Args{"name": 3.0}, "name", "want a string"},
		{Args{"name": "studio", "background": "yes"}, "background", "true or false"},
	} {
		_, err := s.Call("scene.setEnvironment", c.args)
		var ae *ArgError
		if !errors.As(err, &ae) || ae.Arg != c.arg || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error on %q saying %q", c.args, err, c.arg, c.want)
		}
	}
	if _, err := s.Call("scene.setEnvironment", Args{"name": "none"}); err != nil {
		t.Fatal(err)
	}
	if d := meanLumaDiff(before, frame()); d > 0.01 {
		t.Errorf("after \"none\" the picture differs from the original by %.3f levels on average", d)
	}
}
