package scenes

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/go-gl/mathgl/mgl32"
)

func countGeometry(s *Scene) (verts, tris int) {
	for _, m := range s.Meshes {
		for _, p := range m.Primitives {
			verts += len(p.Positions)
			tris += len(p.Indices) / 3
		}
	}
	return verts, tris
}

func textureSize(s *Scene) image.Point {
	for _, m := range s.Materials {
		if m.BaseColorTexture != nil {
			return m.BaseColorTexture.Bounds().Size()
		}
	}
	return image.Point{}
}

// TestLoadAssimpGood loads the good models of assimp-testmodels and checks their geometry.
func TestLoadAssimpGood(t *testing.T) {
	unit := Bounds{Min: mgl32.Vec3{-0.5, -0.5, -0.5}, Max: mgl32.Vec3{0.5, 0.5, 0.5}}
	tests := []struct {
		path        string
		verts, tris int
		nodes       int
		bounds      Bounds
		texture     image.Point // size of the base colour texture, zero for none
		fileCamera  bool
	}{
		{"2CylinderEngine-glTF-Binary/2CylinderEngine.glb", 55843, 75730, 82,
			Bounds{Min: mgl32.Vec3{-373.29, -188.28, -140}, Max: mgl32.Vec3{371.69, 115.26, 135.26}}, image.Point{}, true},
		{"BoxTextured-glTF-Binary/BoxTextured.glb", 24, 12, 2, unit, image.Pt(211, 211), false},
		{"BoxTextured-glTF/BoxTextured.gltf", 24, 12, 2, unit, image.Pt(211, 211), false},
		{"BoxTextured-glTF-Embedded/BoxTextured.gltf", 24, 12, 2, unit, image.Pt(211, 211), false},
		{"BoxTextured-glTF-pbrSpecularGlossiness/BoxTextured.gltf", 24, 12, 2, unit, image.Pt(211, 211), false},
		{"BoxTexcoords-glTF/boxTexcoords.gltf", 24, 12, 3,
			Bounds{Min: mgl32.Vec3{-1, -1, -1}, Max: mgl32.Vec3{1, 1, 1}}, image.Pt(256, 256), false},
		{"BoxBadNormals-glTF-Binary/BoxBadNormals.glb", 24, 12, 2, unit, image.Point{}, false},
		{"cameras/Cameras.gltf", 4, 2, 3,
			Bounds{Min: mgl32.Vec3{0, 0, -0.7076}, Max: mgl32.Vec3{1, 0.7066, 0}}, image.Point{}, true},
		{"glTF-Sample-Models/AnimatedMorphCube-glTF/AnimatedMorphCube.gltf", 24, 12, 1,
			Bounds{Min: mgl32.Vec3{-1, -1, -1}, Max: mgl32.Vec3{1, 1, 1}}, image.Point{}, false},
		// Skinned: its inverse bind matrices (translate -0.5 -1 0) centre the strip on x = 0.
		{"simple_skin/simple_skin.gltf", 10, 8, 3,
			Bounds{Min: mgl32.Vec3{-0.5, 0, 0}, Max: mgl32.Vec3{0.5, 2, 0}}, image.Point{}, false},
		{"ClearCoat-glTF/ClearCoatTest.gltf", 20106, 37116, 33,
			Bounds{Min: mgl32.Vec3{-7.3578, -6.25, -0.06}, Max: mgl32.Vec3{3.1, 6.8545, 1.05}}, image.Pt(256, 256), false},
		{"wrongTypes/badExtension.gltf", 24, 12, 2, unit, image.Pt(211, 211), false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			s, err := Load(assimpModel(t, tt.path))
			if err != nil {
				t.Fatal(err)
			}
			checkScene(t, s)
			verts, tris := countGeometry(s)
			if verts != tt.verts || tris != tt.tris || len(s.Nodes) != tt.nodes {
				t.Errorf("%d vertices, %d triangles, %d nodes; want %d, %d, %d", verts, tris, len(s.Nodes), tt.verts, tt.tris, tt.nodes)
			}
			b := s.Bounds()
			tol := 1e-3 * max(1, tt.bounds.Radius())
			if !near(b.Min, tt.bounds.Min, tol) || !near(b.Max, tt.bounds.Max, tol) {
				t.Errorf("bounds %v..%v, want %v..%v", b.Min, b.Max, tt.bounds.Min, tt.bounds.Max)
			}
			if got := textureSize(s); tt.texture != (image.Point{}) && got != tt.texture {
				t.Errorf("texture %v, want %v", got, tt.texture)
			}
			for _, m := range s.Materials {
				if m.BaseColorTexture != nil {
					if _, ok := m.BaseColorTexture.(*image.NRGBA); !ok {
						t.Errorf("texture is %T, want *image.NRGBA", m.BaseColorTexture)
					}
				}
			}
			// Models are framed from the front right unless they bring a camera.
			if yaw, pitch := s.Camera.Angles(); !tt.fileCamera && (abs32(yaw-30) > 0.1 || abs32(pitch-20) > 0.1) {
				t.Errorf("camera angles %g, %g, want the framing default 30, 20", yaw, pitch)
			}
			// With no camera of its own, the whole model is in view.
			if !tt.fileCamera {
				if r, ok := screenBox(s.Camera, b, 1280, 720); !ok || r.x0 < 0 || r.y0 < 0 || r.x1 > 1280 || r.y1 > 720 {
					t.Errorf("model projects to %+v, want inside 1280x720", r)
				}
			}
			if len(s.Lights) != 3 {
				t.Errorf("%d lights, want the 3 default ones", len(s.Lights))
			}
			if want := strings.TrimSuffix(filepath.Base(tt.path), filepath.Ext(tt.path)); s.Name != want {
				t.Errorf("name %q, want %q", s.Name, want)
			}
		})
	}
}

