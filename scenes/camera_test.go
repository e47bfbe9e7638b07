package scenes

import (
	"errors"
	"math"
	"testing"

	"github.com/go-gl/mathgl/mgl32"
)

func testCamera() Camera {
	c := Camera{Eye: mgl32.Vec3{0, 0, 10}, Target: mgl32.Vec3{0, 0, 0}, Up: mgl32.Vec3{0, 1, 0}, FovY: 45}
	c.SetHome()
	return c
}

func near(a, b mgl32.Vec3, eps float32) bool { return a.Sub(b).Len() <= eps }

func nan32() float32 { return float32(math.NaN()) }
func inf32() float32 { return float32(math.Inf(1)) }

func TestCameraOrbit(t *testing.T) {
	tests := []struct {
		name       string
		yaw, pitch float32
		wantEye    mgl32.Vec3
		wantPitch  float32
		checkPitch bool
		wantErr    error
	}{
		{name: "yaw 90 moves the eye to +X (its right)", yaw: 90, wantEye: mgl32.Vec3{10, 0, 0}},
		{name: "yaw -90 moves the eye to -X", yaw: -90, wantEye: mgl32.Vec3{-10, 0, 0}},
		{name: "yaw 180 goes behind", yaw: 180, wantEye: mgl32.Vec3{0, 0, -10}},
		{name: "yaw 360 comes back", yaw: 360, wantEye: mgl32.Vec3{0, 0, 10}},
		{name: "pitch 30 raises the eye", pitch: 30, wantEye: mgl32.Vec3{0, 5, 8.660254}},
		{name: "pitch 200 clamps at the north pole", pitch: 200, wantPitch: MaxPitch, checkPitch: true},
		{name: "pitch -200 clamps at the south pole", pitch: -200, wantPitch: -MaxPitch, checkPitch: true},
		{name: "NaN yaw", yaw: nan32(), wantErr: ErrBadCamera},
		{name: "infinite pitch", pitch: inf32(), wantErr: ErrBadCamera},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testCamera()
			before := c
			err := c.Orbit(tt.yaw, tt.pitch)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Orbit error = %v, want %v", err, tt.wantErr)
				}
				if c != before {
					t.Fatalf("failed Orbit changed the camera: %+v", c)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := c.Distance(); abs32(d-10) > 1e-3 {
				t.Errorf("distance = %g, want 10 (orbit keeps it)", d)
			}
			if c.Target != before.Target {
				t.Errorf("target moved to %v", c.Target)
			}
			if tt.checkPitch {
				if _, p := c.Angles(); abs32(p-tt.wantPitch) > 1e-2 {
					t.Errorf("pitch = %g, want %g", p, tt.wantPitch)
				}
			} else if !near(c.Eye, tt.wantEye, 1e-3) {
				t.Errorf("eye = %v, want %v", c.Eye, tt.wantEye)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("camera invalid after orbit: %v", err)
			}
		})
	}
}

func TestCameraOrbitNeverFlips(t *testing.T) {
	c := testCamera()
	for range 100 {
		if err := c.Orbit(7, 5); err != nil {
			t.Fatal(err)
		}
		// The view's up vector must keep pointing up: no flip over the pole.
		v := c.View()
		camUp := mgl32.Vec3{v[1], v[5], v[9]} // second row: camera Y in world space
		if camUp[1] <= 0 {
			t.Fatalf("camera flipped: up in world = %v, eye %v", camUp, c.Eye)
		}
		if _, p := c.Angles(); p > MaxPitch+1e-3 {
			t.Fatalf("pitch %g over the limit", p)
		}
	}
}

