package scenes

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"log/slog"
	"math"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/go-gl/mathgl/mgl32"
)

// pngBytes encodes a w x h image of one colour.
func pngBytes(t testing.TB, w, h int, c color.NRGBA) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// texturedTriangle is triangleDoc with normals, two UV sets, material 0 on the primitive and
// n PNG textures (sources 0..n-1, each on its own image).
func texturedTriangle(t testing.TB, n int, material map[string]any) *testDoc {
	d := triangleDoc()
	for i := range n {
		img := d.add("images", map[string]any{"bufferView": d.view(pngBytes(t, 4, 2, color.NRGBA{uint8(10 * i), 128, 255, 255}), 0), "mimeType": "image/png"})
		d.add("textures", map[string]any{"source": img})
	}
	d.add("materials", material)
	prim := d.list("meshes")[0].(map[string]any)["primitives"].([]any)[0].(map[string]any)
	prim["material"] = 0
	attrs := prim["attributes"].(map[string]any)
	attrs["NORMAL"] = d.floats("VEC3", 0, 0, 1, 0, 0, 1, 0, 0, 1)
	attrs["TEXCOORD_0"] = d.floats("VEC2", 0, 1, 1, 1, 0, 0)
	attrs["TEXCOORD_1"] = d.floats("VEC2", 0.5, 0.5, 0.5, 0.5, 0.5, 0.5)
	return d
}

