package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"
)

// minViewerFPS is the frame rate every viewer must keep for a density step to pass.
const minViewerFPS = 29

// Density motions: how the viewers use their cameras.
const (
	// motionMoving: every viewer orbits its camera all the time and the streamer runs with
	// -marker, so each session renders a new picture for every frame (the worst case).
	motionMoving = "moving"
	// motionStill: every viewer sets its own camera once and then watches; the streamer
	// runs with its defaults, so a session draws only when something changes (on software
	// renderers, where -animate auto is off) and keeps re-encoding its last picture.
	motionStill = "still"
)

var densityMotions = []string{motionMoving, motionStill}

// DensityStep is one measurement with N concurrent viewers.
type DensityStep struct {
	Viewers int `json:"viewers"`
	// MinFPS and MeanFPS are the delivered frame rates (frames received in the window / the
	// window), the minimum and mean over viewers; MinRenderFPS the lowest rate of new
	// pictures (the viewer's session renders, from stream.stats).
	MinFPS       float64   `json:"min_fps"`
	MeanFPS      float64   `json:"mean_fps"`
	MinRenderFPS float64   `json:"min_render_fps"`
	ViewerFPS    []float64 `json:"viewer_fps"`
	// Dropped is the frames the server dropped (full send queues) in the window, all viewers.
	Dropped float64 `json:"dropped"`
	// CPUCores is the streamer's CPU use in the window (1 = one core busy); RSSMiB its
	// resident memory at the end; HarnessCores this program's own CPU use.
	CPUCores     float64 `json:"cpu_cores"`
	RSSMiB       float64 `json:"rss_mib"`
	HarnessCores float64 `json:"harness_cores"`
	// RenderMeanMS and EncodeMeanMS are the streamer's mean render (wall time, waits
	// included) and encode times in the window; LLVMpipeShare the part of its CPU spent in
	// llvmpipe's rasteriser threads.
	RenderMeanMS  float64 `json:"render_mean_ms,omitempty"`
	EncodeMeanMS  float64 `json:"encode_mean_ms,omitempty"`
	LLVMpipeShare float64 `json:"llvmpipe_share,omitempty"`
	Pass          bool    `json:"pass"`
	Failures      int     `json:"failures,omitempty"` // viewers that could not play or ended
}

// DensityResult is the search for the most concurrent viewers at one size.
type DensityResult struct {
	Size string `json:"size"`
	// Motion is motionMoving or motionStill (empty in results of older runs: moving).
	Motion string        `json:"motion,omitempty"`
	Steps  []DensityStep `json:"steps"`
	// MaxViewers is the highest N that passed (every viewer >= 29 fps, delivered and
	// rendered); Limit is the largest N tried (the search stops at -density-max).
	MaxViewers int `json:"max_viewers"`
	Limit      int `json:"limit"`
	// At MaxViewers: streamer CPU per viewer (% of one core) and RSS per viewer (MiB, over
	// the streamer's RSS with no viewer).
	CPUPerViewerPct float64 `json:"cpu_per_viewer_pct"`
	RSSPerViewerMiB float64 `json:"rss_per_viewer_mib"`
	BaselineRSSMiB  float64 `json:"baseline_rss_mib"`
	// FPSOverTime has, for the MaxViewers step, each viewer's delivered rate in a trailing 1 s
	// window (for the plot).
	FPSOverTime [][][2]float64 `json:"fps_over_time,omitempty"`
}

// densityViewer is one viewer of the density test: a player with its own camera and, when
// the cameras move, a goroutine that keeps orbiting it at its own speed.
type densityViewer struct {
	p      *player
	cancel context.CancelFunc
	done   chan struct{}
}

func startDensityViewer(ctx context.Context, rawURL string, i int, decode, moving bool) (*densityViewer, error) {
	p, _, err := dialPlayer(ctx, rawURL, playerOptions{Decode: decode, Marker: markerScene, Keep: 1024})
	if err != nil {
		return nil, err
	}
	// Each viewer starts from its own angle and orbits at its own speed: its own camera.
	if _, err := p.call(ctx, "camera.orbit", amf0.Object{{Key: "dx", Value: float64(i*37%360) + 1}, {Key: "dy", Value: float64(i%5) * 3}}); err != nil {
		p.close()
		return nil, fmt.Errorf("camera.orbit: %w", err)
	}
	vctx, cancel := context.WithCancel(ctx)
	v := &densityViewer{p: p, cancel: cancel, done: make(chan struct{})}
	if !moving {
		close(v.done)
		return v, nil
	}
	speed := 0.5 + float64(i%7)*0.25 // degrees per call, 10 calls/s
	go func() {
		defer close(v.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-vctx.Done():
				return
			case <-t.C:
				cctx, c := context.WithTimeout(vctx, 2*time.Second)
				p.call(cctx, "camera.orbit", amf0.Object{{Key: "dx", Value: speed}, {Key: "dy", Value: 0.0}})
				c()
			}
		}
	}()
	return v, nil
}

