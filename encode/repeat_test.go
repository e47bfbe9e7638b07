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
			// A wrong reference (frame_num) decodes to garbage, far under this; the margin
			// is for x264 with slice threads on a loaded machine (32.9 dB worst frame
			// alone, 30.0 once in a full CI run).
			if yuv < 27 {
				t.Errorf("frame %d: PSNR %.1f dB against its source, want >= 27", i, yuv)
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
			// Deblocking, sub-pixel motion and more partitions; one reference, CAVLC.
			name: "veryfast-baseline", opts: encode.Options{Width: 640, Height: 360, X264Preset: "veryfast", Profile: encode.ProfileBaseline, Threads: 1},
			wantKeys:     []int{0, 30, 60, 90, 100, 130},
			wantRefusals: []string{"30: keyframe due", "90: keyframe due", "100: keyframe is requested"},
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

// TestRepeatUnsupported: configurations whose stream a skipped picture cannot follow report
// CanRepeat false, and Repeat says why.
func TestRepeatUnsupported(t *testing.T) {
	for _, tc := range []struct {
		preset, profile string
		why             []string
	}{
		{"veryfast", encode.ProfileMain, []string{"CABAC"}},
		{"medium", encode.ProfileBaseline, []string{"max_num_ref_frames 3"}},
		{"medium", encode.ProfileHigh, []string{"CABAC", "max_num_ref_frames 3", "weighted prediction"}},
	} {
		t.Run(tc.preset+"/"+tc.profile, func(t *testing.T) {
			e := newX264(t, encode.Options{Width: 320, Height: 240, X264Preset: tc.preset, Profile: tc.profile, Threads: 1})
			if e.CanRepeat() {
				t.Fatal("CanRepeat true, want false")
			}
			p := newPattern(320, 240)
			for i := range 3 {
				if _, err := e.Encode(p.frame(0), frameTime(i)); err != nil {
					t.Fatal(err)
				}
			}
			f, err := e.Repeat(frameTime(3))
			if !errors.Is(err, encode.ErrNoRepeat) || f != nil {
				t.Fatalf("Repeat: %v, %v; want ErrNoRepeat", f, err)
			}
			for _, w := range tc.why {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Repeat: %v; want the reason to name %q", err, w)
				}
			}
			if s := e.Stats(); s.Repeats != 0 || s.Frames != 3 {
				t.Errorf("stats %+v, want 3 frames, no repeats", s)
			}
		})
	}
}

