package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// streamerProc is a streamer the harness started.
type streamerProc struct {
	cmd      *exec.Cmd
	args     []string
	rtmpAddr string
	httpAddr string
	exited   chan struct{}
	waitErr  error

	mu   sync.Mutex
	tail []string // the last log lines, for error messages
}

// startStreamer runs bin on loopback ports it picks (plus extra args) and waits until it
// listens. The environment's STREAMER_* variables are removed so only args configure it.
func startStreamer(ctx context.Context, bin string, extra []string) (*streamerProc, error) {
	args := append([]string{"-listen", "127.0.0.1:0", "-http", "127.0.0.1:0", "-log-format", "json", "-log-level", "info"}, extra...)
	cmd := exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STREAMER_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "STREAMER_CONFIG=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w (build it with make build, or pass -streamer)", bin, err)
	}
	s := &streamerProc{cmd: cmd, args: args, exited: make(chan struct{})}
	ready := make(chan struct{})
	go s.readLog(stderr, ready)
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	timer := time.NewTimer(60 * time.Second)
	defer timer.Stop()
	select {
	case <-ready:
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("streamer %v exited at start: %v\n%s", args, s.waitErr, s.logTail())
	case <-timer.C:
		s.stop()
		return nil, fmt.Errorf("streamer %v did not listen within 60 s\n%s", args, s.logTail())
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
}

// readLog follows the JSON log for the listening addresses, keeping a tail.
func (s *streamerProc) readLog(r io.Reader, ready chan<- struct{}) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	signalled := false
	for sc.Scan() {
		line := sc.Text()
		s.mu.Lock()
		s.tail = append(s.tail, line)
		if len(s.tail) > 40 {
			s.tail = s.tail[len(s.tail)-40:]
		}
		s.mu.Unlock()
		if signalled {
			continue
		}
		var m struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		switch m.Msg {
		case "rtmp server listening":
			s.rtmpAddr = m.Addr
		case "http listening":
			s.httpAddr = m.Addr
		}
		if s.rtmpAddr != "" && s.httpAddr != "" {
			signalled = true
			close(ready)
		}
	}
	io.Copy(io.Discard, r)
}

func (s *streamerProc) logTail() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.tail, "\n")
}

// url returns the RTMP URL of app/stream path on the streamer.
func (s *streamerProc) url(path string) string { return "rtmp://" + s.rtmpAddr + "/" + path }

func (s *streamerProc) pid() int { return s.cmd.Process.Pid }

// stop ends the streamer (SIGTERM, then SIGKILL after 10 s).
func (s *streamerProc) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// alive reports whether the process still runs.
func (s *streamerProc) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// metrics scrapes /metrics and returns the samples without labels (name -> value).
func scrapeMetrics(ctx context.Context, httpAddr string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+httpAddr+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return parseMetrics(resp.Body), nil
}

// parseMetrics reads Prometheus text format samples that have no labels.
func parseMetrics(r io.Reader) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || strings.ContainsRune(f[0], '{') {
			continue
		}
		if v, err := strconv.ParseFloat(f[1], 64); err == nil {
			out[f[0]] = v
		}
	}
	return out
}

// histMeanMS is the mean (ms) of a seconds histogram between two scrapes; 0 without samples.
func histMeanMS(before, after map[string]float64, name string) float64 {
	if before == nil || after == nil {
		return 0
	}
	n := after[name+"_count"] - before[name+"_count"]
	if n <= 0 {
		return 0
	}
	return 1000 * (after[name+"_sum"] - before[name+"_sum"]) / n
}
