// Command rtmpbench measures Rendercast as its users feel it, and the usual alternative in
// the same run:
//
//   - time to first frame: connect, play, first decoded picture (p50/p95 over -ttff-runs);
//   - call-to-frame latency: scene.setBackground calls, each timed to the first decoded
//     frame that shows it (the frame marker's scene version; p50/p95/p99 over -calls);
//   - frame pacing: sustained fps, frame-interval jitter, dropped frames (marker frame
//     counter gaps and the server's stream.stats);
//   - density: concurrent viewers, each with its own camera and encoder, at each
//     -density-sizes, cameras orbiting all the time or set once (-density-motion); the most
//     that all keep >= 29 fps, with the streamer's CPU and RSS;
//   - idle connections: -idle connected-not-playing clients, RSS per connection;
//   - the alternative: ffmpeg (libx264 ultrafast zerolatency, same size, rate and bitrate,
//     lavfi source) publishing to nginx-rtmp, played by the same Go player: time to first
//     frame and colour-change latency, as ratios to Rendercast's;
//   - spectators (not in the default suites: a few minutes): many lightweight players of one
//     shared session (frames counted, not decoded), against nginx-rtmp serving the same
//     stream (relayed by ffmpeg -c copy) to the same players: the most that all keep
//     >= 29 fps, and CPU per spectator of each server and of the harness.
//
// It starts the streamer itself (-streamer, default bin/streamer; and nginx + ffmpeg on
// loopback, stopped after) or measures a running one (-url). A table goes to stdout (JSON
// with -json); -out DIR also writes results.json, report.md and PNG plots.
//
//	rtmpbench                          # the default suite (make bench)
//	rtmpbench -suites latency,ttff -calls 500
//	rtmpbench -suites spectators -out out/spectators   # make bench-spectators
//	rtmpbench -url rtmp://127.0.0.1:1935/live/demo -suites ttff,latency,pacing
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var selfPID = os.Getpid()

// Results is everything one run measured.
type Results struct {
	Started    time.Time         `json:"started"`
	Seconds    float64           `json:"seconds"`
	Machine    Machine           `json:"machine"`
	LoadAtEnd  string            `json:"loadavg_at_end"`
	Command    string            `json:"command"`
	Streamer   string            `json:"streamer"`
	Size       string            `json:"size"`
	FPS        float64           `json:"fps"`
	Bitrate    int               `json:"bitrate_kbps"`
	Scene      string            `json:"scene"`
	FileLimit  uint64            `json:"rlimit_nofile,omitempty"`
	TTFF       *TTFFResult       `json:"ttff,omitempty"`
	Latency    *LatencyResult    `json:"latency,omitempty"`
	Pacing     *PacingResult     `json:"pacing,omitempty"`
	Density    []DensityResult   `json:"density,omitempty"`
	Idle       *IdleResult       `json:"idle,omitempty"`
	Nginx      *NginxResult      `json:"nginx,omitempty"`
	Spectators *SpectatorsResult `json:"spectators,omitempty"`
	Targets    []TargetCheck     `json:"targets"`
	Errors     map[string]string `json:"errors,omitempty"`
	// LatencyRest is call-to-frame on a streamer without the marker (so its pictures go
	// still), calls following each other closely (moving) or after a rest (still).
	LatencyRest *LatencyRestResult `json:"latency_rest,omitempty"`
}

// options are the command-line settings.
type options struct {
	streamer, url, httpAddr string
	streamerExtra           []string // -streamer-args
	pid                     int
	size                    string
	width, height           int
	fps                     float64
	bitrate                 int
	scene, encoder          string
	suites                  map[string]bool
	ttffRuns, calls         int
	pacing                  time.Duration
	densitySizes            []string
	densityMax              int
	densityWarmup           time.Duration
	densityWindow           time.Duration
	densityDecode           bool
	densityMotions          []string
	idle                    int
	nginxTTFFRuns           int
	nginxChanges            int
	spectatorsStart         int
	spectatorsMax           int
	spectatorsPrecision     float64
	spectatorsWarmup        time.Duration
	spectatorsWindow        time.Duration
	spectatorsBitrate       int
	spectatorsSession       string
	json                    bool
	out                     string
	replot                  string
	quiet                   bool
}

