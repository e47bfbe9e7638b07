#version 330 core
// fullscreen.vert: one triangle that covers the viewport, from gl_VertexID alone
// (draw 3 vertices with any vertex array bound). vUV is 0..1 over the viewport.

out vec2 vUV;

void main() {
    vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
    vUV = p;
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
