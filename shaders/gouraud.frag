#version 330 core
// gouraud.frag: the fast scene pass's fragment stage (see gouraud.vert). Untextured, it
// writes the interpolated vertex colour; with TEXTURED it multiplies the diffuse light by
// the base-colour texture, adds the specular light, tone maps (ACES fit) and sRGB encodes.
// Blended output is premultiplied by the opacity (alpha x transmission). The ALPHA_MASK
// variant discards pixels whose alpha is below the cutoff; it is a separate program because
// a shader that may discard keeps software rasterisers from testing depth early.

#ifdef TEXTURED
in vec3 vDiffuse;
in vec3 vSpecular;
in vec2 vUV;
in float vAlpha;

uniform sampler2D uBaseColorTex; // an sRGB texture: sampling returns linear values
uniform int uAlphaMode;          // 0 opaque, 1 mask, 2 blend
uniform float uTransmitOpacity;

vec3 toneMapACES(vec3 x) {
    return clamp((x * (2.51 * x + 0.03)) / (x * (2.43 * x + 0.59) + 0.14), 0.0, 1.0);
}

vec3 linearToSRGB(vec3 c) {
    c = clamp(c, 0.0, 1.0);
    vec3 lo = c * 12.92;
    vec3 hi = 1.055 * pow(c, vec3(1.0 / 2.4)) - 0.055;
    return mix(lo, hi, step(vec3(0.0031308), c));
}
#else
in vec4 vColor;
#endif

#ifdef ALPHA_MASK
uniform float uAlphaCutoff;
#endif

out vec4 fragColor;

void main() {
#ifdef TEXTURED
    vec4 tex = texture(uBaseColorTex, vUV);
    vec3 color = linearToSRGB(toneMapACES(vDiffuse * tex.rgb + vSpecular));
#ifdef ALPHA_MASK
    if (vAlpha * tex.a < uAlphaCutoff) {
        discard;
    }
    fragColor = vec4(color, 1.0);
#else
    float a = (uAlphaMode == 2 ? vAlpha * tex.a : 1.0) * uTransmitOpacity;
    fragColor = vec4(color * a, a);
#endif
#else
#ifdef ALPHA_MASK
    if (vColor.a < uAlphaCutoff) {
        discard;
    }
    fragColor = vec4(vColor.rgb, 1.0);
#else
    fragColor = vColor;
#endif
#endif
}