// TestLoadMaterialModel: every core material input and the supported extensions are read
// from the file into Material (factors, textures with their sets, samplers and transforms),
// tangents are generated for the normal-mapped primitive, COLOR_0 is read, and a file
// listing the extensions as required loads.
func TestLoadMaterialModel(t *testing.T) {
	d := texturedTriangle(t, 5, map[string]any{
		"pbrMetallicRoughness": map[string]any{
			"baseColorFactor":          []any{1, 0.5, 0.25, 0.5},
			"baseColorTexture":         map[string]any{"index": 0, "extensions": map[string]any{"KHR_texture_transform": map[string]any{"offset": []any{0.5, 0}, "scale": []any{2, 3}, "rotation": 0.25, "texCoord": 1}}},
			"metallicFactor":           0.25,
			"roughnessFactor":          0.75,
			"metallicRoughnessTexture": map[string]any{"index": 1, "texCoord": 1},
		},
		"normalTexture":    map[string]any{"index": 2, "scale": 0.5},
		"occlusionTexture": map[string]any{"index": 3, "strength": 0.25},
		"emissiveTexture":  map[string]any{"index": 4},
		"emissiveFactor":   []any{1, 0.5, 0},
		"alphaMode":        "MASK",
		"alphaCutoff":      0.3,
		"doubleSided":      true,
		"extensions": map[string]any{
			"KHR_materials_emissive_strength": map[string]any{"emissiveStrength": 4},
			"KHR_materials_ior":               map[string]any{"ior": 1.33},
			"KHR_materials_specular":          map[string]any{"specularFactor": 0.5, "specularColorFactor": []any{1, 0.5, 0.25}},
			"KHR_materials_clearcoat": map[string]any{"clearcoatFactor": 0.75, "clearcoatRoughnessFactor": 0.125,
				"clearcoatTexture": map[string]any{"index": 0}, "clearcoatRoughnessTexture": map[string]any{"index": 1, "texCoord": 1}},
			"KHR_materials_transmission": map[string]any{"transmissionFactor": 0.5, "transmissionTexture": map[string]any{"index": 2}},
		},
	})
	d.add("samplers", map[string]any{"wrapS": 33071, "wrapT": 33648, "magFilter": 9728, "minFilter": 9729})
	d.list("textures")[1].(map[string]any)["sampler"] = 0
	prim := d.list("meshes")[0].(map[string]any)["primitives"].([]any)[0].(map[string]any)
	prim["attributes"].(map[string]any)["COLOR_0"] = d.floats("VEC3", 1, 0, 0, 0, 1, 0, 0, 0, 1)
	d.json["extensionsRequired"] = []any{"KHR_texture_transform", "KHR_materials_emissive_strength", "KHR_materials_ior",
		"KHR_materials_specular", "KHR_materials_clearcoat", "KHR_materials_transmission"}
	s := mustLoad(t, d.glb(t))
	m := s.Materials[0]
	if m.BaseColor != (mgl32.Vec4{1, 0.5, 0.25, 0.5}) || m.Metallic != 0.25 || m.Roughness != 0.75 {
		t.Errorf("factors %v %v %v", m.BaseColor, m.Metallic, m.Roughness)
	}
	if m.BaseColorTexture == nil || m.BaseColorInfo.TexCoord != 1 || m.BaseColorInfo.Transform == nil ||
		*m.BaseColorInfo.Transform != (TextureTransform{Offset: mgl32.Vec2{0.5, 0}, Rotation: 0.25, Scale: mgl32.Vec2{2, 3}}) {
		t.Errorf("base colour texture info %+v", m.BaseColorInfo)
	}
	mr := m.MetallicRoughnessTexture
	if mr == nil || mr.TexCoord != 1 || mr.Sampler != (Sampler{WrapS: WrapClampToEdge, WrapT: WrapMirroredRepeat, MagFilter: FilterNearest, MinFilter: FilterLinear}) {
		t.Errorf("metallic-roughness texture %+v", mr)
	}
	if m.NormalTexture == nil || m.NormalScale != 0.5 || m.OcclusionTexture == nil || m.OcclusionStrength != 0.25 || m.EmissiveTexture == nil {
		t.Errorf("normal %v scale %v, occlusion %v strength %v, emissive %v", m.NormalTexture, m.NormalScale, m.OcclusionTexture, m.OcclusionStrength, m.EmissiveTexture)
	}
	if m.Emissive != (mgl32.Vec3{4, 2, 0}) {
		t.Errorf("emissive %v, want the factor times the strength 4", m.Emissive)
	}
	if m.AlphaMode != AlphaMask || m.AlphaCutoff != float32(0.3) || !m.DoubleSided {
		t.Errorf("alpha %v cutoff %v double-sided %v", m.AlphaMode, m.AlphaCutoff, m.DoubleSided)
	}
	if m.IOR != float32(1.33) || m.Specular == nil || *m.Specular != (Specular{Factor: 0.5, Color: mgl32.Vec3{1, 0.5, 0.25}}) ||
		m.Clearcoat != 0.75 || m.ClearcoatRoughness != 0.125 || m.Transmission != 0.5 {
		t.Errorf("extensions: ior %v specular %+v clearcoat %v/%v transmission %v", m.IOR, m.Specular, m.Clearcoat, m.ClearcoatRoughness, m.Transmission)
	}
	if m.ClearcoatTexture == nil || m.ClearcoatRoughnessTexture == nil || m.ClearcoatRoughnessTexture.TexCoord != 1 || m.TransmissionTexture == nil {
		t.Errorf("extension textures: clearcoat %v, clearcoat roughness %v, transmission %v", m.ClearcoatTexture, m.ClearcoatRoughnessTexture, m.TransmissionTexture)
	}
	p := s.Meshes[0].Primitives[0]
	if len(p.UVs) != 3 || len(p.UVs1) != 3 || p.UVs1[0] != (mgl32.Vec2{0.5, 0.5}) {
		t.Errorf("UVs %v, UVs1 %v", p.UVs, p.UVs1)
	}
	if len(p.Colors) != 3 || p.Colors[1] != (mgl32.Vec4{0, 1, 0, 1}) {
		t.Errorf("colours %v", p.Colors)
	}
	if len(p.Tangents) != 3 || !near3(p.Tangents[0].Vec3(), mgl32.Vec3{1, 0, 0}, 1e-5) || p.Tangents[0][3] != 1 {
		t.Errorf("generated tangents %v, want +x with w = 1", p.Tangents)
	}
	if len(s.Warnings) != 0 {
		t.Errorf("warnings %q", s.Warnings)
	}
	// The defaults: no alpha, cutoff 0.5, normal scale and occlusion strength 1.
	d = texturedTriangle(t, 0, map[string]any{})
	m = mustLoad(t, d.glb(t)).Materials[0]
	if m.AlphaMode != AlphaOpaque || m.AlphaCutoff != 0.5 || m.NormalScale != 1 || m.OcclusionStrength != 1 || m.IOR != 0 || m.Specular != nil {
		t.Errorf("default material %+v", m)
	}
	if (&TextureTransform{Scale: mgl32.Vec2{1, 1}}).Matrix() != mgl32.Ident3() {
		t.Error("identity transform is not the identity matrix")
	}
	tr := (&TextureTransform{Offset: mgl32.Vec2{0.5, 0.25}, Rotation: math.Pi / 2, Scale: mgl32.Vec2{2, 1}}).Matrix()
	// Scale first (u 0.5 -> 1), then rotate a quarter turn counter-clockwise as the image
	// shows (+u to -v, v running down), then offset.
	if got := tr.Mul3x1(mgl32.Vec3{0.5, 0, 1}); !near3(got, mgl32.Vec3{0.5, -0.75, 1}, 1e-6) {
		t.Errorf("transform maps (0.5, 0) to %v", got)
	}
}

