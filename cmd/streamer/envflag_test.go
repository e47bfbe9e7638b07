package main

import (
	"os/exec"
	"strings"
	"testing"
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
