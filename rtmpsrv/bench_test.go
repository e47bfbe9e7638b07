package rtmpsrv

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/rendercast/rendercast/avc"
)

// BenchmarkSendFrame measures the server's cost of one H.264 frame from Stream.send through
// the queue and the writer goroutine to the socket (a loopback TCP connection drained by a
// reader), and reports the RTMP overhead in bytes per frame (FLV tag header and chunk
// headers) beyond the frame's NAL units.
func BenchmarkSendFrame(b *testing.B) {
	for _, size := range []int{2_000, 16_000, 120_000} {
		b.Run(byteSize(size), func(b *testing.B) { benchSend(b, size) })
	}
}

func byteSize(n int) string {
	if n >= 1000 {
		return itoa(n/1000) + "KB"
	}
	return itoa(n) + "B"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func benchSend(b *testing.B, size int) {
	srv, err := NewServer(Config{SendQueueFrames: 64, SendQueueBytes: 64 << 20})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			io.Copy(io.Discard, c)
			c.Close()
		}
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	c := newConn(srv, nc, 1)
	c.w = newChunkWriter(nc, func(n int) { c.bcw.SetCount(c.bcw.Count() + uint64(n)) })
	c.w.setChunkSize(uint32(srv.cfg.ChunkSize))
	go c.writeLoop()
	defer func() {
		c.cancel()
		nc.Close()
		<-c.writerDone
	}()
	s := newStream(c, 1)
	cfg := loadClip(b).config
	nalus := make([]byte, size)
	first := &avc.Frame{NALUs: nalus, Keyframe: true, Config: cfg}
	s.needKey = true
	s.send(&VideoData{Frame: first})
	for c.framesSent.Load() < 1 {
		time.Sleep(time.Millisecond)
	}
	startBytes := c.bcw.Count()
	b.SetBytes(int64(size))
	b.ResetTimer()
	sent := 0
	for i := range b.N {
		f := &avc.Frame{NALUs: nalus, Keyframe: i%60 == 0, PTS: time.Duration(i) * 33 * time.Millisecond, DTS: time.Duration(i) * 33 * time.Millisecond}
		for c.queueFull() {
			time.Sleep(10 * time.Microsecond)
		}
		s.send(&VideoData{Frame: f})
		sent++
	}
	for c.framesSent.Load() < uint64(sent+1) { // every frame written and flushed
		time.Sleep(50 * time.Microsecond)
	}
	b.StopTimer()
	if dropped := s.framesDropped.Load(); dropped != 0 {
		b.Fatalf("%d frames dropped", dropped)
	}
	out := float64(c.bcw.Count() - startBytes)
	b.ReportMetric(out/float64(sent)-float64(size), "overhead-B/frame")
}

// BenchmarkWriteFrameFanout measures one 8 KB frame written with Stream.WriteFrame to 100
// playing streams, each on its own loopback connection drained by a reader: the cost of a
// shared session's frame for its spectators (per frame and stream: ns/op divided by 100).
func BenchmarkWriteFrameFanout(b *testing.B) {
	const streams, size = 100, 8_000
	srv, err := NewServer(Config{SendQueueFrames: 64, SendQueueBytes: 64 << 20})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	cfg := loadClip(b).config
	var list []*Stream
	var conns []*Conn
	for i := range streams {
		nc, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		c := newConn(srv, nc, uint64(i+1))
		c.w = newChunkWriter(nc, func(n int) { c.bcw.SetCount(c.bcw.Count() + uint64(n)) })
		c.w.setChunkSize(uint32(srv.cfg.ChunkSize))
		go c.writeLoop()
		s := newStream(c, 1)
		s.playing.Store(true)
		s.needKey = true
		list, conns = append(list, s), append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			c.cancel()
			c.nc.Close()
			<-c.writerDone
		}
	}()
	nalus := make([]byte, size)
	first := &avc.Frame{NALUs: nalus, Keyframe: true, Config: cfg}
	for _, s := range list {
		s.WriteFrame(first)
	}
	b.SetBytes(int64(size * streams))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		d := time.Duration(i+1) * 33 * time.Millisecond
		f := &avc.Frame{NALUs: nalus, Keyframe: i%60 == 59, Config: cfg, PTS: d, DTS: d}
		for _, c := range conns {
			for c.queueFull() {
				time.Sleep(10 * time.Microsecond)
			}
		}
		for _, s := range list {
			if s.WriteFrame(f) {
				b.Fatal("a stream wanted a keyframe: a frame was dropped")
			}
		}
	}
	b.StopTimer()
}
