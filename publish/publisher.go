package publish

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/rtmpclient"
)

// Defaults for Config fields left at their zero value.
const (
	// DefaultQueue is the number of frames waiting to be written (about 2 s at 30 fps).
	DefaultQueue = 64
	// DefaultMinBackoff is the longest first wait before reconnecting.
	DefaultMinBackoff = 500 * time.Millisecond
	// DefaultMaxBackoff caps the wait between reconnects.
	DefaultMaxBackoff = 30 * time.Second
)

// stableAfter is how long a connection must have published for the backoff to start over at
// MinBackoff: a server that accepts and drops every publisher at once still gets spaced
// retries.
const stableAfter = 10 * time.Second

// Config configures a Publisher. URL is required; every other zero value means the
// documented default.
type Config struct {
	// URL is rtmp://host[:port]/app[/...]/stream[?query] or rtmps://...; the query (often a
	// stream key) is sent with the stream name, as FFmpeg and OBS send it. The port
	// defaults to 1935 (rtmp) or 443 (rtmps).
	URL string
	// Logger receives state changes (Info when publishing starts, Warn once when it fails,
	// Debug for every retry); nil discards them.
	Logger *slog.Logger
	// Queue is how many frames may wait for the connection; when it is full, frames are
	// dropped until the next keyframe. Default DefaultQueue.
	Queue int
	// MinBackoff and MaxBackoff bound the wait before a reconnect: it doubles from
	// MinBackoff with every failure in a row, up to MaxBackoff, and a random part of up to
	// half of it is taken off. Defaults DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// TLS configures rtmps:// connections (e.g. RootCAs); nil verifies the server against
	// the system's roots.
	TLS *tls.Config
	// Dial holds the RTMP client options of every connection (Timeout bounds dialing,
	// publish and each write; default rtmpclient.DefaultTimeout). Its TLSConfig is replaced
	// by TLS when TLS is set, its Logger by Logger when unset; DropMedia is always on.
	Dial rtmpclient.Options
	// FrameRate is announced in onMetaData (framerate); zero leaves it out.
	FrameRate float64
	// Width and Height are announced in onMetaData; zero takes them from the stream's
	// sequence parameter set.
	Width, Height int
}

// State is where a Publisher stands.
type State string

// The states of a Publisher.
const (
	// StateIdle is a Publisher that was not started.
	StateIdle State = "idle"
	// StateConnecting is a dial, handshake, connect or publish in progress.
	StateConnecting State = "connecting"
	// StatePublishing is a published stream taking frames.
	StatePublishing State = "publishing"
	// StateWaiting is the wait (backoff) after a failure, before the next connect.
	StateWaiting State = "waiting"
	// StateClosed is a Publisher that Close stopped.
	StateClosed State = "closed"
)

// Status is a snapshot of a Publisher.
type Status struct {
	// State is the current state.
	State State `json:"state"`
	// URL is the target without user info, query and fragment (stream keys are secrets).
	URL string `json:"url"`
	// LastError is the latest failure ("" before the first).
	LastError string `json:"last_error,omitempty"`
	// Since is when the current state began.
	Since time.Time `json:"since"`
	// Connects counts the connections that started publishing.
	Connects uint64 `json:"connects"`
	// Failures counts failed connects and connections that ended other than by Close.
	Failures uint64 `json:"failures"`
	// FramesSent counts frames written to the server.
	FramesSent uint64 `json:"frames_sent"`
	// FramesDropped counts frames not written: a full queue, waiting for a keyframe, or no
	// connection.
	FramesDropped uint64 `json:"frames_dropped"`
	// BytesSent counts the bytes written to the server over every connection.
	BytesSent uint64 `json:"bytes_sent"`
}

// Publisher publishes one stream to one URL, reconnecting until Close. Its methods are safe
// for concurrent use.
type Publisher struct {
	cfg    Config
	target target
	log    *slog.Logger
	queue  chan *avc.Frame

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	start  sync.Once
	stop   sync.Once
	wg     sync.WaitGroup

	mu       sync.Mutex
	status   Status
	needKey  bool               // WriteFrame takes nothing but a keyframe with Config
	client   *rtmpclient.Client // the current connection, closed by Close
	closed   bool
	bytesOld uint64 // bytes of the connections that ended
}

