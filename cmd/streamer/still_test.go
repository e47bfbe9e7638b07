package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"

	"github.com/rendercast/rendercast/rtmpclient"
)

// Still-frame tests: a stream that goes still -> moving -> still -> moving decodes in every
// player without error, with repeats and refined frames on the server; a size change in
// the middle of a stream reaches RTMP players (new sequence header, metadata and keyframe)
// and the browser (same WebRTC track).

const stillW, stillH = 320, 180

// sessionFigures are the /status.json figures of one session the tests read.
type sessionFigures struct {
	Renders        float64 `json:"renders"`
	Encodes        float64 `json:"encodes"`
	Repeats        float64 `json:"repeats"`
	Frames         float64 `json:"frames"`
	Refined        float64 `json:"refined"`
	RefineAborted  float64 `json:"refine_aborted"`
	State          string  `json:"state"`
	Width          int     `json:"width"`
	Height         int     `json:"height"`
	Resizes        float64 `json:"resizes"`
	ResizeFailures float64 `json:"resize_failures"`
	Adaptive       *bool   `json:"adaptive"`
	Scale          float64 `json:"scale"`
}

// figuresOf reads the figures of the session named name from /status.json.
func figuresOf(t *testing.T, rs *runningStreamer, name string) sessionFigures {
	t.Helper()
	resp, err := httpGet("http://" + rs.httpAddr + "/status.json")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Sessions []struct {
			Name  string         `json:"name"`
			Stats sessionFigures `json:"stats"`
		} `json:"sessions"`
	}
	if err := json.Unmarshal(resp, &st); err != nil {
		t.Fatalf("/status.json: %v", err)
	}
	for _, s := range st.Sessions {
		if s.Name == name {
			return s.Stats
		}
	}
	t.Fatalf("/status.json has no session %q:\n%s", name, resp)
	return sessionFigures{}
}

// steer connects a client that steers the shared session name (it plays nothing).
func steer(t *testing.T, rs *runningStreamer, name string) *rtmpclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := rtmpclient.Dial(ctx, rs.url("live/demo?session="+name), rtmpclient.Options{})
	if err != nil {
		t.Fatalf("steering client: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// clientRun is one player run in the background: its output and error when it ended.
type clientRun struct {
	name string
	out  bytes.Buffer
	err  error
	done chan struct{}
}

// startClient runs cmd in the background, its output (stdout and stderr) collected.
func startClient(t *testing.T, name string, cmd *exec.Cmd) *clientRun {
	t.Helper()
	r := &clientRun{name: name, done: make(chan struct{})}
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return r.out.Write(p) })
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() { r.err = cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		if cmd.Process != nil {
			cmd.Process.Kill()
		}
		<-r.done
	})
	return r
}

