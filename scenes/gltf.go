package scenes

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-gl/mathgl/mgl32"
	"github.com/qmuntal/gltf"
)

// Model size limits. A file or resource above them is rejected with ErrBadModel rather than
// exhausting memory; they are far above what a streamed scene needs.
const (
	// MaxModelBytes bounds a model file plus every buffer and image it references.
	MaxModelBytes = 1 << 30
	// MaxTextureSide bounds a base colour texture's width and height in pixels.
	MaxTextureSide = 8192
	// MaxNodeDepth bounds the node hierarchy's depth (Scene.Draws stops deeper).
	MaxNodeDepth = 64
)

// Extensions the loader understands, so a file may list them as required.
const (
	extUnlit        = "KHR_materials_unlit"
	extLights       = "KHR_lights_punctual"
	extQuantization = "KHR_mesh_quantization"
	extTexTransform = "KHR_texture_transform"
	extEmissiveStr  = "KHR_materials_emissive_strength"
	extIOR          = "KHR_materials_ior"
	extSpecular     = "KHR_materials_specular"
	extClearcoat    = "KHR_materials_clearcoat"
	extTransmission = "KHR_materials_transmission"
)

// knownExtensions may be listed in extensionsRequired.
var knownExtensions = []string{extUnlit, extLights, extQuantization, extTexTransform, extEmissiveStr,
	extIOR, extSpecular, extClearcoat, extTransmission}

// Load reads a glTF 2.0 model: a .gltf file (JSON) with its buffers and images embedded as
// data URIs or stored next to it, or a binary .glb file. It keeps the default scene (or
// scene 0): triangle meshes (positions, normals, TEXCOORD_0 and TEXCOORD_1, tangents
// (generated for normal-mapped materials when absent), COLOR_0, indices of any type;
// non-indexed primitives get generated indices; strips and fans are converted), the node
// hierarchy (TRS or matrix), PBR metallic-roughness materials (base colour, metallic-
// roughness, normal, occlusion and emissive textures in PNG or JPEG with their samplers and
// coordinate sets, alpha modes, double-sided) with KHR_texture_transform,
// KHR_materials_unlit, _emissive_strength, _ior, _specular, _clearcoat and _transmission,
// KHR_lights_punctual lights (directional, point, spot), and the first perspective camera.
// Textures in other formats, or past the texture memory limit (ModelOptions), are skipped
// with a warning (Scene.Warnings). A model without lights gets a three-light studio set-up; one
// without a camera is framed from the front right, slightly above. Animations (node
// translation, rotation, scale and morph weights; LINEAR, STEP and CUBICSPLINE), skins
// (JOINTS_0/WEIGHTS_0) and morph targets (POSITION and NORMAL deltas) are read; broken ones
// are skipped with a warning and the model shows its rest pose (see Scene.ApplyAnimations).
//
// Every failure returns a *ModelError naming the file and wrapping ErrBadModel with the
// problem: missing or unreadable files (also fs.ErrNotExist and friends), malformed JSON or
// GLB, indices or references out of range, missing buffers, non-finite numbers, cyclic node
// graphs, no scene, no triangle meshes, or a required extension the loader lacks (also
// ErrUnsupportedModel). Load never panics on bad input.
func Load(path string) (*Scene, error) { return LoadWith(path, ModelOptions{}) }

// LoadReader decodes a glTF 2.0 model (JSON or GLB) from r, like Load. name labels the
// scene and errors. fsys resolves relative URIs of external buffers and images (nil: only
// embedded data is allowed); URIs never leave it, and network URLs are refused.
func LoadReader(r io.Reader, name string, fsys fs.FS) (*Scene, error) {
	return LoadReaderWith(r, name, fsys, ModelOptions{})
}

// DefaultMaxTextureBytes is ModelOptions.MaxTextureBytes's default: 512 MiB of decoded
// texture pixels (4 bytes each) per scene.
const DefaultMaxTextureBytes = 512 << 20

// ModelOptions tune how LoadWith treats a model's textures. The zero value gives the
// defaults.
type ModelOptions struct {
	// MaxTextureSide is the largest texture width or height accepted; a larger image makes
	// the load fail (its header is checked before decoding). 0 or more than MaxTextureSide
	// means MaxTextureSide. The renderer further skips textures over its GPU's limit.
	MaxTextureSide int
	// MaxTextureBytes bounds the decoded texture memory of one scene (width x height x 4
	// bytes per image); images past it are skipped with a warning and their materials
	// render untextured. 0 means DefaultMaxTextureBytes.
	MaxTextureBytes int64
	// Logger receives one warning per problem the loader works around (a texture skipped,
	// a sampler enum replaced); nil discards them. The same texts are kept in
	// Scene.Warnings either way.
	Logger *slog.Logger
}

// modelLimits bounds the memory one decode may use.
type modelLimits struct {
	bytes        int64 // input, buffers, images and decoded arrays together
	textureSide  int
	textureBytes int64 // decoded texture pixels
}

func defaultModelLimits() modelLimits { return ModelOptions{}.limits() }

func (o ModelOptions) limits() modelLimits {
	lim := modelLimits{bytes: MaxModelBytes, textureSide: MaxTextureSide, textureBytes: DefaultMaxTextureBytes}
	if o.MaxTextureSide > 0 && o.MaxTextureSide < MaxTextureSide {
		lim.textureSide = o.MaxTextureSide
	}
	if o.MaxTextureBytes > 0 {
		lim.textureBytes = o.MaxTextureBytes
	}
	return lim
}

// LoadWith is Load with options: texture limits and where warnings go.
func LoadWith(path string, o ModelOptions) (*Scene, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &ModelError{Path: path, Err: fmt.Errorf("%w: %w", ErrBadModel, err)}
	}
	defer f.Close()
	root, err := os.OpenRoot(filepath.Dir(path))
	if err != nil {
		return nil, &ModelError{Path: path, Err: fmt.Errorf("%w: %w", ErrBadModel, err)}
	}
	defer root.Close()
	base := filepath.Base(path)
	s, err := decodeModel(f, root.FS(), o.limits())
	if err != nil {
		return nil, &ModelError{Path: path, Err: err}
	}
	s.Name = strings.TrimSuffix(base, filepath.Ext(base))
	logWarnings(o.Logger, path, s.Warnings)
	return s, nil
}

// LoadReaderWith is LoadReader with options.
func LoadReaderWith(r io.Reader, name string, fsys fs.FS, o ModelOptions) (*Scene, error) {
	s, err := decodeModel(r, fsys, o.limits())
	if err != nil {
		return nil, &ModelError{Path: name, Err: err}
	}
	s.Name = strings.TrimSuffix(name, filepath.Ext(name))
	logWarnings(o.Logger, name, s.Warnings)
	return s, nil
}

func logWarnings(log *slog.Logger, path string, warnings []string) {
	if log == nil {
		return
	}
	for _, w := range warnings {
		log.Warn("scenes: model loaded with a problem worked around", "model", path, "problem", w)
	}
}

// bad formats a problem found in a model; decodeModel wraps it in ErrBadModel.
func bad(format string, args ...any) error { return fmt.Errorf(format, args...) }

// unsupported formats a problem that wraps ErrUnsupportedModel.
func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsupportedModel}, args...)...)
}

// decodeModel turns the bytes of a model into a Scene; every error wraps ErrBadModel.
// Panics in the JSON decoding or in this code (a bug: bad input must give errors) are
// turned into errors.
func decodeModel(r io.Reader, fsys fs.FS, lim modelLimits) (s *Scene, err error) {
	defer func() {
		if p := recover(); p != nil {
			s, err = nil, fmt.Errorf("%w: %v", errLoaderPanic, p)
		}
		if err != nil {
			err = fmt.Errorf("%w: %w", ErrBadModel, err)
		}
	}()
	return decodeModelBytes(r, fsys, lim)
}

