package docker_test

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// maxRootfsBytes bounds the unpacked image (regular files of the exported file system).
const maxRootfsBytes = 500 << 20

// imageInfo is what the test reads from `podman image inspect`.
type imageInfo struct {
	ID     string `json:"Id"`
	Config struct {
		User         string              `json:"User"`
		Env          []string            `json:"Env"`
		Entrypoint   []string            `json:"Entrypoint"`
		Cmd          []string            `json:"Cmd"`
		WorkingDir   string              `json:"WorkingDir"`
		StopSignal   string              `json:"StopSignal"`
		ExposedPorts map[string]struct{} `json:"ExposedPorts"`
	} `json:"Config"`
	HealthCheck *struct {
		Test []string `json:"Test"`
	} `json:"HealthCheck"`
}

func (ii *imageInfo) env(key string) (string, bool) {
	for _, e := range ii.Config.Env {
		if k, v, ok := strings.Cut(e, "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// TestImage builds the image from docker/Dockerfile (scripts/image.sh, cached), unpacks it
// and runs the streamer from it the way a container runtime would: its entrypoint, its
// environment, its user, as PID 1 of its own PID namespace, with a private /proc and /dev.
// Real clients then watch and steer it from outside on loopback.
func TestImage(t *testing.T) {
	requireTools(t)
	id, info, root := buildAndExport(t)
	t.Logf("image %.12s unpacked in %s", id, root)

	t.Run("Config", func(t *testing.T) { checkConfig(t, info) })
	t.Run("Files", func(t *testing.T) { checkFiles(t, root) })
	t.Run("Libraries", func(t *testing.T) {
		out, err := runInImage(t, root, info, nil, "/usr/bin/ldd", "/usr/local/bin/streamer")
		if err != nil {
			t.Fatalf("ldd in the image: %v\n%s", err, out)
		}
		if bytes.Contains(out, []byte("not found")) {
			t.Fatalf("libraries missing from the image:\n%s", out)
		}
		t.Logf("the streamer links %d shared libraries", bytes.Count(out, []byte("=>")))
	})
	t.Run("NoPreviewWindow", func(t *testing.T) {
		out, err := runInImage(t, root, info, map[string]string{"STREAMER_LISTEN": "127.0.0.1:0", "STREAMER_HTTP": "", "STREAMER_SIZE": "320x180"},
			append(info.Config.Entrypoint, "-window")...)
		if err == nil {
			t.Fatalf("-window started in the image's streamer:\n%s", out)
		}
		if !strings.Contains(string(out), "-window") || !strings.Contains(string(out), "nopreview") {
			t.Fatalf("-window: the error does not say that the image's streamer has no preview:\n%s", out)
		}
	})
	t.Run("Serve", func(t *testing.T) { checkServe(t, root, info) })
}

// requireTools fails with what is missing: scripts/setup.sh installs all of it.
func requireTools(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the image test needs root (podman's root storage, chroot, mounts in a private namespace): run make test as root")
	}
	var missing []string
	for _, tool := range []string{"podman", "tar", "unshare", "chroot", "mount", "ffmpeg", "ffprobe", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("missing for the image test: %s (scripts/setup.sh installs them)", strings.Join(missing, ", "))
	}
}

func cacheDir() string {
	if d := os.Getenv("RENDERCAST_CACHE"); d != "" {
		return d
	}
	return "/var/cache/rendercast"
}

// buildAndExport builds the image and unpacks its file system into a fresh directory, under
// the lock scripts/image.sh uses, so that a build running in parallel cannot retag or prune
// the image between the build and the export.
func buildAndExport(t *testing.T) (id string, info *imageInfo, root string) {
	t.Helper()
	if err := os.MkdirAll(cacheDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(cacheDir(), "image.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	start := time.Now()
	iidFile := filepath.Join(t.TempDir(), "iid")
	cmd := exec.Command("bash", "../scripts/image.sh")
	cmd.Env = append(os.Environ(), "RENDERCAST_IMAGE_LOCK_HELD=1", "IMAGE_IIDFILE="+iidFile)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/image.sh: %v\n%s", err, tail(out, 60))
	}
	b, err := os.ReadFile(iidFile)
	if err != nil {
		t.Fatalf("scripts/image.sh wrote no image ID: %v\n%s", err, tail(out, 20))
	}
	id = strings.TrimSpace(string(b))
	t.Logf("image built (or found cached) in %.0f s", time.Since(start).Seconds())

	out, err = exec.Command("podman", "image", "inspect", id).Output()
	if err != nil {
		t.Fatalf("podman image inspect %s: %v", id, err)
	}
	var infos []imageInfo
	if err := json.Unmarshal(out, &infos); err != nil || len(infos) != 1 {
		t.Fatalf("podman image inspect: %v\n%s", err, tail(out, 20))
	}
	info = &infos[0]

	root, err = os.MkdirTemp("", "rendercast-image-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeRootfs(t, root) })
	// A root file system's / is 0755 (MkdirTemp makes 0700): the image's user must get in.
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command("podman", "create", "--pull=never", "--no-healthcheck", id).Output()
	if err != nil {
		t.Fatalf("podman create: %v", err)
	}
	cid := strings.TrimSpace(string(out))
	defer exec.Command("podman", "rm", "-f", cid).Run()
	exp := exec.Command("bash", "-o", "pipefail", "-c", `podman export "$1" | tar -C "$2" --numeric-owner -xpf -`, "export", cid, root)
	if out, err := exp.CombinedOutput(); err != nil {
		t.Fatalf("podman export | tar: %v\n%s", err, tail(out, 20))
	}
	return id, info, root
}

// removeRootfs deletes the unpacked image, unless something is still mounted inside it
// (removing through a bind mount of /dev would delete the host's device nodes).
func removeRootfs(t *testing.T, root string) {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Errorf("cannot check mounts before removing %s: %v", root, err)
		return
	}
	for _, line := range strings.Split(string(mi), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], root) {
			t.Errorf("%s is still mounted: left %s in place", f[4], root)
			return
		}
	}
	if err := os.RemoveAll(root); err != nil {
		t.Errorf("removing the unpacked image: %v", err)
	}
}

func checkConfig(t *testing.T, info *imageInfo) {
	if v, ok := info.env("NVIDIA_DRIVER_CAPABILITIES"); !ok || !hasAll(strings.Split(v, ","), "graphics", "video") {
		t.Errorf("NVIDIA_DRIVER_CAPABILITIES=%q (set: %v): the NVIDIA runtime mounts EGL only with graphics and NVENC only with video", v, ok)
	}
	if v, _ := info.env("NVIDIA_VISIBLE_DEVICES"); v == "" {
		t.Errorf("NVIDIA_VISIBLE_DEVICES is not set: the NVIDIA runtime gives the container no GPU")
	}
	if u := info.Config.User; u == "" || u == "root" || u == "0" || strings.HasPrefix(u, "0:") {
		t.Errorf("image user %q: want a non-root user", u)
	}
	if len(info.Config.Entrypoint) != 1 || info.Config.Entrypoint[0] != "/usr/local/bin/streamer" {
		t.Errorf("entrypoint %q, want [/usr/local/bin/streamer]", info.Config.Entrypoint)
	}
	if info.HealthCheck == nil || len(info.HealthCheck.Test) < 2 || info.HealthCheck.Test[0] != "CMD" ||
		!strings.Contains(strings.Join(info.HealthCheck.Test[1:], " "), "streamer health") {
		t.Errorf("HEALTHCHECK %+v: want CMD streamer health (an image built without --format docker loses it)", info.HealthCheck)
	}
	for _, p := range []string{"1935/tcp", "8080/tcp"} {
		if _, ok := info.Config.ExposedPorts[p]; !ok {
			t.Errorf("port %s not exposed (exposed: %v)", p, info.Config.ExposedPorts)
		}
	}
	if s := info.Config.StopSignal; s != "" && s != "SIGTERM" && s != "15" && s != "TERM" {
		t.Errorf("stop signal %q, want SIGTERM", s)
	}
}

func hasAll(list []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, l := range list {
			found = found || strings.TrimSpace(l) == w
		}
		if !found {
			return false
		}
	}
	return true
}

func checkFiles(t *testing.T, root string) {
	// glvnd reads vendor files from /usr/share/glvnd/egl_vendor.d; the NVIDIA runtime mounts
	// the driver's libEGL_nvidia.so.0, named there.
	b, err := os.ReadFile(filepath.Join(root, "usr/share/glvnd/egl_vendor.d/10_nvidia.json"))
	if err != nil {
		t.Errorf("NVIDIA's glvnd EGL vendor file: %v", err)
	} else {
		var v struct {
			Version string `json:"file_format_version"`
			ICD     struct {
				LibraryPath string `json:"library_path"`
			} `json:"ICD"`
		}
		if err := json.Unmarshal(b, &v); err != nil || v.ICD.LibraryPath != "libEGL_nvidia.so.0" || v.Version == "" {
			t.Errorf("10_nvidia.json: %v, library %q, version %q:\n%s", err, v.ICD.LibraryPath, v.Version, b)
		}
	}
	for _, f := range []string{
		"usr/share/glvnd/egl_vendor.d/50_mesa.json", // Mesa's EGL: the CPU fallback
		"usr/local/bin/streamer",
	} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("%v", err)
		}
	}
	if libs, _ := filepath.Glob(filepath.Join(root, "usr/lib/*/libEGL.so.1")); len(libs) == 0 {
		t.Errorf("glvnd's libEGL.so.1 is not in the image")
	}
	// Nothing the streamer does not need: no headers (development packages), no manual pages,
	// no documentation besides the copyright files, no apt lists.
	var total int64
	var extra []string
	inodes := map[uint64]bool{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				// Hard links (Mesa's drivers are one file under many names) count once.
				if st, ok := fi.Sys().(*syscall.Stat_t); !ok || !inodes[st.Ino] {
					total += fi.Size()
					if ok {
						inodes[st.Ino] = true
					}
				}
			}
			switch {
			case strings.HasPrefix(rel, "usr/include/"),
				strings.HasPrefix(rel, "usr/share/man/"),
				strings.HasPrefix(rel, "var/lib/apt/lists/") && !strings.HasSuffix(rel, "lock"),
				strings.HasPrefix(rel, "usr/share/doc/") && filepath.Base(rel) != "copyright":
				if len(extra) < 10 {
					extra = append(extra, rel)
				}
			}
		}
		return nil
	})
	if len(extra) > 0 {
		t.Errorf("files the image should not carry (first ones): %v", extra)
	}
	t.Logf("unpacked image: %.0f MiB in regular files", float64(total)/(1<<20))
	if total > maxRootfsBytes {
		t.Errorf("unpacked image is %.0f MiB, want under %.0f MiB", float64(total)/(1<<20), float64(maxRootfsBytes)/(1<<20))
	}
}

func tail(b []byte, lines int) string {
	s := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(s) > lines {
		s = s[len(s)-lines:]
	}
	return strings.Join(s, "\n")
}
