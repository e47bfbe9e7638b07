package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/rendercast/rendercast/scenes"
)

// -environment NAME=FILE.hdr is repeatable, reads from YAML as a list, and refuses
// malformed and reserved names.
func TestEnvironmentFlag(t *testing.T) {
	none := func(string) string { return "" }
	c, err := parseConfig([]string{"-environment", "sky=/x/sky.hdr", "-environment", "hall=/y/hall.hdr"}, none, discard{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Environments) != 2 || c.Environments[0] != (sceneFile{Name: "sky", Path: "/x/sky.hdr"}) || c.Environments[1].Name != "hall" {
		t.Fatalf("environments %+v", c.Environments)
	}
	file := t.TempDir() + "/c.yaml"
	if err := writeFile(file, "environment:\n  - a=/a.hdr\n  - b=/b.hdr\n"); err != nil {
		t.Fatal(err)
	}
	if c, err = parseConfig([]string{"-config", file}, none, discard{}); err != nil || len(c.Environments) != 2 || c.Environments[1].Path != "/b.hdr" {
		t.Fatalf("from YAML: %+v %v", c.Environments, err)
	}
	for _, bad := range []string{"sky", "=x.hdr", "sky=", "bad name=x.hdr", "studio=x.hdr", "none=x.hdr"} {
		if _, err := parseConfig([]string{"-environment", bad}, none, discard{}); err == nil || !strings.Contains(err.Error(), "-environment") {
			t.Errorf("-environment %q: %v, want an error naming -environment", bad, err)
		}
	}
}

// A broken or missing HDR file stops the start with an error naming the flag and the file.
func TestEnvironmentFileRefused(t *testing.T) {
	dir := t.TempDir()
	broken := dir + "/broken.hdr"
	if err := writeFile(broken, "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 64 +X 128\n\x02\x02\x00\x80\x85"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{
		{broken, "truncated"},
		{dir + "/missing.hdr", "no such file"},
	} {
		out, err := exec.Command(streamerBin, "-environment", "sky="+c.path, "-listen", "127.0.0.1:0", "-http", "").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "-environment sky="+c.path) || !strings.Contains(string(out), c.want) ||
			!strings.Contains(string(out), "bad HDR file") {
			t.Errorf("%s: err %v, output %q: want a refusal naming the flag, the file and %q", c.path, err, out, c.want)
		}
	}
}

// A configured environment is there for scene.setEnvironment over RTMP (the streamer's own
// call command), beside the built-in studio; unknown names are refused with the list.
func TestEnvironmentCall(t *testing.T) {
	dir := t.TempDir()
	img := &scenes.HDRImage{Width: 64, Height: 32, Pix: make([]float32, 3*64*32)}
	for i := range img.Pix {
		img.Pix[i] = float32(i%7) / 3
	}
	var buf bytes.Buffer
	if err := scenes.EncodeHDR(&buf, img, true); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(dir+"/sky.hdr", buf.String()); err != nil {
		t.Fatal(err)
	}
	rs := startStreamer(t, "-size", "320x180", "-environment", "sky="+dir+"/sky.hdr")
	for _, name := range []string{"sky", "studio", "none"} {
		out, err := exec.Command(streamerBin, "call", rs.url("live/demo"), "scene.setEnvironment", "name="+name, "background=true").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "version") {
			t.Fatalf("scene.setEnvironment %s: %v\n%s", name, err, out)
		}
	}
	out, err := exec.Command(streamerBin, "call", rs.url("live/demo"), "scene.setEnvironment", "name=nope").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "unknown environment") || !strings.Contains(string(out), "sky") {
		t.Fatalf("unknown environment: err %v, output %q", err, out)
	}
}
