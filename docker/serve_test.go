package docker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"

	"github.com/rendercast/rendercast/internal/playtest"
	"github.com/rendercast/rendercast/rtmpclient"
)

func checkServe(t *testing.T, root string, info *imageInfo) {
	// Loopback on ports the kernel picks, so that tests running in parallel never collide;
	// JSON logs to learn them. Everything else is the image's defaults.
	c := startContainer(t, root, info, map[string]string{
		"STREAMER_LISTEN":     "127.0.0.1:0",
		"STREAMER_HTTP":       "127.0.0.1:0",
		"STREAMER_LOG_FORMAT": "json",
	})
	t.Logf("streamer from the image: PID %d, RTMP %s, HTTP %s", c.pid, c.rtmpAddr, c.httpAddr)

	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.pid))
	if err != nil {
		t.Fatal(err)
	}
	wantUID, _, _ := lookupUser(t, root, info.Config.User)
	nspid := false
	for _, line := range strings.Split(string(status), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "NSpid:":
			nspid = true
			if f[len(f)-1] != "1" {
				t.Errorf("the streamer is PID %s in its namespace, want 1 (%s)", f[len(f)-1], line)
			}
		case len(f) == 5 && f[0] == "Uid:" && (f[1] != strconv.Itoa(wantUID) || f[2] != f[1] || wantUID == 0):
			t.Errorf("the streamer runs as %q, want the image's user (uid %d)", line, wantUID)
		}
	}
	if !nspid {
		t.Errorf("/proc/%d/status has no NSpid line: cannot tell that the streamer is PID 1", c.pid)
	}

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + c.httpAddr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/readyz"); code != http.StatusOK || !strings.Contains(body, `"ready":true`) {
		t.Errorf("/readyz: %d %s", code, body)
	} else {
		t.Logf("/readyz: %s", strings.TrimSpace(body))
	}

	t.Run("FFprobe", func(t *testing.T) {
		url := "rtmp://" + c.rtmpAddr + "/live/demo"
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-select_streams", "v:0",
			"-show_entries", "stream=codec_name,width,height", "-of", "json", url).Output()
		if err != nil {
			t.Fatalf("ffprobe %s: %v", url, err)
		}
		var probe struct {
			Streams []struct {
				Codec  string `json:"codec_name"`
				Width  int    `json:"width"`
				Height int    `json:"height"`
			} `json:"streams"`
		}
		if err := json.Unmarshal(out, &probe); err != nil || len(probe.Streams) != 1 {
			t.Fatalf("ffprobe: %v\n%s", err, out)
		}
		if s := probe.Streams[0]; s.Codec != "h264" || s.Width != 1280 || s.Height != 720 {
			t.Fatalf("ffprobe: %s %dx%d, want h264 1280x720 (the image's default size)", s.Codec, s.Width, s.Height)
		}
		// ffmpeg decodes 30 whole pictures.
		const frames, frameBytes = 30, 1280 * 720 * 3 / 2
		raw, err := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-i", url,
			"-frames:v", strconv.Itoa(frames), "-f", "rawvideo", "-pix_fmt", "yuv420p", "-").Output()
		if err != nil {
			t.Fatalf("ffmpeg %s: %v", url, err)
		}
		if len(raw) != frames*frameBytes {
			t.Fatalf("ffmpeg decoded %d bytes, want %d frames of 1280x720 (%d bytes)", len(raw), frames, frames*frameBytes)
		}
	})

	// A viewer that steers its view: the call turns the background red in later frames.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	v := playtest.Play(t, ctx, "rtmp://"+c.rtmpAddr+"/live/demo", rtmpclient.Options{})
	t.Run("CallChangesThePicture", func(t *testing.T) {
		if img := v.Next(ctx); playtest.IsRed(img) {
			t.Fatal("the corner is red before the call")
		}
		if _, err := v.C.Call(ctx, "scene.setBackground", nil, amf0.Object{{Key: "r", Value: 1.0}, {Key: "g", Value: 0.0}, {Key: "b", Value: 0.0}}); err != nil {
			t.Fatalf("scene.setBackground: %v", err)
		}
		for i := 0; i < 60; i++ {
			img := v.Next(ctx)
			if playtest.IsRed(img) {
				if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 720 {
					t.Fatalf("decoded %v, want 1280x720", b)
				}
				return
			}
		}
		y, cb, cr := playtest.Corner(v.Next(ctx))
		t.Fatalf("corner not red within 60 frames of scene.setBackground: Y %.0f Cb %.0f Cr %.0f", y, cb, cr)
	})

	t.Run("LoadedLibraries", func(t *testing.T) {
		// What the streamer really has mapped while it streams: Mesa's llvmpipe on this
		// CPU-only machine, through glvnd.
		maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", c.pid))
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		var size int64
		for _, line := range strings.Split(string(maps), "\n") {
			f := strings.Fields(line)
			if len(f) < 6 || !strings.HasPrefix(f[5], "/") || seen[f[5]] {
				continue
			}
			seen[f[5]] = true
			// The host sees the chrooted process's files under the unpacked image.
			if fi, err := os.Stat(f[5]); err == nil && strings.HasPrefix(f[5], root+"/") {
				size += fi.Size()
			} else {
				t.Errorf("mapped file %s: not in the unpacked image (%v)", f[5], err)
			}
		}
		for _, want := range []string{"libEGL.so.1", "libEGL_mesa.so.0", "swrast_dri.so", "libavcodec.so.59", "libx264.so"} {
			found := false
			for p := range seen {
				found = found || strings.Contains(filepath.Base(p), want)
			}
			if !found {
				t.Errorf("%s is not loaded by the streaming streamer", want)
			}
		}
		t.Logf("the streamer maps %d files, %.0f MiB on disk", len(seen), float64(size)/(1<<20))
	})

	t.Run("HealthCheck", func(t *testing.T) {
		cmd := info.HealthCheck.Test[1:]
		out, err := runInImage(t, root, info, map[string]string{"STREAMER_HTTP": c.httpAddr}, cmd...)
		if err != nil || !strings.HasPrefix(string(out), "ok") {
			t.Fatalf("%q with STREAMER_HTTP=%s: %v\n%s", cmd, c.httpAddr, err, out)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := l.Addr().String()
		l.Close()
		out, err = runInImage(t, root, info, map[string]string{"STREAMER_HTTP": closed}, cmd...)
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "unhealthy") {
			t.Fatalf("%q against a closed port: %v, want exit status 1 saying unhealthy\n%s", cmd, err, out)
		}
	})

	t.Run("SIGTERM", func(t *testing.T) {
		// The streamer is PID 1: only signals it handles reach it. A viewer is still playing.
		start := time.Now()
		if err := syscall.Kill(c.pid, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-c.exited:
			c.exited <- err
			if err != nil {
				t.Fatalf("exit after SIGTERM: %v, want status 0\n%s", err, tail([]byte(c.logText()), 20))
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("shutdown took %v, want under 5 s", d)
			}
			if !strings.Contains(c.logText(), `"msg":"shutting down"`) {
				t.Fatalf("the streamer exited without its graceful shutdown:\n%s", tail([]byte(c.logText()), 20))
			}
			t.Logf("stopped %.1f s after SIGTERM", time.Since(start).Seconds())
		case <-time.After(15 * time.Second):
			t.Fatal("the image's streamer still runs 15 s after SIGTERM")
		}
	})
}
