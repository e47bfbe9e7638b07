// Package scenes describes what Rendercast renders: meshes, a node hierarchy, PBR
// metallic-roughness materials, lights, a camera and a background colour. It is pure Go data
// and math (mathgl); it never calls OpenGL. The render package turns a Scene into pixels.
//
// Scenes come from Builtin (the procedural "demo" and "testcard") or from glTF 2.0 files
// (Load, LoadReader); a Library maps the stream names clients ask for to them and hands each
// viewer its own Clone. Camera operations (Orbit, Pan, Zoom, Dolly, Set, Reset) and scene
// edits (SetBackground, SetVisible, SetColor, SetLightIntensity, EditCamera) are what the
// streamer's remote calls use; each edit bumps Scene.Version, which the optional frame marker
// (MarkerBits, DrawMarker, DecodeMarker) carries so clients can match frames to changes.
package scenes

import (
	"image"

	"github.com/go-gl/mathgl/mgl32"
)

// Scene is a complete, renderable description. A Scene value is not safe for concurrent
// mutation; each view owns its own copy (see Clone).
type Scene struct {
	// Name identifies the scene (the stream name that selects it).
	Name string
	// Meshes are shared geometry, referenced by index from nodes.
	Meshes []*Mesh
	// Materials are referenced by index from primitives.
	Materials []*Material
	// Nodes is the flat list of nodes; Roots indexes the top-level ones. Children are indices
	// into Nodes. The hierarchy is a forest (no cycles; the loader rejects them).
	Nodes []*Node
	Roots []int
	// Lights illuminate the scene (at most MaxLights are used by the renderer).
	Lights []Light
	// Ambient is the ambient light colour added to every surface (linear RGB).
	Ambient mgl32.Vec3
	// Background is the clear colour as a user picks it: sRGB, each channel 0..1.
	Background mgl32.Vec3
	// Camera is the scene's default camera; views copy it.
	Camera Camera
	// Animate, if set, updates the scene for time t (seconds since the view started) before
	// each frame. Built-in scenes use it for moving elements. It may mutate only this scene.
	Animate func(s *Scene, t float64)
	// Version increments on every edit (camera or scene); the frame marker carries it.
	Version uint32
}

// MaxLights is the number of lights the renderer's shader supports.
const MaxLights = 8

// Mesh is a list of primitives (one draw call each).
type Mesh struct {
	Name       string
	Primitives []Primitive
	// Full, when non-nil, is the same mesh at full detail, for refined still pictures
	// (Scene.FullDetailDraws); its primitives use the same materials. The built-in scenes
	// set it on curved meshes built below DetailFull (see Detail); nil means Primitives are
	// the full detail. Like Primitives it is shared between clones and read-only.
	Full []Primitive
}

// Primitive is indexed triangle geometry with one material.
type Primitive struct {
	// Positions and Normals are per-vertex, object space. Normals may be nil (flat normals
	// are then computed by the renderer).
	Positions []mgl32.Vec3
	Normals   []mgl32.Vec3
	// UVs are texture coordinates (nil when the material has no texture).
	UVs []mgl32.Vec2
	// Indices lists triangles (3 per triangle), each < len(Positions).
	Indices []uint32
	// Material indexes Scene.Materials; -1 means the default material.
	Material int
}

// Material is glTF's PBR metallic-roughness model, reduced to what the renderer uses.
type Material struct {
	Name string
	// BaseColor is linear RGBA; the alpha channel is ignored (opaque rendering).
	BaseColor mgl32.Vec4
	Metallic  float32
	Roughness float32
	// BaseColorTexture, if not nil, is multiplied with BaseColor (its RGB is sRGB-encoded).
	// The loader and the built-in scenes store *image.NRGBA (straight alpha, rows top-down),
	// ready for upload. Textures are shared between clones: never modify one in place.
	BaseColorTexture image.Image
	// Emissive is linear RGB added to the shaded colour (used by markers and bright details).
	Emissive mgl32.Vec3
	// Unlit materials ignore lighting and show BaseColor (times texture) as is.
	Unlit bool
	// DoubleSided materials are meant to be seen from both sides (no back-face culling;
	// glTF's doubleSided).
	DoubleSided bool
}

// Node places a mesh in the world. Its world transform is its parent's times Local().
type Node struct {
	Name string
	// Mesh indexes Scene.Meshes; -1 for a node with no geometry (a group).
	Mesh        int
	Children    []int
	Translation mgl32.Vec3
	Rotation    mgl32.Quat
	Scale       mgl32.Vec3
	// Matrix, when non-nil, is the local transform and Translation, Rotation and Scale are
	// ignored (glTF nodes given as a matrix). It is shared between clones: replace it, never
	// modify it in place.
	Matrix *mgl32.Mat4
	// Visible hides the node and its children when false.
	Visible bool
	// ColorOverride, when non-nil, replaces the base colour of every primitive of this node
	// (scene.setColor edits set it, linear RGBA).
	ColorOverride *mgl32.Vec4
}

// Local returns the node's local transform: Matrix when set, otherwise T * R * S.
func (n *Node) Local() mgl32.Mat4 {
	if n.Matrix != nil {
		return *n.Matrix
	}
	return mgl32.Translate3D(n.Translation[0], n.Translation[1], n.Translation[2]).
		Mul4(n.Rotation.Mat4()).
		Mul4(mgl32.Scale3D(n.Scale[0], n.Scale[1], n.Scale[2]))
}

// NewNode returns a visible node with an identity transform showing mesh (-1 for none).
func NewNode(name string, mesh int) *Node {
	return &Node{Name: name, Mesh: mesh, Rotation: mgl32.QuatIdent(), Scale: mgl32.Vec3{1, 1, 1}, Visible: true}
}

// LightType is a kind of light.
type LightType int

// Light types.
const (
	// Directional lights shine along Direction from infinitely far away.
	Directional LightType = iota
	// Point lights shine from Position in every direction, falling off with distance squared.
	Point
)

// Light is a directional or point light.
type Light struct {
	Type LightType
	// Color is linear RGB; Intensity scales it (lux for directional, candela for point,
	// loosely: the renderer uses them as multipliers).
	Color     mgl32.Vec3
	Intensity float32
	// Direction is the direction the light travels (directional), world space.
	Direction mgl32.Vec3
	// Position is the light's world position (point).
	Position mgl32.Vec3
}