func decodeModelBytes(r io.Reader, fsys fs.FS, lim modelLimits) (*Scene, error) {
	data, err := io.ReadAll(io.LimitReader(r, lim.bytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > lim.bytes {
		return nil, bad("larger than %d bytes", lim.bytes)
	}
	l := &gltfLoader{fsys: fsys, lim: lim, budget: lim.bytes - int64(len(data))}
	jsonData := data
	if len(data) >= 4 && string(data[:4]) == "glTF" {
		jsonData, l.bin, err = splitGLB(data)
		if err != nil {
			return nil, err
		}
		l.glb = true
	}
	jsonData = bytes.TrimPrefix(jsonData, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(jsonData)) == 0 {
		return nil, bad("empty file")
	}
	if err := checkVersion(jsonData); err != nil {
		return nil, err
	}
	if err := checkComponentTypes(jsonData); err != nil {
		return nil, err
	}
	doc := new(gltf.Document)
	if err := json.Unmarshal(jsonData, doc); err != nil {
		return nil, bad("invalid glTF JSON: %v", err)
	}
	l.doc = doc
	l.warned = map[string]bool{}
	l.s = &Scene{}
	l.checkSamplers(jsonData)
	return l.scene()
}

// splitGLB returns the JSON and BIN chunks of a GLB container (version 2).
func splitGLB(data []byte) (jsonChunk, bin []byte, err error) {
	if len(data) < 20 {
		return nil, nil, bad("GLB header truncated (%d bytes)", len(data))
	}
	le := binary.LittleEndian
	if v := le.Uint32(data[4:]); v != 2 {
		return nil, nil, unsupported("GLB version %d (want 2)", v)
	}
	total := uint64(le.Uint32(data[8:]))
	if total > uint64(len(data)) {
		return nil, nil, bad("GLB header says %d bytes, file has %d", total, len(data))
	}
	data = data[:total]
	off := uint64(12)
	for off+8 <= total {
		n, typ := uint64(le.Uint32(data[off:])), le.Uint32(data[off+4:])
		off += 8
		if n > total-off {
			return nil, nil, bad("GLB chunk at byte %d says %d bytes, only %d remain", off-8, n, total-off)
		}
		chunk := data[off : off+n]
		off += n
		switch {
		case typ == 0x4E4F534A && jsonChunk == nil: // "JSON"
			jsonChunk = chunk
		case typ == 0x004E4942 && bin == nil && jsonChunk != nil: // "BIN\0"
			bin = chunk
		case jsonChunk == nil:
			return nil, nil, bad("GLB does not start with a JSON chunk")
		}
		// Other chunk types are skipped, as the specification asks.
	}
	if jsonChunk == nil {
		return nil, nil, bad("GLB has no JSON chunk")
	}
	return jsonChunk, bin, nil
}

// checkVersion recognises glTF 1.0 files (whose JSON the 2.0 decoder would reject with a
// confusing type error) and reports them as unsupported.
func checkVersion(jsonData []byte) error {
	var raw struct {
		Asset struct {
			Version json.RawMessage `json:"version"`
		} `json:"asset"`
	}
	if json.Unmarshal(jsonData, &raw) != nil {
		return nil
	}
	v := strings.Trim(string(raw.Asset.Version), `"`)
	if v == "1" || strings.HasPrefix(v, "1.") {
		return unsupported("glTF version %s (only 2.x is supported)", v)
	}
	return nil
}

// checkComponentTypes catches accessor component types the gltf package would silently map
// to FLOAT.
func checkComponentTypes(jsonData []byte) error {
	var raw struct {
		Accessors []struct {
			ComponentType int `json:"componentType"`
			Sparse        *struct {
				Indices struct {
					ComponentType int `json:"componentType"`
				} `json:"indices"`
			} `json:"sparse"`
		} `json:"accessors"`
	}
	if json.Unmarshal(jsonData, &raw) != nil {
		return nil // the full decode reports the problem with more context
	}
	valid := func(c int) bool { return c >= 5120 && c <= 5126 && c != 5124 }
	for i, a := range raw.Accessors {
		if !valid(a.ComponentType) {
			return bad("accessor %d: invalid componentType %d", i, a.ComponentType)
		}
		if a.Sparse != nil && !valid(a.Sparse.Indices.ComponentType) {
			return bad("accessor %d: invalid sparse indices componentType %d", i, a.Sparse.Indices.ComponentType)
		}
	}
	return nil
}

// gltfLoader holds the state of one decode.
type gltfLoader struct {
	doc    *gltf.Document
	fsys   fs.FS
	lim    modelLimits
	budget int64 // bytes left to allocate
	glb    bool
	bin    []byte

	buffers map[int][]byte
	images  map[int]image.Image
	// imageSkips says why an image in images is nil.
	imageSkips map[int]string
	texBytes   int64 // decoded texture pixels so far
	// rawSamplers are the samplers with their enums checked (checkSamplers).
	rawSamplers []Sampler
	warned      map[string]bool
	meshes      map[int]int // glTF mesh -> Scene.Meshes index
	materials   map[int]int // glTF material -> Scene.Materials index
	sceneNode   map[int]int // glTF node -> Scene.Nodes index
	skins       map[int]*Skin
	s           *Scene
}

// spend reserves n bytes of the memory budget.
func (l *gltfLoader) spend(n int64, what string) error {
	if n < 0 || n > l.budget {
		return bad("%s needs %d bytes, over the %d-byte model limit", what, n, l.lim.bytes)
	}
	l.budget -= n
	return nil
}

func (l *gltfLoader) scene() (*Scene, error) {
	doc := l.doc
	if v := doc.Asset.Version; !strings.HasPrefix(v, "2.") {
		return nil, unsupported("glTF version %q (only 2.x is supported)", v)
	}
	for _, e := range doc.ExtensionsRequired {
		if !slices.Contains(knownExtensions, e) {
			return nil, unsupported("requires extension %s", e)
		}
	}
	si := 0
	if doc.Scene != nil {
		si = *doc.Scene
	}
	if len(doc.Scenes) == 0 {
		return nil, bad("no scene")
	}
	if si < 0 || si >= len(doc.Scenes) {
		return nil, bad("default scene %d does not exist (%d scenes)", si, len(doc.Scenes))
	}
	roots := doc.Scenes[si].Nodes
	if len(roots) == 0 {
		return nil, bad("scene %d has no nodes", si)
	}
	if err := l.checkNodeGraph(roots); err != nil {
		return nil, err
	}
	l.buffers = map[int][]byte{}
	l.images = map[int]image.Image{}
	l.imageSkips = map[int]string{}
	l.meshes = map[int]int{}
	l.materials = map[int]int{}
	l.sceneNode = map[int]int{}
	l.s = &Scene{Background: demoBackground(), Ambient: studioAmbient(), Warnings: l.s.Warnings}

	// The walk from the roots visits each node once: the graph is a forest.
	var cams, lightNodes []nodeAt
	stack := make([]nodeAt, 0, len(roots))
	for i := len(roots) - 1; i >= 0; i-- {
		stack = append(stack, nodeAt{gi: roots[i], parent: -1, world: mgl32.Ident4()})
	}
	used := map[string]int{}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if it.depth > MaxNodeDepth {
			return nil, bad("node %d is %d levels deep (limit %d)", it.gi, it.depth, MaxNodeDepth)
		}
		gn := doc.Nodes[it.gi]
		n, err := l.node(it.gi, gn)
		if err != nil {
			return nil, err
		}
		n.Name = uniqueName(n.Name, it.gi, used)
		idx := len(l.s.Nodes)
		l.s.Nodes = append(l.s.Nodes, n)
		l.sceneNode[it.gi] = idx
		if it.parent < 0 {
			l.s.Roots = append(l.s.Roots, idx)
		} else {
			l.s.Nodes[it.parent].Children = append(l.s.Nodes[it.parent].Children, idx)
		}
		world := it.world.Mul4(n.Local())
		if !finiteMat(world) {
			return nil, bad("node %d: world transform is not finite", it.gi)
		}
		if gn.Camera != nil {
			cams = append(cams, nodeAt{gi: it.gi, world: world})
		}
		if _, ok := gn.Extensions[extLights]; ok {
			lightNodes = append(lightNodes, nodeAt{gi: it.gi, world: world})
		}
		for c := len(gn.Children) - 1; c >= 0; c-- {
			stack = append(stack, nodeAt{gi: gn.Children[c], parent: idx, depth: it.depth + 1, world: world})
		}
	}
	if err := l.animate(); err != nil {
		return nil, err
	}
	triangles := 0
	for _, m := range l.s.Meshes {
		for _, p := range m.Primitives {
			triangles += len(p.Indices) / 3
		}
	}
	if triangles == 0 {
		return nil, bad("scene %d has no triangle meshes (points and lines are not drawn)", si)
	}
	bounds := l.s.Bounds()
	if bounds.Empty() || !finiteVec3(bounds.Min) || !finiteVec3(bounds.Max) {
		return nil, bad("scene %d: geometry bounds are not finite", si)
	}
	if err := l.lights(lightNodes); err != nil {
		return nil, err
	}
	if len(l.s.Lights) == 0 {
		l.s.Lights = studioLights(bounds.Center(), max(bounds.Radius(), 1e-3))
	}
	l.s.Camera = FrameBounds(bounds, 30, 20, 45)
	for _, c := range cams {
		if cam, ok := l.camera(c.gi, c.world, bounds); ok {
			l.s.Camera = cam
			break
		}
	}
	return l.s, nil
}

// nodeAt is a glTF node on the walk from the scene roots: its index, the Scene index of its
// parent (-1 for a root), its depth and, once known, its world transform.
type nodeAt struct {
	gi, parent, depth int
	world             mgl32.Mat4
}

// uniqueName gives every node a distinct, non-empty name: the glTF name, or "node<i>" (i is
// the glTF node index), with ".<i>" appended when the name is already taken.
func uniqueName(name string, gi int, used map[string]int) string {
	if name == "" {
		name = fmt.Sprintf("node%d", gi)
	}
	if _, taken := used[name]; taken {
		name = fmt.Sprintf("%s.%d", name, gi)
	}
	for _, taken := used[name]; taken; _, taken = used[name] {
		name += "_"
	}
	used[name] = gi
	return name
}

// checkNodeGraph verifies that the nodes form a forest (no node with two parents, no cycle)
// with every index in range, and that the roots are distinct top-level nodes.
func (l *gltfLoader) checkNodeGraph(roots []int) error {
	nodes := l.doc.Nodes
	parent := make([]int, len(nodes))
	for i := range parent {
		parent[i] = -1
	}
	for i, n := range nodes {
		if n == nil {
			return bad("node %d is null", i)
		}
		for _, c := range n.Children {
			if c < 0 || c >= len(nodes) {
				return bad("node %d: child %d does not exist (%d nodes)", i, c, len(nodes))
			}
			if c == i {
				return bad("node %d is its own child (recursive nodes)", i)
			}
			if parent[c] >= 0 {
				return bad("node %d has two parents (%d and %d)", c, parent[c], i)
			}
			parent[c] = i
		}
	}
	seen := make([]bool, len(nodes))
	for _, r := range roots {
		if r < 0 || r >= len(nodes) {
			return bad("scene root node %d does not exist (%d nodes)", r, len(nodes))
		}
		if parent[r] >= 0 {
			return bad("scene root node %d is also a child of node %d", r, parent[r])
		}
		if seen[r] {
			return bad("scene lists root node %d twice", r)
		}
		seen[r] = true
	}
	// One parent per node makes the graph a set of chains upwards; follow each chain once,
	// marking nodes in progress, so a cycle anywhere is found in linear time.
	state := make([]int8, len(nodes)) // 0 unvisited, 1 on the current chain, 2 done
	for i := range nodes {
		var chain []int
		j := i
		for j >= 0 && state[j] == 0 {
			state[j] = 1
			chain = append(chain, j)
			j = parent[j]
		}
		if j >= 0 && state[j] == 1 {
			return bad("node %d is its own ancestor (recursive nodes)", j)
		}
		for _, k := range chain {
			state[k] = 2
		}
	}
	return nil
}

// node converts a glTF node; its children are attached by the caller.
func (l *gltfLoader) node(gi int, gn *gltf.Node) (*Node, error) {
	n := NewNode(gn.Name, -1)
	if gn.Matrix != gltf.DefaultMatrix && gn.Matrix != [16]float64{} {
		var m mgl32.Mat4
		for i, v := range gn.Matrix {
			m[i] = float32(v)
		}
		if !finiteMat(m) {
			return nil, bad("node %d: matrix is not finite", gi)
		}
		n.Matrix = &m
	} else {
		t, r, sc := gn.TranslationOrDefault(), gn.RotationOrDefault(), gn.ScaleOrDefault()
		n.Translation = mgl32.Vec3{float32(t[0]), float32(t[1]), float32(t[2])}
		n.Scale = mgl32.Vec3{float32(sc[0]), float32(sc[1]), float32(sc[2])}
		q := mgl32.Quat{W: float32(r[3]), V: mgl32.Vec3{float32(r[0]), float32(r[1]), float32(r[2])}}
		if !finiteVec3(n.Translation) || !finiteVec3(n.Scale) || !finiteVec3(q.V) || !finite32(q.W) {
			return nil, bad("node %d: translation, rotation or scale is not finite", gi)
		}
		if ql := q.Len(); ql < 1e-6 {
			return nil, bad("node %d: rotation %v is not a unit quaternion", gi, r)
		}
		n.Rotation = q.Normalize()
	}
	if gn.Mesh != nil {
		mi, err := l.mesh(*gn.Mesh)
		if err != nil {
			return nil, err
		}
		n.Mesh = mi
		if n.Name == "" {
			n.Name = l.s.Meshes[mi].Name
		}
	}
	return n, nil
}

// mesh converts glTF mesh gi once and returns its Scene.Meshes index.
func (l *gltfLoader) mesh(gi int) (int, error) {
	if i, ok := l.meshes[gi]; ok {
		return i, nil
	}
	if gi < 0 || gi >= len(l.doc.Meshes) || l.doc.Meshes[gi] == nil {
		return 0, bad("mesh %d does not exist (%d meshes)", gi, len(l.doc.Meshes))
	}
	gm := l.doc.Meshes[gi]
	m := &Mesh{Name: gm.Name}
	for pi, gp := range gm.Primitives {
		if gp == nil {
			return 0, bad("mesh %d primitive %d is null", gi, pi)
		}
		p, ok, err := l.primitive(gp)
		if err != nil {
			if gm.Name != "" {
				return 0, fmt.Errorf("mesh %d (%q) primitive %d: %w", gi, gm.Name, pi, err)
			}
			return 0, fmt.Errorf("mesh %d primitive %d: %w", gi, pi, err)
		}
		if ok {
			m.Primitives = append(m.Primitives, p)
		}
	}
	l.s.Meshes = append(l.s.Meshes, m)
	l.meshes[gi] = len(l.s.Meshes) - 1
	return len(l.s.Meshes) - 1, nil
}

// primitive converts a glTF primitive; ok is false for points and lines (skipped).
func (l *gltfLoader) primitive(gp *gltf.Primitive) (p Primitive, ok bool, err error) {
	switch gp.Mode {
	case gltf.PrimitiveTriangles, gltf.PrimitiveTriangleStrip, gltf.PrimitiveTriangleFan:
	default:
		return p, false, nil
	}
	if _, draco := gp.Extensions["KHR_draco_mesh_compression"]; draco {
		return p, false, unsupported("Draco-compressed geometry")
	}
	pa, has := gp.Attributes[gltf.POSITION]
	if !has {
		return p, false, bad("no POSITION attribute")
	}
	pos, err := l.readVec(pa, gltf.AccessorVec3, "POSITION")
	if err != nil {
		return p, false, err
	}
	nv := len(pos) / 3
	p.Positions = toVec3(pos)
	p.Material = -1
	var mat *Material
	if gp.Material != nil {
		mi, err := l.material(*gp.Material)
		if err != nil {
			return p, false, err
		}
		p.Material, mat = mi, l.s.Materials[mi]
	}
	if na, has := gp.Attributes[gltf.NORMAL]; has {
		nrm, err := l.readVec(na, gltf.AccessorVec3, "NORMAL")
		if err != nil {
			return p, false, err
		}
		if len(nrm)/3 != nv {
			return p, false, bad("NORMAL has %d elements, POSITION %d", len(nrm)/3, nv)
		}
		p.Normals = toVec3(nrm)
	}
	for set, dst := range []*[]mgl32.Vec2{&p.UVs, &p.UVs1} {
		name := fmt.Sprintf("TEXCOORD_%d", set)
		ta, has := gp.Attributes[name]
		if !has {
			continue
		}
		uv, err := l.readVec(ta, gltf.AccessorVec2, name)
		if err != nil {
			return p, false, err
		}
		if len(uv)/2 != nv {
			return p, false, bad("%s has %d elements, POSITION %d", name, len(uv)/2, nv)
		}
		*dst = make([]mgl32.Vec2, nv)
		for i := range *dst {
			(*dst)[i] = mgl32.Vec2{uv[2*i], uv[2*i+1]}
		}
	}
	if ca, has := gp.Attributes["COLOR_0"]; has {
		if p.Colors, err = l.readColors(ca, nv); err != nil {
			return p, false, err
		}
	}
	if ta, has := gp.Attributes[gltf.TANGENT]; has && mat != nil && mat.NormalTexture != nil {
		tan, err := l.readVec(ta, gltf.AccessorVec4, "TANGENT")
		if err != nil {
			return p, false, err
		}
		if len(tan)/4 != nv {
			return p, false, bad("TANGENT has %d elements, POSITION %d", len(tan)/4, nv)
		}
		p.Tangents = make([]mgl32.Vec4, nv)
		for i := range p.Tangents {
			t := mgl32.Vec3{tan[4*i], tan[4*i+1], tan[4*i+2]}
			w := float32(1)
			if tan[4*i+3] < 0 {
				w = -1
			}
			if l := t.Len(); l > 1e-12 {
				t = t.Mul(1 / l)
			} else {
				t = mgl32.Vec3{1, 0, 0}
			}
			p.Tangents[i] = t.Vec4(w)
		}
	}
	var idx []uint32
	if gp.Indices != nil {
		if idx, err = l.readIndices(*gp.Indices); err != nil {
			return p, false, err
		}
		for i, v := range idx {
			if int(v) >= nv {
				return p, false, bad("index %d is %d, out of range (%d vertices)", i, v, nv)
			}
		}
	} else {
		if err := l.spend(int64(nv)*4, "generated indices"); err != nil {
			return p, false, err
		}
		idx = make([]uint32, nv)
		for i := range idx {
			idx[i] = uint32(i)
		}
	}
	if p.Indices, err = l.triangles(gp.Mode, idx); err != nil {
		return p, false, err
	}
	if p.Normals != nil {
		repairNormals(&p)
	}
	if err := l.deformData(gp, &p, nv); err != nil {
		return p, false, err
	}
	if mat != nil && mat.NormalTexture != nil && p.Tangents == nil {
		uvs := p.UVs
		if mat.NormalTexture.TexCoord == 1 {
			uvs = p.UVs1
		}
		if uvs != nil {
			if err := l.spend(int64(nv)*16*3, "generated tangents"); err != nil {
				return p, false, err
			}
			p.Tangents = GenerateTangents(&p, uvs)
		}
	}
	return p, len(p.Indices) > 0, nil
}

// triangles turns indices of the given mode into a triangle list.
func (l *gltfLoader) triangles(mode gltf.PrimitiveMode, idx []uint32) ([]uint32, error) {
	switch mode {
	case gltf.PrimitiveTriangles:
		if len(idx)%3 != 0 {
			return nil, bad("%d triangle vertices, not a multiple of 3", len(idx))
		}
		return idx, nil
	case gltf.PrimitiveTriangleStrip, gltf.PrimitiveTriangleFan:
		if len(idx) < 3 {
			return nil, nil
		}
		if err := l.spend(int64(len(idx)-2)*12, "triangle list"); err != nil {
			return nil, err
		}
		out := make([]uint32, 0, 3*(len(idx)-2))
		for i := 2; i < len(idx); i++ {
			switch {
			case mode == gltf.PrimitiveTriangleFan:
				out = append(out, idx[0], idx[i-1], idx[i])
			case i%2 == 0:
				out = append(out, idx[i-2], idx[i-1], idx[i])
			default: // keep the winding of odd strip triangles
				out = append(out, idx[i-1], idx[i-2], idx[i])
			}
		}
		return out, nil
	}
	return nil, nil
}

// repairNormals normalises normals and replaces zero-length ones with the area-weighted
// normal of the triangles around the vertex (or +Y for a vertex no triangle uses).
func repairNormals(p *Primitive) {
	var broken []int
	for i, n := range p.Normals {
		if l := n.Len(); l > 1e-12 {
			p.Normals[i] = n.Mul(1 / l)
		} else {
			broken = append(broken, i)
		}
	}
	if len(broken) == 0 {
		return
	}
	acc := make(map[uint32]mgl32.Vec3, len(broken))
	for _, i := range broken {
		acc[uint32(i)] = mgl32.Vec3{}
	}
	for t := 0; t+2 < len(p.Indices); t += 3 {
		a, b, c := p.Indices[t], p.Indices[t+1], p.Indices[t+2]
		g := p.Positions[b].Sub(p.Positions[a]).Cross(p.Positions[c].Sub(p.Positions[a]))
		for _, v := range [3]uint32{a, b, c} {
			if n, ok := acc[v]; ok {
				acc[v] = n.Add(g)
			}
		}
	}
	for v, n := range acc {
		if l := n.Len(); l > 1e-20 && finite32(l) {
			p.Normals[v] = n.Mul(1 / l)
		} else {
			p.Normals[v] = mgl32.Vec3{0, 1, 0}
		}
	}
}

func toVec3(f []float32) []mgl32.Vec3 {
	out := make([]mgl32.Vec3, len(f)/3)
	for i := range out {
		out[i] = mgl32.Vec3{f[3*i], f[3*i+1], f[3*i+2]}
	}
	return out
}

// material converts glTF material gi once and returns its Scene.Materials index.
func (l *gltfLoader) material(gi int) (int, error) {
	if gi < 0 || gi >= len(l.doc.Materials) || l.doc.Materials[gi] == nil {
		return 0, bad("material %d does not exist (%d materials)", gi, len(l.doc.Materials))
	}
	if i, ok := l.materials[gi]; ok {
		return i, nil
	}
	gm := l.doc.Materials[gi]
	m := &Material{Name: gm.Name, BaseColor: mgl32.Vec4{1, 1, 1, 1}, Metallic: 1, Roughness: 1,
		DoubleSided: gm.DoubleSided, NormalScale: 1, OcclusionStrength: 1, AlphaCutoff: 0.5}
	if m.Name == "" {
		m.Name = fmt.Sprintf("material%d", gi)
	}
	what := fmt.Sprintf("material %d", gi)
	if pbr := gm.PBRMetallicRoughness; pbr != nil {
		c := pbr.BaseColorFactorOrDefault()
		m.BaseColor = mgl32.Vec4{float32(c[0]), float32(c[1]), float32(c[2]), float32(c[3])}
		m.Metallic = float32(pbr.MetallicFactorOrDefault())
		m.Roughness = float32(pbr.RoughnessFactorOrDefault())
		if t := pbr.BaseColorTexture; t != nil {
			tex, err := l.textureRef(t.Index, t.TexCoord, t.Extensions, what+" base colour texture")
			if err != nil {
				return 0, err
			}
			if tex != nil {
				m.BaseColorTexture, m.BaseColorInfo = tex.Image, tex.TextureInfo
			}
		}
		if t := pbr.MetallicRoughnessTexture; t != nil {
			var err error
			if m.MetallicRoughnessTexture, err = l.textureRef(t.Index, t.TexCoord, t.Extensions, what+" metallic-roughness texture"); err != nil {
				return 0, err
			}
		}
	}
	if t := gm.NormalTexture; t != nil && t.Index != nil {
		var err error
		if m.NormalTexture, err = l.textureRef(*t.Index, t.TexCoord, t.Extensions, what+" normal texture"); err != nil {
			return 0, err
		}
		m.NormalScale = float32(t.ScaleOrDefault())
	}
	if t := gm.OcclusionTexture; t != nil && t.Index != nil {
		var err error
		if m.OcclusionTexture, err = l.textureRef(*t.Index, t.TexCoord, t.Extensions, what+" occlusion texture"); err != nil {
			return 0, err
		}
		m.OcclusionStrength = float32(t.StrengthOrDefault())
	}
	if t := gm.EmissiveTexture; t != nil {
		var err error
		if m.EmissiveTexture, err = l.textureRef(t.Index, t.TexCoord, t.Extensions, what+" emissive texture"); err != nil {
			return 0, err
		}
	}
	e := gm.EmissiveFactor
	m.Emissive = mgl32.Vec3{float32(e[0]), float32(e[1]), float32(e[2])}
	_, m.Unlit = gm.Extensions[extUnlit]
	switch gm.AlphaMode {
	case gltf.AlphaMask:
		m.AlphaMode = AlphaMask
		m.AlphaCutoff = float32(gm.AlphaCutoffOrDefault())
	case gltf.AlphaBlend:
		m.AlphaMode = AlphaBlend
	}
	if err := l.materialExtensions(gm, m, what); err != nil {
		return 0, err
	}
	if !finiteVec3(m.BaseColor.Vec3()) || !finite32(m.BaseColor[3]) || !finite32(m.Metallic) ||
		!finite32(m.Roughness) || !finiteVec3(m.Emissive) || !finite32(m.NormalScale) ||
		!finite32(m.OcclusionStrength) || !finite32(m.AlphaCutoff) {
		return 0, bad("material %d: a factor is not finite", gi)
	}
	for i := range 4 {
		m.BaseColor[i] = mgl32.Clamp(m.BaseColor[i], 0, 1)
	}
	m.Metallic, m.Roughness = mgl32.Clamp(m.Metallic, 0, 1), mgl32.Clamp(m.Roughness, 0, 1)
	m.OcclusionStrength = mgl32.Clamp(m.OcclusionStrength, 0, 1)
	for i := range 3 {
		m.Emissive[i] = max(m.Emissive[i], 0)
	}
	l.s.Materials = append(l.s.Materials, m)
	l.materials[gi] = len(l.s.Materials) - 1
	return len(l.s.Materials) - 1, nil
}

// materialExtensions reads the KHR_materials_* extensions the renderer draws into m.
func (l *gltfLoader) materialExtensions(gm *gltf.Material, m *Material, what string) error {
	var es struct {
		EmissiveStrength *float64     `json:"emissiveStrength"`
		IOR              *float64     `json:"ior"`
		SpecularFactor   *float64     `json:"specularFactor"`
		Clearcoat        *float64     `json:"clearcoatFactor"`
		ClearcoatRough   *float64     `json:"clearcoatRoughnessFactor"`
		Transmission     *float64     `json:"transmissionFactor"`
		ClearcoatTex     *textureJSON `json:"clearcoatTexture"`
		ClearcoatRoughTx *textureJSON `json:"clearcoatRoughnessTexture"`
		TransmissionTex  *textureJSON `json:"transmissionTexture"`
	}
	for _, name := range []string{extEmissiveStr, extIOR, extSpecular, extClearcoat, extTransmission} {
		v, ok := gm.Extensions[name]
		if !ok {
			continue
		}
		if err := extensionJSON(v, &es); err != nil {
			l.warn("%s: malformed %s ignored: %v", what, name, err)
			continue
		}
		if name == extSpecular {
			var sc struct {
				Color *[3]float64 `json:"specularColorFactor"`
			}
			if err := extensionJSON(v, &sc); err != nil {
				l.warn("%s: malformed %s ignored: %v", what, name, err)
				continue
			}
			m.Specular = &Specular{Factor: 1, Color: mgl32.Vec3{1, 1, 1}}
			if es.SpecularFactor != nil {
				m.Specular.Factor = float32(*es.SpecularFactor)
			}
			if sc.Color != nil {
				m.Specular.Color = mgl32.Vec3{float32(sc.Color[0]), float32(sc.Color[1]), float32(sc.Color[2])}
			}
		}
	}
	num := func(p *float64, def float64, lo, hi float32, name string) (float32, error) {
		if p == nil {
			return float32(def), nil
		}
		v := float32(*p)
		if !finite32(v) {
			return 0, bad("%s: %s is not finite", what, name)
		}
		return mgl32.Clamp(v, lo, hi), nil
	}
	var err error
	if es.EmissiveStrength != nil {
		var k float32
		if k, err = num(es.EmissiveStrength, 1, 0, 1e6, "emissiveStrength"); err != nil {
			return err
		}
		m.Emissive = m.Emissive.Mul(k)
	}
	if es.IOR != nil {
		if m.IOR, err = num(es.IOR, 1.5, 1, 10, "ior"); err != nil {
			return err
		}
	}
	if m.Clearcoat, err = num(es.Clearcoat, 0, 0, 1, "clearcoatFactor"); err != nil {
		return err
	}
	if m.ClearcoatRoughness, err = num(es.ClearcoatRough, 0, 0, 1, "clearcoatRoughnessFactor"); err != nil {
		return err
	}
	if m.Transmission, err = num(es.Transmission, 0, 0, 1, "transmissionFactor"); err != nil {
		return err
	}
	for _, t := range []struct {
		ref  *textureJSON
		dst  **Texture
		name string
	}{
		{es.ClearcoatTex, &m.ClearcoatTexture, "clearcoat texture"},
		{es.ClearcoatRoughTx, &m.ClearcoatRoughnessTexture, "clearcoat roughness texture"},
		{es.TransmissionTex, &m.TransmissionTexture, "transmission texture"},
	} {
		if t.ref == nil {
			continue
		}
		if *t.dst, err = l.textureRef(t.ref.Index, t.ref.TexCoord, t.ref.Extensions, what+" "+t.name); err != nil {
			return err
		}
	}
	if sp := m.Specular; sp != nil {
		if !finite32(sp.Factor) || !finiteVec3(sp.Color) {
			return bad("%s: specular factor or colour is not finite", what)
		}
		sp.Factor = mgl32.Clamp(sp.Factor, 0, 1)
		for i := range 3 {
			sp.Color[i] = mgl32.Clamp(sp.Color[i], 0, 10)
		}
	}
	return nil
}

// textureJSON is a textureInfo inside a material extension (which the gltf package keeps
// as raw JSON).
type textureJSON struct {
	Index      int             `json:"index"`
	TexCoord   int             `json:"texCoord"`
	Extensions gltf.Extensions `json:"extensions"`
}

// warn records a problem the loader works around, once per distinct text.
func (l *gltfLoader) warn(format string, args ...any) {
	w := fmt.Sprintf(format, args...)
	if l.warned[w] {
		return
	}
	l.warned[w] = true
	l.s.Warnings = append(l.s.Warnings, w)
}

// textureRef resolves a material's texture reference: the decoded image, its sampler, its
// coordinate set and KHR_texture_transform. It returns nil (and a warning) for a texture
// the renderer cannot use: an image in another format than PNG or JPEG, one past the
// scene's texture memory limit, or a coordinate set other than 0 and 1. A missing texture,
// a broken image or a non-finite transform is an error.
func (l *gltfLoader) textureRef(ti, texCoord int, exts gltf.Extensions, what string) (*Texture, error) {
	img, skip, err := l.texture(ti)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if img == nil {
		l.warn("%s: texture %d %s; drawn without it", what, ti, skip)
		return nil, nil
	}
	t := &Texture{Image: img}
	t.TexCoord = texCoord
	if v, ok := exts[extTexTransform]; ok {
		var tt struct {
			Offset   *[2]float64 `json:"offset"`
			Rotation *float64    `json:"rotation"`
			Scale    *[2]float64 `json:"scale"`
			TexCoord *int        `json:"texCoord"`
		}
		if err := extensionJSON(v, &tt); err != nil {
			l.warn("%s: malformed %s ignored: %v", what, extTexTransform, err)
			tt.Offset, tt.Rotation, tt.Scale, tt.TexCoord = nil, nil, nil, nil
		}
		tr := &TextureTransform{Scale: mgl32.Vec2{1, 1}}
		if tt.Offset != nil {
			tr.Offset = mgl32.Vec2{float32(tt.Offset[0]), float32(tt.Offset[1])}
		}
		if tt.Rotation != nil {
			tr.Rotation = float32(*tt.Rotation)
		}
		if tt.Scale != nil {
			tr.Scale = mgl32.Vec2{float32(tt.Scale[0]), float32(tt.Scale[1])}
		}
		if tt.TexCoord != nil {
			t.TexCoord = *tt.TexCoord
		}
		if !finite32(tr.Offset[0]) || !finite32(tr.Offset[1]) || !finite32(tr.Rotation) ||
			!finite32(tr.Scale[0]) || !finite32(tr.Scale[1]) {
			return nil, bad("%s: %s is not finite", what, extTexTransform)
		}
		t.Transform = tr
	}
	if t.TexCoord < 0 || t.TexCoord > 1 {
		l.warn("%s: texture coordinate set %d (only 0 and 1 are read); drawn without it", what, t.TexCoord)
		return nil, nil
	}
	t.Sampler = l.sampler(ti)
	return t, nil
}

// sampler returns texture ti's sampler; unknown enums are replaced by the defaults with a
// warning. (The gltf package maps unknown enum values to its zero value, so the raw JSON
// values are checked in checkSamplers.)
func (l *gltfLoader) sampler(ti int) Sampler {
	gt := l.doc.Textures[ti]
	if gt.Sampler == nil {
		return Sampler{}
	}
	si := *gt.Sampler
	if si < 0 || si >= len(l.doc.Samplers) || l.doc.Samplers[si] == nil {
		l.warn("texture %d: sampler %d does not exist (%d samplers); the default is used", ti, si, len(l.doc.Samplers))
		return Sampler{}
	}
	if si < len(l.rawSamplers) {
		return l.rawSamplers[si]
	}
	return Sampler{}
}

// checkSamplers reads the samplers' raw enums, keeping known values and warning about the
// others (replaced by the default).
func (l *gltfLoader) checkSamplers(jsonData []byte) {
	var raw struct {
		Samplers []struct {
			MagFilter *int `json:"magFilter"`
			MinFilter *int `json:"minFilter"`
			WrapS     *int `json:"wrapS"`
			WrapT     *int `json:"wrapT"`
		} `json:"samplers"`
	}
	if json.Unmarshal(jsonData, &raw) != nil {
		return
	}
	l.rawSamplers = make([]Sampler, len(raw.Samplers))
	for i, rs := range raw.Samplers {
		s := &l.rawSamplers[i]
		wrap := func(v *int, field string) Wrap {
			if v == nil {
				return 0
			}
			switch w := Wrap(*v); w {
			case WrapRepeat, WrapClampToEdge, WrapMirroredRepeat:
				return w
			}
			l.warn("sampler %d: unknown %s %d; REPEAT is used", i, field, *v)
			return 0
		}
		filter := func(v *int, field string, mip bool) Filter {
			if v == nil {
				return 0
			}
			f := Filter(*v)
			if f == FilterNearest || f == FilterLinear || mip && f >= FilterNearestMipmapNearest && f <= FilterLinearMipmapLinear {
				return f
			}
			l.warn("sampler %d: unknown %s %d; the default is used", i, field, *v)
			return 0
		}
		s.WrapS, s.WrapT = wrap(rs.WrapS, "wrapS"), wrap(rs.WrapT, "wrapT")
		s.MagFilter, s.MinFilter = filter(rs.MagFilter, "magFilter", false), filter(rs.MinFilter, "minFilter", true)
	}
}

// readColors reads COLOR_0 (VEC3 or VEC4, float or normalised integers) as linear RGBA.
func (l *gltfLoader) readColors(ai, nv int) ([]mgl32.Vec4, error) {
	typ := gltf.AccessorVec4
	if ai >= 0 && ai < len(l.doc.Accessors) && l.doc.Accessors[ai] != nil && l.doc.Accessors[ai].Type == gltf.AccessorVec3 {
		typ = gltf.AccessorVec3
	}
	c, err := l.readVec(ai, typ, "COLOR_0")
	if err != nil {
		return nil, err
	}
	comps := typ.Components()
	if len(c)/comps != nv {
		return nil, bad("COLOR_0 has %d elements, POSITION %d", len(c)/comps, nv)
	}
	out := make([]mgl32.Vec4, nv)
	for i := range out {
		v := mgl32.Vec4{1, 1, 1, 1}
		for k := range comps {
			v[k] = mgl32.Clamp(c[i*comps+k], 0, 1)
		}
		out[i] = v
	}
	return out, nil
}

// texture returns the decoded image of texture ti, or nil and why when the image cannot be
// used: not PNG or JPEG, or past the scene's texture memory limit (the material then
// renders without it).
func (l *gltfLoader) texture(ti int) (image.Image, string, error) {
	if ti < 0 || ti >= len(l.doc.Textures) || l.doc.Textures[ti] == nil {
		return nil, "", bad("texture %d does not exist (%d textures)", ti, len(l.doc.Textures))
	}
	src := l.doc.Textures[ti].Source
	if src == nil {
		return nil, "has only an extension source (KTX2, WebP...)", nil
	}
	ii := *src
	if img, ok := l.images[ii]; ok {
		if img == nil {
			return nil, l.imageSkips[ii], nil
		}
		return img, "", nil
	}
	if ii < 0 || ii >= len(l.doc.Images) || l.doc.Images[ii] == nil {
		return nil, "", bad("image %d does not exist (%d images)", ii, len(l.doc.Images))
	}
	gi := l.doc.Images[ii]
	var data []byte
	var err error
	switch {
	case gi.BufferView != nil:
		data, err = l.bufferView(*gi.BufferView)
	case gi.URI != "":
		data, err = l.resource(gi.URI, -1, fmt.Sprintf("image %d", ii))
	default:
		err = bad("image %d has neither uri nor bufferView", ii)
	}
	if err != nil {
		return nil, "", err
	}
	img, skip, err := l.decodeImage(data)
	if err != nil {
		return nil, "", fmt.Errorf("image %d: %w", ii, err)
	}
	l.images[ii] = img
	if img == nil {
		skip = fmt.Sprintf("(image %d) %s", ii, skip)
		l.imageSkips[ii] = skip
	}
	return img, skip, nil
}

// decodeImage decodes PNG or JPEG data into an *image.NRGBA within the size limits, after
// checking the header's dimensions. Another format, or an image past the scene's texture
// memory limit, gives a nil image, the reason and no error.
func (l *gltfLoader) decodeImage(data []byte) (image.Image, string, error) {
	var decodeConfig func(io.Reader) (image.Config, error)
	var decode func(io.Reader) (image.Image, error)
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		decodeConfig, decode = png.DecodeConfig, png.Decode
	case bytes.HasPrefix(data, []byte{0xff, 0xd8}):
		decodeConfig, decode = jpeg.DecodeConfig, jpeg.Decode
	default:
		return nil, "is not PNG or JPEG", nil
	}
	cfg, err := decodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, "", bad("%v", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > l.lim.textureSide || cfg.Height > l.lim.textureSide {
		return nil, "", bad("%dx%d pixels (limit %d per side)", cfg.Width, cfg.Height, l.lim.textureSide)
	}
	pixels := 4 * int64(cfg.Width) * int64(cfg.Height)
	if l.texBytes+pixels > l.lim.textureBytes {
		return nil, fmt.Sprintf("needs %d bytes decoded, past the scene's %d-byte texture limit (%d used)",
			pixels, l.lim.textureBytes, l.texBytes), nil
	}
	// The decoder's own buffer plus the NRGBA copy.
	if err := l.spend(2*pixels, "texture"); err != nil {
		return nil, "", err
	}
	img, err := decode(bytes.NewReader(data))
	if err != nil {
		return nil, "", bad("%v", err)
	}
	l.texBytes += pixels
	if n, ok := img.(*image.NRGBA); ok && n.Rect.Min == (image.Point{}) {
		return n, "", nil
	}
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Rect, img, b.Min, draw.Src)
	return out, "", nil
}

