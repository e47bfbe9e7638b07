package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress writes timestamped progress lines (to stderr), so a long run shows where it is.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func newProgress(w io.Writer) *progress { return &progress{w: w, start: time.Now()} }

func (p *progress) printf(format string, args ...any) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "rtmpbench %6.1fs  %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}
