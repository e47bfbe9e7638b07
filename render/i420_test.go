package render

import (
	"bytes"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"testing"
)

// randomRGBA is an image of random pixels (alpha random too: it must be ignored) with some
// flat areas, so both noise and exact 2x2 blocks are covered.
func randomRGBA(rng *rand.Rand, w, h, stride int) *image.RGBA {
	img := &image.RGBA{Pix: make([]byte, stride*h), Stride: stride, Rect: image.Rect(0, 0, w, h)}
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.IntN(256))
	}
	flat := [][4]uint8{{0, 0, 0, 255}, {255, 255, 255, 255}, {255, 0, 0, 0}, {0, 255, 0, 9}, {0, 0, 255, 1}, {128, 128, 128, 255}}
	for y := 0; y < h/3; y++ {
		for x := 0; x < w/3; x++ {
			c := flat[(x/4+y/4)%len(flat)]
			copy(img.Pix[y*stride+4*x:], c[:])
		}
	}
	return img
}

// bottomUpCopy returns img's rows in reverse order (as glReadPixels returns them).
func bottomUpCopy(img *image.RGBA) *rgbaFrame {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	f := &rgbaFrame{pix: make([]byte, img.Stride*h), stride: img.Stride, width: w, height: h, bottomUp: true}
	for y := 0; y < h; y++ {
		copy(f.pix[(h-1-y)*img.Stride:], img.Pix[y*img.Stride:y*img.Stride+4*w])
	}
	return f
}

// TestConvertI420MatchesReference: the fast converter gives exactly cpuI420's bytes, for
// even and odd sizes, padded strides, top-down and bottom-up sources, NewFrame and
// image.NewYCbCr destinations, on one goroutine and split in bands; it writes nothing
// outside the image.
func TestConvertI420MatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := [][2]int{{1, 1}, {2, 2}, {3, 3}, {5, 2}, {2, 5}, {7, 9}, {16, 4}, {250, 142}, {251, 141}, {320, 180}, {642, 360}, {641, 361}}
	for _, sz := range sizes {
		w, h := sz[0], sz[1]
		for _, extra := range []int{0, 12} {
			src := randomRGBA(rng, w, h, 4*w+extra)
			want := image.NewYCbCr(src.Rect, image.YCbCrSubsampleRatio420)
			cpuI420(src, want)
			for _, bottomUp := range []bool{false, true} {
				frame := &rgbaFrame{pix: src.Pix, stride: src.Stride, width: w, height: h}
				if bottomUp {
					frame = bottomUpCopy(src)
				}
				{
					for k, newDst := range []func() *image.YCbCr{
						func() *image.YCbCr { return NewFrame(w, h) },
						func() *image.YCbCr { return image.NewYCbCr(src.Rect, image.YCbCrSubsampleRatio420) },
					} {
						if w*h > 320*180 && (extra != 0 || k != 0) {
							continue // large frames: one layout is enough (keeps -race fast)
						}
						name := fmt.Sprintf("%dx%d/stride+%d/bottomUp=%v", w, h, extra, bottomUp)
						dst := newDst()
						const canary = 0xa5
						for _, p := range [][]byte{dst.Y, dst.Cb, dst.Cr} {
							for i := range p {
								p[i] = canary
							}
						}
						convertI420(dst, frame)
						if d := planeDiff(dst, want); d != "" {
							t.Fatalf("%s: %s", name, d)
						}
						if n := touchedOutside(dst, canary); n != 0 {
							t.Fatalf("%s: %d bytes written outside the image", name, n)
						}
					}
				}
			}
		}
	}
}

// planeDiff describes the first byte where a and b (same size) differ, or returns "".
func planeDiff(a, b *image.YCbCr) string {
	w, h := b.Rect.Dx(), b.Rect.Dy()
	cw, ch := (w+1)/2, (h+1)/2
	for _, p := range []struct {
		name             string
		a, b             []byte
		aStride, bStride int
		w, h             int
	}{
		{"Y", a.Y, b.Y, a.YStride, b.YStride, w, h},
		{"Cb", a.Cb, b.Cb, a.CStride, b.CStride, cw, ch},
		{"Cr", a.Cr, b.Cr, a.CStride, b.CStride, cw, ch},
	} {
		for y := 0; y < p.h; y++ {
			ra, rb := p.a[y*p.aStride:y*p.aStride+p.w], p.b[y*p.bStride:y*p.bStride+p.w]
			if bytes.Equal(ra, rb) {
				continue
			}
			for x := range ra {
				if ra[x] != rb[x] {
					return fmt.Sprintf("%s(%d,%d) = %d, want %d", p.name, x, y, ra[x], rb[x])
				}
			}
		}
	}
	return ""
}

// touchedOutside counts the bytes of dst's planes outside the image that are not canary.
func touchedOutside(dst *image.YCbCr, canary byte) int {
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	n := 0
	count := func(plane []byte, stride, w, h int) {
		for i := 0; i < len(plane); i += stride {
			row := plane[i:min(i+stride, len(plane))]
			if i/stride < h {
				row = row[min(w, len(row)):]
			}
			n += len(row) - bytes.Count(row, []byte{canary})
		}
	}
	count(dst.Y, dst.YStride, w, h)
	count(dst.Cb, dst.CStride, (w+1)/2, (h+1)/2)
	count(dst.Cr, dst.CStride, (w+1)/2, (h+1)/2)
	return n
}

