package session

import "time"

// sceneMoves reports whether the scene changes by itself from frame to frame: the built-in
// scene's Animate with Options.Animate, or a model animation playing. Called with mu held.
func (s *Session) sceneMoves() bool {
	return (s.opts.Animate && s.scene.Animate != nil) || s.scene.AnimationsPlaying()
}

// clock is the session's time in seconds, what animations play on.
func (s *Session) clock() float64 { return time.Since(s.born).Seconds() }

// autoPlay starts every animation of a scene just shown, looped, when Options.Animate is
// on. Called with mu held.
func (s *Session) autoPlay() {
	if s.opts.Animate && len(s.scene.Animations) > 0 {
		s.scene.PlayAllAnimations(s.clock())
	}
}

// poseScene moves the scene to the session's clock before a draw: Animate (with
// Options.Animate), then the model's animations (playing or paused). Called with mu and
// renderMu held, so that no draw reads the deformed geometry while it changes.
func (s *Session) poseScene() {
	now := s.clock()
	if s.opts.Animate && s.scene.Animate != nil {
		s.scene.Animate(s.scene, now)
	}
	if len(s.scene.Playing) > 0 {
		s.scene.ApplyAnimations(now)
	}
}

// callAnimations answers scene.animations: each animation's name, duration (seconds),
// number of channels, and whether it plays (and loops).
func callAnimations(s *Session, name string, a Args) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]map[string]any, len(s.scene.Animations))
	for i, an := range s.scene.Animations {
		out[i] = map[string]any{"name": an.Name, "duration": round(float32(an.Duration)), "channels": len(an.Channels), "playing": false, "loop": false}
		for _, p := range s.scene.Playing {
			if p.Animation == i && !p.Paused {
				out[i]["playing"], out[i]["loop"] = true, p.Loop
			}
		}
	}
	return out, nil
}

// callPlayAnimation answers scene.playAnimation {name, loop}: the named animation plays from
// its start on the session clock in place of the others (loop, default true, repeats it),
// whatever Options.Animate says.
func callPlayAnimation(s *Session, name string, a Args) (any, error) {
	anim, err := a.str(name, "name")
	if err != nil {
		return nil, err
	}
	loop := true
	if _, ok := a["loop"]; ok {
		if loop, err = a.boolean(name, "loop"); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.scene.PlayAnimation(anim, loop, s.clock()); err != nil {
		return nil, argErr(name, "name", err)
	}
	s.edited()
	return map[string]any{"name": anim, "loop": loop}, nil
}

// callPauseAnimation answers scene.pauseAnimation {name}: the named animation, or without a
// name every animation, holds its pose.
func callPauseAnimation(s *Session, name string, a Args) (any, error) {
	anim := ""
	if _, ok := a["name"]; ok {
		var err error
		if anim, err = a.str(name, "name"); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if anim == "" {
		s.scene.PauseAnimations(s.clock())
	} else if err := s.scene.PauseAnimation(anim, s.clock()); err != nil {
		return nil, argErr(name, "name", err)
	}
	s.edited()
	return map[string]any{"playing": s.scene.AnimationsPlaying()}, nil
}