// TestRepeatRefusals: Repeat refuses before the first frame, while a keyframe is requested
// (which stays requested), at the keyframe interval (the next Encode then makes the IDR that
// the encoder's own frame count would make later), and after Close.
func TestRepeatRefusals(t *testing.T) {
	p := newPattern(320, 240)
	e := newX264(t, encode.Options{Width: 320, Height: 240, KeyframeInterval: 500 * time.Millisecond, Threads: 1})
	refused := func(pts time.Duration, reason string) {
		t.Helper()
		f, err := e.Repeat(pts)
		if !errors.Is(err, encode.ErrNoRepeat) || f != nil || !strings.Contains(err.Error(), reason) {
			t.Fatalf("Repeat(%v): %v, %v; want ErrNoRepeat: %s", pts, f, err, reason)
		}
	}
	encodeAt := func(pts time.Duration, wantKey bool) *avc.Frame {
		t.Helper()
		f, err := e.Encode(p.frame(0), pts)
		if err != nil {
			t.Fatal(err)
		}
		if f.Keyframe != wantKey {
			t.Fatalf("Encode(%v): keyframe %v, want %v", pts, f.Keyframe, wantKey)
		}
		return f
	}
	repeat := func(pts time.Duration) *avc.Frame {
		t.Helper()
		f, err := e.Repeat(pts)
		if err != nil {
			t.Fatalf("Repeat(%v): %v", pts, err)
		}
		return f
	}
	if !e.CanRepeat() {
		t.Fatal("CanRepeat false with the default preset and profile")
	}
	refused(0, "no picture encoded")
	if _, err := e.Repeat(-time.Millisecond); !errors.Is(err, encode.ErrInvalidPTS) {
		t.Fatalf("Repeat(-1ms): %v, want ErrInvalidPTS", err)
	}
	encodeAt(0, true)
	encodeAt(33*time.Millisecond, false)
	repeat(66 * time.Millisecond)
	// Timestamps rise as with Encode: a repeat at an old time moves 1 ms past the last.
	if f := repeat(50 * time.Millisecond); f.PTS != 67*time.Millisecond || f.DTS != f.PTS || f.Keyframe {
		t.Fatalf("repeat at an old pts: pts %v dts %v keyframe %v, want 67ms, not a keyframe", f.PTS, f.DTS, f.Keyframe)
	}

	e.RequestKeyframe()
	refused(100*time.Millisecond, "keyframe is requested")
	refused(133*time.Millisecond, "keyframe is requested") // still requested
	encodeAt(133*time.Millisecond, true)
	repeat(166 * time.Millisecond)

	// 500 ms after the IDR at 133 ms; the encoder's own interval is 15 frames, and it has
	// seen only 2 since that IDR.
	repeat(600 * time.Millisecond)
	refused(633*time.Millisecond, "keyframe due")
	encodeAt(666*time.Millisecond, true)
	repeat(700 * time.Millisecond)
	// Moving again after repeats, at 20 fps: the interval passes by pts (at 1183 ms) before
	// the encoder has seen 15 frames since its last IDR.
	for i := range 12 {
		pts := 733*time.Millisecond + time.Duration(i)*50*time.Millisecond
		encodeAt(pts, i == 9)
	}

	s := e.Stats()
	if s.Repeats != 5 || s.Frames != 5+4+12 || s.Keyframes != 4 {
		t.Errorf("stats %+v; want 5 repeats of 21 frames, 4 keyframes", s)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Repeat(time.Second); !errors.Is(err, encode.ErrClosed) {
		t.Errorf("Repeat after Close: %v, want ErrClosed", err)
	}
	if e.CanRepeat() {
		t.Error("CanRepeat true after Close")
	}
}

// TestResize: bad sizes are refused with the values named and leave the encoder working;
// after a resize the next frame is an IDR with a configuration record of the new size, images
// of the old size are refused, and a decoder configured from the new record decodes it.
func TestResize(t *testing.T) {
	e := newX264(t, encode.Options{Width: 320, Height: 240, Threads: 1})
	small, big := newPattern(320, 240), newPattern(480, 272)
	for _, sz := range []image.Point{{0, 240}, {320, 0}, {-2, 240}, {321, 240}, {320, 241}} {
		err := e.Resize(sz.X, sz.Y)
		if want := fmt.Sprintf("%dx%d", sz.X, sz.Y); !errors.Is(err, encode.ErrInvalidOptions) || !strings.Contains(err.Error(), want) {
			t.Errorf("Resize(%d, %d): %v; want ErrInvalidOptions naming %s", sz.X, sz.Y, err, want)
		}
	}
	if err := e.Resize(320, 240); err != nil {
		t.Fatalf("Resize to the current size: %v", err)
	}
	frames := encodeAll(t, e, small, 0, 5, nil)
	if s := e.Stats(); s.Reopens != 0 || s.Keyframes != 1 {
		t.Fatalf("after resizing to the same size: %+v; want no reopen, one keyframe", s)
	}
	if _, err := e.Repeat(frameTime(5)); err != nil {
		t.Fatalf("Repeat: %v", err)
	}
	if err := e.Resize(480, 272); err != nil {
		t.Fatalf("Resize(480, 272): %v", err)
	}
	if o := e.Options(); o.Width != 480 || o.Height != 272 {
		t.Errorf("Options after Resize: %dx%d, want 480x272", o.Width, o.Height)
	}
	if _, err := e.Encode(small.frame(6), frameTime(6)); !errors.Is(err, encode.ErrImageSize) {
		t.Fatalf("Encode with an image of the old size: %v, want ErrImageSize", err)
	}
	if _, err := e.Repeat(frameTime(6)); !errors.Is(err, encode.ErrNoRepeat) {
		t.Fatalf("Repeat before the first frame at the new size: %v, want ErrNoRepeat", err)
	}
	after := encodeAll(t, e, big, 7, 10, nil)
	f := after[0]
	if !f.Keyframe || f.Config == nil {
		t.Fatalf("first frame after Resize: keyframe %v, config %v; want both", f.Keyframe, f.Config != nil)
	}
	sps, _, err := avc.ParseConfigRecord(f.Config)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := avc.ParseSPS(sps[0]); err != nil || info.Width != 480 || info.Height != 272 {
		t.Fatalf("new SPS: %+v, %v; want 480x272", info, err)
	}
	for i, f := range after[1:] {
		if f.Keyframe || f.Config != nil {
			t.Errorf("frame %d after Resize: keyframe %v, config %v; want neither", i+1, f.Keyframe, f.Config != nil)
		}
	}
	if !e.CanRepeat() {
		t.Error("CanRepeat false after Resize")
	}
	if _, err := e.Repeat(frameTime(17)); err != nil {
		t.Errorf("Repeat after an encoded frame at the new size: %v", err)
	}
	d := newDecoder(t, f.Config)
	var pics []*image.YCbCr
	for _, f := range after {
		pics = append(pics, d.decode(t, f)...)
	}
	pics = append(pics, d.decode(t, nil)...)
	if len(pics) != len(after) {
		t.Fatalf("decoded %d pictures after Resize, want %d", len(pics), len(after))
	}
	for i, m := range pics {
		if yuv, _ := psnr(big.frame(7+i), m); m.Rect.Dx() != 480 || yuv < 30 {
			t.Errorf("picture %d after Resize: %v, PSNR %.1f dB; want 480x272, >= 30 dB", i, m.Rect, yuv)
		}
	}
	if s := e.Stats(); s.Reopens != 1 || s.Frames != int64(len(frames)+len(after)+2) {
		t.Errorf("stats %+v; want 1 reopen, %d frames", s, len(frames)+len(after)+2)
	}
	e.Close()
	if err := e.Resize(640, 360); !errors.Is(err, encode.ErrClosed) {
		t.Errorf("Resize after Close: %v, want ErrClosed", err)
	}
}

// TestResizeConcurrent resizes while another goroutine reads Options, Stats and CanRepeat
// and requests keyframes, as a session's control path does while the frame loop runs;
// -race checks it.
func TestResizeConcurrent(t *testing.T) {
	e := newX264(t, encode.Options{Width: 320, Height: 240, Threads: 1})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 200 {
			_ = e.Options()
			_ = e.Stats()
			_ = e.CanRepeat()
			e.RequestKeyframe()
		}
	}()
	sizes := []image.Point{{320, 240}, {256, 144}}
	pats := []*pattern{newPattern(320, 240), newPattern(256, 144)}
	for i := range 12 {
		k := i / 3 % 2
		if err := e.Resize(sizes[k].X, sizes[k].Y); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Encode(pats[k].frame(i), frameTime(i)); err != nil {
			t.Fatalf("frame %d at %v: %v", i, sizes[k], err)
		}
		if _, err := e.Repeat(frameTime(i) + time.Millisecond); err != nil && !errors.Is(err, encode.ErrNoRepeat) {
			t.Fatalf("Repeat: %v", err)
		}
	}
	<-done
	if s := e.Stats(); s.Reopens != 3 {
		t.Errorf("%d reopens, want 3", s.Reopens)
	}
}

