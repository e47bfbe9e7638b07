package encode

import (
	"testing"
	"time"
)

func TestFrameRateRational(t *testing.T) {
	for _, tc := range []struct {
		fps      float64
		num, den int
	}{
		{30, 30, 1},
		{60, 60, 1},
		{29.97, 30000, 1001},
		{59.94, 60000, 1001},
		{23.976, 24000, 1001},
		{12.5, 12500, 1000},
	} {
		if n, d := frameRateRational(tc.fps); n != tc.num || d != tc.den {
			t.Errorf("frameRateRational(%g) = %d/%d, want %d/%d", tc.fps, n, d, tc.num, tc.den)
		}
	}
}

func TestDerivedSizes(t *testing.T) {
	o, err := Options{Width: 1280, Height: 720, FrameRate: 30, KeyframeInterval: 2 * time.Second}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if k := o.keyframeFrames(); k != 60 {
		t.Errorf("keyframe interval 2 s at 30 fps: %d frames, want 60", k)
	}
	if b := o.vbvBits(4_000_000); b != 400_000 {
		t.Errorf("VBV of 3 frames at 4 Mbit/s, 30 fps: %d bits, want 400000", b)
	}
	o.KeyframeInterval = time.Millisecond
	if k := o.keyframeFrames(); k != 1 {
		t.Errorf("1 ms keyframe interval: %d frames, want 1 (every frame)", k)
	}
}
