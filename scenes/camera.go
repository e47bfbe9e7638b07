package scenes

import (
	"fmt"
	"math"

	"github.com/go-gl/mathgl/mgl32"
)

// Camera limits. Operations clamp to them instead of failing, so a client that keeps zooming
// or orbiting never breaks the view.
const (
	// MinDistance is the smallest eye-target distance Zoom and Dolly allow (world units).
	MinDistance = 1e-3
	// MaxDistance is the largest eye-target distance Zoom and Dolly allow (world units).
	MaxDistance = 1e5
	// MaxPitch is the largest elevation (degrees) above or below the plane perpendicular to
	// Up that Orbit allows: the camera never flips over a pole.
	MaxPitch = 89
	// MinFovY is the lower bound (exclusive) of the vertical field of view in degrees.
	MinFovY = 1
	// MaxFovY is the upper bound (exclusive) of the vertical field of view in degrees.
	MaxFovY = 179
	// maxCoord bounds camera coordinates so repeated pans cannot overflow float32 maths.
	maxCoord = 1e7
)

// Camera is a perspective camera looking from Eye at Target.
//
// The operations (Orbit, Pan, Zoom, Dolly, Set, Reset) keep it valid: eye and target distinct,
// Up not parallel to the view direction, pitch within ±MaxPitch, field of view in
// (MinFovY, MaxFovY). A Camera is a value: copy it to give a view its own camera.
type Camera struct {
	Eye, Target, Up mgl32.Vec3
	// FovY is the vertical field of view in degrees.
	FovY float32
	// Near and Far are the clip distances; zero means automatic (from the distance to Target).
	Near, Far float32
	// Home is the pose Reset returns to (its own Home is ignored); nil means DefaultCamera.
	// SetHome records it. It is shared between copies and never modified in place.
	Home *Camera
}

// DefaultCamera returns the camera Reset uses when no home was recorded: at (0, 0, 5)
// looking at the origin, Y up, 45° vertical field of view.
func DefaultCamera() Camera {
	return Camera{Eye: mgl32.Vec3{0, 0, 5}, Up: mgl32.Vec3{0, 1, 0}, FovY: 45}
}

// View returns the world-to-camera matrix.
func (c Camera) View() mgl32.Mat4 {
	return mgl32.LookAtV(c.Eye, c.Target, c.Up)
}

// Projection returns the camera-to-clip matrix for the given aspect ratio (width/height).
// With automatic clip distances, near is 1% of the eye-target distance (at least 1e-4) so
// small models stay visible up close, and far is 100 times the distance (at least 100).
func (c Camera) Projection(aspect float32) mgl32.Mat4 {
	near, far := c.Near, c.Far
	if near <= 0 || far <= near {
		d := c.Eye.Sub(c.Target).Len()
		near = max(d*0.01, 1e-4)
		far = max(d*100, 100)
	}
	fov := c.FovY
	if !(fov > MinFovY && fov < MaxFovY) {
		fov = 45
	}
	if !(aspect > 0) || math.IsInf(float64(aspect), 0) {
		aspect = 1
	}
	return mgl32.Perspective(mgl32.DegToRad(fov), aspect, near, far)
}

// Distance returns the distance from Eye to Target.
func (c Camera) Distance() float32 { return c.Eye.Sub(c.Target).Len() }

// Validate reports whether the camera is usable: finite values, distinct eye and target,
// non-zero Up not parallel to the view direction, FovY in (MinFovY, MaxFovY).
func (c Camera) Validate() error {
	return validatePose(c.Eye, c.Target, c.Up, c.FovY)
}

