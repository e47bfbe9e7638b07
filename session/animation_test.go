package session

import (
	"errors"
	"testing"
	"time"

	"github.com/go-gl/mathgl/mgl32"

	"github.com/rendercast/rendercast/scenes"
)

// slideScene is an unlit white box on black that a STEP animation ("slide", 2 s) holds
// left of the middle until t=2, then right of it; "spin" is a second animation.
func slideScene() *scenes.Scene {
	s := &scenes.Scene{
		Background: mgl32.Vec3{0, 0, 0},
		Camera:     scenes.Camera{Eye: mgl32.Vec3{0, 0, 6}, Target: mgl32.Vec3{0, 0, 0}, Up: mgl32.Vec3{0, 1, 0}, FovY: 40},
		Materials:  []*scenes.Material{{BaseColor: mgl32.Vec4{1, 1, 1, 1}, Unlit: true}},
		Lights:     []scenes.Light{{Type: scenes.Directional, Color: mgl32.Vec3{1, 1, 1}, Intensity: 1, Direction: mgl32.Vec3{0, 0, -1}}},
	}
	p := scenes.Box(0.6, 0.6, 0.6)
	p.Material = 0
	s.Meshes = []*scenes.Mesh{{Name: "box", Primitives: []scenes.Primitive{p}}}
	s.Nodes = []*scenes.Node{scenes.NewNode("box", 0)}
	s.Roots = []int{0}
	s.Animations = []*scenes.Animation{
		{Name: "slide", Duration: 2, Channels: []scenes.Channel{{
			Node: 0, Path: scenes.PathTranslation, Interpolation: scenes.InterpStep, Width: 3,
			Times: []float32{0, 2}, Values: []float32{-1.5, 0, 0, 1.5, 0, 0},
		}}},
		{Name: "spin", Duration: 1, Channels: []scenes.Channel{{
			Node: 0, Path: scenes.PathRotation, Interpolation: scenes.InterpLinear, Width: 4,
			Times: []float32{0, 1}, Values: []float32{0, 0, 0, 1, 0, 0, 1, 0},
		}}},
	}
	return s
}

