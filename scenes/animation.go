package scenes

import (
	"fmt"
	"math"

	"github.com/go-gl/mathgl/mgl32"
)

// Animation is a glTF animation: keyframed channels that move nodes (translation, rotation,
// scale) and morph weights. Animations are shared between clones and read-only; what plays
// is per scene (Scene.Playing).
type Animation struct {
	// Name is unique within the scene ("animation<i>" when the file has none).
	Name string
	// Duration is the last keyframe time of its channels, in seconds.
	Duration float64
	Channels []Channel
}

// AnimPath is the node property a channel drives.
type AnimPath int

// Animated node properties.
const (
	PathTranslation AnimPath = iota
	PathRotation
	PathScale
	// PathWeights drives the node's morph target weights (Node.Weights).
	PathWeights
)

// Interpolation is how a channel goes from one keyframe to the next (glTF's sampler
// interpolation).
type Interpolation int

// Interpolations.
const (
	// InterpLinear blends linearly (rotations: spherical linear interpolation).
	InterpLinear Interpolation = iota
	// InterpStep holds each keyframe's value until the next one.
	InterpStep
	// InterpCubic is a cubic Hermite spline with per-key in and out tangents.
	InterpCubic
)

// Channel is one animated property of one node.
type Channel struct {
	// Node indexes Scene.Nodes.
	Node          int
	Path          AnimPath
	Interpolation Interpolation
	// Times are the keyframe times in seconds, strictly increasing, at least one.
	Times []float32
	// Width is the number of floats of one value: 3 (translation, scale), 4 (rotation,
	// x y z w) or the number of morph targets (weights).
	Width int
	// Values holds Width floats per keyframe; for InterpCubic, three groups per keyframe:
	// in-tangent, value, out-tangent.
	Values []float32
}

// Skin binds a mesh's vertices to joint nodes (glTF skin). Shared between clones.
type Skin struct {
	Name string
	// Joints index Scene.Nodes; Primitive.Deform.Joints index this list.
	Joints []int
	// InverseBind holds one matrix per joint (identity when the file gives none).
	InverseBind []mgl32.Mat4
}

// Deform is a primitive's skinning and morphing data, shared between clones.
type Deform struct {
	// Joints and Weights are per vertex (glTF JOINTS_0, WEIGHTS_0), nil when the primitive
	// is not skinned. Joints index the node's Skin.Joints.
	Joints  [][4]uint16
	Weights [][4]float32
	// Targets are morph targets: per-vertex deltas added with the node's weights.
	Targets []MorphTarget
}

// MorphTarget is one morph target's position and normal deltas (nil when absent).
type MorphTarget struct {
	Positions []mgl32.Vec3
	Normals   []mgl32.Vec3
}

// Playback is an animation playing (or paused) on a scene's clock.
type Playback struct {
	// Animation indexes Scene.Animations.
	Animation int
	// Start is the scene time (seconds) at which the animation's time 0 falls.
	Start float64
	// Loop repeats the animation; without it the last pose holds.
	Loop bool
	// Paused holds the pose at animation time At.
	Paused bool
	At     float64
	// posed marks a paused animation whose pose is applied: ApplyAnimations skips it.
	posed bool
}

// deformed is a node's skinned or morphed geometry, owned by the scene that computed it:
// clones share it for drawing, and a scene that does not own it makes its own before
// changing it.
type deformed struct {
	owner *Scene
	mesh  *Mesh
	// world marks vertices in world space (skinned): drawn with an identity transform.
	world bool
}

// AnimationNames lists the animations in file order.
func (s *Scene) AnimationNames() []string {
	out := make([]string, len(s.Animations))
	for i, a := range s.Animations {
		out[i] = a.Name
	}
	return out
}