// buffer returns the bytes of buffer bi, reading external files or data URIs on first use.
func (l *gltfLoader) buffer(bi int) ([]byte, error) {
	if b, ok := l.buffers[bi]; ok {
		return b, nil
	}
	if bi < 0 || bi >= len(l.doc.Buffers) || l.doc.Buffers[bi] == nil {
		return nil, bad("buffer %d does not exist (%d buffers)", bi, len(l.doc.Buffers))
	}
	gb := l.doc.Buffers[bi]
	if gb.ByteLength <= 0 {
		return nil, bad("buffer %d: byteLength %d", bi, gb.ByteLength)
	}
	var data []byte
	if gb.URI == "" {
		if !l.glb || bi != 0 {
			return nil, bad("buffer %d has no uri", bi)
		}
		if l.bin == nil {
			return nil, bad("buffer 0 refers to the GLB BIN chunk, which is missing")
		}
		data = l.bin
	} else {
		var err error
		if data, err = l.resource(gb.URI, int64(gb.ByteLength), fmt.Sprintf("buffer %d", bi)); err != nil {
			return nil, err
		}
	}
	if len(data) < gb.ByteLength {
		return nil, bad("buffer %d has %d bytes, byteLength says %d", bi, len(data), gb.ByteLength)
	}
	data = data[:gb.ByteLength:gb.ByteLength]
	l.buffers[bi] = data
	return data, nil
}

