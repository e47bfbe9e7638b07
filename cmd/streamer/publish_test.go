package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rendercast/rendercast/internal/nginxtest"
)

// top returns the colour of a pixel at the top middle of a decoded picture (background).
func top(rgb []byte, w int) (r, g, b byte) { return nginxtest.Pixel(rgb, w, w/2, 4) }

// A shared session published to a real nginx-rtmp on loopback: ffprobe reads it from
// nginx; a call on the session reaches a player behind nginx; nginx restarted is published
// to again.
func TestPublishToNginx(t *testing.T) {
	ng := nginxtest.Start(t, nginxtest.Options{})
	target := ng.URL("live", "show")
	rs := startStreamer(t, "-size", "320x240", "-fps", "15", "-session", "show=demo", "-publish", "show="+target)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	vs, err := nginxtest.Probe(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	if vs.Codec != "h264" || vs.Width != 320 || vs.Height != 240 {
		t.Fatalf("nginx serves %+v, want h264 320x240", vs)
	}
	out, err := exec.CommandContext(ctx, streamerBin, "call", rs.url("live/demo?session=show"), "scene.setBackground", "r=1", "g=0", "b=0").CombinedOutput()
	if err != nil {
		t.Fatalf("call: %v\n%s", err, out)
	}
	pics, err := nginxtest.DecodeRGB(ctx, target, 3, 320, 240)
	if err != nil {
		t.Fatal(err)
	}
	if r, g, b := top(pics[len(pics)-1], 320); r < 200 || g > 60 || b > 60 {
		t.Fatalf("behind nginx the top of the picture is %d,%d,%d after scene.setBackground red", r, g, b)
	}

	ng.Restart()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		st := publishState(t, rs)
		last = st
		if st == "publishing" {
			if _, err := nginxtest.Probe(ctx, target); err == nil {
				break
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	if last != "publishing" {
		t.Fatalf("after nginx restarted the publisher is %q", last)
	}
	pics, err = nginxtest.DecodeRGB(ctx, target, 2, 320, 240)
	if err != nil {
		t.Fatalf("after nginx restarted: %v", err)
	}
	if r, _, _ := top(pics[0], 320); r < 200 {
		t.Fatalf("after the restart the picture is not the session's (red) picture")
	}
}

// publishState reads the state of the first publishing target from /status.json, with
// its connect count checked to be sane.
func publishState(t *testing.T, rs *runningStreamer) string {
	t.Helper()
	resp, err := http.Get("http://" + rs.httpAddr + "/status.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Sessions []struct {
			Name    string `json:"name"`
			Publish []struct {
				State string `json:"state"`
				URL   string `json:"url"`
			} `json:"publish"`
		} `json:"sessions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	for _, s := range st.Sessions {
		if s.Name == "show" && len(s.Publish) > 0 {
			if strings.Contains(s.Publish[0].URL, "show") {
				t.Fatalf("status shows the whole stream name (a key, for ingest services): %s", s.Publish[0].URL)
			}
			return s.Publish[0].State
		}
	}
	return ""
}

// session.publish needs the control token and a URL under -publish-allow; bad -publish
// values are refused at start.
func TestPublishCallsAndFlags(t *testing.T) {
	ng := nginxtest.Start(t, nginxtest.Options{})
	target := ng.URL("live", "bycall")
	rs := startStreamer(t, "-size", "320x240", "-fps", "15", "-session", "show=demo",
		"-control-token", "ctl", "-publish-allow", "rtmp://"+ng.Addr()+"/live/")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	call := func(args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, streamerBin, append([]string{"call"}, args...)...).CombinedOutput()
		return string(out), err
	}
	url := rs.url("live/demo?session=show")
	if out, err := call(url, "session.publish", "url="+target); err == nil || !strings.Contains(out, "control token") {
		t.Fatalf("session.publish without the control token: %v %s", err, out)
	}
	if out, err := call("-control-token", "ctl", url, "session.publish", "url=rtmp://127.0.0.2:1/live/x"); err == nil || !strings.Contains(out, "publish-allow") {
		t.Fatalf("session.publish outside -publish-allow: %v %s", err, out)
	}
	if out, err := call("-control-token", "ctl", url, "session.publish", "url="+target); err != nil {
		t.Fatalf("session.publish: %v %s", err, out)
	}
	if vs, err := nginxtest.Probe(ctx, target); err != nil || vs.Width != 320 {
		t.Fatalf("nginx after session.publish: %+v %v", vs, err)
	}
	if out, err := call("-control-token", "ctl", url, "session.unpublish", "url="+target); err != nil {
		t.Fatalf("session.unpublish: %v %s", err, out)
	}
	if out, err := call("-control-token", "ctl", url, "session.unpublish", "url="+target); err == nil || !strings.Contains(out, "not published") {
		t.Fatalf("second session.unpublish: %v %s", err, out)
	}

	for _, bad := range [][]string{
		{"-publish", "show=http://x/a/b"},
		{"-session", "show=demo", "-publish", "show=rtmp://host"},
		{"-publish", "nosuch=rtmp://127.0.0.1:1/live/x"},
	} {
		out, err := exec.Command(streamerBin, append([]string{"-listen", "127.0.0.1:0", "-http", ""}, bad...)...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "-publish") {
			t.Errorf("%v: %v, want a refusal naming -publish:\n%s", bad, err, out)
		}
	}
}
