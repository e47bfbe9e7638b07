package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"io"
	"math"
	"math/rand/v2"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// NginxResult is the usual alternative measured in the same run: ffmpeg (libx264
// ultrafast, zerolatency, same size, rate and bitrate) encoding frames and publishing them
// to nginx-rtmp, and the same Go player pulling the stream from nginx.
//
// The harness is the frame source: it writes raw frames to ffmpeg's stdin at the frame rate
// (what -re does for a lavfi source), each with the counter strip, the picture turning red
// or blue at random moments. So the instant of every colour change is known to the
// microsecond. (A lavfi source read with -re, timed by a second ffmpeg output on a pipe, is
// not: ffmpeg 5.1 emits the outputs of one frame in no fixed order, and that copy came out a
// frame after the RTMP one, which made latencies look negative.)
type NginxResult struct {
	Publisher string `json:"publisher"`
	Nginx     string `json:"nginx_config"`
	// TTFF is connect -> play -> first decoded picture from nginx.
	TTFF        Summary   `json:"ttff"`
	TTFFSamples []float64 `json:"ttff_samples_ms"`
	// KeyframeInterval is the mean time between keyframes the player received (ms).
	KeyframeInterval float64 `json:"keyframe_interval_ms"`
	// TTFFFirstVideo is from the connect to the arrival of the first coded frame (which
	// cannot be decoded before a keyframe).
	TTFFFirstVideo Summary `json:"ttff_first_video"`
	// ChangeLatency is from a colour change event (decided at a random moment, as a call
	// arrives) to the first decoded frame from nginx that shows it: the wait for the next
	// source frame, ffmpeg, nginx, the player. ChangeFromFrame starts at the write of the
	// first source frame with the new colour instead (the relay path alone).
	ChangeLatency   Summary   `json:"change_latency"`
	ChangeSamples   []float64 `json:"change_samples_ms"`
	ChangeFromFrame Summary   `json:"change_from_frame"`
	// FrameDelay is the same delay for every decoded frame, not only colour changes.
	FrameDelay Summary `json:"frame_delay"`
	// ColourMismatches counts decoded frames whose colour was not the one the source drew at
	// that frame number (a check of the method; should be 0). UnreadFrames had no readable
	// counter.
	ColourMismatches int `json:"colour_mismatches"`
	UnreadFrames     int `json:"unread_frames"`
	// SourceLate is the p99 of how late the source wrote its frames against the frame
	// clock (ms): ffmpeg not reading in time, or the harness not scheduled.
	SourceLate float64 `json:"source_late_p99_ms"`
	// Ratios of nginx's figures to Rendercast's (time to first frame p50; change latency
	// p50 and p95 against call-to-frame p50 and p95). 0 when either is missing.
	TTFFRatio       float64 `json:"ttff_ratio_p50"`
	LatencyRatioP50 float64 `json:"latency_ratio_p50"`
	LatencyRatioP95 float64 `json:"latency_ratio_p95"`
}

// altConfig describes the comparison run.
type altConfig struct {
	Width, Height int
	FPS           float64
	BitrateKbps   int
	GOP           time.Duration
	// Changes is how many colour changes the latency player must see.
	Changes  int
	TTFFRuns int
}

// publisherArgs returns the ffmpeg arguments: raw I420 frames of the configured size and
// rate from stdin, encoded with x264 as the streamer does (ultrafast, zerolatency, no
// B-frames, the same bitrate, VBV of 3 frame intervals and keyframe interval) and published
// as FLV to url.
func (c altConfig) publisherArgs(url string) []string {
	gop := max(1, int(math.Round(c.GOP.Seconds()*c.FPS)))
	vbv := max(1, int(float64(c.BitrateKbps)*3/c.FPS)) // kbit: 3 frame intervals, as the streamer's encoder
	return []string{
		"-hide_banner", "-nostdin", "-loglevel", "error",
		"-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", fmt.Sprintf("%dx%d", c.Width, c.Height), "-framerate", fmt.Sprint(c.FPS), "-i", "pipe:0",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
		"-b:v", fmt.Sprintf("%dk", c.BitrateKbps), "-maxrate", fmt.Sprintf("%dk", c.BitrateKbps), "-bufsize", fmt.Sprintf("%dk", vbv),
		"-g", fmt.Sprint(gop), "-bf", "0", "-f", "flv", url,
	}
}

// sourceChange is one colour change of the comparison source: the event (decided at a
// random moment, like a user's call) and the first frame that shows it.
type sourceChange struct {
	Frame   uint32
	Decided time.Time
}

