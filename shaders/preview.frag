#version 330 core
// preview.frag: shows a frame in the preview window (render/preview).
// uMode 0: an I420 frame in three R8 textures (BT.709 limited range), uMode 1: RGBA.
// vUV has v = 0 at the bottom of the window; frames are stored top-down.

in vec2 vUV;

uniform int uMode;
uniform sampler2D uY;
uniform sampler2D uCb;
uniform sampler2D uCr;
uniform sampler2D uRGBA;

out vec4 fragColor;

void main() {
    vec2 uv = vec2(vUV.x, 1.0 - vUV.y);
    if (uMode == 1) {
        fragColor = vec4(texture(uRGBA, uv).rgb, 1.0);
        return;
    }
    float y = (texture(uY, uv).r * 255.0 - 16.0) / 219.0;
    float cb = (texture(uCb, uv).r * 255.0 - 128.0) / 224.0;
    float cr = (texture(uCr, uv).r * 255.0 - 128.0) / 224.0;
    vec3 rgb = vec3(y + 1.5748 * cr,
                    y - 0.187324 * cb - 0.468124 * cr,
                    y + 1.8556 * cb);
    fragColor = vec4(clamp(rgb, 0.0, 1.0), 1.0);
}