// PlayAnimation plays the named animation from its start at scene time now, in place of
// whatever played before; loop repeats it. An unknown name gives ErrUnknownAnimation.
func (s *Scene) PlayAnimation(name string, loop bool, now float64) error {
	for i, a := range s.Animations {
		if a.Name == name {
			s.Playing = []Playback{{Animation: i, Start: now, Loop: loop}}
			return nil
		}
	}
	return fmt.Errorf("%w: %q", ErrUnknownAnimation, name)
}

// PlayAllAnimations plays every animation, looped, from scene time now.
func (s *Scene) PlayAllAnimations(now float64) {
	s.Playing = s.Playing[:0:0]
	for i := range s.Animations {
		s.Playing = append(s.Playing, Playback{Animation: i, Start: now, Loop: true})
	}
}

// PauseAnimations pauses every playing animation at scene time now: the pose holds.
func (s *Scene) PauseAnimations(now float64) {
	for i := range s.Playing {
		p := &s.Playing[i]
		if !p.Paused {
			p.At, p.Paused, p.posed = p.localTime(s, now), true, false
		}
	}
}

// PauseAnimation pauses the named animation at scene time now (nothing when it does not
// play). An unknown name gives ErrUnknownAnimation.
func (s *Scene) PauseAnimation(name string, now float64) error {
	for ai, a := range s.Animations {
		if a.Name != name {
			continue
		}
		for i := range s.Playing {
			if p := &s.Playing[i]; p.Animation == ai && !p.Paused {
				p.At, p.Paused, p.posed = p.localTime(s, now), true, false
			}
		}
		return nil
	}
	return fmt.Errorf("%w: %q", ErrUnknownAnimation, name)
}

// AnimationsPlaying reports whether an animation moves the scene (playing, not paused).
func (s *Scene) AnimationsPlaying() bool {
	for _, p := range s.Playing {
		if !p.Paused {
			return true
		}
	}
	return false
}

// localTime is the animation time of p at scene time now.
func (p *Playback) localTime(s *Scene, now float64) float64 {
	if p.Paused {
		return p.At
	}
	t := now - p.Start
	if p.Animation < 0 || p.Animation >= len(s.Animations) {
		return t
	}
	d := s.Animations[p.Animation].Duration
	if p.Loop && d > 0 {
		t = math.Mod(t, d)
		if t < 0 {
			t += d
		}
	}
	return min(max(t, 0), d)
}

// ApplyAnimations poses the scene for scene time now: every animation in Playing (paused
// ones at their pause time) sets its nodes' properties, then skinned and morphed nodes get
// their geometry computed. An animation that does not loop and has reached its end is
// paused there, so AnimationsPlaying turns false once its last pose is applied. Paused
// animations whose pose is already applied cost nothing.
func (s *Scene) ApplyAnimations(now float64) {
	changed := false
	for i := range s.Playing {
		p := &s.Playing[i]
		if p.Animation < 0 || p.Animation >= len(s.Animations) || (p.Paused && p.posed) {
			continue
		}
		changed = true
		p.posed = p.Paused
		a := s.Animations[p.Animation]
		lt := p.localTime(s, now)
		t := float32(lt)
		for c := range a.Channels {
			s.applyChannel(&a.Channels[c], t)
		}
		if !p.Paused && !p.Loop && now-p.Start >= a.Duration {
			p.Paused, p.At, p.posed = true, a.Duration, false
		}
	}
	if changed {
		s.Deform()
	}
}

// applyChannel sets the channel's node property to its value at time t.
func (s *Scene) applyChannel(c *Channel, t float32) {
	if c.Node < 0 || c.Node >= len(s.Nodes) || c.Width <= 0 {
		return
	}
	n := s.Nodes[c.Node]
	v := c.Sample(t)
	if v == nil {
		return
	}
	switch c.Path {
	case PathTranslation:
		n.Translation = mgl32.Vec3{v[0], v[1], v[2]}
		n.Matrix = nil
	case PathScale:
		n.Scale = mgl32.Vec3{v[0], v[1], v[2]}
		n.Matrix = nil
	case PathRotation:
		n.Rotation = mgl32.Quat{W: v[3], V: mgl32.Vec3{v[0], v[1], v[2]}}
		n.Matrix = nil
	case PathWeights:
		n.Weights = v
	}
}

