package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
	"strconv"
	"time"
)

// sampleRow is one sample of the process and the load.
type sampleRow struct {
	t          time.Duration // since the start
	rss        float64       // MiB
	heap       float64       // Go heap in use, MiB (the rest of RSS is the C side: Mesa, x264, stacks)
	goroutines float64
	fds        float64
	threads    float64
	cpu        float64   // percent of one core over the interval
	fps        []float64 // per long-lived viewer (RTMP, then WebRTC), over the interval
	conns      float64   // rendercast_connections

	// The attack so far: RTMP connections held now and opened in all, WHEP offers
	// answered 201 and refused in all.
	atkRTMPHeld, atkRTMPOpened, atkWHEPCreated, atkWHEPRefused float64
}

func (s sampleRow) fpsMin() float64 { return slices.Min(s.fps) }

func (s sampleRow) fpsMean() float64 {
	sum := 0.0
	for _, f := range s.fps {
		sum += f
	}
	return sum / float64(len(s.fps))
}

// sample takes a sample every interval until the duration has passed or ctx ends.
// attack returns the attack once it has started (nil before).
func sample(ctx context.Context, st *streamer, ld *load, attack func() *attack, o options, log *slog.Logger) ([]sampleRow, error) {
	start := time.Now()
	tick := time.NewTicker(o.interval)
	defer tick.Stop()
	var out []sampleRow
	lastFrames := make([]int64, len(ld.frames))
	lastT := start
	var lastCPU time.Duration
	if p, err := readProc(st.pid()); err == nil {
		lastCPU = p.cpu
	}
	for {
		select {
		case <-ctx.Done():
			return out, nil
		case err := <-st.exited:
			st.exited <- err
			return out, fmt.Errorf("the streamer exited during the soak: %v", err)
		case <-tick.C:
		}
		now := time.Now()
		p, err := readProc(st.pid())
		if err != nil {
			return out, fmt.Errorf("reading /proc: %w", err)
		}
		m, err := st.metrics()
		if err != nil {
			return out, fmt.Errorf("reading /metrics: %w", err)
		}
		dt := now.Sub(lastT).Seconds()
		row := sampleRow{t: now.Sub(start), rss: p.rss / (1 << 20), heap: m["go_memstats_heap_inuse_bytes"] / (1 << 20),
			goroutines: m["go_goroutines"], fds: p.fds,
			threads: p.threads, cpu: 100 * (p.cpu - lastCPU).Seconds() / dt, conns: m["rendercast_connections"]}
		for i := range ld.frames {
			f := ld.frames[i].Load()
			row.fps = append(row.fps, float64(f-lastFrames[i])/dt)
			lastFrames[i] = f
		}
		if at := attack(); at != nil {
			row.atkRTMPHeld, row.atkRTMPOpened = float64(at.rtmpHeld.Load()), float64(at.rtmpOpened.Load())
			row.atkWHEPCreated, row.atkWHEPRefused = float64(at.whepCreated.Load()), float64(at.whepRefused.Load())
		}
		lastT, lastCPU = now, p.cpu
		out = append(out, row)
		log.Info("sample", "t", row.t.Round(time.Second), "rss_mib", fmt.Sprintf("%.1f", row.rss),
			"heap_mib", fmt.Sprintf("%.1f", row.heap), "goroutines", row.goroutines,
			"fds", row.fds, "cpu_pct", fmt.Sprintf("%.0f", row.cpu), "fps_min", fmt.Sprintf("%.1f", row.fpsMin()),
			"calls", ld.calls.Load(), "churns", ld.churns.Load(), "connections", row.conns,
			"attack_rtmp_held", row.atkRTMPHeld, "attack_whep_201", row.atkWHEPCreated, "attack_whep_refused", row.atkWHEPRefused)
		if row.t >= o.duration {
			return out, nil
		}
	}
}

