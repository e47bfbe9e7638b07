package main

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/rendercast/rendercast/internal/plot"
)

// Targets of the spectators suite.
const (
	// targetSpectatorPct is the most a spectator of a shared session may cost the streamer,
	// in % of one core.
	targetSpectatorPct = 2.0
)

// spectatorTargets returns the suite's targets: Rendercast holds at least as many
// spectators as nginx-rtmp, and a spectator costs under 2% of a core. Neither is met when
// the players did not share one session.
func spectatorTargets(s *SpectatorsResult) []TargetCheck {
	rc, ng := s.server(serverRendercast), s.server(serverNginx)
	if rc == nil || ng == nil {
		return nil
	}
	note := ""
	if !s.Shared {
		note = " (NOT one shared session: " + s.sharedNote() + ")"
	}
	return []TargetCheck{
		{"spectators of one shared session >= 29 fps", "as many as nginx-rtmp (same players, same machine)",
			fmt.Sprintf("%s, nginx-rtmp %s%s", rc.maxWords(), ng.maxWords(), note),
			s.Shared && rc.MaxSpectators >= ng.MaxSpectators && rc.MaxSpectators > 0},
		{"streamer CPU per spectator", fmt.Sprintf("< %.0f%% of a core", targetSpectatorPct),
			fmt.Sprintf("%.2f%% (nginx-rtmp %.2f%%, harness %.2f%%)%s", rc.CPUPerSpectatorPct, ng.CPUPerSpectatorPct, rc.HarnessPerSpectatorPct, note),
			s.Shared && rc.MaxSpectators > 0 && rc.CPUPerSpectatorPct < targetSpectatorPct},
	}
}

// server returns the search of the server called name, or nil.
func (s *SpectatorsResult) server(name string) *SpectatorServer {
	for i := range s.Servers {
		if s.Servers[i].Name == name {
			return &s.Servers[i]
		}
	}
	return nil
}

func (s *SpectatorsResult) sharedNote() string {
	if s.SharedNote != "" {
		return s.SharedNote
	}
	return "status.json showed no shared session"
}

// maxWords says the result of a search: "80" or "640 (every count tried)".
func (srv *SpectatorServer) maxWords() string {
	if srv.FirstFail == 0 && srv.MaxSpectators >= srv.Limit {
		return fmt.Sprintf("%d (every count tried)", srv.MaxSpectators)
	}
	return fmt.Sprint(srv.MaxSpectators)
}

// sortedSteps returns the steps by player count.
func (srv *SpectatorServer) sortedSteps() []SpectatorStep {
	steps := slices.Clone(srv.Steps)
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].Spectators < steps[j].Spectators })
	return steps
}

// spectatorColumns are the per-step columns of the text and Markdown tables.
const spectatorColumns = "spectators\tpassing\tmin fps\tmedian fps\tserver cores\tserver RSS MiB\tstreamer cores\tnginx cores\trelay cores\tharness cores\tmachine cores\tsession viewers\tsource fps\tencode ms\tdropped\t"

func spectatorRow(st SpectatorStep, sep string) string {
	viewers, source, encode := "-", "-", "-"
	if st.SessionViewers >= 0 {
		viewers = fmt.Sprint(st.SessionViewers)
	}
	if st.SourceFPS > 0 {
		source = fmt.Sprintf("%.1f", st.SourceFPS)
	}
	if st.EncodeMeanMS > 0 {
		encode = fmt.Sprintf("%.1f", st.EncodeMeanMS)
	}
	count := fmt.Sprint(st.Spectators)
	if st.Retry {
		count += " (again)"
	}
	cells := []string{count, fmt.Sprint(st.Passing), fmt.Sprintf("%.1f", st.MinFPS), fmt.Sprintf("%.1f", st.MedianFPS),
		fmt.Sprintf("%.3f", st.ServerCores), fmt.Sprintf("%.0f", st.ServerRSSMiB), fmt.Sprintf("%.2f", st.StreamerCores), fmt.Sprintf("%.3f", st.NginxCores),
		fmt.Sprintf("%.3f", st.RelayCores), fmt.Sprintf("%.2f", st.HarnessCores), fmt.Sprintf("%.2f", st.MachineCores), viewers, source, encode, fmt.Sprintf("%.0f", st.Dropped), passWord(st.Pass)}
	return strings.Join(cells, sep)
}

// spectatorsIntro describes the run in one paragraph.
func spectatorsIntro(s *SpectatorsResult) string {
	shared := fmt.Sprintf("every Rendercast player in one shared session (%s)", s.URL)
	if !s.Shared {
		shared = "NOT one shared session: " + s.sharedNote() + "; these Rendercast figures are not the fan-out of one session"
	}
	return fmt.Sprintf("spectators: %s at %g fps, %d kbit/s; %s; nginx-rtmp fed by an ffmpeg relay (-c copy) and played at %s; pass = every player >= %d fps over %.0f s (after %.0f s of warm-up), frames counted, not decoded; the two searches interleaved",
		s.Size, s.FPS, s.BitrateKbps, shared, s.NginxURL, minViewerFPS, s.WindowSeconds, s.WarmupSeconds)
}

