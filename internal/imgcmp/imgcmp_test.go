package imgcmp

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"testing"
)

// halfPlane draws a white half-plane on black, its edge through the image's centre at
// angle degrees from the x axis, each pixel the mean of n x n point samples (n = 1: hard
// edges, as a rasteriser without antialiasing draws them).
func halfPlane(w, h int, degrees float64, n int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	s, c := math.Sincos(degrees * math.Pi / 180)
	cx, cy := float64(w)/2+0.37, float64(h)/2+0.21 // off the pixel grid
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			in := 0
			for j := 0; j < n; j++ {
				for i := 0; i < n; i++ {
					px := float64(x) + (float64(i)+0.5)/float64(n) - cx
					py := float64(y) + (float64(j)+0.5)/float64(n) - cy
					if px*s-py*c > 0 {
						in++
					}
				}
			}
			v := uint8(math.Round(255 * float64(in) / float64(n*n)))
			img.SetRGBA(x, y, color.RGBA{v, v, v, 255})
		}
	}
	return img
}

func TestEdgeAliasing(t *testing.T) {
	for _, deg := range []float64{17, 30, 52, 71, 120} {
		hard, _ := EdgeAliasing(halfPlane(128, 96, deg, 1))
		msaa, _ := EdgeAliasing(halfPlane(128, 96, deg, 2))
		smooth, err := EdgeAliasing(halfPlane(128, 96, deg, 16))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%3.0f degrees: hard %.4f, 2x2 samples %.4f, 16x16 samples %.4f", deg, hard, msaa, smooth)
		if !(hard > 0.5 && hard > 2*msaa && msaa > smooth && hard > 3*smooth) {
			t.Errorf("%.0f degrees: scores hard %.4f, 2x2 %.4f, 16x16 %.4f: want clearly falling with more samples", deg, hard, msaa, smooth)
		}
	}
	// Edges on the pixel grid have no staircase, with or without antialiasing.
	for _, deg := range []float64{0, 90} {
		if got, _ := EdgeAliasing(halfPlane(64, 64, deg, 1)); got > 0.01 {
			t.Errorf("%.0f degree hard edge scores %.4f, want about 0", deg, got)
		}
	}
	// The score does not depend on the edge's contrast.
	hard := halfPlane(128, 96, 30, 1)
	dim := image.NewRGBA(hard.Rect)
	for i, v := range hard.Pix {
		dim.Pix[i] = v / 4
		if i%4 == 3 {
			dim.Pix[i] = 255
		}
	}
	a, _ := EdgeAliasing(hard)
	b, _ := EdgeAliasing(dim)
	if math.Abs(a-b) > 0.1*a {
		t.Errorf("contrast 255: %.4f, contrast 63: %.4f; want about the same", a, b)
	}
	// Luma of an *image.YCbCr gives the same score as RGB.
	y := toYCbCr(hard)
	if c, _ := EdgeAliasing(y); math.Abs(c-a) > 0.05*a {
		t.Errorf("YCbCr: %.4f, RGBA: %.4f", c, a)
	}
	if got, err := EdgeAliasing(image.NewRGBA(image.Rect(0, 0, 32, 32))); got != 0 || err != nil {
		t.Errorf("flat image: %v, %v; want 0, nil", got, err)
	}
	if _, err := EdgeAliasing(image.NewRGBA(image.Rect(0, 0, 7, 32))); !errors.Is(err, ErrUnsupported) {
		t.Errorf("7x32 image: %v, want ErrUnsupported", err)
	}
}

// toYCbCr converts img to 4:2:0 with the standard library's (JFIF) conversion.
func toYCbCr(img *image.RGBA) *image.YCbCr {
	b := img.Bounds()
	out := image.NewYCbCr(b, image.YCbCrSubsampleRatio420)
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			p := img.RGBAAt(x, y)
			yy, cb, cr := color.RGBToYCbCr(p.R, p.G, p.B)
			out.Y[out.YOffset(x, y)] = yy
			out.Cb[out.COffset(x, y)] = cb
			out.Cr[out.COffset(x, y)] = cr
		}
	}
	return out
}

