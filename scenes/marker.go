package scenes

import (
	"encoding/binary"
	"image"
	"image/color"
	"image/draw"
)

// Frame marker geometry. The frame marker is an optional strip of black and white blocks
// drawn over the bottom-left corner of each frame. It carries the frame counter and the scene Version, so a client that
// decodes the video can tell which frame it sees and which camera or scene change the frame
// already shows. It is built to survive lossy video coding: large blocks aligned to the
// bottom-left corner, values read from each block's centre, thresholds calibrated on a known
// sync pattern, and a checksum that rejects anything misread.
//
// Layout (version 1). The strip is MarkerCols x MarkerRows blocks of MarkerBlockW x
// MarkerBlockH pixels: 32 x 3 blocks of 16 x 8 pixels, 512 x 24 pixels in all, its left edge
// on the image's left edge and its bottom edge on the image's bottom edge. Frames must be at
// least 512 x 24 pixels. Blocks are numbered row by row from the strip's top-left block
// (block i is at column i % 32, row i / 32; row 0 is the top row, 24 pixels above the
// bottom). Block i shows bit i of a 96-bit message: white (sRGB 255, 255, 255; limited-range
// luma 235) for 1, black (0, 0, 0; luma 16) for 0. The message, most significant bit first
// in each field:
//
//	bits  0-7   sync pattern 0xB2 (1011 0010)
//	bits  8-15  format version, 0x01
//	bits 16-47  frame counter (uint32)
//	bits 48-79  scene version (uint32, Scene.Version)
//	bits 80-95  CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) of the 9 bytes of bits 8-79
//
// A reader averages the luma of each block's central 10 x 4 pixels, takes the threshold
// halfway between the mean of the sync pattern's white blocks and that of its black blocks
// (rejecting contrast under 64 levels), and accepts the message only if sync, format and
// CRC all match. In OpenGL's bottom-up window coordinates, row r of the strip covers
// y in [(MarkerRows-1-r)*MarkerBlockH, (MarkerRows-r)*MarkerBlockH).
const (
	// MarkerBlockW is a block's width in pixels.
	MarkerBlockW = 16
	// MarkerBlockH is a block's height in pixels.
	MarkerBlockH = 8
	// MarkerCols is the number of blocks in a row.
	MarkerCols = 32
	// MarkerRows is the number of block rows.
	MarkerRows = 3
	// MarkerBitCount is the number of blocks, one bit each.
	MarkerBitCount = MarkerCols * MarkerRows
	// MarkerWidth is the strip's width in pixels.
	MarkerWidth = MarkerCols * MarkerBlockW
	// MarkerHeight is the strip's height in pixels.
	MarkerHeight = MarkerRows * MarkerBlockH

	markerSync   = 0xB2
	markerFormat = 0x01
)

// MarkerBits returns the 96 bits the marker shows for frame and version (true is white),
// in block order.
func MarkerBits(frame, version uint32) []bool {
	msg := markerMessage(frame, version)
	bits := make([]bool, MarkerBitCount)
	for i := range bits {
		bits[i] = msg[i/8]&(0x80>>(i%8)) != 0
	}
	return bits
}

// markerMessage returns the 12 message bytes.
func markerMessage(frame, version uint32) [12]byte {
	var m [12]byte
	m[0], m[1] = markerSync, markerFormat
	binary.BigEndian.PutUint32(m[2:], frame)
	binary.BigEndian.PutUint32(m[6:], version)
	binary.BigEndian.PutUint16(m[10:], crc16CCITT(m[1:10]))
	return m
}

