package rtmpclient

import (
	"net"
	"sync"
	"time"
)

// throttledConn reads no faster than a rate, as a client behind a slow link would: a token
// bucket of readBurst bytes refilled at bytesPerSec. Writes pass through.
type throttledConn struct {
	net.Conn
	bytesPerSec float64

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// readBurst is the largest read after a pause: small, so the rate holds over short spans.
const readBurst = 4096

// readChunk is the least a read waits for.
const readChunk = 1024

func newThrottledConn(c net.Conn, bitsPerSec int) *throttledConn {
	return &throttledConn{Conn: c, bytesPerSec: float64(bitsPerSec) / 8, tokens: readBurst, last: time.Now()}
}

// Read waits for tokens, then reads at most as many bytes as it has.
func (t *throttledConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return t.Conn.Read(p)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refill()
	// Wait for a whole chunk (not a byte: sleeps are coarse), then take what there is.
	if want := float64(min(len(p), readChunk)); t.tokens < want {
		time.Sleep(time.Duration((want - t.tokens) / t.bytesPerSec * float64(time.Second)))
		t.refill()
	}
	if n := int(t.tokens); n < len(p) {
		p = p[:max(n, 1)]
	}
	n, err := t.Conn.Read(p)
	t.tokens -= float64(n)
	return n, err
}

// refill adds the tokens earned since the last refill, up to readBurst.
func (t *throttledConn) refill() {
	now := time.Now()
	t.tokens = min(readBurst, t.tokens+now.Sub(t.last).Seconds()*t.bytesPerSec)
	t.last = now
}