// wait waits for the client to end (at most d) and returns its output.
func (r *clientRun) wait(t *testing.T, d time.Duration) string {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(d):
		t.Fatalf("%s did not end within %v", r.name, d)
	}
	return r.out.String()
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// cycle steers the session through still and moving phases of phase each, phases times,
// starting still: moving phases orbit the camera 20 times a second.
func cycle(t *testing.T, c *rtmpclient.Client, phase time.Duration, phases int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(phases+2)*phase+30*time.Second)
	defer cancel()
	for i := range phases {
		end := time.Now().Add(phase)
		if i%2 == 0 {
			time.Sleep(phase)
			continue
		}
		for time.Now().Before(end) {
			if _, err := c.Call(ctx, "camera.orbit", nil, amf0.Object{{Key: "dx", Value: 2.0}, {Key: "dy", Value: 0.0}}); err != nil {
				t.Fatalf("camera.orbit: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// TestStillMovingCycleDecodes plays a shared session through still and moving phases
// (each longer than -refine-after) with ffmpeg -xerror, ffprobe, GStreamer, VLC and
// Chromium at once: every one decodes without an error and about 30 frames a second,
// while the server sends repeats and one refined picture per rest.
func TestStillMovingCycleDecodes(t *testing.T) {
	needClient(t, "ffmpeg", "ffmpeg")
	needClient(t, "ffprobe", "ffmpeg")
	needClient(t, "gst-launch-1.0", "gstreamer1.0-tools")
	vlc := needClient(t, "cvlc", "vlc-bin")
	browser := newWatcher(t)

	rs := startStreamer(t, "-size", fmt.Sprintf("%dx%d", stillW, stillH), "-refine-after", "300ms", "-session", "cycle=demo")
	url := rs.url("live/demo?session=cycle")
	const phase, phases = 2 * time.Second, 8 // still, moving, ... : 16 s
	const seconds = 12                       // what the players keep

	ffmpeg := startClient(t, "ffmpeg", exec.Command("ffmpeg", "-v", "error", "-xerror", "-i", url, "-t", strconv.Itoa(seconds), "-f", "framemd5", "-"))
	ffprobe := startClient(t, "ffprobe", exec.Command("ffprobe", "-v", "error", "-read_intervals", "%+"+strconv.Itoa(seconds),
		"-select_streams", "v", "-show_entries", "frame=width,height", "-of", "csv=p=0", url))
	gstFile := filepath.Join(t.TempDir(), "frames.gray")
	gst := startClient(t, "gst-launch-1.0", exec.Command("gst-launch-1.0", "rtmp2src", "location="+url, "num-buffers="+strconv.Itoa(30*seconds), "!",
		"flvdemux", "!", "h264parse", "!", "avdec_h264", "!", "videoconvert", "!", "video/x-raw,format=GRAY8", "!", "filesink", "location="+gstFile))
	vlcFile, vlcCmd := vlcRecorder(t, vlc, url)
	vlcRun := startClient(t, "vlc", vlcCmd)
	chrome := browser.start(t, "http://"+rs.httpAddr+"/?session=cycle&autosize=0", seconds, "", 0)

	cycle(t, steer(t, rs, "cycle"), phase, phases)

	// ffmpeg: no error (-xerror stops at the first), about 30 frames a second.
	out := ffmpeg.wait(t, 60*time.Second)
	frames := 0
	for _, l := range strings.Split(out, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") && strings.Count(l, ",") >= 5 {
			frames++
		}
	}
	if ffmpeg.err != nil || frames < 25*seconds {
		t.Errorf("ffmpeg -xerror: %v, %d frames decoded in %d s (want >= %d)\n%s", ffmpeg.err, frames, seconds, 25*seconds, tail(out))
	}
	// ffprobe: every frame decoded at the stream's size, nothing on stderr.
	out = ffprobe.wait(t, 60*time.Second)
	sizes := frameSizes(out)
	if ffprobe.err != nil || len(sizes[fmt.Sprintf("%d,%d", stillW, stillH)]) < 25*seconds || len(sizes) != 1 {
		t.Errorf("ffprobe: %v, frames by size %v\n%s", ffprobe.err, counts(sizes), tail(out))
	}
	// GStreamer: whole frames, no error or warning.
	out = gst.wait(t, 60*time.Second)
	if b, err := os.ReadFile(gstFile); gst.err != nil || err != nil || len(b)%(stillW*stillH) != 0 || len(b)/(stillW*stillH) < 20*seconds ||
		strings.Contains(out, "ERROR") || strings.Contains(out, "WARNING") {
		t.Errorf("GStreamer: %v, %d bytes (%d frames of %dx%d)\n%s", gst.err, len(b), len(b)/(stillW*stillH), stillW, stillH, tail(out))
	}
	// VLC recorded (after its 5 s of analysis) a file that decodes without error.
	vlcRun.wait(t, 60*time.Second)
	if n, out := decodeFile(t, vlcFile); n < 60 || out != "" {
		t.Errorf("VLC's recording: %d frames decoded, errors:\n%s", n, tail(out))
	}
	// Chromium: frames decoded all along, no decoder error, no keyframe asked for after
	// the start.
	res := chrome.result(t)
	checkBrowserPlayed(t, res, 20*seconds)

	st := figuresOf(t, rs, "cycle")
	t.Logf("server: %+v", st)
	if st.Repeats == 0 || st.Encodes >= st.Frames {
		t.Errorf("the server sent %v repeats, %v encodes for %v frames: still phases were encoded again", st.Repeats, st.Encodes, st.Frames)
	}
	if st.Refined < phases/2 {
		t.Errorf("%v refined frames for %d rests", st.Refined, phases/2)
	}
}

// frameSizes groups ffprobe's "width,height" lines.
func frameSizes(out string) map[string][]int {
	m := map[string][]int{}
	for i, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Split(strings.TrimSuffix(strings.TrimSpace(l), ","), ","); len(f) == 2 {
			m[f[0]+","+f[1]] = append(m[f[0]+","+f[1]], i)
		}
	}
	return m
}

func counts(m map[string][]int) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		out[k] = len(v)
	}
	return out
}

