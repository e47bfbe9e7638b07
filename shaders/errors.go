package shaders

import "errors"

// ErrNotFound is returned by Source for a name that is not an embedded shader file.
var ErrNotFound = errors.New("shaders: no such shader file")
