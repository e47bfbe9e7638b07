package whep

import (
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/rendercast/rendercast/avc"
)

// benchViewer only records its session: the benchmark writes the frames.
type benchViewer struct{ connected chan struct{} }

func (v *benchViewer) Connected()                               { close(v.connected) }
func (v *benchViewer) Call(string, map[string]any) (any, error) { return nil, nil }
func (v *benchViewer) KeyframeWanted()                          {}
func (v *benchViewer) Estimate(int)                             {}
func (v *benchViewer) Close()                                   {}

// BenchmarkViewerCPU measures the CPU time of the whole process (server and pion clients
// on loopback) per viewer and second of video: 4 viewers of a 2 Mbit/s, 30 fps stream
// (one frame written to every session per iteration, 33 ms apart), whose clients send
// browser-like feedback (receiver reports, NACKs) and, in the transport-cc case,
// transport-wide feedback every 100 ms, which the server's congestion control (GCC
// estimate, pacer) acts on. Run with -benchtime=300x (10 s).
func BenchmarkViewerCPU(b *testing.B) {
	for _, twcc := range []bool{false, true} {
		b.Run(fmt.Sprintf("transport-cc=%v", twcc), func(b *testing.B) { benchViewers(b, 4, twcc) })
	}
}

func benchViewers(b *testing.B, viewers int, twcc bool) {
	var mu sync.Mutex
	var sessions []*Session
	var waits []chan struct{}
	srv, err := NewServer(Config{LocalIPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Viewers: ViewerFactoryFunc(func(s *Session) (Viewer, error) {
		v := &benchViewer{connected: make(chan struct{})}
		mu.Lock()
		sessions, waits = append(sessions, s), append(waits, v.connected)
		mu.Unlock()
		return v, nil
	})})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer func() {
		hs.Close()
		srv.Shutdown(b.Context())
	}()
	for range viewers {
		pc := benchClient(b, twcc)
		defer pc.Close()
		offer, _ := pc.CreateOffer(nil)
		gathered := webrtc.GatheringCompletePromise(pc)
		pc.SetLocalDescription(offer)
		<-gathered
		resp, err := http.Post(hs.URL+"/whep/demo", "application/sdp", strings.NewReader(pc.LocalDescription().SDP))
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answer := string(body)
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("offer: %d %s", resp.StatusCode, answer)
		}
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
			b.Fatal(err)
		}
	}
	for _, w := range waits {
		select {
		case <-w:
		case <-time.After(20 * time.Second):
			b.Fatal("a client did not connect")
		}
	}
	config, _ := avc.ConfigRecord([][]byte{testSPS}, [][]byte{testPPS})
	const bitrate, fps = 2_000_000, 30
	frame := func(i int, key bool) *avc.Frame {
		nal := make([]byte, bitrate/8/fps)
		rand.Read(nal)
		nal[0] = 0x41
		f := &avc.Frame{PTS: time.Duration(i) * time.Second / fps}
		if key {
			nal[0], f.Keyframe, f.Config = 0x65, true, config
		}
		f.NALUs = avc.AppendAVCC(nil, [][]byte{nal})
		return f
	}
	frames := make([]*avc.Frame, 64) // random data made before the measurement
	for i := range frames {
		frames[i] = frame(i, i == 0)
	}
	want := make([]bool, len(sessions))
	for i := range want {
		want[i] = true
	}
	tick := time.NewTicker(time.Second / fps)
	defer tick.Stop()
	var before syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start := time.Now()
	b.ResetTimer()
	for i := range b.N {
		<-tick.C
		for j, s := range sessions {
			f := frames[1+i%(len(frames)-1)]
			if want[j] {
				f = frames[0]
			}
			f2 := *f
			f2.PTS = time.Duration(i) * time.Second / fps
			want[j] = s.WriteFrame(&f2)
		}
	}
	elapsed := time.Since(start)
	var after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) * time.Nanosecond
	b.ReportMetric(float64(cpu.Milliseconds())/float64(viewers)/elapsed.Seconds(), "cpu-ms/viewer-s")
	b.ReportMetric(0, "ns/op")
}

// benchClient is a pion receiver with receiver reports and NACKs, and transport-cc
// feedback when twcc.
func benchClient(b *testing.B, twcc bool) *webrtc.PeerConnection {
	pc := testPeer(b, twcc, true, false)
	pc.OnTrack(func(tr *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		go func() {
			for {
				if _, _, err := recv.ReadRTCP(); err != nil {
					return
				}
			}
		}()
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
		}
	})
	return pc
}
