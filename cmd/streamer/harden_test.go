package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestAdminSettings(t *testing.T) {
	none := func(string) string { return "" }
	c, err := parseConfig(nil, none, discard{})
	if err != nil || c.AdminListen != "" || c.AdminToken != "" {
		t.Fatalf("defaults: %v %q %q", err, c.AdminListen, c.AdminToken)
	}
	env := map[string]string{"STREAMER_ADMIN_LISTEN": "127.0.0.1:9090", "STREAMER_ADMIN_TOKEN": "e"}
	c, err = parseConfig(nil, func(k string) string { return env[k] }, discard{})
	if err != nil || c.AdminListen != "127.0.0.1:9090" || c.AdminToken != "e" {
		t.Fatalf("environment: %v %q %q", err, c.AdminListen, c.AdminToken)
	}
	c, err = parseConfig([]string{"-admin-listen", ":9091", "-admin-token", "f"}, func(k string) string { return env[k] }, discard{})
	if err != nil || c.AdminListen != ":9091" || c.AdminToken != "f" {
		t.Fatalf("flags over the environment: %v %q %q", err, c.AdminListen, c.AdminToken)
	}
	if _, err := parseConfig([]string{"-admin-listen", "nowhere"}, none, discard{}); err == nil || !strings.Contains(err.Error(), "-admin-listen") {
		t.Fatalf("-admin-listen nowhere: %v, want an error naming the flag", err)
	}
}

// logLine waits until the streamer's log has a JSON line whose msg is msg, and returns it.
func (rs *runningStreamer) logLine(t *testing.T, msg string, within time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		b, _ := os.ReadFile(rs.logPath)
		for _, line := range bytes.Split(b, []byte("\n")) {
			var m map[string]any
			if json.Unmarshal(line, &m) == nil && m["msg"] == msg {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the streamer's log within %v", msg, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func httpStatus(t *testing.T, url, bearer string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// The binary with -admin-listen and -admin-token: /metrics only on the admin address, only
// with the token.
func TestAdminListener(t *testing.T) {
	rs := startStreamer(t, "-admin-listen", "127.0.0.1:0", "-admin-token", "adm1n", "-size", "320x240")
	admin, _ := rs.logLine(t, "admin listening", 10*time.Second)["addr"].(string)
	if admin == "" {
		t.Fatal("the admin listener logged no address")
	}
	for _, c := range []struct {
		url, token string
		want       int
	}{
		{"http://" + rs.httpAddr + "/metrics", "adm1n", http.StatusNotFound},
		{"http://" + rs.httpAddr + "/status.json", "adm1n", http.StatusNotFound},
		{"http://" + rs.httpAddr + "/healthz", "", http.StatusOK},
		{"http://" + admin + "/metrics", "", http.StatusUnauthorized},
		{"http://" + admin + "/metrics", "adm1n", http.StatusOK},
		{"http://" + admin + "/status.json?token=adm1n", "", http.StatusOK},
		{"http://" + admin + "/healthz", "", http.StatusOK},
	} {
		if got := httpStatus(t, c.url, c.token); got != c.want {
			t.Errorf("GET %s (token %q): %d, want %d", c.url, c.token, got, c.want)
		}
	}
}

// FFmpeg's own messages go through the streamer's logger: every line it writes on standard
// error is JSON, x264's statistics come at debug level when a viewer's encoder closes, and
// the NVENC probe of -encoder auto says plainly that the driver is missing.
func TestFFmpegMessagesAreStructuredLogs(t *testing.T) {
	rs := startStreamer(t, "-size", "320x240", "-encoder", "auto")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-v", "error", "-i", rs.url("live/demo"),
		"-frames:v", "15", "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	// The viewer's encoder closes when its session ends, after ffmpeg leaves.
	deadline := time.Now().Add(30 * time.Second)
	var statsLines, nvenc int
	var raw []string
	for {
		statsLines, nvenc, raw = 0, 0, nil
		f, err := os.Open(rs.logPath)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) != nil {
				raw = append(raw, sc.Text())
				continue
			}
			msg, _ := m["msg"].(string)
			if m["part"] == "ffmpeg" && m["component"] == "libx264" && m["level"] == "DEBUG" &&
				(strings.HasPrefix(msg, "frame I:") || strings.HasPrefix(msg, "kb/s:")) {
				statsLines++
			}
			if m["part"] == "ffmpeg" && m["component"] == "h264_nvenc" && m["level"] == "DEBUG" && strings.HasPrefix(msg, "NVENC unavailable") {
				nvenc++
			}
		}
		f.Close()
		if statsLines >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(raw) > 0 {
		t.Errorf("%d lines on standard error are not JSON, first: %q", len(raw), raw[0])
	}
	if statsLines < 2 {
		t.Errorf("x264's statistics (frame I:, kb/s:) not logged at DEBUG with part=ffmpeg component=libx264")
	}
	// Where the NVIDIA driver is installed NVENC may open (then FFmpeg has nothing to say), or
	// fail for another reason, logged as FFmpeg words it.
	if enc, _ := rs.logLine(t, "encoder ready", 0)["encoder"].(string); enc == "libx264" && nvenc < 1 && noNVIDIADriver() {
		t.Errorf("the NVENC probe's missing NVIDIA driver not logged at DEBUG as NVENC unavailable (component h264_nvenc)")
	}
}

// noNVIDIADriver reports whether the dynamic loader knows no libcuda.so.1.
func noNVIDIADriver() bool {
	out, err := exec.Command("/sbin/ldconfig", "-p").Output()
	return err == nil && !strings.Contains(string(out), "libcuda.so.1")
}
