package main

import (
	"fmt"
	"image"
	"image/color"

	"github.com/rendercast/rendercast/internal/plot"
)

// plotW is the width of the soak plot; its panels share the time axis (minutes).
const plotW = 1000

type series struct {
	name  string
	col   color.RGBA
	value func(sampleRow) float64
}

// writePlot draws the run's panels (memory; goroutines, files, threads; frame rates; CPU)
// one under the other into a PNG file at path.
func writePlot(path string, rows []sampleRow, o options) error {
	panels := []struct {
		title, ylabel string
		series        []series
		hline         float64
	}{
		{"Memory", "MiB", []series{
			{"resident (RSS)", plot.Blue, func(s sampleRow) float64 { return s.rss }},
			{"Go heap in use", plot.Orange, func(s sampleRow) float64 { return s.heap }},
		}, 0},
		{"Goroutines, open files, threads", "count", []series{
			{"goroutines", plot.Blue, func(s sampleRow) float64 { return s.goroutines }},
			{"open files", plot.Orange, func(s sampleRow) float64 { return s.fds }},
			{"threads", plot.Green, func(s sampleRow) float64 { return s.threads }},
		}, 0},
		{fmt.Sprintf("Frames per second per honest viewer (%d RTMP, %d WebRTC)", o.viewers, o.whepViewers), "fps", []series{
			{"mean", plot.Blue, func(s sampleRow) float64 { return s.fpsMean() }},
			{"lowest", plot.Red, func(s sampleRow) float64 { return s.fpsMin() }},
		}, o.fps},
		{"CPU", "% of one core", []series{{"CPU", plot.Green, func(s sampleRow) float64 { return s.cpu }}}, 0},
	}
	var imgs []image.Image
	for _, p := range panels {
		c := &plot.Chart{Title: p.title, XLabel: "minutes", YLabel: p.ylabel, Width: plotW, Height: 300}
		for _, s := range p.series {
			ps := plot.Series{Name: s.name, Color: s.col}
			for _, r := range rows {
				ps.X = append(ps.X, r.t.Minutes())
				ps.Y = append(ps.Y, s.value(r))
			}
			c.Series = append(c.Series, ps)
		}
		if p.hline > 0 {
			c.HLines = []plot.RefLine{{V: p.hline, Label: fmt.Sprintf("target %.0f", p.hline), Color: plot.DarkGrey}}
		}
		imgs = append(imgs, c.Render())
	}
	title := fmt.Sprintf("Rendercast soak: %s, %d+%d viewers, churn %s, attack %d RTMP, %.0f WHEP/s",
		o.duration, o.viewers, o.whepViewers, o.churnEvery, o.attackRTMP, o.attackWHEP)
	return plot.WritePNG(path, plot.Stack(title, imgs...))
}
