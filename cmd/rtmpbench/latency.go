package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"
)

// LatencyResult is call-to-frame latency: from sending a remote call that changes the
// picture to the first decoded frame that shows the change.
type LatencyResult struct {
	URL   string `json:"url"`
	Calls int    `json:"calls"`
	// Method is "marker-version" (the frame marker's scene version passed the version
	// before the call) or "colour" (the background turned the requested colour).
	Method string `json:"method"`
	// CallToFrame ends when the picture is decoded, CallToArrival when the message carrying
	// it arrived; CallRTT is the call's round trip (to its _result).
	CallToFrame   Summary `json:"call_to_frame"`
	CallToArrival Summary `json:"call_to_arrival"`
	CallRTT       Summary `json:"call_rtt"`
	// ColourMismatches counts changes detected by version whose frame did not show the
	// requested colour (a check of the marker method; should be 0).
	ColourMismatches int `json:"colour_mismatches"`
	Timeouts         int `json:"timeouts"`
	// ServerMean is the streamer's own call-to-encoded-frame mean over the run, from the
	// rendercast_call_to_frame_seconds histogram (ms); 0 when unavailable.
	ServerMean float64 `json:"server_call_to_encoded_mean_ms,omitempty"`
	// HarnessCores is this program's CPU use during the calls (its decoding competes with
	// the streamer for the same cores).
	HarnessCores float64 `json:"harness_cores"`
	// Samples are the call-to-frame latencies in ms, in call order.
	Samples []float64 `json:"samples_ms"`
}

// backgrounds alternate, so every call is a visible change.
var backgrounds = []struct {
	c       colour
	r, g, b float64
}{{colourRed, 1, 0, 0}, {colourBlue, 0, 0, 1}}

// measureLatency plays rawURL and sends calls scene.setBackground calls, one at a time,
// each after the previous one's change was seen plus a random pause (so calls fall at every
// phase of the render and frame loops), or plus rest when it is not 0 (calls after a still
// period: the server has gone to repeats and its refined picture).
func measureLatency(ctx context.Context, rawURL, httpAddr string, calls int, rest time.Duration, log *progress) (LatencyResult, error) {
	res := LatencyResult{URL: rawURL, Calls: calls}
	p, _, err := dialPlayer(ctx, rawURL, playerOptions{Decode: true, Marker: markerScene, Keep: 256})
	if err != nil {
		return res, err
	}
	defer p.close()
	// Warm up: half a second of frames.
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	last, _, err := p.waitFor(wctx, 15, func(frameRecord) bool { return true })
	cancel()
	if err != nil {
		return res, fmt.Errorf("waiting for the first frames: %w", err)
	}
	det := changeDetector{useVersion: last.MarkerOK, baseVersion: last.Version}
	res.Method = "colour"
	if det.useVersion {
		res.Method = "marker-version"
	} else {
		log.printf("latency: no frame marker in %s (start the streamer with -marker); detecting colours", rawURL)
	}
	var before map[string]float64
	if httpAddr != "" {
		before, _ = scrapeMetrics(ctx, httpAddr)
	}
	var lat, arr, rtt []float64
	h0, _ := sampleProc(selfPID)
	for i := range calls {
		bg := backgrounds[i%len(backgrounds)]
		det.want = bg.c
		since := p.count()
		t0 := time.Now()
		_, err := p.call(ctx, "scene.setBackground", amf0.Object{{Key: "r", Value: bg.r}, {Key: "g", Value: bg.g}, {Key: "b", Value: bg.b}})
		if err != nil {
			return res, fmt.Errorf("call %d: scene.setBackground: %w", i+1, err)
		}
		rtt = append(rtt, ms(time.Since(t0)))
		wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		f, _, err := p.waitFor(wctx, since, det.shows)
		cancel()
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				res.Timeouts++
				if res.Timeouts > calls/10+1 {
					return res, fmt.Errorf("call-to-frame: %d calls showed no change within 3 s", res.Timeouts)
				}
				// Resynchronise on the latest frame.
				if fs := p.snapshot(); len(fs) > 0 && det.useVersion {
					det.baseVersion = fs[len(fs)-1].Version
				}
				continue
			}
			return res, err
		}
		lat = append(lat, ms(f.Decoded.Sub(t0)))
		arr = append(arr, ms(f.Arrived.Sub(t0)))
		if det.useVersion {
			det.baseVersion = f.Version
			if f.Colour != bg.c {
				res.ColourMismatches++
			}
		}
		if (i+1)%50 == 0 {
			log.printf("latency: %d of %d calls", i+1, calls)
		}
		if rest > 0 {
			sleep(ctx, rest+rand.N(20*time.Millisecond))
		} else {
			sleep(ctx, 20*time.Millisecond+rand.N(60*time.Millisecond))
		}
	}
	if before != nil {
		if after, err := scrapeMetrics(ctx, httpAddr); err == nil {
			res.ServerMean = histMeanMS(before, after, "rendercast_call_to_frame_seconds")
		}
	}
	if h1, err := sampleProc(selfPID); err == nil {
		res.HarnessCores = cpuCores(h0, h1)
	}
	res.CallToFrame, res.CallToArrival, res.CallRTT = summarize(lat), summarize(arr), summarize(rtt)
	res.Samples = lat
	return res, nil
}

