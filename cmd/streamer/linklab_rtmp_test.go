package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/encode"
	"github.com/rendercast/rendercast/internal/linklab"
	"github.com/rendercast/rendercast/rtmpclient"
	"github.com/rendercast/rendercast/scenes"
)

// TestLinkLabRTMP: RTMP viewers behind the lab's links. FFmpeg (a client not written
// here) records each viewer's stream with -c copy; ffprobe decodes the recording: frames
// and keyframes (frame numbers: the GOP is counted in frames) and bytes in the window.
// Latency comes from a second viewer on the same link, after the recording (the project's
// RTMP client dialled inside the viewer's namespace, decoding every frame and reading the
// frame marker's scene version: a scene.setBackground call is seen when the version
// passes the one before the call).
func TestLinkLabRTMP(t *testing.T) {
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: scripts/setup.sh installs Debian's ffmpeg", tool)
		}
	}
	lab := linklab.New(t, linklab.Config{Links: labLinks})
	startLabStreamer(t, lab)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	results := make([]labResult, len(lab.Links))
	errs := make([]error, len(lab.Links))
	labInRounds(lab.Links, labParallelRTMP, func(i int, l linklab.Link) {
		results[i], errs[i] = labRecordRTMP(ctx, lab, l, filepath.Join(dir, l.Name+".flv"))
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	labInRounds(lab.Links, labParallelRTMP, func(i int, l linklab.Link) {
		var lat []float64
		lat, results[i].LatencyMissed, errs[i] = labRTMPLatency(ctx, lab, l)
		results[i].LatencyN, results[i].LatencyP50 = len(lat), labMedian(lat)
	})
	t.Logf("RTMP viewers, %v after %v of warm-up:%s", labWindow, labWarmup, labTable(results))
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	checkLabResults(t, results)
}

// labRecordRTMP plays the scene with ffmpeg inside l's namespace for the warm-up and the
// window, and measures the window in the recording.
func labRecordRTMP(ctx context.Context, lab *linklab.Lab, l linklab.Link, out string) (labResult, error) {
	res := labResult{Link: l, Transport: "RTMP"}
	url := fmt.Sprintf("rtmp://%s:1935/live/demo", l.ServerAddr)
	secs := (labWarmup + labWindow + time.Second).Seconds()
	rctx, cancel := context.WithTimeout(ctx, time.Duration(3*secs)*time.Second)
	defer cancel()
	cmd := lab.Command(rctx, l.Namespace, "ffmpeg", "-v", "error", "-nostdin", "-rw_timeout", "20000000",
		"-i", url, "-c", "copy", "-t", fmt.Sprint(secs), "-f", "flv", "-y", out)
	var ffout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &ffout, &ffout
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("%s: ffmpeg: %w", l.Name, err)
	}
	wctx, stopWatch := context.WithCancel(ctx)
	watch := labWatchSession(wctx, lab, l.ViewerAddr)
	err := cmd.Wait()
	stopWatch()
	<-watch.done
	if err != nil {
		return res, fmt.Errorf("%s: ffmpeg: %v: %s", l.Name, err, ffout.String())
	}
	if d, ok := watch.between(start.Add(labWarmup), start.Add(labWarmup+labWindow)); ok {
		res.ServerFrames, res.ServerKeyframes, res.ServerForced, res.ServerOK = d.frames, d.keyframes, d.forced, true
	}
	b, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-select_streams", "v:0",
		"-show_entries", "frame=pts_time,key_frame,pkt_size", "-of", "json", out).Output()
	if err != nil {
		return res, fmt.Errorf("%s: ffprobe %s: %v", l.Name, out, err)
	}
	var probe struct {
		Frames []struct {
			KeyFrame int    `json:"key_frame"`
			PTS      string `json:"pts_time"`
			Size     string `json:"pkt_size"`
		} `json:"frames"`
	}
	if err := json.Unmarshal(b, &probe); err != nil || len(probe.Frames) == 0 {
		return res, fmt.Errorf("%s: ffprobe: %v, %d frames", l.Name, err, len(probe.Frames))
	}
	t0, _ := strconv.ParseFloat(probe.Frames[0].PTS, 64)
	from, to := t0+labWarmup.Seconds(), t0+(labWarmup+labWindow).Seconds()
	var keys []labKeyframeAt
	bytes, frames, last := 0, 0, t0
	for i, f := range probe.Frames {
		pts, _ := strconv.ParseFloat(f.PTS, 64)
		if f.KeyFrame == 1 {
			keys = append(keys, labKeyframeAt{frame: float64(i), sec: pts})
		}
		if pts < from || pts >= to {
			continue
		}
		size, _ := strconv.Atoi(f.Size)
		frames++
		bytes += size
		last = pts
		if f.KeyFrame == 1 {
			res.Keyframes++
		}
	}
	window := labWindow.Seconds()
	if last < to-1 {
		// The recording ended early (ffmpeg gave up): measure what it holds.
		window = last - from
		res.Note = fmt.Sprintf("recording ended %.1f s into the window", window)
	}
	if frames == 0 || window <= 0 {
		return res, fmt.Errorf("%s: no frames in the window (recording of %d frames)", l.Name, len(probe.Frames))
	}
	res.FPS = float64(frames) / window
	res.Kbps = float64(bytes) * 8 / 1000 / window
	res.ExtraKeyframes = labExtraKeyframes(keys, from, 0, 0.25)
	return res, nil
}

