package scenes

import (
	"fmt"
	"math"
	"sync"

	"github.com/go-gl/mathgl/mgl32"
)

// Environment names with a fixed meaning in a Library.
const (
	// EnvironmentStudio is the built-in studio environment (see Studio).
	EnvironmentStudio = "studio"
	// EnvironmentNone turns image-based light off (Library.Environment returns nil).
	EnvironmentNone = "none"
)

// MaxEnvironmentWidth is the widest panorama an Environment keeps: wider pictures are
// halved (box filtered) until they fit. Prefiltering does not need more.
const MaxEnvironmentWidth = 1024

// maxRadiance is the largest value an Environment keeps (half-float's largest): brighter
// texels are clamped to it.
const maxRadiance = 65504

// Environment is a panorama of the light arriving from every direction, for image-based
// light: equirectangular, linear RGB, row 0 looking straight up (+Y) and the last row
// straight down; the middle column looks along -Z and x grows toward +X on its right
// (the direction of pixel (u, v) in 0..1 is (sin θ sin φ, cos θ, -sin θ cos φ) with
// θ = v π and φ = (u - 0.5) 2π). An Environment is read-only once made, shared by every
// scene and view that uses it; the renderer prefilters it once per OpenGL context.
type Environment struct {
	// Name is the name it is registered under.
	Name string
	// Width and Height are the panorama's size (Width = 2 Height is usual, not required).
	Width, Height int
	// Pix holds 3 float32 per pixel, rows from the top; read-only.
	Pix []float32
	// sh is the diffuse light as 9 spherical-harmonic coefficients (see SH).
	sh [9]mgl32.Vec3
}

// NewEnvironment makes an environment from a decoded panorama. Pictures wider than
// MaxEnvironmentWidth are box filtered down; values above 65504 are clamped. A size that
// does not match the pixels, or negative, NaN or infinite values, give ErrBadEnvironment.
func NewEnvironment(name string, img *HDRImage) (*Environment, error) {
	if img == nil || img.Width < 1 || img.Height < 1 || len(img.Pix) != 3*img.Width*img.Height {
		return nil, fmt.Errorf("%w: %q: picture size does not match its pixels", ErrBadEnvironment, name)
	}
	for i, v := range img.Pix {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || v < 0 {
			return nil, fmt.Errorf("%w: %q: value %g at pixel %d (want finite values >= 0)", ErrBadEnvironment, name, v, i/3)
		}
	}
	// Clamp first (the halving averages what the renderer would see), without copying a
	// large picture whole: the first halving makes the copy.
	clamp := func(v float32) float32 { return min(v, maxRadiance) }
	pix, w, h := img.Pix, img.Width, img.Height
	if w > MaxEnvironmentWidth && h >= 2 {
		pix, w, h = halve(pix, w, h, clamp)
	} else {
		pix = make([]float32, len(img.Pix))
		for i, v := range img.Pix {
			pix[i] = clamp(v)
		}
	}
	for w > MaxEnvironmentWidth && h >= 2 {
		pix, w, h = halve(pix, w, h, nil)
	}
	e := &Environment{Name: name, Width: w, Height: h, Pix: pix}
	e.sh = projectSH(e)
	return e, nil
}

// halve box filters a w x h RGB picture to half its size (odd last rows and columns are
// dropped), applying f (when not nil) to each value read.
func halve(pix []float32, w, h int, f func(float32) float32) ([]float32, int, int) {
	if f == nil {
		f = func(v float32) float32 { return v }
	}
	nw, nh := w/2, h/2
	out := make([]float32, 3*nw*nh)
	for y := range nh {
		for x := range nw {
			for c := range 3 {
				s := f(pix[3*((2*y)*w+2*x)+c]) + f(pix[3*((2*y)*w+2*x+1)+c]) +
					f(pix[3*((2*y+1)*w+2*x)+c]) + f(pix[3*((2*y+1)*w+2*x+1)+c])
				out[3*(y*nw+x)+c] = s / 4
			}
		}
	}
	return out, nw, nh
}

// EnvironmentDirection returns the unit direction of panorama coordinates (u, v), each
// 0..1 (see Environment).
func EnvironmentDirection(u, v float64) mgl32.Vec3 {
	theta, phi := v*math.Pi, (u-0.5)*2*math.Pi
	st := math.Sin(theta)
	return mgl32.Vec3{float32(st * math.Sin(phi)), float32(math.Cos(theta)), float32(-st * math.Cos(phi))}
}

// shBasis returns the 9 real spherical harmonics of order 2 at unit direction d.
func shBasis(d mgl32.Vec3) [9]float32 {
	x, y, z := d[0], d[1], d[2]
	return [9]float32{
		0.282095,
		0.488603 * y, 0.488603 * z, 0.488603 * x,
		1.092548 * x * y, 1.092548 * y * z, 0.315392 * (3*z*z - 1), 1.092548 * x * z, 0.546274 * (x*x - y*y),
	}
}