// PacingResult is how steadily one viewer receives frames.
type PacingResult struct {
	URL string `json:"url"`
	// Arrival is the spacing of arrivals at the player; Timestamps that of the RTMP
	// timestamps the server wrote (its frame loop's own pacing).
	Arrival    Pacing `json:"arrival"`
	Timestamps Pacing `json:"timestamps"`
	// Marker counts gaps and repeats in the marker's frame counter (one per render):
	// Missing renders never received, Repeats re-sent pictures.
	Marker CounterGaps `json:"marker"`
	// Server figures over the same period, from stream.stats: frames sent and dropped by the
	// send queue, renders and encodes of the viewer's session.
	ServerFramesSent    float64 `json:"server_frames_sent"`
	ServerFramesDropped float64 `json:"server_frames_dropped"`
	ServerRenders       float64 `json:"server_renders"`
	ServerEncodes       float64 `json:"server_encodes"`
	// The streamer's own figures over the period (when its HTTP address and process are
	// known): mean wall time of a render (draw, convert, read back, waits included) and of an
	// encode, from its histograms; its CPU use and the part of it in llvmpipe's threads.
	RenderMeanMS  float64 `json:"render_mean_ms,omitempty"`
	EncodeMeanMS  float64 `json:"encode_mean_ms,omitempty"`
	CPUCores      float64 `json:"cpu_cores,omitempty"`
	LLVMpipeShare float64 `json:"llvmpipe_share,omitempty"`
	HarnessCores  float64 `json:"harness_cores"`
	// FPSOverTime is the arrival rate in a trailing 1 s window every 100 ms.
	FPSOverTime [][2]float64 `json:"fps_over_time"`
}

// streamerWatch samples a streamer's metrics and CPU at the start and end of a period.
type streamerWatch struct {
	httpAddr string
	pid      int
	metrics  map[string]float64
	proc     procSample
	threads  map[string]time.Duration
}

func watchStreamer(ctx context.Context, httpAddr string, pid int) *streamerWatch {
	w := &streamerWatch{httpAddr: httpAddr, pid: pid}
	if httpAddr != "" {
		w.metrics, _ = scrapeMetrics(ctx, httpAddr)
	}
	if pid != 0 {
		w.proc, _ = sampleProc(pid)
		w.threads, _ = threadCPU(pid)
	}
	return w
}

// since returns the mean render and encode times, CPU cores and llvmpipe's share of them
// from the watch's start to now.
func (w *streamerWatch) since(ctx context.Context) (renderMS, encodeMS, cores, llvmpipe float64) {
	if w.httpAddr != "" {
		if m, err := scrapeMetrics(ctx, w.httpAddr); err == nil {
			renderMS = histMeanMS(w.metrics, m, "rendercast_render_seconds")
			encodeMS = histMeanMS(w.metrics, m, "rendercast_encode_seconds")
		}
	}
	if w.pid != 0 {
		if p, err := sampleProc(w.pid); err == nil {
			cores = cpuCores(w.proc, p)
		}
		if t, err := threadCPU(w.pid); err == nil && w.threads != nil {
			llvmpipe = renderShare(w.threads, t)
		}
	}
	return
}

