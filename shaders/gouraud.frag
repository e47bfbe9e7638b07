#version 330 core
// gouraud.frag: the fast scene pass's fragment stage (see gouraud.vert). Untextured, it
// writes the interpolated vertex colour; with TEXTURED it multiplies the diffuse light by
// the base-colour texture, adds the specular light, tone maps (ACES fit) and sRGB encodes.

#ifdef TEXTURED
in vec3 vDiffuse;
in vec3 vSpecular;
in vec2 vUV;

uniform sampler2D uBaseColorTex; // an sRGB texture: sampling returns linear values

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
in vec3 vColor;
#endif

out vec4 fragColor;

void main() {
#ifdef TEXTURED
    vec3 color = vDiffuse * texture(uBaseColorTex, vUV).rgb + vSpecular;
    fragColor = vec4(linearToSRGB(toneMapACES(color)), 1.0);
#else
    fragColor = vec4(vColor, 1.0);
#endif
}
