#version 330 core
// shadow.frag: the shadow map's depth pass writes depth alone (no colour attachment). The
// ALPHA_MASK variant discards what the scene pass cuts away (alpha below the cutoff: base
// colour alpha x vertex alpha x the base colour texture's alpha), so cut-out surfaces cast
// cut-out shadows.

#ifdef ALPHA_MASK
in vec2 vUV;
in float vAlpha;

uniform float uBaseAlpha;   // the base colour factor's alpha
uniform float uAlphaCutoff;
uniform bool uHasTexture;
uniform sampler2D uBaseColorTex;
#endif

void main() {
#ifdef ALPHA_MASK
    float a = uBaseAlpha * vAlpha;
    if (uHasTexture) {
        a *= texture(uBaseColorTex, vUV).a;
    }
    if (a < uAlphaCutoff) {
        discard;
    }
#endif
}
