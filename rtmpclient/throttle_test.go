package rtmpclient

import (
	"io"
	"net"
	"testing"
	"time"
)

// TestThrottledConnReadsAtItsRate: a throttled reader takes what a fast writer sends at its
// rate, not faster and not much slower.
func TestThrottledConnReadsAtItsRate(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 64<<10)
		for {
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const rate = 4_000_000 // bits/s
	tc := newThrottledConn(c, rate)
	start := time.Now()
	n, err := io.CopyN(io.Discard, tc, 1_000_000) // 2 s at the rate
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	got := float64(n) * 8 / took.Seconds()
	t.Logf("read %d bytes in %v: %.2f Mbit/s", n, took, got/1e6)
	if got > rate*1.1 || got < rate*0.5 {
		t.Errorf("read at %.2f Mbit/s, want about %.2f", got/1e6, float64(rate)/1e6)
	}
}
