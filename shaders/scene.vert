#version 330 core
// scene.vert: transforms one primitive into clip space for pbr.frag.
// Vertex layout (render/gpucache.go): position, normal, texture coordinate set 0 in one
// buffer; set 1, tangent and colour in a second one when the primitive has any of them.
// Attributes a primitive lacks are disabled arrays: they read the generic values the
// renderer sets (set 1 = 0, tangent = (1, 0, 0, 1), colour = white). Set 1 and the tangent
// reach the fragment stage only in the MATERIAL_MAPS variant: interpolating them costs every
// pixel on software rasterisers.

layout(location = 0) in vec3 aPosition;
layout(location = 1) in vec3 aNormal;
layout(location = 2) in vec2 aUV;
layout(location = 3) in vec2 aUV1;
layout(location = 4) in vec4 aTangent;
layout(location = 5) in vec4 aColor;

uniform mat4 uModel;        // object to world
uniform mat3 uNormalMatrix; // inverse transpose of uModel's upper 3x3
uniform mat4 uViewProj;     // world to clip

out vec3 vWorldPos;
out vec3 vNormal;
out vec2 vUV;
#ifdef MATERIAL_MAPS
out vec2 vUV1;
#ifndef UNLIT
out vec4 vTangent; // world-space tangent, handedness in w
#endif
#endif
out vec4 vColor;

void main() {
    vec4 world = uModel * vec4(aPosition, 1.0);
    vWorldPos = world.xyz;
    vNormal = uNormalMatrix * aNormal;
    vUV = aUV;
#ifdef MATERIAL_MAPS
    vUV1 = aUV1;
#ifndef UNLIT
    vTangent = vec4(mat3(uModel) * aTangent.xyz, aTangent.w);
#endif
#endif
    vColor = aColor;
    gl_Position = uViewProj * world;
}
