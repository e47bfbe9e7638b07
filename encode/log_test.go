package encode

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"image"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asticode/go-astiav"
)

// capture is a slog.Handler that keeps every record.
type capture struct {
	mu   sync.Mutex
	recs []captured
}

type captured struct {
	level     slog.Level
	msg       string
	component string
	library   string
}

func (c *capture) Enabled(context.Context, slog.Level) bool { return true }
func (c *capture) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *capture) WithGroup(string) slog.Handler            { return c }
func (c *capture) Handle(_ context.Context, r slog.Record) error {
	rec := captured{level: r.Level, msg: r.Message}
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "component":
			rec.component = a.Value.String()
		case "library":
			rec.library = a.Value.String()
		}
		return true
	})
	c.mu.Lock()
	c.recs = append(c.recs, rec)
	c.mu.Unlock()
	return nil
}

func (c *capture) take() []captured {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.recs
	c.recs = nil
	return out
}

// captureFFmpeg routes FFmpeg's log to a capture at FFmpeg's info level for the test.
func captureFFmpeg(t *testing.T) *capture {
	t.Helper()
	c := &capture{}
	prev := astiav.GetLogLevel()
	SetLibraryLogLevel(slog.LevelDebug)
	SetLogger(slog.New(c))
	t.Cleanup(func() {
		SetLogger(nil)
		astiav.SetLogLevel(prev)
	})
	return c
}

// encodeSome opens x264 at 320x240, encodes frames and closes it.
func encodeSome(t *testing.T, frames int) {
	t.Helper()
	e, err := New(Options{Width: 320, Height: 240, FrameRate: 30, Bitrate: 500_000, Encoder: EncoderX264})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	img := image.NewYCbCr(image.Rect(0, 0, 320, 240), image.YCbCrSubsampleRatio420)
	for i := range frames {
		for j := range img.Y {
			img.Y[j] = byte(i*7 + j)
		}
		if _, err := e.Encode(img, time.Duration(i)*time.Second/30); err != nil {
			t.Fatalf("Encode %d: %v", i, err)
		}
	}
	e.Close()
}

func find(recs []captured, f func(captured) bool) (captured, bool) {
	for _, r := range recs {
		if f(r) {
			return r, true
		}
	}
	return captured{}, false
}

// x264's banner and its statistics at close reach the logger at Debug, whole (the option
// banner from its first word to its last option), tagged libx264.
func TestFFmpegLogX264(t *testing.T) {
	c := captureFFmpeg(t)
	encodeSome(t, 10)
	recs := c.take()
	for _, want := range []string{"frame I:", "frame P:", "kb/s:", "using cpu capabilities", "options:"} {
		r, ok := find(recs, func(r captured) bool { return strings.Contains(r.msg, want) })
		if !ok {
			t.Errorf("no record with %q among %d", want, len(recs))
			continue
		}
		if r.level != slog.LevelDebug || r.component != "libx264" {
			t.Errorf("%q: level %v component %q, want DEBUG libx264", want, r.level, r.component)
		}
		if strings.Contains(r.msg, "\n") {
			t.Errorf("%q: record holds a newline: %q", want, r.msg)
		}
	}
	banner, ok := find(recs, func(r captured) bool { return strings.Contains(r.msg, "options:") })
	if ok && (!strings.HasPrefix(banner.msg, "264 - core") || !strings.Contains(banner.msg, "bitrate=500") ||
		!strings.HasSuffix(banner.msg, "aq=0")) {
		t.Errorf("x264's option banner (%d bytes) is not whole: %q", len(banner.msg), banner.msg)
	}

	// The level filter still applies: at FFmpeg's error level nothing of this reaches us.
	SetLibraryLogLevel(slog.LevelInfo)
	encodeSome(t, 10)
	if recs := c.take(); len(recs) != 0 {
		t.Errorf("FFmpeg at error level: %d records, first %+v", len(recs), recs[0])
	}
}