// defaultSuites run without -suites; optionalSuites only when named (or with "all").
var (
	defaultSuites  = []string{"ttff", "latency", "pacing", "density", "idle", "nginx"}
	optionalSuites = []string{"spectators"}
	allSuites      = append(slices.Clone(defaultSuites), optionalSuites...)
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "rtmpbench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var log *progress
	if !o.quiet {
		log = newProgress(stderr)
	}
	var res *Results
	if o.replot != "" {
		b, err := os.ReadFile(o.replot)
		if err == nil {
			err = json.Unmarshal(b, &res)
		}
		if err != nil {
			fmt.Fprintln(stderr, "rtmpbench: -replot:", err)
			return 1
		}
	} else {
		res = runSuites(ctx, o, log)
		res.Command = "rtmpbench " + strings.Join(args, " ")
	}
	if o.out != "" {
		if err := writeOutputs(o.out, res); err != nil {
			fmt.Fprintln(stderr, "rtmpbench:", err)
			return 1
		}
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(res)
	} else {
		writeTable(stdout, res)
	}
	if len(res.Errors) > 0 {
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("rtmpbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	fs.StringVar(&o.streamer, "streamer", "bin/streamer", "streamer binary to start (make build makes bin/streamer)")
	extra := fs.String("streamer-args", "", "more flags for every streamer the harness starts, space-separated, e.g. \"-readback pbo -convert gpu -gl-contexts 2\"")
	fs.StringVar(&o.url, "url", "", "measure a running streamer at this rtmp://HOST:PORT/APP/SCENE instead of starting one (runs ttff, latency, pacing and, with -pid, density)")
	fs.IntVar(&o.pid, "pid", 0, "with -url: the streamer's process id, for CPU and memory")
	fs.StringVar(&o.httpAddr, "http", "", "with -url: the streamer's HTTP address (host:port), for its metrics")
	fs.StringVar(&o.size, "size", "1280x720", "video size for time to first frame, latency, pacing and the nginx comparison")
	fs.Float64Var(&o.fps, "fps", 30, "frame rate")
	fs.IntVar(&o.bitrate, "bitrate", 4000, "bitrate in kbit/s")
	fs.StringVar(&o.scene, "scene", "demo", "scene to play")
	fs.StringVar(&o.encoder, "encoder", "libx264", "the streamer's -encoder")
	suites := fs.String("suites", strings.Join(defaultSuites, ","), "measurements to run: "+strings.Join(allSuites, ", ")+" (spectators takes minutes and runs only when named; all: every one)")
	fs.IntVar(&o.ttffRuns, "ttff-runs", 20, "time-to-first-frame runs")
	fs.IntVar(&o.calls, "calls", 200, "calls for call-to-frame latency")
	fs.DurationVar(&o.pacing, "pacing", 10*time.Second, "frame pacing measurement time")
	densitySizes := fs.String("density-sizes", "640x360,1280x720", "sizes for the density test")
	fs.IntVar(&o.densityMax, "density-max", 24, "most viewers the density test tries")
	fs.DurationVar(&o.densityWarmup, "density-warmup", 2*time.Second, "time viewers run before each density measurement (still cameras: half, at least 1s)")
	fs.DurationVar(&o.densityWindow, "density-window", 4*time.Second, "density measurement window (still cameras: three quarters, at least 1s)")
	densityMotion := fs.String("density-motion", strings.Join(densityMotions, ","), "density runs: moving (every viewer orbits its camera; a new picture every frame), still (every viewer sets its camera once), or both")
	fs.BoolVar(&o.densityDecode, "density-decode", false, "decode every density viewer's video (costs the harness CPU on the same machine)")
	fs.IntVar(&o.idle, "idle", 5000, "idle (connected, not playing) connections")
	fs.IntVar(&o.nginxTTFFRuns, "nginx-ttff-runs", 20, "time-to-first-frame runs against nginx")
	fs.IntVar(&o.nginxChanges, "nginx-changes", 24, "colour changes watched through nginx (one every half second)")
	fs.IntVar(&o.spectatorsStart, "spectators-start", 10, "spectators: players of the first step (counts double from it until a step fails, then the gap is bisected)")
	fs.IntVar(&o.spectatorsMax, "spectators-max", 2560, "spectators: most players tried per server (on 2 cores the harness cannot dial many more)")
	fs.Float64Var(&o.spectatorsPrecision, "spectators-precision", 0.1, "spectators: bisect until the first failing count is within this fraction of the last passing one (0: to 1 player)")
	fs.DurationVar(&o.spectatorsWarmup, "spectators-warmup", 3*time.Second, "spectators: time the players run before each step's window")
	fs.DurationVar(&o.spectatorsWindow, "spectators-window", 10*time.Second, "spectators: measuring window of each step")
	fs.IntVar(&o.spectatorsBitrate, "spectators-bitrate", 2000, "spectators: the shared session's bitrate in kbit/s (at -size and -fps)")
	fs.StringVar(&o.spectatorsSession, "spectators-session", "bench", "spectators: the shared session's name (the streamer gets -session NAME=SCENE)")
	fs.BoolVar(&o.json, "json", false, "print JSON instead of a table")
	fs.StringVar(&o.out, "out", "", "directory for results.json, report.md and the PNG plots")
	fs.BoolVar(&o.quiet, "q", false, "no progress on stderr")
	fs.StringVar(&o.replot, "replot", "", "measure nothing: read a results.json and write the table, report and plots (-out) again")
	quick := fs.Bool("quick", false, "a short smoke run (few runs, calls and viewers)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: rtmpbench [flags]\n\nMeasures Rendercast (time to first frame, call-to-frame latency, pacing, density, idle connections) and nginx-rtmp + ffmpeg in the same run.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.streamerExtra = strings.Fields(*extra)
	if *quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		def := func(name string, apply func()) {
			if !set[name] {
				apply()
			}
		}
		def("ttff-runs", func() { o.ttffRuns = 5 })
		def("calls", func() { o.calls = 30 })
		def("pacing", func() { o.pacing = 3 * time.Second })
		def("density-max", func() { o.densityMax = 4 })
		def("density-warmup", func() { o.densityWarmup = time.Second })
		def("density-window", func() { o.densityWindow = 2 * time.Second })
		def("idle", func() { o.idle = 500 })
		def("nginx-ttff-runs", func() { o.nginxTTFFRuns = 3 })
		def("nginx-changes", func() { o.nginxChanges = 6 })
		def("spectators-start", func() { o.spectatorsStart = 2 })
		def("spectators-max", func() { o.spectatorsMax = 8 })
		def("spectators-precision", func() { o.spectatorsPrecision = 0.5 })
		def("spectators-warmup", func() { o.spectatorsWarmup = time.Second })
		def("spectators-window", func() { o.spectatorsWindow = 2 * time.Second })
	}
	var err error
	if o.width, o.height, err = parseSize(o.size); err != nil {
		return nil, fmt.Errorf("-size: %w", err)
	}
	for _, s := range strings.Split(*densitySizes, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if _, _, err := parseSize(s); err != nil {
			return nil, fmt.Errorf("-density-sizes: %w", err)
		}
		o.densitySizes = append(o.densitySizes, s)
	}
	for _, m := range strings.Split(*densityMotion, ",") {
		if m = strings.TrimSpace(m); m == "" {
			continue
		}
		if !slices.Contains(densityMotions, m) {
			return nil, fmt.Errorf("-density-motion: %q is not one of %s", m, strings.Join(densityMotions, ", "))
		}
		o.densityMotions = append(o.densityMotions, m)
	}
	o.suites = map[string]bool{}
	for _, s := range strings.Split(*suites, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if s == "all" {
			for _, a := range allSuites {
				o.suites[a] = true
			}
			continue
		}
		if !slices.Contains(allSuites, s) {
			return nil, fmt.Errorf("-suites: unknown %q (want %s)", s, strings.Join(allSuites, ", "))
		}
		o.suites[s] = true
	}
	switch {
	case o.fps <= 0 || o.fps > 120:
		return nil, fmt.Errorf("-fps %g: want 1..120", o.fps)
	case o.ttffRuns < 1 || o.calls < 1 || o.idle < 1 || o.densityMax < 1 || o.nginxTTFFRuns < 1 || o.nginxChanges < 1:
		return nil, errors.New("counts (-ttff-runs, -calls, -idle, -density-max, -nginx-*) must be >= 1")
	case o.pacing < time.Second || o.densityWindow < time.Second || o.spectatorsWindow < time.Second:
		return nil, errors.New("-pacing, -density-window and -spectators-window must be >= 1s")
	case o.spectatorsStart < 1 || o.spectatorsMax < o.spectatorsStart:
		return nil, errors.New("-spectators-start must be >= 1, -spectators-max >= -spectators-start")
	case !(o.spectatorsPrecision >= 0 && o.spectatorsPrecision < 1):
		return nil, fmt.Errorf("-spectators-precision %g: want 0 <= p < 1", o.spectatorsPrecision)
	case o.spectatorsBitrate < 100:
		return nil, fmt.Errorf("-spectators-bitrate %d: want >= 100 kbit/s", o.spectatorsBitrate)
	case !validSessionName(o.spectatorsSession):
		return nil, fmt.Errorf("-spectators-session %q: want 1-64 characters of A-Z a-z 0-9 _ -", o.spectatorsSession)
	}
	return o, nil
}

func parseSize(s string) (int, int, error) {
	w, h, ok := strings.Cut(strings.ToLower(s), "x")
	wi, err1 := strconv.Atoi(w)
	hi, err2 := strconv.Atoi(h)
	if !ok || err1 != nil || err2 != nil || wi < 64 || hi < 64 || wi%2 != 0 || hi%2 != 0 {
		return 0, 0, fmt.Errorf("%q is not WIDTHxHEIGHT (even, >= 64)", s)
	}
	return wi, hi, nil
}

// benchTrusted exempts the harness's loopback clients from the per-address budgets meant for
// strangers: it opens thousands of connections from one address on purpose.
const benchTrusted = "127.0.0.0/8"

// streamerArgs are the flags of every streamer the harness starts, at a size; marker adds
// the frame marker, which also makes every session render a new picture for every frame.
func (o *options) streamerArgs(size string, maxConns int, marker bool) []string {
	args := []string{"-size", size, "-fps", fmt.Sprint(o.fps), "-bitrate", fmt.Sprint(o.bitrate),
		"-encoder", o.encoder, "-gop", "2s", fmt.Sprintf("-marker=%v", marker), "-max-conns", fmt.Sprint(maxConns),
		"-trusted-nets", benchTrusted}
	return append(args, o.streamerExtra...)
}

// runSuites runs the selected measurements; a failing one is reported in Errors and the
// others still run.
func runSuites(ctx context.Context, o *options, log *progress) *Results {
	res := &Results{Started: time.Now(), Machine: describeMachine(), Size: o.size, FPS: o.fps, Bitrate: o.bitrate,
		Scene: o.scene, Errors: map[string]string{}}
	if lim, err := raiseFileLimit(); err == nil {
		res.FileLimit = lim
	}
	fail := func(suite string, err error) {
		res.Errors[suite] = err.Error()
		log.printf("%s: %v", suite, err)
	}
	log.printf("machine: %s, %d CPUs, %.1f GiB; load %s", res.Machine.CPU, res.Machine.CPUs, res.Machine.MemoryGB, res.Machine.LoadAvg)

	// Time to first frame, latency, pacing: one streamer at -size.
	if o.suites["ttff"] || o.suites["latency"] || o.suites["pacing"] {
		url, httpAddr, pid := o.url, o.httpAddr, o.pid
		var sp *streamerProc
		if url == "" {
			args := o.streamerArgs(o.size, 100, true)
			res.Streamer = o.streamer + " " + strings.Join(args, " ")
			var err error
			if sp, err = startStreamer(ctx, o.streamer, args); err != nil {
				fail("streamer", err)
			} else {
				url, httpAddr, pid = sp.url("live/"+o.scene), sp.httpAddr, sp.pid()
				log.printf("streamer listening on %s (http %s)", sp.rtmpAddr, sp.httpAddr)
			}
		} else {
			res.Streamer = o.url
		}
		if url != "" {
			if o.suites["ttff"] {
				log.printf("time to first frame: %d runs", o.ttffRuns)
				if r, err := measureTTFF(ctx, url, o.ttffRuns, 150*time.Millisecond, markerScene, log); err != nil {
					fail("ttff", err)
				} else {
					res.TTFF = &r
				}
			}
			if o.suites["latency"] {
				log.printf("call-to-frame latency: %d calls", o.calls)
				if r, err := measureLatency(ctx, url, httpAddr, o.calls, 0, log); err != nil {
					fail("latency", err)
				} else {
					res.Latency = &r
				}
			}
			if o.suites["pacing"] {
				log.printf("frame pacing: %v", o.pacing)
				if r, err := measurePacing(ctx, url, httpAddr, pid, o.pacing, o.fps); err != nil {
					fail("pacing", err)
				} else {
					res.Pacing = &r
				}
			}
		}
		if sp != nil {
			sp.stop()
		}
	}

	if o.suites["latency"] && o.url == "" && ctx.Err() == nil {
		if r, err := measureLatencyRest(ctx, o, log); err != nil {
			fail("latency-rest", err)
		} else {
			res.LatencyRest = r
		}
	}

	if o.suites["density"] {
		sizes := o.densitySizes
		if o.url != "" {
			sizes = []string{"(running streamer)"}
		}
		for _, motion := range o.densityMotions {
			for _, size := range sizes {
				if ctx.Err() != nil {
					break
				}
				r, err := runDensity(ctx, o, size, motion, log)
				if err != nil {
					fail("density "+size+" "+motion, err)
				}
				if r != nil {
					res.Density = append(res.Density, *r)
				}
			}
		}
	}

	if o.suites["idle"] && ctx.Err() == nil {
		if o.url != "" {
			log.printf("idle: skipped with -url (it needs a streamer started with a high -max-conns)")
		} else if r, err := runIdle(ctx, o, log); err != nil {
			fail("idle", err)
		} else {
			res.Idle = r
		}
	}

	if o.suites["nginx"] && ctx.Err() == nil {
		cfg := altConfig{Width: o.width, Height: o.height, FPS: o.fps, BitrateKbps: o.bitrate, GOP: 2 * time.Second,
			Changes: o.nginxChanges, TTFFRuns: o.nginxTTFFRuns}
		log.printf("nginx-rtmp + ffmpeg: %s at %g fps, %d kbit/s", o.size, o.fps, o.bitrate)
		if r, err := measureNginx(ctx, cfg, log); err != nil {
			fail("nginx", err)
		} else {
			res.Nginx = &r
			res.Nginx.addRatios(res)
		}
	}
	if o.suites["spectators"] && ctx.Err() == nil {
		if o.url != "" {
			fail("spectators", errors.New("it starts its own streamer, nginx and relay: not with -url"))
		} else {
			r, err := runSpectators(ctx, o, log)
			if err != nil {
				fail("spectators", err)
			}
			res.Spectators = r
		}
	}
	if ctx.Err() != nil {
		res.Errors["run"] = "interrupted"
	}
	res.Targets = checkTargets(res)
	res.LoadAtEnd = loadAvg()
	res.Seconds = time.Since(res.Started).Seconds()
	if len(res.Errors) == 0 {
		res.Errors = nil
	}
	return res
}

func runDensity(ctx context.Context, o *options, size, motion string, log *progress) (*DensityResult, error) {
	cfg := densityConfig{Size: size, Motion: motion, Max: o.densityMax, Warmup: o.densityWarmup, Window: o.densityWindow, Decode: o.densityDecode}
	if motion == motionStill {
		// A still picture is steady at once and its frames come like clockwork: shorter
		// steps keep make bench within its 5 minutes.
		cfg.Warmup, cfg.Window = max(time.Second, cfg.Warmup/2), max(time.Second, cfg.Window*3/4)
	}
	if o.url != "" {
		cfg.URL, cfg.PID, cfg.HTTP = o.url, o.pid, o.httpAddr
	} else {
		sp, err := startStreamer(ctx, o.streamer, o.streamerArgs(size, o.densityMax+16, motion == motionMoving))
		if err != nil {
			return nil, err
		}
		defer sp.stop()
		cfg.URL, cfg.PID, cfg.HTTP = sp.url("live/"+o.scene), sp.pid(), sp.httpAddr
	}
	if cfg.PID != 0 {
		sleep(ctx, time.Second)
		b, err := sampleProc(cfg.PID)
		if err != nil {
			return nil, err
		}
		cfg.Baseline = b
	}
	log.printf("density %s, cameras %s: up to %d viewers", size, motion, cfg.Max)
	r, err := measureDensity(ctx, cfg, log)
	return &r, err
}

// spectatorsStreamerArgs are the flags of the spectators' streamer (without -session):
// -size and -fps at -spectators-bitrate, scene animations on so that every frame is a new
// picture, and room for the players.
func (o *options) spectatorsStreamerArgs() []string {
	args := []string{"-size", o.size, "-fps", fmt.Sprint(o.fps), "-bitrate", fmt.Sprint(o.spectatorsBitrate),
		"-encoder", o.encoder, "-gop", "2s", "-animate", "on", "-max-conns", fmt.Sprint(o.spectatorsMax + 32),
		"-trusted-nets", benchTrusted}
	return append(args, o.streamerExtra...)
}

func runSpectators(ctx context.Context, o *options, log *progress) (*SpectatorsResult, error) {
	cfg := spectatorsConfig{Streamer: o.streamer, StreamerArgs: o.spectatorsStreamerArgs(), Scene: o.scene, Session: o.spectatorsSession,
		Start: o.spectatorsStart, Limit: o.spectatorsMax, Precision: o.spectatorsPrecision, Warmup: o.spectatorsWarmup, Window: o.spectatorsWindow}
	log.printf("spectators: %s at %g fps, %d kbit/s, session %q; %d to %d players per server", o.size, o.fps, o.spectatorsBitrate, o.spectatorsSession, cfg.Start, cfg.Limit)
	r, err := measureSpectators(ctx, cfg, log)
	r.Size, r.FPS, r.BitrateKbps = o.size, o.fps, o.spectatorsBitrate
	return &r, err
}

func runIdle(ctx context.Context, o *options, log *progress) (*IdleResult, error) {
	// The picture size does not matter: nothing plays.
	sp, err := startStreamer(ctx, o.streamer, o.streamerArgs("320x180", o.idle+64, true))
	if err != nil {
		return nil, err
	}
	defer sp.stop()
	log.printf("idle: %d connections", o.idle)
	r, err := measureIdle(ctx, sp.url("live/"+o.scene), sp.httpAddr, sp.pid(), o.idle, log)
	if err != nil {
		return nil, err
	}
	if !sp.alive() {
		return &r, fmt.Errorf("the streamer exited during the idle test:\n%s", sp.logTail())
	}
	return &r, nil
}

// addRatios fills the nginx/Rendercast ratios.
func (n *NginxResult) addRatios(r *Results) {
	ratio := func(a, b float64) float64 {
		if a <= 0 || b <= 0 {
			return 0
		}
		return a / b
	}
	if r.TTFF != nil {
		n.TTFFRatio = ratio(n.TTFF.P50, r.TTFF.Total.P50)
	}
	if r.Latency != nil {
		n.LatencyRatioP50 = ratio(n.ChangeLatency.P50, r.Latency.CallToFrame.P50)
		n.LatencyRatioP95 = ratio(n.ChangeLatency.P95, r.Latency.CallToFrame.P95)
	}
}

// writeOutputs writes results.json, report.md and the plots into dir.
func writeOutputs(dir string, res *Results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), b, 0o644); err != nil {
		return err
	}
	plots, err := writePlots(dir, res)
	if err != nil {
		return err
	}
	var md strings.Builder
	writeMarkdown(&md, res, plots)
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(md.String()), 0o644)
}
