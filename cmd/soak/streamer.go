package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// streamer is the process under test.
type streamer struct {
	cmd      *exec.Cmd
	rtmpAddr string
	httpAddr string
	exited   chan error
	http     *http.Client
}

// startStreamer runs bin on loopback ports it picks, logging to logPath, and waits until it
// listens.
func startStreamer(bin string, args []string, logPath string) (*streamer, error) {
	all := append([]string{"-listen", "127.0.0.1:0", "-http", "127.0.0.1:0", "-log-format", "json"}, args...)
	cmd := exec.Command(bin, all...)
	cmd.Env = append(os.Environ(), "STREAMER_CONFIG=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	s := &streamer{cmd: cmd, exited: make(chan error, 1), http: &http.Client{Timeout: 5 * time.Second}}
	ready := make(chan [2]string, 1)
	go func() {
		defer logFile.Close()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var rtmp string
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, line)
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) != nil {
				continue
			}
			switch m["msg"] {
			case "rtmp server listening":
				rtmp, _ = m["addr"].(string)
			case "http listening":
				h, _ := m["addr"].(string)
				ready <- [2]string{rtmp, h}
			}
		}
	}()
	go func() { s.exited <- cmd.Wait() }()
	select {
	case addrs := <-ready:
		s.rtmpAddr, s.httpAddr = addrs[0], addrs[1]
		return s, nil
	case err := <-s.exited:
		return nil, fmt.Errorf("streamer exited at start (%v): see %s", err, logPath)
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		return nil, errors.New("streamer did not listen within 60 s")
	}
}

func (s *streamer) pid() int { return s.cmd.Process.Pid }

// terminate sends SIGTERM and waits for a clean exit.
func (s *streamer) terminate(timeout time.Duration) error {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		s.exited <- err
		return err
	case <-time.After(timeout):
		s.cmd.Process.Kill()
		return fmt.Errorf("still running %v after SIGTERM", timeout)
	}
}

func (s *streamer) kill() {
	select {
	case err := <-s.exited:
		s.exited <- err
	default:
		s.cmd.Process.Kill()
	}
}

// metrics returns the unlabelled metrics from /metrics.
func (s *streamer) metrics() (map[string]float64, error) {
	resp, err := s.http.Get("http://" + s.httpAddr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || strings.ContainsRune(line, '{') {
			continue
		}
		name, v, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			out[name] = f
		}
	}
	return out, sc.Err()
}

// procStats reads the process's resident memory (bytes), threads, open files and CPU time
// from /proc.
type procStats struct {
	rss     float64
	threads float64
	fds     float64
	cpu     time.Duration
}

func readProc(pid int) (procStats, error) {
	var p procStats
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return p, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseFloat(f[0], 64)
		switch k {
		case "VmRSS":
			p.rss = n * 1024 // kB
		case "Threads":
			p.threads = n
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return p, err
	}
	p.fds = float64(len(fds))
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return p, err
	}
	// Fields after the command name (which may hold spaces, inside parentheses): utime and
	// stime are fields 14 and 15 of the whole line, in clock ticks (100 a second on Linux).
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 {
		f := strings.Fields(string(stat[i+1:]))
		if len(f) > 13 {
			ut, _ := strconv.ParseInt(f[11], 10, 64)
			st, _ := strconv.ParseInt(f[12], 10, 64)
			p.cpu = time.Duration(ut+st) * 10 * time.Millisecond
		}
	}
	return p, nil
}