// TestI420FixedPointMatchesShader evaluates yuv420.frag's float maths (in float32, as the
// GPU does) for every grey level, every primary ramp and random 2x2 blocks: the fixed-point
// coefficients give the same level, or one off where the exact value lies within 1/100 of a
// level of a half (where float rounding may go either way).
func TestI420FixedPointMatchesShader(t *testing.T) {
	kr, kg, kb := float32(0.2126), float32(0.7152), float32(0.0722)
	luma := func(r, g, b float32) float32 { return kr*r + kg*g + kb*b }
	round := func(f float32) int { return int(math.Floor(float64(min(max(f, 0), 255)) + 0.5)) }
	exactY := func(r, g, b int) float64 {
		return 16 + 219*(0.2126*float64(r)+0.7152*float64(g)+0.0722*float64(b))/255
	}
	nearHalf := func(f float64) bool { return math.Abs(f-math.Floor(f)-0.5) < 0.01 }
	check := func(what string, px any, got, want int, exact float64) {
		t.Helper()
		if got != want && !(nearHalf(exact) && absInt(got-want) == 1) {
			t.Fatalf("%s of %v: fixed point %d, shader maths %d (exact %.4f)", what, px, got, want, exact)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var px [4][3]int
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	out := image.NewYCbCr(img.Rect, image.YCbCrSubsampleRatio420)
	frame := &rgbaFrame{pix: img.Pix, stride: img.Stride, width: 2, height: 2}
	for i := 0; i < 100000; i++ {
		switch {
		case i < 256:
			for k := range px {
				px[k] = [3]int{i, i, i}
			}
		case i < 256*4:
			v := i % 256
			c := [4][3]int{{v, 0, 0}, {0, v, 0}, {0, 0, v}, {v, v, 0}}[i/256-1]
			for k := range px {
				px[k] = c
			}
		default:
			for k := range px {
				px[k] = [3]int{rng.IntN(256), rng.IntN(256), rng.IntN(256)}
			}
		}
		for k, p := range px {
			o := (k/2)*img.Stride + 4*(k%2)
			img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = uint8(p[0]), uint8(p[1]), uint8(p[2]), 255
		}
		convertI420(out, frame)

		var sr, sg, sb float32
		for k, p := range px {
			r, g, b := float32(p[0])/255, float32(p[1])/255, float32(p[2])/255
			check("Y", p, int(out.Y[(k/2)*out.YStride+k%2]), round(16+219*luma(r, g, b)), exactY(p[0], p[1], p[2]))
			sr, sg, sb = sr+r, sg+g, sb+b
		}
		r, g, b := 0.25*sr, 0.25*sg, 0.25*sb
		y := luma(r, g, b)
		er := float64(px[0][0]+px[1][0]+px[2][0]+px[3][0]) / 1020
		eg := float64(px[0][1]+px[1][1]+px[2][1]+px[3][1]) / 1020
		eb := float64(px[0][2]+px[1][2]+px[2][2]+px[3][2]) / 1020
		ey := 0.2126*er + 0.7152*eg + 0.0722*eb
		check("Cb", px, int(out.Cb[0]), round(128+224*(b-y)/1.8556), 128+224*(eb-ey)/1.8556)
		check("Cr", px, int(out.Cr[0]), round(128+224*(r-y)/1.5748), 128+224*(er-ey)/1.5748)
	}
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// TestI420NoAlloc: converting a frame allocates nothing.
func TestI420NoAlloc(t *testing.T) {
	src := randomRGBA(rand.New(rand.NewPCG(5, 6)), 640, 360, 640*4)
	frame := &rgbaFrame{pix: src.Pix, stride: src.Stride, width: 640, height: 360, bottomUp: true}
	dst := NewFrame(640, 360)
	if a := testing.AllocsPerRun(20, func() { convertI420(dst, frame) }); a != 0 {
		t.Errorf("%.1f allocations per frame", a)
	}
}

// BenchmarkI420 is the Go conversion alone (a bottom-up RGBA frame in memory, as the
// read-back leaves it), against the straightforward reference conversion.
func BenchmarkI420(b *testing.B) {
	for _, size := range benchSizes {
		src := randomRGBA(rand.New(rand.NewPCG(7, 8)), size.w, size.h, size.w*4)
		frame := &rgbaFrame{pix: src.Pix, stride: src.Stride, width: size.w, height: size.h, bottomUp: true}
		dst := NewFrame(size.w, size.h)
		b.Run(size.name, func(b *testing.B) {
			b.SetBytes(int64(size.w * size.h * 4))
			measure(b, func(int) { convertI420(dst, frame) })
		})
		b.Run(size.name+"/reference", func(b *testing.B) {
			ref := image.NewYCbCr(src.Rect, image.YCbCrSubsampleRatio420)
			b.SetBytes(int64(size.w * size.h * 4))
			measure(b, func(int) { cpuI420(src, ref) })
		})
	}
}