// resource returns the bytes of a data URI or of a file relative to the model (never a
// network URL or a path outside fsys). want, if positive, is the size needed.
func (l *gltfLoader) resource(uri string, want int64, what string) ([]byte, error) {
	if strings.HasPrefix(uri, "data:") {
		comma := strings.IndexByte(uri, ',')
		if comma < 0 || !strings.HasSuffix(uri[:comma], ";base64") {
			return nil, bad("%s: data URI is not base64", what)
		}
		enc := uri[comma+1:]
		if err := l.spend(int64(base64.StdEncoding.DecodedLen(len(enc))), what); err != nil {
			return nil, err
		}
		data, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return nil, bad("%s: bad base64 data: %v", what, err)
		}
		return data, nil
	}
	if u, err := url.Parse(uri); err == nil && u.Scheme != "" && len(u.Scheme) > 1 {
		return nil, bad("%s: URI %q is not a relative file (only local files are read)", what, uri)
	}
	name, err := url.PathUnescape(strings.ReplaceAll(uri, "\\", "/"))
	if err != nil {
		return nil, bad("%s: bad URI %q: %v", what, uri, err)
	}
	name = strings.TrimPrefix(name, "./")
	if !fs.ValidPath(name) {
		return nil, bad("%s: URI %q leaves the model's directory", what, uri)
	}
	if l.fsys == nil {
		return nil, bad("%s: external file %q, but no directory to read it from", what, name)
	}
	fi, err := fs.Stat(l.fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: file %q is missing: %w", what, name, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: file %q: %w", what, name, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, bad("%s: %q is not a regular file", what, name)
	}
	size := fi.Size()
	if want > 0 && size < want {
		return nil, bad("%s: file %q has %d bytes, byteLength says %d", what, name, size, want)
	}
	if want > 0 {
		size = want
	}
	if err := l.spend(size, what); err != nil {
		return nil, err
	}
	f, err := l.fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer f.Close()
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fmt.Errorf("%s: reading %q: %w", what, name, err)
	}
	return data, nil
}

