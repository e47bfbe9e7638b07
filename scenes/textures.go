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

// BrickTexture returns a size x size running-bond brick wall (4 courses of 2 bricks, each
// course offset by half a brick) in warm reds with light grey mortar, sRGB. It tiles.
func BrickTexture(size int) *image.NRGBA {
	size = max(size, 16)
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		for x := range size {
			mortar, brick := brickAt(x, y, size)
			if mortar > 0.5 {
				img.SetNRGBA(x, y, color.NRGBA{188, 182, 170, 255})
				continue
			}
			// A little variation per brick and across it, so the wall does not look flat.
			shade := 0.85 + 0.15*math.Sin(float64(brick)*2.3) + 0.04*math.Sin(float64(x+3*y)*0.9)
			img.SetNRGBA(x, y, color.NRGBA{uint8(min(255, 170*shade)), uint8(72 * shade), uint8(52 * shade), 255})
		}
	}
	return img
}

// BrickNormalTexture returns the tangent-space normal map matching BrickTexture: the mortar
// joints are grooves with bevelled edges (+x right, +y up the image, linear encoding).
func BrickNormalTexture(size int) *image.NRGBA {
	size = max(size, 16)
	height := make([]float64, size*size)
	for y := range size {
		for x := range size {
			m, _ := brickAt(x, y, size)
			height[y*size+x] = 1 - m
		}
	}
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	const strength = 3.0
	for y := range size {
		for x := range size {
			h := func(x, y int) float64 { return height[((y+size)%size)*size+(x+size)%size] }
			dx := (h(x+1, y) - h(x-1, y)) * strength / 2
			dy := (h(x, y-1) - h(x, y+1)) * strength / 2 // up the image is +y
			n := [3]float64{-dx, -dy, 1}
			l := math.Sqrt(n[0]*n[0] + n[1]*n[1] + n[2]*n[2])
			enc := func(v float64) uint8 { return uint8(math.Round((v/l*0.5 + 0.5) * 255)) }
			img.SetNRGBA(x, y, color.NRGBA{enc(n[0]), enc(n[1]), enc(n[2]), 255})
		}
	}
	return img
}

// brickAt returns how much pixel (x, y) of a size x size brick wall is mortar (0 brick, 1
// joint, soft in between) and which brick it belongs to.
func brickAt(x, y, size int) (mortar float64, brick int) {
	course := size / 4
	row := y / course
	bw := size / 2
	off := 0
	if row%2 == 1 {
		off = bw / 2
	}
	bx := (x + off) % size
	col := bx / bw
	// Distance in pixels to the nearest joint, horizontally and vertically.
	dy := min(y%course, course-1-y%course)
	dx := min(bx%bw, bw-1-bx%bw)
	d := float64(min(dx, dy))
	joint := float64(size) / 64
	mortar = math.Max(0, math.Min(1, (joint+1-d)/1.5))
	return mortar, row*3 + col
}
