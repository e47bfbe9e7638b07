// Package imgcmp measures pictures against each other: PSNR of two images (all samples, or
// their low frequencies only) and an edge-aliasing score that tells a jagged (staircase)
// silhouette from an antialiased one. Tests use it to compare rendered or decoded frames
// with a reference rendering.
//
// Images are *image.YCbCr (4:2:0 or 4:4:4: every plane's samples count) or anything else,
// which is compared as 8-bit RGB (alpha ignored). Two images of different kinds are both
// compared as RGB.
package imgcmp

import (
	"fmt"
	"image"
	"image/draw"
	"math"
)

// plane is one channel of 8-bit samples: w x h samples, step bytes apart in a row, rows
// stride bytes apart.
type plane struct {
	pix          []byte
	w, h         int
	stride, step int
}

func (p plane) at(x, y int) byte { return p.pix[y*p.stride+x*p.step] }

// planes returns img's channels: Y, Cb, Cr for a *image.YCbCr (unless asRGB), else R, G, B.
func planes(img image.Image, asRGB bool) ([]plane, error) {
	if m, ok := img.(*image.YCbCr); ok && !asRGB {
		w, h := m.Rect.Dx(), m.Rect.Dy()
		var cw, ch int
		switch m.SubsampleRatio {
		case image.YCbCrSubsampleRatio420:
			cw, ch = (m.Rect.Max.X+1)/2-m.Rect.Min.X/2, (m.Rect.Max.Y+1)/2-m.Rect.Min.Y/2
		case image.YCbCrSubsampleRatio444:
			cw, ch = w, h
		default:
			return nil, fmt.Errorf("%w: YCbCr subsampling %v (want 4:2:0 or 4:4:4)", ErrUnsupported, m.SubsampleRatio)
		}
		yo, co := m.YOffset(m.Rect.Min.X, m.Rect.Min.Y), m.COffset(m.Rect.Min.X, m.Rect.Min.Y)
		return []plane{
			{pix: m.Y[yo:], w: w, h: h, stride: m.YStride, step: 1},
			{pix: m.Cb[co:], w: cw, h: ch, stride: m.CStride, step: 1},
			{pix: m.Cr[co:], w: cw, h: ch, stride: m.CStride, step: 1},
		}, nil
	}
	rgba := toRGBA(img)
	w, h := rgba.Rect.Dx(), rgba.Rect.Dy()
	out := make([]plane, 3)
	for c := range out {
		out[c] = plane{pix: rgba.Pix[c:], w: w, h: h, stride: rgba.Stride, step: 4}
	}
	return out, nil
}

// toRGBA returns img as *image.RGBA with its rectangle at the origin (converting when
// needed).
func toRGBA(img image.Image) *image.RGBA {
	if m, ok := img.(*image.RGBA); ok && m.Rect.Min == (image.Point{}) {
		return m
	}
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Rect, img, b.Min, draw.Src)
	return out
}

// comparable returns a's and b's channels, compared as YCbCr when both are *image.YCbCr
// with one subsampling, else as RGB.
func comparablePlanes(a, b image.Image) ([]plane, []plane, error) {
	if a.Bounds().Size() != b.Bounds().Size() {
		return nil, nil, fmt.Errorf("%w: %v and %v", ErrMismatch, a.Bounds().Size(), b.Bounds().Size())
	}
	if a.Bounds().Empty() {
		return nil, nil, fmt.Errorf("%w: empty image", ErrUnsupported)
	}
	ya, aok := a.(*image.YCbCr)
	yb, bok := b.(*image.YCbCr)
	asRGB := !(aok && bok && ya.SubsampleRatio == yb.SubsampleRatio)
	pa, err := planes(a, asRGB)
	if err != nil {
		return nil, nil, err
	}
	pb, err := planes(b, asRGB)
	if err != nil {
		return nil, nil, err
	}
	return pa, pb, nil
}

// PSNR returns the peak signal-to-noise ratio of b against a in dB (peak 255), over every
// sample of every channel (Y, Cb and Cr for two *image.YCbCr, else R, G and B): 10 log10
// (255^2 / mean squared difference). Identical images give +Inf. Images of different
// sizes give ErrMismatch.
func PSNR(a, b image.Image) (float64, error) {
	pa, pb, err := comparablePlanes(a, b)
	if err != nil {
		return 0, err
	}
	var sum float64
	n := 0
	for c := range pa {
		p, q := pa[c], pb[c]
		for y := 0; y < p.h; y++ {
			for x := 0; x < p.w; x++ {
				d := float64(p.at(x, y)) - float64(q.at(x, y))
				sum += d * d
			}
		}
		n += p.w * p.h
	}
	return psnr(sum / float64(n)), nil
}

func psnr(mse float64) float64 {
	if mse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/mse)
}

// LowPassPSNR is PSNR of the two images after a box blur of the given radius (a
// (2 radius + 1)^2 mean, edges clamped) of every channel: it compares what the images show
// at low frequencies (shapes, colours, shading), not their edges and fine detail. Radius 0
// is PSNR.
func LowPassPSNR(a, b image.Image, radius int) (float64, error) {
	pa, pb, err := comparablePlanes(a, b)
	if err != nil {
		return 0, err
	}
	var sum float64
	n := 0
	for c := range pa {
		p, q := boxBlur(pa[c], radius), boxBlur(pb[c], radius)
		for i := range p {
			d := p[i] - q[i]
			sum += d * d
		}
		n += len(p)
	}
	return psnr(sum / float64(n)), nil
}

// boxBlur returns p blurred with a (2r+1)^2 box (edges clamped), w*h values row by row.
func boxBlur(p plane, r int) []float64 {
	src := make([]float64, p.w*p.h)
	for y := 0; y < p.h; y++ {
		for x := 0; x < p.w; x++ {
			src[y*p.w+x] = float64(p.at(x, y))
		}
	}
	if r <= 0 {
		return src
	}
	return blur(src, p.w, p.h, r)
}

// blur is a separable (2r+1)^2 box blur of w x h values, edges clamped.
func blur(src []float64, w, h, r int) []float64 {
	tmp := make([]float64, len(src))
	out := make([]float64, len(src))
	k := float64(2*r + 1)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var s float64
			for d := -r; d <= r; d++ {
				s += src[y*w+clamp(x+d, w)]
			}
			tmp[y*w+x] = s / k
		}
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var s float64
			for d := -r; d <= r; d++ {
				s += tmp[clamp(y+d, h)*w+x]
			}
			out[y*w+x] = s / k
		}
	}
	return out
}

func clamp(i, n int) int { return min(max(i, 0), n-1) }
