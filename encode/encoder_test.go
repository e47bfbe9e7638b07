package encode_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/encode"
	"github.com/rendercast/rendercast/rtmpsrv"
)

// The encoder satisfies the interface the RTMP server consumes.
var _ rtmpsrv.VideoEncoder = (*encode.H264Encoder)(nil)

func TestMain(m *testing.M) {
	// x264 and the NVENC probe log through av_log at info level: keep test output readable.
	astiav.SetLogLevel(astiav.LogLevelError)
	os.Exit(m.Run())
}

func frameTime(i int) time.Duration { return time.Duration(i) * time.Second / 30 }

func newX264(t testing.TB, o encode.Options) *encode.H264Encoder {
	t.Helper()
	o.Encoder = encode.EncoderX264
	e, err := encode.New(o)
	if err != nil {
		t.Fatalf("New(%+v): %v", o, err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// TestEncodeDecodePSNR encodes 90 frames of a moving 720p pattern at 4 Mbit/s, decodes them
// with FFmpeg's decoder and checks count, timestamps and quality.
func TestEncodeDecodePSNR(t *testing.T) {
	const n = 90
	p := newPattern(1280, 720)
	e := newX264(t, encode.Options{Width: 1280, Height: 720, FrameRate: 30, Bitrate: 4_000_000, Threads: 1})
	var frames []*avc.Frame
	var src []*image.YCbCr
	for i := range n {
		src = append(src, p.frame(i))
		f, err := e.Encode(src[i], frameTime(i))
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f == nil {
			t.Fatalf("frame %d: no output; want one access unit per frame", i)
		}
		frames = append(frames, f)
	}
	if frames[0].Config == nil || !frames[0].Keyframe {
		t.Fatalf("first frame: config %v, keyframe %v; want both", frames[0].Config != nil, frames[0].Keyframe)
	}
	d := newDecoder(t, frames[0].Config)
	var decoded int
	var sum, minPSNR, sumY float64 = 0, 100, 0
	var bytes int
	for i, f := range frames {
		if i > 0 && f.Config != nil {
			t.Errorf("frame %d carries a config record; want it on the first frame only", i)
		}
		if want := frameTime(i).Truncate(time.Millisecond); f.PTS != want || f.DTS != want {
			t.Errorf("frame %d: pts %v dts %v, want %v", i, f.PTS, f.DTS, want)
		}
		bytes += len(f.NALUs)
		for _, m := range d.decode(t, f) {
			yuv, y := psnr(src[decoded], m)
			sum += yuv
			sumY += y
			minPSNR = min(minPSNR, yuv)
			decoded++
		}
	}
	for range d.decode(t, nil) {
		decoded++
	}
	if decoded != n {
		t.Fatalf("decoded %d frames, want %d", decoded, n)
	}
	avg := sum / n
	t.Logf("720p 4 Mbit/s: PSNR avg %.2f dB (Y %.2f), min %.2f dB; %.0f kbit/s; stats %+v",
		avg, sumY/n, minPSNR, float64(bytes)*8/(float64(n)/30)/1000, e.Stats())
	if avg < 35 {
		t.Errorf("average PSNR %.2f dB, want >= 35", avg)
	}
	if minPSNR < 30 {
		t.Errorf("worst frame PSNR %.2f dB, want >= 30 (a starved keyframe?)", minPSNR)
	}
}

// encodeAll encodes frames 0..n-1 of p and fails on any error or missing output.
func encodeAll(t testing.TB, e *encode.H264Encoder, p *pattern, from, n int, before func(i int)) []*avc.Frame {
	t.Helper()
	var out []*avc.Frame
	for i := from; i < from+n; i++ {
		if before != nil {
			before(i)
		}
		f, err := e.Encode(p.frame(i), frameTime(i))
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f == nil {
			t.Fatalf("frame %d: no output", i)
		}
		out = append(out, f)
	}
	return out
}

func keyframeIndexes(frames []*avc.Frame, offset int) []int {
	var k []int
	for i, f := range frames {
		if f.Keyframe {
			k = append(k, offset+i)
		}
	}
	return k
}

func hasIDR(t testing.TB, f *avc.Frame) bool {
	t.Helper()
	nalus, err := avc.SplitAVCC(f.NALUs)
	if err != nil {
		t.Fatalf("frame at %v: %v", f.PTS, err)
	}
	for _, n := range nalus {
		if avc.NALUType(n) == h264.NALUTypeIDR {
			return true
		}
	}
	return false
}

// TestKeyframes checks IDR frames at the keyframe interval (2 s = 60 frames), on the frame
// after RequestKeyframe (which restarts the interval), and that a decoder can start there.
func TestKeyframes(t *testing.T) {
	p := newPattern(320, 240)
	e := newX264(t, encode.Options{Width: 320, Height: 240, FrameRate: 30, Threads: 1})
	frames := encodeAll(t, e, p, 0, 150, func(i int) {
		if i == 45 {
			e.RequestKeyframe()
			e.RequestKeyframe() // twice before one frame: still one IDR
		}
	})
	got := keyframeIndexes(frames, 0)
	want := []int{0, 45, 105}
	if !slices.Equal(got, want) {
		t.Fatalf("keyframes at frames %v, want %v", got, want)
	}
	for i, f := range frames {
		if f.Keyframe != hasIDR(t, f) {
			t.Errorf("frame %d: Keyframe %v but IDR slice present %v", i, f.Keyframe, !f.Keyframe)
		}
	}
	if s := e.Stats(); s.Keyframes != 3 || s.Frames != 150 {
		t.Errorf("stats: %d keyframes of %d frames, want 3 of 150", s.Keyframes, s.Frames)
	}
	// A player joining at the requested keyframe decodes everything from there on.
	d := newDecoder(t, frames[0].Config)
	n := 0
	for i := 45; i < len(frames); i++ {
		for _, m := range d.decode(t, frames[i]) {
			if yuv, _ := psnr(p.frame(45+n), m); yuv < 30 {
				t.Errorf("frame %d decoded from the IDR at 45: PSNR %.1f dB", 45+n, yuv)
			}
			n++
		}
	}
	n += len(d.decode(t, nil))
	if n != 105 {
		t.Errorf("decoded %d frames from frame 45, want 105", n)
	}
}

// TestConfigRecord parses the configuration record: profile (a ceiling x264 respects), level,
// and the picture size including cropping (360 is not a multiple of 16).
func TestConfigRecord(t *testing.T) {
	for _, tc := range []struct {
		preset, profile string
		wantProfile     uint8
	}{
		{"", "", 66}, // defaults: ultrafast needs only Constrained Baseline, under the main ceiling
		{"ultrafast", encode.ProfileHigh, 66},
		{"veryfast", encode.ProfileBaseline, 66},
		{"veryfast", encode.ProfileMain, 77},
		{"veryfast", encode.ProfileHigh, 100},
	} {
		t.Run(tc.preset+"/"+tc.profile, func(t *testing.T) {
			e := newX264(t, encode.Options{Width: 640, Height: 360, X264Preset: tc.preset, Profile: tc.profile, Threads: 1})
			f, err := e.Encode(newPattern(640, 360).frame(0), 0)
			if err != nil {
				t.Fatal(err)
			}
			sps, pps, err := avc.ParseConfigRecord(f.Config)
			if err != nil {
				t.Fatalf("config record: %v", err)
			}
			if len(sps) != 1 || len(pps) != 1 {
				t.Fatalf("%d SPS, %d PPS; want 1 each", len(sps), len(pps))
			}
			info, err := avc.ParseSPS(sps[0])
			if err != nil {
				t.Fatalf("SPS: %v", err)
			}
			if info.ProfileIDC != tc.wantProfile || info.Width != 640 || info.Height != 360 {
				t.Errorf("SPS: profile %d, %dx%d; want profile %d, 640x360", info.ProfileIDC, info.Width, info.Height, tc.wantProfile)
			}
			if info.LevelIDC == 0 || f.Config[1] != info.ProfileIDC || f.Config[3] != info.LevelIDC {
				t.Errorf("record header profile %d level %d, SPS profile %d level %d", f.Config[1], f.Config[3], info.ProfileIDC, info.LevelIDC)
			}
		})
	}
}

func totalBytes(frames []*avc.Frame) int {
	n := 0
	for _, f := range frames {
		n += len(f.NALUs)
	}
	return n
}

// TestSetBitrate changes the bitrate down (4 Mbit/s to 500 kbit/s) and up (500 kbit/s to
// 4 Mbit/s, above the VBV max rate the encoder opened with) and compares 60 frames before
// and after, without reopening the encoder or adding keyframes.
func TestSetBitrate(t *testing.T) {
	p := newPattern(1280, 720)
	for _, tc := range []struct{ from, to int }{{4_000_000, 500_000}, {500_000, 4_000_000}} {
		e := newX264(t, encode.Options{Width: 1280, Height: 720, Bitrate: tc.from, Threads: 1})
		before := totalBytes(encodeAll(t, e, p, 0, 60, nil))
		if err := e.SetBitrate(tc.to); err != nil {
			t.Fatalf("SetBitrate(%d): %v", tc.to, err)
		}
		afterFrames := encodeAll(t, e, p, 60, 60, nil)
		after := totalBytes(afterFrames)
		kbps := func(b int) int { return b * 8 / 2 / 1000 }
		t.Logf("%d -> %d bit/s: %d kbit/s before, %d kbit/s after", tc.from, tc.to, kbps(before), kbps(after))
		lo, hi := min(before, after), max(before, after)
		if hi < 3*lo || (after < before) != (tc.to < tc.from) {
			t.Errorf("%d -> %d bit/s: %d bytes before, %d after; want a change of 3x or more in that direction", tc.from, tc.to, before, after)
		}
		// The in-place change keeps the stream: no reopen, no new IDR before the periodic one.
		s := e.Stats()
		if s.Reopens != 0 || s.Bitrate != tc.to || e.Options().Bitrate != tc.to {
			t.Errorf("stats after SetBitrate: %+v, options bitrate %d", s, e.Options().Bitrate)
		}
		if k := keyframeIndexes(afterFrames, 60); !slices.Equal(k, []int{60}) {
			t.Errorf("keyframes after SetBitrate at %v, want [60] (the periodic one)", k)
		}
	}
}

// TestSetBitrateReopen exercises the reopen path NVENC uses: the frame after the change is an
// IDR carrying the configuration record, and the stream keeps decoding.
func TestSetBitrateReopen(t *testing.T) {
	p := newPattern(320, 240)
	e := newX264(t, encode.Options{Width: 320, Height: 240, Threads: 1})
	encode.ReopenOnBitrate(e)
	frames := encodeAll(t, e, p, 0, 10, nil)
	if err := e.SetBitrate(300_000); err != nil {
		t.Fatalf("SetBitrate: %v", err)
	}
	frames = append(frames, encodeAll(t, e, p, 10, 10, nil)...)
	if f := frames[10]; !f.Keyframe || f.Config == nil {
		t.Fatalf("frame after reopen: keyframe %v, config %v; want both", f.Keyframe, f.Config != nil)
	}
	if s := e.Stats(); s.Reopens != 1 || s.Bitrate != 300_000 {
		t.Errorf("stats: %+v; want 1 reopen at 300000 bit/s", s)
	}
	d := newDecoder(t, frames[0].Config)
	n := 0
	for _, f := range frames {
		n += len(d.decode(t, f))
	}
	n += len(d.decode(t, nil))
	if n != 20 {
		t.Errorf("decoded %d frames across the reopen, want 20", n)
	}
}

// TestRGBAInput checks the swscale path: solid colours come out as BT.709 limited-range
// YCbCr.
func TestRGBAInput(t *testing.T) {
	colours := []struct {
		c         color.RGBA
		y, cb, cr int
	}{
		{color.RGBA{255, 0, 0, 255}, 63, 102, 240},
		{color.RGBA{0, 255, 0, 255}, 173, 42, 26},
		{color.RGBA{0, 0, 255, 255}, 32, 240, 118},
		{color.RGBA{255, 255, 255, 255}, 235, 128, 128},
		{color.RGBA{0, 0, 0, 255}, 16, 128, 128},
	}
	e := newX264(t, encode.Options{Width: 320, Height: 240, Threads: 1})
	var d *decoder
	for i, tc := range colours {
		m := image.NewRGBA(image.Rect(0, 0, 320, 240))
		draw.Draw(m, m.Rect, image.NewUniform(tc.c), image.Point{}, draw.Src)
		f, err := e.Encode(m, frameTime(i))
		if err != nil {
			t.Fatalf("%v: %v", tc.c, err)
		}
		if d == nil {
			d = newDecoder(t, f.Config)
		}
		out := d.decode(t, f)
		if len(out) != 1 {
			t.Fatalf("%v: %d decoded frames, want 1", tc.c, len(out))
		}
		got := out[0].YCbCrAt(160, 120)
		if abs(int(got.Y)-tc.y) > 3 || abs(int(got.Cb)-tc.cb) > 3 || abs(int(got.Cr)-tc.cr) > 3 {
			t.Errorf("%v: YCbCr %v, want about (%d, %d, %d) (BT.709, limited range)", tc.c, got, tc.y, tc.cb, tc.cr)
		}
	}
}

func abs(v int) int { return max(v, -v) }

// TestSubImage encodes a *image.YCbCr that is a window into a larger image (non-zero Min,
// strides wider than the picture).
func TestSubImage(t *testing.T) {
	big := newPattern(640, 480).frame(7)
	sub := big.SubImage(image.Rect(100, 50, 420, 290)).(*image.YCbCr)
	want := image.NewYCbCr(image.Rect(0, 0, 320, 240), image.YCbCrSubsampleRatio420)
	for y := range 240 {
		for x := range 320 {
			c := sub.YCbCrAt(100+x, 50+y)
			want.Y[want.YOffset(x, y)] = c.Y
			want.Cb[want.COffset(x, y)], want.Cr[want.COffset(x, y)] = c.Cb, c.Cr
		}
	}
	e := newX264(t, encode.Options{Width: 320, Height: 240, Threads: 1, Bitrate: 2_000_000})
	f, err := e.Encode(sub, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := newDecoder(t, f.Config).decode(t, f)
	if len(out) != 1 {
		t.Fatalf("%d decoded frames, want 1", len(out))
	}
	if yuv, _ := psnr(want, out[0]); yuv < 30 {
		t.Errorf("sub-image PSNR %.1f dB, want >= 30 (wrong window copied?)", yuv)
	}
}

// TestWrongInput checks that bad images and timestamps are refused with errors naming the
// expected and the given value, and that the encoder keeps working afterwards.
func TestWrongInput(t *testing.T) {
	e := newX264(t, encode.Options{Width: 320, Height: 240, Threads: 1})
	short := image.NewYCbCr(image.Rect(0, 0, 320, 240), image.YCbCrSubsampleRatio420)
	short.Y = short.Y[:100]
	for _, tc := range []struct {
		name string
		img  image.Image
		want error
		text []string
	}{
		{"small YCbCr", image.NewYCbCr(image.Rect(0, 0, 160, 120), image.YCbCrSubsampleRatio420), encode.ErrImageSize, []string{"160x120", "320x240"}},
		{"large RGBA", image.NewRGBA(image.Rect(0, 0, 640, 480)), encode.ErrImageSize, []string{"640x480", "320x240"}},
		{"4:4:4", image.NewYCbCr(image.Rect(0, 0, 320, 240), image.YCbCrSubsampleRatio444), encode.ErrImageFormat, []string{"444", "420"}},
		{"gray", image.NewGray(image.Rect(0, 0, 320, 240)), encode.ErrImageFormat, []string{"*image.Gray", "*image.YCbCr", "*image.RGBA"}},
		{"NRGBA", image.NewNRGBA(image.Rect(0, 0, 320, 240)), encode.ErrImageFormat, []string{"*image.NRGBA"}},
		{"nil", nil, encode.ErrImageFormat, []string{"nil"}},
		{"typed nil", (*image.YCbCr)(nil), encode.ErrImageFormat, []string{"nil"}},
		{"short plane", short, encode.ErrImageFormat, []string{"too short"}},
	} {
		_, err := e.Encode(tc.img, 0)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
			continue
		}
		for _, s := range tc.text {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: error %q does not mention %q", tc.name, err, s)
			}
		}
	}
	if _, err := e.Encode(newPattern(320, 240).frame(0), -time.Second); !errors.Is(err, encode.ErrInvalidPTS) {
		t.Errorf("negative pts: error %v, want ErrInvalidPTS", err)
	}
	f, err := e.Encode(newPattern(320, 240).frame(0), 0)
	if err != nil || f == nil || !f.Keyframe || f.Config == nil {
		t.Fatalf("first good frame after errors: %v, %v; want a keyframe with config", f, err)
	}
}

// TestTimestamps: pts in ms; a pts not after the previous one moves 1 ms past it.
func TestTimestamps(t *testing.T) {
	p := newPattern(320, 240)
	e := newX264(t, encode.Options{Width: 320, Height: 240, Threads: 1})
	for i, tc := range []struct{ in, want time.Duration }{
		{0, 0},
		{0, time.Millisecond},
		{33*time.Millisecond + 400*time.Microsecond, 33 * time.Millisecond},
		{20 * time.Millisecond, 34 * time.Millisecond},
		{time.Hour, time.Hour},
	} {
		f, err := e.Encode(p.frame(i), tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if f.PTS != tc.want || f.DTS != tc.want {
			t.Errorf("pts %v: got pts %v dts %v, want %v", tc.in, f.PTS, f.DTS, tc.want)
		}
	}
}

// TestNewErrors checks option validation and encoder names.
func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    encode.Options
		want error
		text []string
	}{
		{"unknown encoder", encode.Options{Width: 320, Height: 240, Encoder: "h264_magic"}, encode.ErrUnknownEncoder, []string{"h264_magic", "libx264", "h264_nvenc", "auto"}},
		{"zero size", encode.Options{}, encode.ErrInvalidOptions, []string{"0x0"}},
		{"odd width", encode.Options{Width: 321, Height: 240}, encode.ErrInvalidOptions, []string{"321x240", "even"}},
		{"negative rate", encode.Options{Width: 320, Height: 240, FrameRate: -1}, encode.ErrInvalidOptions, []string{"-1"}},
		{"tiny bitrate", encode.Options{Width: 320, Height: 240, Bitrate: 5}, encode.ErrInvalidOptions, []string{"5 bit/s"}},
		{"profile", encode.Options{Width: 320, Height: 240, Profile: "high10"}, encode.ErrInvalidOptions, []string{"high10", "main"}},
		{"VBV", encode.Options{Width: 320, Height: 240, VBVFrames: -2}, encode.ErrInvalidOptions, []string{"-2"}},
		{"threads", encode.Options{Width: 320, Height: 240, Threads: -1}, encode.ErrInvalidOptions, []string{"-1"}},
		{"x264 preset", encode.Options{Width: 320, Height: 240, Encoder: encode.EncoderX264, X264Preset: "turbo"}, encode.ErrInvalidOptions, []string{"libx264", "turbo"}},
	} {
		e, err := encode.New(tc.o)
		if err == nil {
			e.Close()
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
		for _, s := range tc.text {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: error %q does not mention %q", tc.name, err, s)
			}
		}
	}
}

// TestDefaults checks the documented defaults and the GOP they give.
func TestDefaults(t *testing.T) {
	e := newX264(t, encode.Options{Width: 1920, Height: 1080})
	o := e.Options()
	if o.FrameRate != 30 || o.Bitrate != 9_000_000 || o.KeyframeInterval != 2*time.Second ||
		o.X264Preset != "ultrafast" || o.NVENCPreset != "p1" || o.Profile != encode.ProfileMain ||
		o.VBVFrames != 3 || o.Threads != 0 || o.Logger == nil {
		t.Errorf("defaults: %+v", o)
	}
	small := newX264(t, encode.Options{Width: 64, Height: 64})
	if b := small.Options().Bitrate; b != 200_000 {
		t.Errorf("64x64 default bitrate %d, want the 200000 floor", b)
	}
}

// TestClose: Close is idempotent; afterwards calls fail with ErrClosed.
func TestClose(t *testing.T) {
	e, err := encode.New(encode.Options{Width: 320, Height: 240, Encoder: encode.EncoderX264})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SetBitrate(1); !errors.Is(err, encode.ErrInvalidBitrate) {
		t.Errorf("SetBitrate(1): %v, want ErrInvalidBitrate", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := e.Encode(newPattern(320, 240).frame(0), 0); !errors.Is(err, encode.ErrClosed) {
		t.Errorf("Encode after Close: %v, want ErrClosed", err)
	}
	if err := e.SetBitrate(1_000_000); !errors.Is(err, encode.ErrClosed) {
		t.Errorf("SetBitrate after Close: %v, want ErrClosed", err)
	}
	e.RequestKeyframe()
	_ = e.Stats()
}

// TestConcurrentUse drives one encoder from a frame goroutine while others request
// keyframes, change the bitrate and read stats, as rtmpsrv does; -race checks it.
func TestConcurrentUse(t *testing.T) {
	p := newPattern(320, 240)
	e := newX264(t, encode.Options{Width: 320, Height: 240})
	imgs := []*image.YCbCr{p.frame(0), p.frame(1), p.frame(2)}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errc := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			e.RequestKeyframe()
			if err := e.SetBitrate(300_000 + 100_000*(i%5)); err != nil {
				select {
				case errc <- err:
				default:
				}
				return
			}
			_ = e.Stats()
			time.Sleep(time.Millisecond)
		}
	}()
	keys := 0
	for i := range 60 {
		f, err := e.Encode(imgs[i%3], frameTime(i))
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f.Keyframe {
			keys++
		}
	}
	close(stop)
	wg.Wait()
	select {
	case err := <-errc:
		t.Fatalf("SetBitrate: %v", err)
	default:
	}
	if keys < 2 {
		t.Errorf("%d keyframes with requests arriving all along, want several", keys)
	}
}

// TestLogging: the injected logger hears the choice, and x264 takes every option set (an
// option it ignored would be logged as a warning).
func TestLogging(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e, err := encode.New(encode.Options{Width: 320, Height: 240, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	out := buf.String()
	t.Log(out)
	if !strings.Contains(out, "encoder open") || !strings.Contains(out, "encoder="+e.Name()) {
		t.Errorf("log does not report the encoder opened:\n%s", out)
	}
	if e.Name() == encode.EncoderX264 && !strings.Contains(out, "h264_nvenc failed to open") {
		t.Errorf("log does not say why NVENC was not used:\n%s", out)
	}
	if strings.Contains(out, "level=WARN") {
		t.Errorf("warnings logged:\n%s", out)
	}
}

// TestDecoderErrors: encode.Decoder refuses a configuration record it cannot use.
func TestDecoderErrors(t *testing.T) {
	for name, config := range map[string][]byte{
		"empty":     nil,
		"truncated": {1, 0x42, 0xc0, 0x1f, 0xff, 0xe1, 0x00},
	} {
		if d, err := encode.NewDecoder(config); !errors.Is(err, encode.ErrInvalidOptions) {
			if d != nil {
				d.Close()
			}
			t.Errorf("%s: NewDecoder error %v, want ErrInvalidOptions", name, err)
		}
	}
}