func TestLoadAssimpDetails(t *testing.T) {
	t.Run("BoxBadNormals repairs zero and short normals", func(t *testing.T) {
		s, err := Load(assimpModel(t, "BoxBadNormals-glTF-Binary/BoxBadNormals.glb"))
		if err != nil {
			t.Fatal(err)
		}
		p := s.Meshes[0].Primitives[0]
		for i, n := range p.Normals {
			if abs32(n.Len()-1) > 1e-5 {
				t.Errorf("normal %d = %v, not unit", i, n)
			}
		}
		// The first face's normals were zero: they now match its geometric normal.
		a, b, c := p.Positions[p.Indices[0]], p.Positions[p.Indices[1]], p.Positions[p.Indices[2]]
		g := b.Sub(a).Cross(c.Sub(a)).Normalize()
		if !near(p.Normals[p.Indices[0]], g, 1e-4) {
			t.Errorf("repaired normal %v, want face normal %v", p.Normals[p.Indices[0]], g)
		}
	})
	t.Run("BoxTextured node matrix", func(t *testing.T) {
		s, err := Load(assimpModel(t, "BoxTextured-glTF-Binary/BoxTextured.glb"))
		if err != nil {
			t.Fatal(err)
		}
		root := s.Nodes[s.Roots[0]]
		if root.Matrix == nil {
			t.Fatal("root matrix not kept")
		}
		// The file's matrix (columns (1,0,0), (0,0,-1), (0,1,0)) turns +Y into -Z; Local must
		// honour it.
		if got := root.Local().Mul4x1(mgl32.Vec4{0, 1, 0, 0}).Vec3(); !near(got, mgl32.Vec3{0, 0, -1}, 1e-6) {
			t.Errorf("matrix maps +Y to %v", got)
		}
		m := s.Materials[0]
		if m.Metallic != 0 || m.Roughness != 1 || m.BaseColor != (mgl32.Vec4{1, 1, 1, 1}) {
			t.Errorf("material %+v", m)
		}
		p := s.Meshes[0].Primitives[0]
		if len(p.UVs) != 24 || len(p.Normals) != 24 {
			t.Errorf("%d UVs, %d normals", len(p.UVs), len(p.Normals))
		}
	})
	t.Run("Cameras uses the perspective camera", func(t *testing.T) {
		s, err := Load(assimpModel(t, "cameras/Cameras.gltf"))
		if err != nil {
			t.Fatal(err)
		}
		c := s.Camera
		if c.Eye != (mgl32.Vec3{0.5, 0.5, 3}) || abs32(c.FovY-float32(0.7*180/math.Pi)) > 1e-3 {
			t.Errorf("camera eye %v fov %g, want (0.5, 0.5, 3) and 0.7 rad", c.Eye, c.FovY)
		}
		if f := c.Target.Sub(c.Eye).Normalize(); !near(f, mgl32.Vec3{0, 0, -1}, 1e-6) {
			t.Errorf("camera looks along %v, want -Z", f)
		}
	})
	// Strips and fans are converted to triangle lists that keep the reference winding:
	// every quad faces +Z, so every triangle must be counter-clockwise seen from +Z.
	for _, n := range []string{"04", "05", "06", "11", "12", "13", "14", "15"} {
		t.Run("Mesh_PrimitiveMode_"+n, func(t *testing.T) {
			s, err := Load(assimpModel(t, "glTF-Asset-Generator/Mesh_PrimitiveMode/Mesh_PrimitiveMode_"+n+".gltf"))
			if err != nil {
				t.Fatal(err)
			}
			p := s.Meshes[0].Primitives[0]
			if len(p.Indices) != 6 {
				t.Fatalf("%d indices, want 2 triangles", len(p.Indices))
			}
			area := float32(0)
			for i := 0; i < 6; i += 3 {
				a, b, c := p.Positions[p.Indices[i]], p.Positions[p.Indices[i+1]], p.Positions[p.Indices[i+2]]
				g := b.Sub(a).Cross(c.Sub(a))
				if g[2] <= 0 {
					t.Errorf("triangle %d faces %v, want +Z", i/3, g)
				}
				area += g.Len() / 2
			}
			if abs32(area-1) > 1e-5 {
				t.Errorf("triangles cover %g, want the unit quad", area)
			}
		})
	}
}