func writeCSV(path string, rows []sampleRow, o options) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	head := []string{"t_s", "rss_mib", "go_heap_mib", "goroutines", "open_fds", "threads", "cpu_pct", "connections", "fps_min", "fps_mean",
		"attack_rtmp_held", "attack_rtmp_opened", "attack_whep_201", "attack_whep_refused"}
	for i := range o.viewers {
		head = append(head, fmt.Sprintf("fps_viewer%d", i+1))
	}
	for i := range o.whepViewers {
		head = append(head, fmt.Sprintf("fps_webrtc%d", i+1))
	}
	w.Write(head)
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	for _, r := range rows {
		rec := []string{num(r.t.Seconds()), num(r.rss), num(r.heap), num(r.goroutines), num(r.fds), num(r.threads), num(r.cpu), num(r.conns),
			num(r.fpsMin()), num(r.fpsMean()), num(r.atkRTMPHeld), num(r.atkRTMPOpened), num(r.atkWHEPCreated), num(r.atkWHEPRefused)}
		for _, v := range r.fps {
			rec = append(rec, num(v))
		}
		w.Write(rec)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// report is the verdict.
type report struct {
	samples, steady int
	duration        time.Duration
	first, last     struct{ rss, heap, goroutines, fds, threads float64 }
	rssSlope        float64 // MiB per hour over the steady part
	goroutineSlope  float64 // per hour over the steady part
	fdSlope         float64 // per hour over the steady part
	fpsMean, fpsMin float64
	slowSamples     int // samples with an honest viewer under o.minFPS
	minFPS          float64
	attack          *attack
	cpuMean         float64
	calls           int64
	callErrors      int64
	viewerErrors    int64
	churns          int64
	shutdownErr     error
	failures        []string
}

// Growth tolerances: what counts as noise.
const (
	rssTolerance         = 0.05 // relative, on top of rssSlackMiB
	rssSlackMiB          = 4
	goroutineTolerance   = 5
	fdTolerance          = 3
	stallFPS             = 1 // a sample below this is a stalled viewer
	minSteadySamples     = 6
	windowFractionSteady = 3 // the first and last thirds of the steady part are compared
)

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return math.NaN()
	}
	return s[len(s)/2]
}

// analyse compares the first and last thirds of the steady part (after the warm-up) by
// their medians, fits RSS over time, and looks for stalls.
func analyse(rows []sampleRow, o options) *report {
	r := &report{samples: len(rows)}
	if len(rows) > 0 {
		r.duration = rows[len(rows)-1].t
	}
	var steady []sampleRow
	for _, s := range rows {
		if s.t > o.warmup {
			steady = append(steady, s)
		}
	}
	r.steady = len(steady)
	if len(steady) < minSteadySamples {
		r.failures = append(r.failures, fmt.Sprintf("only %d samples after the warm-up (want %d): run longer", len(steady), minSteadySamples))
		return r
	}
	n := len(steady) / windowFractionSteady
	col := func(rows []sampleRow, f func(sampleRow) float64) []float64 {
		out := make([]float64, len(rows))
		for i, s := range rows {
			out[i] = f(s)
		}
		return out
	}
	first, last := steady[:n], steady[len(steady)-n:]
	rss := func(s sampleRow) float64 { return s.rss }
	gor := func(s sampleRow) float64 { return s.goroutines }
	fds := func(s sampleRow) float64 { return s.fds }
	thr := func(s sampleRow) float64 { return s.threads }
	r.first.rss, r.last.rss = median(col(first, rss)), median(col(last, rss))
	heap := func(s sampleRow) float64 { return s.heap }
	r.first.heap, r.last.heap = median(col(first, heap)), median(col(last, heap))
	r.first.goroutines, r.last.goroutines = median(col(first, gor)), median(col(last, gor))
	r.first.fds, r.last.fds = median(col(first, fds)), median(col(last, fds))
	r.first.threads, r.last.threads = median(col(first, thr)), median(col(last, thr))
	hours := col(steady, func(s sampleRow) float64 { return s.t.Hours() })
	r.rssSlope, r.goroutineSlope, r.fdSlope = slope(hours, col(steady, rss)), slope(hours, col(steady, gor)), slope(hours, col(steady, fds))

	if r.last.rss > r.first.rss*(1+rssTolerance)+rssSlackMiB {
		r.failures = append(r.failures, fmt.Sprintf("RSS grew from %.1f to %.1f MiB", r.first.rss, r.last.rss))
	}
	if r.last.goroutines > r.first.goroutines+goroutineTolerance {
		r.failures = append(r.failures, fmt.Sprintf("goroutines grew from %.0f to %.0f", r.first.goroutines, r.last.goroutines))
	}
	if r.last.fds > r.first.fds+fdTolerance {
		r.failures = append(r.failures, fmt.Sprintf("open files grew from %.0f to %.0f", r.first.fds, r.last.fds))
	}
	fpsSum, cpuSum := 0.0, 0.0
	r.fpsMin = math.Inf(1)
	for _, s := range steady {
		fpsSum += s.fpsMean()
		cpuSum += s.cpu
		r.fpsMin = min(r.fpsMin, s.fpsMin())
		if s.fpsMin() < stallFPS {
			r.failures = append(r.failures, fmt.Sprintf("a viewer stalled at %v (%.1f fps)", s.t.Round(time.Second), s.fpsMin()))
		} else if s.fpsMin() < o.minFPS {
			r.slowSamples++
		}
	}
	r.minFPS = o.minFPS
	if r.slowSamples > 0 {
		r.failures = append(r.failures, fmt.Sprintf("%d of %d samples had a viewer under %.0f fps (lowest %.1f)", r.slowSamples, len(steady), o.minFPS, r.fpsMin))
	}
	r.fpsMean, r.cpuMean = fpsSum/float64(len(steady)), cpuSum/float64(len(steady))
	return r
}

