// Package plot draws the project's measurement charts as PNG images with the standard
// library only: line series, histogram bars, reference lines, axes with 1-2-5 ticks, a title,
// a legend and a 5x7 bitmap font. The benchmark harness and the soak test use it.
package plot

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
)

// Series is one line (or set of bars) of a chart.
type Series struct {
	Name  string
	Color color.RGBA
	X, Y  []float64
	// Bars draws each point as a bar from X to X+BarWidth, of height Y.
	Bars     bool
	BarWidth float64
	// Thin draws a 1-pixel line (many series at once); Points marks every point.
	Thin, Points bool
}

// RefLine is a dashed horizontal or vertical reference line with a label.
type RefLine struct {
	V     float64
	Label string
	Color color.RGBA
}

// Chart is one chart. The zero size is 960x540 pixels.
type Chart struct {
	Title, XLabel, YLabel  string
	Width, Height          int
	Series                 []Series
	HLines, VLines         []RefLine
	XMin, XMax, YMin, YMax float64 // automatic when Max <= Min
	MinXStep               float64 // smallest x tick step (1 for counts)
	HideLegend             bool
}

// Colours of the charts; Palette is for series, in order.
var (
	Black    = color.RGBA{0, 0, 0, 255}
	Grey     = color.RGBA{200, 200, 200, 255}
	DarkGrey = color.RGBA{110, 110, 110, 255}
	White    = color.RGBA{255, 255, 255, 255}
	Blue     = color.RGBA{31, 119, 180, 255}
	Orange   = color.RGBA{230, 110, 20, 255}
	Green    = color.RGBA{44, 160, 44, 255}
	Red      = color.RGBA{214, 39, 40, 255}
	Purple   = color.RGBA{148, 103, 189, 255}
	Palette  = []color.RGBA{Blue, Orange, Green, Red, Purple, {140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255}, {188, 189, 34, 255}, {23, 190, 207, 255}}
)

const (
	defaultW  = 960
	defaultH  = 540
	marginL   = 90
	marginR   = 30
	marginBot = 70
)