func (v *densityViewer) close() {
	v.cancel()
	<-v.done
	v.p.close()
}

// densityConfig controls the search.
type densityConfig struct {
	URL      string
	PID      int    // the streamer's process, for CPU and RSS (0: not measured)
	HTTP     string // the streamer's HTTP address, for its metrics ("": none)
	Size     string
	Motion   string // motionMoving or motionStill
	Max      int
	Warmup   time.Duration
	Window   time.Duration
	Decode   bool
	Baseline procSample // the streamer with no viewer
}

// measureDensity finds the highest viewer count at which every viewer keeps >= 29 fps:
// viewer counts double from 1 until a step fails (or Max), then the gap between the last
// pass and the first failure is bisected. Viewers are added and removed between steps.
func measureDensity(ctx context.Context, cfg densityConfig, log *progress) (DensityResult, error) {
	res := DensityResult{Size: cfg.Size, Motion: cfg.Motion, Limit: cfg.Max}
	if cfg.PID != 0 {
		res.BaselineRSSMiB = mib(cfg.Baseline.RSS)
	}
	var viewers []*densityViewer
	defer func() {
		var wg sync.WaitGroup
		for _, v := range viewers {
			wg.Add(1)
			go func() { defer wg.Done(); v.close() }()
		}
		wg.Wait()
	}()
	setViewers := func(n int) (failures int, err error) {
		for len(viewers) > n {
			v := viewers[len(viewers)-1]
			viewers = viewers[:len(viewers)-1]
			v.close()
		}
		for len(viewers) < n {
			v, err := startDensityViewer(ctx, cfg.URL, len(viewers), cfg.Decode, cfg.Motion != motionStill)
			if err != nil {
				return failures, fmt.Errorf("viewer %d: %w", len(viewers)+1, err)
			}
			viewers = append(viewers, v)
		}
		return 0, nil
	}
	tested := map[int]DensityStep{}
	var fpsAt map[int][][][2]float64 = map[int][][][2]float64{}
	try := func(n int) (DensityStep, error) {
		if st, ok := tested[n]; ok {
			return st, nil
		}
		if _, err := setViewers(n); err != nil {
			st := DensityStep{Viewers: n, Failures: 1}
			tested[n] = st
			res.Steps = append(res.Steps, st)
			log.printf("density %s %s: %d viewers: %v", cfg.Size, cfg.Motion, n, err)
			return st, nil
		}
		st, series, err := densityStep(ctx, cfg, viewers)
		if err != nil {
			return st, err
		}
		tested[n] = st
		fpsAt[n] = series
		res.Steps = append(res.Steps, st)
		log.printf("density %s %s: %2d viewers: min %.1f fps (render %.1f), mean %.1f, dropped %.0f, streamer %.2f cores (%.0f%% llvmpipe), render %.1f ms, encode %.1f ms, RSS %.0f MiB: %s",
			cfg.Size, cfg.Motion, n, st.MinFPS, st.MinRenderFPS, st.MeanFPS, st.Dropped, st.CPUCores, 100*st.LLVMpipeShare, st.RenderMeanMS, st.EncodeMeanMS, st.RSSMiB, passWord(st.Pass))
		return st, nil
	}
	lastPass, err := searchDensity(cfg.Max, func(n int) (bool, error) {
		st, err := try(n)
		return st.Pass, err
	})
	if err != nil {
		return res, err
	}
	res.MaxViewers = lastPass
	if st, ok := tested[lastPass]; ok && lastPass > 0 {
		res.CPUPerViewerPct = 100 * st.CPUCores / float64(lastPass)
		if cfg.PID != 0 {
			res.RSSPerViewerMiB = (st.RSSMiB - res.BaselineRSSMiB) / float64(lastPass)
		}
		res.FPSOverTime = fpsAt[lastPass]
	}
	return res, nil
}