func tail(s string) string {
	if len(s) > 2000 {
		return "..." + s[len(s)-2000:]
	}
	return s
}

// decodeFile decodes a recording with ffmpeg -xerror: frames decoded, and what it printed.
func decodeFile(t *testing.T, path string) (int, string) {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-xerror", "-i", path, "-f", "framemd5", "-").CombinedOutput()
	n := 0
	var msgs []string
	for _, l := range strings.Split(string(out), "\n") {
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.Count(l, ",") >= 5:
			n++
		default:
			msgs = append(msgs, l)
		}
	}
	if err != nil {
		msgs = append(msgs, err.Error())
	}
	return n, strings.Join(msgs, "\n")
}

// vlcRecorder makes a VLC command (as nobody when root, as the compatibility test runs it)
// recording url to a TS file, which it returns.
func vlcRecorder(t *testing.T, vlc, url string) (string, *exec.Cmd) {
	t.Helper()
	dir, err := os.MkdirTemp("", "rendercast-vlc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777)
	path := filepath.Join(dir, "vlc.ts")
	args := []string{"timeout", "-s", "INT", "14", vlc, "-I", "dummy", "--no-audio", "--no-video-title-show", url,
		"--sout", "#std{access=file,mux=ts,dst=" + path + "}"}
	if os.Geteuid() == 0 {
		args = append([]string{"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	return path, cmd
}

// TestResizeMidStream changes a shared session's size while ffmpeg and ffprobe play it over
// RTMP, and while Chromium plays it over WebRTC: each sees both sizes and keeps decoding.
// Bad sizes get _error naming the argument.
func TestResizeMidStream(t *testing.T) {
	needClient(t, "ffmpeg", "ffmpeg")
	needClient(t, "ffprobe", "ffmpeg")
	rs := startStreamer(t, "-size", fmt.Sprintf("%dx%d", stillW, stillH), "-session", "rs=demo", "-max-size", "1280x720")
	url := rs.url("live/demo?session=rs")
	c := steer(t, rs, "rs")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	for _, bad := range []struct {
		w, h float64
		arg  string
	}{{321, 180, "width"}, {320, 0, "height"}, {-2, 180, "width"}, {1282, 180, "width"}, {320, 722, "height"}} {
		_, err := c.Call(ctx, "stream.setSize", nil, amf0.Object{{Key: "width", Value: bad.w}, {Key: "height", Value: bad.h}})
		var ce *rtmpclient.CallError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), `"`+bad.arg+`"`) {
			t.Errorf("stream.setSize %gx%g: %v, want _error naming %q", bad.w, bad.h, err, bad.arg)
		}
	}

	t.Run("rtmp", func(t *testing.T) {
		const seconds = 8
		ffmpeg := startClient(t, "ffmpeg", exec.Command("ffmpeg", "-v", "error", "-xerror", "-i", url, "-t", strconv.Itoa(seconds), "-f", "framemd5", "-"))
		ffprobe := startClient(t, "ffprobe", exec.Command("ffprobe", "-v", "error", "-read_intervals", "%+"+strconv.Itoa(seconds),
			"-select_streams", "v", "-show_entries", "frame=width,height", "-of", "csv=p=0", url))
		time.Sleep(3 * time.Second)
		if _, err := c.Call(ctx, "stream.setSize", nil, amf0.Object{{Key: "width", Value: 256.0}, {Key: "height", Value: 144.0}}); err != nil {
			t.Fatalf("stream.setSize 256x144: %v", err)
		}
		out := ffmpeg.wait(t, 60*time.Second)
		if ffmpeg.err != nil || strings.Count(out, "\n") < 20*seconds {
			t.Errorf("ffmpeg -xerror across the size change: %v\n%s", ffmpeg.err, tail(out))
		}
		out = ffprobe.wait(t, 60*time.Second)
		sizes := frameSizes(out)
		before, after := sizes["320,180"], sizes["256,144"]
		if ffprobe.err != nil || len(before) < 30 || len(after) < 30 || len(sizes) != 2 || before[len(before)-1] > after[0] {
			t.Errorf("ffprobe across the size change: %v, frames by size %v, want 320x180 then 256x144 (30 or more each)\n%s", ffprobe.err, counts(sizes), tail(out))
		}
		if st := figuresOf(t, rs, "rs"); st.Width != 256 || st.Height != 144 || st.Resizes != 1 {
			t.Errorf("session after the change: %dx%d, %v resizes (%v failed)", st.Width, st.Height, st.Resizes, st.ResizeFailures)
		}
	})

	t.Run("webrtc", func(t *testing.T) {
		w := newWatcher(t)
		run := w.start(t, "http://"+rs.httpAddr+"/?session=rs&autosize=0", 9, "192x108", 3)
		res := run.result(t)
		checkBrowserPlayed(t, res, 100)
		var first, last watchSample
		changed := -1
		for i, s := range res.Samples {
			if s.W == 0 {
				continue
			}
			if first.W == 0 {
				first = s
			}
			if changed < 0 && s.W == 192 && s.H == 108 {
				changed = i
			}
			last = s
		}
		if first.W != 256 || first.H != 144 || changed < 0 {
			t.Fatalf("video element sizes: first %dx%d (want 256x144), 192x108 seen: %v", first.W, first.H, changed >= 0)
		}
		at := res.Samples[changed]
		if last.W != 192 || last.Presented-at.Presented < 30 || last.T-at.T < 1 {
			t.Errorf("after the change to 192x108 the video shows %dx%d and presented %d frames in %.1f s", last.W, last.H, last.Presented-at.Presented, last.T-at.T)
		}
	})
}

// TestBrowserFollowsItsVideoElement: in a private session the page asks for its video
// element's size (device pixels, even, capped) and the stream takes it.
func TestBrowserFollowsItsVideoElement(t *testing.T) {
	w := newWatcher(t)
	rs := startStreamer(t, "-size", fmt.Sprintf("%dx%d", stillW, stillH))
	res := w.startViewport(t, "http://"+rs.httpAddr+"/", 8, "640x480").result(t)
	checkBrowserPlayed(t, res, 60)
	if res.RequestedSize == nil || res.RequestedSize.Width%2 != 0 || res.RequestedSize.Height%2 != 0 || res.RequestedSize.Width > 640 {
		t.Fatalf("the page asked for %+v (error %q), want its video element's even size", res.RequestedSize, res.SizeError)
	}
	last := res.Samples[len(res.Samples)-1]
	if last.W != res.RequestedSize.Width || last.H != res.RequestedSize.Height {
		t.Fatalf("the video is %dx%d, the page asked for %dx%d (error %q)", last.W, last.H, res.RequestedSize.Width, res.RequestedSize.Height, res.SizeError)
	}
}
