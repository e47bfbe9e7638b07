#version 330 core
// pbr.frag: glTF-style metallic-roughness shading.
//
// Light units: a light's colour times intensity is the radiance a white, rough, dielectric
// surface facing it reflects (the 1/pi of the Lambert lobe is folded into the light), so a
// directional light of intensity 1 shows a white surface at its full colour before tone
// mapping. Point lights fall off with the squared distance (intensity 1 at 1 unit).
// Lit results are tone mapped (ACES fit) and sRGB encoded; unlit materials are only sRGB
// encoded, so an unlit colour 1.0 stays exactly white (255).
//
// The renderer compiles this file twice: as is for lit materials and with UNLIT defined for
// unlit ones (a run-time branch costs every lit pixel on software rasterisers).

const int MAX_LIGHTS = 8; // equals scenes.MaxLights (checked by a render test)
const float PI = 3.14159265359;

in vec3 vWorldPos;
in vec3 vNormal;
in vec2 vUV;

uniform vec3 uCameraPos;

uniform vec4 uBaseColor;   // linear RGBA
uniform float uMetallic;
uniform float uRoughness;  // perceptual roughness, 0..1
uniform vec3 uEmissive;    // linear RGB
uniform bool uHasTexture;
uniform bool uHasNormals;  // false: flat normals from screen-space derivatives
uniform sampler2D uBaseColorTex; // an sRGB texture: sampling returns linear values

uniform vec3 uAmbient;     // linear RGB
uniform float uExposure;
uniform int uLightCount;
uniform vec3 uLightColor[MAX_LIGHTS];   // colour * intensity, linear
// Point lights: (position, 1). Directional lights: (unit vector toward the light, 0).
uniform vec4 uLightVector[MAX_LIGHTS];

out vec4 fragColor;

float distributionGGX(float NdotH, float alpha) {
    float a2 = alpha * alpha;
    float d = NdotH * NdotH * (a2 - 1.0) + 1.0;
    return a2 / (PI * d * d);
}

// Height-correlated Smith-GGX visibility term (G / (4 NdotL NdotV)), Hammon's
// approximation (GDC 2017): no square roots, within a few percent of the exact form.
float visibilitySmithGGX(float NdotV, float NdotL, float alpha) {
    return 0.5 / max(mix(2.0 * NdotL * NdotV, NdotL + NdotV, alpha), 1e-5);
}

vec3 fresnelSchlick(float cosTheta, vec3 f0) {
    float m = 1.0 - cosTheta;
    float m2 = m * m;
    return f0 + (1.0 - f0) * (m2 * m2 * m);
}

// Split-sum environment BRDF approximation (Karis, "Physically Based Shading on Mobile"),
// used to light the specular part with the uniform ambient colour.
vec3 envBRDFApprox(vec3 f0, float roughness, float NdotV) {
    const vec4 c0 = vec4(-1.0, -0.0275, -0.572, 0.022);
    const vec4 c1 = vec4(1.0, 0.0425, 1.04, -0.04);
    vec4 r = roughness * c0 + c1;
    float a004 = min(r.x * r.x, exp2(-9.28 * NdotV)) * r.x + r.y;
    vec2 ab = vec2(-1.04, 1.04) * a004 + r.zw;
    return f0 * ab.x + ab.y;
}

// ACES filmic curve fit (Narkowicz 2015).
vec3 toneMapACES(vec3 x) {
    return clamp((x * (2.51 * x + 0.03)) / (x * (2.43 * x + 0.59) + 0.14), 0.0, 1.0);
}

vec3 linearToSRGB(vec3 c) {
    c = clamp(c, 0.0, 1.0);
    vec3 lo = c * 12.92;
    vec3 hi = 1.055 * pow(c, vec3(1.0 / 2.4)) - 0.055;
    return mix(lo, hi, step(vec3(0.0031308), c));
}

void main() {
    vec3 base = uBaseColor.rgb;
    if (uHasTexture) {
        base *= texture(uBaseColorTex, vUV).rgb;
    }
#ifdef UNLIT
    fragColor = vec4(linearToSRGB(base + uEmissive), 1.0);
#else
    vec3 V = normalize(uCameraPos - vWorldPos);
    // Double-sided surfaces are lit on the side the camera sees. Derivative (flat) normals
    // always face the camera.
    vec3 N = uHasNormals ? (gl_FrontFacing ? vNormal : -vNormal)
                         : cross(dFdx(vWorldPos), dFdy(vWorldPos));
    N = length(N) > 1e-12 ? normalize(N) : V;
    float NdotV = max(dot(N, V), 1e-4);

    float metallic = clamp(uMetallic, 0.0, 1.0);
    float roughness = clamp(uRoughness, 0.045, 1.0);
    float alpha = roughness * roughness;
    vec3 f0 = mix(vec3(0.04), base, metallic);
    vec3 diffuseColor = base * (1.0 - metallic);

    vec3 color = vec3(0.0);
    for (int i = 0; i < uLightCount && i < MAX_LIGHTS; i++) {
        vec4 lv = uLightVector[i];
        vec3 toLight = lv.xyz - vWorldPos * lv.w;
        float d2 = max(dot(toLight, toLight), 1e-4);
        vec3 L = toLight * inversesqrt(d2);
        vec3 radiance = uLightColor[i] / mix(1.0, d2, lv.w);
        float NdotL = max(dot(N, L), 0.0);
        vec3 H = normalize(L + V);
        float NdotH = max(dot(N, H), 0.0);
        float VdotH = max(dot(V, H), 0.0);
        vec3 F = fresnelSchlick(VdotH, f0);
        vec3 specular = PI * distributionGGX(NdotH, alpha) * visibilitySmithGGX(NdotV, NdotL, alpha) * F;
        vec3 diffuse = (1.0 - F) * diffuseColor;
        color += (diffuse + specular) * radiance * NdotL;
    }
    color += uAmbient * (diffuseColor + envBRDFApprox(f0, roughness, NdotV));
    color += uEmissive;

    fragColor = vec4(linearToSRGB(toneMapACES(color * uExposure)), 1.0);
#endif
}
