package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// TargetCheck is one performance target and what this run measured.
type TargetCheck struct {
	Name     string `json:"name"`
	Target   string `json:"target"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
}

// Targets of issue 7 (2-core CPU, 720p30, x264 ultrafast).
const (
	targetLatencyP50   = 50.0  // ms
	targetLatencyP99   = 100.0 // ms
	targetTTFFP50      = 200.0 // ms
	target720Viewers   = 4
	target360Viewers   = 10
	targetIdleConns    = 5000
	targetIdlePerConnK = 40.0 // KiB
)

func checkTargets(r *Results) []TargetCheck {
	var out []TargetCheck
	if r.Latency != nil {
		l := r.Latency.CallToFrame
		out = append(out,
			TargetCheck{"call-to-frame p50", fmt.Sprintf("<= %.0f ms", targetLatencyP50), fmt.Sprintf("%.1f ms", l.P50), l.N > 0 && l.P50 <= targetLatencyP50},
			TargetCheck{"call-to-frame p99", fmt.Sprintf("<= %.0f ms", targetLatencyP99), fmt.Sprintf("%.1f ms", l.P99), l.N > 0 && l.P99 <= targetLatencyP99})
	}
	if r.TTFF != nil {
		t := r.TTFF.Total
		out = append(out, TargetCheck{"time to first frame p50", fmt.Sprintf("<= %.0f ms", targetTTFFP50), fmt.Sprintf("%.1f ms", t.P50), t.N > 0 && t.P50 <= targetTTFFP50})
	}
	for _, motion := range densityMotions {
		var parts []string
		met := false
		for _, d := range r.Density {
			if d.motion() != motion {
				continue
			}
			parts = append(parts, fmt.Sprintf("%d at %s", d.MaxViewers, d.Size))
			switch d.Size {
			case "1280x720":
				met = met || d.MaxViewers >= target720Viewers
			case "640x360":
				met = met || d.MaxViewers >= target360Viewers
			}
		}
		if parts != nil {
			out = append(out, TargetCheck{"concurrent viewers >= 29 fps, cameras " + motion, fmt.Sprintf(">= %d at 720p30 or >= %d at 360p30", target720Viewers, target360Viewers), strings.Join(parts, ", "), met})
		}
	}
	if r.Spectators != nil {
		out = append(out, spectatorTargets(r.Spectators)...)
	}
	if r.Idle != nil {
		i := r.Idle
		out = append(out, TargetCheck{"idle connections", fmt.Sprintf("%d at < %.0f KiB each", targetIdleConns, targetIdlePerConnK),
			fmt.Sprintf("%d at %.1f KiB each", i.Connected, i.PerConnKiB),
			i.Connected >= targetIdleConns && i.PerConnKiB < targetIdlePerConnK && i.Alive})
	}
	return out
}

func metWord(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// writeTable prints the results for a terminal.
func writeTable(w io.Writer, r *Results) {
	m := r.Machine
	fmt.Fprintf(w, "Rendercast benchmark, %s: %s, %d CPUs, %.1f GiB; load %s at start, %s at end; %.0f s\n",
		r.Started.Format("2006-01-02 15:04"), m.CPU, m.CPUs, m.MemoryGB, m.LoadAvg, r.LoadAtEnd, r.Seconds)
	if r.Streamer != "" {
		fmt.Fprintf(w, "streamer: %s\n", r.Streamer)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(name string, s Summary) {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t\n", name, s.N, s.Min, s.P50, s.P95, s.P99, s.Max)
	}
	if r.hasTimings() {
		fmt.Fprintln(tw, "ms\tn\tmin\tp50\tp95\tp99\tmax\t")
	}
	if t := r.TTFF; t != nil {
		row("time to first frame", t.Total)
		row("  connect", t.Connect)
		row("  createStream + play", t.Play)
		row("  first coded frame", t.FirstVideo)
	}
	if l := r.Latency; l != nil {
		row("call-to-frame ("+l.Method+")", l.CallToFrame)
		row("  call to frame arrival", l.CallToArrival)
		row("  call round trip", l.CallRTT)
	}
	if l := r.LatencyRest; l != nil {
		row("call-to-frame, no marker, moving", l.Moving.CallToFrame)
		row(fmt.Sprintf("call-to-frame after %.0f ms still", l.Rest), l.Still.CallToFrame)
	}
	if n := r.Nginx; n != nil {
		row("nginx: time to first frame", n.TTFF)
		row("  first coded frame", n.TTFFFirstVideo)
		row("nginx: change event to frame", n.ChangeLatency)
		row("  source frame to frame", n.ChangeFromFrame)
		row("  every frame's delay", n.FrameDelay)
	}
	tw.Flush()
	if l := r.Latency; l != nil {
		fmt.Fprintf(w, "call-to-frame: %d timeouts, %d colour mismatches, harness %.2f cores", l.Timeouts, l.ColourMismatches, l.HarnessCores)
		if l.ServerMean > 0 {
			fmt.Fprintf(w, "; the streamer's own call-to-encoded mean %.1f ms", l.ServerMean)
		}
		fmt.Fprintln(w)
	}
	if p := r.Pacing; p != nil {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "frame pacing (%.0f s, 1 viewer): %.2f fps received (%.2f by timestamps); interval p50 %.1f ms, p99 %.1f ms;\n",
			p.Arrival.Seconds, p.Arrival.FPS, p.Timestamps.FPS, p.Arrival.IntervalP50, p.Arrival.IntervalP99)
		fmt.Fprintf(w, "  jitter |interval - 1/fps| p99 %.1f ms, max %.1f ms (timestamps: p99 %.1f ms);\n", p.Arrival.JitterP99, p.Arrival.JitterMax, p.Timestamps.JitterP99)
		fmt.Fprintf(w, "  marker: %d renders missing, %d repeated; server: %.0f sent, %.0f dropped, %.0f renders, %.0f encodes\n",
			p.Marker.Missing, p.Marker.Repeats, p.ServerFramesSent, p.ServerFramesDropped, p.ServerRenders, p.ServerEncodes)
		fmt.Fprintf(w, "  streamer: render %.1f ms, encode %.1f ms (means); %.2f cores, %.0f%% of it in llvmpipe threads; harness %.2f cores\n",
			p.RenderMeanMS, p.EncodeMeanMS, p.CPUCores, 100*p.LLVMpipeShare, p.HarnessCores)
	}
	for _, d := range r.Density {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "density %s, cameras %s (each viewer its own camera and encoder; pass = every viewer >= %d fps delivered%s):\n", d.Size, d.motion(), minViewerFPS, d.renderedRule())
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "viewers\tmin fps\tmin render fps\tmean fps\tdropped\tstreamer cores\tllvmpipe\trender ms\tencode ms\tRSS MiB\tharness cores\t\t")
		steps := append([]DensityStep(nil), d.Steps...)
		sort.Slice(steps, func(i, j int) bool { return steps[i].Viewers < steps[j].Viewers })
		for _, s := range steps {
			fmt.Fprintf(tw, "%d\t%.1f\t%.1f\t%.1f\t%.0f\t%.2f\t%.0f%%\t%.1f\t%.1f\t%.0f\t%.2f\t%s\t\n", s.Viewers, s.MinFPS, s.MinRenderFPS, s.MeanFPS, s.Dropped, s.CPUCores, 100*s.LLVMpipeShare, s.RenderMeanMS, s.EncodeMeanMS, s.RSSMiB, s.HarnessCores, passWord(s.Pass))
		}
		tw.Flush()
		fmt.Fprintf(w, "  most viewers >= %d fps: %d (tried up to %d); at that count %.1f%% of a core and %.1f MiB RSS per viewer (RSS with no viewer %.0f MiB)\n",
			minViewerFPS, d.MaxViewers, d.Limit, d.CPUPerViewerPct, d.RSSPerViewerMiB, d.BaselineRSSMiB)
	}
	if i := r.Idle; i != nil {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "idle connections: %d of %d connected in %.1f s (%d failed), server counts %.0f; RSS %.0f -> %.0f MiB = %.1f KiB per connection\n",
			i.Connected, i.Target, i.ConnectSeconds, i.Failed, i.ServerConnections, i.BaselineRSSMiB, i.RSSMiB, i.PerConnKiB)
		fmt.Fprintf(w, "  Go heap in use %.1f KiB, stacks %.1f KiB, %.1f goroutines per connection; a new player was served: %v\n",
			i.HeapPerConnKiB, i.StackPerConnKiB, i.GoroutinesPerConn, i.Alive)
	}
	if n := r.Nginx; n != nil {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "nginx-rtmp + ffmpeg vs Rendercast: time to first frame p50 x%.1f; change-to-frame vs call-to-frame p50 x%.2f, p95 x%.2f\n",
			n.TTFFRatio, n.LatencyRatioP50, n.LatencyRatioP95)
		fmt.Fprintf(w, "  (%d colour mismatches, %d frames without a readable counter; source frames written p99 %.1f ms late; keyframes every %.0f ms)\n", n.ColourMismatches, n.UnreadFrames, n.SourceLate, n.KeyframeInterval)
		fmt.Fprintf(w, "  publisher: %s\n", n.Publisher)
	}
	if s := r.Spectators; s != nil {
		writeSpectatorsTable(w, s)
	}
	if len(r.Targets) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "target\tgoal\tmeasured\t")
		for _, t := range r.Targets {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Target, t.Measured, metWord(t.Met))
		}
		tw.Flush()
	}
	if len(r.Errors) > 0 {
		fmt.Fprintln(w)
		keys := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "ERROR %s: %s\n", k, r.Errors[k])
		}
	}
}

// writeMarkdown writes the figures as Markdown (for docs/PERFORMANCE.md); plots are file
// names beside the report.
func writeMarkdown(w io.Writer, r *Results, plots []string) {
	m := r.Machine
	fmt.Fprintf(w, "Run of %s, %.0f s. Machine: %s, %d CPUs, %.1f GiB RAM, Linux %s; %s; %s.\n",
		r.Started.Format("2006-01-02 15:04 MST"), r.Seconds, m.CPU, m.CPUs, m.MemoryGB, m.Kernel, m.FFmpeg, m.Nginx)
	fmt.Fprintf(w, "Load average (1, 5, 15 min): %s at the start, %s at the end.\n\n", m.LoadAvg, r.LoadAtEnd)
	fmt.Fprintf(w, "Command: `%s`", r.Command)
	if r.Streamer != "" {
		fmt.Fprintf(w, "; streamer: `%s`", r.Streamer)
	}
	fmt.Fprint(w, "\n\n")
	if len(r.Targets) > 0 {
		fmt.Fprintln(w, "| target | goal | measured | |\n| --- | --- | --- | --- |")
		for _, t := range r.Targets {
			fmt.Fprintf(w, "| %s | %s | %s | %s |\n", t.Name, t.Target, t.Measured, metWord(t.Met))
		}
		fmt.Fprintln(w)
	}
	if r.hasTimings() {
		fmt.Fprintln(w, "| ms | n | min | p50 | p95 | p99 | max |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
	}
	row := func(name string, s Summary) {
		fmt.Fprintf(w, "| %s | %d | %.1f | %.1f | %.1f | %.1f | %.1f |\n", name, s.N, s.Min, s.P50, s.P95, s.P99, s.Max)
	}
	if t := r.TTFF; t != nil {
		row("Rendercast: time to first frame", t.Total)
		row("  connect (TCP, handshake, connect)", t.Connect)
		row("  createStream + play", t.Play)
		row("  first coded frame arrives", t.FirstVideo)
	}
	if l := r.Latency; l != nil {
		row("Rendercast: call-to-frame (decoded)", l.CallToFrame)
		row("  call to frame arrival", l.CallToArrival)
		row("  call round trip", l.CallRTT)
	}
	if l := r.LatencyRest; l != nil {
		row("Rendercast without the marker: call-to-frame, calls 20-80 ms apart", l.Moving.CallToFrame)
		row(fmt.Sprintf("  each call after %.0f ms still", l.Rest), l.Still.CallToFrame)
	}
	if n := r.Nginx; n != nil {
		row("nginx-rtmp + ffmpeg: time to first frame", n.TTFF)
		row("  first coded frame arrives", n.TTFFFirstVideo)
		row("nginx-rtmp + ffmpeg: colour change event to decoded frame", n.ChangeLatency)
		row("  from the first source frame with the new colour", n.ChangeFromFrame)
		row("  every frame, source to decoded", n.FrameDelay)
	}
	fmt.Fprintln(w)
	if l := r.Latency; l != nil {
		fmt.Fprintf(w, "Call-to-frame by %s: %d timeouts, %d colour mismatches; the streamer's own call-to-encoded-frame mean %.1f ms (`rendercast_call_to_frame_seconds`); the harness used %.2f cores meanwhile.\n\n",
			l.Method, l.Timeouts, l.ColourMismatches, l.ServerMean, l.HarnessCores)
	}
	if n := r.Nginx; n != nil {
		fmt.Fprintf(w, "nginx-rtmp + ffmpeg relative to Rendercast: time to first frame p50 **x%.1f**; colour change event to frame against call-to-frame p50 **x%.2f**, p95 **x%.2f**.\n\n",
			n.TTFFRatio, n.LatencyRatioP50, n.LatencyRatioP95)
	}
	if p := r.Pacing; p != nil {
		fmt.Fprintf(w, "Frame pacing (one viewer, %.0f s): %.2f fps received (%.2f by RTMP timestamps); frame interval p50 %.1f ms, p99 %.1f ms; jitter |interval - 1/fps| p99 %.1f ms, max %.1f ms (by timestamps p99 %.1f ms); marker frame counter: %d renders missing, %d repeated; server: %.0f frames sent, %.0f dropped, %.0f renders, %.0f encodes.\n\n",
			p.Arrival.Seconds, p.Arrival.FPS, p.Timestamps.FPS, p.Arrival.IntervalP50, p.Arrival.IntervalP99, p.Arrival.JitterP99, p.Arrival.JitterMax, p.Timestamps.JitterP99,
			p.Marker.Missing, p.Marker.Repeats, p.ServerFramesSent, p.ServerFramesDropped, p.ServerRenders, p.ServerEncodes)
		fmt.Fprintf(w, "The streamer meanwhile: render %.1f ms and encode %.1f ms per frame (means, wall time), %.2f cores of CPU, %.0f%% of it in llvmpipe's rasteriser threads; the harness (decoding) %.2f cores.\n\n",
			p.RenderMeanMS, p.EncodeMeanMS, p.CPUCores, 100*p.LLVMpipeShare, p.HarnessCores)
	}
	for _, d := range r.Density {
		fmt.Fprintf(w, "Density at %s, cameras %s: **%s** >= %d fps (tried up to %d); %.1f%% of a core and %.1f MiB RSS per viewer at that count.\n\n",
			d.Size, d.motion(), plural(d.MaxViewers, "viewer keeps", "viewers keep"), minViewerFPS, d.Limit, d.CPUPerViewerPct, d.RSSPerViewerMiB)
		fmt.Fprintln(w, "| viewers | min fps | min render fps | mean fps | dropped | streamer cores | in llvmpipe | render ms | encode ms | RSS MiB | harness cores | |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
		steps := append([]DensityStep(nil), d.Steps...)
		sort.Slice(steps, func(i, j int) bool { return steps[i].Viewers < steps[j].Viewers })
		for _, s := range steps {
			fmt.Fprintf(w, "| %d | %.1f | %.1f | %.1f | %.0f | %.2f | %.0f%% | %.1f | %.1f | %.0f | %.2f | %s |\n", s.Viewers, s.MinFPS, s.MinRenderFPS, s.MeanFPS, s.Dropped, s.CPUCores, 100*s.LLVMpipeShare, s.RenderMeanMS, s.EncodeMeanMS, s.RSSMiB, s.HarnessCores, passWord(s.Pass))
		}
		fmt.Fprintln(w)
	}
	if i := r.Idle; i != nil {
		fmt.Fprintf(w, "Idle connections: %d of %d connected in %.1f s; the streamer counts %.0f; RSS %.0f -> %.0f MiB: **%.1f KiB per connection** (Go heap in use %.1f KiB, goroutine stacks %.1f KiB, %.1f goroutines per connection); a new player was served with them open: %v.\n\n",
			i.Connected, i.Target, i.ConnectSeconds, i.ServerConnections, i.BaselineRSSMiB, i.RSSMiB, i.PerConnKiB, i.HeapPerConnKiB, i.StackPerConnKiB, i.GoroutinesPerConn, i.Alive)
	}
	if n := r.Nginx; n != nil {
		fmt.Fprintf(w, "Publisher: `%s`\n\n", n.Publisher)
	}
	if s := r.Spectators; s != nil {
		writeSpectatorsMarkdown(w, s)
	}
	for _, p := range plots {
		fmt.Fprintf(w, "![%s](%s)\n\n", strings.TrimSuffix(p, ".png"), p)
	}
	if len(r.Errors) > 0 {
		for k, v := range r.Errors {
			fmt.Fprintf(w, "Error in %s: %s\n\n", k, v)
		}
	}
}

// hasTimings reports whether the run measured any of the millisecond figures of the first
// table (time to first frame, latency, the nginx comparison).
func (r *Results) hasTimings() bool {
	return r.TTFF != nil || r.Latency != nil || r.LatencyRest != nil || r.Nginx != nil
}

// plural returns "n one" or "n many".
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// motion is the density run's camera motion (moving for results that predate the field).
func (d DensityResult) motion() string {
	if d.Motion == "" {
		return motionMoving
	}
	return d.Motion
}

// renderedRule says what else a step needs to pass beyond delivered frames.
func (d DensityResult) renderedRule() string {
	if d.motion() == motionMoving {
		return " and rendered"
	}
	return ""
}
