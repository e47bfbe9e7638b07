package rtmpsrv

import (
	"net"
	"testing"
	"time"

	"github.com/rendercast/rendercast/avc"
)

// After a dropped frame the stream sends nothing but a keyframe, and asks the encoder for
// one: a player never gets a P-frame whose reference was dropped.
func TestNoPFrameAfterDrop(t *testing.T) {
	srv, err := NewServer(Config{SendQueueFrames: 2})
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := newConn(srv, a, 1)
	defer c.cancel()
	s := newStream(c, 1)
	enc := newClipEncoder(loadClip(t))
	s.enc = enc
	s.needKey = true

	cfg := loadClip(t).config
	key := &avc.Frame{NALUs: []byte{0, 0, 0, 1, 0x65}, Keyframe: true, Config: cfg}
	p := func(ms int) *avc.Frame {
		return &avc.Frame{NALUs: []byte{0, 0, 0, 1, 0x41}, PTS: time.Duration(ms) * time.Millisecond, DTS: time.Duration(ms) * time.Millisecond}
	}
	s.send(&VideoData{Frame: p(0)}) // no keyframe yet: dropped
	if got := s.framesDropped.Load(); got != 1 {
		t.Fatalf("P-frame before any keyframe: %d dropped, want 1", got)
	}
	if enc.keyRequests() != 1 {
		t.Fatalf("keyframe requests %d, want 1", enc.keyRequests())
	}
	s.send(&VideoData{Frame: key})   // queued (header + IDR as one entry)
	s.send(&VideoData{Frame: p(33)}) // queued: the queue holds 2
	s.send(&VideoData{Frame: p(66)}) // dropped: queue full
	if got := s.framesDropped.Load(); got != 2 {
		t.Fatalf("dropped %d, want 2", got)
	}
	if enc.keyRequests() != 2 {
		t.Fatalf("no keyframe requested after the drop")
	}
	c.popMedia()                     // the writer drains one entry
	s.send(&VideoData{Frame: p(99)}) // room now, but its reference was dropped
	if got := s.framesDropped.Load(); got != 3 {
		t.Fatalf("a P-frame after a drop was queued (dropped %d, want 3)", got)
	}
	k2 := &avc.Frame{NALUs: []byte{0, 0, 0, 1, 0x65}, Keyframe: true, PTS: 132 * time.Millisecond, DTS: 132 * time.Millisecond}
	s.send(&VideoData{Frame: k2})
	if got := s.framesDropped.Load(); got != 3 {
		t.Fatalf("the keyframe after a drop was dropped")
	}
	c.qmu.Lock()
	last := c.queue[len(c.queue)-1].msgs
	c.qmu.Unlock()
	if len(last) != 1 || last[0].Body[0] != 0x17 {
		t.Fatalf("queued after recovery: %d messages, first byte %#x; want one AVC keyframe (0x17)", len(last), last[0].Body[0])
	}
}
