package scenes

import (
	"bytes"
	"errors"
	"image/color"
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
	// Animation, skinning and morphing.
	f.Add(skinDoc(f).glb(f))
	f.Add(animDoc("rotation", "CUBICSPLINE", "VEC4", []float32{0, 1}, make([]float32, 24)).glb(f))
	// The material model: every texture slot, samplers, transforms, extensions, vertex
	// colours, a spot light; and broken textures (truncated PNG, a GIF, a huge header).
	full := texturedTriangle(f, 5, map[string]any{
		"pbrMetallicRoughness": map[string]any{
			"baseColorTexture":         map[string]any{"index": 0, "extensions": map[string]any{"KHR_texture_transform": map[string]any{"offset": []any{0.5, 0}, "rotation": 1, "texCoord": 1}}},
			"metallicRoughnessTexture": map[string]any{"index": 1},
		},
		"normalTexture": map[string]any{"index": 2}, "occlusionTexture": map[string]any{"index": 3}, "emissiveTexture": map[string]any{"index": 4},
		"alphaMode": "BLEND", "extensions": map[string]any{"KHR_materials_clearcoat": map[string]any{"clearcoatFactor": 1}, "KHR_materials_transmission": map[string]any{"transmissionFactor": 1}},
	})
	full.add("samplers", map[string]any{"wrapS": 33648, "minFilter": 9987})
	full.list("textures")[0].(map[string]any)["sampler"] = 0
	full.json["extensions"] = map[string]any{"KHR_lights_punctual": map[string]any{"lights": []any{map[string]any{"type": "spot", "spot": map[string]any{"outerConeAngle": 0.5}}}}}
	full.list("nodes")[0].(map[string]any)["extensions"] = map[string]any{"KHR_lights_punctual": map[string]any{"light": 0}}
	f.Add(full.glb(f))
	for _, img := range [][]byte{pngBytes(f, 8, 8, color.NRGBA{1, 2, 3, 4})[:40], []byte("GIF89a\x01\x00\x01\x00"), hugePNGHeader(1<<20, 4)} {
		d := texturedTriangle(f, 0, map[string]any{"pbrMetallicRoughness": map[string]any{"baseColorTexture": map[string]any{"index": 0}}})
		d.add("images", map[string]any{"bufferView": d.view(img, 0), "mimeType": "image/png"})
		d.add("textures", map[string]any{"source": 0})
		f.Add(d.glb(f))
	}
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
		// Its animations play at any time without a panic.
		s.PlayAllAnimations(0)
		for _, at := range []float64{0, 0.4, 1e3} {
			s.ApplyAnimations(at)
			_ = s.Draws()
		}
	})
}