// TestLoadAssimpBroken checks that each broken model gives a clear error naming the file and
// the problem, wrapping ErrBadModel.
func TestLoadAssimpBroken(t *testing.T) {
	tests := []struct {
		path    string
		want    string // part of the message
		also    error  // another error the result must wrap
		problem string // what is wrong with the file
	}{
		{"IndexOutOfRange/IndexOutOfRange.gltf", "index 0 is 255, out of range (24 vertices)", nil, "indices out of range"},
		{"IndexOutOfRange/AllIndicesOutOfRange.gltf", "out of range (24 vertices)", nil, "all indices out of range"},
		{"MissingBin/BoxTextured.gltf", `buffer 0: file "BoxTextured0.bin" is missing`, fs.ErrNotExist, "missing buffer"},
		{"BoxWithInfinites-glTF-Binary/BoxWithInfinites.glb", "POSITION accessor 2: element 0 is -Inf (not finite)", nil, "infinities"},
		{"RecursiveNodes/RecursiveNodes.gltf", "scene root node 0 is also a child of node 1", nil, "recursive nodes"},
		{"TestNoRootNode/NoScene.gltf", "no scene", nil, "no scene"},
		{"TestNoRootNode/SceneWithoutNodes.gltf", "scene 0 has no nodes", nil, "empty scene"},
		{"IncorrectVertexArrays/Cube.gltf", `mesh 1 ("TruncatedCube") primitive 0: 35 triangle vertices, not a multiple of 3`, nil, "truncated vertex array"},
		{"SchemaFailures/sceneWrongType.gltf", "invalid glTF JSON", nil, "scene is a string"},
		{"wrongTypes/badArray.gltf", "invalid glTF JSON", nil, "primitives is an object"},
		{"wrongTypes/badNumber.gltf", "invalid glTF JSON", nil, "scale is a string"},
		{"wrongTypes/badObject.gltf", "invalid glTF JSON", nil, "pbrMetallicRoughness is an array"},
		{"wrongTypes/badString.gltf", "invalid glTF JSON", nil, "name is a number"},
		{"wrongTypes/badUint.gltf", "texture -1 does not exist", nil, "negative texture index"},
		{"draco/2CylinderEngine.gltf", "requires extension KHR_draco_mesh_compression", ErrUnsupportedModel, "Draco"},
		{"BoxTextured-glTF-techniqueWebGL/BoxTextured.gltf", "requires extension KHR_technique_webgl", ErrUnsupportedModel, "techniques"},
		{"glTF-Asset-Generator/Mesh_PrimitiveMode/Mesh_PrimitiveMode_00.gltf", "no triangle meshes", nil, "points only"},
		{"glTF-Asset-Generator/Mesh_PrimitiveMode/Mesh_PrimitiveMode_08.gltf", "no triangle meshes", nil, "lines only"},
		{"../glTF/BoxTextured-glTF/BoxTextured.gltf", "glTF version 1.0", ErrUnsupportedModel, "glTF 1.0"},
		{"../glTF/BoxTextured-glTF-Binary/BoxTextured.glb", "GLB version 1", ErrUnsupportedModel, "glTF 1.0 binary"},
		{"does-not-exist.glb", "no such file", fs.ErrNotExist, "missing file"},
	}
	for _, tt := range tests {
		t.Run(tt.problem, func(t *testing.T) {
			path := assimpModel(t, tt.path)
			s, err := Load(path)
			if err == nil {
				t.Fatalf("loaded %d nodes, want an error", len(s.Nodes))
			}
			if !errors.Is(err, ErrBadModel) {
				t.Errorf("error %v does not wrap ErrBadModel", err)
			}
			if tt.also != nil && !errors.Is(err, tt.also) {
				t.Errorf("error %v does not wrap %v", err, tt.also)
			}
			var me *ModelError
			if !errors.As(err, &me) || me.Path != path {
				t.Errorf("error %v is not a *ModelError for %s", err, path)
			}
			if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q should name %s and say %q", msg, path, tt.want)
			}
		})
	}
}

