package rtmpclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/rendercast/rendercast/avc"
)

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startFFmpegServer runs ffmpeg as a one-shot RTMP server (listen mode) that streams a
// 320x240 30 fps H.264 test pattern for the given duration to the first player.
// The process is killed and waited for at cleanup.
func startFFmpegServer(t *testing.T, seconds int) string {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (apt-get install ffmpeg)")
	}
	url := fmt.Sprintf("rtmp://127.0.0.1:%d/app/stream", freePort(t))
	cmd := exec.Command("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
		"-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30",
		"-t", fmt.Sprint(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
		"-g", "30", "-f", "flv", "-listen", "1", url)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("ffmpeg: %s", stderr.String())
		}
	})
	return url
}

// dialRetry dials until the server listens (ffmpeg takes a moment to start).
func dialRetry(t *testing.T, ctx context.Context, url string, opts Options) *Client {
	t.Helper()
	for {
		c, err := Dial(ctx, url, opts)
		if err == nil {
			return c
		}
		if !errors.Is(err, syscall.ECONNREFUSED) || ctx.Err() != nil {
			t.Fatalf("Dial(%s): %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestPlayFromFFmpeg(t *testing.T) {
	url := startFFmpegServer(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	c := dialRetry(t, ctx, url, Options{})
	defer c.Close()
	if got := c.ConnectResult().Status.Code; got != "NetConnection.Connect.Success" {
		t.Errorf("connect status code = %q, want NetConnection.Connect.Success", got)
	}
	id, err := c.CreateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Play(ctx, id, "stream"); err != nil {
		t.Fatal(err)
	}

	var (
		sawHeader bool
		frames    int
		keyframes int
		last      time.Duration = -1
	)
	for frames < 60 {
		m, err := c.ReadVideo(ctx)
		if err != nil {
			t.Fatalf("ReadVideo after %d frames: %v", frames, err)
		}
		// ffmpeg's listen mode sends media on message stream 0, not on the played
		// stream: StreamID is checked against the fake server instead.
		if m.Codec != CodecAVC {
			t.Fatalf("codec %d, want %d (AVC)", m.Codec, CodecAVC)
		}
		switch m.AVCPacketType {
		case AVCSequenceHeader:
			sps, _, err := avc.ParseConfigRecord(m.Payload)
			if err != nil {
				t.Fatalf("sequence header: %v", err)
			}
			info, err := avc.ParseSPS(sps[0])
			if err != nil {
				t.Fatalf("SPS: %v", err)
			}
			if info.Width != 320 || info.Height != 240 {
				t.Errorf("SPS size %dx%d, want 320x240", info.Width, info.Height)
			}
			sawHeader = true
		case AVCNALU:
			if !sawHeader {
				t.Fatal("NALU frame before the sequence header")
			}
			if frames == 0 && !m.Keyframe {
				t.Error("first frame is not a keyframe")
			}
			if m.Keyframe {
				keyframes++
			}
			if _, err := avc.SplitAVCC(m.Payload); err != nil {
				t.Errorf("frame %d: %v", frames, err)
			}
			if m.Timestamp <= last {
				t.Errorf("frame %d: timestamp %v after %v", frames, m.Timestamp, last)
			}
			last = m.Timestamp
			frames++
		}
	}
	if keyframes < 2 {
		t.Errorf("%d keyframes in %d frames with -g 30, want at least 2", keyframes, frames)
	}
	if md := c.Metadata(); md == nil {
		t.Error("no onMetaData received")
	} else if w, _ := md.GetFloat64("width"); w != 320 {
		t.Errorf("onMetaData width = %v, want 320", w)
	}
	st := c.Stats()
	if st.VideoMessages < 61 || st.BytesIn == 0 || st.BytesOut == 0 {
		t.Errorf("stats = %+v", st)
	}
	t.Logf("received %d frames up to %v; stats %+v", frames, last, st)
}
