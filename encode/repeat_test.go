package encode_test

import (
	"errors"
	"fmt"
	"image"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/encode"
)

// shown is one access unit of a still/moving cycle and the picture it must show.
type shown struct {
	f      *avc.Frame
	src    *image.YCbCr // the source picture encoded, or the one repeated
	repeat bool
}

// cycleCase is a still -> moving -> still -> moving run of 140 frames at 30 fps with a 1 s
// keyframe interval: frames 0-19 encode one picture, 20-59 are still (repeats), 60-79 move,
// 80-119 are still with a keyframe requested before frame 100, 120-139 move. While still the
// loop calls Repeat and encodes the last picture again when it is refused, as the frame
// loop does.
type cycleCase struct {
	name     string
	opts     encode.Options
	resizeAt int         // frame before which the encoder is resized (0: never)
	resizeTo image.Point // the new size
	// wantKeys are the frames that must be IDRs: the first, fallbacks after a refusal for the
	// keyframe interval or a requested keyframe, the first frame after a resize, and frames
	// encoded when the interval passed during repeats (the encoder's own count does not know
	// about them).
	wantKeys []int
	// wantRefusals are the refused repeats: "frame: part of the reason".
	wantRefusals []string
	multiSlice   bool // the encoder writes several slices per picture
}

func runCycle(t *testing.T, tc cycleCase) []shown {
	t.Helper()
	o := tc.opts
	o.FrameRate, o.KeyframeInterval, o.Bitrate = 30, time.Second, 1_500_000
	e := newX264(t, o)
	if !e.CanRepeat() {
		t.Fatalf("CanRepeat false for %+v, want true", o)
	}
	p := newPattern(o.Width, o.Height)
	still := p.frame(0)
	var out []shown
	var refusals []string
	encodeFrame := func(i int, img *image.YCbCr) {
		f, err := e.Encode(img, frameTime(i))
		if err != nil || f == nil {
			t.Fatalf("frame %d: Encode: %v, %v", i, f, err)
		}
		out = append(out, shown{f: f, src: img})
		still = img
	}
	for i := range 140 {
		if i == 100 {
			e.RequestKeyframe()
		}
		if tc.resizeAt > 0 && i == tc.resizeAt {
			if err := e.Resize(tc.resizeTo.X, tc.resizeTo.Y); err != nil {
				t.Fatalf("Resize(%v): %v", tc.resizeTo, err)
			}
			if _, err := e.Repeat(frameTime(i)); !errors.Is(err, encode.ErrNoRepeat) {
				t.Fatalf("Repeat right after Resize: %v, want ErrNoRepeat", err)
			}
			p = newPattern(tc.resizeTo.X, tc.resizeTo.Y)
		}
		switch {
		case i < 20:
			encodeFrame(i, still)
		case i < 60 || (i >= 80 && i < 120):
			f, err := e.Repeat(frameTime(i))
			if errors.Is(err, encode.ErrNoRepeat) {
				refusals = append(refusals, fmt.Sprintf("%d: %v", i, err))
				encodeFrame(i, still)
				continue
			}
			if err != nil {
				t.Fatalf("frame %d: Repeat: %v", i, err)
			}
			out = append(out, shown{f: f, src: still, repeat: true})
		default:
			encodeFrame(i, p.frame(i))
		}
	}

	// What the encoder returned.
	var keys []int
	repeats, slicesSeen := 0, 0
	for i, s := range out {
		if s.f.Keyframe {
			keys = append(keys, i)
		}
		if s.f.Keyframe != hasIDR(t, s.f) {
			t.Errorf("frame %d: Keyframe %v, IDR slice %v", i, s.f.Keyframe, !s.f.Keyframe)
		}
		if want := frameTime(i).Truncate(time.Millisecond); s.f.PTS != want || s.f.DTS != want {
			t.Errorf("frame %d: pts %v dts %v, want %v", i, s.f.PTS, s.f.DTS, want)
		}
		if s.repeat {
			repeats++
			if len(s.f.NALUs) > 32 || s.f.Config != nil {
				t.Errorf("repeat at frame %d: %d bytes, config %v; want a few bytes, no config", i, len(s.f.NALUs), s.f.Config != nil)
			}
		} else if !s.f.Keyframe {
			nalus, _ := avc.SplitAVCC(s.f.NALUs)
			n := 0
			for _, u := range nalus {
				if avc.NALUType(u) == h264.NALUTypeNonIDR {
					n++
				}
			}
			slicesSeen = max(slicesSeen, n)
		}
	}
	if !slices.Equal(keys, tc.wantKeys) {
		t.Errorf("keyframes at %v, want %v", keys, tc.wantKeys)
	}
	if len(refusals) != len(tc.wantRefusals) {
		t.Errorf("refused repeats:\n%s\nwant %d: %v", strings.Join(refusals, "\n"), len(tc.wantRefusals), tc.wantRefusals)
	} else {
		for i, want := range tc.wantRefusals {
			frame, reason, _ := strings.Cut(want, ": ")
			if !strings.HasPrefix(refusals[i], frame+": ") || !strings.Contains(refusals[i], reason) {
				t.Errorf("refusal %q, want %q", refusals[i], want)
			}
		}
	}
	if tc.multiSlice != (slicesSeen > 1) {
		t.Errorf("at most %d slices per P picture; want several: %v", slicesSeen, tc.multiSlice)
	}
	st := e.Stats()
	if st.Repeats != int64(repeats) || st.Frames != 140 || st.Keyframes != int64(len(tc.wantKeys)) || repeats < 60 {
		t.Errorf("stats %+v; want %d repeats (>= 60), 140 frames, %d keyframes", st, repeats, len(tc.wantKeys))
	}
	if b := totalBytes(framesOf(out)); st.Bytes != int64(b) {
		t.Errorf("stats: %d bytes, the frames hold %d", st.Bytes, b)
	}
	return out
}

