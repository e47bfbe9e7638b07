#version 330 core
// shadow.vert: the shadow map's depth pass (render/shadow.go): positions from the light's
// point of view. Only the position attribute is read.

layout(location = 0) in vec3 aPosition;

uniform mat4 uModel;    // object to world
uniform mat4 uViewProj; // world to the light's clip space

void main() {
    gl_Position = uViewProj * (uModel * vec4(aPosition, 1.0));
}
