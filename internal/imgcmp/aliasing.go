package imgcmp

import (
	"fmt"
	"image"
	"math"
)

// tensorRadius is the radius of the box that smooths the structure tensor: wide enough to
// see a staircase's true direction across a few of its steps.
const tensorRadius = 3

// edgeShare is the part of the strongest edge's gradient energy a pixel needs to count as
// on an edge.
const edgeShare = 0.1

// EdgeAliasing scores how jagged the edges of img are, on its luma (the Y plane of a
// *image.YCbCr, else BT.709 luma of RGB): 0 for edges whose values do not change along
// them (on the pixel grid's rows and columns), larger for staircases, whatever the edges'
// contrast. An oblique hard edge (one sample per pixel) scores about 1, the same edge with
// 2x2 samples per pixel about a third of that and with 16x16 about a quarter (the floor
// the measure itself leaves).
//
// On every pixel of an edge (where the gradient energy, averaged over a 7x7 box, is at
// least a tenth of the image's largest) it takes the edge's direction from that averaged
// structure tensor and the second difference of the luma along it (bilinear samples one
// pixel either side); the score is the sum of their squares over the sum of the gradient
// energies. Meant for a high-contrast silhouette (a bright object on a dark background):
// shading and texture inside an object count as edges too, so compare pictures of one
// scene and view, or measure a sub-image around the silhouette. Images smaller than 8x8
// give ErrUnsupported; an image without edges scores 0.
func EdgeAliasing(img image.Image) (float64, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w < 8 || h < 8 {
		return 0, fmt.Errorf("%w: %dx%d is too small to measure edges (want at least 8x8)", ErrUnsupported, w, h)
	}
	l, err := luma(img)
	if err != nil {
		return 0, err
	}
	at := func(x, y int) float64 { return l[clamp(y, h)*w+clamp(x, w)] }
	gxx := make([]float64, w*h)
	gxy := make([]float64, w*h)
	gyy := make([]float64, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			gx := (at(x+1, y) - at(x-1, y)) / 2
			gy := (at(x, y+1) - at(x, y-1)) / 2
			i := y*w + x
			gxx[i], gxy[i], gyy[i] = gx*gx, gx*gy, gy*gy
		}
	}
	jxx, jxy, jyy := blur(gxx, w, h, tensorRadius), blur(gxy, w, h, tensorRadius), blur(gyy, w, h, tensorRadius)
	peak := 0.0
	for i := range jxx {
		peak = max(peak, jxx[i]+jyy[i])
	}
	if peak == 0 {
		return 0, nil
	}
	// bilinear samples the luma at (x, y), edges clamped.
	bilinear := func(x, y float64) float64 {
		x0, y0 := math.Floor(x), math.Floor(y)
		fx, fy := x-x0, y-y0
		ix, iy := int(x0), int(y0)
		top := at(ix, iy)*(1-fx) + at(ix+1, iy)*fx
		bot := at(ix, iy+1)*(1-fx) + at(ix+1, iy+1)*fx
		return top*(1-fy) + bot*fy
	}
	var jag, energy float64
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			i := y*w + x
			e := jxx[i] + jyy[i]
			if e < edgeShare*peak {
				continue
			}
			// The tensor's main eigenvector is the edge's normal; the tangent is across it.
			theta := 0.5 * math.Atan2(2*jxy[i], jxx[i]-jyy[i])
			tx, ty := -math.Sin(theta), math.Cos(theta)
			fx, fy := float64(x), float64(y)
			d2 := bilinear(fx+tx, fy+ty) - 2*l[i] + bilinear(fx-tx, fy-ty)
			jag += d2 * d2
			energy += e
		}
	}
	return jag / energy, nil
}

// luma returns img's luma, w*h values row by row (0..255).
func luma(img image.Image) ([]float64, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]float64, w*h)
	if m, ok := img.(*image.YCbCr); ok {
		p, err := planes(m, false)
		if err != nil {
			return nil, err
		}
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				out[y*w+x] = float64(p[0].at(x, y))
			}
		}
		return out, nil
	}
	m := toRGBA(img)
	for y := 0; y < h; y++ {
		row := m.Pix[y*m.Stride:]
		for x := 0; x < w; x++ {
			out[y*w+x] = 0.2126*float64(row[4*x]) + 0.7152*float64(row[4*x+1]) + 0.0722*float64(row[4*x+2])
		}
	}
	return out, nil
}