func TestLoadReaderSynthetic(t *testing.T) {
	t.Run("GLB and embedded glTF give the same triangle", func(t *testing.T) {
		for name, data := range map[string][]byte{"tri.glb": triangleDoc().glb(t), "tri.gltf": triangleDoc().gltf(t)} {
			s, err := LoadReader(bytes.NewReader(data), name, nil)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			p := s.Meshes[0].Primitives[0]
			if len(p.Positions) != 3 || len(p.Indices) != 3 || p.Normals != nil || p.UVs != nil || p.Material != -1 {
				t.Errorf("%s: primitive %+v", name, p)
			}
			if s.Name != "tri" || s.NodeNames()[0] != "tri" {
				t.Errorf("%s: scene %q, nodes %v", name, s.Name, s.NodeNames())
			}
			if b := s.Bounds(); b.Min != (mgl32.Vec3{}) || b.Max != (mgl32.Vec3{1, 1, 0}) {
				t.Errorf("%s: bounds %v", name, b)
			}
		}
	})
	t.Run("non-indexed primitive gets generated indices", func(t *testing.T) {
		d := newTestDoc()
		pos := d.floats("VEC3", 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1, 0, 2, 1, 0, 1, 2, 0)
		d.add("nodes", map[string]any{"mesh": d.mesh(map[string]any{"attributes": map[string]any{"POSITION": pos}})})
		s := mustLoad(t, d.glb(t))
		if got := s.Meshes[0].Primitives[0].Indices; len(got) != 6 || got[0] != 0 || got[5] != 5 {
			t.Errorf("indices %v, want 0..5", got)
		}
	})
	t.Run("index component types", func(t *testing.T) {
		for _, ct := range []int{5121, 5123, 5125} {
			d := newTestDoc()
			pos := d.floats("VEC3", 0, 0, 0, 1, 0, 0, 0, 1, 0)
			idx := d.indices(ct, 2, 1, 0)
			d.add("nodes", map[string]any{"mesh": d.mesh(map[string]any{"attributes": map[string]any{"POSITION": pos}, "indices": idx})})
			s := mustLoad(t, d.glb(t))
			if got := s.Meshes[0].Primitives[0].Indices; len(got) != 3 || got[0] != 2 || got[2] != 0 {
				t.Errorf("componentType %d: indices %v", ct, got)
			}
		}
	})
	t.Run("quantized attributes, interleaving and sparse data", func(t *testing.T) {
		d := newTestDoc()
		// Interleaved: 3 x (short position xyz + pad) = 8 bytes per vertex, stride 8.
		var inter []byte
		for _, p := range [][3]int16{{0, 0, 0}, {2, 0, 0}, {0, 3, 0}} {
			for _, v := range p {
				inter = binary.LittleEndian.AppendUint16(inter, uint16(v))
			}
			inter = append(inter, 0, 0)
		}
		pos := d.accessor(d.view(inter, 8), 5122, 3, "VEC3", nil)
		// Normals as normalized bytes: (0, 0, 127) -> (0, 0, 1).
		nrm := d.accessor(d.view([]byte{0, 0, 127, 0, 0, 0, 127, 0, 0, 0, 127, 0}, 4), 5120, 3, "VEC3", map[string]any{"normalized": true})
		// UVs as normalized ushort, replaced for vertex 2 by a sparse value.
		var uv []byte
		for _, v := range []uint16{0, 0, 65535, 0, 0, 65535} {
			uv = binary.LittleEndian.AppendUint16(uv, v)
		}
		spIdx := d.view([]byte{2}, 0)
		spVal := d.view(binary.LittleEndian.AppendUint16(binary.LittleEndian.AppendUint16(nil, 32768), 65535), 0)
		uvs := d.accessor(d.view(uv, 0), 5123, 3, "VEC2", map[string]any{"normalized": true,
			"sparse": map[string]any{"count": 1,
				"indices": map[string]any{"bufferView": spIdx, "componentType": 5121},
				"values":  map[string]any{"bufferView": spVal}}})
		mat := d.add("materials", map[string]any{"pbrMetallicRoughness": map[string]any{"baseColorFactor": []any{1, 0, 0, 1}}})
		d.add("nodes", map[string]any{"mesh": d.mesh(map[string]any{"attributes": map[string]any{
			"POSITION": pos, "NORMAL": nrm, "TEXCOORD_0": uvs}, "material": mat})})
		d.json["extensionsRequired"] = []any{"KHR_mesh_quantization"}
		s := mustLoad(t, d.glb(t))
		p := s.Meshes[0].Primitives[0]
		if p.Positions[1] != (mgl32.Vec3{2, 0, 0}) || p.Positions[2] != (mgl32.Vec3{0, 3, 0}) {
			t.Errorf("positions %v", p.Positions)
		}
		if p.Normals[0] != (mgl32.Vec3{0, 0, 1}) {
			t.Errorf("normal %v", p.Normals[0])
		}
		if p.UVs[1] != (mgl32.Vec2{1, 0}) || abs32(p.UVs[2][0]-32768.0/65535) > 1e-6 || p.UVs[2][1] != 1 {
			t.Errorf("UVs %v (sparse value not applied?)", p.UVs)
		}
		if s.Materials[p.Material].BaseColor != (mgl32.Vec4{1, 0, 0, 1}) {
			t.Errorf("material %+v", s.Materials[p.Material])
		}
	})
	t.Run("hierarchy, TRS and matrix", func(t *testing.T) {
		d := triangleDoc()
		d.json["nodes"] = []any{
			map[string]any{"name": "parent", "translation": []any{10, 0, 0}, "scale": []any{2, 2, 2}, "children": []any{1}},
			map[string]any{"name": "child", "mesh": 0, "rotation": []any{0, 0, math.Sqrt2 / 2, math.Sqrt2 / 2}, "children": []any{2}},
			map[string]any{"name": "grandchild", "mesh": 0, "matrix": []any{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 5, 1}},
		}
		s := mustLoad(t, d.glb(t))
		draws := s.Draws()
		if len(draws) != 2 || len(s.Meshes) != 1 {
			t.Fatalf("%d draws of %d meshes, want 2 of 1 shared mesh", len(draws), len(s.Meshes))
		}
		// child: rotate 90° about Z, then parent: scale 2, translate (10, 0, 0).
		want := map[string]mgl32.Vec3{"child": {10, 2, 0}, "grandchild": {10, 2, 10}}
		for _, dr := range draws {
			var name string
			for _, n := range s.Nodes {
				if n.Mesh == 0 && dr.World == worldOf(s, n) {
					name = n.Name
				}
			}
			got := dr.World.Mul4x1(mgl32.Vec4{1, 0, 0, 1}).Vec3()
			if w, ok := want[name]; !ok || !near(got, w, 1e-5) {
				t.Errorf("%s: vertex (1,0,0) lands at %v, want %v", name, got, w)
			}
		}
	})
	t.Run("lights, unlit and emissive materials", func(t *testing.T) {
		d := triangleDoc()
		d.json["extensionsUsed"] = []any{"KHR_lights_punctual", "KHR_materials_unlit"}
		d.json["extensions"] = map[string]any{"KHR_lights_punctual": map[string]any{"lights": []any{
			map[string]any{"type": "directional", "color": []any{1, 0.5, 0}, "intensity": 3},
			map[string]any{"type": "point", "intensity": 20},
		}}}
		d.add("materials", map[string]any{"name": "glow", "emissiveFactor": []any{0, 1, 0}, "doubleSided": true,
			"extensions": map[string]any{"KHR_materials_unlit": map[string]any{}}})
		d.list("meshes")[0].(map[string]any)["primitives"].([]any)[0].(map[string]any)["material"] = 0
		d.json["nodes"] = []any{
			map[string]any{"name": "tri", "mesh": 0, "children": []any{1, 2}},
			// Rotated -90° about X: the light's -Z becomes -Y (shining down).
			map[string]any{"name": "sun", "rotation": []any{-math.Sqrt2 / 2, 0, 0, math.Sqrt2 / 2},
				"extensions": map[string]any{"KHR_lights_punctual": map[string]any{"light": 0}}},
			map[string]any{"name": "bulb", "translation": []any{1, 2, 3},
				"extensions": map[string]any{"KHR_lights_punctual": map[string]any{"light": 1}}},
		}
		s := mustLoad(t, d.glb(t))
		if len(s.Lights) != 2 {
			t.Fatalf("lights %+v, want the file's 2", s.Lights)
		}
		sun, bulb := s.Lights[0], s.Lights[1]
		if sun.Type != Directional || !near(sun.Direction, mgl32.Vec3{0, -1, 0}, 1e-6) || sun.Intensity != 3 || sun.Color != (mgl32.Vec3{1, 0.5, 0}) {
			t.Errorf("sun %+v", sun)
		}
		if bulb.Type != Point || bulb.Position != (mgl32.Vec3{1, 2, 3}) || bulb.Intensity != 20 || bulb.Color != (mgl32.Vec3{1, 1, 1}) {
			t.Errorf("bulb %+v", bulb)
		}
		m := s.Materials[0]
		if !m.Unlit || !m.DoubleSided || m.Emissive != (mgl32.Vec3{0, 1, 0}) || m.Name != "glow" || m.Metallic != 1 || m.Roughness != 1 {
			t.Errorf("material %+v", m)
		}
	})
	t.Run("embedded PNG and JPEG textures", func(t *testing.T) {
		for _, format := range []string{"png", "jpeg"} {
			d := triangleDoc()
			img := image.NewRGBA(image.Rect(0, 0, 8, 4))
			for i := range img.Pix {
				img.Pix[i] = 255
			}
			for y := range 4 {
				for x := range 4 {
					img.Set(x, y, color.RGBA{255, 0, 0, 255}) // a red left half survives chroma subsampling
				}
			}
			var buf bytes.Buffer
			if format == "png" {
				_ = png.Encode(&buf, img)
			} else {
				_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95})
			}
			d.add("images", map[string]any{"bufferView": d.view(buf.Bytes(), 0), "mimeType": "image/" + format})
			d.add("textures", map[string]any{"source": 0})
			d.add("materials", map[string]any{"pbrMetallicRoughness": map[string]any{"baseColorTexture": map[string]any{"index": 0}}})
			prim := d.list("meshes")[0].(map[string]any)["primitives"].([]any)[0].(map[string]any)
			prim["material"] = 0
			prim["attributes"].(map[string]any)["TEXCOORD_0"] = d.floats("VEC2", 0, 0, 1, 0, 0, 1)
			s := mustLoad(t, d.glb(t))
			tex, ok := s.Materials[0].BaseColorTexture.(*image.NRGBA)
			if !ok || tex.Rect != image.Rect(0, 0, 8, 4) {
				t.Fatalf("%s: texture %T %v", format, s.Materials[0].BaseColorTexture, s.Materials[0].BaseColorTexture)
			}
			if c := tex.NRGBAAt(0, 0); c.R < 200 || c.G > 60 {
				t.Errorf("%s: top-left pixel %v, want red", format, c)
			}
			if len(s.Meshes[0].Primitives[0].UVs) != 3 {
				t.Errorf("%s: UVs not loaded", format)
			}
		}
	})
	t.Run("external files through fs.FS", func(t *testing.T) {
		d := triangleDoc()
		bin := d.bin
		d.finishBuffers("data%20dir/tri.bin")
		d.bin = nil
		js := d.gltf(t)
		fsys := fstest.MapFS{"data dir/tri.bin": {Data: bin}}
		if _, err := LoadReader(bytes.NewReader(js), "tri.gltf", fsys); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadReader(bytes.NewReader(js), "tri.gltf", nil); err == nil || !strings.Contains(err.Error(), "no directory") {
			t.Errorf("without fs: %v", err)
		}
	})
	t.Run("node names are made unique", func(t *testing.T) {
		d := triangleDoc()
		d.json["nodes"] = []any{
			map[string]any{"name": "a", "mesh": 0, "children": []any{1, 2, 3}},
			map[string]any{"name": "a"}, map[string]any{}, map[string]any{"mesh": 0},
		}
		d.list("meshes")[0].(map[string]any)["name"] = "m"
		s := mustLoad(t, d.glb(t))
		if got := strings.Join(s.NodeNames(), ","); got != "a,a.1,node2,m" {
			t.Errorf("node names %s", got)
		}
	})
}