// TestRepeatFrameNumWrap sends pictures faster than the nominal frame rate, so that more
// pictures than the encoder's frame_num range fit between two IDRs and frame_num wraps
// during repeats and in the encoded pictures renumbered after them; every decoder must still
// decode each frame.
func TestRepeatFrameNumWrap(t *testing.T) {
	e := newX264(t, encode.Options{Width: 320, Height: 240, FrameRate: 30, KeyframeInterval: 2 * time.Second, Threads: 1})
	p := newPattern(320, 240)
	at := func(i int) time.Duration { return time.Duration(i) * 10 * time.Millisecond }
	var out []shown
	for i := range 190 {
		if i < 5 || i >= 150 {
			img := p.frame(i)
			f, err := e.Encode(img, at(i))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, shown{f: f, src: img})
			continue
		}
		f, err := e.Repeat(at(i))
		if err != nil {
			t.Fatalf("frame %d: Repeat: %v", i, err)
		}
		out = append(out, shown{f: f, src: out[i-1].src, repeat: true})
	}
	sps, pps, err := avc.ParseConfigRecord(out[0].f.Config)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := avc.NewSliceParams(sps[0], pps[0])
	if err != nil {
		t.Fatal(err)
	}
	wraps := 0
	for i, s := range out {
		nalus, _ := avc.SplitAVCC(s.f.NALUs)
		var slice []byte
		for _, n := range nalus {
			if tp := avc.NALUType(n); tp == h264.NALUTypeIDR || tp == h264.NALUTypeNonIDR {
				slice = n
				break
			}
		}
		fn, err := sp.FrameNum(slice)
		if want := uint32(i) % sp.MaxFrameNum(); err != nil || fn != want {
			t.Fatalf("frame %d: frame_num %d, %v; want %d", i, fn, err, want)
		}
		if i > 0 && fn == 0 {
			wraps++
		}
	}
	if keys := keyframeIndexes(framesOf(out), 0); wraps < 2 || len(keys) != 1 {
		t.Fatalf("frame_num wrapped %d times (MaxFrameNum %d), keyframes %v; want >= 2 wraps and one keyframe", wraps, sp.MaxFrameNum(), keys)
	}
	checkPlayers(t, out, decodeCycle(t, out))
}