// writeSpectatorsTable prints the suite's results for a terminal.
func writeSpectatorsTable(w io.Writer, s *SpectatorsResult) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, spectatorsIntro(s)+".")
	b := s.Baseline
	fmt.Fprintf(w, "  no player (relay only): streamer %.2f cores, nginx %.3f, relay %.3f, harness %.2f; the machine %.2f (with any other work on it)\n", b.StreamerCores, b.NginxCores, b.RelayCores, b.HarnessCores, b.MachineCores)
	for _, srv := range s.Servers {
		fmt.Fprintf(w, "%s:\n", srv.Name)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, spectatorColumns+"\t")
		for _, st := range srv.sortedSteps() {
			fmt.Fprintln(tw, spectatorRow(st, "\t")+"\t")
		}
		tw.Flush()
		fmt.Fprintf(w, "  most spectators >= %d fps: %d (tried up to %d); per spectator: server %.3f%% of a core, harness %.3f%% (slopes over the baseline and the passing steps; a failing count is tried again once)\n",
			minViewerFPS, srv.MaxSpectators, srv.Limit, srv.CPUPerSpectatorPct, srv.HarnessPerSpectatorPct)
	}
	fmt.Fprintf(w, "  streamer: %s\n  relay: %s\n", s.Streamer, s.Relay)
}

// writeSpectatorsMarkdown writes the suite's results as Markdown.
func writeSpectatorsMarkdown(w io.Writer, s *SpectatorsResult) {
	fmt.Fprintf(w, "Spectators: %s.\n\n", strings.TrimPrefix(spectatorsIntro(s), "spectators: "))
	fmt.Fprintln(w, "| server | most spectators >= 29 fps | server CPU per spectator | harness CPU per spectator |\n| --- | ---: | ---: | ---: |")
	for _, srv := range s.Servers {
		fmt.Fprintf(w, "| %s | %s | %.3f%% of a core | %.3f%% |\n", srv.Name, srv.maxWords(), srv.CPUPerSpectatorPct, srv.HarnessPerSpectatorPct)
	}
	b := s.Baseline
	fmt.Fprintf(w, "\nWith no player (the relay only): streamer %.2f cores, nginx %.3f, relay %.3f, harness %.2f; the whole machine %.2f (any other work on it included).\n\n", b.StreamerCores, b.NginxCores, b.RelayCores, b.HarnessCores, b.MachineCores)
	header := "| server | " + strings.ReplaceAll(strings.TrimSuffix(spectatorColumns, "\t"), "\t", " | ") + " | |"
	fmt.Fprintln(w, header)
	fmt.Fprintln(w, "| --- |"+strings.Repeat(" ---: |", strings.Count(spectatorColumns, "\t"))+" --- |")
	for _, srv := range s.Servers {
		for _, st := range srv.sortedSteps() {
			fmt.Fprintf(w, "| %s | %s |\n", srv.Name, spectatorRow(st, " | "))
		}
	}
	fmt.Fprintf(w, "\nStreamer: `%s`; relay: `%s`.\n\n", s.Streamer, s.Relay)
}

// spectatorsCharts returns the suite's plots: the serving process's and the harness's CPU
// against the number of players, and the slowest player's rate (of the deciding try where
// a count was tried twice).
func spectatorsCharts(s *SpectatorsResult) (cpu, fps *plot.Chart) {
	cpu = &plot.Chart{Title: fmt.Sprintf("Spectators of one %s %gfps stream: CPU against players", s.Size, s.FPS), XLabel: "players (frames counted, not decoded)", YLabel: "cores", YMin: 0}
	fps = &plot.Chart{Title: "Spectators: the slowest player's frame rate", XLabel: "players", YLabel: "min fps", YMin: 0, YMax: 36}
	colours := map[string][2]color.RGBA{serverRendercast: {plot.Blue, plot.Green}, serverNginx: {plot.Orange, plot.DarkGrey}}
	for _, srv := range s.Servers {
		c := colours[srv.Name]
		base := s.Baseline.StreamerCores
		if srv.Name == serverNginx {
			base = s.Baseline.NginxCores
		}
		xs, server, harness, mins := []float64{0}, []float64{base}, []float64{s.Baseline.HarnessCores}, []float64(nil)
		var fx []float64
		steps := srv.sortedSteps()
		for i, st := range steps {
			if i+1 < len(steps) && steps[i+1].Spectators == st.Spectators {
				continue // a count tried twice: the second try decided
			}
			xs = append(xs, float64(st.Spectators))
			server = append(server, st.ServerCores)
			harness = append(harness, st.HarnessCores)
			fx, mins = append(fx, float64(st.Spectators)), append(mins, st.MinFPS)
		}
		cpu.Series = append(cpu.Series,
			plot.Series{Name: srv.Name + " (the serving process)", Color: c[0], X: xs, Y: server, Points: true},
			plot.Series{Name: "harness, players of " + srv.Name, Color: c[1], X: xs, Y: harness, Thin: true})
		fps.Series = append(fps.Series, plot.Series{Name: srv.Name, Color: c[0], X: fx, Y: mins, Points: true})
	}
	fps.HLines = []plot.RefLine{{V: minViewerFPS, Label: fmt.Sprintf("%d fps", minViewerFPS), Color: plot.Red}}
	for _, c := range []*plot.Chart{cpu, fps} {
		c.MinXStep = 1
		c.Bounds()
		c.XMin, c.XMax = 0, math.Ceil(c.XMax*1.05)+1
	}
	return cpu, fps
}
