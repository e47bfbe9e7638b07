package scenes

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestLibrary(t *testing.T) {
	lib := NewLibrary()
	if got := lib.Names(); !slices.Equal(got, []string{"demo", "testcard"}) {
		t.Fatalf("Names = %v", got)
	}
	box := assimpModel(t, "BoxTextured-glTF-Binary/BoxTextured.glb")
	if err := lib.Add("box_1", box); err != nil {
		t.Fatal(err)
	}
	if got := lib.Names(); !slices.Equal(got, []string{"box_1", "demo", "testcard"}) {
		t.Errorf("Names = %v", got)
	}
	s, err := lib.Get("box_1")
	if err != nil || s.Name != "box_1" || len(s.Meshes) != 1 {
		t.Fatalf("Get(box_1) = %v, %v", s, err)
	}

	tests := []struct {
		name, scene, path string
		want              error
	}{
		{"taken", "demo", box, ErrSceneExists},
		{"empty name", "", box, ErrBadSceneName},
		{"path as name", "../etc/passwd", box, ErrBadSceneName},
		{"space", "my scene", box, ErrBadSceneName},
		{"too long", strings.Repeat("a", 65), box, ErrBadSceneName},
		{"non-ASCII", "scène", box, ErrBadSceneName},
		{"broken file", "broken", assimpModel(t, "IndexOutOfRange/IndexOutOfRange.gltf"), ErrBadModel},
		{"missing file", "missing", "/nonexistent/x.glb", ErrBadModel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := lib.Add(tt.scene, tt.path); !errors.Is(err, tt.want) {
				t.Errorf("Add(%q) = %v, want %v", tt.scene, err, tt.want)
			}
			if len(lib.Names()) != 3 {
				t.Errorf("a failed Add changed the library: %v", lib.Names())
			}
		})
	}
	if !ValidSceneName(strings.Repeat("a", 64)) || !ValidSceneName("A-z_09") {
		t.Error("valid names rejected")
	}
	for _, name := range []string{"nope", "", "../demo", "demo/"} {
		if _, err := lib.Get(name); !errors.Is(err, ErrUnknownScene) {
			t.Errorf("Get(%q) = %v, want ErrUnknownScene", name, err)
		}
	}
}

func TestLibraryGetGivesIndependentClones(t *testing.T) {
	lib := NewLibrary()
	var wg sync.WaitGroup
	versions := make([]uint32, 8)
	for i := range versions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := lib.Get("demo")
			if err != nil {
				return
			}
			for k := range 5 {
				s.Animate(s, float64(k))
				_ = s.SetColor("cube", 1, 0, 0)
				_ = s.EditCamera(func(c *Camera) error { return c.Orbit(10, 0) })
			}
			versions[i] = s.Version
		}()
	}
	wg.Wait()
	for i, v := range versions {
		if v != 10 {
			t.Errorf("viewer %d: version %d, want 10", i, v)
		}
	}
	fresh, _ := lib.Get("demo")
	if fresh.Version != 0 || fresh.Nodes[0].ColorOverride != nil {
		t.Error("viewers' edits leaked into the library")
	}
	for _, n := range fresh.Nodes {
		if n.ColorOverride != nil {
			t.Errorf("node %q has an override from another viewer", n.Name)
		}
	}
}

func TestNewLibraryDetail(t *testing.T) {
	for _, d := range []Detail{DetailFull, DetailLow} {
		lib := NewLibraryDetail(d)
		if got := lib.Names(); !slices.Equal(got, BuiltinNames()) {
			t.Fatalf("%v: Names = %v", d, got)
		}
		for _, name := range BuiltinNames() {
			got, err := lib.Get(name)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := BuiltinDetail(name, d)
			if triangles(got) != triangles(want) {
				t.Errorf("%v %s: library scene draws %d triangles, BuiltinDetail %d", d, name, triangles(got), triangles(want))
			}
		}
	}
}