func TestPSNR(t *testing.T) {
	a := halfPlane(64, 48, 30, 4)
	if got, err := PSNR(a, a); !math.IsInf(got, 1) || err != nil {
		t.Errorf("PSNR of an image with itself: %v, %v; want +Inf", got, err)
	}
	// Every channel one level off: MSE 1, PSNR 10 log10(255^2) = 48.13 dB.
	b := image.NewRGBA(a.Rect)
	copy(b.Pix, a.Pix)
	for i := range b.Pix {
		if i%4 != 3 {
			if b.Pix[i] == 255 {
				b.Pix[i]--
			} else {
				b.Pix[i]++
			}
		}
	}
	if got, _ := PSNR(a, b); math.Abs(got-48.1308) > 0.001 {
		t.Errorf("one level off everywhere: %.4f dB, want 48.1308", got)
	}
	// 16 levels off on a quarter of the samples: MSE 64, 10 log10(255^2 / 64) = 30.07 dB.
	c := image.NewRGBA(a.Rect)
	copy(c.Pix, a.Pix)
	for y := 0; y < 24; y++ {
		for x := 0; x < 32; x++ {
			for ch := 0; ch < 3; ch++ {
				i := y*c.Stride + 4*x + ch
				if c.Pix[i] >= 128 {
					c.Pix[i] -= 16
				} else {
					c.Pix[i] += 16
				}
			}
		}
	}
	if got, _ := PSNR(a, c); math.Abs(got-30.0688) > 0.001 {
		t.Errorf("16 levels off on a quarter: %.4f dB, want 30.0688", got)
	}
	// Two 4:2:0 images compare Y, Cb and Cr samples; a sub-image compares its own area.
	ya, yc := toYCbCr(a), toYCbCr(c)
	full, _ := PSNR(ya, yc)
	same, _ := PSNR(ya.SubImage(image.Rect(32, 24, 64, 48)), yc.SubImage(image.Rect(32, 24, 64, 48)))
	if full > 40 || !math.IsInf(same, 1) {
		t.Errorf("YCbCr: whole %.2f dB (want < 40), untouched quarter %.2f (want +Inf)", full, same)
	}
	// Mixed kinds compare as RGB.
	if got, err := PSNR(a, ya); err != nil || got < 30 {
		t.Errorf("RGBA vs its YCbCr: %.2f dB, %v; want > 30", got, err)
	}
	if _, err := PSNR(a, image.NewRGBA(image.Rect(0, 0, 64, 47))); !errors.Is(err, ErrMismatch) {
		t.Errorf("different sizes: %v, want ErrMismatch", err)
	}
	if _, err := PSNR(image.NewYCbCr(a.Rect, image.YCbCrSubsampleRatio422), image.NewYCbCr(a.Rect, image.YCbCrSubsampleRatio422)); !errors.Is(err, ErrUnsupported) {
		t.Errorf("4:2:2: %v, want ErrUnsupported", err)
	}
}

func TestLowPassPSNR(t *testing.T) {
	// A hard and an antialiased edge differ only at the edge: close at low frequencies.
	hard, smooth := halfPlane(128, 96, 30, 1), halfPlane(128, 96, 30, 16)
	sharp, _ := PSNR(hard, smooth)
	low, err := LowPassPSNR(hard, smooth, 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("hard vs antialiased edge: %.2f dB, %.2f dB after a 7x7 blur", sharp, low)
	if low < sharp+8 {
		t.Errorf("blurred PSNR %.2f dB, want well above the plain %.2f dB", low, sharp)
	}
	// Different shapes stay apart after blurring.
	other := halfPlane(128, 96, 120, 16)
	if got, _ := LowPassPSNR(smooth, other, 3); got > 15 {
		t.Errorf("different edges after blurring: %.2f dB, want low", got)
	}
	if got, _ := LowPassPSNR(hard, smooth, 0); got != sharp {
		t.Errorf("radius 0: %.4f, PSNR %.4f", got, sharp)
	}
}

func ExamplePSNR() {
	a := image.NewGray(image.Rect(0, 0, 16, 16))
	b := image.NewGray(image.Rect(0, 0, 16, 16))
	for i := range b.Pix {
		b.Pix[i] = 5 // every sample 5 levels off: MSE 25
	}
	db, _ := PSNR(a, b)
	fmt.Printf("%.2f dB\n", db)
	// Output: 34.15 dB
}
