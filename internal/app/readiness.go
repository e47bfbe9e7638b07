package app

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rendercast/rendercast/encode"
	"github.com/rendercast/rendercast/session"
)

// Test-encoder retries: after a failure to open, readiness tries again after
// encoderRetryMin, doubling up to encoderRetryMax, until one opens.
const (
	encoderRetryMin = time.Second
	encoderRetryMax = 15 * time.Second
)

// readiness is what /readyz tells: whether the streamer can serve one more viewer. It
// keeps the parts that are not read from elsewhere: the test encoder's last result and
// whether the streamer is draining.
type readiness struct {
	a        *App
	draining atomic.Bool

	mu         sync.Mutex
	encoderErr error // the last test encoder's failure; nil: it opened
	probing    bool  // a test is running or waits for its retry
	retry      time.Duration
	timer      *time.Timer
	closed     bool
}

// ReadyStatus is the answer of /readyz.
type ReadyStatus struct {
	// Ready: the streamer can serve one more viewer (RTMP listening, an OpenGL context
	// working, the test encoder opened, not draining, below -max-viewers).
	Ready bool `json:"ready"`
	// Reasons lists every reason it cannot (empty when Ready).
	Reasons []string `json:"reasons"`
	// GL is the OpenGL renderer; GLContexts and GLContextsWorking count the contexts.
	GL                string `json:"gl"`
	GLContexts        int    `json:"glContexts"`
	GLContextsWorking int    `json:"glContextsWorking"`
	// Encoder is the encoder sessions open (the test encoder is one of its kind).
	Encoder string `json:"encoder"`
	// Viewers play now; MaxViewers is -max-viewers (0: no limit).
	Viewers    int  `json:"viewers"`
	MaxViewers int  `json:"maxViewers"`
	Draining   bool `json:"draining"`
}

// Ready says whether the streamer can serve one more viewer, and why not.
func (a *App) Ready() ReadyStatus {
	st := ReadyStatus{GL: a.renderer.Info().Renderer, Encoder: a.choice.Encoder, MaxViewers: a.cfg.MaxViewers,
		Viewers: a.admit.Counts().Viewers, Draining: a.ready.draining.Load(), Reasons: []string{}}
	if a.srv.ListenAddr() == nil && a.srv.ListenAddrTLS() == nil {
		st.Reasons = append(st.Reasons, "RTMP is not listening")
	}
	var lost []string
	for _, c := range a.renderer.Contexts() {
		st.GLContexts++
		if c.Lost == nil {
			st.GLContextsWorking++
		} else {
			lost = append(lost, c.Lost.Error())
		}
	}
	if st.GLContextsWorking == 0 {
		st.Reasons = append(st.Reasons, "no OpenGL context works: "+strings.Join(lost, "; "))
	}
	if err := a.ready.encoderFailure(); err != nil {
		st.Reasons = append(st.Reasons, fmt.Sprintf("the test encoder (%s) does not open: %v", a.choice.Encoder, err))
	}
	if st.Draining {
		st.Reasons = append(st.Reasons, "draining: the streamer is stopping and takes no new viewers")
	}
	if st.MaxViewers > 0 && st.Viewers >= st.MaxViewers {
		st.Reasons = append(st.Reasons, fmt.Sprintf("full: %d viewers playing, the most -max-viewers allows", st.Viewers))
	}
	st.Ready = len(st.Reasons) == 0
	return st
}

// Alive says whether the process can still serve at all: false once every OpenGL context
// is lost, which only a restart mends (/healthz, the liveness probe).
func (a *App) Alive() (bool, string) {
	if a.renderer.Working() > 0 {
		return true, ""
	}
	var lost []string
	for _, c := range a.renderer.Contexts() {
		if c.Lost != nil {
			lost = append(lost, c.Lost.Error())
		}
	}
	return false, "no OpenGL context works (a restart is needed): " + strings.Join(lost, "; ")
}

// openEncoder opens an encoder through Config.OpenEncoder, else encode.New.
func (a *App) openEncoder(o encode.Options) (session.Encoder, error) {
	if a.cfg.OpenEncoder != nil {
		return a.cfg.OpenEncoder(o)
	}
	e, err := encode.New(o)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// encoderFailure returns the last test encoder's failure, or nil.
func (r *readiness) encoderFailure() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.encoderErr
}

// encoderFailed is told that an encoder failed (a session stopped, or one did not open):
// a test encoder is opened at once and, while it fails, again with growing pauses.
func (r *readiness) encoderFailed() {
	r.mu.Lock()
	if r.probing || r.closed {
		r.mu.Unlock()
		return
	}
	r.probing = true
	r.mu.Unlock()
	go r.probe()
}

// probe opens and closes one test encoder of the sessions' kind and size, records the
// result and, on a failure, schedules the next try.
func (r *readiness) probe() {
	a := r.a
	e, err := a.openEncoder(a.encodeOptions(a.choice.Encoder))
	if err == nil {
		e.Close()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	was := r.encoderErr
	r.encoderErr = err
	if err == nil {
		r.probing, r.retry = false, 0
		if was != nil {
			a.log.Info("readiness: the test encoder opens again", "encoder", a.choice.Encoder)
		}
		return
	}
	r.retry = min(max(2*r.retry, encoderRetryMin), encoderRetryMax)
	if was == nil {
		a.log.Error("readiness: the test encoder does not open: not ready", "encoder", a.choice.Encoder, "err", err, "retry", r.retry)
	}
	if r.closed {
		r.probing = false
		return
	}
	r.timer = time.AfterFunc(r.retry, r.probe)
}

// close stops the retries.
func (r *readiness) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.timer != nil {
		r.timer.Stop()
	}
}
