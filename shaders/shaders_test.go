package shaders

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rendercast/rendercast/scenes"
)

func TestNames(t *testing.T) {
	want := []string{"envbg.frag", "envfilter.frag", "fullscreen.vert", "gouraud.frag", "gouraud.vert", "pbr.frag", "preview.frag", "scale.frag", "scene.vert", "shadow.frag", "shadow.vert", "yuv420.frag"}
	if got := Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
}

// TestSources checks what the render package relies on: each file is GLSL 3.30 core (it
// runs on 3.3 and 4.x core contexts) and reads the same through Source and FS.
func TestSources(t *testing.T) {
	for _, name := range Names() {
		src, err := Source(name)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(src, "#version 330 core\n") {
			t.Errorf("%s does not start with #version 330 core", name)
		}
		if !strings.Contains(src, "void main()") {
			t.Errorf("%s has no main", name)
		}
		b, err := fs.ReadFile(FS(), name)
		if err != nil || string(b) != src {
			t.Errorf("FS and Source disagree on %s (%v)", name, err)
		}
	}
}

func TestSourceUnknown(t *testing.T) {
	for _, name := range []string{"nope.frag", "", "../shaders.go", "shaders.go"} {
		if _, err := Source(name); !errors.Is(err, ErrNotFound) {
			t.Errorf("Source(%q) = %v, want ErrNotFound", name, err)
		}
	}
}

// TestMaxLights keeps the lit shaders' light arrays in step with scenes.MaxLights.
func TestMaxLights(t *testing.T) {
	for _, name := range []string{"pbr.frag", "gouraud.vert"} {
		src, err := Source(name)
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`const int MAX_LIGHTS = (\d+);`).FindStringSubmatch(src)
		if m == nil || m[1] != fmt.Sprint(scenes.MaxLights) {
			t.Errorf("%s MAX_LIGHTS = %v, want scenes.MaxLights = %d", name, m, scenes.MaxLights)
		}
	}
}

func ExampleSource() {
	src, err := Source("yuv420.frag")
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.SplitN(src, "\n", 2)[0])
	// Output: #version 330 core
}