// New validates cfg and returns a Publisher in StateIdle; Start starts it. A URL that is not
// rtmp:// or rtmps:// with a host, an application and a stream name gives ErrBadURL.
func New(cfg Config) (*Publisher, error) {
	t, err := parseTarget(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.Queue < 0 || cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 || cfg.FrameRate < 0 || cfg.Width < 0 || cfg.Height < 0 {
		return nil, fmt.Errorf("%w: negative value (queue %d, backoff %v..%v, frame rate %g, size %dx%d)",
			ErrBadConfig, cfg.Queue, cfg.MinBackoff, cfg.MaxBackoff, cfg.FrameRate, cfg.Width, cfg.Height)
	}
	if cfg.Queue == 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = max(DefaultMaxBackoff, cfg.MinBackoff)
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		return nil, fmt.Errorf("%w: MaxBackoff %v below MinBackoff %v", ErrBadConfig, cfg.MaxBackoff, cfg.MinBackoff)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.TLS != nil {
		cfg.Dial.TLSConfig = cfg.TLS
	}
	if cfg.Dial.Logger == nil {
		cfg.Dial.Logger = cfg.Logger
	}
	cfg.Dial.DropMedia = true // nobody reads media a server might send
	p := &Publisher{
		cfg:    cfg,
		target: t,
		log:    cfg.Logger.With("url", t.redacted),
		queue:  make(chan *avc.Frame, cfg.Queue),
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.status = Status{State: StateIdle, URL: t.redacted, Since: time.Now()}
	return p, nil
}

// Start starts the goroutine that connects, publishes and reconnects. Later calls, and calls
// after Close, do nothing.
func (p *Publisher) Start() {
	p.start.Do(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.closed {
			return
		}
		p.setStateLocked(StateConnecting)
		p.wg.Add(1)
		go p.run()
	})
}

// Close stops publishing: it closes the connection, ends the goroutine and waits for it.
// It returns promptly (every wait in the goroutine ends with the connection or Close), is
// idempotent and returns nil.
func (p *Publisher) Close() error {
	p.stop.Do(func() {
		p.cancel()
		p.mu.Lock()
		p.closed = true
		c := p.client
		p.mu.Unlock()
		if c != nil {
			c.Close()
		}
		p.wg.Wait()
		p.mu.Lock()
		p.setStateLocked(StateClosed)
		p.mu.Unlock()
		p.drain()
		p.log.Info("publish: stopped")
	})
	p.wg.Wait()
	return nil
}

// WriteFrame hands the publisher one encoded frame without blocking; the frame is read,
// never modified. It returns true when the publisher wants a keyframe: it dropped this frame
// because it is waiting for a keyframe with Config (its first frame after each connect, or
// after a drop) or because its queue is full. While there is no connection, frames are
// dropped without asking for a keyframe (one is asked for once publishing starts), so an
// outage costs the source nothing.
func (p *Publisher) WriteFrame(f *avc.Frame) (wantKeyframe bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.status.State {
	case StatePublishing:
	case StateIdle, StateClosed:
		return false
	default:
		p.status.FramesDropped++
		return false
	}
	if p.needKey && (!f.Keyframe || f.Config == nil) {
		p.status.FramesDropped++
		return true
	}
	select {
	case p.queue <- f:
		p.needKey = false
		return false
	default:
		p.status.FramesDropped++
		p.needKey = true
		return true
	}
}

// Status returns a snapshot of the publisher's state and counters.
func (p *Publisher) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.status
	if p.client != nil {
		s.BytesSent = p.bytesOld + p.client.Stats().BytesOut
	}
	return s
}

// setStateLocked changes the state; p.mu must be held.
func (p *Publisher) setStateLocked(s State) {
	if p.status.State != s {
		p.status.State = s
		p.status.Since = time.Now()
	}
}

// drain empties the queue, counting its frames as dropped; called once WriteFrame no longer
// fills it (state not publishing).
func (p *Publisher) drain() {
	n := uint64(0)
	for {
		select {
		case <-p.queue:
			n++
			continue
		default:
		}
		break
	}
	p.mu.Lock()
	p.status.FramesDropped += n
	p.mu.Unlock()
}
