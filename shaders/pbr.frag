#version 330 core
// pbr.frag: glTF-style metallic-roughness shading.
//
// Light units: a light's colour times intensity is the radiance a white, rough, dielectric
// surface facing it reflects (the 1/pi of the Lambert lobe is folded into the light), so a
// directional light of intensity 1 shows a white surface at its full colour before tone
// mapping. Point and spot lights fall off with the squared distance (intensity 1 at 1
// unit); spot lights also fade from the inner to the outer cone (KHR_lights_punctual).
// Lit results are tone mapped (ACES fit) and sRGB encoded; unlit materials are only sRGB
// encoded, so an unlit colour 1.0 stays exactly white (255).
//
// Material inputs (glTF 2.0): base colour factor x texture x vertex colour, metallic and
// roughness factors x texture (blue, green), tangent-space normal map with scale, occlusion
// with strength (on the indirect light), emissive factor x texture, alpha (MASK discards
// below the cutoff; BLEND and transmission write premultiplied colour for the renderer's
// blended pass), KHR_materials_ior and _specular (dielectric F0 and F90), _clearcoat (a
// second GGX lobe on the geometric normal) and _transmission (approximated: the surface's
// opacity drops by the transmission factor while its specular reflection stays); clearcoat
// and transmission factors may be scaled by their textures (the clearcoat normal map is not
// read: the clearcoat uses the geometric normal). Each
// texture reads coordinate set 0 or 1 through its KHR_texture_transform matrix.
//
// The light is the sum of directLight (the punctual lights, each times lightShadow) and
// indirectLight (the ambient colour today): an environment and shadows plug in there.
//
// The renderer compiles variants (run-time branches cost every pixel on software
// rasterisers, and a shader that may discard keeps them from testing depth early):
//   - as is: lit materials with at most a base colour texture (on coordinate set 0), vertex
//     colours, alpha BLEND, ior and specular (the common case, kept cheap);
//   - MATERIAL_MAPS: the metallic-roughness, normal, occlusion and emissive textures,
//     texture coordinate set 1, clearcoat and transmission as well, and spot cones (the
//     renderer uses it for every lit material of a scene with spot lights);
//   - ALPHA_MASK (with MATERIAL_MAPS, or with UNLIT): alpha-tested materials;
//   - UNLIT: unlit materials; with MATERIAL_MAPS, whose base colour texture reads set 1;
//   - SHADOWS (with the lit ones): the key light's shadow map (frames with shadows).

const int MAX_LIGHTS = 8; // equals scenes.MaxLights (checked by a render test)
const float PI = 3.14159265359;

// Texture slots: the index into uHasTex, uTexSet and uTexTransform, and the texture unit.
const int TEX_BASE = 0;
const int TEX_MR = 1;
const int TEX_NORMAL = 2;
const int TEX_OCCLUSION = 3;
const int TEX_EMISSIVE = 4;
const int TEX_CLEARCOAT = 5;       // red: clearcoat factor
const int TEX_CLEARCOAT_ROUGH = 6; // green: clearcoat roughness
const int TEX_TRANSMISSION = 7;    // red: transmission factor
const int TEX_COUNT = 8;

in vec3 vWorldPos;
in vec3 vNormal;
in vec2 vUV;
#ifdef MATERIAL_MAPS
in vec2 vUV1;
#ifndef UNLIT
in vec4 vTangent;
#endif
#endif
in vec4 vColor;

uniform vec3 uCameraPos;

uniform vec4 uBaseColor;   // linear RGBA
uniform float uMetallic;
uniform float uRoughness;  // perceptual roughness, 0..1
uniform vec3 uEmissive;    // linear RGB, emissive strength included
uniform bool uHasNormals;  // false: flat normals from screen-space derivatives
uniform bool uHasTangents; // the normal map has tangents to use
uniform bool uHasTexture;  // base colour texture (the same as uHasTex[TEX_BASE])
uniform bool uHasTex[TEX_COUNT];
uniform int uTexSet[TEX_COUNT];        // texture coordinate set, 0 or 1
uniform mat3 uTexTransform[TEX_COUNT]; // KHR_texture_transform (identity without)
uniform sampler2D uBaseColorTex;  // sRGB: sampling returns linear values
uniform sampler2D uMetalRoughTex; // linear
uniform sampler2D uNormalTex;     // linear
uniform sampler2D uOcclusionTex;  // linear
uniform sampler2D uEmissiveTex;   // sRGB
uniform sampler2D uClearcoatTex;      // linear
uniform sampler2D uClearcoatRoughTex; // linear
uniform sampler2D uTransmissionTex;   // linear
uniform float uNormalScale;
uniform float uOcclusionStrength;
uniform int uAlphaMode;            // 0 opaque, 1 mask, 2 blend
uniform float uAlphaCutoff;
uniform vec3 uDielectricF0;        // from ior and the specular extension (0.04 by default)
uniform float uSpecularWeight;     // the specular extension's factor (F90 of dielectrics)
uniform float uClearcoat;
uniform float uClearcoatRoughness;
uniform float uTransmission;

