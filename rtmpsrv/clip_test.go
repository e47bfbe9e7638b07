package rtmpsrv

import (
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/rendercast/rendercast/avc"
)

// A short H.264 clip made by the ffmpeg CLI, split into access units: the test's stand-in for
// an encoder (rtmpsrv's tests do not depend on package encode).

const (
	clipWidth  = 320
	clipHeight = 240
	clipFrames = 60
	clipGOP    = 15
)

type clipFrame struct {
	nalus []byte // AVCC
	key   bool
}

type testClip struct {
	config []byte
	frames []clipFrame
}

var (
	clipOnce sync.Once
	clipData *testClip
	clipErr  error
)

func loadClip(t testing.TB) *testClip {
	t.Helper()
	clipOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rtmpsrv-clip")
		if err != nil {
			clipErr = err
			return
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "clip.h264")
		out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i",
			"testsrc2=size=320x240:rate=30", "-frames:v", "60", "-c:v", "libx264",
			"-preset", "ultrafast", "-tune", "zerolatency", "-g", "15", "-bf", "0",
			"-pix_fmt", "yuv420p", "-f", "h264", path).CombinedOutput()
		if err != nil {
			clipErr = &exec.ExitError{Stderr: out}
			return
		}
		b, err := os.ReadFile(path)
		if err != nil {
			clipErr = err
			return
		}
		clipData, clipErr = splitClip(b)
	})
	if clipErr != nil {
		t.Fatalf("making the test clip with ffmpeg: %v", clipErr)
	}
	return clipData
}

func splitClip(b []byte) (*testClip, error) {
	nalus, err := avc.SplitAnnexB(b)
	if err != nil {
		return nil, err
	}
	sps, pps := avc.ParameterSets(nalus)
	cfg, err := avc.ConfigRecord(sps[:1], pps[:1])
	if err != nil {
		return nil, err
	}
	c := &testClip{config: cfg}
	var cur [][]byte
	key, hasSlice := false, false
	flush := func() {
		if hasSlice {
			c.frames = append(c.frames, clipFrame{nalus: avc.AppendAVCC(nil, cur), key: key})
			cur, key, hasSlice = nil, false, false
		}
	}
	for _, n := range nalus {
		switch avc.NALUType(n) {
		case h264.NALUTypeSPS, h264.NALUTypePPS, h264.NALUTypeAccessUnitDelimiter:
			continue
		case h264.NALUTypeIDR, h264.NALUTypeNonIDR:
			if len(n) > 1 && n[1]&0x80 != 0 { // first_mb_in_slice == 0: a new picture
				flush()
			}
			if avc.NALUType(n) == h264.NALUTypeIDR {
				key = true
			}
			hasSlice = true
		}
		cur = append(cur, n)
	}
	flush()
	return c, nil
}

// clipEncoder plays the clip in a loop; RequestKeyframe jumps to the next IDR.
type clipEncoder struct {
	mu         sync.Mutex
	clip       *testClip
	pos        int
	sentConfig bool
	wantKey    bool
	keyReqs    int
	closed     bool
}

func newClipEncoder(c *testClip) *clipEncoder { return &clipEncoder{clip: c} }

func (e *clipEncoder) Encode(_ image.Image, pts time.Duration) (*avc.Frame, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.wantKey {
		for !e.clip.frames[e.pos%len(e.clip.frames)].key {
			e.pos++
		}
		e.wantKey = false
	}
	f := e.clip.frames[e.pos%len(e.clip.frames)]
	e.pos++
	out := &avc.Frame{NALUs: f.nalus, Keyframe: f.key, PTS: pts, DTS: pts}
	if !e.sentConfig {
		out.Config = e.clip.config
		e.sentConfig = true
	}
	return out, nil
}

func (e *clipEncoder) RequestKeyframe() {
	e.mu.Lock()
	e.wantKey = true
	e.keyReqs++
	e.mu.Unlock()
}

func (e *clipEncoder) keyRequests() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.keyReqs
}

func (e *clipEncoder) SetBitrate(int) error { return nil }
func (e *clipEncoder) Name() string         { return "clip" }
func (e *clipEncoder) Close() error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	return nil
}

func (e *clipEncoder) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

func TestSplitClip(t *testing.T) {
	c := loadClip(t)
	if len(c.frames) != clipFrames {
		t.Fatalf("clip has %d frames, want %d", len(c.frames), clipFrames)
	}
	keys := 0
	for _, f := range c.frames {
		if f.key {
			keys++
		}
	}
	if keys != clipFrames/clipGOP {
		t.Fatalf("clip has %d keyframes, want %d", keys, clipFrames/clipGOP)
	}
	sps, _, err := avc.ParseConfigRecord(c.config)
	if err != nil {
		t.Fatal(err)
	}
	info, err := avc.ParseSPS(sps[0])
	if err != nil || info.Width != clipWidth || info.Height != clipHeight {
		t.Fatalf("sps %+v %v", info, err)
	}
}