// bufferView returns the bytes of buffer view vi.
func (l *gltfLoader) bufferView(vi int) ([]byte, error) {
	if vi < 0 || vi >= len(l.doc.BufferViews) || l.doc.BufferViews[vi] == nil {
		return nil, bad("buffer view %d does not exist (%d buffer views)", vi, len(l.doc.BufferViews))
	}
	bv := l.doc.BufferViews[vi]
	buf, err := l.buffer(bv.Buffer)
	if err != nil {
		return nil, fmt.Errorf("buffer view %d: %w", vi, err)
	}
	if bv.ByteOffset < 0 || bv.ByteLength < 0 || bv.ByteOffset > len(buf) || bv.ByteLength > len(buf)-bv.ByteOffset {
		return nil, bad("buffer view %d (offset %d, length %d) lies outside buffer %d (%d bytes)",
			vi, bv.ByteOffset, bv.ByteLength, bv.Buffer, len(buf))
	}
	return buf[bv.ByteOffset : bv.ByteOffset+bv.ByteLength], nil
}

// strided is a validated run of accessor elements in a buffer.
type strided struct {
	data        []byte
	stride      int
	comps       int
	ct          gltf.ComponentType
	normalized  bool
	compSize    int
	count       int
	elementSize int
}

// component returns component c of element i as float64 (normalised if asked).
func (s *strided) component(i, c int) float64 {
	o := i*s.stride + c*s.compSize
	le := binary.LittleEndian
	switch s.ct {
	case gltf.ComponentFloat:
		return float64(math.Float32frombits(le.Uint32(s.data[o:])))
	case gltf.ComponentByte:
		v := float64(int8(s.data[o]))
		if s.normalized {
			return max(v/127, -1)
		}
		return v
	case gltf.ComponentUbyte:
		v := float64(s.data[o])
		if s.normalized {
			return v / 255
		}
		return v
	case gltf.ComponentShort:
		v := float64(int16(le.Uint16(s.data[o:])))
		if s.normalized {
			return max(v/32767, -1)
		}
		return v
	case gltf.ComponentUshort:
		v := float64(le.Uint16(s.data[o:]))
		if s.normalized {
			return v / 65535
		}
		return v
	default: // ComponentUint
		v := float64(le.Uint32(s.data[o:]))
		if s.normalized {
			return v / 4294967295
		}
		return v
	}
}