func TestCameraPan(t *testing.T) {
	h := 2 * 10 * float32(math.Tan(float64(mgl32.DegToRad(45))/2)) // view height at the target
	tests := []struct {
		name    string
		dx, dy  float32
		wantOff mgl32.Vec3
		wantErr bool
	}{
		{name: "right", dx: 0.5, wantOff: mgl32.Vec3{0.5 * h, 0, 0}},
		{name: "left", dx: -0.25, wantOff: mgl32.Vec3{-0.25 * h, 0, 0}},
		{name: "up", dy: 1, wantOff: mgl32.Vec3{0, h, 0}},
		{name: "diagonal", dx: 0.1, dy: -0.2, wantOff: mgl32.Vec3{0.1 * h, -0.2 * h, 0}},
		{name: "NaN", dx: nan32(), wantErr: true},
		{name: "out of the world", dx: 1e30, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testCamera()
			before := c
			err := c.Pan(tt.dx, tt.dy)
			if tt.wantErr {
				if !errors.Is(err, ErrBadCamera) || c != before {
					t.Fatalf("Pan = %v (camera %v), want ErrBadCamera and no change", err, c.Eye)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !near(c.Eye.Sub(before.Eye), tt.wantOff, 1e-3) || !near(c.Target.Sub(before.Target), tt.wantOff, 1e-3) {
				t.Errorf("eye moved %v, target %v, want both %v", c.Eye.Sub(before.Eye), c.Target.Sub(before.Target), tt.wantOff)
			}
		})
	}
	// Panning scales with distance: the same pan moves twice as far from twice as far away.
	a, b := testCamera(), testCamera()
	if err := b.Zoom(0.5); err != nil {
		t.Fatal(err)
	}
	_ = a.Pan(0.1, 0)
	_ = b.Pan(0.1, 0)
	if ra := a.Target.Len(); abs32(b.Target.Len()-2*ra) > 1e-3 {
		t.Errorf("pan at distance 20 moved %g, at 10 moved %g: want double", b.Target.Len(), ra)
	}
}

func TestCameraZoomDolly(t *testing.T) {
	tests := []struct {
		name     string
		op       func(c *Camera) error
		wantDist float32
		wantErr  bool
	}{
		{name: "zoom in 2x", op: func(c *Camera) error { return c.Zoom(2) }, wantDist: 5},
		{name: "zoom out 4x", op: func(c *Camera) error { return c.Zoom(0.25) }, wantDist: 40},
		{name: "zoom clamps at MinDistance", op: func(c *Camera) error { return c.Zoom(1e9) }, wantDist: MinDistance},
		{name: "zoom clamps at MaxDistance", op: func(c *Camera) error { return c.Zoom(1e-9) }, wantDist: MaxDistance},
		{name: "zoom 0", op: func(c *Camera) error { return c.Zoom(0) }, wantErr: true},
		{name: "zoom negative", op: func(c *Camera) error { return c.Zoom(-2) }, wantErr: true},
		{name: "zoom NaN", op: func(c *Camera) error { return c.Zoom(nan32()) }, wantErr: true},
		{name: "dolly in 3", op: func(c *Camera) error { return c.Dolly(3) }, wantDist: 7},
		{name: "dolly through the target clamps", op: func(c *Camera) error { return c.Dolly(50) }, wantDist: MinDistance},
		{name: "dolly out", op: func(c *Camera) error { return c.Dolly(-5) }, wantDist: 15},
		{name: "dolly Inf", op: func(c *Camera) error { return c.Dolly(inf32()) }, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testCamera()
			before := c
			err := tt.op(&c)
			if tt.wantErr {
				if !errors.Is(err, ErrBadCamera) || c != before {
					t.Fatalf("got %v, want ErrBadCamera and no change", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := c.Distance(); abs32(d-tt.wantDist) > tt.wantDist*1e-3 {
				t.Errorf("distance = %g, want %g", d, tt.wantDist)
			}
			if c.Distance() == 0 || c.Eye[2] <= 0 {
				t.Errorf("eye %v reached or crossed the target", c.Eye)
			}
			if err := c.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestCameraSet(t *testing.T) {
	y := mgl32.Vec3{0, 1, 0}
	tests := []struct {
		name            string
		eye, target, up mgl32.Vec3
		fov             float32
		wantErr         bool
		wantUp          mgl32.Vec3
	}{
		{name: "valid", eye: mgl32.Vec3{1, 2, 3}, target: mgl32.Vec3{0, 1, 0}, up: mgl32.Vec3{0, 5, 0}, fov: 60, wantUp: y},
		{name: "NaN eye", eye: mgl32.Vec3{nan32(), 0, 0}, up: y, fov: 45, wantErr: true},
		{name: "Inf target", eye: mgl32.Vec3{0, 0, 1}, target: mgl32.Vec3{0, inf32(), 0}, up: y, fov: 45, wantErr: true},
		{name: "NaN up", eye: mgl32.Vec3{0, 0, 1}, up: mgl32.Vec3{0, nan32(), 0}, fov: 45, wantErr: true},
		{name: "eye equals target", eye: mgl32.Vec3{1, 1, 1}, target: mgl32.Vec3{1, 1, 1}, up: y, fov: 45, wantErr: true},
		{name: "zero up", eye: mgl32.Vec3{0, 0, 1}, fov: 45, wantErr: true},
		{name: "up parallel to view", eye: mgl32.Vec3{0, 5, 0}, up: y, fov: 45, wantErr: true},
		{name: "fov 1 (exclusive)", eye: mgl32.Vec3{0, 0, 1}, up: y, fov: 1, wantErr: true},
		{name: "fov 179 (exclusive)", eye: mgl32.Vec3{0, 0, 1}, up: y, fov: 179, wantErr: true},
		{name: "fov NaN", eye: mgl32.Vec3{0, 0, 1}, up: y, fov: nan32(), wantErr: true},
		{name: "fov 1.5", eye: mgl32.Vec3{0, 0, 1}, up: y, fov: 1.5, wantUp: y},
		{name: "fov 178", eye: mgl32.Vec3{0, 0, 1}, up: y, fov: 178, wantUp: y},
		{name: "too far", eye: mgl32.Vec3{0, 0, 2e5}, up: y, fov: 45, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testCamera()
			before := c
			err := c.Set(tt.eye, tt.target, tt.up, tt.fov)
			if tt.wantErr {
				if !errors.Is(err, ErrBadCamera) || c != before {
					t.Fatalf("Set = %v, want ErrBadCamera and no change", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Eye != tt.eye || c.Target != tt.target || c.FovY != tt.fov || !near(c.Up, tt.wantUp, 1e-6) {
				t.Errorf("camera = %+v", c)
			}
		})
	}
}

func TestCameraReset(t *testing.T) {
	c := testCamera()
	home := c
	_ = c.Orbit(40, 20)
	_ = c.Pan(0.3, 0.1)
	_ = c.Zoom(3)
	_ = c.SetFov(70)
	if c.Eye == home.Eye {
		t.Fatal("operations did not move the camera")
	}
	c.Reset()
	if c.Eye != home.Eye || c.Target != home.Target || c.Up != home.Up || c.FovY != home.FovY || c.Home != home.Home {
		t.Errorf("after Reset %+v, want %+v", c, home)
	}
	var bare Camera
	bare.Reset()
	if d := DefaultCamera(); bare.Eye != d.Eye || bare.FovY != d.FovY || bare.Validate() != nil {
		t.Errorf("Reset without home = %+v, want DefaultCamera", bare)
	}
}

func TestCameraOpsOnInvalidCamera(t *testing.T) {
	var c Camera // eye == target, zero up
	for name, op := range map[string]func() error{
		"orbit": func() error { return c.Orbit(10, 0) },
		"pan":   func() error { return c.Pan(0.1, 0) },
		"zoom":  func() error { return c.Zoom(2) },
		"dolly": func() error { return c.Dolly(1) },
	} {
		if err := op(); !errors.Is(err, ErrBadCamera) {
			t.Errorf("%s on a zero camera = %v, want ErrBadCamera", name, err)
		}
	}
}

func TestCameraProjection(t *testing.T) {
	// A tiny model up close stays in front of the near plane.
	c := Camera{Eye: mgl32.Vec3{0, 0, 0.01}, Up: mgl32.Vec3{0, 1, 0}, FovY: 45}
	clip := c.Projection(16.0 / 9).Mul4(c.View()).Mul4x1(mgl32.Vec4{0, 0, 0, 1})
	if z := clip[2] / clip[3]; !(z > -1 && z < 1) {
		t.Errorf("target at distance 0.01 has NDC depth %g, outside the clip range", z)
	}
	for _, aspect := range []float32{0, -1, nan32(), inf32()} {
		m := c.Projection(aspect)
		if !finiteMat(m) {
			t.Errorf("Projection(%g) is not finite: %v", aspect, m)
		}
	}
}
