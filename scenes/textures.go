package scenes

import (
	"image"
	"image/color"
	"math"
)

// Procedural textures for the built-in scenes. Each returns a new *image.NRGBA.

// ZonePlateTexture returns a size x size circular zone plate: grey rings whose spatial
// frequency grows linearly from zero at the centre to the Nyquist limit (one cycle per two
// pixels) at the edge's midpoints. It shows scaling, filtering and compression artefacts at
// every frequency and orientation at once.
func ZonePlateTexture(size int) *image.NRGBA {
	size = max(size, 2)
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	c := float64(size) / 2
	// phase = k r², local frequency = k r / π cycles per pixel: 0.5 at r = c.
	k := math.Pi / (2 * c)
	for y := range size {
		dy := float64(y) + 0.5 - c
		for x := range size {
			dx := float64(x) + 0.5 - c
			v := 0.5 + 0.5*math.Cos(k*(dx*dx+dy*dy))
			g := uint8(math.Round(v * 255))
			img.SetNRGBA(x, y, color.NRGBA{g, g, g, 255})
		}
	}
	return img
}

// CheckerTexture returns a size x size checkerboard of cells x cells squares in colours a
// and b (a at the top-left).
func CheckerTexture(size, cells int, a, b color.NRGBA) *image.NRGBA {
	size, cells = max(size, 1), max(cells, 1)
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		cy := y * cells / size
		for x := range size {
			if (x*cells/size+cy)%2 == 0 {
				img.SetNRGBA(x, y, a)
			} else {
				img.SetNRGBA(x, y, b)
			}
		}
	}
	return img
}

// WedgeTexture returns a size x size black-and-white detail chart in four quadrants:
// vertical lines (top-left) and horizontal lines (top-right) whose period steps from 8 down
// to 2 pixels, a one-pixel checkerboard ringed by a two-pixel one (bottom-left), and a
// horizontal frequency sweep (bottom-right). Hard edges and single-pixel detail are what a
// video codec finds hardest.
func WedgeTexture(size int) *image.NRGBA {
	size = max(size, 8)
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	h := size / 2
	white, black := color.NRGBA{255, 255, 255, 255}, color.NRGBA{0, 0, 0, 255}
	pick := func(on bool) color.NRGBA {
		if on {
			return white
		}
		return black
	}
	for y := range size {
		for x := range size {
			var on bool
			switch {
			case x < h && y < h: // vertical lines, period from 8 px (top) to 2 px (bottom)
				period := 8 - 2*(y*4/h)
				on = x%period < period/2
			case y < h: // horizontal lines, period from 8 px (left) to 2 px (right)
				period := 8 - 2*((x-h)*4/h)
				on = y%period < period/2
			case x < h: // checkerboards: 1 px in the middle, 2 px around it
				lx, ly := x, y-h
				if lx > h/4 && lx < 3*h/4 && ly > h/4 && ly < 3*h/4 {
					on = (x+y)%2 == 0
				} else {
					on = (x/2+y/2)%2 == 0
				}
			default: // sweep: frequency grows from 0 to Nyquist across the quadrant
				u := float64(x-h) / float64(h)
				on = math.Cos(math.Pi*u*float64(x-h)/2) > 0
			}
			img.SetNRGBA(x, y, pick(on))
		}
	}
	return img
}