func validatePose(eye, target, up mgl32.Vec3, fov float32) error {
	for _, v := range []struct {
		name string
		v    mgl32.Vec3
	}{{"eye", eye}, {"target", target}, {"up", up}} {
		if !finiteVec3(v.v) {
			return fmt.Errorf("%w: %s %v is not finite", ErrBadCamera, v.name, v.v)
		}
		if v.name != "up" && !withinCoord(v.v) {
			return fmt.Errorf("%w: %s %v is too far from the origin (limit %g)", ErrBadCamera, v.name, v.v, float32(maxCoord))
		}
	}
	if !finite32(fov) || !(fov > MinFovY && fov < MaxFovY) {
		return fmt.Errorf("%w: field of view %g° outside (%d, %d)", ErrBadCamera, fov, MinFovY, MaxFovY)
	}
	f := target.Sub(eye)
	d := f.Len()
	if d == 0 {
		return fmt.Errorf("%w: eye and target are the same point %v", ErrBadCamera, eye)
	}
	if d < MinDistance || d > MaxDistance {
		return fmt.Errorf("%w: eye-target distance %g outside [%g, %g]", ErrBadCamera, d, float32(MinDistance), float32(MaxDistance))
	}
	ul := up.Len()
	if ul == 0 {
		return fmt.Errorf("%w: up is the zero vector", ErrBadCamera)
	}
	if f.Mul(1/d).Cross(up.Mul(1/ul)).Len() < 1e-3 {
		return fmt.Errorf("%w: up %v is parallel to the view direction %v", ErrBadCamera, up, f)
	}
	return nil
}

// Set places the camera: eye, target, up vector and vertical field of view in degrees. It
// returns an ErrBadCamera error, leaving the camera unchanged, when a value is not finite,
// eye equals target (or is closer than MinDistance, farther than MaxDistance), up is zero
// or parallel to the view direction, or fovDeg is outside (MinFovY, MaxFovY).
func (c *Camera) Set(eye, target, up mgl32.Vec3, fovDeg float32) error {
	if err := validatePose(eye, target, up, fovDeg); err != nil {
		return err
	}
	c.Eye, c.Target, c.Up, c.FovY = eye, target, up.Normalize(), fovDeg
	return nil
}

// SetFov changes the vertical field of view (degrees, within (MinFovY, MaxFovY)).
func (c *Camera) SetFov(fovDeg float32) error {
	if !finite32(fovDeg) || !(fovDeg > MinFovY && fovDeg < MaxFovY) {
		return fmt.Errorf("%w: field of view %g° outside (%d, %d)", ErrBadCamera, fovDeg, MinFovY, MaxFovY)
	}
	c.FovY = fovDeg
	return nil
}

// orbitBasis returns the normalised up axis u and two unit vectors a, b spanning the plane
// perpendicular to it (b = u × a). The basis depends only on Up, so yaw is stable.
func orbitBasis(up mgl32.Vec3) (u, a, b mgl32.Vec3) {
	u = up.Normalize()
	ref := mgl32.Vec3{0, 0, 1}
	if abs32(u.Dot(ref)) > 0.9 {
		ref = mgl32.Vec3{1, 0, 0}
	}
	a = ref.Sub(u.Mul(u.Dot(ref))).Normalize()
	b = u.Cross(a)
	return u, a, b
}

// Angles returns the eye's yaw and pitch around Target in degrees: pitch is the elevation
// above the plane perpendicular to Up, yaw the angle in that plane (0 when the eye lies on
// +Z from the target with Y up, 90 on +X).
func (c Camera) Angles() (yawDeg, pitchDeg float32) {
	off := c.Eye.Sub(c.Target)
	d := off.Len()
	if d == 0 || c.Up.Len() == 0 {
		return 0, 0
	}
	u, a, b := orbitBasis(c.Up)
	s := mgl32.Clamp(off.Dot(u)/d, -1, 1)
	pitch := math.Asin(float64(s))
	yaw := math.Atan2(float64(off.Dot(b)), float64(off.Dot(a)))
	return float32(yaw * 180 / math.Pi), float32(pitch * 180 / math.Pi)
}

// Orbit turns the eye around Target at constant distance: dyawDeg around Up (positive
// moves the eye to its right, so the scene seems to turn left), dpitchDeg up or down
// (positive raises the eye). Pitch is clamped to ±MaxPitch, so the camera never flips over
// a pole. Non-finite angles give ErrBadCamera.
func (c *Camera) Orbit(dyawDeg, dpitchDeg float32) error {
	if !finite32(dyawDeg) || !finite32(dpitchDeg) {
		return fmt.Errorf("%w: orbit by (%g°, %g°)", ErrBadCamera, dyawDeg, dpitchDeg)
	}
	if err := c.Validate(); err != nil {
		return err
	}
	yaw, pitch := c.Angles()
	yaw = float32(math.Mod(float64(yaw+dyawDeg), 360))
	pitch = mgl32.Clamp(pitch+dpitchDeg, -MaxPitch, MaxPitch)
	c.Eye = c.Target.Add(orbitOffset(c.Up, yaw, pitch, c.Distance()))
	return nil
}

