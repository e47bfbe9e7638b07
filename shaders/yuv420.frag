#version 330 core
// yuv420.frag: RGB to I420, BT.709 limited range (Y 16..235, Cb/Cr 16..240), on the GPU.
//
// The target is an RGBA8 texture of (Wp/4) x (3*Hp/2) texels, where Wp is the width rounded
// up to a multiple of 8 and Hp the height rounded up to a multiple of 4. Each texel holds 4
// output bytes, so the target's memory, read with glReadPixels from row 0, is an I420 frame:
//   rows [0, Hp)             Y plane, one image row (Wp bytes) per texel row
//   rows [Hp, Hp + Hp/4)     Cb plane, two chroma rows (Wp/2 bytes each) per texel row
//   rows [Hp + Hp/4, 3Hp/2)  Cr plane, likewise
// Image rows are top-down here: glReadPixels returns target row 0 first, so the source
// (bottom-up, as OpenGL stores it) is flipped while sampling. Padding repeats edge pixels.
// Chroma is the average of each 2x2 block of gamma-encoded pixels (centred siting, as
// swscale and x264 expect for progressive 4:2:0). Values are rounded to whole levels here so
// the UNORM8 store is exact.

uniform sampler2D uSource; // the view's colour, sRGB-encoded RGBA8, bottom-up
uniform ivec2 uSize;       // source width, height
uniform ivec2 uPadded;     // Wp, Hp

out vec4 fragColor;

const vec3 kLuma = vec3(0.2126, 0.7152, 0.0722);

vec3 fetch(int x, int y) {
    x = clamp(x, 0, uSize.x - 1);
    y = clamp(y, 0, uSize.y - 1);
    return texelFetch(uSource, ivec2(x, uSize.y - 1 - y), 0).rgb;
}

vec3 average2x2(int cx, int cy) {
    int x = 2 * cx;
    int y = 2 * cy;
    return 0.25 * (fetch(x, y) + fetch(x + 1, y) + fetch(x, y + 1) + fetch(x + 1, y + 1));
}

void main() {
    ivec2 f = ivec2(gl_FragCoord.xy);
    int wp = uPadded.x;
    int hp = uPadded.y;
    vec4 o;
    if (f.y < hp) {
        int x0 = 4 * f.x;
        for (int i = 0; i < 4; i++) {
            o[i] = 16.0 + 219.0 * dot(fetch(x0 + i, f.y), kLuma);
        }
    } else {
        int k = f.y - hp;
        bool isCr = k >= hp / 4;
        if (isCr) {
            k -= hp / 4;
        }
        int texelsPerChromaRow = wp / 8;
        int second = f.x >= texelsPerChromaRow ? 1 : 0;
        int row = 2 * k + second;
        int cx0 = 4 * (f.x - second * texelsPerChromaRow);
        for (int i = 0; i < 4; i++) {
            vec3 c = average2x2(cx0 + i, row);
            float y = dot(c, kLuma);
            o[i] = isCr ? 128.0 + 224.0 * (c.r - y) / 1.5748
                        : 128.0 + 224.0 * (c.b - y) / 1.8556;
        }
    }
    fragColor = floor(clamp(o, 0.0, 255.0) + 0.5) / 255.0;
}
