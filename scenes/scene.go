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
	"math"

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
	// Animations are the model's keyframed animations (shared between clones, read-only);
	// Playing is what plays on this scene's clock (ApplyAnimations poses the scene).
	Animations []*Animation
	Playing    []Playback
	// Version increments on every edit (camera or scene); the frame marker carries it.
	Version uint32
	// Warnings lists the problems the loader worked around (textures skipped, sampler
	// enums replaced), each once; shared between clones.
	Warnings []string
	// Environment, when not nil, lights the scene with image-based light instead of the
	// uniform Ambient colour (see Environment); shared between clones, read-only.
	Environment *Environment
	// EnvironmentBackground draws the environment, blurred, behind the scene instead of
	// the Background colour (when Environment is set).
	EnvironmentBackground bool
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
	// Weights are the default morph target weights of nodes showing the mesh.
	Weights []float32
}

// Primitive is indexed triangle geometry with one material.
type Primitive struct {
	// Positions and Normals are per-vertex, object space. Normals may be nil (flat normals
	// are then computed by the renderer).
	Positions []mgl32.Vec3
	Normals   []mgl32.Vec3
	// UVs are texture coordinates, set 0 (nil when the material has no texture).
	UVs []mgl32.Vec2
	// UVs1 is the second texture coordinate set (glTF TEXCOORD_1), nil when absent; a
	// texture whose TexCoord is 1 reads it.
	UVs1 []mgl32.Vec2
	// Tangents are per-vertex tangents, xyz a unit vector along +u, w (+1 or -1) the
	// handedness: bitangent = w * cross(normal, tangent). Nil when the material has no
	// normal texture; the loader generates them (GenerateTangents) when the file has none.
	Tangents []mgl32.Vec4
	// Colors are linear RGBA vertex colours (glTF COLOR_0) multiplied with the base colour;
	// nil means white.
	Colors []mgl32.Vec4
	// Indices lists triangles (3 per triangle), each < len(Positions).
	Indices []uint32
	// Material indexes Scene.Materials; -1 means the default material.
	Material int
	// Deform, when not nil, holds skinning and morph target data (see Scene.Deform).
	Deform *Deform
}

// Material is glTF's PBR metallic-roughness model with the extensions the renderer draws.
// The zero value of every added field means "absent" (glTF's default), so a Material
// literal with only BaseColor, Metallic and Roughness is a plain opaque material.
type Material struct {
	Name string
	// BaseColor is linear RGBA; its alpha counts only with AlphaMode Mask or Blend.
	BaseColor mgl32.Vec4
	Metallic  float32
	Roughness float32
	// BaseColorTexture, if not nil, is multiplied with BaseColor (its RGB is sRGB-encoded).
	// The loader and the built-in scenes store *image.NRGBA (straight alpha, rows top-down),
	// ready for upload. Textures are shared between clones: never modify one in place.
	BaseColorTexture image.Image
	// BaseColorInfo is how BaseColorTexture is sampled (zero: set 0, repeat, trilinear).
	BaseColorInfo TextureInfo
	// MetallicRoughnessTexture's blue channel scales Metallic, its green Roughness (linear).
	MetallicRoughnessTexture *Texture
	// NormalTexture is a tangent-space normal map (linear); NormalScale scales its x and y
	// (glTF normalTexture.scale; the loader sets 1 when the file has none).
	NormalTexture *Texture
	NormalScale   float32
	// OcclusionTexture's red channel darkens the ambient light by OcclusionStrength (0..1;
	// the loader sets 1 when the file has none).
	OcclusionTexture  *Texture
	OcclusionStrength float32
	// Emissive is linear RGB added to the shaded colour (used by markers and bright details),
	// already multiplied by KHR_materials_emissive_strength.
	Emissive mgl32.Vec3
	// EmissiveTexture (sRGB) multiplies Emissive.
	EmissiveTexture *Texture
	// Unlit materials ignore lighting and show BaseColor (times texture) as is.
	Unlit bool
	// DoubleSided materials are meant to be seen from both sides (no back-face culling;
	// glTF's doubleSided); back faces are lit with the normal turned towards the viewer.
	DoubleSided bool
	// AlphaMode is how alpha counts (zero: AlphaOpaque); AlphaCutoff is the Mask threshold
	// (the loader sets glTF's default 0.5; zero keeps every pixel).
	AlphaMode   AlphaMode
	AlphaCutoff float32
	// IOR is the index of refraction of the dielectric part (KHR_materials_ior); 0 means
	// glTF's 1.5 (F0 = 0.04).
	IOR float32
	// Specular, when not nil, is KHR_materials_specular: Factor scales the dielectric
	// reflection, Color (linear) tints its F0.
	Specular *Specular
	// Clearcoat (0..1) adds a second, dielectric specular layer (KHR_materials_clearcoat)
	// with its own ClearcoatRoughness; 0 means none. ClearcoatTexture's red channel scales
	// Clearcoat, ClearcoatRoughnessTexture's green ClearcoatRoughness (linear). The
	// clearcoat's own normal map is not read: the layer follows the geometric normal.
	Clearcoat                 float32
	ClearcoatRoughness        float32
	ClearcoatTexture          *Texture
	ClearcoatRoughnessTexture *Texture
	// Transmission (0..1) lets light through the surface (KHR_materials_transmission). The
	// renderer approximates it: the surface is blended over what lies behind it with an
	// opacity of 1 - Transmission (times 1 - metallic), keeping its specular highlights.
	// TransmissionTexture's red channel scales it (linear).
	Transmission        float32
	TransmissionTexture *Texture
}