// orbitOffset returns the eye offset from the target for yaw/pitch (degrees) around up.
func orbitOffset(up mgl32.Vec3, yawDeg, pitchDeg, dist float32) mgl32.Vec3 {
	u, a, b := orbitBasis(up)
	y := float64(mgl32.DegToRad(yawDeg))
	p := float64(mgl32.DegToRad(pitchDeg))
	dir := a.Mul(float32(math.Cos(p) * math.Cos(y))).
		Add(b.Mul(float32(math.Cos(p) * math.Sin(y)))).
		Add(u.Mul(float32(math.Sin(p))))
	return dir.Mul(dist)
}

// Pan moves eye and target together in the view plane. dx and dy are fractions of the view
// height at the target's distance: Pan(0.1, 0) moves the camera right by a tenth of what the
// view shows vertically (the scene seems to move left); positive dy moves the camera up.
// Panning therefore feels the same close up and far away.
func (c *Camera) Pan(dx, dy float32) error {
	if !finite32(dx) || !finite32(dy) {
		return fmt.Errorf("%w: pan by (%g, %g)", ErrBadCamera, dx, dy)
	}
	if err := c.Validate(); err != nil {
		return err
	}
	f := c.Target.Sub(c.Eye)
	d := f.Len()
	f = f.Mul(1 / d)
	right := f.Cross(c.Up).Normalize()
	up := right.Cross(f)
	h := 2 * d * float32(math.Tan(float64(mgl32.DegToRad(c.FovY))/2))
	off := right.Mul(dx * h).Add(up.Mul(dy * h))
	eye, target := c.Eye.Add(off), c.Target.Add(off)
	if !finiteVec3(eye) || !finiteVec3(target) || !withinCoord(eye) || !withinCoord(target) {
		return fmt.Errorf("%w: pan by (%g, %g) leaves the world (limit %g)", ErrBadCamera, dx, dy, float32(maxCoord))
	}
	c.Eye, c.Target = eye, target
	return nil
}

// Zoom moves the eye toward the target (factor > 1) or away from it (factor < 1), dividing
// the distance by factor. The distance is clamped to [MinDistance, MaxDistance], so zooming
// never reaches the target. A factor that is not finite and positive gives ErrBadCamera.
func (c *Camera) Zoom(factor float32) error {
	if !finite32(factor) || factor <= 0 {
		return fmt.Errorf("%w: zoom factor %g (want a finite number > 0)", ErrBadCamera, factor)
	}
	if err := c.Validate(); err != nil {
		return err
	}
	c.setDistance(c.Distance() / factor)
	return nil
}

// Dolly moves the eye along the view direction by delta world units (positive moves toward
// the target), clamping the distance to [MinDistance, MaxDistance].
func (c *Camera) Dolly(delta float32) error {
	if !finite32(delta) {
		return fmt.Errorf("%w: dolly by %g", ErrBadCamera, delta)
	}
	if err := c.Validate(); err != nil {
		return err
	}
	c.setDistance(c.Distance() - delta)
	return nil
}

func (c *Camera) setDistance(d float32) {
	d = mgl32.Clamp(d, MinDistance, MaxDistance)
	dir := c.Eye.Sub(c.Target).Normalize()
	c.Eye = c.Target.Add(dir.Mul(d))
}

// SetHome records the current pose as the one Reset returns to.
func (c *Camera) SetHome() {
	h := *c
	h.Home = nil
	c.Home = &h
}

// Reset returns the camera to its home pose (see SetHome), or to DefaultCamera when it has
// none. Home itself is kept.
func (c *Camera) Reset() {
	home := c.Home
	if home == nil {
		*c = DefaultCamera()
		return
	}
	*c = *home
	c.Home = home
}

func finite32(v float32) bool {
	f := float64(v)
	return !math.IsNaN(f) && !math.IsInf(f, 0)
}

func finiteVec3(v mgl32.Vec3) bool { return finite32(v[0]) && finite32(v[1]) && finite32(v[2]) }

func withinCoord(v mgl32.Vec3) bool {
	return abs32(v[0]) <= maxCoord && abs32(v[1]) <= maxCoord && abs32(v[2]) <= maxCoord
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}
