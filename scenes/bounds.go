package scenes

import (
	"math"

	"github.com/go-gl/mathgl/mgl32"
)

// Bounds is an axis-aligned bounding box. The zero value is the single point at the origin;
// use EmptyBounds for a box that grows from nothing.
type Bounds struct {
	Min, Max mgl32.Vec3
}

// EmptyBounds returns a box that contains nothing; Add and Union grow it.
func EmptyBounds() Bounds {
	inf := float32(math.Inf(1))
	return Bounds{Min: mgl32.Vec3{inf, inf, inf}, Max: mgl32.Vec3{-inf, -inf, -inf}}
}

// Empty reports whether the box contains no point.
func (b Bounds) Empty() bool {
	return !(b.Min[0] <= b.Max[0] && b.Min[1] <= b.Max[1] && b.Min[2] <= b.Max[2])
}

// Add grows the box to contain p.
func (b *Bounds) Add(p mgl32.Vec3) {
	for i := range 3 {
		b.Min[i] = min(b.Min[i], p[i])
		b.Max[i] = max(b.Max[i], p[i])
	}
}

// Union grows the box to contain o.
func (b *Bounds) Union(o Bounds) {
	if o.Empty() {
		return
	}
	b.Add(o.Min)
	b.Add(o.Max)
}

// Center returns the middle of the box.
func (b Bounds) Center() mgl32.Vec3 { return b.Min.Add(b.Max).Mul(0.5) }

// Size returns the box's extent along each axis.
func (b Bounds) Size() mgl32.Vec3 { return b.Max.Sub(b.Min) }

// Radius returns half the box's diagonal: the radius of a sphere around Center containing it.
func (b Bounds) Radius() float32 { return b.Size().Len() / 2 }

// Corners returns the box's eight corners.
func (b Bounds) Corners() [8]mgl32.Vec3 {
	var c [8]mgl32.Vec3
	for i := range 8 {
		for a := range 3 {
			if i&(1<<a) != 0 {
				c[i][a] = b.Max[a]
			} else {
				c[i][a] = b.Min[a]
			}
		}
	}
	return c
}

// Transform returns the box containing b transformed by m (an affine matrix).
func (b Bounds) Transform(m mgl32.Mat4) Bounds {
	if b.Empty() {
		return b
	}
	out := EmptyBounds()
	for _, c := range b.Corners() {
		out.Add(m.Mul4x1(c.Vec4(1)).Vec3())
	}
	return out
}

// Bounds returns the box around the primitive's positions (object space).
func (p *Primitive) Bounds() Bounds {
	b := EmptyBounds()
	for _, v := range p.Positions {
		b.Add(v)
	}
	return b
}

// Bounds returns the world-space box around every visible primitive (see Draws).
func (s *Scene) Bounds() Bounds {
	b := EmptyBounds()
	for _, d := range s.Draws() {
		b.Union(d.Primitive.Bounds().Transform(d.World))
	}
	return b
}

// FrameBounds returns a camera (Y up, home recorded) looking at the centre of b from the
// direction given by yaw and pitch (degrees, as Camera.Angles), far enough for the sphere
// around b to fit the vertical field of view fovDeg with a small margin. An empty box
// frames the unit cube at the origin.
func FrameBounds(b Bounds, yawDeg, pitchDeg, fovDeg float32) Camera {
	if b.Empty() {
		b = Bounds{Min: mgl32.Vec3{-0.5, -0.5, -0.5}, Max: mgl32.Vec3{0.5, 0.5, 0.5}}
	}
	if !(fovDeg > MinFovY && fovDeg < MaxFovY) {
		fovDeg = 45
	}
	up := mgl32.Vec3{0, 1, 0}
	r := max(b.Radius(), 1e-3)
	d := r / float32(math.Sin(float64(mgl32.DegToRad(fovDeg))/2)) * 1.1
	d = mgl32.Clamp(d, 10*MinDistance, MaxDistance)
	pitchDeg = mgl32.Clamp(pitchDeg, -MaxPitch, MaxPitch)
	c := Camera{Target: b.Center(), Up: up, FovY: fovDeg}
	c.Eye = c.Target.Add(orbitOffset(up, yawDeg, pitchDeg, d))
	c.SetHome()
	return c
}