// view validates that count elements of the given shape fit in buffer view vi at offset.
func (l *gltfLoader) view(vi, offset, count, comps int, ct gltf.ComponentType, normalized bool, what string) (*strided, error) {
	data, err := l.bufferView(vi)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	compSize := ct.ByteSize()
	elem := comps * compSize
	stride := elem
	if bs := l.doc.BufferViews[vi].ByteStride; bs != 0 {
		if bs < elem || bs > 252 {
			return nil, bad("%s: byteStride %d of buffer view %d does not fit %d-byte elements", what, bs, vi, elem)
		}
		stride = bs
	}
	if offset < 0 || offset > len(data) {
		return nil, bad("%s: byteOffset %d outside buffer view %d (%d bytes)", what, offset, vi, len(data))
	}
	data = data[offset:]
	if count > 0 {
		need := int64(stride)*int64(count-1) + int64(elem)
		if need > int64(len(data)) {
			return nil, bad("%s: %d elements need %d bytes, buffer view %d has %d from offset %d",
				what, count, need, vi, len(data), offset)
		}
	}
	return &strided{data: data, stride: stride, comps: comps, ct: ct, normalized: normalized,
		compSize: compSize, count: count, elementSize: elem}, nil
}

// accessor validates accessor ai and returns its dense data (nil when it has no buffer view:
// all zeros) and sparse substitutions.
func (l *gltfLoader) accessor(ai int, want gltf.AccessorType, what string) (acc *gltf.Accessor, dense *strided, sparseIdx []uint32, sparseVals *strided, err error) {
	if ai < 0 || ai >= len(l.doc.Accessors) || l.doc.Accessors[ai] == nil {
		return nil, nil, nil, nil, bad("%s: accessor %d does not exist (%d accessors)", what, ai, len(l.doc.Accessors))
	}
	acc = l.doc.Accessors[ai]
	what = fmt.Sprintf("%s accessor %d", what, ai)
	if acc.Type != want {
		return nil, nil, nil, nil, bad("%s: type %s, want %s", what, acc.Type, want)
	}
	if acc.Count < 0 {
		return nil, nil, nil, nil, bad("%s: count %d", what, acc.Count)
	}
	comps := want.Components()
	if err := l.spend(int64(acc.Count)*int64(comps)*4, what); err != nil {
		return nil, nil, nil, nil, err
	}
	if acc.BufferView != nil {
		if dense, err = l.view(*acc.BufferView, acc.ByteOffset, acc.Count, comps, acc.ComponentType, acc.Normalized, what); err != nil {
			return nil, nil, nil, nil, err
		}
	}
	if sp := acc.Sparse; sp != nil {
		if sp.Count < 1 || sp.Count > acc.Count {
			return nil, nil, nil, nil, bad("%s: sparse count %d (accessor count %d)", what, sp.Count, acc.Count)
		}
		switch sp.Indices.ComponentType {
		case gltf.ComponentUbyte, gltf.ComponentUshort, gltf.ComponentUint:
		default:
			return nil, nil, nil, nil, bad("%s: sparse indices of type %s", what, sp.Indices.ComponentType)
		}
		iv, err := l.view(sp.Indices.BufferView, sp.Indices.ByteOffset, sp.Count, 1, sp.Indices.ComponentType, false, what+" sparse indices")
		if err != nil {
			return nil, nil, nil, nil, err
		}
		sparseIdx = make([]uint32, sp.Count)
		for i := range sparseIdx {
			v := iv.component(i, 0)
			if v >= float64(acc.Count) {
				return nil, nil, nil, nil, bad("%s: sparse index %d is %d, out of range (count %d)", what, i, int64(v), acc.Count)
			}
			sparseIdx[i] = uint32(v)
		}
		if sparseVals, err = l.view(sp.Values.BufferView, sp.Values.ByteOffset, sp.Count, comps, acc.ComponentType, acc.Normalized, what+" sparse values"); err != nil {
			return nil, nil, nil, nil, err
		}
	}
	return acc, dense, sparseIdx, sparseVals, nil
}

