#version 330 core
// envbg.frag: draws the scene's environment behind it, blurred (a level of the specular mip
// chain), tone mapped and sRGB encoded as pbr.frag does. Drawn with fullscreen.vert before
// the scene (render/env.go).

const float PI = 3.14159265359;

in vec2 vUV;

uniform sampler2D uEnvSpecular; // the prefiltered chain (envfilter.frag)
uniform float uLevel;           // the level shown
uniform mat4 uInvViewProj;      // clip to world
uniform vec3 uCameraPos;
uniform float uExposure;

out vec4 fragColor;

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
    vec4 far = uInvViewProj * vec4(vUV * 2.0 - 1.0, 1.0, 1.0);
    vec3 d = normalize(far.xyz / far.w - uCameraPos);
    vec2 uv = vec2(atan(d.x, -d.z) / (2.0 * PI) + 0.5, acos(clamp(d.y, -1.0, 1.0)) / PI);
    vec3 c = textureLod(uEnvSpecular, uv, uLevel).rgb;
    fragColor = vec4(linearToSRGB(toneMapACES(c * uExposure)), 1.0);
}