// projectSH projects e onto the spherical harmonics and convolves with the clamped cosine,
// divided by π: evaluating the result at a normal gives the diffusely reflected radiance
// per unit of albedo.
func projectSH(e *Environment) [9]mgl32.Vec3 {
	var acc [9][3]float64
	dPhi := 2 * math.Pi / float64(e.Width)
	dTheta := math.Pi / float64(e.Height)
	for y := range e.Height {
		v := (float64(y) + 0.5) / float64(e.Height)
		dw := dPhi * dTheta * math.Sin(v*math.Pi)
		for x := range e.Width {
			d := EnvironmentDirection((float64(x)+0.5)/float64(e.Width), v)
			b := shBasis(d)
			p := e.Pix[3*(y*e.Width+x):]
			for k := range 9 {
				w := float64(b[k]) * dw
				acc[k][0] += float64(p[0]) * w
				acc[k][1] += float64(p[1]) * w
				acc[k][2] += float64(p[2]) * w
			}
		}
	}
	// Clamped-cosine convolution per band (π, 2π/3, π/4), then / π.
	band := [9]float64{1, 2.0 / 3, 2.0 / 3, 2.0 / 3, 0.25, 0.25, 0.25, 0.25, 0.25}
	var out [9]mgl32.Vec3
	for k := range 9 {
		for c := range 3 {
			out[k][c] = float32(acc[k][c] * band[k])
		}
	}
	return out
}

// SH returns the environment's diffuse light as 9 spherical-harmonic coefficients (order
// 2, the basis of Ramamoorthi and Hanrahan, cosine convolution and 1/π applied):
// Σ SH()[k] Y_k(n) is the radiance a white diffuse surface with normal n reflects.
func (e *Environment) SH() [9]mgl32.Vec3 { return e.sh }

// Irradiance evaluates SH at unit normal n: the radiance a white diffuse surface facing n
// reflects.
func (e *Environment) Irradiance(n mgl32.Vec3) mgl32.Vec3 {
	b := shBasis(n)
	var out mgl32.Vec3
	for k := range 9 {
		out = out.Add(e.sh[k].Mul(b[k]))
	}
	return out
}

var studio struct {
	once sync.Once
	env  *Environment
}

// Studio returns the built-in studio environment, made in code: a grey room lit by a large
// soft box above and in front on the left, a strip light on the right, a panel overhead
// and a dimmer one behind, over a darker floor. 512 x 256, made once and shared.
func Studio() *Environment {
	studio.once.Do(func() {
		const w, h = 512, 256
		img := &HDRImage{Width: w, Height: h, Pix: make([]float32, 3*w*h)}
		for y := range h {
			for x := range w {
				d := EnvironmentDirection((float64(x)+0.5)/w, (float64(y)+0.5)/h)
				c := studioRadiance(d)
				copy(img.Pix[3*(y*w+x):], c[:])
			}
		}
		env, err := NewEnvironment(EnvironmentStudio, img)
		if err != nil {
			panic(err) // made here from finite values: cannot fail
		}
		studio.env = env
	})
	return studio.env
}

// studioPanel is a rectangular light of the studio: centre direction, half sizes along its
// right and up axes (on the plane at unit distance), and radiance.
type studioPanel struct {
	centre, up   mgl32.Vec3
	halfW, halfH float32
	radiance     mgl32.Vec3
}

var studioPanels = []studioPanel{
	{centre: mgl32.Vec3{-0.55, 0.55, 0.65}, up: mgl32.Vec3{0, 1, 0}, halfW: 0.45, halfH: 0.3, radiance: mgl32.Vec3{9, 8.8, 8.4}},
	{centre: mgl32.Vec3{0.95, 0.15, 0.25}, up: mgl32.Vec3{0, 1, 0}, halfW: 0.08, halfH: 0.6, radiance: mgl32.Vec3{5, 5.2, 5.6}},
	{centre: mgl32.Vec3{0, 1, 0}, up: mgl32.Vec3{0, 0, -1}, halfW: 0.35, halfH: 0.35, radiance: mgl32.Vec3{4, 4, 4}},
	{centre: mgl32.Vec3{0.3, 0.35, -0.9}, up: mgl32.Vec3{0, 1, 0}, halfW: 0.3, halfH: 0.2, radiance: mgl32.Vec3{1.5, 1.5, 1.6}},
}

func studioRadiance(d mgl32.Vec3) [3]float32 {
	var c mgl32.Vec3
	if d[1] >= 0 {
		// walls: a soft grey, lighter toward the ceiling
		t := d[1]
		c = mgl32.Vec3{0.42, 0.42, 0.44}.Mul(1 - t).Add(mgl32.Vec3{0.55, 0.56, 0.6}.Mul(t))
	} else {
		// floor: darker, lightening toward the horizon
		t := min(-d[1]*4, 1)
		c = mgl32.Vec3{0.3, 0.29, 0.28}.Mul(1 - t).Add(mgl32.Vec3{0.16, 0.155, 0.15}.Mul(t))
	}
	for _, p := range studioPanels {
		n := p.centre.Normalize()
		cosA := d.Dot(n)
		if cosA <= 0.05 {
			continue
		}
		right := p.up.Cross(n).Normalize()
		up := n.Cross(right)
		q := d.Mul(1 / cosA)
		a, b := q.Dot(right)/p.halfW, q.Dot(up)/p.halfH
		// soft edges: full inside 0.9 of the size, nothing past 1.1
		edge := func(t float32) float32 {
			t = (1.1 - float32(math.Abs(float64(t)))) / 0.2
			return mgl32.Clamp(t, 0, 1)
		}
		if k := edge(a) * edge(b); k > 0 {
			c = c.Add(p.radiance.Mul(k))
		}
	}
	return [3]float32{c[0], c[1], c[2]}
}