// Sample returns the channel's value at time t (clamped to its keyframes): Width floats,
// rotations normalised.
func (c *Channel) Sample(t float32) []float32 {
	n, w := len(c.Times), c.Width
	stride := w
	if c.Interpolation == InterpCubic {
		stride = 3 * w
	}
	if n == 0 || w <= 0 || len(c.Values) < n*stride {
		return nil
	}
	// value returns keyframe k's value (the middle group for cubic).
	value := func(k int) []float32 {
		if c.Interpolation == InterpCubic {
			return c.Values[k*stride+w : k*stride+2*w]
		}
		return c.Values[k*stride : k*stride+w]
	}
	out := make([]float32, w)
	if !(t > c.Times[0]) || n == 1 {
		copy(out, value(0))
		return c.normalize(out)
	}
	if t >= c.Times[n-1] {
		copy(out, value(n-1))
		return c.normalize(out)
	}
	k := 0
	lo, hi := 0, n-1 // Times[lo] <= t < Times[hi]
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if c.Times[mid] <= t {
			lo = mid
		} else {
			hi = mid
		}
	}
	k = lo
	dt := c.Times[k+1] - c.Times[k]
	u := (t - c.Times[k]) / dt
	a, b := value(k), value(k+1)
	switch c.Interpolation {
	case InterpStep:
		copy(out, a)
	case InterpCubic:
		outTan := c.Values[k*stride+2*w : k*stride+3*w]
		inTan := c.Values[(k+1)*stride : (k+1)*stride+w]
		u2, u3 := u*u, u*u*u
		h00 := 2*u3 - 3*u2 + 1
		h10 := u3 - 2*u2 + u
		h01 := -2*u3 + 3*u2
		h11 := u3 - u2
		for i := range out {
			out[i] = h00*a[i] + h10*dt*outTan[i] + h01*b[i] + h11*dt*inTan[i]
		}
	default:
		if c.Path == PathRotation {
			qa := mgl32.Quat{W: a[3], V: mgl32.Vec3{a[0], a[1], a[2]}}
			qb := mgl32.Quat{W: b[3], V: mgl32.Vec3{b[0], b[1], b[2]}}
			q := slerp(qa, qb, u)
			return []float32{q.V[0], q.V[1], q.V[2], q.W}
		}
		for i := range out {
			out[i] = a[i] + (b[i]-a[i])*u
		}
	}
	return c.normalize(out)
}

// normalize makes a rotation value a unit quaternion (identity when it is zero).
func (c *Channel) normalize(v []float32) []float32 {
	if c.Path != PathRotation || len(v) != 4 {
		return v
	}
	l := float32(math.Sqrt(float64(v[0]*v[0] + v[1]*v[1] + v[2]*v[2] + v[3]*v[3])))
	if !(l > 1e-12) || !finite32(l) {
		return []float32{0, 0, 0, 1}
	}
	for i := range v {
		v[i] /= l
	}
	return v
}

// slerp interpolates unit quaternions along the shorter arc.
func slerp(a, b mgl32.Quat, u float32) mgl32.Quat {
	a, b = a.Normalize(), b.Normalize()
	d := a.Dot(b)
	if d < 0 {
		b, d = b.Scale(-1), -d
	}
	if d > 0.9995 {
		return mgl32.Quat{W: a.W + (b.W-a.W)*u, V: a.V.Add(b.V.Sub(a.V).Mul(u))}.Normalize()
	}
	th := math.Acos(float64(d))
	sa := float32(math.Sin((1-float64(u))*th) / math.Sin(th))
	sb := float32(math.Sin(float64(u)*th) / math.Sin(th))
	return mgl32.Quat{W: a.W*sa + b.W*sb, V: a.V.Mul(sa).Add(b.V.Mul(sb))}.Normalize()
}