func animSession(t *testing.T, animate bool) *Session {
	t.Helper()
	v := viewers(t, nil)
	if err := v.Library.AddScene("slide", slideScene()); err != nil {
		t.Fatal(err)
	}
	s, err := New(v, "slide", Options{Width: 160, Height: 120, Animate: animate})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// boxColumn renders, encodes a frame and returns the mean column of its bright pixels.
func boxColumn(t *testing.T, s *Session, enc *fakeEncoder) float64 {
	t.Helper()
	if err := s.Render(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Frame(enc, false, time.Duration(len(enc.got))*33*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	img := enc.got[len(enc.got)-1]
	var sum, n float64
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if img.YCbCrAt(x, y).Y > 128 {
				sum += float64(x)
				n++
			}
		}
	}
	if n < 50 {
		t.Fatalf("the box covers %v pixels", n)
	}
	return sum / n
}

func animationList(t *testing.T, s *Session) []map[string]any {
	t.Helper()
	out, err := s.Call("scene.animations", nil)
	if err != nil {
		t.Fatal(err)
	}
	return out.([]map[string]any)
}

// TestPlayAnimationMovesFrames: with -animate off the scene is still (drawn once);
// scene.playAnimation plays it on the session clock (a frame per render, the box where the
// clock puts it), and a played-out animation leaves the session still again.
func TestPlayAnimationMovesFrames(t *testing.T) {
	s := animSession(t, false)
	enc := &fakeEncoder{}
	list := animationList(t, s)
	if len(list) != 2 || list[0]["name"] != "slide" || list[0]["duration"] != 2.0 || list[0]["channels"] != 1 || list[0]["playing"] != false {
		t.Fatalf("scene.animations: %v", list)
	}
	x0 := boxColumn(t, s, enc)
	s.Render()
	if d := s.view.Stats().Drawn; d != 1 {
		t.Fatalf("still scene drawn %d times, want 1", d)
	}
	if x0 < 75 || x0 > 85 {
		t.Fatalf("rest pose: box at column %.1f, want the middle", x0)
	}

	if _, err := s.Call("scene.playAnimation", Args{"name": "slide", "loop": false}); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	if list := animationList(t, s); list[0]["playing"] != true || list[0]["loop"] != false {
		t.Fatalf("after playAnimation: %v", list)
	}
	x1 := boxColumn(t, s, enc)
	if since := time.Since(started); since < 2*time.Second && x1 > 60 {
		t.Errorf("%v after play: box at column %.1f, want left (about 39)", since, x1)
	}
	drawn := s.view.Stats().Drawn
	s.Render()
	if d := s.view.Stats().Drawn; d != drawn+1 {
		t.Errorf("playing: a render drew %d pictures, want 1", d-drawn)
	}
	if st := s.State(); st != StateMoving {
		t.Errorf("state %q while playing, want %q", st, StateMoving)
	}
	time.Sleep(time.Until(started.Add(2200 * time.Millisecond)))
	if x2 := boxColumn(t, s, enc); x2 < 100 {
		t.Errorf("after 2.2 s: box at column %.1f, want right (about 121)", x2)
	}
	// Played out: the last pose holds and nothing more is drawn.
	drawn = s.view.Stats().Drawn
	s.Render()
	s.Render()
	if d := s.view.Stats().Drawn; d != drawn {
		t.Errorf("a finished animation drew %d more pictures", d-drawn)
	}
	if list := animationList(t, s); list[0]["playing"] != false {
		t.Errorf("finished animation still listed as playing: %v", list[0])
	}
}

// TestPauseAnimation: -animate on plays every animation from the start; pauseAnimation
// stops the frames (one more picture for the pause, then none) with the pose held.
func TestPauseAnimation(t *testing.T) {
	s := animSession(t, true)
	enc := &fakeEncoder{}
	for _, a := range animationList(t, s) {
		if a["playing"] != true || a["loop"] != true {
			t.Fatalf("-animate on: %v not playing looped", a)
		}
	}
	boxColumn(t, s, enc)
	boxColumn(t, s, enc)
	if d := s.view.Stats().Drawn; d != 2 {
		t.Fatalf("playing: drawn %d times in 2 renders", d)
	}
	if _, err := s.Call("scene.pauseAnimation", nil); err != nil {
		t.Fatal(err)
	}
	x := boxColumn(t, s, enc)
	s.Render()
	s.Render()
	if d := s.view.Stats().Drawn; d != 3 {
		t.Errorf("paused: drawn %d times, want 3 (one for the pause)", d)
	}
	time.Sleep(300 * time.Millisecond)
	if st := s.State(); st == StateMoving {
		t.Errorf("paused session still %q", st)
	}
	if list := animationList(t, s); list[0]["playing"] != false || list[1]["playing"] != false {
		t.Errorf("after pause: %v", list)
	}
	// An edit redraws the held pose, not a new one.
	if _, err := s.Call("scene.setBackground", Args{"r": 0.0, "g": 0.0, "b": 0.1}); err != nil {
		t.Fatal(err)
	}
	if x2 := boxColumn(t, s, enc); x2 != x {
		t.Errorf("paused box moved from column %.1f to %.1f", x, x2)
	}
}

func TestAnimationCallArguments(t *testing.T) {
	s := animSession(t, false)
	for _, c := range []struct {
		args Args
		arg  string
	}{
		{Args{}, "name"},
		{Args{"name": 3.0}, "name"},
		{Args{"name": "walk"}, "name"},
		{Args{"name": "slide", "loop": "yes"}, "loop"},
	} {
		_, err := s.Call("scene.playAnimation", c.args)
		var ae *ArgError
		if !errors.As(err, &ae) || ae.Arg != c.arg {
			t.Errorf("playAnimation %v: %v, want an ArgError on %q", c.args, err, c.arg)
		}
	}
	if s.scene.AnimationsPlaying() {
		t.Error("a refused call started an animation")
	}
	if _, err := s.Call("scene.pauseAnimation", Args{"name": "walk"}); err == nil {
		t.Error("pauseAnimation of an unknown animation accepted")
	}
	// loop defaults to true.
	if _, err := s.Call("scene.playAnimation", Args{"name": "spin"}); err != nil {
		t.Fatal(err)
	}
	if list := animationList(t, s); list[1]["playing"] != true || list[1]["loop"] != true || list[0]["playing"] != false {
		t.Errorf("after playAnimation spin: %v", list)
	}
	// Pausing another animation leaves it playing; pausing it by name stops it.
	if res, err := s.Call("scene.pauseAnimation", Args{"name": "slide"}); err != nil || res.(map[string]any)["playing"] != true {
		t.Errorf("pauseAnimation slide: %v %v, want spin still playing", res, err)
	}
	if res, err := s.Call("scene.pauseAnimation", Args{"name": "spin"}); err != nil || res.(map[string]any)["playing"] != false {
		t.Errorf("pauseAnimation spin: %v %v, want nothing playing", res, err)
	}
}
