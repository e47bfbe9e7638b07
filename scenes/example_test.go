package scenes_test

import (
	"errors"
	"fmt"
	"image"

	"github.com/rendercast/rendercast/scenes"
)

// A streamer keeps one Library; each viewer gets its own copy of the scene it asks for.
func ExampleLibrary() {
	lib := scenes.NewLibrary()
	fmt.Println(lib.Names())

	s, err := lib.Get("demo")
	if err != nil {
		fmt.Println(err)
		return
	}
	s.Animate(s, 1.0) // before each frame
	fmt.Println(s.Name, len(s.Lights), "lights")

	_, err = lib.Get("../etc/passwd")
	fmt.Println(errors.Is(err, scenes.ErrUnknownScene))
	// Output:
	// [demo testcard]
	// demo 3 lights
	// true
}

// Remote calls edit a viewer's scene; every successful edit bumps Version.
func ExampleScene_EditCamera() {
	s, _ := scenes.Builtin("demo")
	_ = s.EditCamera(func(c *scenes.Camera) error { return c.Orbit(45, 10) })
	_ = s.EditCamera(func(c *scenes.Camera) error { return c.Zoom(1.5) })
	_ = s.SetColor("cube", 1, 0.5, 0)
	err := s.SetVisible("no-such-node", false)
	fmt.Println(s.Version, errors.Is(err, scenes.ErrUnknownNode))
	s.ResetCamera()
	fmt.Println(s.Version)
	// Output:
	// 3 true
	// 4
}

// A client reads back which frame and which scene version a decoded picture shows.
func ExampleDecodeMarker() {
	frame := image.NewRGBA(image.Rect(0, 0, 640, 360))
	scenes.DrawMarker(frame, 1234, 7)
	n, version, ok := scenes.DecodeMarker(frame)
	fmt.Println(n, version, ok)
	// Output: 1234 7 true
}