uniform vec3 uAmbient;     // linear RGB
uniform float uExposure;
uniform int uLightCount;
uniform vec3 uLightColor[MAX_LIGHTS];   // colour * intensity, linear
// Point and spot lights: (position, 1). Directional lights: (unit vector toward the light, 0).
uniform vec4 uLightVector[MAX_LIGHTS];
// Spot lights: the unit direction the light travels and the cone's (scale, offset), so that
// the attenuation is clamp(dot(dir, -L) * scale + offset, 0, 1)^2; other lights (0, 1).
uniform vec3 uLightSpotDir[MAX_LIGHTS];
uniform vec2 uLightCone[MAX_LIGHTS];
uniform int uSpotStart; // lights from this index on are spot lights

#ifdef ENVIRONMENT
// Image-based light (ENVIRONMENT variant, for scenes with an environment; render/env.go,
// shaders/envfilter.frag): the environment's prefiltered panoramas replace the uniform
// ambient colour.
uniform sampler2D uEnvIrradiance; // diffuse radiance per unit albedo, by normal
uniform sampler2D uEnvSpecular;   // GGX-prefiltered chain: level = roughness * uEnvMaxLevel
uniform sampler2D uEnvBRDF;       // split-sum scale (red) and bias (green) of F0
uniform float uEnvMaxLevel;
#endif

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

vec3 fresnelSchlick(float cosTheta, vec3 f0, float f90) {
    float m = 1.0 - cosTheta;
    float m2 = m * m;
    return f0 + (f90 - f0) * (m2 * m2 * m);
}