func framesOf(s []shown) []*avc.Frame {
	var f []*avc.Frame
	for _, x := range s {
		f = append(f, x.f)
	}
	return f
}

// decodeCycle decodes the frames with FFmpeg's decoder (a new decoder at every configuration
// record, as an FLV player does at a sequence header) and checks the pictures: a repeat shows
// exactly the picture before it, an encoded frame is close to its source. It returns the
// MD5 of every picture.
func decodeCycle(t *testing.T, out []shown) []string {
	t.Helper()
	var d *decoder
	var pics []*image.YCbCr
	for i, s := range out {
		if s.f.Config != nil {
			if d != nil {
				pics = append(pics, d.decode(t, nil)...)
			}
			d = newDecoder(t, s.f.Config)
		}
		got := d.decode(t, s.f)
		if len(got) != 1 {
			t.Fatalf("frame %d: %d pictures out, want 1", i, len(got))
		}
		pics = append(pics, got...)
	}
	pics = append(pics, d.decode(t, nil)...)
	if len(pics) != len(out) {
		t.Fatalf("decoded %d pictures, want %d", len(pics), len(out))
	}
	worst := 100.0
	var sums []string
	for i, s := range out {
		m := pics[i]
		if s.repeat {
			if pictureMD5(m) != pictureMD5(pics[i-1]) {
				yuv, _ := psnr(pics[i-1], m)
				t.Errorf("repeat at frame %d differs from the picture before it (PSNR %.1f dB)", i, yuv)
			}
		} else {
			yuv, _ := psnr(s.src, m)
			worst = min(worst, yuv)
			if yuv < 30 {
				t.Errorf("frame %d: PSNR %.1f dB against its source, want >= 30", i, yuv)
			}
		}
		sums = append(sums, pictureMD5(m))
	}
	t.Logf("worst encoded frame: %.1f dB", worst)
	return sums
}

// checkPlayers writes the cycle as Annex B and FLV and has ffmpeg, ffprobe and GStreamer
// decode both: no error, every frame, and pictures identical to decodeCycle's.
func checkPlayers(t *testing.T, out []shown, sums []string) {
	t.Helper()
	dir := t.TempDir()
	frames := framesOf(out)
	var sizes []image.Point
	for _, s := range out {
		sizes = append(sizes, s.src.Rect.Size())
	}
	for _, name := range []string{"cycle.h264", "cycle.flv"} {
		path := filepath.Join(dir, name)
		if strings.HasSuffix(name, ".flv") {
			writeFLV(t, path, frames)
		} else {
			writeAnnexB(t, path, frames)
		}
		if got := ffmpegMD5s(t, path); !slices.Equal(got, sums) {
			t.Errorf("%s: ffmpeg decoded %d pictures, want %d; first difference at %d", name, len(got), len(sums), firstDiff(got, sums))
		}
		if n := ffprobeCount(t, path); n != len(frames) {
			t.Errorf("%s: ffprobe counts %d frames, want %d", name, n, len(frames))
		}
		pics, rest := gstreamerFrames(t, path, sizes)
		var got []string
		for _, m := range pics {
			got = append(got, pictureMD5(m))
		}
		if !slices.Equal(got, sums) || len(rest) != 0 {
			t.Errorf("%s: GStreamer decoded %d pictures (+%d bytes), want %d; first difference at %d", name, len(got), len(rest), len(sums), firstDiff(got, sums))
		}
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestRepeatCycle runs the still/moving cycle through free repeats for the configurations
// repeats support, and has FFmpeg (library and command line), ffprobe and GStreamer decode
// it from Annex B and FLV. A wrong frame_num after repeats shows as a decoding error, a
// missing frame, or drift in the pictures after them.
func TestRepeatCycle(t *testing.T) {
	for _, tc := range []cycleCase{
		{
			name: "main-1thread", opts: encode.Options{Width: 640, Height: 360, Profile: encode.ProfileMain, Threads: 1},
			wantKeys:     []int{0, 30, 60, 90, 100, 130},
			wantRefusals: []string{"30: keyframe due", "90: keyframe due", "100: keyframe is requested"},
		},
		{
			name: "baseline-4threads", opts: encode.Options{Width: 640, Height: 360, Profile: encode.ProfileBaseline, Threads: 4},
			wantKeys:     []int{0, 30, 60, 90, 100, 130},
			wantRefusals: []string{"30: keyframe due", "90: keyframe due", "100: keyframe is requested"},
			multiSlice:   true,
		},
		{
			// Resized before frame 70 (moving): the IDR there restarts the interval.
			name: "main-4threads-resize", opts: encode.Options{Width: 640, Height: 360, Threads: 4},
			resizeAt: 70, resizeTo: image.Pt(480, 272),
			wantKeys:     []int{0, 30, 60, 70, 100, 130},
			wantRefusals: []string{"30: keyframe due", "100: keyframe is requested"},
			multiSlice:   true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := runCycle(t, tc)
			sums := decodeCycle(t, out)
			checkPlayers(t, out, sums)
		})
	}
}
