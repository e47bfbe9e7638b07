package encode_test

import (
	"errors"
	"image"
	"math"
	"testing"

	"github.com/asticode/go-astiav"

	"github.com/rendercast/rendercast/avc"
)

// pattern makes frames of a moving test pattern: a window panning over a larger "world"
// (gradients, hard-edged blocks, rings, thin lines) plus a box moving on its own. Frames are
// cut from the world by row copies, so making one stays cheap under -race.
type pattern struct {
	w, h   int
	margin int
	world  *image.YCbCr
}

func newPattern(w, h int) *pattern {
	const margin = 128
	ww, wh := w+margin, h+margin
	world := image.NewYCbCr(image.Rect(0, 0, ww, wh), image.YCbCrSubsampleRatio420)
	for y := range wh {
		row := world.Y[y*world.YStride:]
		for x := range ww {
			v := 40 + 150*x/ww + 30*y/wh
			// rings around the centre, moderate frequency
			dx, dy := float64(x-ww/2), float64(y-wh/2)
			v += int(25 * math.Sin(math.Sqrt(dx*dx+dy*dy)/9))
			// hard-edged blocks
			if (x/96+y/96)%3 == 0 {
				v = 220 - v/4
			}
			// thin lines
			if x%64 == 0 || y%48 == 0 {
				v = 16
			}
			// fine texture (a fixed hash, so it moves with the pan): the costly part
			v += int((uint32(x)*2654435761^uint32(y)*2246822519)>>28) - 8
			row[x] = uint8(min(235, max(16, v)))
		}
	}
	for y := range (wh + 1) / 2 {
		for x := range (ww + 1) / 2 {
			i := y*world.CStride + x
			world.Cb[i] = uint8(128 + 60*math.Sin(float64(x)/40))
			world.Cr[i] = uint8(128 + 60*math.Cos(float64(y)/30))
			if (x/48+y/48)%4 == 1 {
				world.Cb[i], world.Cr[i] = 90, 200
			}
		}
	}
	return &pattern{w: w, h: h, margin: margin, world: world}
}

// frame returns frame i: the window moves by (3, 2) pixels a frame, bouncing at the world's
// edges, and a box moves independently.
func (p *pattern) frame(i int) *image.YCbCr {
	bounce := func(v, span int) int {
		v %= 2 * span
		if v >= span {
			v = 2*span - v
		}
		return v &^ 1 // even, so chroma stays aligned
	}
	ox, oy := bounce(3*i, p.margin), bounce(2*i, p.margin)
	m := image.NewYCbCr(image.Rect(0, 0, p.w, p.h), image.YCbCrSubsampleRatio420)
	for y := range p.h {
		copy(m.Y[y*m.YStride:y*m.YStride+p.w], p.world.Y[(y+oy)*p.world.YStride+ox:])
	}
	cw, ch := p.w/2, p.h/2
	for y := range ch {
		wo := (y+oy/2)*p.world.CStride + ox/2
		copy(m.Cb[y*m.CStride:y*m.CStride+cw], p.world.Cb[wo:])
		copy(m.Cr[y*m.CStride:y*m.CStride+cw], p.world.Cr[wo:])
	}
	// a 64x64 box moving right and down, 5 px per frame
	bx, by := (5*i)%(p.w-64), (3*i)%(p.h-64)
	for y := by; y < by+64; y++ {
		row := m.Y[y*m.YStride+bx : y*m.YStride+bx+64]
		for x := range row {
			row[x] = 200
		}
	}
	return m
}

// decoder decodes AVCC frames with FFmpeg's H.264 decoder, configured from an
// AVCDecoderConfigurationRecord as an FLV player would be.
type decoder struct {
	cc    *astiav.CodecContext
	pkt   *astiav.Packet
	frame *astiav.Frame
}

func newDecoder(t testing.TB, config []byte) *decoder {
	t.Helper()
	c := astiav.FindDecoder(astiav.CodecIDH264)
	if c == nil {
		t.Fatal("no H.264 decoder in this FFmpeg")
	}
	d := &decoder{cc: astiav.AllocCodecContext(c), pkt: astiav.AllocPacket(), frame: astiav.AllocFrame()}
	t.Cleanup(func() {
		d.frame.Free()
		d.pkt.Free()
		d.cc.Free()
	})
	if err := d.cc.SetExtraData(config); err != nil {
		t.Fatalf("decoder extradata: %v", err)
	}
	d.cc.SetThreadCount(1)
	if err := d.cc.Open(c, nil); err != nil {
		t.Fatalf("opening the decoder: %v", err)
	}
	return d
}

// decode decodes one access unit (nil flushes) and returns the pictures that came out.
func (d *decoder) decode(t testing.TB, f *avc.Frame) []*image.YCbCr {
	t.Helper()
	if f != nil {
		if err := d.pkt.FromData(f.NALUs); err != nil {
			t.Fatalf("packet: %v", err)
		}
		d.pkt.SetPts(f.PTS.Milliseconds())
		d.pkt.SetDts(f.DTS.Milliseconds())
		if err := d.cc.SendPacket(d.pkt); err != nil {
			t.Fatalf("decoding frame at %v: %v", f.PTS, err)
		}
		d.pkt.Unref()
	} else if err := d.cc.SendPacket(nil); err != nil {
		t.Fatalf("flushing the decoder: %v", err)
	}
	var out []*image.YCbCr
	for {
		if err := d.cc.ReceiveFrame(d.frame); err != nil {
			if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
				return out
			}
			t.Fatalf("receiving a decoded frame: %v", err)
		}
		if d.frame.PixelFormat() != astiav.PixelFormatYuv420P {
			t.Fatalf("decoded pixel format %v, want yuv420p", d.frame.PixelFormat())
		}
		// Not FrameData.ToImage: in go-astiav v0.16.0 it takes linesize*height bytes from
		// every plane, reading past the end of 4:2:0 chroma planes.
		w, h := d.frame.Width(), d.frame.Height()
		m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
		buf := make([]byte, len(m.Y)+len(m.Cb)+len(m.Cr))
		if _, err := d.frame.ImageCopyToBuffer(buf, 1); err != nil {
			t.Fatalf("copying the decoded frame: %v", err)
		}
		m.Y, m.Cb, m.Cr = buf[:len(m.Y)], buf[len(m.Y):len(m.Y)+len(m.Cb)], buf[len(m.Y)+len(m.Cb):]
		out = append(out, m)
		d.frame.Unref()
	}
}

// psnr returns the PSNR (dB) of b against a over Y, Cb and Cr together, and over Y alone.
func psnr(a, b *image.YCbCr) (yuv, y float64) {
	w, h := a.Rect.Dx(), a.Rect.Dy()
	sse := func(pa, pb []uint8, sa, sb, w, h int) int64 {
		var s int64
		for r := range h {
			ra, rb := pa[r*sa:r*sa+w], pb[r*sb:r*sb+w]
			for x, v := range ra {
				d := int64(v) - int64(rb[x])
				s += d * d
			}
		}
		return s
	}
	sy := sse(a.Y, b.Y, a.YStride, b.YStride, w, h)
	sc := sse(a.Cb, b.Cb, a.CStride, b.CStride, w/2, h/2) + sse(a.Cr, b.Cr, a.CStride, b.CStride, w/2, h/2)
	toDB := func(sum int64, n int) float64 {
		if sum == 0 {
			return 100
		}
		return 10 * math.Log10(255*255*float64(n)/float64(sum))
	}
	return toDB(sy+sc, w*h*3/2), toDB(sy, w*h)
}
