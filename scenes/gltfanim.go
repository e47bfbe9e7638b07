package scenes

import (
	"fmt"
	"math"

	"github.com/go-gl/mathgl/mgl32"
	"github.com/qmuntal/gltf"
)

// MaxJointsPerSkin bounds a skin's joint list (JOINTS_0 values are at most 65535).
const MaxJointsPerSkin = 1 << 16

// deformData reads a primitive's skinning attributes (JOINTS_0, WEIGHTS_0) and morph
// targets (POSITION and NORMAL deltas). What does not fit (counts that do not match the
// vertices, joints of a non-integer type) is dropped with a warning: the primitive then
// shows its rest shape.
func (l *gltfLoader) deformData(gp *gltf.Primitive, p *Primitive, nv int) error {
	d := &Deform{}
	ja, hasJ := gp.Attributes["JOINTS_0"]
	wa, hasW := gp.Attributes["WEIGHTS_0"]
	if hasJ != hasW {
		l.warn("a primitive has only one of JOINTS_0 and WEIGHTS_0: not skinned")
	} else if hasJ {
		joints, weights, err := l.skinAttributes(ja, wa, nv)
		if err != nil {
			l.warn("skinning attributes skipped: %v", err)
		} else {
			d.Joints, d.Weights = joints, weights
		}
	}
	for ti, tg := range gp.Targets {
		var mt MorphTarget
		ok := true
		for _, a := range []struct {
			name string
			dst  *[]mgl32.Vec3
		}{{gltf.POSITION, &mt.Positions}, {gltf.NORMAL, &mt.Normals}} {
			ai, has := tg[a.name]
			if !has {
				continue
			}
			v, err := l.readVec(ai, gltf.AccessorVec3, "morph target "+a.name)
			if err != nil {
				l.warn("morph target %d skipped: %v", ti, err)
				ok = false
				break
			}
			if len(v)/3 != nv {
				l.warn("morph target %d skipped: %s has %d elements for %d vertices", ti, a.name, len(v)/3, nv)
				ok = false
				break
			}
			*a.dst = toVec3(v)
		}
		if !ok {
			mt = MorphTarget{} // keeps target indices aligned with the weights
		}
		d.Targets = append(d.Targets, mt)
	}
	if d.Joints != nil || len(d.Targets) > 0 {
		p.Deform = d
	}
	return nil
}

// skinAttributes reads JOINTS_0 (unsigned byte or short) and WEIGHTS_0.
func (l *gltfLoader) skinAttributes(ja, wa, nv int) ([][4]uint16, [][4]float32, error) {
	if ja < 0 || ja >= len(l.doc.Accessors) || l.doc.Accessors[ja] == nil {
		return nil, nil, bad("JOINTS_0: accessor %d does not exist", ja)
	}
	switch ct := l.doc.Accessors[ja].ComponentType; ct {
	case gltf.ComponentUbyte, gltf.ComponentUshort:
	default:
		return nil, nil, bad("JOINTS_0 accessor %d: component type %s (want unsigned byte or short)", ja, ct)
	}
	if l.doc.Accessors[ja].Normalized {
		return nil, nil, bad("JOINTS_0 accessor %d is normalized", ja)
	}
	jv, err := l.readVec(ja, gltf.AccessorVec4, "JOINTS_0")
	if err != nil {
		return nil, nil, err
	}
	wv, err := l.readVec(wa, gltf.AccessorVec4, "WEIGHTS_0")
	if err != nil {
		return nil, nil, err
	}
	if len(jv)/4 != nv || len(wv)/4 != nv {
		return nil, nil, bad("JOINTS_0 has %d elements, WEIGHTS_0 %d, POSITION %d", len(jv)/4, len(wv)/4, nv)
	}
	joints := make([][4]uint16, nv)
	weights := make([][4]float32, nv)
	for i := range nv {
		for k := range 4 {
			joints[i][k] = uint16(jv[4*i+k])
			w := wv[4*i+k]
			if w < 0 {
				return nil, nil, bad("WEIGHTS_0 element %d has a negative weight %v", i, w)
			}
			weights[i][k] = w
		}
	}
	return joints, weights, nil
}

