package rtmpsrv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// clipApp is the neuray example in miniature: a connect handler that accepts, a stream handler
// that chooses H.264 and registers render and frame handlers, a frame handler that encodes.
type clipApp struct {
	t        testing.TB
	clip     *testClip
	tsBase   uint32
	renders  atomic.Int64
	full     atomic.Int64
	frames   atomic.Int64
	closed   atomic.Int64
	mu       sync.Mutex
	encoders []*clipEncoder
}

func (a *clipApp) codecs() CodecFactory {
	return CodecFactoryFunc(func(codec string, s *Stream) (VideoEncoder, error) {
		if codec != "h264" {
			return nil, fmt.Errorf("only h264")
		}
		e := newClipEncoder(a.clip)
		a.mu.Lock()
		a.encoders = append(a.encoders, e)
		a.mu.Unlock()
		return e, nil
	})
}

func (a *clipApp) HandleConnect(c *Conn, created bool, cmd Object, args []any) bool {
	if !created {
		a.closed.Add(1)
		return true
	}
	c.RegisterStreamHandler(StreamHandlerFunc(func(s *Stream, created bool, cmd any) bool {
		if !created {
			return true
		}
		if err := s.UseCodec("h264"); err != nil {
			a.t.Errorf("UseCodec: %v", err)
			return false
		}
		s.tsBase = a.tsBase
		s.RegisterRenderHandler(RenderHandlerFunc(func(s *Stream) error {
			a.renders.Add(1)
			return nil
		}))
		s.RegisterFrameHandler(FrameHandlerFunc(func(s *Stream, queueFull bool) (*VideoData, error) {
			if queueFull {
				a.full.Add(1)
				return nil, nil
			}
			f, err := s.VideoEncoder().Encode(nil, s.Elapsed())
			if err != nil {
				return nil, err
			}
			a.frames.Add(1)
			return &VideoData{Frame: f}, nil
		}))
		return true
	}))
	return true
}

func startClipServer(t testing.TB, cfg Config) (*Server, *clipApp, string) {
	t.Helper()
	return startClipServerWith(t, cfg, nil)
}

func startClipServerWith(t testing.TB, cfg Config, setup func(*clipApp)) (*Server, *clipApp, string) {
	t.Helper()
	app := &clipApp{t: t, clip: loadClip(t)}
	if setup != nil {
		setup(app)
	}
	cfg.Codecs = app.codecs()
	srv := startAppServer(t, cfg, app, 5*time.Second)
	return srv, app, srv.ListenAddr().String()
}

// startAppServer starts a server running app on loopback; at cleanup it shuts the server
// down, waiting at most shutdownWait, and reports a failed shutdown.
func startAppServer(t testing.TB, cfg Config, app ConnectHandler, shutdownWait time.Duration) *Server {
	t.Helper()
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.Install(app)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownWait)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return srv
}

func needTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s not found: run scripts/setup.sh (make test does)", name)
	}
}

func TestFFmpegDecodesFrames(t *testing.T) {
	needTool(t, "ffmpeg")
	_, _, addr := startClipServer(t, Config{})
	const want = 45
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-i", "rtmp://"+addr+"/app/clip",
		"-frames:v", strconv.Itoa(want), "-pix_fmt", "gray", "-f", "rawvideo", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	if got := len(out); got != want*clipWidth*clipHeight {
		t.Fatalf("decoded %d bytes, want %d frames of %dx%d (%d bytes)", got, want, clipWidth, clipHeight, want*clipWidth*clipHeight)
	}
	// testsrc2 is not flat: a frame of one value would mean a broken decode.
	frame := out[:clipWidth*clipHeight]
	if bytes.Count(frame, frame[:1]) == len(frame) {
		t.Fatal("first decoded frame is uniform")
	}
}

func TestFFmpegAcrossExtendedTimestamps(t *testing.T) {
	needTool(t, "ffmpeg")
	// Cross 2^24 ms about 0.3 s into the stream.
	_, _, addr := startClipServerWith(t, Config{}, func(a *clipApp) { a.tsBase = 0xFFFFFF - 300 })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-rw_timeout", "20000000",
		"-read_intervals", "%+3", "-select_streams", "v", "-show_packets", "-show_entries", "packet=dts", "-of", "json",
		"rtmp://"+addr+"/app/clip").Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	dts := packetDTS(t, out)
	if len(dts) < 30 {
		t.Fatalf("ffprobe saw %d packets in 3 s, want >= 30", len(dts))
	}
	crossed := false
	for i := 1; i < len(dts); i++ {
		if dts[i] < dts[i-1] {
			t.Fatalf("dts went back at packet %d: %d after %d", i, dts[i], dts[i-1])
		}
		if dts[i] >= 0xFFFFFF {
			crossed = true
		}
	}
	if !crossed {
		t.Fatalf("timestamps never crossed 2^24 ms: last %d", dts[len(dts)-1])
	}
}

func packetDTS(t *testing.T, js []byte) []int64 {
	t.Helper()
	var v struct {
		Packets []struct {
			DTS int64 `json:"dts"`
		} `json:"packets"`
	}
	if err := json.Unmarshal(js, &v); err != nil {
		t.Fatalf("ffprobe json: %v\n%s", err, js)
	}
	out := make([]int64, len(v.Packets))
	for i, p := range v.Packets {
		out[i] = p.DTS
	}
	return out
}

func TestRtmpdumpRecordsFLV(t *testing.T) {
	needTool(t, "rtmpdump")
	needTool(t, "ffprobe")
	_, _, addr := startClipServer(t, Config{})
	path := filepath.Join(t.TempDir(), "out.flv")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	// A live stream never ends by itself: record about 2 s, then interrupt rtmpdump, which
	// closes the FLV file properly on SIGINT.
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "rtmpdump", "-q", "--live", "-r", "rtmp://"+addr+"/app/clip", "-o", path)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() < 0 {
			t.Fatalf("rtmpdump: %v\n%s", err, stderr.String())
		}
	}
	probe, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v", "-show_entries",
		"stream=codec_name,width,height", "-show_packets", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var v struct {
		Streams []struct {
			Codec  string `json:"codec_name"`
			Width  int    `json:"width"`
			Height int    `json:"height"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(probe, &v); err != nil || len(v.Streams) != 1 {
		t.Fatalf("ffprobe: %v %s", err, probe)
	}
	if s := v.Streams[0]; s.Codec != "h264" || s.Width != clipWidth || s.Height != clipHeight {
		t.Fatalf("stream %+v, want h264 %dx%d", s, clipWidth, clipHeight)
	}
	dts := packetDTS(t, probe)
	if len(dts) < 20 {
		t.Fatalf("%d packets in the recording, want >= 20", len(dts))
	}
	for i := 1; i < len(dts); i++ {
		if dts[i] <= dts[i-1] {
			t.Fatalf("timestamps not increasing at %d: %v", i, dts[i-1:i+1])
		}
	}
}
