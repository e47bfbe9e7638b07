package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
)

// A small chart renderer (image/png only): line series, histogram series drawn as bars,
// reference lines, axes with 1-2-5 ticks, a title and a legend.

type plotSeries struct {
	Name  string
	Color color.RGBA
	X, Y  []float64
	// Bars draws each point as a bar from X to X+BarWidth, of height Y.
	Bars     bool
	BarWidth float64
	// Thin draws a 1-pixel line (many series at once); Points marks every point.
	Thin, Points bool
}

type refLine struct {
	V     float64
	Label string
	Color color.RGBA
}

type chart struct {
	Title, XLabel, YLabel  string
	Series                 []plotSeries
	HLines, VLines         []refLine
	XMin, XMax, YMin, YMax float64 // automatic when Max <= Min
	MinXStep               float64 // smallest x tick step (1 for counts)
	HideLegend             bool
}

var (
	black     = color.RGBA{0, 0, 0, 255}
	grey      = color.RGBA{200, 200, 200, 255}
	darkGrey  = color.RGBA{110, 110, 110, 255}
	white     = color.RGBA{255, 255, 255, 255}
	blueC     = color.RGBA{31, 119, 180, 255}
	orangeC   = color.RGBA{230, 110, 20, 255}
	greenC    = color.RGBA{44, 160, 44, 255}
	redC      = color.RGBA{214, 39, 40, 255}
	purpleC   = color.RGBA{148, 103, 189, 255}
	palette   = []color.RGBA{blueC, orangeC, greenC, redC, purpleC, {140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255}, {188, 189, 34, 255}, {23, 190, 207, 255}}
	plotW     = 960
	plotH     = 540
	marginL   = 90
	marginR   = 30
	marginBot = 70
)