// animate finishes a decoded scene's moving parts once the node walk has placed every node
// (sceneNode): morph weights and skins on nodes, mesh default weights, the animations,
// and the rest pose of deformed meshes. Problems skip the part with a warning.
func (l *gltfLoader) animate() error {
	for gi, si := range l.sceneNode {
		gn, n := l.doc.Nodes[gi], l.s.Nodes[si]
		if n.Mesh < 0 {
			continue
		}
		targets := meshTargets(l.s.Meshes[n.Mesh])
		if len(gn.Weights) > 0 {
			if w, ok := l.weights(gn.Weights, targets, fmt.Sprintf("node %d", gi)); ok {
				n.Weights = w
			}
		}
		if gn.Skin != nil {
			skin, err := l.skin(*gn.Skin)
			if err != nil {
				l.warn("node %d: skin %d skipped: %v", gi, *gn.Skin, err)
				continue
			}
			if j := maxJoint(l.s.Meshes[n.Mesh]); j >= len(skin.Joints) {
				l.warn("node %d: skin %d skipped: a vertex uses joint %d, the skin has %d", gi, *gn.Skin, j, len(skin.Joints))
				continue
			}
			n.Skin = skin
		}
	}
	for gi, mi := range l.meshes {
		gm := l.doc.Meshes[gi]
		if len(gm.Weights) > 0 {
			if w, ok := l.weights(gm.Weights, meshTargets(l.s.Meshes[mi]), fmt.Sprintf("mesh %d", gi)); ok {
				l.s.Meshes[mi].Weights = w
			}
		}
	}
	used := map[string]int{}
	for ai, ga := range l.doc.Animations {
		a, err := l.animation(ai, ga)
		if err != nil {
			l.warn("animation %d skipped: %v", ai, err)
			continue
		}
		if a.Name == "" {
			a.Name = fmt.Sprintf("animation%d", ai)
		}
		a.Name = uniqueName(a.Name, ai, used)
		l.s.Animations = append(l.s.Animations, a)
	}
	l.s.Deform()
	return nil
}

// meshTargets is the number of morph targets of the mesh (the most of its primitives).
func meshTargets(m *Mesh) int {
	n := 0
	for i := range m.Primitives {
		if d := m.Primitives[i].Deform; d != nil {
			n = max(n, len(d.Targets))
		}
	}
	return n
}

// maxJoint is the largest joint index a weighted vertex of the mesh uses (-1: none).
func maxJoint(m *Mesh) int {
	j := -1
	for i := range m.Primitives {
		d := m.Primitives[i].Deform
		if d == nil {
			continue
		}
		for v, js := range d.Joints {
			for k := range 4 {
				if d.Weights[v][k] != 0 {
					j = max(j, int(js[k]))
				}
			}
		}
	}
	return j
}

// weights checks morph weights against the number of targets.
func (l *gltfLoader) weights(w []float64, targets int, what string) ([]float32, bool) {
	if len(w) != targets {
		l.warn("%s: %d morph weights for %d targets: ignored", what, len(w), targets)
		return nil, false
	}
	out := make([]float32, len(w))
	for i, v := range w {
		if !finite32(float32(v)) {
			l.warn("%s: morph weight %d is not finite: weights ignored", what, i)
			return nil, false
		}
		out[i] = float32(v)
	}
	return out, true
}

// skin converts glTF skin si (once per call; skins are small).
func (l *gltfLoader) skin(si int) (*Skin, error) {
	if l.skins == nil {
		l.skins = map[int]*Skin{}
	}
	if s, ok := l.skins[si]; ok {
		return s, nil
	}
	if si < 0 || si >= len(l.doc.Skins) || l.doc.Skins[si] == nil {
		return nil, bad("skin %d does not exist (%d skins)", si, len(l.doc.Skins))
	}
	gs := l.doc.Skins[si]
	if len(gs.Joints) == 0 || len(gs.Joints) > MaxJointsPerSkin {
		return nil, bad("%d joints", len(gs.Joints))
	}
	s := &Skin{Name: gs.Name, Joints: make([]int, len(gs.Joints)), InverseBind: make([]mgl32.Mat4, len(gs.Joints))}
	for j, gi := range gs.Joints {
		si, ok := l.sceneNode[gi]
		if !ok {
			return nil, bad("joint %d is node %d, not in the scene", j, gi)
		}
		s.Joints[j] = si
		s.InverseBind[j] = mgl32.Ident4()
	}
	if gs.InverseBindMatrices != nil {
		v, err := l.readVec(*gs.InverseBindMatrices, gltf.AccessorMat4, "inverseBindMatrices")
		if err != nil {
			return nil, err
		}
		if len(v)/16 < len(gs.Joints) {
			return nil, bad("%d inverse bind matrices for %d joints", len(v)/16, len(gs.Joints))
		}
		for j := range s.InverseBind {
			copy(s.InverseBind[j][:], v[16*j:16*j+16])
		}
	}
	l.skins[si] = s
	return s, nil
}

