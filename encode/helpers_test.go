package encode_test

import (
	"image"
	"math"
	"testing"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/encode"
)

// pattern makes frames of a moving test pattern: a window panning over a larger "world"
// (gradients, hard-edged blocks, rings, thin lines) plus a box moving on its own. Frames are
// cut from the world by row copies, so making one stays cheap under -race.
type pattern struct {
	w, h   int
	margin int
	world  *image.YCbCr
}

func newPattern(w, h int) *pattern {
	const margin = 128
	ww, wh := w+margin, h+margin
	world := image.NewYCbCr(image.Rect(0, 0, ww, wh), image.YCbCrSubsampleRatio420)
	for y := range wh {
		row := world.Y[y*world.YStride:]
		for x := range ww {
			v := 40 + 150*x/ww + 30*y/wh
			// rings around the centre, moderate frequency
			dx, dy := float64(x-ww/2), float64(y-wh/2)
			v += int(25 * math.Sin(math.Sqrt(dx*dx+dy*dy)/9))
			// hard-edged blocks
			if (x/96+y/96)%3 == 0 {
				v = 220 - v/4
			}
			// thin lines
			if x%64 == 0 || y%48 == 0 {
				v = 16
			}
			// fine texture (a fixed hash, so it moves with the pan): the costly part
			v += int((uint32(x)*2654435761^uint32(y)*2246822519)>>28) - 8
			row[x] = uint8(min(235, max(16, v)))
		}
	}
	for y := range (wh + 1) / 2 {
		for x := range (ww + 1) / 2 {
			i := y*world.CStride + x
			world.Cb[i] = uint8(128 + 60*math.Sin(float64(x)/40))
			world.Cr[i] = uint8(128 + 60*math.Cos(float64(y)/30))
			if (x/48+y/48)%4 == 1 {
				world.Cb[i], world.Cr[i] = 90, 200
			}
		}
	}
	return &pattern{w: w, h: h, margin: margin, world: world}
}

// frame returns frame i: the window moves by (3, 2) pixels a frame, bouncing at the world's
// edges, and a box moves independently.
func (p *pattern) frame(i int) *image.YCbCr {
	bounce := func(v, span int) int {
		v %= 2 * span
		if v >= span {
			v = 2*span - v
		}
		return v &^ 1 // even, so chroma stays aligned
	}
	ox, oy := bounce(3*i, p.margin), bounce(2*i, p.margin)
	m := image.NewYCbCr(image.Rect(0, 0, p.w, p.h), image.YCbCrSubsampleRatio420)
	for y := range p.h {
		copy(m.Y[y*m.YStride:y*m.YStride+p.w], p.world.Y[(y+oy)*p.world.YStride+ox:])
	}
	cw, ch := p.w/2, p.h/2
	for y := range ch {
		wo := (y+oy/2)*p.world.CStride + ox/2
		copy(m.Cb[y*m.CStride:y*m.CStride+cw], p.world.Cb[wo:])
		copy(m.Cr[y*m.CStride:y*m.CStride+cw], p.world.Cr[wo:])
	}
	// a 64x64 box moving right and down, 5 px per frame
	bx, by := (5*i)%(p.w-64), (3*i)%(p.h-64)
	for y := by; y < by+64; y++ {
		row := m.Y[y*m.YStride+bx : y*m.YStride+bx+64]
		for x := range row {
			row[x] = 200
		}
	}
	return m
}

// decoder wraps encode.Decoder for tests: FFmpeg's H.264 decoder configured from an
// AVCDecoderConfigurationRecord, as an FLV player would be; failures end the test.
type decoder struct{ d *encode.Decoder }

func newDecoder(t testing.TB, config []byte) *decoder {
	t.Helper()
	d, err := encode.NewDecoder(config)
	if err != nil {
		t.Fatalf("NewDecoder: %v", err)
	}
	t.Cleanup(d.Close)
	return &decoder{d: d}
}

// decode decodes one access unit (nil flushes) and returns the pictures that came out.
func (d *decoder) decode(t testing.TB, f *avc.Frame) []*image.YCbCr {
	t.Helper()
	out, err := d.d.Decode(f)
	if err != nil {
		t.Fatalf("decoding: %v", err)
	}
	return out
}

// psnr returns the PSNR (dB) of b against a over Y, Cb and Cr together, and over Y alone.
func psnr(a, b *image.YCbCr) (yuv, y float64) {
	w, h := a.Rect.Dx(), a.Rect.Dy()
	sse := func(pa, pb []uint8, sa, sb, w, h int) int64 {
		var s int64
		for r := range h {
			ra, rb := pa[r*sa:r*sa+w], pb[r*sb:r*sb+w]
			for x, v := range ra {
				d := int64(v) - int64(rb[x])
				s += d * d
			}
		}
		return s
	}
	sy := sse(a.Y, b.Y, a.YStride, b.YStride, w, h)
	sc := sse(a.Cb, b.Cb, a.CStride, b.CStride, w/2, h/2) + sse(a.Cr, b.Cr, a.CStride, b.CStride, w/2, h/2)
	toDB := func(sum int64, n int) float64 {
		if sum == 0 {
			return 100
		}
		return 10 * math.Log10(255*255*float64(n)/float64(sum))
	}
	return toDB(sy+sc, w*h*3/2), toDB(sy, w*h)
}