// NiceStep returns a 1, 2 or 5 times a power of ten step giving at most about n ticks.
func NiceStep(span float64, n int) float64 {
	if span <= 0 || n <= 0 {
		return 1
	}
	raw := span / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// Bounds fills the axis ranges left automatic (Max <= Min) from the series and lines.
func (c *Chart) Bounds() {
	if c.XMax > c.XMin && c.YMax > c.YMin {
		return
	}
	xmin, xmax, ymax := math.Inf(1), math.Inf(-1), 0.0
	for _, s := range c.Series {
		for i := range s.X {
			xmin = math.Min(xmin, s.X[i])
			x := s.X[i]
			if s.Bars {
				x += s.BarWidth
			}
			xmax = math.Max(xmax, x)
			ymax = math.Max(ymax, s.Y[i])
		}
	}
	for _, l := range c.HLines {
		ymax = math.Max(ymax, l.V)
	}
	for _, l := range c.VLines {
		xmin, xmax = math.Min(xmin, l.V), math.Max(xmax, l.V)
	}
	if math.IsInf(xmin, 1) {
		xmin, xmax = 0, 1
	}
	if !(c.XMax > c.XMin) {
		c.XMin, c.XMax = xmin, xmax
		if c.XMax <= c.XMin {
			c.XMax = c.XMin + 1
		}
	}
	if !(c.YMax > c.YMin) {
		c.YMin, c.YMax = 0, ymax*1.1
		if c.YMax <= 0 {
			c.YMax = 1
		}
	}
}

// Render draws the chart.
func (c *Chart) Render() *image.RGBA {
	c.Bounds()
	plotW, plotH := c.Width, c.Height
	if plotW <= 0 || plotH <= 0 {
		plotW, plotH = defaultW, defaultH
	}
	img := image.NewRGBA(image.Rect(0, 0, plotW, plotH))
	draw.Draw(img, img.Bounds(), image.NewUniform(White), image.Point{}, draw.Src)
	x0, x1 := marginL, plotW-marginR
	// Title, then the legend in rows under it (left to right, wrapping), then the plot.
	DrawText(img, (plotW-TextWidth(c.Title))/2, 10, c.Title, Black)
	ly := 34
	if !c.HideLegend {
		lx := x0
		for _, s := range c.Series {
			if s.Name == "" {
				continue
			}
			w := 24 + TextWidth(s.Name) + 24
			if lx+w > x1 && lx > x0 {
				lx, ly = x0, ly+TextHeight+6
			}
			draw.Draw(img, image.Rect(lx, ly+2, lx+18, ly+TextHeight-2), image.NewUniform(s.Color), image.Point{}, draw.Src)
			DrawText(img, lx+24, ly, s.Name, Black)
			lx += w
		}
		ly += TextHeight + 6
	}
	DrawText(img, 8, ly+4, c.YLabel, Black)
	y0, y1 := plotH-marginBot, ly+TextHeight+14 // y0 bottom, y1 top
	px := func(x float64) int { return x0 + int(math.Round((x-c.XMin)/(c.XMax-c.XMin)*float64(x1-x0))) }
	py := func(y float64) int { return y0 - int(math.Round((y-c.YMin)/(c.YMax-c.YMin)*float64(y0-y1))) }

	// Grid and ticks.
	xs := math.Max(NiceStep(c.XMax-c.XMin, 10), c.MinXStep)
	for v := math.Ceil(c.XMin/xs) * xs; v <= c.XMax+xs*1e-9; v += xs {
		x := px(v)
		line(img, x, y0, x, y1, Grey, 1)
		lbl := formatTick(v, xs)
		DrawText(img, x-TextWidth(lbl)/2, y0+8, lbl, Black)
	}
	ys := NiceStep(c.YMax-c.YMin, 8)
	for v := math.Ceil(c.YMin/ys) * ys; v <= c.YMax+ys*1e-9; v += ys {
		y := py(v)
		line(img, x0, y, x1, y, Grey, 1)
		lbl := formatTick(v, ys)
		DrawText(img, x0-8-TextWidth(lbl), y-TextHeight/2, lbl, Black)
	}

	// Series, clipped to the plot area.
	plot := image.Rect(x0, y1, x1+1, y0+1)
	sub := img.SubImage(plot).(*image.RGBA)
	for _, s := range c.Series {
		if s.Bars {
			fill := s.Color
			fill.A = 110
			for i := range s.X {
				r := image.Rect(px(s.X[i]), py(s.Y[i]), px(s.X[i]+s.BarWidth), y0)
				draw.Draw(sub, r, image.NewUniform(premultiply(fill)), image.Point{}, draw.Over)
				outline(sub, r, s.Color)
			}
			continue
		}
		w := 2
		if s.Thin {
			w = 1
		}
		for i := 1; i < len(s.X); i++ {
			line(sub, px(s.X[i-1]), py(s.Y[i-1]), px(s.X[i]), py(s.Y[i]), s.Color, w)
		}
		if s.Points {
			for i := range s.X {
				x, y := px(s.X[i]), py(s.Y[i])
				draw.Draw(sub, image.Rect(x-4, y-4, x+5, y+5), image.NewUniform(s.Color), image.Point{}, draw.Src)
			}
		}
	}
	for _, l := range c.HLines {
		y := py(l.V)
		dashed(sub, x0, y, x1, y, l.Color)
		DrawText(img, x1-TextWidth(l.Label)-4, y-TextHeight-4, l.Label, l.Color)
	}
	for i, l := range c.VLines {
		x := px(l.V)
		dashed(sub, x, y0, x, y1, l.Color)
		DrawText(img, x+4, y1+4+i*(TextHeight+4), l.Label, l.Color)
	}

	// Axes and the x label.
	line(img, x0, y0, x1, y0, Black, 1)
	line(img, x0, y0, x0, y1, Black, 1)
	DrawText(img, (x0+x1-TextWidth(c.XLabel))/2, plotH-TextHeight-12, c.XLabel, Black)
	return img
}

func premultiply(c color.RGBA) color.RGBA {
	a := uint32(c.A)
	return color.RGBA{uint8(uint32(c.R) * a / 255), uint8(uint32(c.G) * a / 255), uint8(uint32(c.B) * a / 255), c.A}
}

func formatTick(v, step float64) string {
	if math.Abs(v) < step*1e-9 {
		v = 0
	}
	decimals := 0
	if step < 1 {
		decimals = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	return fmt.Sprintf("%.*f", decimals, v)
}

// line draws a line of width w (1 or 2 pixels) with Bresenham's algorithm.
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA, w int) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	err := dx + dy
	for {
		for ox := range w {
			for oy := range w {
				if p := (image.Point{x0 + ox, y0 + oy}); p.In(img.Rect) {
					img.SetRGBA(p.X, p.Y, c)
				}
			}
		}
		if x0 == x1 && y0 == y1 {
			return
		}
		if e2 := 2 * err; e2 >= dy {
			err += dy
			x0 += sx
		} else {
			err += dx
			y0 += sy
		}
	}
}

// dashed draws a horizontal or vertical dashed line.
func dashed(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	n := max(abs(x1-x0), abs(y1-y0))
	for i := 0; i <= n; i++ {
		if i%10 >= 6 {
			continue
		}
		x, y := x0+sign(x1-x0)*i, y0+sign(y1-y0)*i
		for o := range 2 {
			p := image.Point{x, y}
			if x0 == x1 {
				p.X += o
			} else {
				p.Y += o
			}
			if p.In(img.Rect) {
				img.SetRGBA(p.X, p.Y, c)
			}
		}
	}
}

func outline(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	if r.Empty() {
		return
	}
	line(img, r.Min.X, r.Min.Y, r.Max.X-1, r.Min.Y, c, 1)
	line(img, r.Min.X, r.Min.Y, r.Min.X, r.Max.Y-1, c, 1)
	line(img, r.Max.X-1, r.Min.Y, r.Max.X-1, r.Max.Y-1, c, 1)
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// WritePNG writes img to path as a PNG file.
func WritePNG(path string, img image.Image) error {
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

// Stack puts images one under the other on a white page, widest first row wins, under an
// optional title line.
func Stack(title string, imgs ...image.Image) *image.RGBA {
	w, h := 0, 0
	if title != "" {
		w, h = TextWidth(title)+2*marginL/3, TextHeight+20
	}
	top := h
	for _, im := range imgs {
		w = max(w, im.Bounds().Dx())
		h += im.Bounds().Dy()
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(out, out.Bounds(), image.NewUniform(White), image.Point{}, draw.Src)
	if title != "" {
		DrawText(out, 10, 10, title, Black)
	}
	y := top
	for _, im := range imgs {
		b := im.Bounds()
		draw.Draw(out, image.Rect(0, y, b.Dx(), y+b.Dy()), im, b.Min, draw.Src)
		y += b.Dy()
	}
	return out
}
