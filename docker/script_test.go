package docker_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// toolDir returns a directory holding links to the named host commands only: a PATH on
// which everything else is missing.
func toolDir(t *testing.T, tools ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, tool := range tools {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("%s: %v (scripts/setup.sh installs it)", tool, err)
		}
		if err := os.Symlink(p, filepath.Join(dir, tool)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestImageScriptSaysWhatIsMissing(t *testing.T) {
	requireTools(t)
	run := func(path string, env ...string) (string, int) {
		cmd := exec.Command("/bin/bash", "../scripts/image.sh")
		cmd.Env = append([]string{"PATH=" + path, "HOME=" + t.TempDir()}, env...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}

	t.Run("NoPodman", func(t *testing.T) {
		out, code := run(toolDir(t, "dirname"))
		if code != 1 || !strings.Contains(out, "podman is missing") {
			t.Fatalf("exit %d, want 1 saying podman is missing:\n%s", code, out)
		}
	})

	t.Run("NoBaseImageNoDebootstrap", func(t *testing.T) {
		// Empty podman storage of its own, no registry, no debootstrap on PATH.
		tmp := t.TempDir()
		path := toolDir(t, "dirname", "id", "mkdir", "flock", "awk", "sort", "grep", "head", "cat", "podman", "timeout", "rm", "tail")
		out, code := run(path,
			"RENDERCAST_PODMAN_OPTS=--storage-driver vfs --root "+tmp+"/storage --runroot "+tmp+"/run",
			"RENDERCAST_PULL=never", "RENDERCAST_CACHE="+tmp+"/cache")
		if code != 1 || !strings.Contains(out, "debootstrap is missing") || !strings.Contains(out, "debian:12-slim") {
			t.Fatalf("exit %d, want 1 naming the missing base image and debootstrap:\n%s", code, out)
		}
	})
}
