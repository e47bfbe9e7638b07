#version 330 core
// scene.vert: transforms one primitive into clip space for pbr.frag.
// Vertex layout (render/gpucache.go): position, normal, texture coordinate.

layout(location = 0) in vec3 aPosition;
layout(location = 1) in vec3 aNormal;
layout(location = 2) in vec2 aUV;

uniform mat4 uModel;        // object to world
uniform mat3 uNormalMatrix; // inverse transpose of uModel's upper 3x3
uniform mat4 uViewProj;     // world to clip

out vec3 vWorldPos;
out vec3 vNormal;
out vec2 vUV;

void main() {
    vec4 world = uModel * vec4(aPosition, 1.0);
    vWorldPos = world.xyz;
    vNormal = uNormalMatrix * aNormal;
    vUV = aUV;
    gl_Position = uViewProj * world;
}
