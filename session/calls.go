package session

import (
	"fmt"
	"math"
	"sort"

	"github.com/go-gl/mathgl/mgl32"

	"github.com/rendercast/rendercast/scenes"
)

// Pointer mapping of input.pointer: degrees of orbit per pixel of left drag, view heights
// of pan per pixel of right/middle drag (scaled by the picture height), zoom per wheel unit.
const (
	orbitDegPerPixel = 0.3
	wheelUnit        = 100.0 // a typical wheel notch (DOM deltaY)
	wheelZoomFactor  = 1.1   // zoom per notch
)

// Procedures lists the calls a session implements, sorted.
func Procedures() []string {
	names := make([]string, 0, len(sessionCalls))
	for n := range sessionCalls {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

type callFunc func(s *Session, name string, a Args) (any, error)

var sessionCalls = map[string]callFunc{
	"camera.orbit": cameraMove((*scenes.Camera).Orbit),
	"camera.pan":   cameraMove((*scenes.Camera).Pan),
	"camera.zoom": func(s *Session, name string, a Args) (any, error) {
		f, err := a.number(name, "factor")
		if err != nil {
			return nil, err
		}
		if f <= 0 {
			return nil, &ArgError{name, "factor", "want a number > 0"}
		}
		return s.editCamera(func(c *scenes.Camera) error { return c.Zoom(float32(f)) })
	},
	"camera.set": func(s *Session, name string, a Args) (any, error) {
		s.mu.Lock()
		cur := s.scene.Camera
		s.mu.Unlock()
		eye, target, up, fov := cur.Eye, cur.Target, cur.Up, float64(cur.FovY)
		for _, f := range []struct {
			key string
			dst *mgl32.Vec3
		}{{"eye", &eye}, {"target", &target}, {"up", &up}} {
			if _, ok := a[f.key]; ok {
				v, err := a.vec3(name, f.key)
				if err != nil {
					return nil, err
				}
				*f.dst = mgl32.Vec3(v)
			}
		}
		fov, err := a.numberOr(name, "fov", fov)
		if err != nil {
			return nil, err
		}
		if len(a) == 0 {
			return nil, &ArgError{name, "eye", "missing: give at least one of eye, target, up, fov"}
		}
		return s.editCamera(func(c *scenes.Camera) error { return c.Set(eye, target, up, float32(fov)) })
	},
	"camera.get": func(s *Session, name string, a Args) (any, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return cameraObject(s.scene.Camera), nil
	},
	"camera.reset": func(s *Session, name string, a Args) (any, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.scene.ResetCamera()
		s.edited()
		return cameraObject(s.scene.Camera), nil
	},
	"scene.list": func(s *Session, name string, a Args) (any, error) {
		return s.v.Library.Names(), nil
	},
	"scene.load": func(s *Session, name string, a Args) (any, error) {
		sceneName, err := a.str(name, "name")
		if err != nil {
			return nil, err
		}
		sc, err := s.v.Library.Get(sceneName)
		if err != nil {
			return nil, &ArgError{name, "name", err.Error()}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.scene, s.sceneName = sc, sceneName
		s.autoPlay()
		s.edited()
		return map[string]any{"name": sceneName, "nodes": sc.NodeNames()}, nil
	},
	"scene.animations":     callAnimations,
	"scene.playAnimation":  callPlayAnimation,
	"scene.pauseAnimation": callPauseAnimation,
	"scene.nodes": func(s *Session, name string, a Args) (any, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.scene.NodeNames(), nil
	},
	"scene.setBackground": func(s *Session, name string, a Args) (any, error) {
		rgb, err := a.rgb(name)
		if err != nil {
			return nil, err
		}
		return s.editScene(func(sc *scenes.Scene) error { return sc.SetBackground(rgb[0], rgb[1], rgb[2]) })
	},
	"scene.setEnvironment": func(s *Session, name string, a Args) (any, error) {
		envName, err := a.str(name, "name")
		if err != nil {
			return nil, err
		}
		background := false
		if v, ok := a["background"]; ok && v != nil {
			if background, err = a.boolean(name, "background"); err != nil {
				return nil, err
			}
		}
		env, err := s.v.Library.Environment(envName)
		if err != nil {
			return nil, &ArgError{name, "name", err.Error()}
		}
		return s.editScene(func(sc *scenes.Scene) error {
			sc.SetEnvironment(env, background)
			return nil
		})
	},
	"scene.setVisible": func(s *Session, name string, a Args) (any, error) {
		node, err := a.str(name, "node")
		if err != nil {
			return nil, err
		}
		vis, err := a.boolean(name, "visible")
		if err != nil {
			return nil, err
		}
		return s.editScene(func(sc *scenes.Scene) error { return argErr(name, "node", sc.SetVisible(node, vis)) })
	},
	"scene.setColor": func(s *Session, name string, a Args) (any, error) {
		node, err := a.str(name, "node")
		if err != nil {
			return nil, err
		}
		rgb, err := a.rgb(name)
		if err != nil {
			return nil, err
		}
		return s.editScene(func(sc *scenes.Scene) error {
			return argErr(name, "node", sc.SetColor(node, rgb[0], rgb[1], rgb[2]))
		})
	},
	"scene.setLight": func(s *Session, name string, a Args) (any, error) {
		i, err := a.number(name, "index")
		if err != nil {
			return nil, err
		}
		v, err := a.number(name, "intensity")
		if err != nil {
			return nil, err
		}
		return s.editScene(func(sc *scenes.Scene) error {
			return argErr(name, "index", sc.SetLightIntensity(int(i), float32(v)))
		})
	},
	"input.pointer": func(s *Session, name string, a Args) (any, error) {
		return s.pointerEvent(name, a)
	},
	"server.info": func(s *Session, name string, a Args) (any, error) {
		if s.v.Info == nil {
			return map[string]any{}, nil
		}
		return s.v.Info(), nil
	},
}

// cameraMove makes a call that moves the camera by its arguments dx (required) and dy
// (default 0): camera.orbit and camera.pan read the same arguments.
func cameraMove(move func(c *scenes.Camera, dx, dy float32) error) callFunc {
	return func(s *Session, name string, a Args) (any, error) {
		dx, err := a.number(name, "dx")
		if err != nil {
			return nil, err
		}
		dy, err := a.numberOr(name, "dy", 0)
		if err != nil {
			return nil, err
		}
		return s.editCamera(func(c *scenes.Camera) error { return move(c, float32(dx), float32(dy)) })
	}
}

// Call runs a remote call on this session. A procedure the session does not implement
// gives ErrUnknownCall; bad arguments give an *ArgError naming the argument.
func (s *Session) Call(name string, args Args) (any, error) {
	f, ok := sessionCalls[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownCall, name)
	}
	if args == nil {
		args = Args{}
	}
	return f(s, name, args)
}

func (a Args) rgb(call string) ([3]float32, error) {
	var out [3]float32
	for i, k := range []string{"r", "g", "b"} {
		v, err := a.number(call, k)
		if err != nil {
			return out, err
		}
		if v < 0 || v > 1 {
			return out, &ArgError{call, k, fmt.Sprintf("%g is outside 0..1", v)}
		}
		out[i] = float32(v)
	}
	return out, nil
}

// argErr turns a scene edit's error into an ArgError naming the argument.
func argErr(call, arg string, err error) error {
	if err == nil {
		return nil
	}
	return &ArgError{call, arg, err.Error()}
}

func (s *Session) editCamera(f func(c *scenes.Camera) error) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.scene.EditCamera(f); err != nil {
		return nil, err
	}
	s.edited()
	return cameraObject(s.scene.Camera), nil
}

func (s *Session) editScene(f func(sc *scenes.Scene) error) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := f(s.scene); err != nil {
		return nil, err
	}
	s.edited()
	return map[string]any{"version": s.scene.Version}, nil
}

