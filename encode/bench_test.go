package encode_test

import (
	"fmt"
	"image"
	"syscall"
	"testing"
	"time"

	"github.com/asticode/go-astiav"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/encode"
)

// testsrc produces FFmpeg's testsrc2 pattern through a filter graph: the frames the ffmpeg
// CLI comparison in scripts/bench-encode.sh encodes.
type testsrc struct {
	graph *astiav.FilterGraph
	sink  *astiav.FilterContext
	frame *astiav.Frame
	buf   []byte
}

func newTestsrc(b *testing.B, w, h int, pixFmt string) *testsrc {
	b.Helper()
	s := &testsrc{graph: astiav.AllocFilterGraph(), frame: astiav.AllocFrame()}
	b.Cleanup(func() {
		s.frame.Free()
		s.graph.Free()
	})
	var err error
	if s.sink, err = s.graph.NewFilterContext(astiav.FindFilterByName("buffersink"), "out", nil); err != nil {
		b.Fatalf("buffersink: %v", err)
	}
	in := astiav.AllocFilterInOut()
	defer in.Free()
	in.SetName("out")
	in.SetFilterContext(s.sink)
	in.SetPadIdx(0)
	in.SetNext(nil)
	desc := fmt.Sprintf("testsrc2=size=%dx%d:rate=30,format=%s", w, h, pixFmt)
	if err := s.graph.Parse(desc, in, nil); err != nil {
		b.Fatalf("filter graph %q: %v", desc, err)
	}
	if err := s.graph.Configure(); err != nil {
		b.Fatalf("filter graph %q: %v", desc, err)
	}
	return s
}

// next copies the next testsrc2 frame into dst (*image.YCbCr 4:2:0 or *image.RGBA with
// packed rows).
func (s *testsrc) next(b *testing.B, dst image.Image) {
	if err := s.sink.BuffersinkGetFrame(s.frame, astiav.NewBuffersinkFlags()); err != nil {
		b.Fatalf("testsrc2: %v", err)
	}
	defer s.frame.Unref()
	switch m := dst.(type) {
	case *image.YCbCr:
		if len(s.buf) == 0 {
			s.buf = make([]byte, len(m.Y)+len(m.Cb)+len(m.Cr))
		}
		if _, err := s.frame.ImageCopyToBuffer(s.buf, 1); err != nil {
			b.Fatal(err)
		}
		n := copy(m.Y, s.buf)
		n += copy(m.Cb, s.buf[n:])
		copy(m.Cr, s.buf[n:])
	case *image.RGBA:
		if _, err := s.frame.ImageCopyToBuffer(m.Pix, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncode measures Encode per frame (copy or conversion in, x264 ultrafast +
// zerolatency, AVCC out) on testsrc2 frames; making the frames is not timed. frames/s is
// 1/(time per frame): one encoder, frames encoded back to back.
func BenchmarkEncode(b *testing.B) {
	for _, bc := range []struct {
		name    string
		w, h    int
		threads int
		rgba    bool
	}{
		{"720p", 1280, 720, 0, false},
		{"720p-1thread", 1280, 720, 1, false},
		{"720p-rgba", 1280, 720, 0, true},
		{"1080p", 1920, 1080, 0, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e, err := encode.New(encode.Options{Width: bc.w, Height: bc.h, Encoder: encode.EncoderX264, Threads: bc.threads})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			var img image.Image = image.NewYCbCr(image.Rect(0, 0, bc.w, bc.h), image.YCbCrSubsampleRatio420)
			format := "yuv420p"
			if bc.rgba {
				img, format = image.NewRGBA(image.Rect(0, 0, bc.w, bc.h)), "rgba"
			}
			src := newTestsrc(b, bc.w, bc.h, format)
			var bytes int64
			var cpu time.Duration // process CPU time (all threads) spent in Encode
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				src.next(b, img)
				b.StartTimer()
				before := cpuTime(b)
				f, err := e.Encode(img, frameTime(i))
				cpu += cpuTime(b) - before
				if err != nil {
					b.Fatal(err)
				}
				bytes += int64(len(f.NALUs))
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
			b.ReportMetric(cpu.Seconds()*1000/float64(b.N), "cpu-ms/frame")
			b.ReportMetric(float64(bytes)*8/(float64(b.N)/30)/1000, "kbit/s")
		})
	}
}

// cpuTime is the CPU time (user + system) the process has used so far, over all threads.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRepeat compares the ways to send a still 720p picture: encoding it again (what a
// frame loop without repeats does for a still viewer), Repeat, and for scale encoding moving
// testsrc2 frames. The keyframe interval is long enough that Repeat never refuses.
func BenchmarkRepeat(b *testing.B) {
	for _, mode := range []string{"encode-moving", "encode-still", "repeat"} {
		b.Run(mode, func(b *testing.B) {
			e, err := encode.New(encode.Options{Width: 1280, Height: 720, Encoder: encode.EncoderX264, KeyframeInterval: 1000 * time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			img := image.NewYCbCr(image.Rect(0, 0, 1280, 720), image.YCbCrSubsampleRatio420)
			src := newTestsrc(b, 1280, 720, "yuv420p")
			src.next(b, img)
			// Two frames first, so the still cases start from a settled picture.
			for i := range 2 {
				if _, err := e.Encode(img, frameTime(i)); err != nil {
					b.Fatal(err)
				}
			}
			var bytes int64
			var cpu time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for i := 2; i < b.N+2; i++ {
				if mode == "encode-moving" {
					b.StopTimer()
					src.next(b, img)
					b.StartTimer()
				}
				before := cpuTime(b)
				var f *avc.Frame
				if mode == "repeat" {
					f, err = e.Repeat(frameTime(i))
				} else {
					f, err = e.Encode(img, frameTime(i))
				}
				cpu += cpuTime(b) - before
				if err != nil {
					b.Fatal(err)
				}
				bytes += int64(len(f.NALUs))
			}
			b.StopTimer()
			b.ReportMetric(cpu.Seconds()*1000/float64(b.N), "cpu-ms/frame")
			b.ReportMetric(float64(bytes)/float64(b.N), "bytes/frame")
		})
	}
}
