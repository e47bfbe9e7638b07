#version 330 core
// gouraud.vert: the fast scene pass (render.ShadingFast) for lit materials with vertex
// normals. It evaluates pbr.frag's light model (GGX, Smith visibility, Schlick Fresnel,
// ambient, emissive; same light units) once per vertex instead of once per pixel, so
// gouraud.frag has almost nothing left to do: on software rasterisers the per-pixel work
// is what costs. Highlights are interpolated between vertices, so small ones soften.
//
// Without TEXTURED the vertex colour is final (tone mapped and sRGB encoded here). With
// TEXTURED the diffuse and specular parts stay linear and separate: gouraud.frag multiplies
// the diffuse part by the base-colour texture, then tone maps and encodes.
//
// Of the material model it keeps what is cheap and visible: base colour factor, vertex
// colour and texture (with its coordinate set and transform), alpha (BLEND and transmission
// as premultiplied opacity; MASK in the ALPHA_MASK variant, whose fragment stage discards),
// double-sided lighting, spot cones (SPOT_LIGHTS variant) and the emissive factor. Normal, metallic-roughness,
// occlusion and emissive textures and clearcoat are left to pbr.frag.

const int MAX_LIGHTS = 8; // equals scenes.MaxLights (checked by a render test)
const float PI = 3.14159265359;

layout(location = 0) in vec3 aPosition;
layout(location = 1) in vec3 aNormal;
layout(location = 2) in vec2 aUV;
layout(location = 3) in vec2 aUV1;
layout(location = 5) in vec4 aColor; // white when the primitive has no vertex colours

uniform mat4 uModel;        // object to world
uniform mat3 uNormalMatrix; // inverse transpose of uModel's upper 3x3
uniform mat4 uViewProj;     // world to clip
uniform vec3 uCameraPos;

uniform vec4 uBaseColor;   // linear RGBA
uniform float uMetallic;
uniform float uRoughness;  // perceptual roughness, 0..1
uniform vec3 uEmissive;    // linear RGB
uniform bool uDoubleSided;
uniform int uAlphaMode;          // 0 opaque, 1 mask, 2 blend
uniform float uTransmitOpacity;  // 1 - transmission * (1 - metallic)
uniform int uTexSet[1];          // the base colour texture's coordinate set
uniform mat3 uTexTransform[1];   // its KHR_texture_transform

uniform vec3 uAmbient;     // linear RGB
uniform float uExposure;
uniform int uLightCount;
uniform vec3 uLightColor[MAX_LIGHTS];   // colour * intensity, linear
// Point and spot lights: (position, 1). Directional lights: (unit vector toward the light, 0).
uniform vec4 uLightVector[MAX_LIGHTS];
// Spot lights: direction and cone (scale, offset); other lights (0, 1). See pbr.frag. Read
// by the SPOT_LIGHTS variant alone, which the renderer uses for scenes with spot lights: the
// cone costs every vertex (about 5% of the demo's fast pass on llvmpipe).
uniform vec3 uLightSpotDir[MAX_LIGHTS];
uniform vec2 uLightCone[MAX_LIGHTS];
#ifdef ENVIRONMENT
// Image-based light, cheaply (ENVIRONMENT variant, for scenes with an environment): the
// environment's diffuse light as 9 spherical-harmonic coefficients (scenes.Environment.SH)
// replaces the ambient colour, for the diffuse part at the normal and, blurred as a tint,
// the specular part at the reflection.
uniform vec3 uEnvSH[9];
#endif

#ifdef TEXTURED
out vec3 vDiffuse;  // linear light reflected diffusely per unit of texture colour
out vec3 vSpecular; // linear specular, ambient specular and emissive light
out vec2 vUV;
out float vAlpha;   // base colour and vertex alpha
#else
// Final, sRGB encoded; premultiplied by the opacity, except with ALPHA_MASK where alpha is
// the value to test.
out vec4 vColor;
#endif

float distributionGGX(float NdotH, float alpha) {
    float a2 = alpha * alpha;
    float d = NdotH * NdotH * (a2 - 1.0) + 1.0;
    return a2 / (PI * d * d);
}

float visibilitySmithGGX(float NdotV, float NdotL, float alpha) {
    return 0.5 / max(mix(2.0 * NdotL * NdotV, NdotL + NdotV, alpha), 1e-5);
}

vec3 fresnelSchlick(float cosTheta, vec3 f0) {
    float m = 1.0 - cosTheta;
    float m2 = m * m;
    return f0 + (1.0 - f0) * (m2 * m2 * m);
}

vec3 envBRDFApprox(vec3 f0, float roughness, float NdotV) {
    const vec4 c0 = vec4(-1.0, -0.0275, -0.572, 0.022);
    const vec4 c1 = vec4(1.0, 0.0425, 1.04, -0.04);
    vec4 r = roughness * c0 + c1;
    float a004 = min(r.x * r.x, exp2(-9.28 * NdotV)) * r.x + r.y;
    vec2 ab = vec2(-1.04, 1.04) * a004 + r.zw;
    return f0 * ab.x + ab.y;
}