// slope is the least-squares slope of y over x.
func slope(x, y []float64) float64 {
	var sx, sy, sxx, sxy float64
	n := float64(len(x))
	for i := range x {
		sx += x[i]
		sy += y[i]
		sxx += x[i] * x[i]
		sxy += x[i] * y[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

func (r *report) print(w io.Writer) {
	if r.viewerErrors > 0 {
		r.failures = append(r.failures, fmt.Sprintf("%d viewer connections failed", r.viewerErrors))
	}
	if r.callErrors > 0 {
		r.failures = append(r.failures, fmt.Sprintf("%d of %d calls failed", r.callErrors, r.calls))
	}
	if r.shutdownErr != nil {
		r.failures = append(r.failures, fmt.Sprintf("shutdown after the soak: %v", r.shutdownErr))
	}
	fmt.Fprintf(w, "soak: %v, %d samples (%d after the warm-up)\n", r.duration.Round(time.Second), r.samples, r.steady)
	fmt.Fprintf(w, "                 first third  last third   (medians of the steady part)\n")
	fmt.Fprintf(w, "  RSS MiB        %10.1f  %10.1f   slope %+.1f MiB/h\n", r.first.rss, r.last.rss, r.rssSlope)
	fmt.Fprintf(w, "  Go heap MiB    %10.1f  %10.1f\n", r.first.heap, r.last.heap)
	fmt.Fprintf(w, "  goroutines     %10.0f  %10.0f   slope %+.1f /h\n", r.first.goroutines, r.last.goroutines, r.goroutineSlope)
	fmt.Fprintf(w, "  open files     %10.0f  %10.0f   slope %+.1f /h\n", r.first.fds, r.last.fds, r.fdSlope)
	fmt.Fprintf(w, "  threads        %10.0f  %10.0f\n", r.first.threads, r.last.threads)
	fmt.Fprintf(w, "  fps per viewer mean %.1f, lowest sample %.1f (%d samples under %.0f); CPU %.0f%% of a core\n", r.fpsMean, r.fpsMin, r.slowSamples, r.minFPS, r.cpuMean)
	if at := r.attack; at != nil {
		fmt.Fprintf(w, "  attack: RTMP from %s: %d connections opened without a handshake, %d closed by the streamer, %d dials failed;\n",
			rtmpAttackerIP, at.rtmpOpened.Load(), at.rtmpCut.Load(), at.rtmpDialErrors.Load())
		fmt.Fprintf(w, "          WHEP from %s: %d offers answered 201, %d refused, %d unanswered, %d not sent (%d in flight)\n",
			whepAttackerIP, at.whepCreated.Load(), at.whepRefused.Load(), at.whepErrors.Load(), at.whepSkipped.Load(), maxWHEPInFlight)
	}
	fmt.Fprintf(w, "  calls %d (%d failed), churn viewers %d, viewer connection failures %d, clean shutdown %v\n",
		r.calls, r.callErrors, r.churns, r.viewerErrors, r.shutdownErr == nil)
	if len(r.failures) == 0 {
		fmt.Fprintln(w, "PASS: no growth beyond noise, no stalls")
		return
	}
	for _, f := range r.failures {
		fmt.Fprintln(w, "FAIL:", f)
	}
}
