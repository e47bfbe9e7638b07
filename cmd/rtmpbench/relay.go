package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// relayArgs returns the ffmpeg arguments that pull src and push it unchanged (-c copy) to
// dst as FLV.
func relayArgs(src, dst string) []string {
	return []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-i", src, "-c", "copy", "-f", "flv", dst}
}

// relayProc is the ffmpeg relay the harness started.
type relayProc struct {
	cmd    *exec.Cmd
	stderr *tailBuffer
	exited chan struct{}
}

func startRelay(src, dst string) (*relayProc, error) {
	cmd := exec.Command("ffmpeg", relayArgs(src, dst)...)
	r := &relayProc{cmd: cmd, stderr: &tailBuffer{max: 4096}, exited: make(chan struct{})}
	cmd.Stderr = r.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the ffmpeg relay: %w", err)
	}
	go func() { cmd.Wait(); close(r.exited) }()
	return r, nil
}

func (r *relayProc) alive() bool {
	select {
	case <-r.exited:
		return false
	default:
		return true
	}
}

// stop ends the relay (SIGTERM, SIGKILL after 5 s).
func (r *relayProc) stop() {
	if !r.alive() {
		return
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(5 * time.Second):
		r.cmd.Process.Kill()
		<-r.exited
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.b))
}
