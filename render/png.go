package render

import (
	"fmt"
	"image"
	"image/png"
	"os"
)

// SavePNG writes img to path as a PNG file. Pass ReadRGBA's image for a screenshot. An
// *image.YCbCr from ReadYCbCr or Render is converted as BT.709 limited range (what the
// renderer produces), not with the full-range JPEG matrix Go's image/color assumes.
func SavePNG(path string, img image.Image) (err error) {
	if y, ok := img.(*image.YCbCr); ok {
		img = YCbCrToRGBA(y)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("render: save PNG: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("render: save PNG %s: %w", path, cerr)
		}
	}()
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(f, img); err != nil {
		return fmt.Errorf("render: save PNG %s: %w", path, err)
	}
	return nil
}

// YCbCrToRGBA converts a BT.709 limited-range image (as ReadYCbCr returns) to RGBA, for
// screenshots and checks. Any subsample ratio works.
func YCbCrToRGBA(src *image.YCbCr) *image.RGBA {
	b := src.Rect
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := dst.Pix[(y-b.Min.Y)*dst.Stride:]
		for x := b.Min.X; x < b.Max.X; x++ {
			yy := (float64(src.Y[src.YOffset(x, y)]) - 16) / 219
			ci := src.COffset(x, y)
			cb := (float64(src.Cb[ci]) - 128) / 224
			cr := (float64(src.Cr[ci]) - 128) / 224
			p := row[(x-b.Min.X)*4:]
			p[0] = unorm8(yy + 1.5748*cr)
			p[1] = unorm8(yy - 0.187324*cb - 0.468124*cr)
			p[2] = unorm8(yy + 1.8556*cb)
			p[3] = 255
		}
	}
	return dst
}

func unorm8(f float64) uint8 {
	switch {
	case !(f > 0):
		return 0
	case f >= 1:
		return 255
	}
	return uint8(f*255 + 0.5)
}