// frameSource writes the comparison's frames to w at the frame rate. Colour changes are
// decided at random moments (every 0.4 to 0.6 s) and shown from the next frame made, as a
// renderer driving ffmpeg would; frame write times and changes are recorded.
type frameSource struct {
	cfg altConfig

	mu      sync.Mutex
	times   []time.Time // write start of frame n
	colours []colour    // colour of frame n
	late    []float64   // ms behind the frame clock, frame n
	changes []sourceChange
}

// nextChangeGap is the time from one colour change event to the next.
func nextChangeGap() time.Duration { return 400*time.Millisecond + rand.N(200*time.Millisecond) }

// sourceFrame fills dst with a frame of colour c (blue or red) above the counter strip,
// which shows n. base holds the blue and red backgrounds.
func sourceFrame(dst *image.YCbCr, base [2]*image.YCbCr, n uint32, c colour) {
	b := base[0]
	if c == colourRed {
		b = base[1]
	}
	copy(dst.Y, b.Y)
	copy(dst.Cb, b.Cb)
	copy(dst.Cr, b.Cr)
	drawCounterStrip(dst, n)
}

// solidFrame returns a w x h frame of one BT.709 limited-range colour.
func solidFrame(w, h int, y, cb, cr uint8) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = y
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = cb, cr
	}
	return img
}

// run writes frames until ctx ends or a write fails. Changes start after firstChange.
func (s *frameSource) run(ctx context.Context, w io.Writer, firstChange time.Duration) error {
	c := s.cfg
	base := [2]*image.YCbCr{solidFrame(c.Width, c.Height, 32, 240, 118), solidFrame(c.Width, c.Height, 63, 102, 240)}
	frame := image.NewYCbCr(image.Rect(0, 0, c.Width, c.Height), image.YCbCrSubsampleRatio420)
	buf := make([]byte, 0, len(frame.Y)+2*len(frame.Cb))
	interval := time.Duration(float64(time.Second) / c.FPS)
	start := time.Now()
	cur := colourBlue
	nextEvent := start.Add(firstChange)
	for n := uint32(0); ; n++ {
		due := start.Add(time.Duration(n) * interval)
		if d := time.Until(due); d > 0 {
			sleep(ctx, d)
		}
		if ctx.Err() != nil {
			return nil
		}
		now := time.Now()
		s.mu.Lock()
		if !now.Before(nextEvent) {
			cur = colourRed + colourBlue - cur
			s.changes = append(s.changes, sourceChange{Frame: n, Decided: nextEvent})
			nextEvent = nextEvent.Add(nextChangeGap())
			if nextEvent.Before(now) {
				nextEvent = now.Add(nextChangeGap())
			}
		}
		s.times = append(s.times, now)
		s.colours = append(s.colours, cur)
		s.late = append(s.late, ms(now.Sub(due)))
		s.mu.Unlock()
		sourceFrame(frame, base, n, cur)
		buf = append(append(append(buf[:0], frame.Y...), frame.Cb...), frame.Cr...)
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
}

// frame returns when frame n was written and its colour (ok false when it was not).
func (s *frameSource) frame(n uint32) (time.Time, colour, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if int(n) >= len(s.times) {
		return time.Time{}, colourOther, false
	}
	return s.times[n], s.colours[n], true
}

func (s *frameSource) frames() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.times)
}

// changeLatencies matches changes to the first decoded frame at or after each change's frame
// and returns the delays from the event (decided) and from the frame's write. Changes before
// the first decoded frame, or after the last, are skipped.
func changeLatencies(changes []sourceChange, frameTime func(uint32) time.Time, seen []frameRecord) (fromEvent, fromFrame []float64) {
	i := 0
	for _, ch := range changes {
		for i < len(seen) && seen[i].Frame < ch.Frame {
			i++
		}
		if i == len(seen) {
			return
		}
		if i == 0 && seen[0].Frame > ch.Frame {
			continue // the player was not there yet
		}
		fromEvent = append(fromEvent, ms(seen[i].Decoded.Sub(ch.Decided)))
		fromFrame = append(fromFrame, ms(seen[i].Decoded.Sub(frameTime(ch.Frame))))
	}
	return
}