// worldOf returns node n's world transform by walking the hierarchy.
func worldOf(s *Scene, n *Node) mgl32.Mat4 {
	parent := map[*Node]*Node{}
	for _, p := range s.Nodes {
		for _, c := range p.Children {
			parent[s.Nodes[c]] = p
		}
	}
	m := n.Local()
	for p := parent[n]; p != nil; p = parent[p] {
		m = p.Local().Mul4(m)
	}
	return m
}

func mustLoad(t *testing.T, data []byte) *Scene {
	t.Helper()
	s, err := LoadReader(bytes.NewReader(data), "test.glb", nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestLoadReaderBroken feeds malformed documents and containers; each must give its error.
func TestLoadReaderBroken(t *testing.T) {
	edit := func(f func(d *testDoc)) []byte {
		d := triangleDoc()
		f(d)
		return d.glb(t)
	}
	prim := func(d *testDoc) map[string]any {
		return d.list("meshes")[0].(map[string]any)["primitives"].([]any)[0].(map[string]any)
	}
	nanBytes := binary.LittleEndian.AppendUint32(nil, math.Float32bits(float32(math.NaN())))
	tests := []struct {
		name string
		data []byte
		want string
		also error
	}{
		{"empty", nil, "empty file", nil},
		{"not JSON", []byte("hello"), "invalid glTF JSON", nil},
		{"truncated GLB header", []byte("glTF\x02\x00\x00\x00"), "GLB header truncated", nil},
		{"GLB length lies", func() []byte {
			b := triangleDoc().glb(t)
			binary.LittleEndian.PutUint32(b[8:], uint32(len(b)+100))
			return b
		}(), "GLB header says", nil},
		{"GLB chunk length lies", func() []byte {
			b := triangleDoc().glb(t)
			binary.LittleEndian.PutUint32(b[12:], 1<<30)
			return b
		}(), "GLB chunk at byte 12", nil},
		{"GLB without BIN chunk", func() []byte {
			d := triangleDoc()
			d.finishBuffers("")
			js, _ := json.Marshal(d.json)
			return makeGLB(js, nil)
		}(), "BIN chunk, which is missing", nil},
		{"buffer larger than BIN chunk", edit(func(d *testDoc) {
			d.finishBuffers("")
			d.json["buffers"].([]any)[0].(map[string]any)["byteLength"] = 1 << 40
		}), "byteLength says", nil},
		{"no scene", edit(func(d *testDoc) { delete(d.json, "scenes") }), "no scene", nil},
		{"default scene out of range", edit(func(d *testDoc) { d.json["scene"] = 3 }), "default scene 3 does not exist", nil},
		{"root out of range", edit(func(d *testDoc) { d.json["scenes"] = []any{map[string]any{"nodes": []any{7}}} }), "scene root node 7 does not exist", nil},
		{"root listed twice", edit(func(d *testDoc) { d.json["scenes"] = []any{map[string]any{"nodes": []any{0, 0}}} }), "twice", nil},
		{"self-child", edit(func(d *testDoc) { d.list("nodes")[0].(map[string]any)["children"] = []any{0} }), "its own child", nil},
		{"cycle below the root", edit(func(d *testDoc) {
			d.list("nodes")[0].(map[string]any)["children"] = []any{1}
			d.add("nodes", map[string]any{"children": []any{2}})
			d.add("nodes", map[string]any{"children": []any{1}})
		}), "has two parents", nil},
		{"detached cycle", edit(func(d *testDoc) {
			d.add("nodes", map[string]any{"children": []any{2}})
			d.add("nodes", map[string]any{"children": []any{1}})
		}), "its own ancestor", nil},
		{"child out of range", edit(func(d *testDoc) { d.list("nodes")[0].(map[string]any)["children"] = []any{9} }), "child 9 does not exist", nil},
		{"too deep", edit(func(d *testDoc) {
			for i := range MaxNodeDepth + 1 {
				d.add("nodes", map[string]any{"children": []any{i + 2}})
			}
			d.add("nodes", map[string]any{})
			d.list("nodes")[0].(map[string]any)["children"] = []any{1}
		}), "levels deep", nil},
		{"no meshes", edit(func(d *testDoc) { delete(d.list("nodes")[0].(map[string]any), "mesh") }), "no triangle meshes", nil},
		{"mesh out of range", edit(func(d *testDoc) { d.list("nodes")[0].(map[string]any)["mesh"] = 4 }), "mesh 4 does not exist", nil},
		{"index out of range", edit(func(d *testDoc) { prim(d)["indices"] = d.indices(5123, 0, 1, 3) }), "index 2 is 3, out of range (3 vertices)", nil},
		{"accessor out of range", edit(func(d *testDoc) { prim(d)["indices"] = 42 }), "accessor 42 does not exist", nil},
		{"no POSITION", edit(func(d *testDoc) { prim(d)["attributes"] = map[string]any{} }), "no POSITION", nil},
		{"POSITION of wrong type", edit(func(d *testDoc) {
			prim(d)["attributes"] = map[string]any{"POSITION": d.floats("VEC2", 0, 0, 1, 0, 0, 1)}
		}), "type VEC2, want VEC3", nil},
		{"accessor overruns its view", edit(func(d *testDoc) {
			d.list("accessors")[0].(map[string]any)["count"] = 4
		}), "4 elements need 48 bytes", nil},
		{"view outside buffer", edit(func(d *testDoc) {
			d.list("bufferViews")[0].(map[string]any)["byteOffset"] = 1000
		}), "lies outside buffer 0", nil},
		{"bad component type", edit(func(d *testDoc) {
			d.list("accessors")[0].(map[string]any)["componentType"] = 5000
		}), "invalid componentType 5000", nil},
		{"float indices", edit(func(d *testDoc) {
			prim(d)["indices"] = d.floats("SCALAR", 0, 1, 2)
		}), "want an unsigned integer", nil},
		{"NaN position", edit(func(d *testDoc) {
			prim(d)["attributes"] = map[string]any{"POSITION": d.accessor(d.view(append(append([]byte(nil), nanBytes...), make([]byte, 32)...), 0), 5126, 3, "VEC3", nil)}
		}), "is NaN (not finite)", nil},
		{"infinite matrix", edit(func(d *testDoc) {
			d.list("nodes")[0].(map[string]any)["matrix"] = []any{1e39, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}
		}), "matrix is not finite", nil},
		{"infinite translation", edit(func(d *testDoc) {
			d.list("nodes")[0].(map[string]any)["translation"] = []any{0, -1e39, 0}
		}), "not finite", nil},
		{"zero quaternion", edit(func(d *testDoc) {
			d.list("nodes")[0].(map[string]any)["rotation"] = []any{0, 0, 1e-9, 0}
		}), "not a unit quaternion", nil},
		{"overflowing world transform", edit(func(d *testDoc) {
			d.list("nodes")[0].(map[string]any)["scale"] = []any{1e30, 1e30, 1e30}
			d.list("nodes")[0].(map[string]any)["children"] = []any{1}
			d.add("nodes", map[string]any{"mesh": 0, "scale": []any{1e30, 1e30, 1e30}})
		}), "not finite", nil},
		{"infinite material factor", edit(func(d *testDoc) {
			d.add("materials", map[string]any{"pbrMetallicRoughness": map[string]any{"roughnessFactor": 1e39}})
			prim(d)["material"] = 0
		}), "not finite", nil},
		{"texture out of range", edit(func(d *testDoc) {
			d.add("materials", map[string]any{"pbrMetallicRoughness": map[string]any{"baseColorTexture": map[string]any{"index": 3}}})
			prim(d)["material"] = 0
		}), "texture 3 does not exist", nil},
		{"corrupt PNG", edit(func(d *testDoc) {
			d.add("images", map[string]any{"bufferView": d.view([]byte("\x89PNG\r\n\x1a\nnot really"), 0), "mimeType": "image/png"})
			d.add("textures", map[string]any{"source": 0})
			d.add("materials", map[string]any{"pbrMetallicRoughness": map[string]any{"baseColorTexture": map[string]any{"index": 0}}})
			prim(d)["material"] = 0
		}), "image 0", nil},
		{"huge PNG", edit(func(d *testDoc) {
			d.add("images", map[string]any{"bufferView": d.view(hugePNGHeader(100000, 100000), 0), "mimeType": "image/png"})
			d.add("textures", map[string]any{"source": 0})
			d.add("materials", map[string]any{"pbrMetallicRoughness": map[string]any{"baseColorTexture": map[string]any{"index": 0}}})
			prim(d)["material"] = 0
		}), "100000x100000 pixels (limit 8192 per side)", nil},
		{"network URL", edit(func(d *testDoc) {
			d.finishBuffers("https://example.com/tri.bin")
		}), "is not a relative file", nil},
		{"path escaping the directory", edit(func(d *testDoc) {
			d.finishBuffers("../../etc/passwd")
		}), "leaves the model's directory", nil},
		{"absolute path", edit(func(d *testDoc) {
			d.finishBuffers("/etc/passwd")
		}), "leaves the model's directory", nil},
		{"bad base64", edit(func(d *testDoc) {
			d.finishBuffers("data:application/octet-stream;base64,!!!!")
		}), "bad base64", nil},
		{"required extension", edit(func(d *testDoc) { d.json["extensionsRequired"] = []any{"EXT_meshopt_compression"} }), "requires extension EXT_meshopt_compression", ErrUnsupportedModel},
		{"glTF 1.0", []byte(`{"asset":{"version":"1.0"},"accessors":{}}`), "glTF version 1.0", ErrUnsupportedModel},
		{"unknown light type", edit(func(d *testDoc) {
			d.json["extensions"] = map[string]any{"KHR_lights_punctual": map[string]any{"lights": []any{map[string]any{"type": "laser"}}}}
			d.list("nodes")[0].(map[string]any)["extensions"] = map[string]any{"KHR_lights_punctual": map[string]any{"light": 0}}
		}), `unknown type "laser"`, nil},
		{"light out of range", edit(func(d *testDoc) {
			d.list("nodes")[0].(map[string]any)["extensions"] = map[string]any{"KHR_lights_punctual": map[string]any{"light": 5}}
		}), "light 5 does not exist", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := LoadReader(bytes.NewReader(tt.data), "broken.glb", fstest.MapFS{})
			if err == nil {
				t.Fatalf("loaded %d nodes, want an error", len(s.Nodes))
			}
			if !errors.Is(err, ErrBadModel) || (tt.also != nil && !errors.Is(err, tt.also)) {
				t.Errorf("error %v does not wrap ErrBadModel (and %v)", err, tt.also)
			}
			if msg := err.Error(); !strings.Contains(msg, "broken.glb") || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q should name broken.glb and say %q", msg, tt.want)
			}
		})
	}
}

