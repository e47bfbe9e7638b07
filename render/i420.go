package render

import (
	"encoding/binary"
	"image"
)

// The CPU conversion: RGB (the sRGB-encoded bytes the scene pass stores) to I420, BT.709
// limited range (Y 16..235, Cb/Cr 16..240), the same maths as shaders/yuv420.frag in integer
// fixed point:
//
//	Y  = 16  + 219/255 * (Kr R + Kg G + Kb B)                     (16.16, rounded)
//	Cb = 128 + 224/255 * (B - Y') / 1.8556, Cr = ... (R - Y') / 1.5748 (2.18 on sums of 4)
//
// where Y' is the unscaled luma of the 2x2 average. Chroma is the average of each 2x2 block
// (centred siting), the last column and row repeated at odd sizes, like the shader's
// clamped fetches. The chroma coefficients of each row sum to zero, so greys give exactly
// 128. Every result lies in range without clamping; the shader rounds in float, so the two
// paths may differ by a level where a value falls on a half.
const (
	yR, yG, yB    = 11966, 40255, 4064 // 219/255 * (0.2126, 0.7152, 0.0722) << 16
	yBias         = 16<<16 + 1<<15     // offset 16, plus one half for rounding
	cbR, cbG, cbB = -6596, -22188, 28784
	crR, crG, crB = 28784, -26145, -2639
	cBias         = 128<<18 + 1<<17
)

// rgbaFrame describes packed RGBA pixels to convert: width*4 bytes per row, stride bytes
// apart. With bottomUp the first row in memory is the image's last (glReadPixels' order).
type rgbaFrame struct {
	pix           []byte
	stride        int
	width, height int
	bottomUp      bool
}

// row returns image row y (0 at the top), width*4 bytes.
func (f *rgbaFrame) row(y int) []byte {
	if f.bottomUp {
		y = f.height - 1 - y
	}
	off := y * f.stride
	return f.pix[off : off+4*f.width]
}

// convertI420 converts src to I420 into dst's planes, rows top-down (dst must be 4:2:0
// with src's size, its rectangle at the origin). It writes the image area only, not the
// padding of a NewFrame.
func convertI420(dst *image.YCbCr, src *rgbaFrame) {
	convertChromaRows(dst, src, 0, (src.height+1)/2)
}

// convertChromaRows converts image rows [2*cy0, 2*cy1) (clamped to the height): chroma rows
// cy0 to cy1 and the luma rows they cover. Bands of chroma rows share no output byte, so
// they can be converted concurrently.
func convertChromaRows(dst *image.YCbCr, src *rgbaFrame, cy0, cy1 int) {
	w, h := src.width, src.height
	half := w / 2
	cw := (w + 1) / 2
	for cy := cy0; cy < cy1; cy++ {
		y0 := 2 * cy
		s0 := src.row(y0)
		d0 := dst.Y[y0*dst.YStride : y0*dst.YStride+w]
		s1, d1 := s0, d0 // an odd height repeats the last row (its luma is written twice)
		if y0+1 < h {
			s1 = src.row(y0 + 1)
			d1 = dst.Y[(y0+1)*dst.YStride : (y0+1)*dst.YStride+w]
		}
		cb := dst.Cb[cy*dst.CStride : cy*dst.CStride+cw]
		cr := dst.Cr[cy*dst.CStride : cy*dst.CStride+cw]
		convertBlocks(s0, s1, d0, d1, cb, cr, half)
		if w&1 == 1 { // last column: its pixels count twice in the 2x2 average
			x := 4 * (w - 1)
			p0, p1 := s0[x:x+4], s1[x:x+4]
			r0, g0, b0 := int32(p0[0]), int32(p0[1]), int32(p0[2])
			r1, g1, b1 := int32(p1[0]), int32(p1[1]), int32(p1[2])
			d0[w-1] = uint8((yR*r0 + yG*g0 + yB*b0 + yBias) >> 16)
			d1[w-1] = uint8((yR*r1 + yG*g1 + yB*b1 + yBias) >> 16)
			r, g, b := 2*(r0+r1), 2*(g0+g1), 2*(b0+b1)
			cb[half] = uint8((cbR*r + cbG*g + cbB*b + cBias) >> 18)
			cr[half] = uint8((crR*r + crG*g + crB*b + cBias) >> 18)
		}
	}
}

// Two-lane arithmetic: a uint64 holds two values in 32-bit lanes (bits 0-31 and 32-63), so
// one multiplication by a constant scales both, and one multiplication by a packed pair of
// constants (c0 + c1<<32) gives c0*x in the low lane and c1*x in the high one. Results are
// exact as long as every final lane value lies in [0, 2^32): luma sums stay below 2^24 and
// biased chroma sums below 2^26 (intermediate negative terms wrap modulo 2^64 and cancel).
const (
	laneMask  = 0x000000ff_000000ff // one channel of two RGBA pixels loaded as a uint64
	yBias2    = yBias | yBias<<32
	cBias2    = cBias | cBias<<32
	cR2       = uint64((cbR + crR<<32) & (1<<64 - 1)) // Cb coefficient low, Cr high
	cG2       = uint64((cbG + crG<<32) & (1<<64 - 1))
	cB2       = uint64((cbB + crB<<32) & (1<<64 - 1))
	lowLane16 = 0xffff
)

// convertBlocks converts half 2x2 blocks: s0 and s1 are two image rows (8 bytes per block),
// d0 and d1 their luma rows (2 bytes per block), cb and cr one byte per block. The rows may
// be the same (the last row of an odd height).
func convertBlocks(s0, s1, d0, d1, cb, cr []byte, half int) {
	// Reslicing to exact lengths lets the compiler drop the bounds checks in the loop.
	s0, s1 = s0[:8*half], s1[:8*half]
	d0, d1 = d0[:2*half], d1[:2*half]
	cb, cr = cb[:half], cr[:half]
	for i := range cb {
		top := binary.LittleEndian.Uint64(s0[8*i : 8*i+8 : 8*i+8]) // two pixels, RGBARGBA
		bot := binary.LittleEndian.Uint64(s1[8*i : 8*i+8 : 8*i+8])
		rt, gt, bt := top&laneMask, top>>8&laneMask, top>>16&laneMask
		rb, gb, bb := bot&laneMask, bot>>8&laneMask, bot>>16&laneMask
		yt := yR*rt + yG*gt + yB*bt + yBias2 // luma of both pixels, 16.16
		yb := yR*rb + yG*gb + yB*bb + yBias2
		lt := d0[2*i : 2*i+2 : 2*i+2]
		lb := d1[2*i : 2*i+2 : 2*i+2]
		lt[0], lt[1] = uint8(yt>>16), uint8(yt>>48)
		lb[0], lb[1] = uint8(yb>>16), uint8(yb>>48)
		r, g, b := rt+rb, gt+gb, bt+bb // column sums in two lanes
		r = (r + r>>32) & lowLane16    // sums of the four pixels
		g = (g + g>>32) & lowLane16
		b = (b + b>>32) & lowLane16
		c := cR2*r + cG2*g + cB2*b + cBias2 // Cb low lane, Cr high lane, 2.18
		cb[i], cr[i] = uint8(c>>18), uint8(c>>50)
	}
}