#ifdef ENVIRONMENT
// envSH evaluates uEnvSH at unit direction d.
vec3 envSH(vec3 d) {
    return uEnvSH[0] * 0.282095
        + 0.488603 * (uEnvSH[1] * d.y + uEnvSH[2] * d.z + uEnvSH[3] * d.x)
        + 1.092548 * (uEnvSH[4] * (d.x * d.y) + uEnvSH[5] * (d.y * d.z) + uEnvSH[7] * (d.x * d.z))
        + uEnvSH[6] * (0.315392 * (3.0 * d.z * d.z - 1.0)) + uEnvSH[8] * (0.546274 * (d.x * d.x - d.y * d.y));
}
#endif

#ifndef TEXTURED
vec3 toneMapACES(vec3 x) {
    return clamp((x * (2.51 * x + 0.03)) / (x * (2.43 * x + 0.59) + 0.14), 0.0, 1.0);
}

vec3 linearToSRGB(vec3 c) {
    c = clamp(c, 0.0, 1.0);
    vec3 lo = c * 12.92;
    vec3 hi = 1.055 * pow(c, vec3(1.0 / 2.4)) - 0.055;
    return mix(lo, hi, step(vec3(0.0031308), c));
}
#endif

void main() {
    vec4 world = uModel * vec4(aPosition, 1.0);
    gl_Position = uViewProj * world;
    vec3 P = world.xyz;

    vec3 V = normalize(uCameraPos - P);
    vec3 N = uNormalMatrix * aNormal;
    N = length(N) > 1e-12 ? normalize(N) : V;
    // Double-sided surfaces are lit on the side the camera sees. pbr.frag asks
    // gl_FrontFacing, which a vertex shader does not have: turn normals facing away from
    // the camera. Not on single-sided surfaces, whose back faces are culled: there such
    // normals are the silhouette's, and turning them would light the rim.
    N = uDoubleSided && dot(N, V) < 0.0 ? -N : N;
    float NdotV = max(dot(N, V), 1e-4);

    vec4 base4 = uBaseColor * aColor;
    vec3 base = base4.rgb;
    float metallic = clamp(uMetallic, 0.0, 1.0);
    float roughness = clamp(uRoughness, 0.045, 1.0);
    float alpha = roughness * roughness;
    vec3 f0 = mix(vec3(0.04), base, metallic);
    float dielectric = 1.0 - metallic;

    vec3 diffuse = vec3(0.0);  // per unit of base colour
    vec3 specular = vec3(0.0);
    for (int i = 0; i < uLightCount && i < MAX_LIGHTS; i++) {
        vec4 lv = uLightVector[i];
        vec3 toLight = lv.xyz - P * lv.w;
        float d2 = max(dot(toLight, toLight), 1e-4);
        vec3 L = toLight * inversesqrt(d2);
        vec3 radiance = uLightColor[i] / mix(1.0, d2, lv.w);
#ifdef SPOT_LIGHTS
        float cone = clamp(dot(uLightSpotDir[i], -L) * uLightCone[i].x + uLightCone[i].y, 0.0, 1.0);
        radiance *= cone * cone;
#endif
        float NdotL = max(dot(N, L), 0.0);
        vec3 H = normalize(L + V);
        float NdotH = max(dot(N, H), 0.0);
        float VdotH = max(dot(V, H), 0.0);
        vec3 F = fresnelSchlick(VdotH, f0);
        vec3 light = radiance * NdotL;
        specular += PI * distributionGGX(NdotH, alpha) * visibilitySmithGGX(NdotV, NdotL, alpha) * F * light;
        diffuse += (1.0 - F) * light;
    }
#ifdef ENVIRONMENT
    vec3 ambientDiffuse = max(envSH(N), 0.0);
    vec3 ambientSpecular = max(envSH(reflect(-V, N)), 0.0);
#else
    vec3 ambientDiffuse = uAmbient, ambientSpecular = uAmbient;
#endif
    diffuse = (diffuse + ambientDiffuse) * dielectric;
    specular += ambientSpecular * envBRDFApprox(f0, roughness, NdotV) + uEmissive;

#ifdef TEXTURED
    vDiffuse = diffuse * base * uExposure;
    vSpecular = specular * uExposure;
    vUV = (uTexTransform[0] * vec3(uTexSet[0] == 1 ? aUV1 : aUV, 1.0)).xy;
    vAlpha = base4.a;
#else
    vec3 c = linearToSRGB(toneMapACES((diffuse * base + specular) * uExposure));
#ifdef ALPHA_MASK
    vColor = vec4(c, base4.a);
#else
    float a = (uAlphaMode == 2 ? base4.a : 1.0) * uTransmitOpacity;
    vColor = vec4(c * a, a);
#endif
#endif
}
