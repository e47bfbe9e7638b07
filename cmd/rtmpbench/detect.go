package main

import (
	"image"
)

// colour is the background colour class a player sees in a frame's top-left corner.
type colour uint8

const (
	colourOther colour = iota
	colourRed
	colourBlue
)

func (c colour) String() string {
	switch c {
	case colourRed:
		return "red"
	case colourBlue:
		return "blue"
	}
	return "other"
}

// cornerSize is the side of the top-left square whose mean colour classifies a frame.
const cornerSize = 32

// classifyCorner returns the colour class of the top-left cornerSize x cornerSize pixels
// of a 4:2:0 frame: red or blue when that chroma clearly dominates (pure red is Cb 102,
// Cr 240 in BT.709 limited range, pure blue Cb 240, Cr 118; BT.601 is close), else other.
func classifyCorner(img *image.YCbCr) colour {
	b := img.Bounds()
	w, h := min(cornerSize, b.Dx()), min(cornerSize, b.Dy())
	if w == 0 || h == 0 {
		return colourOther
	}
	var cb, cr float64
	n := 0.0
	for y := b.Min.Y; y < b.Min.Y+h; y += 2 {
		for x := b.Min.X; x < b.Min.X+w; x += 2 {
			i := img.COffset(x, y)
			cb += float64(img.Cb[i])
			cr += float64(img.Cr[i])
			n++
		}
	}
	cb, cr = cb/n, cr/n
	switch {
	case cr > 180 && cb < 150:
		return colourRed
	case cb > 180 && cr < 150:
		return colourBlue
	}
	return colourOther
}

// The counter strip: the frame number drawn on the comparison source's frames, so a player of
// the nginx stream knows which source frame each decoded picture is. It is simpler than the
// streamer's marker (a complement row instead of a checksum) and needs no scene version.
// Geometry: two rows
// of 32 blocks of stripBlockW x stripBlockH pixels at the bottom-left corner. The upper row
// shows 32 bits, most significant first: the sync byte 0xB2, then a 24-bit frame counter;
// the lower row shows the complement of every bit. White (luma 235) is 1, black is 0.
const (
	stripBlockW = 16
	stripBlockH = 8
	stripCols   = 32
	stripSync   = 0xB2
	stripWidth  = stripCols * stripBlockW
	stripHeight = 2 * stripBlockH
	// stripCounterBits is the width of the counter: 2^24 frames are 6 days at 30 fps.
	stripCounterBits = 24
)

// stripWord is the upper row's 32 bits for frame counter n.
func stripWord(n uint32) uint32 {
	return stripSync<<24 | n&(1<<stripCounterBits-1)
}

// stripBlock returns the rectangle of column col (0 = left, the most significant bit) of
// row (0 upper, 1 lower) in an image with bounds b.
func stripBlock(b image.Rectangle, row, col int) image.Rectangle {
	x := b.Min.X + col*stripBlockW
	y := b.Max.Y - stripHeight + row*stripBlockH
	return image.Rect(x, y, x+stripBlockW, y+stripBlockH)
}

// drawCounterStrip paints the strip for counter n into img. It reports false for images too
// small.
func drawCounterStrip(img *image.YCbCr, n uint32) bool {
	b := img.Bounds()
	if b.Dx() < stripWidth || b.Dy() < stripHeight {
		return false
	}
	word := stripWord(n)
	for row := range 2 {
		for col := range stripCols {
			on := word&(1<<(31-col)) != 0
			if row == 1 {
				on = !on
			}
			y8 := uint8(16)
			if on {
				y8 = 235
			}
			r := stripBlock(b, row, col)
			for py := r.Min.Y; py < r.Max.Y; py++ {
				for px := r.Min.X; px < r.Max.X; px++ {
					img.Y[img.YOffset(px, py)] = y8
					ci := img.COffset(px, py)
					img.Cb[ci], img.Cr[ci] = 128, 128
				}
			}
		}
	}
	return true
}

// decodeCounterStrip reads the counter from a decoded frame: each block's central pixels
// are averaged, the threshold lies halfway between the sync byte's white and black blocks
// (at least 64 levels apart), and every lower-row block must be the complement of the one
// above it.
func decodeCounterStrip(img *image.YCbCr) (uint32, bool) {
	b := img.Bounds()
	if b.Dx() < stripWidth || b.Dy() < stripHeight {
		return 0, false
	}
	var level [2][stripCols]float64
	for row := range 2 {
		for col := range stripCols {
			r := stripBlock(b, row, col)
			r = image.Rect(r.Min.X+3, r.Min.Y+2, r.Max.X-3, r.Max.Y-2)
			sum, n := 0.0, 0
			for y := r.Min.Y; y < r.Max.Y; y++ {
				for x := r.Min.X; x < r.Max.X; x++ {
					sum += float64(img.Y[img.YOffset(x, y)])
					n++
				}
			}
			level[row][col] = sum / float64(n)
		}
	}
	var white, black float64
	var nw, nb int
	for col := range 8 {
		if stripSync&(0x80>>col) != 0 {
			white += level[0][col]
			nw++
		} else {
			black += level[0][col]
			nb++
		}
	}
	white, black = white/float64(nw), black/float64(nb)
	if white-black < 64 {
		return 0, false
	}
	threshold := (white + black) / 2
	var word uint32
	for col := range stripCols {
		up, down := level[0][col] > threshold, level[1][col] > threshold
		if up == down {
			return 0, false
		}
		if up {
			word |= 1 << (31 - col)
		}
	}
	if word>>24 != stripSync {
		return 0, false
	}
	return word & (1<<stripCounterBits - 1), true
}

// changeDetector finds, in a stream of decoded frames, the first frame that shows the
// effect of a change. A change is shown by a scene version above the version seen before
// the change (the streamer's marker) or, without a readable marker, by the expected colour.
type changeDetector struct {
	baseVersion uint32
	useVersion  bool
	want        colour
}

// shows reports whether a frame shows the change.
func (d changeDetector) shows(f frameRecord) bool {
	if d.useVersion {
		return f.MarkerOK && f.Version > d.baseVersion
	}
	return f.Colour == d.want
}
