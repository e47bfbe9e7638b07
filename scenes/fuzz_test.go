package scenes

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"testing/fstest"
)

// FuzzLoadGLB feeds arbitrary bytes (GLB or glTF JSON) to the loader: it must return a
// scene or an ErrBadModel error, never panic, hang or allocate without bound. The seed
// corpus in testdata/fuzz/FuzzLoadGLB holds small valid and broken models; the good assimp
// test models are added when installed.
func FuzzLoadGLB(f *testing.F) {
	f.Add(triangleDoc().glb(f))
	f.Add(triangleDoc().gltf(f))
	for _, rel := range []string{
		"BoxTextured-glTF-Binary/BoxTextured.glb",
		"BoxBadNormals-glTF-Binary/BoxBadNormals.glb",
		"BoxWithInfinites-glTF-Binary/BoxWithInfinites.glb",
	} {
		if data, err := os.ReadFile(assimpModels + "/" + rel); err == nil {
			f.Add(data)
		}
	}
	// Small limits keep each run cheap; the code paths are the same as with the defaults.
	lim := modelLimits{bytes: 8 << 20, textureSide: 256}
	fsys := fstest.MapFS{"a.bin": {Data: make([]byte, 64)}}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := decodeModel(bytes.NewReader(data), fsys, lim)
		if err != nil {
			if !errors.Is(err, ErrBadModel) || errors.Is(err, errLoaderPanic) {
				t.Fatalf("error %v: want a plain ErrBadModel error", err)
			}
			return
		}
		// A loaded scene is safe to walk and draw.
		for _, d := range s.Draws() {
			for _, i := range d.Primitive.Indices {
				if int(i) >= len(d.Primitive.Positions) {
					t.Fatalf("index %d out of range", i)
				}
			}
		}
		if err := s.Camera.Validate(); err != nil {
			t.Fatalf("loaded scene has a bad camera: %v", err)
		}
	})
}