// labLatencyCalls is how many background changes each latency viewer sends, within
// labLatencyBudget.
const (
	labLatencyCalls  = 25
	labLatencyBudget = 30 * time.Second
	labLatencyWait   = 5 * time.Second
)

// labRTMPLatency plays the scene with the project's RTMP client inside l's namespace and
// returns the call-to-frame latencies (ms) seen, and how many changes were not seen within
// labLatencyWait.
func labRTMPLatency(ctx context.Context, lab *linklab.Lab, l linklab.Link) ([]float64, int, error) {
	url := fmt.Sprintf("rtmp://%s:1935/live/demo", l.ServerAddr)
	var c *rtmpclient.Client
	if err := lab.Do(l.Namespace, func() (err error) {
		c, err = rtmpclient.Dial(ctx, url, rtmpclient.Options{})
		return err
	}); err != nil {
		return nil, 0, fmt.Errorf("%s: latency viewer: %w", l.Name, err)
	}
	defer c.Close()
	id, err := c.CreateStream(ctx)
	if err == nil {
		err = c.Play(ctx, id, "demo")
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%s: latency viewer: %w", l.Name, err)
	}
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	w := &labVersionWatch{changed: make(chan struct{}, 1)}
	decoded := make(chan error, 1)
	go func() { decoded <- w.decode(pctx, c) }()
	defer func() { stop(); <-decoded }()

	select {
	case <-time.After(labWarmup):
	case err := <-decoded:
		return nil, 0, fmt.Errorf("%s: latency viewer during warm-up: %w", l.Name, err)
	}
	if _, ok := w.latest(); !ok {
		return nil, 0, fmt.Errorf("%s: latency viewer: no frame marker read in %v (is -marker on?)", l.Name, labWarmup)
	}
	var lat []float64
	missed := 0
	end := time.Now().Add(labLatencyBudget)
	for i := 0; i < labLatencyCalls && time.Now().Before(end); i++ {
		before, _ := w.latest()
		rgb := [][3]float64{{1, 0, 0}, {0, 0, 1}}[i%2]
		t0 := time.Now()
		if _, err := c.Call(ctx, "scene.setBackground", nil, amf0.Object{{Key: "r", Value: rgb[0]}, {Key: "g", Value: rgb[1]}, {Key: "b", Value: rgb[2]}}); err != nil {
			return lat, missed, fmt.Errorf("%s: scene.setBackground: %w", l.Name, err)
		}
		if at, ok := w.waitPast(ctx, before.version, t0.Add(labLatencyWait)); ok {
			lat = append(lat, float64(at.Sub(t0).Microseconds())/1000)
		} else {
			missed++
		}
		time.Sleep(100*time.Millisecond + rand.N(100*time.Millisecond))
	}
	return lat, missed, nil
}

// labVersionWatch decodes a stream and keeps the latest frame marker's scene version.
type labVersionWatch struct {
	mu      sync.Mutex
	last    labMarkedFrame
	seen    bool
	changed chan struct{}
}

type labMarkedFrame struct {
	version uint32
	at      time.Time
}

func (w *labVersionWatch) latest() (labMarkedFrame, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last, w.seen
}

// waitPast returns when the first frame with a version after v was decoded.
func (w *labVersionWatch) waitPast(ctx context.Context, v uint32, deadline time.Time) (time.Time, bool) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		w.mu.Lock()
		f := w.last
		w.mu.Unlock()
		if f.version > v {
			return f.at, true
		}
		select {
		case <-w.changed:
		case <-timer.C:
			return time.Time{}, false
		case <-ctx.Done():
			return time.Time{}, false
		}
	}
}

// decode reads and decodes video until ctx ends; the first frame of each new version
// keeps its decode time.
func (w *labVersionWatch) decode(ctx context.Context, c *rtmpclient.Client) error {
	var dec *encode.Decoder
	defer func() {
		if dec != nil {
			dec.Close()
		}
	}()
	for {
		m, err := c.ReadVideo(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		switch m.AVCPacketType {
		case rtmpclient.AVCSequenceHeader:
			if dec != nil {
				dec.Close()
			}
			if dec, err = encode.NewDecoder(m.Payload); err != nil {
				return err
			}
		case rtmpclient.AVCNALU:
			if dec == nil {
				continue
			}
			pics, err := dec.Decode(&avc.Frame{NALUs: m.Payload, PTS: m.Timestamp + m.CompositionTime, DTS: m.Timestamp})
			if err != nil {
				continue // a lost reference: the next keyframe repairs it
			}
			for _, p := range pics {
				_, v, ok := scenes.DecodeMarker(p)
				if !ok {
					continue
				}
				now := time.Now()
				w.mu.Lock()
				if !w.seen || v != w.last.version {
					w.last, w.seen = labMarkedFrame{version: v, at: now}, true
				}
				w.mu.Unlock()
				select {
				case w.changed <- struct{}{}:
				default:
				}
			}
		}
	}
}
