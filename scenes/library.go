package scenes

import (
	"fmt"
	"slices"
	"sync"
)

// MaxSceneNameLen is the longest scene name a Library accepts.
const MaxSceneNameLen = 64

// Library maps scene names (the stream names clients ask for) to scenes. Its set of scenes
// is configured by the program (built-ins, glTF files named in its configuration); a client
// only selects one of those names and never supplies a path. It is safe for concurrent use.
type Library struct {
	mu     sync.RWMutex
	scenes map[string]*Scene
	opts   ModelOptions
	// envs are the environments added with AddEnvironment (the built-in ones are not here).
	envs map[string]*Environment
}

// SetModelOptions sets the options Add loads glTF files with (texture limits, the logger
// for load warnings); the zero value, the default, gives ModelOptions' defaults.
func (l *Library) SetModelOptions(o ModelOptions) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.opts = o
}

// NewLibrary returns a library holding the built-in scenes (see BuiltinNames) at full
// detail.
func NewLibrary() *Library { return NewLibraryDetail(DetailFull) }

// NewLibraryDetail returns a library holding the built-in scenes built at level of detail
// d (see BuiltinDetail); DetailLow suits software renderers. Scenes added later (Add,
// AddScene) are kept as given.
func NewLibraryDetail(d Detail) *Library {
	l := &Library{scenes: map[string]*Scene{}}
	for _, b := range builtins() {
		l.scenes[b.name] = b.build(d)
	}
	return l
}

// ValidSceneName reports whether name is 1 to MaxSceneNameLen characters of
// [A-Za-z0-9_-].
func ValidSceneName(name string) bool {
	if len(name) == 0 || len(name) > MaxSceneNameLen {
		return false
	}
	for _, c := range []byte(name) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

func checkSceneName(name string) error {
	if !ValidSceneName(name) {
		return fmt.Errorf("%w: %q (want 1 to %d characters of A-Z, a-z, 0-9, '_', '-')", ErrBadSceneName, name, MaxSceneNameLen)
	}
	return nil
}

// Add loads the glTF file at path (see LoadWith, with the options of SetModelOptions) and registers it as name. A bad name gives
// ErrBadSceneName, a taken one ErrSceneExists, a bad file the *ModelError from Load; the
// library is unchanged on error.
func (l *Library) Add(name, path string) error {
	if err := checkSceneName(name); err != nil {
		return err
	}
	if l.Has(name) {
		return fmt.Errorf("%w: %q", ErrSceneExists, name)
	}
	l.mu.RLock()
	opts := l.opts
	l.mu.RUnlock()
	s, err := LoadWith(path, opts)
	if err != nil {
		return err
	}
	return l.AddScene(name, s)
}

// AddScene registers s as name. The library keeps s and hands out clones of it: the caller
// must not modify s afterwards.
func (l *Library) AddScene(name string, s *Scene) error {
	if err := checkSceneName(name); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.scenes[name]; ok {
		return fmt.Errorf("%w: %q", ErrSceneExists, name)
	}
	s.Name = name
	l.scenes[name] = s
	return nil
}

// Has reports whether name is registered.
func (l *Library) Has(name string) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	_, ok := l.scenes[name]
	return ok
}

// Names returns the registered names, sorted.
func (l *Library) Names() []string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	names := make([]string, 0, len(l.scenes))
	for n := range l.scenes {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Get returns a fresh Clone of the named scene, for one viewer to animate and edit. An
// unregistered name gives ErrUnknownScene.
func (l *Library) Get(name string) (*Scene, error) {
	l.mu.RLock()
	s, ok := l.scenes[name]
	l.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownScene, name)
	}
	return s.Clone(), nil
}