// Split-sum environment BRDF approximation (Karis, "Physically Based Shading on Mobile"),
// used to light the specular part with the uniform ambient colour.
vec3 envBRDFApprox(vec3 f0, float f90, float roughness, float NdotV) {
    const vec4 c0 = vec4(-1.0, -0.0275, -0.572, 0.022);
    const vec4 c1 = vec4(1.0, 0.0425, 1.04, -0.04);
    vec4 r = roughness * c0 + c1;
    float a004 = min(r.x * r.x, exp2(-9.28 * NdotV)) * r.x + r.y;
    vec2 ab = vec2(-1.04, 1.04) * a004 + r.zw;
    return f0 * ab.x + f90 * ab.y;
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

// texUV returns the coordinates texture slot i reads.
vec2 texUV(int i) {
#ifdef MATERIAL_MAPS
    vec2 uv = uTexSet[i] == 1 ? vUV1 : vUV;
#else
    vec2 uv = vUV; // a base colour texture on set 1 takes the MATERIAL_MAPS variant
#endif
    return (uTexTransform[i] * vec3(uv, 1.0)).xy;
}

// Surface is what the material gives a lit pixel.
struct Surface {
    vec3 N;          // shading normal (normal-mapped), unit, facing the viewer's side
    vec3 Ng;         // geometric normal (clearcoat), unit
    vec3 V;
    float NdotV;
    vec3 diffuseColor;
    vec3 f0;
    float f90;
    float roughness;
    float alpha;     // GGX alpha = roughness^2
    float occlusion;
    float clearcoat;   // factor x texture
    float ccRoughness; // clearcoat roughness, factor x texture
};

#ifdef SHADOWS
// Shadows (render/shadow.go; the SHADOWS variants): the key light's shadow map, a depth
// texture read through a comparison sampler (linear filtering: each tap compares the four
// nearest texels and blends). uShadowLight is the index of the light it belongs to.
uniform int uShadowLight;
uniform mat4 uShadowMatrix;        // world to map: xy 0..1 and depth 0..1, after division by w
uniform sampler2DShadow uShadowMap;
uniform vec2 uShadowTexel;         // x: a texel in texture units; y: its world size at w = 1

float gKeyShadow = 1.0; // keyShadow at this pixel, computed once before the light loop

// keyShadow is the fraction of the key light that reaches P: percentage-closer filtering
// over the 3x3 texels around P moved a texel and a half along the geometric normal Ng,
// turned toward the light (the normal offset: with the depth pass's slope-scaled bias, no
// self-shadowing acne). Outside the map, lit.
float keyShadow(vec3 P, vec3 Ng) {
    vec4 lv = uLightVector[uShadowLight];
    vec3 L = normalize(lv.xyz - P * lv.w);
    Ng = dot(Ng, L) < 0.0 ? -Ng : Ng;
    float w = (uShadowMatrix * vec4(P, 1.0)).w;
    vec4 c = uShadowMatrix * vec4(P + Ng * (1.5 * uShadowTexel.y * max(w, 0.0)), 1.0);
    if (c.w <= 0.0) {
        return 1.0;
    }
    vec3 t = c.xyz / c.w;
    if (t.z >= 1.0) {
        return 1.0;
    }
    // Four filtered taps half a texel off the centre: each blends 2x2 comparisons, together
    // the 3x3 texels around P weighted as a tent (1 2 1 by 1 2 1), at under half the cost
    // of nine taps on software rasterisers.
    vec2 d = vec2(0.5 * uShadowTexel.x);
    float lit = texture(uShadowMap, vec3(t.xy + vec2(-d.x, -d.y), t.z))
              + texture(uShadowMap, vec3(t.xy + vec2(d.x, -d.y), t.z))
              + texture(uShadowMap, vec3(t.xy + vec2(-d.x, d.y), t.z))
              + texture(uShadowMap, vec3(t.xy + vec2(d.x, d.y), t.z));
    return lit * 0.25;
}
#endif

// lightShadow is the fraction of light i that reaches P: the key light's shadow in the
// SHADOWS variants, else 1.
float lightShadow(int i, vec3 P) {
#ifdef SHADOWS
    return i == uShadowLight ? gKeyShadow : 1.0;
#else
    return 1.0;
#endif
}

// lightContribution is light i's reflected light at the pixel (spot: apply its cone); spec
// accumulates the specular part alone.
vec3 lightContribution(Surface s, int i, bool spot, inout vec3 spec) {
    vec4 lv = uLightVector[i];
    vec3 toLight = lv.xyz - vWorldPos * lv.w;
    float d2 = max(dot(toLight, toLight), 1e-4);
    vec3 L = toLight * inversesqrt(d2);
    vec3 radiance = uLightColor[i] / mix(1.0, d2, lv.w) * lightShadow(i, vWorldPos);
    if (spot) {
        float cone = clamp(dot(uLightSpotDir[i], -L) * uLightCone[i].x + uLightCone[i].y, 0.0, 1.0);
        radiance *= cone * cone;
    }
    float NdotL = max(dot(s.N, L), 0.0);
    vec3 H = normalize(L + s.V);
    float NdotH = max(dot(s.N, H), 0.0);
    float VdotH = max(dot(s.V, H), 0.0);
    vec3 F = fresnelSchlick(VdotH, s.f0, s.f90);
    vec3 specular = PI * distributionGGX(NdotH, s.alpha) * visibilitySmithGGX(s.NdotV, NdotL, s.alpha) * F;
    vec3 diffuse = (1.0 - F) * s.diffuseColor;
    vec3 lit = (diffuse + specular) * radiance * NdotL;
    vec3 litSpec = specular * radiance * NdotL;
#ifdef MATERIAL_MAPS
    if (s.clearcoat > 0.0) {
        float ccAlpha = max(s.ccRoughness, 0.045);
        ccAlpha *= ccAlpha;
        float NgdotV = max(dot(s.Ng, s.V), 1e-4);
        float ccNdotL = max(dot(s.Ng, L), 0.0);
        float ccNdotH = max(dot(s.Ng, H), 0.0);
        float Fc = fresnelSchlick(VdotH, vec3(0.04), 1.0).x * s.clearcoat;
        vec3 cc = vec3(PI * distributionGGX(ccNdotH, ccAlpha) * visibilitySmithGGX(NgdotV, ccNdotL, ccAlpha) * Fc)
                  * radiance * ccNdotL;
        lit = lit * (1.0 - Fc) + cc;
        litSpec = litSpec * (1.0 - Fc) + cc;
    }
#endif
    spec += litSpec;
    return lit;
}

// directLight sums the punctual lights; spec receives the specular part alone. The renderer
// puts spot lights last (from uSpotStart); only MATERIAL_MAPS applies cones (one loop with
// no cones is measurably cheaper on llvmpipe than two loops).
vec3 directLight(Surface s, out vec3 spec) {
    vec3 color = vec3(0.0);
    spec = vec3(0.0);
#ifdef MATERIAL_MAPS
    int n = min(uLightCount, MAX_LIGHTS);
    int spots = clamp(uSpotStart, 0, n);
    for (int i = 0; i < spots; i++) {
        color += lightContribution(s, i, false, spec);
    }
    for (int i = spots; i < n; i++) {
        color += lightContribution(s, i, true, spec);
    }
#else
    // No spot lights here: the renderer draws scenes that have some with MATERIAL_MAPS.
    for (int i = 0; i < uLightCount && i < MAX_LIGHTS; i++) {
        color += lightContribution(s, i, false, spec);
    }
#endif
    return color;
}

#ifdef ENVIRONMENT
// panoramaUV returns where direction d is in an environment panorama (scenes.Environment).
vec2 panoramaUV(vec3 d) {
    return vec2(atan(d.x, -d.z) / (2.0 * PI) + 0.5, acos(clamp(d.y, -1.0, 1.0)) / PI);
}

// envSpecular is the environment's light reflected specularly along normal N with the
// given roughness (split sum: prefiltered light times the BRDF's scale and bias).
vec3 envSpecular(vec3 N, vec3 V, float NdotV, vec3 f0, float f90, float roughness) {
    vec3 R = reflect(-V, N);
    vec3 pre = textureLod(uEnvSpecular, panoramaUV(R), roughness * uEnvMaxLevel).rgb;
    vec2 ab = textureLod(uEnvBRDF, vec2(NdotV, roughness), 0.0).rg;
    return pre * (f0 * ab.x + f90 * ab.y);
}

// envLight is indirectLight with the scene's environment (split-sum image-based light).
vec3 envLight(Surface s, out vec3 spec) {
    spec = envSpecular(s.N, s.V, s.NdotV, s.f0, s.f90, s.roughness) * s.occlusion;
    vec3 color = textureLod(uEnvIrradiance, panoramaUV(s.N), 0.0).rgb * s.diffuseColor * s.occlusion + spec;
#ifdef MATERIAL_MAPS
    if (s.clearcoat > 0.0) {
        float NgdotV = max(dot(s.Ng, s.V), 1e-4);
        float Fc = fresnelSchlick(NgdotV, vec3(0.04), 1.0).x * s.clearcoat;
        vec3 cc = envSpecular(s.Ng, s.V, NgdotV, vec3(0.04), 1.0, max(s.ccRoughness, 0.045)) * s.clearcoat * s.occlusion;
        color = color * (1.0 - Fc) + cc;
        spec = spec * (1.0 - Fc) + cc;
    }
#endif
    return color;
}
#endif

// indirectLight is the light that does not come straight from a punctual light: the
// environment when the scene has one (envLight), else the uniform ambient colour, darkened
// by occlusion; spec receives the specular part alone.
vec3 indirectLight(Surface s, out vec3 spec) {
#ifdef ENVIRONMENT
    return envLight(s, spec);
#else
    spec = uAmbient * envBRDFApprox(s.f0, s.f90, s.roughness, s.NdotV) * s.occlusion;
    vec3 color = uAmbient * s.diffuseColor * s.occlusion + spec;
#ifdef MATERIAL_MAPS
    if (s.clearcoat > 0.0) {
        float NgdotV = max(dot(s.Ng, s.V), 1e-4);
        float Fc = fresnelSchlick(NgdotV, vec3(0.04), 1.0).x * s.clearcoat;
        vec3 cc = uAmbient * envBRDFApprox(vec3(0.04), 1.0, max(s.ccRoughness, 0.045), NgdotV) * s.clearcoat * s.occlusion;
        color = color * (1.0 - Fc) + cc;
        spec = spec * (1.0 - Fc) + cc;
    }
#endif
    return color;
#endif
}

void main() {
    vec4 base = uBaseColor * vColor;
    if (uHasTexture) {
        base *= texture(uBaseColorTex, texUV(TEX_BASE));
    }
#ifdef ALPHA_MASK
    if (base.a < uAlphaCutoff) {
        discard;
    }
    float alpha = 1.0;
#else
    float alpha = uAlphaMode == 2 ? base.a : 1.0;
#endif
#ifdef UNLIT
    fragColor = vec4(linearToSRGB(base.rgb + uEmissive) * alpha, alpha);
#else
    Surface s;
    s.V = normalize(uCameraPos - vWorldPos);
    // Double-sided surfaces are lit on the side the camera sees. Derivative (flat) normals
    // always face the camera.
    vec3 Ng = uHasNormals ? vNormal : cross(dFdx(vWorldPos), dFdy(vWorldPos));
    Ng = length(Ng) > 1e-12 ? normalize(Ng) : s.V;
    vec3 N = Ng;
#ifdef MATERIAL_MAPS
    if (uHasTex[TEX_NORMAL] && uHasTangents) {
        vec3 T = vTangent.xyz - Ng * dot(Ng, vTangent.xyz);
        if (length(T) > 1e-12) {
            T = normalize(T);
            vec3 B = cross(Ng, T) * (vTangent.w < 0.0 ? -1.0 : 1.0);
            vec3 n = texture(uNormalTex, texUV(TEX_NORMAL)).xyz * 2.0 - 1.0;
            n.xy *= uNormalScale;
            vec3 bent = T * n.x + B * n.y + Ng * n.z;
            N = length(bent) > 1e-12 ? normalize(bent) : Ng;
        }
    }
#endif
    if (uHasNormals && !gl_FrontFacing) {
        N = -N;
        Ng = -Ng;
    }
    s.N = N;
    s.Ng = Ng;
    s.NdotV = max(dot(N, s.V), 1e-4);

    float metallic = clamp(uMetallic, 0.0, 1.0);
    float roughness = uRoughness;
#ifdef MATERIAL_MAPS
    if (uHasTex[TEX_MR]) {
        vec4 mr = texture(uMetalRoughTex, texUV(TEX_MR));
        metallic *= mr.b;
        roughness *= mr.g;
    }
#endif
    s.roughness = clamp(roughness, 0.045, 1.0);
    s.alpha = s.roughness * s.roughness;
    s.f0 = mix(uDielectricF0, base.rgb, metallic);
    s.f90 = mix(uSpecularWeight, 1.0, metallic);
    s.diffuseColor = base.rgb * (1.0 - metallic);
    s.occlusion = 1.0;
    vec3 emissive = uEmissive;
#ifdef MATERIAL_MAPS
    if (uHasTex[TEX_OCCLUSION]) {
        s.occlusion = 1.0 + uOcclusionStrength * (texture(uOcclusionTex, texUV(TEX_OCCLUSION)).r - 1.0);
    }
    if (uHasTex[TEX_EMISSIVE]) {
        emissive *= texture(uEmissiveTex, texUV(TEX_EMISSIVE)).rgb;
    }
    s.clearcoat = uClearcoat;
    s.ccRoughness = uClearcoatRoughness;
    if (uHasTex[TEX_CLEARCOAT]) {
        s.clearcoat *= texture(uClearcoatTex, texUV(TEX_CLEARCOAT)).r;
    }
    if (uHasTex[TEX_CLEARCOAT_ROUGH]) {
        s.ccRoughness *= texture(uClearcoatRoughTex, texUV(TEX_CLEARCOAT_ROUGH)).g;
    }
    float transmission = uTransmission;
    if (uHasTex[TEX_TRANSMISSION]) {
        transmission *= texture(uTransmissionTex, texUV(TEX_TRANSMISSION)).r;
    }
#endif

#ifdef SHADOWS
    gKeyShadow = keyShadow(vWorldPos, s.Ng);
#endif
    vec3 directSpec, indirectSpec;
    vec3 color = directLight(s, directSpec) + indirectLight(s, indirectSpec) + emissive;
    vec3 shaded = linearToSRGB(toneMapACES(color * uExposure));
#ifdef MATERIAL_MAPS
    // Transmission (approximated): the surface lets the background through in proportion
    // to the transmission factor (dielectric part only) and keeps its specular highlights.
    float opacity = alpha * (1.0 - transmission * (1.0 - metallic));
    if (opacity < 1.0) {
        vec3 highlight = linearToSRGB(toneMapACES((directSpec + indirectSpec) * uExposure));
        fragColor = vec4(shaded * opacity + highlight * (1.0 - opacity) * float(transmission > 0.0), opacity);
    } else {
        fragColor = vec4(shaded, 1.0);
    }
#else
    fragColor = vec4(shaded * alpha, alpha);
#endif
#endif
}