// searchDensity returns the highest n in [1, limit] for which pass(n) holds (0 if none),
// taking pass as monotonic: n doubles from 1 until a failure (or limit), then the gap
// between the last pass and the first failure is bisected. pass is not called twice for the
// same n.
func searchDensity(limit int, pass func(n int) (bool, error)) (int, error) {
	lastPass, firstFail := 0, 0
	for n := 1; ; n = min(n*2, limit) {
		ok, err := pass(n)
		if err != nil {
			return lastPass, err
		}
		if !ok {
			firstFail = n
			break
		}
		lastPass = n
		if n >= limit {
			return lastPass, nil
		}
	}
	for firstFail-lastPass > 1 {
		mid := (lastPass + firstFail) / 2
		ok, err := pass(mid)
		if err != nil {
			return lastPass, err
		}
		if ok {
			lastPass = mid
		} else {
			firstFail = mid
		}
	}
	return lastPass, nil
}

func passWord(ok bool) string {
	if ok {
		return "pass"
	}
	return "FAIL"
}

// densityStep lets the viewers run for the warm-up, then measures them over the window.
func densityStep(ctx context.Context, cfg densityConfig, viewers []*densityViewer) (DensityStep, [][][2]float64, error) {
	st := DensityStep{Viewers: len(viewers)}
	sleep(ctx, cfg.Warmup)
	before := make([]map[string]float64, len(viewers))
	for i, v := range viewers {
		s, err := v.p.streamStats(ctx)
		if err != nil {
			st.Failures++
			continue
		}
		before[i] = s
	}
	h0, _ := sampleProc(selfPID)
	watch := watchStreamer(ctx, cfg.HTTP, cfg.PID)
	w0 := time.Now()
	sleep(ctx, cfg.Window)
	w1 := time.Now()
	st.RenderMeanMS, st.EncodeMeanMS, st.CPUCores, st.LLVMpipeShare = watch.since(ctx)
	if cfg.PID != 0 {
		p1, err := sampleProc(cfg.PID)
		if err != nil {
			return st, nil, fmt.Errorf("streamer process: %w", err)
		}
		st.RSSMiB = mib(p1.RSS)
	}
	if h1, err := sampleProc(selfPID); err == nil {
		st.HarnessCores = cpuCores(h0, h1)
	}
	if ctx.Err() != nil {
		return st, nil, ctx.Err()
	}
	st.MinFPS, st.MinRenderFPS = math.Inf(1), math.Inf(1)
	var series [][][2]float64
	sum := 0.0
	for i, v := range viewers {
		frames := v.p.snapshot()
		var arrivals []time.Duration
		n := 0
		for _, f := range frames {
			if !f.Arrived.Before(w0) && f.Arrived.Before(w1) {
				n++
				arrivals = append(arrivals, f.Arrived.Sub(w0))
			}
		}
		fps := float64(n) / w1.Sub(w0).Seconds()
		st.ViewerFPS = append(st.ViewerFPS, fps)
		st.MinFPS = math.Min(st.MinFPS, fps)
		sum += fps
		xs, ys := fpsSeries(arrivals, time.Second, 100*time.Millisecond)
		var s [][2]float64
		for j := range xs {
			s = append(s, [2]float64{xs[j], ys[j]})
		}
		series = append(series, s)
		after, err := v.p.streamStats(ctx)
		if err != nil || before[i] == nil {
			st.Failures++
			st.MinRenderFPS = 0
			continue
		}
		dt := after["elapsed_s"] - before[i]["elapsed_s"]
		if dt <= 0 {
			dt = w1.Sub(w0).Seconds()
		}
		st.MinRenderFPS = math.Min(st.MinRenderFPS, (after["session.renders"]-before[i]["session.renders"])/dt)
		st.Dropped += after["frames_dropped"] - before[i]["frames_dropped"]
	}
	st.MeanFPS = sum / float64(len(viewers))
	if math.IsInf(st.MinRenderFPS, 1) {
		st.MinRenderFPS = 0
	}
	// Moving cameras must also get a new picture for every frame; still ones need none.
	st.Pass = st.Failures == 0 && st.MinFPS >= minViewerFPS && (cfg.Motion == motionStill || st.MinRenderFPS >= minViewerFPS)
	slices.Sort(st.ViewerFPS)
	return st, series, nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