// WorldTransforms returns every node's world transform (index as Scene.Nodes; identity for
// nodes not reachable from the roots).
func (s *Scene) WorldTransforms() []mgl32.Mat4 {
	out := make([]mgl32.Mat4, len(s.Nodes))
	for i := range out {
		out[i] = mgl32.Ident4()
	}
	var walk func(i int, parent mgl32.Mat4, depth int)
	walk = func(i int, parent mgl32.Mat4, depth int) {
		if i < 0 || i >= len(s.Nodes) || depth > MaxNodeDepth {
			return
		}
		out[i] = parent.Mul4(s.Nodes[i].Local())
		for _, c := range s.Nodes[i].Children {
			walk(c, out[i], depth+1)
		}
	}
	for _, r := range s.Roots {
		walk(r, mgl32.Ident4(), 0)
	}
	return out
}

// Deform computes the geometry of skinned and morphed nodes for their current joints and
// weights (ApplyAnimations calls it; the loader calls it for the rest pose). The results
// are new vertex arrays each time, so arrays handed out before never change.
func (s *Scene) Deform() {
	var worlds []mgl32.Mat4
	for ni, n := range s.Nodes {
		if n.Mesh < 0 || n.Mesh >= len(s.Meshes) {
			continue
		}
		m := s.Meshes[n.Mesh]
		if !meshDeforms(m) {
			continue
		}
		skin := n.Skin
		if skin != nil && worlds == nil {
			worlds = s.WorldTransforms()
		}
		if n.deformed == nil || n.deformed.owner != s {
			dm := &Mesh{Name: m.Name, Weights: m.Weights, Primitives: append([]Primitive(nil), m.Primitives...)}
			n.deformed = &deformed{owner: s, mesh: dm}
		}
		weights := n.Weights
		if weights == nil {
			weights = m.Weights
		}
		var joints []mgl32.Mat4
		var nodeWorld mgl32.Mat4
		if skin != nil {
			joints = make([]mgl32.Mat4, len(skin.Joints))
			for j, ni := range skin.Joints {
				if ni >= 0 && ni < len(worlds) && j < len(skin.InverseBind) {
					joints[j] = worlds[ni].Mul4(skin.InverseBind[j])
				}
			}
			nodeWorld = worlds[ni]
		}
		n.deformed.world = skin != nil
		for pi := range m.Primitives {
			src, dst := &m.Primitives[pi], &n.deformed.mesh.Primitives[pi]
			deformPrimitive(src, dst, weights, joints, nodeWorld)
		}
	}
}

func meshDeforms(m *Mesh) bool {
	for i := range m.Primitives {
		if m.Primitives[i].Deform != nil {
			return true
		}
	}
	return false
}

