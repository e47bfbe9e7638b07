// Package docker holds the streamer's container image (Dockerfile, compose file) and the
// test that builds the image with podman (scripts/image.sh) and runs it: the streamer starts
// from the image's own entrypoint, environment and user, and real clients watch and steer it
// from outside.
package docker
