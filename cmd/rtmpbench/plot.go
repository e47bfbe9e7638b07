package main

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"

	"github.com/rendercast/rendercast/internal/plot"
)

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
	save := func(name string, c *plot.Chart) error {
		if err := plot.WritePNG(filepath.Join(dir, name), c.Render()); err != nil {
			return err
		}
		names = append(names, name)
		return nil
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
		w := plot.NiceStep(hi, 60)
		c := &plot.Chart{Title: "Call-to-frame latency (720p30, x264 ultrafast)", XLabel: "ms from the change to the decoded frame showing it", YLabel: "count"}
		xs, ys := histogram(r.Latency.Samples, 0, hi, w)
		c.Series = append(c.Series, plot.Series{Name: fmt.Sprintf("Rendercast call-to-frame (%d calls)", len(r.Latency.Samples)), Color: plot.Blue, X: xs, Y: ys, Bars: true, BarWidth: w})
		if len(ng) > 0 {
			xs, ys := histogram(ng, 0, hi, w)
			c.Series = append(c.Series, plot.Series{Name: fmt.Sprintf("nginx-rtmp + ffmpeg colour change (%d)", len(ng)), Color: plot.Orange, X: xs, Y: ys, Bars: true, BarWidth: w})
		}
		l := r.Latency.CallToFrame
		c.VLines = []plot.RefLine{
			{V: l.P50, Label: fmt.Sprintf("p50 %.0f ms", l.P50), Color: plot.Blue},
			{V: l.P99, Label: fmt.Sprintf("p99 %.0f ms", l.P99), Color: plot.DarkGrey},
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
		w := plot.NiceStep(hi, 50)
		c := &plot.Chart{Title: "Time to first frame: connect, play, first decoded picture", XLabel: "ms", YLabel: "runs"}
		xs, ys := histogram(r.TTFF.Samples, 0, hi, w)
		c.Series = append(c.Series, plot.Series{Name: "Rendercast", Color: plot.Blue, X: xs, Y: ys, Bars: true, BarWidth: w})
		if r.Nginx != nil && len(r.Nginx.TTFFSamples) > 0 {
			xs, ys := histogram(r.Nginx.TTFFSamples, 0, hi, w)
			c.Series = append(c.Series, plot.Series{Name: "nginx-rtmp + ffmpeg (2 s GOP)", Color: plot.Orange, X: xs, Y: ys, Bars: true, BarWidth: w})
		}
		c.XMin, c.XMax = 0, hi
		if err := save("bench-ttff.png", c); err != nil {
			return names, err
		}
	}
	// Frame rate over time: the pacing viewer, and every viewer at each size's density limit.
	if r.Pacing != nil && len(r.Pacing.FPSOverTime) > 0 {
		c := &plot.Chart{Title: "Frames per second received (trailing 1 s window)", XLabel: "s", YLabel: "fps", YMin: 0, YMax: 36}
		var xs, ys []float64
		for _, p := range r.Pacing.FPSOverTime {
			xs, ys = append(xs, p[0]), append(ys, p[1])
		}
		c.Series = append(c.Series, plot.Series{Name: "1 viewer, " + r.Size + " (pacing run)", Color: plot.Black, X: xs, Y: ys})
		for i, d := range r.Density {
			col := plot.Palette[(i+1)%len(plot.Palette)]
			for j, s := range d.FPSOverTime {
				var xs, ys []float64
				for _, p := range s {
					xs, ys = append(xs, p[0]), append(ys, p[1])
				}
				name := ""
				if j == 0 {
					name = plural(d.MaxViewers, "viewer at "+d.Size+", "+d.motion(), "viewers at "+d.Size+", "+d.motion()+" (each)")
				}
				c.Series = append(c.Series, plot.Series{Name: name, Color: col, X: xs, Y: ys, Thin: true})
			}
		}
		c.HLines = []plot.RefLine{{V: minViewerFPS, Label: fmt.Sprintf("%d fps", minViewerFPS), Color: plot.Red}}
		if err := save("bench-fps.png", c); err != nil {
			return names, err
		}
	}
	// Density: the slowest viewer's rate against the number of viewers.
	if len(r.Density) > 0 {
		c := &plot.Chart{Title: "Slowest viewer's frame rate against concurrent viewers (moving: new pictures)", XLabel: "viewers (each its own camera and encoder)", YLabel: "min fps", YMin: 0, YMax: 36}
		for i, d := range r.Density {
			steps := slices.Clone(d.Steps)
			sort.Slice(steps, func(a, b int) bool { return steps[a].Viewers < steps[b].Viewers })
			var xs, ys []float64
			for _, s := range steps {
				y := s.MinFPS
				if d.motion() == motionMoving { // moving cameras must also render every frame
					y = math.Min(y, s.MinRenderFPS)
				}
				xs, ys = append(xs, float64(s.Viewers)), append(ys, y)
			}
			c.Series = append(c.Series, plot.Series{Name: d.Size + ", cameras " + d.motion(), Color: plot.Palette[(i+1)%len(plot.Palette)], X: xs, Y: ys, Points: true})
		}
		c.MinXStep = 1
		c.HLines = []plot.RefLine{{V: minViewerFPS, Label: fmt.Sprintf("%d fps", minViewerFPS), Color: plot.Red}}
		c.Bounds()
		c.XMin, c.XMax = 0, math.Ceil(c.XMax)+1
		if err := save("bench-density.png", c); err != nil {
			return names, err
		}
	}
	// Spectators: CPU and the slowest player's rate against the number of players.
	if r.Spectators != nil && len(r.Spectators.Servers) > 0 {
		cpu, fps := spectatorsCharts(r.Spectators)
		if err := save("bench-spectators-cpu.png", cpu); err != nil {
			return names, err
		}
		if err := save("bench-spectators-fps.png", fps); err != nil {
			return names, err
		}
	}
	return names, nil
}
