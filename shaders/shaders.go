// Package shaders holds Rendercast's GLSL sources, embedded in the binary with go:embed.
//
// The render package compiles them; this package only stores and names them, so it builds
// without cgo and can be read by tools and tests. Every file starts with "#version 330 core"
// so the same sources run on an OpenGL 3.3 context and on a 4.x core context.
//
// Files:
//   - scene.vert, pbr.frag: the scene pass. PBR metallic-roughness (GGX distribution,
//     height-correlated Smith visibility, Schlick Fresnel), directional, point and spot
//     lights (up to scenes.MaxLights), ambient, the glTF 2.0 material model (base colour,
//     metallic-roughness, normal, occlusion and emissive textures with two coordinate sets
//     and texture transforms, vertex colours, alpha mask and blend, ior, specular,
//     clearcoat, approximated transmission), unlit materials, ACES tone mapping for lit
//     surfaces and an sRGB-encoded output. Compiled in variants (UNLIT, MATERIAL_MAPS,
//     ALPHA_MASK) so that simple materials pay for none of the rest.
//   - gouraud.vert, gouraud.frag: the fast scene pass (render.ShadingFast, the default on
//     software rasterisers): pbr.frag's light model evaluated per vertex, tone mapped and
//     sRGB encoded there; the fragment stage writes the interpolated colour, or with
//     TEXTURED multiplies the diffuse light by the base-colour texture and tone maps and
//     encodes per pixel; ALPHA_MASK adds the alpha test. It keeps vertex colours, alpha,
//     the base colour texture's coordinate set and transform, and spot cones.
//   - shadow.vert, shadow.frag: the key light's shadow map depth pass (render.Shadows),
//     with ALPHA_MASK for alpha-tested casters;
//     pbr.frag's lightShadow reads the map (PCF over 3x3 texels in four linear comparison taps).
//   - envfilter.frag: prefilters an environment panorama for image-based light (variants
//     IRRADIANCE, SPECULAR: GGX importance sampling per roughness level, BRDF_LUT: the
//     split-sum table); pbr.frag's ENVIRONMENT variants read the results (split-sum
//     image-based light), gouraud.vert's read the environment's 9 spherical-harmonic
//     coefficients instead. envbg.frag draws the environment, blurred, as the background.
//   - fullscreen.vert: one triangle covering the viewport (no vertex buffers).
//   - yuv420.frag: RGB to I420 (BT.709, limited range) packing 4 output bytes per fragment
//     into an RGBA8 target of W/4 x 1.5H texels, whose memory is exactly an I420 frame.
//   - scale.frag: stretches a frame drawn at a lower internal resolution over the view
//     with linear filtering (render.Quality.Scale).
//   - preview.frag: draws an I420 or RGBA frame on screen (render/preview).
package shaders

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
)

//go:embed *.vert *.frag
var files embed.FS

// FS returns the embedded shader files (read-only), named as listed in the package doc.
func FS() fs.FS { return files }

// Source returns the text of the named shader file, e.g. "pbr.frag".
func Source(name string) (string, error) {
	b, err := files.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return string(b), nil
}

// Names lists the embedded shader files in lexical order.
func Names() []string {
	entries, _ := files.ReadDir(".") // the embedded root always exists
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}
