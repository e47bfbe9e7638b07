package scenes

import "github.com/go-gl/mathgl/mgl32"

// Camera is a perspective camera looking from Eye at Target.
type Camera struct {
	Eye, Target, Up mgl32.Vec3
	// FovY is the vertical field of view in degrees.
	FovY float32
	// Near and Far are the clip distances; zero means automatic (from the distance to Target).
	Near, Far float32
}

// View returns the world-to-camera matrix.
func (c Camera) View() mgl32.Mat4 {
	return mgl32.LookAtV(c.Eye, c.Target, c.Up)
}

// Projection returns the camera-to-clip matrix for the given aspect ratio (width/height).
func (c Camera) Projection(aspect float32) mgl32.Mat4 {
	near, far := c.Near, c.Far
	if near <= 0 || far <= near {
		d := c.Eye.Sub(c.Target).Len()
		near = max(d*0.01, 0.01)
		far = max(d*100, 100)
	}
	fov := c.FovY
	if fov <= 0 || fov >= 179 {
		fov = 45
	}
	return mgl32.Perspective(mgl32.DegToRad(fov), aspect, near, far)
}
