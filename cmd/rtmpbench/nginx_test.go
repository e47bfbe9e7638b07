package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestNginxConfig(t *testing.T) {
	dir := t.TempDir()
	conf := nginxConfig{Dir: dir, Port: 19350, Module: "/usr/lib/nginx/modules/ngx_rtmp_module.so", App: "live"}.render()
	for _, want := range []string{
		"load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;",
		"daemon off;",
		"master_process off;",
		"pid " + filepath.Join(dir, "nginx.pid") + ";",
		"error_log " + filepath.Join(dir, "error.log") + " info;",
		"listen 127.0.0.1:19350;",
		"application live {",
		"live on;",
		"record off;",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("config lacks %q:\n%s", want, conf)
		}
	}
	// Nothing outside the directory (but the module) is named, and nothing listens beyond
	// loopback.
	for _, line := range strings.Split(conf, "\n") {
		f := strings.Fields(strings.TrimSuffix(strings.TrimSpace(line), ";"))
		for _, w := range f[min(1, len(f)):] {
			if strings.HasPrefix(w, "/") && !strings.HasPrefix(w, dir) && f[0] != "load_module" {
				t.Errorf("path outside %s: %q", dir, line)
			}
		}
		if len(f) > 1 && f[0] == "listen" && !strings.HasPrefix(f[1], "127.0.0.1:") {
			t.Errorf("listens beyond loopback: %q", line)
		}
	}
	if strings.Count(conf, "{") != strings.Count(conf, "}") {
		t.Errorf("unbalanced braces:\n%s", conf)
	}
}

// TestNginxAcceptsConfig has nginx itself check the generated file (nginx -t), when nginx
// and its RTMP module are installed.
func TestNginxAcceptsConfig(t *testing.T) {
	bin := nginxBinary()
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no nginx: %v", err)
	}
	if _, err := os.Stat(debianRTMPModule); err != nil {
		t.Skipf("no RTMP module: %v", err)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConfig{Dir: dir, Port: 19350, Module: debianRTMPModule, App: "live"}.render()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-t", "-p", dir+"/", "-c", conf, "-e", filepath.Join(dir, "error.log")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "test is successful") {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
}

func TestPublisherArgs(t *testing.T) {
	args := altConfig{Width: 1280, Height: 720, FPS: 30, BitrateKbps: 4000, GOP: 2e9}.publisherArgs("rtmp://127.0.0.1:1/live/x")
	s := strings.Join(args, " ")
	for _, want := range []string{"-video_size 1280x720", "-framerate 30", "-c:v libx264", "-preset ultrafast", "-tune zerolatency",
		"-b:v 4000k", "-maxrate 4000k", "-bufsize 400k", "-g 60", "-bf 0", "-f flv rtmp://127.0.0.1:1/live/x"} {
		if !strings.Contains(s, want) {
			t.Errorf("publisher args lack %q: %s", want, s)
		}
	}
	if got := shellQuote([]string{"ffmpeg", "-i", "a b", "it's"}); got != `ffmpeg -i 'a b' 'it'\''s'` {
		t.Errorf("shellQuote: %s", got)
	}
}