// deformPrimitive writes src's positions and normals morphed by weights and skinned by
// joints (nil: not skinned) into new arrays of dst. Skinned vertices end in world space;
// vertices without joint weights are placed by nodeWorld.
func deformPrimitive(src, dst *Primitive, weights []float32, joints []mgl32.Mat4, nodeWorld mgl32.Mat4) {
	d := src.Deform
	if d == nil {
		if joints != nil {
			*dst = *src
			dst.Positions, dst.Normals = transformed(src.Positions, src.Normals, nodeWorld)
			if src.Tangents != nil {
				dst.Tangents = skinTangents(src.Tangents, &Deform{}, nil, nodeWorld)
			}
		}
		return
	}
	pos := append([]mgl32.Vec3(nil), src.Positions...)
	var nrm []mgl32.Vec3
	if src.Normals != nil {
		nrm = append([]mgl32.Vec3(nil), src.Normals...)
	}
	for ti, tg := range d.Targets {
		if ti >= len(weights) || weights[ti] == 0 || !finite32(weights[ti]) {
			continue
		}
		w := weights[ti]
		if len(tg.Positions) == len(pos) {
			for i := range pos {
				pos[i] = pos[i].Add(tg.Positions[i].Mul(w))
			}
		}
		if nrm != nil && len(tg.Normals) == len(nrm) {
			for i := range nrm {
				nrm[i] = nrm[i].Add(tg.Normals[i].Mul(w))
			}
		}
	}
	if joints != nil {
		skinned := len(d.Joints) == len(pos) && len(d.Weights) == len(pos)
		for i := range pos {
			m := skinMatrix(d, i, skinned, joints, nodeWorld)
			p := pos[i]
			pos[i] = mgl32.Vec3{
				m[0]*p[0] + m[4]*p[1] + m[8]*p[2] + m[12],
				m[1]*p[0] + m[5]*p[1] + m[9]*p[2] + m[13],
				m[2]*p[0] + m[6]*p[1] + m[10]*p[2] + m[14],
			}
			if nrm != nil {
				nrm[i] = mulDir(&m, nrm[i])
			}
		}
	}
	if nrm != nil {
		for i, v := range nrm {
			if l := v.Len(); l > 1e-12 {
				nrm[i] = v.Mul(1 / l)
			}
		}
	}
	*dst = *src
	dst.Positions, dst.Normals = pos, nrm
	if joints != nil && src.Tangents != nil {
		dst.Tangents = skinTangents(src.Tangents, d, joints, nodeWorld)
	}
}

// skinMatrix is vertex i's blend of its joints' matrices, or nodeWorld for a vertex without
// joint weights (or when the primitive is not skinned).
func skinMatrix(d *Deform, i int, skinned bool, joints []mgl32.Mat4, nodeWorld mgl32.Mat4) mgl32.Mat4 {
	if !skinned {
		return nodeWorld
	}
	var m mgl32.Mat4
	total := float32(0)
	for k := range 4 {
		w, j := d.Weights[i][k], int(d.Joints[i][k])
		if w == 0 || j >= len(joints) {
			continue
		}
		jm := &joints[j]
		for e := range m {
			m[e] += w * jm[e]
		}
		total += w
	}
	if !(total > 1e-6) {
		return nodeWorld
	}
	return m
}

// mulDir applies m's upper 3x3 part to the direction v.
func mulDir(m *mgl32.Mat4, v mgl32.Vec3) mgl32.Vec3 {
	return mgl32.Vec3{
		m[0]*v[0] + m[4]*v[1] + m[8]*v[2],
		m[1]*v[0] + m[5]*v[1] + m[9]*v[2],
		m[2]*v[0] + m[6]*v[1] + m[10]*v[2],
	}
}

// skinTangents turns tangents with the vertices' skin matrices (handedness kept).
func skinTangents(tan []mgl32.Vec4, d *Deform, joints []mgl32.Mat4, nodeWorld mgl32.Mat4) []mgl32.Vec4 {
	out := make([]mgl32.Vec4, len(tan))
	skinned := len(d.Joints) == len(tan) && len(d.Weights) == len(tan)
	for i, t := range tan {
		m := skinMatrix(d, i, skinned, joints, nodeWorld)
		v := mulDir(&m, t.Vec3())
		if l := v.Len(); l > 1e-12 {
			v = v.Mul(1 / l)
		} else {
			v = t.Vec3()
		}
		out[i] = v.Vec4(t[3])
	}
	return out
}

// transformed returns positions and normals moved by m.
func transformed(pos, nrm []mgl32.Vec3, m mgl32.Mat4) ([]mgl32.Vec3, []mgl32.Vec3) {
	p := make([]mgl32.Vec3, len(pos))
	for i, v := range pos {
		p[i] = m.Mul4x1(v.Vec4(1)).Vec3()
	}
	if nrm == nil {
		return p, nil
	}
	n := make([]mgl32.Vec3, len(nrm))
	m3 := m.Mat3()
	for i, v := range nrm {
		if w := m3.Mul3x1(v); w.Len() > 1e-12 {
			n[i] = w.Normalize()
		}
	}
	return p, n
}