// niceStep returns a 1, 2 or 5 times a power of ten step giving at most about n ticks.
func niceStep(span float64, n int) float64 {
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

func (c *chart) bounds() {
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

// render draws the chart.
func (c *chart) render() *image.RGBA {
	c.bounds()
	img := image.NewRGBA(image.Rect(0, 0, plotW, plotH))
	draw.Draw(img, img.Bounds(), image.NewUniform(white), image.Point{}, draw.Src)
	x0, x1 := marginL, plotW-marginR
	// Title, then the legend in rows under it (left to right, wrapping), then the plot.
	drawText(img, (plotW-textWidth(c.Title))/2, 10, c.Title, black)
	ly := 34
	if !c.HideLegend {
		lx := x0
		for _, s := range c.Series {
			if s.Name == "" {
				continue
			}
			w := 24 + textWidth(s.Name) + 24
			if lx+w > x1 && lx > x0 {
				lx, ly = x0, ly+textHeight+6
			}
			draw.Draw(img, image.Rect(lx, ly+2, lx+18, ly+textHeight-2), image.NewUniform(s.Color), image.Point{}, draw.Src)
			drawText(img, lx+24, ly, s.Name, black)
			lx += w
		}
		ly += textHeight + 6
	}
	drawText(img, 8, ly+4, c.YLabel, black)
	y0, y1 := plotH-marginBot, ly+textHeight+14 // y0 bottom, y1 top
	px := func(x float64) int { return x0 + int(math.Round((x-c.XMin)/(c.XMax-c.XMin)*float64(x1-x0))) }
	py := func(y float64) int { return y0 - int(math.Round((y-c.YMin)/(c.YMax-c.YMin)*float64(y0-y1))) }

	// Grid and ticks.
	xs := math.Max(niceStep(c.XMax-c.XMin, 10), c.MinXStep)
	for v := math.Ceil(c.XMin/xs) * xs; v <= c.XMax+xs*1e-9; v += xs {
		x := px(v)
		line(img, x, y0, x, y1, grey, 1)
		lbl := formatTick(v, xs)
		drawText(img, x-textWidth(lbl)/2, y0+8, lbl, black)
	}
	ys := niceStep(c.YMax-c.YMin, 8)
	for v := math.Ceil(c.YMin/ys) * ys; v <= c.YMax+ys*1e-9; v += ys {
		y := py(v)
		line(img, x0, y, x1, y, grey, 1)
		lbl := formatTick(v, ys)
		drawText(img, x0-8-textWidth(lbl), y-textHeight/2, lbl, black)
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
		drawText(img, x1-textWidth(l.Label)-4, y-textHeight-4, l.Label, l.Color)
	}
	for i, l := range c.VLines {
		x := px(l.V)
		dashed(sub, x, y0, x, y1, l.Color)
		drawText(img, x+4, y1+4+i*(textHeight+4), l.Label, l.Color)
	}

	// Axes and the x label.
	line(img, x0, y0, x1, y0, black, 1)
	line(img, x0, y0, x0, y1, black, 1)
	drawText(img, (x0+x1-textWidth(c.XLabel))/2, plotH-textHeight-12, c.XLabel, black)
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

// histogram counts values into bins of width w from lo; values at or past hi go into the
// last bin (so nothing is hidden).
func histogram(values []float64, lo, hi, w float64) (xs, ys []float64) {
	n := max(1, int(math.Ceil((hi-lo)/w)))
	ys = make([]float64, n)
	xs = make([]float64, n)
	for i := range xs {
		xs[i] = lo + float64(i)*w
	}
	for _, v := range values {
		i := int(math.Floor((v - lo) / w))
		ys[max(0, min(n-1, i))]++
	}
	return xs, ys
}

// writePlots draws the PNG plots the results allow into dir and returns their names.
func writePlots(dir string, r *Results) ([]string, error) {
	var names []string
	save := func(name string, c *chart) error {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if err := png.Encode(f, c.render()); err != nil {
			f.Close()
			return err
		}
		names = append(names, name)
		return f.Close()
	}
	// Latency distributions: Rendercast's call-to-frame and nginx's colour change.
	if r.Latency != nil && len(r.Latency.Samples) > 0 {
		all := slices.Clone(r.Latency.Samples)
		var ng []float64
		if r.Nginx != nil {
			ng = r.Nginx.ChangeSamples
			all = append(all, ng...)
		}
		hi := math.Max(120, percentile(all, 99.5)*1.1)
		w := niceStep(hi, 60)
		c := &chart{Title: "Call-to-frame latency (720p30, x264 ultrafast)", XLabel: "ms from the change to the decoded frame showing it", YLabel: "count"}
		xs, ys := histogram(r.Latency.Samples, 0, hi, w)
		c.Series = append(c.Series, plotSeries{Name: fmt.Sprintf("Rendercast call-to-frame (%d calls)", len(r.Latency.Samples)), Color: blueC, X: xs, Y: ys, Bars: true, BarWidth: w})
		if len(ng) > 0 {
			xs, ys := histogram(ng, 0, hi, w)
			c.Series = append(c.Series, plotSeries{Name: fmt.Sprintf("nginx-rtmp + ffmpeg colour change (%d)", len(ng)), Color: orangeC, X: xs, Y: ys, Bars: true, BarWidth: w})
		}
		l := r.Latency.CallToFrame
		c.VLines = []refLine{
			{V: l.P50, Label: fmt.Sprintf("p50 %.0f ms", l.P50), Color: blueC},
			{V: l.P99, Label: fmt.Sprintf("p99 %.0f ms", l.P99), Color: darkGrey},
		}
		c.XMin, c.XMax = 0, hi
		if err := save("bench-latency.png", c); err != nil {
			return names, err
		}
	}
	// Time to first frame.
	if r.TTFF != nil && len(r.TTFF.Samples) > 0 {
		all := slices.Clone(r.TTFF.Samples)
		if r.Nginx != nil {
			all = append(all, r.Nginx.TTFFSamples...)
		}
		hi := slices.Max(all) * 1.05
		w := niceStep(hi, 50)
		c := &chart{Title: "Time to first frame: connect, play, first decoded picture", XLabel: "ms", YLabel: "runs"}
		xs, ys := histogram(r.TTFF.Samples, 0, hi, w)
		c.Series = append(c.Series, plotSeries{Name: "Rendercast", Color: blueC, X: xs, Y: ys, Bars: true, BarWidth: w})
		if r.Nginx != nil && len(r.Nginx.TTFFSamples) > 0 {
			xs, ys := histogram(r.Nginx.TTFFSamples, 0, hi, w)
			c.Series = append(c.Series, plotSeries{Name: "nginx-rtmp + ffmpeg (2 s GOP)", Color: orangeC, X: xs, Y: ys, Bars: true, BarWidth: w})
		}
		c.XMin, c.XMax = 0, hi
		if err := save("bench-ttff.png", c); err != nil {
			return names, err
		}
	}
	// Frame rate over time: the pacing viewer, and every viewer at each size's density limit.
	if r.Pacing != nil && len(r.Pacing.FPSOverTime) > 0 {
		c := &chart{Title: "Frames per second received (trailing 1 s window)", XLabel: "s", YLabel: "fps", YMin: 0, YMax: 36}
		var xs, ys []float64
		for _, p := range r.Pacing.FPSOverTime {
			xs, ys = append(xs, p[0]), append(ys, p[1])
		}
		c.Series = append(c.Series, plotSeries{Name: "1 viewer, " + r.Size + " (pacing run)", Color: black, X: xs, Y: ys})
		for i, d := range r.Density {
			col := palette[(i+1)%len(palette)]
			for j, s := range d.FPSOverTime {
				var xs, ys []float64
				for _, p := range s {
					xs, ys = append(xs, p[0]), append(ys, p[1])
				}
				name := ""
				if j == 0 {
					name = plural(d.MaxViewers, "viewer at "+d.Size+", "+d.motion(), "viewers at "+d.Size+", "+d.motion()+" (each)")
				}
				c.Series = append(c.Series, plotSeries{Name: name, Color: col, X: xs, Y: ys, Thin: true})
			}
		}
		c.HLines = []refLine{{V: minViewerFPS, Label: fmt.Sprintf("%d fps", minViewerFPS), Color: redC}}
		if err := save("bench-fps.png", c); err != nil {
			return names, err
		}
	}
	// Density: the slowest viewer's rate against the number of viewers.
	if len(r.Density) > 0 {
		c := &chart{Title: "Slowest viewer's frame rate against concurrent viewers", XLabel: "viewers (each its own camera and encoder)", YLabel: "min fps", YMin: 0, YMax: 36}
		for i, d := range r.Density {
			steps := slices.Clone(d.Steps)
			sort.Slice(steps, func(a, b int) bool { return steps[a].Viewers < steps[b].Viewers })
			var xs, ys []float64
			for _, s := range steps {
				xs, ys = append(xs, float64(s.Viewers)), append(ys, math.Min(s.MinFPS, s.MinRenderFPS))
			}
			c.Series = append(c.Series, plotSeries{Name: d.Size + ", cameras " + d.motion(), Color: palette[(i+1)%len(palette)], X: xs, Y: ys, Points: true})
		}
		c.MinXStep = 1
		c.HLines = []refLine{{V: minViewerFPS, Label: fmt.Sprintf("%d fps", minViewerFPS), Color: redC}}
		c.bounds()
		c.XMin, c.XMax = 0, math.Ceil(c.XMax)+1
		if err := save("bench-density.png", c); err != nil {
			return names, err
		}
	}
	return names, nil
}