// crc16CCITT is CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection.
func crc16CCITT(data []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, b := range data {
		crc ^= uint16(b) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// MarkerRect returns the strip's rectangle in an image with the given bounds (top-down
// image coordinates), or the empty rectangle when the image is too small for it.
func MarkerRect(bounds image.Rectangle) image.Rectangle {
	if bounds.Dx() < MarkerWidth || bounds.Dy() < MarkerHeight {
		return image.Rectangle{}
	}
	return image.Rect(bounds.Min.X, bounds.Max.Y-MarkerHeight, bounds.Min.X+MarkerWidth, bounds.Max.Y)
}

// MarkerBlockRect returns block i's rectangle in an image with the given bounds (top-down
// image coordinates; the image must be at least MarkerWidth x MarkerHeight).
func MarkerBlockRect(bounds image.Rectangle, i int) image.Rectangle {
	x := bounds.Min.X + (i%MarkerCols)*MarkerBlockW
	y := bounds.Max.Y - MarkerHeight + (i/MarkerCols)*MarkerBlockH
	return image.Rect(x, y, x+MarkerBlockW, y+MarkerBlockH)
}

// DrawMarker paints the marker for frame and version onto img, a reference for renderers
// and a way to mark frames on the CPU. img is an *image.YCbCr (limited-range luma 16 and
// 235, neutral chroma are written) or a draw.Image. It reports false, drawing nothing, for
// other images and for images smaller than the strip.
func DrawMarker(img image.Image, frame, version uint32) bool {
	b := img.Bounds()
	if MarkerRect(b).Empty() {
		return false
	}
	yc, isYCbCr := img.(*image.YCbCr)
	dst, isDraw := img.(draw.Image)
	if !isYCbCr && !isDraw {
		return false
	}
	for i, on := range MarkerBits(frame, version) {
		r := MarkerBlockRect(b, i)
		if isYCbCr {
			fillYCbCr(yc, r, on)
			continue
		}
		c := color.RGBA{0, 0, 0, 255}
		if on {
			c = color.RGBA{255, 255, 255, 255}
		}
		draw.Draw(dst, r, image.NewUniform(c), image.Point{}, draw.Src)
	}
	return true
}

func fillYCbCr(img *image.YCbCr, r image.Rectangle, on bool) {
	y := uint8(16)
	if on {
		y = 235
	}
	for py := r.Min.Y; py < r.Max.Y; py++ {
		for px := r.Min.X; px < r.Max.X; px++ {
			img.Y[img.YOffset(px, py)] = y
			ci := img.COffset(px, py)
			img.Cb[ci], img.Cr[ci] = 128, 128
		}
	}
}

// DecodeMarker reads the marker from a decoded frame. ok is false when the frame has no
// readable marker (too small, no sync pattern, too little contrast or a checksum mismatch).
func DecodeMarker(img image.Image) (frame, version uint32, ok bool) {
	b := img.Bounds()
	if MarkerRect(b).Empty() {
		return 0, 0, false
	}
	luma := lumaReader(img)
	var level [MarkerBitCount]float64
	for i := range level {
		r := MarkerBlockRect(b, i)
		// The centre 10 x 4 pixels: edges ring and bleed under compression.
		r = image.Rect(r.Min.X+3, r.Min.Y+2, r.Max.X-3, r.Max.Y-2)
		sum, n := 0.0, 0
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				sum += luma(x, y)
				n++
			}
		}
		level[i] = sum / float64(n)
	}
	var white, black float64
	var nw, nb int
	for i := range 8 {
		if markerSync&(0x80>>i) != 0 {
			white += level[i]
			nw++
		} else {
			black += level[i]
			nb++
		}
	}
	white, black = white/float64(nw), black/float64(nb)
	if white-black < 64 {
		return 0, 0, false
	}
	threshold := (white + black) / 2
	var msg [12]byte
	for i, v := range level {
		if v > threshold {
			msg[i/8] |= 0x80 >> (i % 8)
		}
	}
	if msg[0] != markerSync || msg[1] != markerFormat || binary.BigEndian.Uint16(msg[10:]) != crc16CCITT(msg[1:10]) {
		return 0, 0, false
	}
	return binary.BigEndian.Uint32(msg[2:]), binary.BigEndian.Uint32(msg[6:]), true
}

// lumaReader returns a function giving the luma (0..255 scale) at (x, y).
func lumaReader(img image.Image) func(x, y int) float64 {
	switch m := img.(type) {
	case *image.YCbCr:
		return func(x, y int) float64 { return float64(m.Y[m.YOffset(x, y)]) }
	case *image.Gray:
		return func(x, y int) float64 { return float64(m.Pix[m.PixOffset(x, y)]) }
	case *image.RGBA:
		return func(x, y int) float64 {
			p := m.Pix[m.PixOffset(x, y):]
			return 0.2126*float64(p[0]) + 0.7152*float64(p[1]) + 0.0722*float64(p[2])
		}
	case *image.NRGBA:
		return func(x, y int) float64 {
			p := m.Pix[m.PixOffset(x, y):]
			return 0.2126*float64(p[0]) + 0.7152*float64(p[1]) + 0.0722*float64(p[2])
		}
	}
	return func(x, y int) float64 {
		r, g, b, _ := img.At(x, y).RGBA()
		return (0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(b)) / 257
	}
}