// readVec reads a float vector accessor as a flat []float32, rejecting non-finite values.
func (l *gltfLoader) readVec(ai int, want gltf.AccessorType, what string) ([]float32, error) {
	acc, dense, sIdx, sVals, err := l.accessor(ai, want, what)
	if err != nil {
		return nil, err
	}
	comps := want.Components()
	out := make([]float32, acc.Count*comps)
	if dense != nil {
		for i := range acc.Count {
			for c := range comps {
				out[i*comps+c] = float32(dense.component(i, c))
			}
		}
	}
	for k, i := range sIdx {
		for c := range comps {
			out[int(i)*comps+c] = float32(sVals.component(k, c))
		}
	}
	for i, v := range out {
		if !finite32(v) {
			return nil, bad("%s accessor %d: element %d is %v (not finite)", what, ai, i/comps, v)
		}
	}
	return out, nil
}

// readIndices reads an index accessor.
func (l *gltfLoader) readIndices(ai int) ([]uint32, error) {
	acc, dense, sIdx, sVals, err := l.accessor(ai, gltf.AccessorScalar, "indices")
	if err != nil {
		return nil, err
	}
	switch acc.ComponentType {
	case gltf.ComponentUbyte, gltf.ComponentUshort, gltf.ComponentUint:
	default:
		return nil, bad("indices accessor %d: component type %s (want an unsigned integer)", ai, acc.ComponentType)
	}
	out := make([]uint32, acc.Count)
	if dense != nil {
		dense.normalized = false
		for i := range out {
			out[i] = uint32(dense.component(i, 0))
		}
	}
	for k, i := range sIdx {
		sVals.normalized = false
		out[i] = uint32(sVals.component(k, 0))
	}
	return out, nil
}

