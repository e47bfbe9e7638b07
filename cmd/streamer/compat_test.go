package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The compatibility matrix: RTMP clients written elsewhere play the real binary, and one
// of them (python-librtmp) sends calls. Each client runs a few seconds; a missing client
// fails its test naming the Debian package to install (scripts/setup.sh installs them).
// The README's client table names these tests.

const (
	compatW, compatH = 320, 180
	compatFrame      = compatW * compatH // bytes of one GRAY8 frame
)

// syncBuffer collects a child's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// needClient fails the test when a client program is missing, naming its package.
func needClient(t *testing.T, program, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err != nil {
		t.Fatalf("%s not found: install the Debian package %s (scripts/setup.sh does)", program, pkg)
	}
	return path
}

// probeRecording decodes a recorded file with ffprobe and returns its video codec, size and
// decoded frame count.
func probeRecording(t *testing.T, path string) (codec string, w, h, frames int) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
		"-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var v struct {
		Streams []struct {
			Codec  string `json:"codec_name"`
			Width  int    `json:"width"`
			Height int    `json:"height"`
			Frames string `json:"nb_read_frames"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &v); err != nil || len(v.Streams) != 1 {
		t.Fatalf("ffprobe %s: %v %s", path, err, out)
	}
	s := v.Streams[0]
	n, _ := strconv.Atoi(s.Frames)
	return s.Codec, s.Width, s.Height, n
}

// requireRecording checks a recording: H.264 of the streamer's size, at least min frames
// that decode.
func requireRecording(t *testing.T, client, path string, min int) {
	t.Helper()
	codec, w, h, n := probeRecording(t, path)
	if codec != "h264" || w != compatW || h != compatH || n < min {
		t.Fatalf("%s recorded %s %dx%d, %d frames decoded; want h264 %dx%d, at least %d frames", client, codec, w, h, n, compatW, compatH, min)
	}
}

// runFor starts cmd, lets it run for d, then interrupts it (players close their files
// properly on SIGINT) and waits for it.
func runFor(t *testing.T, cmd *exec.Cmd, d time.Duration) string {
	t.Helper()
	return runUntil(t, cmd, "", d)
}

// runUntil starts cmd; once file (if not empty) has data it lets it run for d more, then
// interrupts it and waits for it. It fails the test when cmd ends early or file stays
// empty for 30 s.
func runUntil(t *testing.T, cmd *exec.Cmd, file string, d time.Duration) string {
	t.Helper()
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", cmd.Path, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stop := func() {
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	if file != "" {
		start := time.Now()
		for {
			if st, err := os.Stat(file); err == nil && st.Size() > 0 {
				break
			}
			select {
			case err := <-done:
				t.Fatalf("%s ended early: %v\n%s", cmd.Path, err, out.String())
			case <-time.After(50 * time.Millisecond):
			}
			if time.Since(start) > 30*time.Second {
				stop()
				t.Fatalf("%s wrote nothing to %s in 30 s\n%s", cmd.Path, file, out.String())
			}
		}
	}
	select {
	case err := <-done:
		t.Fatalf("%s ended early: %v\n%s", cmd.Path, err, out.String())
	case <-time.After(d):
	}
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-done
	}
	return out.String()
}

func TestCompatibilityMatrix(t *testing.T) {
	rs := startStreamer(t, "-size", strconv.Itoa(compatW)+"x"+strconv.Itoa(compatH))
	url := rs.url("live/demo")

	t.Run("ffprobe", func(t *testing.T) {
		needClient(t, "ffprobe", "ffmpeg")
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-read_intervals", "%+2", "-select_streams", "v",
			"-show_entries", "stream=codec_name,profile,width,height:packet=flags", "-of", "json", url).Output()
		if err != nil {
			t.Fatalf("ffprobe %s: %v", url, err)
		}
		var v struct {
			Streams []struct {
				Codec   string `json:"codec_name"`
				Profile string `json:"profile"`
				Width   int    `json:"width"`
				Height  int    `json:"height"`
			} `json:"streams"`
			Packets []struct {
				Flags string `json:"flags"`
			} `json:"packets"`
		}
		if err := json.Unmarshal(out, &v); err != nil || len(v.Streams) != 1 {
			t.Fatalf("ffprobe: %v %s", err, out)
		}
		if s := v.Streams[0]; s.Codec != "h264" || s.Width != compatW || s.Height != compatH {
			t.Fatalf("ffprobe sees %+v, want h264 %dx%d", s, compatW, compatH)
		}
		if len(v.Packets) < 30 || !strings.HasPrefix(v.Packets[0].Flags, "K") {
			t.Fatalf("ffprobe read %d packets in 2 s (first flags %q), want >= 30 starting with a keyframe", len(v.Packets), v.Packets[0].Flags)
		}
	})

	// libavformat's FLV demuxer (ffmpeg, ffplay, ffprobe, VLC) waits its whole analysis time
	// for an audio stream unless the metadata says there is none, and reads metadata with a
	// non-zero timestamp as a subtitle stream. With a 60 s analysis time, a first picture
	// within 30 s and a single stream prove neither happens.
	t.Run("ffmpeg-no-audio-wait", func(t *testing.T) {
		needClient(t, "ffmpeg", "ffmpeg")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-analyzeduration", "60000000", "-i", url,
			"-frames:v", "1", "-f", "null", "-").CombinedOutput()
		if ctx.Err() != nil {
			t.Fatal("ffmpeg had no picture within 30 s with a 60 s analysis time: the demuxer waited for a stream that never comes")
		}
		if err != nil {
			t.Fatalf("ffmpeg: %v\n%s", err, out)
		}
		ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel2()
		out, err = exec.CommandContext(ctx2, "ffprobe", "-v", "error", "-analyzeduration", "60000000",
			"-show_entries", "stream=codec_type", "-of", "csv=p=0", url).Output()
		if err != nil {
			t.Fatalf("ffprobe: %v", err)
		}
		if got := strings.Fields(string(out)); len(got) != 1 || got[0] != "video" {
			t.Fatalf("ffprobe sees streams %q, want only the video stream", got)
		}
	})

	t.Run("rtmpdump", func(t *testing.T) {
		needClient(t, "rtmpdump", "rtmpdump")
		path := filepath.Join(t.TempDir(), "rtmpdump.flv")
		runFor(t, exec.Command("rtmpdump", "-q", "--live", "-r", url, "-o", path), 2500*time.Millisecond)
		requireRecording(t, "rtmpdump", path, 30)
	})

	t.Run("gstreamer-rtmp2src", func(t *testing.T) {
		needClient(t, "gst-launch-1.0", "gstreamer1.0-tools")
		for _, e := range [][2]string{{"rtmp2src", "gstreamer1.0-plugins-bad"}, {"flvdemux", "gstreamer1.0-plugins-good"},
			{"h264parse", "gstreamer1.0-plugins-bad"}, {"avdec_h264", "gstreamer1.0-libav"}, {"videoconvert", "gstreamer1.0-plugins-base"}} {
			if out, err := exec.Command("gst-inspect-1.0", e[0]).CombinedOutput(); err != nil {
				t.Fatalf("GStreamer has no %s: install the Debian package %s (scripts/setup.sh does)\n%s", e[0], e[1], out)
			}
		}
		path := filepath.Join(t.TempDir(), "frames.gray")
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		// rtmp2src ends the stream after 45 FLV tags (metadata, sequence header, frames).
		out, err := exec.CommandContext(ctx, "gst-launch-1.0", "-v", "rtmp2src", "location="+url, "num-buffers=45", "!",
			"flvdemux", "!", "h264parse", "!", "avdec_h264", "!", "videoconvert", "!", "video/x-raw,format=GRAY8", "!",
			"filesink", "location="+path).CombinedOutput()
		if err != nil {
			t.Fatalf("gst-launch-1.0: %v\n%s", err, out)
		}
		caps := regexp.MustCompile(`filesink0\.GstPad:sink: caps = video/x-raw, width=\(int\)(\d+), height=\(int\)(\d+)`).FindSubmatch(out)
		if caps == nil || string(caps[1]) != strconv.Itoa(compatW) || string(caps[2]) != strconv.Itoa(compatH) {
			t.Fatalf("decoded caps %q, want %dx%d\n%s", caps, compatW, compatH, out)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(b)%compatFrame != 0 || len(b)/compatFrame < 30 {
			t.Fatalf("GStreamer decoded %d bytes: %d frames of %dx%d and %d bytes over; want >= 30 whole frames", len(b), len(b)/compatFrame, compatW, compatH, len(b)%compatFrame)
		}
		if f := b[len(b)-compatFrame:]; bytes.Count(f, f[:1]) == len(f) {
			t.Fatal("GStreamer's last frame is uniform")
		}
	})

	t.Run("vlc", func(t *testing.T) {
		vlc := needClient(t, "cvlc", "vlc-bin")
		if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/vlc/plugins/access/libavio_plugin.so"); err != nil {
			if matches, _ := filepath.Glob("/usr/lib/*/vlc/plugins/access/libavio_plugin.so"); len(matches) == 0 {
				t.Fatal("VLC has no avio access module (its RTMP client): install the Debian package vlc-plugin-base (scripts/setup.sh does)")
			}
		}
		// VLC refuses to run as root: run it as nobody, writing into a folder nobody may
		// write to.
		dir, err := os.MkdirTemp("", "rendercast-vlc")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		os.Chmod(dir, 0o777)
		path := filepath.Join(dir, "vlc.ts")
		args := []string{vlc, "-I", "dummy", "--no-audio", "--no-video-title-show", url,
			"--sout", "#std{access=file,mux=ts,dst=" + path + "}"}
		if os.Geteuid() == 0 {
			args = append([]string{"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"}, args...)
		}
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = append(os.Environ(), "HOME="+dir)
		// VLC (libavformat) analyses a video-only live FLV stream for 5 s before it plays.
		runUntil(t, cmd, path, 3*time.Second)
		requireRecording(t, "VLC", path, 30)
	})

	t.Run("python-librtmp", func(t *testing.T) {
		py := "/usr/bin/python3"
		if _, err := os.Stat(py); err != nil {
			py = needClient(t, "python3", "python3")
		}
		if out, err := exec.Command(py, "-c", "import librtmp").CombinedOutput(); err != nil {
			t.Fatalf("%s cannot import librtmp: install the Debian package python3-librtmp (scripts/setup.sh does)\n%s", py, out)
		}
		flv := filepath.Join(t.TempDir(), "after.flv")
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, py, "-c", pythonLibrtmpClient, url, flv)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("python-librtmp client: %v\n%s", err, stderr.String())
		}
		var res struct {
			Before, Orbit, After map[string]any
			Info                 map[string]any
		}
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("python-librtmp client printed %q: %v", out, err)
		}
		num := func(m map[string]any, k string) float64 {
			f, ok := m[k].(float64)
			if !ok {
				t.Fatalf("%s missing from %v", k, m)
			}
			return f
		}
		if d := num(res.After, "yaw") - num(res.Before, "yaw"); d < 29.99 || d > 30.01 {
			t.Errorf("camera.orbit {dx: 30} turned yaw by %g (before %v, after %v)", d, res.Before, res.After)
		}
		if d := num(res.After, "pitch") - num(res.Before, "pitch"); d < 5.49 || d > 5.51 {
			t.Errorf("camera.orbit {dy: 5.5} changed pitch by %g", d)
		}
		if num(res.Orbit, "yaw") != num(res.After, "yaw") {
			t.Errorf("camera.orbit answered %v, camera.get then %v", res.Orbit, res.After)
		}
		if v, _ := res.Info["version"].(string); v == "" {
			t.Errorf("server.info without version: %v", res.Info)
		}
		// What the connection received after scene.setBackground {r: 1, g: 0, b: 0}: its
		// last decoded frame has a red corner.
		rgb, err := exec.Command("ffmpeg", "-v", "error", "-i", flv, "-vf", "crop=32:32:0:0", "-pix_fmt", "rgb24", "-f", "rawvideo", "-").Output()
		if err != nil || len(rgb) < 32*32*3 {
			t.Fatalf("decoding python-librtmp's stream: %v (%d bytes)", err, len(rgb))
		}
		var sum [3]float64
		last := rgb[len(rgb)-32*32*3:]
		for i := 0; i < len(last); i += 3 {
			for c := range 3 {
				sum[c] += float64(last[i+c])
			}
		}
		r, g, b := sum[0]/1024, sum[1]/1024, sum[2]/1024
		if r < 180 || g > 80 || b > 80 {
			t.Fatalf("corner after scene.setBackground red: rgb %.0f %.0f %.0f, want red", r, g, b)
		}
	})
}

// pythonLibrtmpClient plays URL with python-librtmp, sends calls on the same connection
// (NetConnection.call with an AMF0 object argument), records what it receives after
// scene.setBackground to FILE, and prints the call results as JSON.
const pythonLibrtmpClient = `
import json, sys, time, librtmp
url, path = sys.argv[1], sys.argv[2]
conn = librtmp.RTMP(url, live=True, timeout=20)
conn.connect()
stream = conn.create_stream()
with open(path, "wb") as f:
    f.write(stream.read(4096))
    res = {}
    res["Before"] = conn.call("camera.get").result(timeout=20)
    res["Orbit"] = conn.call("camera.orbit", {"dx": 30, "dy": 5.5}).result(timeout=20)
    res["After"] = conn.call("camera.get").result(timeout=20)
    res["Info"] = conn.call("server.info").result(timeout=20)
    conn.call("scene.setBackground", {"r": 1, "g": 0, "b": 0}).result(timeout=20)
    conn.call("stream.keyframe").result(timeout=20)
    end = time.time() + 2
    while time.time() < end:
        f.write(stream.read(65536))
conn.close()
json.dump(res, sys.stdout)
`