// Messages of any length arrive whole, parts of a line become one line, levels map to
// slog's, and several lines in one message become several records.
func TestFFmpegLogLines(t *testing.T) {
	c := captureFFmpeg(t)
	long := strings.Repeat("0123456789abcdef", 600) // 9600 bytes: past the 4 KiB stack buffer too
	astiav.Log(nil, astiav.LogLevelWarning, "%s\n", long)
	astiav.Log(nil, astiav.LogLevelInfo, "%s", "first part, ")
	astiav.Log(nil, astiav.LogLevelError, "%s", "second part\n")
	astiav.Log(nil, astiav.LogLevelError, "%s", "line one\nline two\n")
	astiav.Log(nil, astiav.LogLevelDebug, "%s", "below the filter\n") // FFmpeg at info level: dropped
	recs := c.take()
	want := []captured{
		{level: slog.LevelWarn, msg: long},
		{level: slog.LevelError, msg: "first part, second part"},
		{level: slog.LevelError, msg: "line one"},
		{level: slog.LevelError, msg: "line two"},
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d: %+v", len(recs), len(want), recs)
	}
	for i, w := range want {
		if recs[i].level != w.level || recs[i].msg != w.msg {
			t.Errorf("record %d: %v %.60q (%d bytes), want %v %.60q (%d bytes)", i, recs[i].level, recs[i].msg, len(recs[i].msg), w.level, w.msg, len(w.msg))
		}
	}
}

// Opening NVENC where it cannot run logs FFmpeg's reason through the logger: on a machine
// without the NVIDIA driver, "Cannot load libcuda.so.1" as a plain Debug message.
func TestFFmpegLogNVENCAbsent(t *testing.T) {
	c := captureFFmpeg(t)
	e, err := New(Options{Width: 320, Height: 240, FrameRate: 30, Bitrate: 500_000, Encoder: EncoderNVENC})
	recs := c.take()
	if err == nil { // a GPU with NVENC: then FFmpeg reports no error
		e.Close()
		if r, bad := find(recs, func(r captured) bool { return r.level >= slog.LevelError }); bad {
			t.Errorf("NVENC opened, yet an error was logged: %+v", r)
		}
		return
	}
	if !canLoad(libCUDA) {
		r, ok := find(recs, func(r captured) bool { return r.library == libCUDA })
		if !ok {
			t.Fatalf("no record names %s: %+v", libCUDA, recs)
		}
		if r.level != slog.LevelDebug || r.component != EncoderNVENC || !strings.Contains(r.msg, "NVENC unavailable") {
			t.Errorf("record %+v: want DEBUG from h264_nvenc saying NVENC is unavailable", r)
		}
		return
	}
	// A driver without an NVENC unit (H100/H200): FFmpeg says why, from h264_nvenc.
	if _, ok := find(recs, func(r captured) bool { return r.component == EncoderNVENC }); !ok {
		t.Fatalf("no record from h264_nvenc: %+v", recs)
	}
}

// With the logger set, FFmpeg writes nothing on standard error: a child process (this
// test binary) encodes with x264, logs a 3000-byte FFmpeg warning and probes NVENC, logging
// JSON on standard output, where every line arrives whole.
func TestFFmpegLogNothingOnStderr(t *testing.T) {
	if os.Getenv("RC_FFMPEG_LOG_CHILD") == "1" {
		SetLibraryLogLevel(slog.LevelDebug)
		SetLogger(slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelDebug})))
		encodeSome(t, 10)
		astiav.Log(nil, astiav.LogLevelWarning, "%s\n", "long:"+strings.Repeat("x", 3000))
		if e, err := New(Options{Width: 320, Height: 240, FrameRate: 30, Bitrate: 500_000, Encoder: EncoderNVENC}); err == nil {
			e.Close()
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFFmpegLogNothingOnStderr$", "-test.count=1")
	cmd.Env = append(os.Environ(), "RC_FFMPEG_LOG_CHILD=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("child wrote %d bytes on standard error:\n%s", stderr.Len(), stderr.String())
	}
	var stats, long, nvenc int
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue // the test framework's PASS
		}
		msg, _ := m["msg"].(string)
		if m["component"] == "libx264" && m["level"] == "DEBUG" && (strings.HasPrefix(msg, "frame I:") || strings.HasPrefix(msg, "kb/s:")) {
			stats++
		}
		if msg == "long:"+strings.Repeat("x", 3000) && m["level"] == "WARN" {
			long++
		}
		if m["component"] == EncoderNVENC {
			nvenc++
		}
	}
	if !canLoad(libCUDA) && nvenc < 1 {
		t.Errorf("no line from h264_nvenc, whose driver is missing:\n%s", stdout.String())
	}
	if stats < 2 || long < 1 {
		t.Errorf("child's log: %d x264 statistics lines at DEBUG (want 2), %d whole 3005-byte warnings (want 1):\n%s",
			stats, long, stdout.String())
	}
}
