#version 330 core
// scale.frag: stretches a texture over the viewport with linear filtering (the texture's
// own filter), for frames drawn at a lower internal resolution. Drawn with fullscreen.vert.

in vec2 vUV;

uniform sampler2D uSource;

out vec4 fragColor;

void main() {
    fragColor = vec4(texture(uSource, vUV).rgb, 1.0);
}