// TestLoadSpotLight: KHR_lights_punctual spot lights keep their cone and direction (the
// node's -z), with glTF's default angles when absent; cones out of order are errors.
func TestLoadSpotLight(t *testing.T) {
	spot := func(cone map[string]any) *testDoc {
		d := triangleDoc()
		l := map[string]any{"type": "spot", "intensity": 3}
		if cone != nil {
			l["spot"] = cone
		}
		d.json["extensions"] = map[string]any{"KHR_lights_punctual": map[string]any{"lights": []any{l}}}
		d.list("nodes")[0].(map[string]any)["children"] = []any{1}
		d.add("nodes", map[string]any{"translation": []any{0, 2, 0}, "rotation": []any{-math.Sqrt2 / 2, 0, 0, math.Sqrt2 / 2},
			"extensions": map[string]any{"KHR_lights_punctual": map[string]any{"light": 0}}})
		return d
	}
	s := mustLoad(t, spot(map[string]any{"innerConeAngle": 0.2, "outerConeAngle": 0.4}).glb(t))
	if len(s.Lights) != 1 {
		t.Fatalf("%d lights", len(s.Lights))
	}
	l := s.Lights[0]
	if l.Type != Spot || l.InnerCone != 0.2 || l.OuterCone != 0.4 || !near3(l.Position, mgl32.Vec3{0, 2, 0}, 1e-6) ||
		!near3(l.Direction, mgl32.Vec3{0, -1, 0}, 1e-6) || l.Intensity != 3 {
		t.Errorf("spot light %+v (want pointing down from (0, 2, 0), cone 0.2..0.4)", l)
	}
	l = mustLoad(t, spot(nil).glb(t)).Lights[0]
	if l.InnerCone != 0 || math.Abs(float64(l.OuterCone)-math.Pi/4) > 1e-6 {
		t.Errorf("default cone %v..%v, want 0..pi/4", l.InnerCone, l.OuterCone)
	}
	_, err := LoadReader(bytes.NewReader(spot(map[string]any{"innerConeAngle": 0.5, "outerConeAngle": 0.4}).glb(t)), "spot.glb", nil)
	if !errors.Is(err, ErrBadModel) || !strings.Contains(fmtErr(err), "spot cone angles") {
		t.Errorf("inner > outer: %v", err)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestLoadTextureProblems: textures the renderer cannot use are skipped with one warning
// each (in Scene.Warnings and the logger) and the model still loads: an unsupported image
// format, images past the scene's texture memory limit, a coordinate set above 1, unknown
// sampler enums; a truncated PNG or JPEG and a texture transform with a non-finite value are
// errors.
func TestLoadTextureProblems(t *testing.T) {
	d := texturedTriangle(t, 2, map[string]any{
		"pbrMetallicRoughness": map[string]any{
			"baseColorTexture":         map[string]any{"index": 0},
			"metallicRoughnessTexture": map[string]any{"index": 1, "texCoord": 2},
		},
		"emissiveTexture": map[string]any{"index": 2},
		"normalTexture":   map[string]any{"index": 3},
	})
	// Texture 2: a GIF (not a glTF image format); texture 3: a PNG over the memory limit.
	gif := d.add("images", map[string]any{"bufferView": d.view([]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), 0), "mimeType": "image/gif"})
	d.add("textures", map[string]any{"source": gif})
	big := d.add("images", map[string]any{"bufferView": d.view(pngBytes(t, 64, 64, color.NRGBA{255, 255, 255, 255}), 0), "mimeType": "image/png"})
	d.add("textures", map[string]any{"source": big, "sampler": 0})
	d.add("samplers", map[string]any{"wrapS": 1234, "minFilter": 9999})
	var logs bytes.Buffer
	s, err := LoadReaderWith(bytes.NewReader(d.glb(t)), "problems.glb", fstest.MapFS{},
		ModelOptions{MaxTextureBytes: 4 * 4 * 2 * 2, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	m := s.Materials[0]
	if m.BaseColorTexture == nil {
		t.Error("the first texture (within the limit) was skipped")
	}
	if m.MetallicRoughnessTexture != nil || m.EmissiveTexture != nil || m.NormalTexture != nil {
		t.Errorf("skipped textures kept: mr %v emissive %v normal %v", m.MetallicRoughnessTexture, m.EmissiveTexture, m.NormalTexture)
	}
	for _, want := range []string{"coordinate set 2", "not PNG or JPEG", "texture limit", "unknown wrapS 1234", "unknown minFilter 9999"} {
		n := 0
		for _, w := range s.Warnings {
			if strings.Contains(w, want) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d warnings saying %q, want 1: %q", n, want, s.Warnings)
		}
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q: %s", want, logs.String())
		}
	}
	// A limit per side below the image: a clear error before decoding.
	_, err = LoadReaderWith(bytes.NewReader(texturedTriangle(t, 1, map[string]any{
		"pbrMetallicRoughness": map[string]any{"baseColorTexture": map[string]any{"index": 0}},
	}).glb(t)), "small.glb", nil, ModelOptions{MaxTextureSide: 2})
	if !errors.Is(err, ErrBadModel) || !strings.Contains(fmtErr(err), "4x2 pixels (limit 2 per side)") {
		t.Errorf("MaxTextureSide 2: %v", err)
	}
	// Truncated PNG: a clear error naming the image.
	d = texturedTriangle(t, 0, map[string]any{"pbrMetallicRoughness": map[string]any{"baseColorTexture": map[string]any{"index": 0}}})
	full := pngBytes(t, 16, 16, color.NRGBA{1, 2, 3, 255})
	d.add("images", map[string]any{"bufferView": d.view(full[:len(full)-20], 0), "mimeType": "image/png"})
	d.add("textures", map[string]any{"source": 0})
	_, err = LoadReader(bytes.NewReader(d.glb(t)), "truncated.glb", nil)
	if !errors.Is(err, ErrBadModel) || !strings.Contains(fmtErr(err), "image 0") {
		t.Errorf("truncated PNG: %v", err)
	}
	// Truncated JPEG: the same.
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, image.NewNRGBA(image.Rect(0, 0, 32, 32)), nil); err != nil {
		t.Fatal(err)
	}
	d = texturedTriangle(t, 0, map[string]any{"pbrMetallicRoughness": map[string]any{"baseColorTexture": map[string]any{"index": 0}}})
	d.add("images", map[string]any{"bufferView": d.view(jb.Bytes()[:jb.Len()/2], 0), "mimeType": "image/jpeg"})
	d.add("textures", map[string]any{"source": 0})
	_, err = LoadReader(bytes.NewReader(d.glb(t)), "truncated.glb", nil)
	if !errors.Is(err, ErrBadModel) || !strings.Contains(fmtErr(err), "image 0") {
		t.Errorf("truncated JPEG: %v", err)
	}
	// Non-finite transform (1e39 overflows float32).
	d = texturedTriangle(t, 1, map[string]any{"pbrMetallicRoughness": map[string]any{"baseColorTexture": map[string]any{
		"index": 0, "extensions": map[string]any{"KHR_texture_transform": map[string]any{"scale": []any{1e39, 1}}}}}})
	_, err = LoadReader(bytes.NewReader(d.glb(t)), "transform.glb", nil)
	if !errors.Is(err, ErrBadModel) || !strings.Contains(fmtErr(err), "KHR_texture_transform is not finite") {
		t.Errorf("non-finite transform: %v", err)
	}
}

// TestLibraryModelOptions: Library.Add loads with the options set by SetModelOptions: a
// texture-side limit below the file's texture fails the load, the logger receives the
// load's warnings; the defaults accept the file.
func TestLibraryModelOptions(t *testing.T) {
	d := texturedTriangle(t, 1, map[string]any{"pbrMetallicRoughness": map[string]any{
		"baseColorTexture": map[string]any{"index": 0, "texCoord": 3}}})
	path := t.TempDir() + "/tri.glb"
	if err := os.WriteFile(path, d.glb(t), 0o644); err != nil {
		t.Fatal(err)
	}
	lib := NewLibraryDetail(DetailLow)
	var logs bytes.Buffer
	lib.SetModelOptions(ModelOptions{MaxTextureSide: 2, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err := lib.Add("tri", path); !errors.Is(err, ErrBadModel) || !strings.Contains(err.Error(), "limit 2 per side") {
		t.Fatalf("Add with MaxTextureSide 2: %v", err)
	}
	lib.SetModelOptions(ModelOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err := lib.Add("tri", path); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "coordinate set 3") || !strings.Contains(logs.String(), "tri.glb") {
		t.Errorf("log lacks the load's warning: %s", logs.String())
	}
}