// AlphaMode is glTF's material alphaMode.
type AlphaMode int

// Alpha modes.
const (
	// AlphaOpaque ignores alpha.
	AlphaOpaque AlphaMode = iota
	// AlphaMask keeps pixels whose alpha is at least AlphaCutoff and discards the rest.
	AlphaMask
	// AlphaBlend blends the surface over what is behind it; the renderer draws such
	// primitives after the opaque ones, farthest first, without writing depth.
	AlphaBlend
)

// Specular is KHR_materials_specular's factor and colour.
type Specular struct {
	Factor float32
	Color  mgl32.Vec3
}

// Texture is an image with how a material samples it. Images are shared between clones
// and materials: never modify one in place.
type Texture struct {
	// Image is the decoded texture, *image.NRGBA from the loader.
	Image image.Image
	TextureInfo
}

// TextureInfo is how a texture is sampled: which coordinate set, with which transform and
// sampler.
type TextureInfo struct {
	// TexCoord is the texture coordinate set: 0 (Primitive.UVs) or 1 (Primitive.UVs1).
	TexCoord int
	// Transform, when not nil, transforms the coordinates (KHR_texture_transform).
	Transform *TextureTransform
	Sampler   Sampler
}

// TextureTransform is KHR_texture_transform: coordinates are scaled, rotated (radians,
// counter-clockwise as the image shows) and offset, in that order.
type TextureTransform struct {
	Offset   mgl32.Vec2
	Rotation float32
	Scale    mgl32.Vec2
}

// Matrix returns the transform as a 3x3 matrix applied to (u, v, 1), as
// KHR_texture_transform defines it: translation * rotation * scale.
func (t *TextureTransform) Matrix() mgl32.Mat3 {
	if t == nil {
		return mgl32.Ident3()
	}
	s, c := float32(math.Sin(float64(t.Rotation))), float32(math.Cos(float64(t.Rotation)))
	tr := mgl32.Mat3{1, 0, 0, 0, 1, 0, t.Offset[0], t.Offset[1], 1}
	rot := mgl32.Mat3{c, -s, 0, s, c, 0, 0, 0, 1}
	sc := mgl32.Mat3{t.Scale[0], 0, 0, 0, t.Scale[1], 0, 0, 0, 1}
	return tr.Mul3(rot).Mul3(sc)
}

// Sampler is a glTF sampler; the values are glTF's (OpenGL's) enums. The zero value is
// glTF's default: repeat in both directions, linear magnification, trilinear minification.
type Sampler struct {
	WrapS, WrapT         Wrap
	MagFilter, MinFilter Filter
}

// Wrap is a texture wrap mode (glTF sampler wrapS/wrapT); 0 means WrapRepeat.
type Wrap int

// Wrap modes (glTF's values).
const (
	WrapRepeat         Wrap = 10497
	WrapClampToEdge    Wrap = 33071
	WrapMirroredRepeat Wrap = 33648
)

// Filter is a texture filter (glTF sampler magFilter/minFilter); 0 means the renderer's
// default (linear magnification, linear-mipmap-linear minification).
type Filter int

// Filters (glTF's values). Only the minification filter may use mipmaps.
const (
	FilterNearest              Filter = 9728
	FilterLinear               Filter = 9729
	FilterNearestMipmapNearest Filter = 9984
	FilterLinearMipmapNearest  Filter = 9985
	FilterNearestMipmapLinear  Filter = 9986
	FilterLinearMipmapLinear   Filter = 9987
)

// Mipmapped reports whether a minification filter samples mipmaps (0, the default, does).
func (f Filter) Mipmapped() bool { return f == 0 || f >= FilterNearestMipmapNearest }

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
	// Skin, when not nil, deforms the node's mesh by its joints; the node's own transform
	// is then ignored (glTF skinning). Weights are the node's morph target weights (nil:
	// the mesh's). deformed is the geometry Scene.Deform computed from them.
	Skin     *Skin
	Weights  []float32
	deformed *deformed
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
	// Spot lights are point lights limited to a cone around Direction: full inside
	// InnerCone, fading smoothly to nothing at OuterCone (KHR_lights_punctual).
	Spot
)

// Light is a directional, point or spot light.
type Light struct {
	Type LightType
	// Color is linear RGB; Intensity scales it (lux for directional, candela for point,
	// loosely: the renderer uses them as multipliers).
	Color     mgl32.Vec3
	Intensity float32
	// Direction is the direction the light travels (directional and spot), world space.
	Direction mgl32.Vec3
	// Position is the light's world position (point and spot).
	Position mgl32.Vec3
	// InnerCone and OuterCone are a spot light's cone half-angles in radians,
	// 0 <= InnerCone < OuterCone <= pi/2 (glTF's defaults: 0 and pi/4).
	InnerCone, OuterCone float32
}