func cameraObject(c scenes.Camera) map[string]any {
	v := func(x mgl32.Vec3) []any { return []any{round(x[0]), round(x[1]), round(x[2])} }
	yaw, pitch := c.Angles()
	return map[string]any{
		"eye": v(c.Eye), "target": v(c.Target), "up": v(c.Up), "fov": round(c.FovY),
		"yaw": round(yaw), "pitch": round(pitch), "distance": round(c.Distance()),
	}
}

func round(f float32) float64 { return math.Round(float64(f)*1e4) / 1e4 }

func (s *Session) pointerEvent(name string, a Args) (any, error) {
	typ, err := a.str(name, "type")
	if err != nil {
		return nil, err
	}
	x, err := a.numberOr(name, "x", 0)
	if err != nil {
		return nil, err
	}
	y, err := a.numberOr(name, "y", 0)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	p := s.pointer
	s.mu.Unlock()
	switch typ {
	case "down":
		b, err := a.numberOr(name, "button", 0)
		if err != nil {
			return nil, err
		}
		if b != 0 && b != 1 && b != 2 {
			return nil, &ArgError{name, "button", "want 0 (left), 1 (middle) or 2 (right)"}
		}
		s.mu.Lock()
		s.pointer = pointerState{button: int(b), x: x, y: y}
		s.mu.Unlock()
		return map[string]any{"ok": true}, nil
	case "up":
		s.mu.Lock()
		s.pointer.button = -1
		s.mu.Unlock()
		return map[string]any{"ok": true}, nil
	case "move":
		if p.button < 0 {
			return map[string]any{"ok": true}, nil
		}
		dx, dy := x-p.x, y-p.y
		s.mu.Lock()
		s.pointer.x, s.pointer.y = x, y
		s.mu.Unlock()
		if p.button == 0 {
			// Dragging right turns the scene right: the eye goes left.
			return s.editCamera(func(c *scenes.Camera) error {
				return c.Orbit(float32(-dx*orbitDegPerPixel), float32(dy*orbitDegPerPixel))
			})
		}
		s.mu.Lock()
		h := float64(s.height)
		s.mu.Unlock()
		return s.editCamera(func(c *scenes.Camera) error { return c.Pan(float32(-dx/h), float32(dy/h)) })
	case "wheel":
		d, err := a.number(name, "delta")
		if err != nil {
			return nil, err
		}
		f := math.Pow(wheelZoomFactor, -d/wheelUnit) // wheel down (positive) zooms out
		return s.editCamera(func(c *scenes.Camera) error { return c.Zoom(float32(f)) })
	}
	return nil, &ArgError{name, "type", fmt.Sprintf("%q is not down, move, up or wheel", typ)}
}

// Known reports whether sessions implement the procedure name.
func Known(name string) bool {
	_, ok := sessionCalls[name]
	return ok
}