// hugePNGHeader returns the start of a PNG claiming the given size (no pixel data).
func hugePNGHeader(w, h uint32) []byte {
	var ihdr []byte
	ihdr = binary.BigEndian.AppendUint32(ihdr, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0)
	chunk := append([]byte("IHDR"), ihdr...)
	out := []byte("\x89PNG\r\n\x1a\n")
	out = binary.BigEndian.AppendUint32(out, uint32(len(ihdr)))
	out = append(out, chunk...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(chunk))
}

func TestLoadExternalFiles(t *testing.T) {
	// Load (not LoadReader) resolves external files next to the model and nowhere else.
	dir := t.TempDir()
	d := triangleDoc()
	bin := d.bin
	d.finishBuffers("tri.bin")
	d.bin = nil
	js := d.gltf(t)
	if err := os.WriteFile(filepath.Join(dir, "tri.gltf"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(filepath.Join(dir, "tri.gltf")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("without tri.bin: %v, want fs.ErrNotExist", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tri.bin"), bin, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load(filepath.Join(dir, "tri.gltf"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "tri" {
		t.Errorf("name %q", s.Name)
	}
	// A symbolic link out of the model's directory is refused too.
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "tri.bin"), filepath.Join(sub, "tri.bin")); err != nil {
		t.Skip(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "tri.gltf"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(filepath.Join(sub, "tri.gltf")); err == nil {
		t.Error("a symlink leaving the model's directory was followed")
	}
}
