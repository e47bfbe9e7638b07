package scenes

import (
	"fmt"
	"slices"
)

// AddEnvironment loads the Radiance HDR panorama at path (LoadHDR, NewEnvironment) and
// registers it as name. Names follow the scene names' rules; "studio" and "none" are
// reserved and a taken name gives ErrBadEnvironment, a bad file ErrBadHDR or
// ErrBadEnvironment. The library is unchanged on error.
func (l *Library) AddEnvironment(name, path string) error {
	if err := l.checkEnvironmentName(name); err != nil {
		return err
	}
	img, err := LoadHDR(path)
	if err != nil {
		return err
	}
	env, err := NewEnvironment(name, img)
	if err != nil {
		return err
	}
	return l.AddEnvironmentValue(env)
}

// AddEnvironmentValue registers env under env.Name (the rules of AddEnvironment).
func (l *Library) AddEnvironmentValue(env *Environment) error {
	if env == nil {
		return fmt.Errorf("%w: nil environment", ErrBadEnvironment)
	}
	if err := l.checkEnvironmentName(env.Name); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.envs[env.Name]; ok {
		return fmt.Errorf("%w: name %q already in use", ErrBadEnvironment, env.Name)
	}
	if l.envs == nil {
		l.envs = map[string]*Environment{}
	}
	l.envs[env.Name] = env
	return nil
}

func (l *Library) checkEnvironmentName(name string) error {
	if !ValidSceneName(name) || name == EnvironmentStudio || name == EnvironmentNone {
		return fmt.Errorf("%w: name %q (want 1 to %d characters of A-Z, a-z, 0-9, '_', '-', not %q or %q)",
			ErrBadEnvironment, name, MaxSceneNameLen, EnvironmentStudio, EnvironmentNone)
	}
	l.mu.RLock()
	_, taken := l.envs[name]
	l.mu.RUnlock()
	if taken {
		return fmt.Errorf("%w: name %q already in use", ErrBadEnvironment, name)
	}
	return nil
}

// Environment returns the named environment: "studio" (Studio), one added with
// AddEnvironment, or nil for "none". Other names give ErrUnknownEnvironment.
func (l *Library) Environment(name string) (*Environment, error) {
	switch name {
	case EnvironmentNone:
		return nil, nil
	case EnvironmentStudio:
		return Studio(), nil
	}
	l.mu.RLock()
	env, ok := l.envs[name]
	l.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %q (have %v)", ErrUnknownEnvironment, name, l.EnvironmentNames())
	}
	return env, nil
}

// EnvironmentNames lists the names Environment accepts, sorted ("none" and "studio"
// included).
func (l *Library) EnvironmentNames() []string {
	l.mu.RLock()
	names := []string{EnvironmentNone, EnvironmentStudio}
	for n := range l.envs {
		names = append(names, n)
	}
	l.mu.RUnlock()
	slices.Sort(names)
	return names
}

// SetEnvironment lights the scene with env (nil: the ambient colour again) and, with
// background, shows env blurred behind it instead of the background colour. It bumps
// Version.
func (s *Scene) SetEnvironment(env *Environment, background bool) {
	s.Environment = env
	s.EnvironmentBackground = background && env != nil
	s.Version++
}
