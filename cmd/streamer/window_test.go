package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestWindowWithoutDisplayIsAClearError(t *testing.T) {
	cmd := exec.Command(streamerBin, "-window", "-listen", "127.0.0.1:0", "-http", "", "-size", "320x180")
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "DISPLAY=") && !strings.HasPrefix(e, "WAYLAND_DISPLAY=") {
			env = append(env, e)
		}
	}
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("-window without a display started")
	}
	if !strings.Contains(string(out), "-window") || !strings.Contains(strings.ToLower(string(out)), "display") {
		t.Fatalf("error does not name -window and the missing display:\n%s", out)
	}
}