// lights converts KHR_lights_punctual lights attached to nodes (world transforms given).
func (l *gltfLoader) lights(nodes []nodeAt) error {
	if len(nodes) == 0 {
		return nil
	}
	var defs struct {
		Lights []struct {
			Type      string      `json:"type"`
			Color     *[3]float64 `json:"color"`
			Intensity *float64    `json:"intensity"`
			Spot      *struct {
				Inner *float64 `json:"innerConeAngle"`
				Outer *float64 `json:"outerConeAngle"`
			} `json:"spot"`
		} `json:"lights"`
	}
	if err := extensionJSON(l.doc.Extensions[extLights], &defs); err != nil {
		return bad("%s: %v", extLights, err)
	}
	for _, n := range nodes {
		var ref struct {
			Light *int `json:"light"`
		}
		if err := extensionJSON(l.doc.Nodes[n.gi].Extensions[extLights], &ref); err != nil {
			return bad("node %d %s: %v", n.gi, extLights, err)
		}
		if ref.Light == nil {
			continue
		}
		li := *ref.Light
		if li < 0 || li >= len(defs.Lights) {
			return bad("node %d: light %d does not exist (%d lights)", n.gi, li, len(defs.Lights))
		}
		d := defs.Lights[li]
		light := Light{Color: mgl32.Vec3{1, 1, 1}, Intensity: 1}
		if d.Color != nil {
			light.Color = mgl32.Vec3{float32(d.Color[0]), float32(d.Color[1]), float32(d.Color[2])}
		}
		if d.Intensity != nil {
			light.Intensity = float32(*d.Intensity)
		}
		if !finiteVec3(light.Color) || !finite32(light.Intensity) || light.Intensity < 0 {
			return bad("light %d: colour or intensity is not a finite, non-negative number", li)
		}
		switch d.Type {
		case "directional":
			light.Type = Directional
			light.Direction = n.world.Mul4x1(mgl32.Vec4{0, 0, -1, 0}).Vec3()
			if light.Direction.Len() < 1e-12 {
				return bad("node %d: light %d has no direction (zero scale)", n.gi, li)
			}
			light.Direction = light.Direction.Normalize()
		case "point":
			light.Type = Point
			light.Position = n.world.Col(3).Vec3()
		case "spot":
			light.Type = Spot
			light.Position = n.world.Col(3).Vec3()
			light.Direction = n.world.Mul4x1(mgl32.Vec4{0, 0, -1, 0}).Vec3()
			if light.Direction.Len() < 1e-12 {
				return bad("node %d: light %d has no direction (zero scale)", n.gi, li)
			}
			light.Direction = light.Direction.Normalize()
			inner, outer := 0.0, math.Pi/4
			if d.Spot != nil && d.Spot.Inner != nil {
				inner = *d.Spot.Inner
			}
			if d.Spot != nil && d.Spot.Outer != nil {
				outer = *d.Spot.Outer
			}
			if !(inner >= 0 && outer > inner && outer <= math.Pi/2+1e-6) {
				return bad("light %d: spot cone angles %v and %v (want 0 <= inner < outer <= pi/2)", li, inner, outer)
			}
			light.InnerCone, light.OuterCone = float32(inner), float32(min(outer, math.Pi/2))
		default:
			return bad("light %d: unknown type %q", li, d.Type)
		}
		l.s.Lights = append(l.s.Lights, light)
	}
	return nil
}

// extensionJSON decodes an extension value, whether the gltf package kept it as raw JSON
// or decoded it with a registered extension type.
func extensionJSON(v any, out any) error {
	if v == nil {
		return nil
	}
	raw, ok := v.(json.RawMessage)
	if !ok {
		var err error
		if raw, err = json.Marshal(v); err != nil {
			return err
		}
	}
	return json.Unmarshal(raw, out)
}

// camera converts the perspective camera of node gi; ok is false for orthographic or
// unusable cameras (the caller frames the scene instead).
func (l *gltfLoader) camera(gi int, world mgl32.Mat4, bounds Bounds) (Camera, bool) {
	ci := *l.doc.Nodes[gi].Camera
	if ci < 0 || ci >= len(l.doc.Cameras) || l.doc.Cameras[ci] == nil || l.doc.Cameras[ci].Perspective == nil {
		return Camera{}, false
	}
	p := l.doc.Cameras[ci].Perspective
	fov := float32(p.Yfov * 180 / math.Pi)
	if !(fov > MinFovY && fov < MaxFovY) {
		fov = 45
	}
	eye := world.Col(3).Vec3()
	fwd := world.Mul4x1(mgl32.Vec4{0, 0, -1, 0}).Vec3()
	up := world.Mul4x1(mgl32.Vec4{0, 1, 0, 0}).Vec3()
	if fwd.Len() < 1e-12 || up.Len() < 1e-12 {
		return Camera{}, false
	}
	fwd, up = fwd.Normalize(), up.Normalize()
	// Orbit around the point of the view axis nearest the model's centre (or, if the model
	// is behind the camera, a point one model radius ahead).
	dist := bounds.Center().Sub(eye).Dot(fwd)
	if !(dist > 0) {
		dist = bounds.Radius()
	}
	dist = mgl32.Clamp(dist, 10*MinDistance, MaxDistance)
	c := Camera{}
	if c.Set(eye, eye.Add(fwd.Mul(dist)), up, fov) != nil {
		return Camera{}, false
	}
	c.SetHome()
	return c, true
}

func finiteMat(m mgl32.Mat4) bool {
	return !slices.ContainsFunc(m[:], func(v float32) bool { return !finite32(v) })
}
