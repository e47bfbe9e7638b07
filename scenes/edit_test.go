package scenes

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/go-gl/mathgl/mgl32"
)

func TestSceneEdits(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(s *Scene) error
		wantErr error
		check   func(t *testing.T, s *Scene)
	}{
		{name: "background", edit: func(s *Scene) error { return s.SetBackground(1, 0.5, 0) },
			check: func(t *testing.T, s *Scene) {
				if s.Background != (mgl32.Vec3{1, 0.5, 0}) {
					t.Errorf("background %v", s.Background)
				}
			}},
		{name: "background out of range", edit: func(s *Scene) error { return s.SetBackground(1.1, 0, 0) }, wantErr: ErrBadValue},
		{name: "background negative", edit: func(s *Scene) error { return s.SetBackground(0, -0.1, 0) }, wantErr: ErrBadValue},
		{name: "background NaN", edit: func(s *Scene) error { return s.SetBackground(0, 0, nan32()) }, wantErr: ErrBadValue},
		{name: "hide", edit: func(s *Scene) error { return s.SetVisible("torus", false) },
			check: func(t *testing.T, s *Scene) {
				for _, d := range s.Draws() {
					if d.Mesh.Name == "torus" {
						t.Error("hidden torus still drawn")
					}
				}
			}},
		{name: "hide unknown node", edit: func(s *Scene) error { return s.SetVisible("unicorn", false) }, wantErr: ErrUnknownNode},
		{name: "colour", edit: func(s *Scene) error { return s.SetColor("cube", 1, 0, 0.5) },
			check: func(t *testing.T, s *Scene) {
				for _, d := range s.Draws() {
					if d.Mesh.Name == "cube" && !near(d.BaseColor.Vec3(), mgl32.Vec3{1, 0, 0.21404}, 1e-4) {
						t.Errorf("cube drawn in %v, want linear (1, 0, 0.214)", d.BaseColor)
					}
				}
			}},
		{name: "colour out of range", edit: func(s *Scene) error { return s.SetColor("cube", 2, 0, 0) }, wantErr: ErrBadValue},
		{name: "colour unknown node", edit: func(s *Scene) error { return s.SetColor("nope", 0, 0, 0) }, wantErr: ErrUnknownNode},
		{name: "light intensity", edit: func(s *Scene) error { return s.SetLightIntensity(1, 7) },
			check: func(t *testing.T, s *Scene) {
				if s.Lights[1].Intensity != 7 {
					t.Errorf("intensity %g", s.Lights[1].Intensity)
				}
			}},
		{name: "light index out of range", edit: func(s *Scene) error { return s.SetLightIntensity(99, 1) }, wantErr: ErrUnknownLight},
		{name: "light index negative", edit: func(s *Scene) error { return s.SetLightIntensity(-1, 1) }, wantErr: ErrUnknownLight},
		{name: "negative intensity", edit: func(s *Scene) error { return s.SetLightIntensity(0, -1) }, wantErr: ErrBadValue},
		{name: "infinite intensity", edit: func(s *Scene) error { return s.SetLightIntensity(0, inf32()) }, wantErr: ErrBadValue},
		{name: "camera orbit", edit: func(s *Scene) error { return s.EditCamera(func(c *Camera) error { return c.Orbit(90, 0) }) },
			check: func(t *testing.T, s *Scene) {
				if yaw, _ := s.Camera.Angles(); abs32(yaw-108) > 0.01 {
					t.Errorf("yaw %g, want 18+90", yaw)
				}
			}},
		{name: "camera bad set", edit: func(s *Scene) error {
			return s.EditCamera(func(c *Camera) error { return c.Set(c.Eye, c.Eye, c.Up, 45) })
		}, wantErr: ErrBadCamera},
		{name: "camera edit leaving an invalid camera", edit: func(s *Scene) error {
			return s.EditCamera(func(c *Camera) error { c.FovY = 500; return nil })
		}, wantErr: ErrBadCamera},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Builtin(DemoScene)
			if err != nil {
				t.Fatal(err)
			}
			before := s.Clone()
			err = tt.edit(s)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				if s.Version != 0 || s.Background != before.Background || s.Camera != before.Camera ||
					!slices.EqualFunc(s.Lights, before.Lights, func(a, b Light) bool { return a == b }) {
					t.Error("a failed edit changed the scene")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Version != 1 {
				t.Errorf("Version %d after one edit, want 1", s.Version)
			}
			tt.check(t, s)
		})
	}
}

func TestSceneEditErrorsNameTheTarget(t *testing.T) {
	s, _ := Builtin(DemoScene)
	if err := s.SetColor("unicorn", 0, 0, 0); err == nil || !strings.Contains(err.Error(), `"unicorn"`) {
		t.Errorf("error %v should name the node", err)
	}
	if err := s.SetLightIntensity(12, 1); err == nil || !strings.Contains(err.Error(), "light 12") {
		t.Errorf("error %v should name the light", err)
	}
}

func TestSetColorAndVisibilityCoverSubtree(t *testing.T) {
	s := &Scene{Name: "tree"}
	s.Meshes = []*Mesh{{Name: "m", Primitives: []Primitive{Box(1, 1, 1)}}}
	root, child := NewNode("root", -1), NewNode("child", 0)
	root.Children = []int{1}
	s.Nodes, s.Roots = []*Node{root, child}, []int{0}
	if err := s.SetColor("root", 0, 1, 0); err != nil {
		t.Fatal(err)
	}
	if d := s.Draws(); len(d) != 1 || d[0].BaseColor != (mgl32.Vec4{0, 1, 0, 1}) {
		t.Errorf("draws %+v, want the child in green", d)
	}
	if err := s.ClearColor("root"); err != nil || child.ColorOverride != nil {
		t.Errorf("ClearColor: %v, override %v", err, child.ColorOverride)
	}
	if err := s.SetVisible("root", false); err != nil || len(s.Draws()) != 0 {
		t.Errorf("hiding the root left %d draws (%v)", len(s.Draws()), err)
	}
	if s.Version != 3 {
		t.Errorf("Version %d, want 3", s.Version)
	}
}

func TestResetCameraAndClone(t *testing.T) {
	s, _ := Builtin(TestcardScene)
	home := s.Camera
	_ = s.EditCamera(func(c *Camera) error { return c.Zoom(2) })
	c := s.Clone()
	s.ResetCamera()
	if s.Camera != home || s.Version != 2 {
		t.Errorf("after ResetCamera: %+v version %d", s.Camera, s.Version)
	}
	if c.Camera == home {
		t.Error("the clone's camera followed the original")
	}
	// Clones are independent for everything an edit or Animate touches.
	if err := c.SetColor("cube", 1, 0, 0); err != nil {
		t.Fatal(err)
	}
	_ = c.SetVisible("wedge", false)
	_ = c.SetLightIntensity(0, 0)
	c.Animate(c, 3)
	for i, n := range s.Nodes {
		if n.ColorOverride != nil || !n.Visible || n == c.Nodes[i] {
			t.Fatalf("node %q shared with or changed by its clone", n.Name)
		}
	}
	if s.Lights[0].Intensity == 0 {
		t.Error("light shared with the clone")
	}
}
