package docker_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/encode"
	"github.com/rendercast/rendercast/rtmpclient"
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

// chrootScript runs a command in the unpacked image, as PID 1 of a new PID namespace
// (unshare --fork) with mounts private to it (they go away with it): /proc, and a /dev with
// the few devices a container gets.
const chrootScript = `set -eu
r=$1; spec=$2; shift 2
mkdir -p "$r/proc" "$r/dev"
mount -t proc proc "$r/proc"
mount -t tmpfs -o mode=0755,nosuid tmpfs "$r/dev"
for d in null zero full random urandom; do : >"$r/dev/$d"; mount --bind "/dev/$d" "$r/dev/$d"; done
mkdir -p "$r/dev/shm" && mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$r/dev/shm"
exec chroot --userspec="$spec" "$r" "$@"
`

// imageCommand returns the command that runs args in the image as its user, with its
// environment plus env.
func imageCommand(t *testing.T, root string, info *imageInfo, env map[string]string, args ...string) *exec.Cmd {
	t.Helper()
	uid, gid, home := lookupUser(t, root, info.Config.User)
	if info.Config.WorkingDir != "" && info.Config.WorkingDir != "/" {
		t.Fatalf("image working directory %q: the test runs in /", info.Config.WorkingDir)
	}
	vars := map[string]string{"HOME": home, "HOSTNAME": "rendercast-test"}
	var order []string
	for _, e := range info.Config.Env {
		k, v, _ := strings.Cut(e, "=")
		if _, seen := vars[k]; !seen {
			order = append(order, k)
		}
		vars[k] = v
	}
	for k, v := range env {
		if _, seen := vars[k]; !seen {
			order = append(order, k)
		}
		vars[k] = v
	}
	order = append(order, "HOME", "HOSTNAME")
	var envList []string
	for _, k := range order {
		envList = append(envList, k+"="+vars[k])
	}
	cmdArgs := append([]string{"--mount", "--pid", "--fork", "--kill-child", "--", "/bin/sh", "-c", chrootScript, "sh", root, fmt.Sprintf("%d:%d", uid, gid)}, args...)
	cmd := exec.Command("unshare", cmdArgs...)
	cmd.Env = envList
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// runInImage runs a short command in the image and returns its output.
func runInImage(t *testing.T, root string, info *imageInfo, env map[string]string, args ...string) ([]byte, error) {
	t.Helper()
	cmd := imageCommand(t, root, info, env, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.Bytes(), err
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%q in the image did not finish within 2 minutes:\n%s", args, out.Bytes())
		return nil, nil
	}
}

// lookupUser resolves the image's USER (name or uid[:gid]) in the image's /etc/passwd.
func lookupUser(t *testing.T, root, user string) (uid, gid int, home string) {
	t.Helper()
	name, group, _ := strings.Cut(user, ":")
	b, err := os.ReadFile(filepath.Join(root, "etc/passwd"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 7 || (f[0] != name && f[2] != name) {
			continue
		}
		uid, _ = strconv.Atoi(f[2])
		gid, _ = strconv.Atoi(f[3])
		if group != "" {
			if gid, err = strconv.Atoi(group); err != nil {
				t.Fatalf("image user %q: only numeric groups are handled", user)
			}
		}
		return uid, gid, f[5]
	}
	t.Fatalf("image user %q is not in the image's /etc/passwd", user)
	return 0, 0, ""
}

// container is the streamer running from the image.
type container struct {
	cmd      *exec.Cmd
	pid      int // the streamer's PID on the host (PID 1 in its namespace)
	rtmpAddr string
	httpAddr string
	exited   chan error
	mu       sync.Mutex
	log      bytes.Buffer
}

func (c *container) logText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.log.String()
}

func startContainer(t *testing.T, root string, info *imageInfo, env map[string]string) *container {
	t.Helper()
	args := append(append([]string{}, info.Config.Entrypoint...), info.Config.Cmd...)
	cmd := imageCommand(t, root, info, env, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &container{cmd: cmd, exited: make(chan error, 1)}
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var once sync.Once
		for sc.Scan() {
			line := sc.Text()
			c.mu.Lock()
			c.log.WriteString(line + "\n")
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil {
				switch m["msg"] {
				case "rtmp server listening":
					c.rtmpAddr, _ = m["addr"].(string)
				case "http listening":
					c.httpAddr, _ = m["addr"].(string)
				}
			}
			ready := c.rtmpAddr != "" && c.httpAddr != ""
			c.mu.Unlock()
			if ready {
				once.Do(func() { close(listening) })
			}
		}
	}()
	go func() { c.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case err := <-c.exited:
			c.exited <- err
		default:
			if c.pid > 0 {
				syscall.Kill(c.pid, syscall.SIGKILL)
			}
			cmd.Process.Kill()
			<-c.exited
		}
		if t.Failed() {
			t.Logf("streamer log:\n%s", c.logText())
		}
	})
	select {
	case <-listening:
	case err := <-c.exited:
		c.exited <- err
		t.Fatalf("the image's streamer exited at start: %v\n%s", err, c.logText())
	case <-time.After(90 * time.Second):
		t.Fatalf("the image's streamer did not listen within 90 s:\n%s", c.logText())
	}
	// unshare forked the namespace's PID 1: the streamer, once sh and chroot have exec'd.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
	if err != nil {
		t.Fatalf("finding the streamer's PID: %v", err)
	}
	if c.pid, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
		t.Fatalf("finding the streamer's PID: children of unshare %q", b)
	}
	return c
}

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
	for _, line := range strings.Split(string(status), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "NSpid:" && f[len(f)-1] != "1":
			t.Errorf("the streamer is PID %s in its namespace, want 1 (%s)", f[len(f)-1], line)
		case len(f) == 5 && f[0] == "Uid:" && (f[1] != strconv.Itoa(wantUID) || f[2] != f[1] || wantUID == 0):
			t.Errorf("the streamer runs as %q, want the image's user (uid %d)", line, wantUID)
		}
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
	v := newViewer(t, ctx, "rtmp://"+c.rtmpAddr+"/live/demo")
	t.Run("CallChangesThePicture", func(t *testing.T) {
		if img := v.next(ctx); isRed(img) {
			t.Fatal("the corner is red before the call")
		}
		if _, err := v.c.Call(ctx, "scene.setBackground", nil, amf0.Object{{Key: "r", Value: 1.0}, {Key: "g", Value: 0.0}, {Key: "b", Value: 0.0}}); err != nil {
			t.Fatalf("scene.setBackground: %v", err)
		}
		for i := 0; i < 60; i++ {
			img := v.next(ctx)
			if isRed(img) {
				if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 720 {
					t.Fatalf("decoded %v, want 1280x720", b)
				}
				return
			}
		}
		y, cb, cr := corner(v.next(ctx))
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

// viewer is an RTMP client that plays a scene and decodes what it receives.
type viewer struct {
	t   *testing.T
	c   *rtmpclient.Client
	dec *encode.Decoder
}

func newViewer(t *testing.T, ctx context.Context, url string) *viewer {
	t.Helper()
	c, err := rtmpclient.Dial(ctx, url, rtmpclient.Options{})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	v := &viewer{t: t, c: c}
	t.Cleanup(func() {
		c.Close()
		if v.dec != nil {
			v.dec.Close()
		}
	})
	id, err := c.CreateStream(ctx)
	if err == nil {
		err = c.Play(ctx, id, c.URL().Stream)
	}
	if err != nil {
		t.Fatalf("play %s: %v", url, err)
	}
	return v
}

func (v *viewer) next(ctx context.Context) *image.YCbCr {
	v.t.Helper()
	for {
		m, err := v.c.ReadVideo(ctx)
		if err != nil {
			v.t.Fatalf("reading video: %v", err)
		}
		switch m.AVCPacketType {
		case rtmpclient.AVCSequenceHeader:
			if v.dec != nil {
				v.dec.Close()
			}
			if v.dec, err = encode.NewDecoder(m.Payload); err != nil {
				v.t.Fatalf("decoder: %v", err)
			}
		case rtmpclient.AVCNALU:
			if v.dec == nil {
				v.t.Fatal("a frame arrived before the sequence header")
			}
			pics, err := v.dec.Decode(&avc.Frame{NALUs: m.Payload, PTS: m.Timestamp + m.CompositionTime, DTS: m.Timestamp})
			if err != nil {
				v.t.Fatalf("decode: %v", err)
			}
			if len(pics) > 0 {
				return pics[len(pics)-1]
			}
		}
	}
}

// corner returns the mean Y, Cb, Cr of the top-left 32x32 pixels.
func corner(img *image.YCbCr) (y, cb, cr float64) {
	n := 0.0
	for py := 0; py < 32; py++ {
		for px := 0; px < 32; px++ {
			c := img.YCbCrAt(px, py)
			y, cb, cr, n = y+float64(c.Y), cb+float64(c.Cb), cr+float64(c.Cr), n+1
		}
	}
	return y / n, cb / n, cr / n
}

// isRed: BT.709 limited-range pure red is Y 63, Cb 102, Cr 240.
func isRed(img *image.YCbCr) bool {
	y, cb, cr := corner(img)
	return y > 40 && y < 90 && cb < 125 && cr > 200
}

func tail(b []byte, lines int) string {
	s := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(s) > lines {
		s = s[len(s)-lines:]
	}
	return strings.Join(s, "\n")
}
