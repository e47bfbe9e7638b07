package encode_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rendercast/rendercast/encode"
)

// nvencError returns why h264_nvenc cannot open here, or nil when it can.
func nvencError(t *testing.T) error {
	t.Helper()
	e, err := encode.New(encode.Options{Width: 320, Height: 240, Encoder: encode.EncoderNVENC})
	if err == nil {
		e.Close()
	}
	return err
}

// TestNVENCUnavailable checks the error on a machine without a usable NVENC: it names the
// encoder, what failed and what is missing.
func TestNVENCUnavailable(t *testing.T) {
	err := nvencError(t)
	if err == nil {
		t.Skip("h264_nvenc opens on this machine: the unavailable path cannot be tested here")
	}
	if !errors.Is(err, encode.ErrEncoderUnavailable) {
		t.Fatalf("error %v, want ErrEncoderUnavailable", err)
	}
	t.Logf("h264_nvenc: %v", err)
	for _, s := range []string{"h264_nvenc", "failed to open", "NVENC", "H100/H200"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	if !strings.Contains(err.Error(), "libcuda.so.1") && !strings.Contains(err.Error(), "driver is present") {
		t.Errorf("error %q says neither which driver library is missing nor that the driver is present", err)
	}
}

// TestAutoFallback: "auto" runs NVENC where it opens and libx264 elsewhere, and says why.
func TestAutoFallback(t *testing.T) {
	nvErr := nvencError(t)
	e, err := encode.New(encode.Options{Width: 320, Height: 240})
	if err != nil {
		t.Fatalf("auto: %v", err)
	}
	defer e.Close()
	c := e.Choice()
	t.Logf("choice: %v", c)
	if c.Requested != encode.EncoderAuto || c.Encoder != e.Name() {
		t.Errorf("choice %+v, name %q", c, e.Name())
	}
	if nvErr == nil {
		if e.Name() != encode.EncoderNVENC {
			t.Errorf("NVENC opens here but auto chose %q", e.Name())
		}
	} else {
		if e.Name() != encode.EncoderX264 {
			t.Errorf("NVENC fails here but auto chose %q", e.Name())
		}
		for _, s := range []string{"h264_nvenc failed to open", "using libx264"} {
			if !strings.Contains(c.Reason, s) {
				t.Errorf("reason %q does not mention %q", c.Reason, s)
			}
		}
	}
	f, err := e.Encode(newPattern(320, 240).frame(0), 0)
	if err != nil || f == nil || !f.Keyframe {
		t.Fatalf("first frame: %v, %v", f, err)
	}
}

// TestNVENCEncode runs where an NVIDIA encoder exists: quality, forced keyframe, bitrate
// change by reopening.
func TestNVENCEncode(t *testing.T) {
	if err := nvencError(t); err != nil {
		t.Skipf("no usable NVENC here: %v", err)
	}
	p := newPattern(1280, 720)
	e, err := encode.New(encode.Options{Width: 1280, Height: 720, Bitrate: 4_000_000, Encoder: encode.EncoderNVENC})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	frames := encodeAll(t, e, p, 0, 30, func(i int) {
		if i == 20 {
			e.RequestKeyframe()
		}
	})
	if err := e.SetBitrate(1_000_000); err != nil {
		t.Fatalf("SetBitrate: %v", err)
	}
	frames = append(frames, encodeAll(t, e, p, 30, 30, nil)...)
	if k := keyframeIndexes(frames, 0); len(k) < 3 || k[0] != 0 || k[1] != 20 || k[2] != 30 {
		t.Errorf("keyframes at %v, want 0, 20 (requested), 30 (reopen) first", k)
	}
	d := newDecoder(t, frames[0].Config)
	var sum float64
	n := 0
	for _, f := range frames[:30] {
		for _, m := range d.decode(t, f) {
			yuv, _ := psnr(p.frame(n), m)
			sum += yuv
			n++
		}
	}
	if avg := sum / float64(n); n == 0 || avg < 35 {
		t.Errorf("NVENC 720p 4 Mbit/s: %d frames decoded, PSNR %.1f dB; want >= 35", n, avg)
	}
}