// measureNginx runs the comparison: nginx, the ffmpeg publisher, a player that watches the
// colour changes, then time-to-first-frame runs; everything is stopped at the end.
func measureNginx(ctx context.Context, cfg altConfig, log *progress) (NginxResult, error) {
	var res NginxResult
	ng, err := startNginx(ctx)
	if err != nil {
		return res, err
	}
	defer ng.stop()
	res.Nginx = nginxConfig{Dir: "<tmp>", Port: ng.port, Module: debianRTMPModule, App: "live"}.render()
	url := "rtmp://" + ng.addr() + "/live/bench"
	args := cfg.publisherArgs(url)
	res.Publisher = "ffmpeg " + shellQuote(args)

	pub := exec.Command("ffmpeg", args...)
	stdin, err := pub.StdinPipe()
	if err != nil {
		return res, err
	}
	var stderr bytes.Buffer
	pub.Stderr = &stderr
	if err := pub.Start(); err != nil {
		return res, fmt.Errorf("starting ffmpeg: %w", err)
	}
	src := &frameSource{cfg: cfg}
	sctx, stopSource := context.WithCancel(ctx)
	srcDone := make(chan error, 1)
	go func() { srcDone <- src.run(sctx, stdin, 3*time.Second); stdin.Close() }()
	pubExited := make(chan struct{})
	go func() { pub.Wait(); close(pubExited) }()
	defer func() {
		stopSource()
		<-srcDone
		select {
		case <-pubExited:
		case <-time.After(5 * time.Second):
			pub.Process.Kill()
			<-pubExited
		}
	}()
	// Let the publisher run for a second (connected, encoding, nginx relaying).
	for src.frames() < int(cfg.FPS) {
		select {
		case <-pubExited:
			return res, fmt.Errorf("ffmpeg publisher exited: %s", strings.TrimSpace(stderr.String()))
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}

	// Colour changes.
	p, _, err := dialPlayer(ctx, url, playerOptions{Decode: true, Marker: markerCounter})
	if err != nil {
		return res, fmt.Errorf("playing from nginx: %w", err)
	}
	// nginx starts a new player at the frame being relayed: pictures come from the next
	// keyframe on.
	wctx, cancel := context.WithTimeout(ctx, cfg.GOP+10*time.Second)
	_, _, err = p.waitFor(wctx, 0, func(frameRecord) bool { return true })
	cancel()
	if err != nil {
		p.close()
		return res, fmt.Errorf("first picture from nginx: %w", err)
	}
	d := time.Duration(cfg.Changes)*500*time.Millisecond + time.Second
	log.printf("nginx: watching %d colour changes (%v)", cfg.Changes, d.Round(time.Second))
	sleep(ctx, d)
	frames := p.snapshot()
	p.close()
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	var seen []frameRecord
	var delays []float64
	var keys []time.Time
	for _, f := range frames {
		if f.Keyframe {
			keys = append(keys, f.Arrived)
		}
		if !f.MarkerOK {
			res.UnreadFrames++
			continue
		}
		t, c, ok := src.frame(f.Frame)
		if !ok {
			res.UnreadFrames++
			continue
		}
		if f.Colour != c {
			res.ColourMismatches++
		}
		delays = append(delays, ms(f.Decoded.Sub(t)))
		seen = append(seen, f)
	}
	src.mu.Lock()
	changes := append([]sourceChange(nil), src.changes...)
	if len(seen) > 0 && int(seen[0].Frame) < len(src.late) {
		res.SourceLate = percentile(src.late[seen[0].Frame:], 99)
	}
	src.mu.Unlock()
	frameTime := func(n uint32) time.Time { t, _, _ := src.frame(n); return t }
	fromEvent, fromFrame := changeLatencies(changes, frameTime, seen)
	if len(keys) > 1 {
		res.KeyframeInterval = ms(keys[len(keys)-1].Sub(keys[0])) / float64(len(keys)-1)
	}
	res.FrameDelay = summarize(delays)
	res.ChangeLatency, res.ChangeSamples = summarize(fromEvent), fromEvent
	res.ChangeFromFrame = summarize(fromFrame)
	log.printf("nginx: change latency p50 %.1f ms over %d changes", res.ChangeLatency.P50, res.ChangeLatency.N)

	// Time to first frame.
	tt, err := measureTTFF(ctx, url, cfg.TTFFRuns, cfg.GOP, markerNone, log)
	if err != nil {
		return res, fmt.Errorf("nginx time to first frame: %w", err)
	}
	res.TTFF, res.TTFFSamples, res.TTFFFirstVideo = tt.Total, tt.Samples, tt.FirstVideo
	select {
	case <-pubExited:
		return res, fmt.Errorf("ffmpeg publisher ended during the run: %s", strings.TrimSpace(stderr.String()))
	default:
	}
	return res, nil
}

// shellQuote joins args for display as a shell command.
func shellQuote(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a != "" && !strings.ContainsAny(a, " '\"\\$`;()*&|<>!{}[]?#~") {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}
