package rtmpsrv

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/rtmpclient"
)

// makeClip encodes a clip of size ("WxH") with the ffmpeg CLI, as loadClip does.
func makeClip(t *testing.T, size string) *testClip {
	t.Helper()
	path := filepath.Join(t.TempDir(), "clip.h264")
	out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size="+size+":rate=30",
		"-frames:v", "60", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "15", "-bf", "0",
		"-pix_fmt", "yuv420p", "-f", "h264", path).CombinedOutput()
	if err != nil {
		t.Fatalf("making a %s clip with ffmpeg: %v\n%s", size, err, out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := splitClip(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A keyframe whose configuration differs from the one a player has (the picture size
// changed) reaches it after a new sequence header and a new onMetaData with the new size:
// the project's client sees both, and ffprobe decodes frames of both sizes, without error.
func TestNewConfigGetsSequenceHeaderAndMetadata(t *testing.T) {
	needTool(t, "ffprobe")
	app := newPushApp(t, true)
	url := pushServer(t, Config{}, app)
	small := makeClip(t, "256x144")

	c := dial(t, url+"/app", rtmpclient.Options{})
	ctx := testCtx(t)
	id, err := c.CreateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Play(ctx, id, "resize"); err != nil {
		t.Fatal(err)
	}
	streams := []*Stream{app.nextStarted(t)}

	probeCtx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	probe := exec.CommandContext(probeCtx, "ffprobe", "-v", "error", "-rw_timeout", "20000000", "-read_intervals", "%+#100",
		"-select_streams", "v", "-show_entries", "frame=width,height,key_frame", "-of", "json", url+"/app/resize")
	probe.Stdout, probe.Stderr = &stdout, &stderr
	if err := probe.Start(); err != nil {
		t.Fatal(err)
	}
	probeDone := make(chan error, 1)
	go func() { probeDone <- probe.Wait() }()
	streams = append(streams, app.nextStarted(t))

	// 60 frames of the first size, then 90 of the second, as a session that was resized.
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		want := make([]bool, len(streams))
		for i := range 150 {
			d := pushBase + time.Duration(i)*pushFrameInterval
			cf, config := app.clip.frames[i%len(app.clip.frames)], app.clip.config
			if i >= 60 {
				cf, config = small.frames[(i-60)%len(small.frames)], small.config
			}
			f := &avc.Frame{NALUs: cf.nalus, Keyframe: cf.key, PTS: d, DTS: d}
			if cf.key {
				f.Config = config
			}
			for j, s := range streams {
				if want[j] && !f.Keyframe {
					continue
				}
				want[j] = s.WriteFrame(f)
			}
			time.Sleep(pushFrameInterval)
		}
	}()

	// The project's client: two sequence headers, the metadata follows the size.
	headers := 0
	var sizes []float64
	for headers < 2 {
		m, err := c.ReadVideo(ctx)
		if err != nil {
			t.Fatalf("reading video after %d sequence headers: %v", headers, err)
		}
		if m.AVCPacketType != rtmpclient.AVCSequenceHeader {
			continue
		}
		headers++
		sps, _, err := avc.ParseConfigRecord(m.Payload)
		if err != nil {
			t.Fatalf("sequence header %d: %v", headers, err)
		}
		info, err := avc.ParseSPS(sps[0])
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, float64(info.Width))
		first := readFrame(t, c)
		if !first.Keyframe {
			t.Fatalf("the frame after sequence header %d is not a keyframe", headers)
		}
		md := c.Metadata()
		if w, _ := md.GetFloat64("width"); w != float64(info.Width) {
			t.Fatalf("after sequence header %d (%d wide) onMetaData says width %v", headers, info.Width, w)
		}
		if h, _ := md.GetFloat64("height"); h != float64(info.Height) {
			t.Fatalf("after sequence header %d (%d high) onMetaData says height %v", headers, info.Height, h)
		}
	}
	if sizes[0] != clipWidth || sizes[1] != 256 {
		t.Fatalf("sequence headers for widths %v, want %d then 256", sizes, clipWidth)
	}

	<-fed
	select {
	case err := <-probeDone:
		if err != nil {
			t.Fatalf("ffprobe: %v\n%s", err, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("ffprobe did not end")
	}
	var v struct {
		Frames []struct {
			KeyFrame int `json:"key_frame"`
			Width    int `json:"width"`
			Height   int `json:"height"`
		} `json:"frames"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &v); err != nil {
		t.Fatalf("ffprobe json: %v\n%s", err, stdout.String())
	}
	var big, little int
	for i, f := range v.Frames {
		switch {
		case f.Width == clipWidth && f.Height == clipHeight && little == 0:
			big++
		case f.Width == 256 && f.Height == 144:
			if little == 0 && f.KeyFrame != 1 {
				t.Errorf("ffprobe's first 256x144 frame (%d) is not a keyframe", i)
			}
			little++
		default:
			t.Fatalf("ffprobe frame %d: %dx%d after %d of 320x240 and %d of 256x144", i, f.Width, f.Height, big, little)
		}
	}
	if big < 20 || little < 30 || stderr.Len() != 0 {
		t.Fatalf("ffprobe decoded %d frames of 320x240 then %d of 256x144 (want >= 20 and >= 30); stderr: %s", big, little, stderr.String())
	}
}
