package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"strings"
	"time"
)

// A small line-chart renderer with the standard library only: stacked panels sharing the
// time axis, a 5x7 bitmap font for labels.

type series struct {
	name  string
	col   color.RGBA
	value func(sampleRow) float64
}

type panel struct {
	title  string
	series []series
}

const (
	plotW      = 1000
	panelH     = 200
	marginL    = 70
	marginR    = 20
	marginTop  = 40
	panelGap   = 40
	fontScale  = 2
	glyphW     = 6 * fontScale // 5 pixels and a space
	axisLabelY = 14
)

var (
	colBlack = color.RGBA{30, 30, 30, 255}
	colGrid  = color.RGBA{225, 225, 225, 255}
	colBlue  = color.RGBA{31, 119, 180, 255}
	colRed   = color.RGBA{214, 39, 40, 255}
	colGreen = color.RGBA{44, 160, 44, 255}
	colOrng  = color.RGBA{255, 127, 14, 255}
)

func writePlot(path string, rows []sampleRow, o options) error {
	panels := []panel{
		{"MEMORY (MIB)", []series{
			{"RESIDENT (RSS)", colBlue, func(s sampleRow) float64 { return s.rss }},
			{"GO HEAP IN USE", colOrng, func(s sampleRow) float64 { return s.heap }},
		}},
		{"GOROUTINES, OPEN FILES, THREADS", []series{
			{"GOROUTINES", colBlue, func(s sampleRow) float64 { return s.goroutines }},
			{"OPEN FILES", colOrng, func(s sampleRow) float64 { return s.fds }},
			{"THREADS", colGreen, func(s sampleRow) float64 { return s.threads }},
		}},
		{fmt.Sprintf("FRAMES PER SECOND PER VIEWER (%d VIEWERS, TARGET %.0f)", o.viewers, o.fps), []series{
			{"MEAN", colBlue, func(s sampleRow) float64 { return s.fpsMean() }},
			{"LOWEST", colRed, func(s sampleRow) float64 { return s.fpsMin() }},
		}},
		{"CPU (PERCENT OF ONE CORE)", []series{{"CPU", colGreen, func(s sampleRow) float64 { return s.cpu }}}},
	}
	h := marginTop + len(panels)*(panelH+panelGap) + 10
	img := image.NewRGBA(image.Rect(0, 0, plotW, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	title := fmt.Sprintf("RENDERCAST SOAK: %s, %d VIEWERS, %.0f CALLS/S EACH, A CHURN VIEWER EVERY %s",
		fmtDuration(o.duration), o.viewers, o.callsPerS, fmtDuration(o.churnEvery))
	drawText(img, marginL, 12, title, colBlack)
	var tmax float64
	if len(rows) > 0 {
		tmax = rows[len(rows)-1].t.Minutes()
	}
	for i, p := range panels {
		top := marginTop + i*(panelH+panelGap) + 16
		drawPanel(img, image.Rect(marginL, top, plotW-marginR, top+panelH-16), p, rows, tmax)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func fmtDuration(d time.Duration) string { return strings.ToUpper(d.String()) }

func drawPanel(img *image.RGBA, r image.Rectangle, p panel, rows []sampleRow, tmax float64) {
	ymax := 0.0
	for _, s := range p.series {
		for _, row := range rows {
			ymax = max(ymax, s.value(row))
		}
	}
	ymax = niceCeil(ymax * 1.1)
	if tmax <= 0 {
		tmax = 1
	}
	// Title and legend above the panel.
	drawText(img, r.Min.X, r.Min.Y-16, p.title, colBlack)
	x := r.Max.X
	for i := len(p.series) - 1; i >= 0; i-- {
		s := p.series[i]
		x -= (len(s.name) + 3) * glyphW
		fill(img, image.Rect(x, r.Min.Y-12, x+glyphW, r.Min.Y-6), s.col)
		drawText(img, x+glyphW+4, r.Min.Y-16, s.name, s.col)
	}
	// Grid and axes: 4 horizontal divisions, a vertical line every minute step.
	for i := 0; i <= 4; i++ {
		y := r.Max.Y - i*r.Dy()/4
		hline(img, r.Min.X, r.Max.X, y, colGrid)
		label := trimFloat(ymax * float64(i) / 4)
		drawText(img, r.Min.X-6-len(label)*glyphW, y-7, label, colBlack)
	}
	step := niceCeil(tmax / 10)
	for tm := 0.0; tm <= tmax+1e-9; tm += step {
		x := r.Min.X + int(tm/tmax*float64(r.Dx()))
		vline(img, x, r.Min.Y, r.Max.Y, colGrid)
		label := trimFloat(tm)
		drawText(img, x-len(label)*glyphW/2, r.Max.Y+4, label, colBlack)
	}
	drawText(img, r.Max.X-4*glyphW, r.Max.Y+axisLabelY+4, "MIN", colBlack)
	hline(img, r.Min.X, r.Max.X, r.Max.Y, colBlack)
	vline(img, r.Min.X, r.Min.Y, r.Max.Y, colBlack)
	pt := func(row sampleRow, v float64) image.Point {
		return image.Pt(r.Min.X+int(row.t.Minutes()/tmax*float64(r.Dx())), r.Max.Y-int(v/ymax*float64(r.Dy())))
	}
	for _, s := range p.series {
		for i := 1; i < len(rows); i++ {
			line(img, pt(rows[i-1], s.value(rows[i-1])), pt(rows[i], s.value(rows[i])), s.col)
		}
	}
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
}

func hline(img *image.RGBA, x0, x1, y int, c color.RGBA) {
	for x := x0; x <= x1; x++ {
		img.SetRGBA(x, y, c)
	}
}

func vline(img *image.RGBA, x, y0, y1 int, c color.RGBA) {
	for y := y0; y <= y1; y++ {
		img.SetRGBA(x, y, c)
	}
}

// line draws a 2-pixel-wide line (Bresenham).
func line(img *image.RGBA, a, b image.Point, c color.RGBA) {
	dx, dy := abs(b.X-a.X), -abs(b.Y-a.Y)
	sx, sy := sign(b.X-a.X), sign(b.Y-a.Y)
	e := dx + dy
	for {
		img.SetRGBA(a.X, a.Y, c)
		img.SetRGBA(a.X, a.Y+1, c)
		img.SetRGBA(a.X+1, a.Y, c)
		if a == b {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			a.X += sx
		}
		if e2 <= dx {
			e += dx
			a.Y += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}

// drawText draws s (upper case, digits, a few symbols) at x, y (top left), scaled.
func drawText(img *image.RGBA, x, y int, s string, c color.RGBA) {
	for _, r := range strings.ToUpper(s) {
		g := glyph(r)
		for row := range 7 {
			for col := range 5 {
				if g[row]&(1<<(4-col)) == 0 {
					continue
				}
				fill(img, image.Rect(x+col*fontScale, y+row*fontScale, x+(col+1)*fontScale, y+(row+1)*fontScale), c)
			}
		}
		x += glyphW
	}
}

// glyph returns the 5x7 bitmap of r, one byte per row, bit 4 leftmost.
func glyph(r rune) [7]byte {
	switch r {
	case '0':
		return [7]byte{0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}
	case '1':
		return [7]byte{0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}
	case '2':
		return [7]byte{0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}
	case '3':
		return [7]byte{0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}
	case '4':
		return [7]byte{0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}
	case '5':
		return [7]byte{0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}
	case '6':
		return [7]byte{0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}
	case '7':
		return [7]byte{0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}
	case '8':
		return [7]byte{0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}
	case '9':
		return [7]byte{0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}
	case 'A':
		return [7]byte{0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}
	case 'B':
		return [7]byte{0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}
	case 'C':
		return [7]byte{0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}
	case 'D':
		return [7]byte{0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C}
	case 'E':
		return [7]byte{0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}
	case 'F':
		return [7]byte{0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}
	case 'G':
		return [7]byte{0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}
	case 'H':
		return [7]byte{0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}
	case 'I':
		return [7]byte{0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}
	case 'J':
		return [7]byte{0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C}
	case 'K':
		return [7]byte{0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}
	case 'L':
		return [7]byte{0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}
	case 'M':
		return [7]byte{0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}
	case 'N':
		return [7]byte{0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}
	case 'O':
		return [7]byte{0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}
	case 'P':
		return [7]byte{0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}
	case 'Q':
		return [7]byte{0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}
	case 'R':
		return [7]byte{0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}
	case 'S':
		return [7]byte{0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}
	case 'T':
		return [7]byte{0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}
	case 'U':
		return [7]byte{0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}
	case 'V':
		return [7]byte{0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04}
	case 'W':
		return [7]byte{0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}
	case 'X':
		return [7]byte{0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}
	case 'Y':
		return [7]byte{0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04}
	case 'Z':
		return [7]byte{0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}
	case '.':
		return [7]byte{0, 0, 0, 0, 0, 0x0C, 0x0C}
	case ',':
		return [7]byte{0, 0, 0, 0, 0x0C, 0x04, 0x08}
	case '-':
		return [7]byte{0, 0, 0, 0x1F, 0, 0, 0}
	case '+':
		return [7]byte{0, 0x04, 0x04, 0x1F, 0x04, 0x04, 0}
	case '=':
		return [7]byte{0, 0, 0x1F, 0, 0x1F, 0, 0}
	case ':':
		return [7]byte{0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0}
	case '%':
		return [7]byte{0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}
	case '/':
		return [7]byte{0, 0x01, 0x02, 0x04, 0x08, 0x10, 0}
	case '(':
		return [7]byte{0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}
	case ')':
		return [7]byte{0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}
	}
	return [7]byte{} // space and anything else
}
