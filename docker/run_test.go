package docker_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

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
