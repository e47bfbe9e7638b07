package encode_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/rendercast/rendercast/encode"
)

// TestVBVTradeoff measures what the VBV size does at 720p, 4 Mbit/s: a VBV of one frame
// interval starves IDR frames (high QP, low PSNR); the default of three lets them be about
// three average frames big. Either way no frame exceeds the VBV buffer, which is what bounds
// the send delay a frame adds. ENCODE_VBV_FRAMES=1,2,3,5,10 measures other sizes (figures
// with go test -v).
func TestVBVTradeoff(t *testing.T) {
	sizes := []int{1, encode.DefaultVBVFrames}
	s := os.Getenv("ENCODE_VBV_FRAMES")
	measuring := s != "" // then also the mean PSNR of all frames (slow under -race)
	if measuring {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				t.Fatalf("ENCODE_VBV_FRAMES: %v", err)
			}
			sizes = append(sizes, n)
		}
	}
	const n, bitrate = 61, 4_000_000 // two IDRs: frame 0 and frame 60
	p := newPattern(1280, 720)
	idrPSNR := map[int]float64{}
	for _, vbv := range sizes {
		e := newX264(t, encode.Options{Width: 1280, Height: 720, Bitrate: bitrate, VBVFrames: vbv, Threads: 1})
		bufferBytes := bitrate * vbv / 30 / 8
		var d *decoder
		var qps []int
		var psnrs []float64
		var all float64
		largest, total := 0, 0
		for i := range n {
			f, err := e.Encode(p.frame(i), frameTime(i))
			if err != nil {
				t.Fatal(err)
			}
			if d == nil {
				d = newDecoder(t, f.Config)
			}
			out := d.decode(t, f)
			largest, total = max(largest, len(f.NALUs)), total+len(f.NALUs)
			if f.Keyframe || measuring {
				yuv, _ := psnr(p.frame(i), out[0])
				all += yuv / n
				if f.Keyframe {
					qps, psnrs = append(qps, e.Stats().LastQP), append(psnrs, yuv)
				}
			}
		}
		// x264 counts the NAL payload; allow the 4-byte length prefixes and a little slack.
		if largest > bufferBytes*105/100 {
			t.Errorf("VBV %d frames: largest frame %d bytes, over the %d-byte buffer", vbv, largest, bufferBytes)
		}
		avg := 0.0
		for _, v := range psnrs {
			avg += v / float64(len(psnrs))
		}
		idrPSNR[vbv] = avg
		t.Logf("VBV %2d frames: IDR QP %v, IDR PSNR %.1f dB; largest frame %d B (%.0f ms at 4 Mbit/s, %.1fx the mean); %.0f kbit/s",
			vbv, qps, psnrs, largest, float64(largest)*8/bitrate*1000, float64(largest)*n/float64(total), float64(total)*8/(n/30.0)/1000)
		if measuring {
			t.Logf("VBV %2d frames: mean PSNR of all %d frames %.2f dB", vbv, n, all)
		}
	}
	if a, b := idrPSNR[1], idrPSNR[encode.DefaultVBVFrames]; len(sizes) == 2 && b < a+2 {
		t.Errorf("IDR PSNR %.1f dB with a 1-frame VBV, %.1f dB with %d frames; want the default clearly better", a, b, encode.DefaultVBVFrames)
	}
}
