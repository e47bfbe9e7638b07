package scenes

import (
	"fmt"

	"github.com/go-gl/mathgl/mgl32"
)

// Scene edits, as the streamer's remote calls use them. Each successful edit increments
// Version (the frame marker carries it); a failed edit changes nothing. Like every Scene
// mutation they are not safe for concurrent use: each view edits its own Clone.

// SetBackground sets the clear colour (sRGB, each channel within 0..1).
func (s *Scene) SetBackground(r, g, b float32) error {
	c := mgl32.Vec3{r, g, b}
	if err := checkUnitColor(c, "background colour"); err != nil {
		return err
	}
	s.Background = c
	s.Version++
	return nil
}

// SetVisible shows or hides the named node and everything below it.
func (s *Scene) SetVisible(node string, visible bool) error {
	i, err := s.nodeIndex(node)
	if err != nil {
		return err
	}
	s.Nodes[i].Visible = visible
	s.Version++
	return nil
}

// SetColor overrides the base colour of the named node and of every node below it. r, g, b
// are sRGB within 0..1, as a colour picker gives them (an unlit surface shows exactly that
// colour); they are stored linear in Node.ColorOverride. Textures still modulate it.
func (s *Scene) SetColor(node string, r, g, b float32) error {
	c := mgl32.Vec3{r, g, b}
	if err := checkUnitColor(c, "colour"); err != nil {
		return err
	}
	i, err := s.nodeIndex(node)
	if err != nil {
		return err
	}
	lin := srgb(r, g, b)
	s.walkSubtree(i, func(n *Node) {
		v := lin
		n.ColorOverride = &v
	})
	s.Version++
	return nil
}

// ClearColor removes the colour override of the named node and of every node below it.
func (s *Scene) ClearColor(node string) error {
	i, err := s.nodeIndex(node)
	if err != nil {
		return err
	}
	s.walkSubtree(i, func(n *Node) { n.ColorOverride = nil })
	s.Version++
	return nil
}

// SetLightIntensity sets light i's intensity (finite, >= 0).
func (s *Scene) SetLightIntensity(i int, v float32) error {
	if i < 0 || i >= len(s.Lights) {
		return fmt.Errorf("%w: light %d (scene %q has %d)", ErrUnknownLight, i, s.Name, len(s.Lights))
	}
	if !finite32(v) || v < 0 {
		return fmt.Errorf("%w: light intensity %g (want a finite number >= 0)", ErrBadValue, v)
	}
	s.Lights[i].Intensity = v
	s.Version++
	return nil
}

// NodeNames returns the names of the scene's nodes, in Nodes order. Loaded and built-in
// scenes give every node a distinct name.
func (s *Scene) NodeNames() []string {
	out := make([]string, len(s.Nodes))
	for i, n := range s.Nodes {
		out[i] = n.Name
	}
	return out
}

// EditCamera applies edit to a copy of the camera and, if it returns nil and the result is
// valid, stores it and increments Version. The Camera methods make natural edits:
//
//	s.EditCamera(func(c *Camera) error { return c.Orbit(30, 0) })
func (s *Scene) EditCamera(edit func(c *Camera) error) error {
	c := s.Camera
	if err := edit(&c); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	s.Camera = c
	s.Version++
	return nil
}

// ResetCamera returns the camera to its home pose and increments Version.
func (s *Scene) ResetCamera() {
	s.Camera.Reset()
	s.Version++
}

// nodeIndex finds the first node with the given name.
func (s *Scene) nodeIndex(name string) (int, error) {
	for i, n := range s.Nodes {
		if n.Name == name {
			return i, nil
		}
	}
	return -1, fmt.Errorf("%w: %q in scene %q", ErrUnknownNode, name, s.Name)
}

// walkSubtree calls f for node i and its descendants (depth-limited like Draws).
func (s *Scene) walkSubtree(i int, f func(*Node)) {
	var walk func(i, depth int)
	walk = func(i, depth int) {
		if i < 0 || i >= len(s.Nodes) || depth > MaxNodeDepth {
			return
		}
		f(s.Nodes[i])
		for _, c := range s.Nodes[i].Children {
			walk(c, depth+1)
		}
	}
	walk(i, 0)
}

func checkUnitColor(c mgl32.Vec3, what string) error {
	for _, v := range c {
		if !finite32(v) || v < 0 || v > 1 {
			return fmt.Errorf("%w: %s %v (each channel must be within 0..1)", ErrBadValue, what, c)
		}
	}
	return nil
}
