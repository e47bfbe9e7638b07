#version 330 core
// envfilter.frag: prefilters an environment panorama for image-based light, once per
// environment and OpenGL context (render/env.go). Drawn with fullscreen.vert over one level
// of an equirectangular target (the panorama layout of scenes.Environment: v = 0 looks up
// +Y, u = 0.5 looks along -Z). One variant per product:
//   - IRRADIANCE: the cosine-weighted integral of the panorama over the hemisphere around
//     each texel's direction, divided by pi (the radiance a white diffuse surface reflects),
//     summed over a small mip level of the source.
//   - SPECULAR: the panorama convolved with the GGX distribution of roughness uRoughness
//     (GGX importance sampling with N = V = R, mip-filtered samples; Karis 2013), one level of
//     the specular mip chain per roughness.
//   - BRDF_LUT: the split-sum scale and bias of F0 (red, green) over NdotV (u) and
//     roughness (v).

const float PI = 3.14159265359;

in vec2 vUV;

uniform sampler2D uSource;   // the panorama, linear RGB, with mipmaps
uniform vec2 uSourceSize;    // its level 0 size in texels
uniform float uRoughness;    // SPECULAR: perceptual roughness of this level
uniform int uSamples;        // SPECULAR, BRDF_LUT: sample count
uniform float uSumLevel;     // IRRADIANCE: the source level summed; SPECULAR: level read at roughness 0
uniform vec2 uSumSize;       // IRRADIANCE: that level's size

out vec4 fragColor;

vec3 direction(vec2 uv) {
    float theta = uv.y * PI;
    float phi = (uv.x - 0.5) * 2.0 * PI;
    return vec3(sin(theta) * sin(phi), cos(theta), -sin(theta) * cos(phi));
}

vec2 panoramaUV(vec3 d) {
    return vec2(atan(d.x, -d.z) / (2.0 * PI) + 0.5, acos(clamp(d.y, -1.0, 1.0)) / PI);
}

vec2 hammersley(int i, int n) {
    uint b = uint(i);
    b = (b << 16u) | (b >> 16u);
    b = ((b & 0x55555555u) << 1u) | ((b & 0xAAAAAAAAu) >> 1u);
    b = ((b & 0x33333333u) << 2u) | ((b & 0xCCCCCCCCu) >> 2u);
    b = ((b & 0x0F0F0F0Fu) << 4u) | ((b & 0xF0F0F0F0u) >> 4u);
    b = ((b & 0x00FF00FFu) << 8u) | ((b & 0xFF00FF00u) >> 8u);
    return vec2(float(i) / float(n), float(b) * 2.3283064365386963e-10);
}

// importanceGGX returns a half vector around N distributed as GGX of alpha a.
vec3 importanceGGX(vec2 xi, vec3 N, float a) {
    float phi = 2.0 * PI * xi.x;
    float cosTheta = sqrt((1.0 - xi.y) / (1.0 + (a * a - 1.0) * xi.y));
    float sinTheta = sqrt(1.0 - cosTheta * cosTheta);
    vec3 h = vec3(sinTheta * cos(phi), sinTheta * sin(phi), cosTheta);
    vec3 up = abs(N.y) < 0.999 ? vec3(0.0, 1.0, 0.0) : vec3(1.0, 0.0, 0.0);
    vec3 T = normalize(cross(up, N));
    vec3 B = cross(N, T);
    return normalize(T * h.x + B * h.y + N * h.z);
}

float distributionGGX(float NdotH, float a) {
    float a2 = a * a;
    float d = NdotH * NdotH * (a2 - 1.0) + 1.0;
    return a2 / (PI * d * d);
}

void main() {
#if defined(IRRADIANCE)
    vec3 N = direction(vUV);
    vec3 sum = vec3(0.0);
    int w = int(uSumSize.x), h = int(uSumSize.y);
    float dOmega = (2.0 * PI / float(w)) * (PI / float(h));
    for (int y = 0; y < h; y++) {
        float v = (float(y) + 0.5) / float(h);
        float sinTheta = sin(v * PI);
        for (int x = 0; x < w; x++) {
            vec2 uv = vec2((float(x) + 0.5) / float(w), v);
            float c = dot(N, direction(uv));
            if (c > 0.0) {
                sum += textureLod(uSource, uv, uSumLevel).rgb * (c * sinTheta);
            }
        }
    }
    fragColor = vec4(sum * dOmega / PI, 1.0);
#elif defined(SPECULAR)
    if (uRoughness <= 0.0) {
        // The mirror level: the panorama itself, at the level nearest this target's size.
        fragColor = vec4(textureLod(uSource, vUV, uSumLevel).rgb, 1.0);
        return;
    }
    vec3 N = direction(vUV);
    float a = uRoughness * uRoughness;
    // Solid angle of one source texel at the equator.
    float texelOmega = 4.0 * PI / (uSourceSize.x * uSourceSize.y);
    vec3 sum = vec3(0.0);
    float weight = 0.0;
    for (int i = 0; i < uSamples; i++) {
        vec3 H = importanceGGX(hammersley(i, uSamples), N, a);
        vec3 L = 2.0 * dot(N, H) * H - N;
        float NdotL = dot(N, L);
        if (NdotL > 0.0) {
            float NdotH = max(dot(N, H), 0.0);
            float pdf = distributionGGX(NdotH, a) * 0.25 + 1e-4; // N = V: D NdotH / (4 VdotH)
            float sampleOmega = 1.0 / (float(uSamples) * pdf);
            float lod = max(0.5 * log2(sampleOmega / texelOmega) + 1.0, 0.0);
            sum += textureLod(uSource, panoramaUV(L), lod).rgb * NdotL;
            weight += NdotL;
        }
    }
    fragColor = vec4(sum / max(weight, 1e-4), 1.0);
#elif defined(BRDF_LUT)
    float NdotV = max(vUV.x, 1e-3);
    float a = vUV.y * vUV.y;
    vec3 V = vec3(sqrt(1.0 - NdotV * NdotV), 0.0, NdotV);
    vec3 N = vec3(0.0, 0.0, 1.0);
    float A = 0.0, B = 0.0;
    for (int i = 0; i < uSamples; i++) {
        vec3 H = importanceGGX(hammersley(i, uSamples), N, a);
        vec3 L = 2.0 * dot(V, H) * H - V;
        float NdotL = max(L.z, 0.0);
        float NdotH = max(H.z, 0.0);
        float VdotH = max(dot(V, H), 0.0);
        if (NdotL > 0.0) {
            // Height-correlated Smith visibility, as pbr.frag uses for punctual lights.
            float vis = 0.5 / max(mix(2.0 * NdotL * NdotV, NdotL + NdotV, a), 1e-5);
            float g = vis * 4.0 * NdotL * VdotH / max(NdotH, 1e-5);
            float fc = pow(1.0 - VdotH, 5.0);
            A += (1.0 - fc) * g;
            B += fc * g;
        }
    }
    fragColor = vec4(A / float(uSamples), B / float(uSamples), 0.0, 1.0);
#else
    fragColor = vec4(0.0);
#endif
}
