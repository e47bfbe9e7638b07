#version 330 core
// shadow.vert: the shadow map's depth pass (render/shadow.go): positions from the light's
// point of view. The ALPHA_MASK variant (alpha-tested casters) also passes the base colour
// texture's coordinates (set 0 or 1, through its KHR_texture_transform) and the vertex
// colour's alpha.

layout(location = 0) in vec3 aPosition;
#ifdef ALPHA_MASK
layout(location = 2) in vec2 aUV;
layout(location = 3) in vec2 aUV1;
layout(location = 5) in vec4 aColor;

uniform int uTexSet;        // the base colour texture's coordinate set
uniform mat3 uTexTransform; // its transform

out vec2 vUV;
out float vAlpha;
#endif

uniform mat4 uModel;    // object to world
uniform mat4 uViewProj; // world to the light's clip space

void main() {
#ifdef ALPHA_MASK
    vUV = (uTexTransform * vec3(uTexSet == 1 ? aUV1 : aUV, 1.0)).xy;
    vAlpha = aColor.a;
#endif
    gl_Position = uViewProj * (uModel * vec4(aPosition, 1.0));
}
