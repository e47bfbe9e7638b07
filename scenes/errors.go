package scenes

import "errors"

// Errors returned by this package. They are wrapped with %w and a message naming the input
// (file, node, light, value); test them with errors.Is.
var (
	// ErrBadModel: a glTF file is missing, unreadable, malformed or inconsistent (indices out
	// of range, missing buffers, non-finite numbers, cyclic nodes, no scene, no meshes...).
	// Every error from Load, LoadReader and Library.Add for a model wraps it.
	ErrBadModel = errors.New("bad model")
	// ErrUnsupportedModel: a well-formed glTF file uses something the loader does not support
	// (a required extension such as Draco compression). Such errors also wrap ErrBadModel.
	ErrUnsupportedModel = errors.New("unsupported model")
	// ErrBadCamera: a camera operation got a non-finite number, a zero vector, coincident eye
	// and target, or a field of view outside (1, 179) degrees.
	ErrBadCamera = errors.New("bad camera parameters")
	// ErrBadValue: a scene edit got a value outside its range (a colour channel outside 0..1,
	// a negative or non-finite intensity).
	ErrBadValue = errors.New("bad value")
	// ErrUnknownNode: a scene edit named a node the scene does not have.
	ErrUnknownNode = errors.New("unknown node")
	// ErrUnknownLight: a scene edit named a light index the scene does not have.
	ErrUnknownLight = errors.New("unknown light")
	// ErrUnknownScene: a built-in or library scene name that does not exist.
	ErrUnknownScene = errors.New("unknown scene")
	// ErrBadSceneName: a scene name outside [A-Za-z0-9_-]{1,64}.
	ErrBadSceneName = errors.New("bad scene name")
	// ErrSceneExists: Library.Add with a name that is already taken.
	ErrSceneExists = errors.New("scene name already in use")
	// ErrUnknownAnimation: PlayAnimation named an animation the scene does not have.
	ErrUnknownAnimation = errors.New("unknown animation")
	// ErrBadHDR: a Radiance HDR file is malformed, truncated, too large or in a format or
	// orientation the decoder does not read.
	ErrBadHDR = errors.New("bad HDR file")
	// ErrBadEnvironment: an environment's picture has the wrong size or non-finite or
	// negative values, or its name is taken or invalid.
	ErrBadEnvironment = errors.New("bad environment")
	// ErrUnknownEnvironment: an environment name the library does not have.
	ErrUnknownEnvironment = errors.New("unknown environment")
)

// errLoaderPanic marks a panic recovered inside the loader: a bug, since bad input must give
// a descriptive error. The fuzz target fails on it.
var errLoaderPanic = errors.New("internal error while decoding")

// ModelError reports a failure to load a glTF model. Path is the file name given to Load
// (or the name given to LoadReader); Err wraps ErrBadModel and, for missing or unreadable
// files, the underlying fs error (so errors.Is(err, fs.ErrNotExist) works).
type ModelError struct {
	Path string
	Err  error
}

// Error says which file failed and why.
func (e *ModelError) Error() string { return "scenes: model " + e.Path + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *ModelError) Unwrap() error { return e.Err }