// animation converts one glTF animation; any broken sampler or channel rejects it whole.
func (l *gltfLoader) animation(ai int, ga *gltf.Animation) (*Animation, error) {
	if ga == nil {
		return nil, bad("null")
	}
	a := &Animation{Name: ga.Name}
	for ci, gc := range ga.Channels {
		if gc == nil {
			return nil, bad("channel %d is null", ci)
		}
		if gc.Target.Node == nil {
			continue // targets defined by extensions are not supported
		}
		si, ok := l.sceneNode[*gc.Target.Node]
		if !ok {
			l.warn("animation %d channel %d: node %d is not in the scene: channel ignored", ai, ci, *gc.Target.Node)
			continue
		}
		if gc.Sampler < 0 || gc.Sampler >= len(ga.Samplers) || ga.Samplers[gc.Sampler] == nil {
			return nil, bad("channel %d: sampler %d does not exist (%d samplers)", ci, gc.Sampler, len(ga.Samplers))
		}
		gs := ga.Samplers[gc.Sampler]
		c := Channel{Node: si}
		var typ gltf.AccessorType
		switch gc.Target.Path {
		case gltf.TRSTranslation:
			c.Path, c.Width, typ = PathTranslation, 3, gltf.AccessorVec3
		case gltf.TRSRotation:
			c.Path, c.Width, typ = PathRotation, 4, gltf.AccessorVec4
		case gltf.TRSScale:
			c.Path, c.Width, typ = PathScale, 3, gltf.AccessorVec3
		case gltf.TRSWeights:
			c.Path, typ = PathWeights, gltf.AccessorScalar
			n := l.s.Nodes[si]
			if n.Mesh >= 0 {
				c.Width = meshTargets(l.s.Meshes[n.Mesh])
			}
			if c.Width == 0 {
				return nil, bad("channel %d animates the weights of node %d, which has no morph targets", ci, *gc.Target.Node)
			}
		default:
			return nil, bad("channel %d: unknown path", ci)
		}
		if l.s.Nodes[si].Matrix != nil && c.Path != PathWeights {
			return nil, bad("channel %d animates node %d, whose transform is a matrix", ci, *gc.Target.Node)
		}
		switch gs.Interpolation {
		case gltf.InterpolationLinear:
			c.Interpolation = InterpLinear
		case gltf.InterpolationStep:
			c.Interpolation = InterpStep
		case gltf.InterpolationCubicSpline:
			c.Interpolation = InterpCubic
		default:
			return nil, bad("sampler %d: unknown interpolation", gc.Sampler)
		}
		times, err := l.readVec(gs.Input, gltf.AccessorScalar, fmt.Sprintf("sampler %d input", gc.Sampler))
		if err != nil {
			return nil, err
		}
		if len(times) == 0 {
			return nil, bad("sampler %d has no keyframes", gc.Sampler)
		}
		for k := range times {
			if times[k] < 0 || (k > 0 && !(times[k] > times[k-1])) {
				return nil, bad("sampler %d: input times are not increasing from 0 (key %d is %v)", gc.Sampler, k, times[k])
			}
		}
		vals, err := l.readVec(gs.Output, typ, fmt.Sprintf("sampler %d output", gc.Sampler))
		if err != nil {
			return nil, err
		}
		want := len(times) * c.Width
		if c.Interpolation == InterpCubic {
			want *= 3
		}
		if len(vals) != want {
			return nil, bad("sampler %d: %d output values for %d keyframes of %d values (%s)", gc.Sampler,
				len(vals), len(times), c.Width, map[Interpolation]string{InterpLinear: "LINEAR", InterpStep: "STEP", InterpCubic: "CUBICSPLINE"}[c.Interpolation])
		}
		if c.Path == PathRotation {
			for k := 0; k+4 <= len(vals); k += 4 {
				q := vals[k : k+4]
				if l2 := q[0]*q[0] + q[1]*q[1] + q[2]*q[2] + q[3]*q[3]; !(l2 > 1e-12) && (c.Interpolation != InterpCubic || (k/4)%3 == 1) {
					return nil, bad("sampler %d: rotation key %d is not a unit quaternion", gc.Sampler, k/4)
				}
			}
		}
		c.Times, c.Values = times, vals
		a.Duration = math.Max(a.Duration, float64(times[len(times)-1]))
		a.Channels = append(a.Channels, c)
	}
	if len(a.Channels) == 0 {
		return nil, bad("no channel the renderer can play")
	}
	return a, nil
}
