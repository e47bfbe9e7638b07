#version 330 core
// shadow.frag: the shadow map's depth pass writes depth alone (no colour attachment).

void main() {
}