// measurePacing plays rawURL for d (after a second of warm-up) without sending calls.
func measurePacing(ctx context.Context, rawURL, httpAddr string, pid int, d time.Duration, fps float64) (PacingResult, error) {
	res := PacingResult{URL: rawURL}
	p, _, err := dialPlayer(ctx, rawURL, playerOptions{Decode: true, Marker: markerScene})
	if err != nil {
		return res, err
	}
	defer p.close()
	sleep(ctx, time.Second)
	s0, err := p.streamStats(ctx)
	if err != nil {
		return res, fmt.Errorf("stream.stats: %w", err)
	}
	since := p.count()
	watch := watchStreamer(ctx, httpAddr, pid)
	h0, _ := sampleProc(selfPID)
	sleep(ctx, d)
	res.RenderMeanMS, res.EncodeMeanMS, res.CPUCores, res.LLVMpipeShare = watch.since(ctx)
	if h1, err := sampleProc(selfPID); err == nil {
		res.HarnessCores = cpuCores(h0, h1)
	}
	s1, err := p.streamStats(ctx)
	if err != nil {
		return res, fmt.Errorf("stream.stats: %w", err)
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	frames := p.snapshot()[since:]
	if len(frames) < 2 {
		return res, fmt.Errorf("pacing: %d frames in %v", len(frames), d)
	}
	nominal := time.Duration(float64(time.Second) / fps)
	arrivals := make([]time.Duration, len(frames))
	stamps := make([]time.Duration, len(frames))
	var counters []uint32
	for i, f := range frames {
		arrivals[i] = f.Arrived.Sub(frames[0].Arrived)
		stamps[i] = f.TS
		if f.MarkerOK {
			counters = append(counters, f.Frame)
		}
	}
	res.Arrival = pacing(arrivals, nominal)
	res.Timestamps = pacing(stamps, nominal)
	res.Marker = counterGaps(counters)
	res.ServerFramesSent = s1["frames_sent"] - s0["frames_sent"]
	res.ServerFramesDropped = s1["frames_dropped"] - s0["frames_dropped"]
	res.ServerRenders = s1["session.renders"] - s0["session.renders"]
	res.ServerEncodes = s1["session.encodes"] - s0["session.encodes"]
	xs, ys := fpsSeries(arrivals, time.Second, 100*time.Millisecond)
	for i := range xs {
		res.FPSOverTime = append(res.FPSOverTime, [2]float64{xs[i], ys[i]})
	}
	return res, nil
}

// latencyRest is the pause before each call of the still measurement: longer than the
// streamer's default -refine-after (300 ms), so each call finds a still, refined picture.
const latencyRest = time.Second

// LatencyRestResult compares call-to-frame while the picture moves with call-to-frame
// after a still period, on one streamer without the frame marker.
type LatencyRestResult struct {
	Streamer string        `json:"streamer"`
	Rest     float64       `json:"rest_ms"`
	Moving   LatencyResult `json:"moving"`
	Still    LatencyResult `json:"still"`
}

// measureLatencyRest starts a streamer without the marker (pictures go still between
// calls, with repeats and a refined frame) and measures call-to-frame with calls close
// together, then with calls after latencyRest each (a tenth of -calls, at least 10).
func measureLatencyRest(ctx context.Context, o *options, log *progress) (*LatencyRestResult, error) {
	args := o.streamerArgs(o.size, 100, false)
	sp, err := startStreamer(ctx, o.streamer, args)
	if err != nil {
		return nil, err
	}
	defer sp.stop()
	res := &LatencyRestResult{Streamer: o.streamer + " " + strings.Join(args, " "), Rest: ms(latencyRest)}
	calls := max(10, o.calls/10)
	url := sp.url("live/" + o.scene)
	log.printf("call-to-frame while moving and after %v still: %d calls each", latencyRest, calls)
	if res.Moving, err = measureLatency(ctx, url, sp.httpAddr, calls, 0, log); err != nil {
		return nil, fmt.Errorf("moving: %w", err)
	}
	if res.Still, err = measureLatency(ctx, url, sp.httpAddr, calls, latencyRest, log); err != nil {
		return nil, fmt.Errorf("still: %w", err)
	}
	return res, nil
}
