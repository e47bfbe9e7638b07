package main

import (
	"image"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/encode"
	"github.com/rendercast/rendercast/scenes"
)

func TestClassifyCorner(t *testing.T) {
	tests := []struct {
		name       string
		y, cb, cr  uint8
		want       colour
		wantString string
	}{
		{"BT.709 red", 63, 102, 240, colourRed, "red"},
		{"BT.709 blue", 32, 240, 118, colourBlue, "blue"},
		{"BT.601 red", 81, 90, 240, colourRed, "red"},
		{"grey", 128, 128, 128, colourOther, "other"},
		{"the demo's dark background", 30, 130, 126, colourOther, "other"},
	}
	for _, tt := range tests {
		img := solidFrame(64, 64, tt.y, tt.cb, tt.cr)
		if got := classifyCorner(img); got != tt.want || got.String() != tt.wantString {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	// Only the corner counts.
	img := solidFrame(128, 128, 32, 240, 118)
	for y := 64; y < 128; y++ {
		for x := 64; x < 128; x++ {
			img.Cb[img.COffset(x, y)], img.Cr[img.COffset(x, y)] = 102, 240
		}
	}
	if got := classifyCorner(img); got != colourBlue {
		t.Errorf("blue corner, red elsewhere: %v", got)
	}
}

func TestCounterStripRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []uint32{0, 1, 2, 255, 256, 0xABCDEF, 1<<stripCounterBits - 1} {
		img := solidFrame(640, 360, 63, 102, 240)
		if !drawCounterStrip(img, n) {
			t.Fatal("the strip does not fit 640x360")
		}
		// Coding noise: +-20 levels everywhere.
		for i := range img.Y {
			img.Y[i] = uint8(max(0, min(255, int(img.Y[i])+rng.IntN(41)-20)))
		}
		got, ok := decodeCounterStrip(img)
		if !ok || got != n {
			t.Errorf("counter %d: read %d, %v", n, got, ok)
		}
	}
	// Counters wrap at 24 bits.
	img := solidFrame(640, 360, 32, 240, 118)
	drawCounterStrip(img, 1<<stripCounterBits+5)
	if got, ok := decodeCounterStrip(img); !ok || got != 5 {
		t.Errorf("counter 2^24+5: read %d, %v, want 5", got, ok)
	}
}

func TestCounterStripRejects(t *testing.T) {
	if _, ok := decodeCounterStrip(solidFrame(640, 360, 128, 128, 128)); ok {
		t.Error("a grey frame has a counter")
	}
	if _, ok := decodeCounterStrip(solidFrame(256, 64, 128, 128, 128)); ok {
		t.Error("a frame narrower than the strip has a counter")
	}
	if drawCounterStrip(solidFrame(256, 64, 0, 128, 128), 1) {
		t.Error("drew a strip into a frame narrower than it")
	}
	// A lower-row block that is not the complement of the one above: refused.
	img := solidFrame(640, 360, 32, 240, 118)
	drawCounterStrip(img, 12345)
	r := stripBlock(img.Bounds(), 1, 20)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.Y[img.YOffset(x, y)] = 255 - img.Y[img.YOffset(x, y)]
		}
	}
	if n, ok := decodeCounterStrip(img); ok {
		t.Errorf("a damaged strip read as %d", n)
	}
	// The streamer's marker is not a counter strip, and the other way round.
	img = solidFrame(640, 360, 32, 240, 118)
	scenes.DrawMarker(img, 7, 9)
	if _, ok := decodeCounterStrip(img); ok {
		t.Error("the streamer's marker read as a counter strip")
	}
	img = solidFrame(640, 360, 32, 240, 118)
	drawCounterStrip(img, 7)
	if _, _, ok := scenes.DecodeMarker(img); ok {
		t.Error("a counter strip read as the streamer's marker")
	}
}

func TestInspectPicture(t *testing.T) {
	img := solidFrame(640, 360, 63, 102, 240)
	scenes.DrawMarker(img, 41, 3)
	var rec frameRecord
	inspectPicture(&rec, img, markerScene)
	if !rec.MarkerOK || rec.Frame != 41 || rec.Version != 3 || rec.Colour != colourRed {
		t.Fatalf("streamer marker on red: %+v", rec)
	}
	img = solidFrame(640, 360, 32, 240, 118)
	drawCounterStrip(img, 99)
	rec = frameRecord{}
	inspectPicture(&rec, img, markerCounter)
	if !rec.MarkerOK || rec.Frame != 99 || rec.Colour != colourBlue {
		t.Fatalf("counter strip on blue: %+v", rec)
	}
	rec = frameRecord{}
	inspectPicture(&rec, img, markerNone)
	if rec.MarkerOK || rec.Colour != colourBlue {
		t.Fatalf("no marker: %+v", rec)
	}
}

func TestChangeDetector(t *testing.T) {
	byVersion := changeDetector{useVersion: true, baseVersion: 4, want: colourRed}
	tests := []struct {
		f    frameRecord
		want bool
	}{
		{frameRecord{MarkerOK: true, Version: 4, Colour: colourRed}, false}, // red already, but not this call's version
		{frameRecord{MarkerOK: true, Version: 5, Colour: colourBlue}, true},
		{frameRecord{MarkerOK: false, Version: 9, Colour: colourRed}, false},
	}
	for _, tt := range tests {
		if got := byVersion.shows(tt.f); got != tt.want {
			t.Errorf("by version, %+v: %v, want %v", tt.f, got, tt.want)
		}
	}
	byColour := changeDetector{want: colourBlue}
	if !byColour.shows(frameRecord{Colour: colourBlue}) || byColour.shows(frameRecord{Colour: colourRed, MarkerOK: true, Version: 100}) {
		t.Error("colour detection")
	}
}

func TestChangeLatencies(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(msec int) time.Time { return t0.Add(time.Duration(msec) * time.Millisecond) }
	frameTime := func(n uint32) time.Time { return at(int(n) * 10) } // frame n written at n*10 ms
	changes := []sourceChange{
		{Frame: 2, Decided: at(15)},   // before the player's first frame: skipped
		{Frame: 10, Decided: at(95)},  // first seen in frame 10
		{Frame: 20, Decided: at(199)}, // frame 20 not decoded: first seen in frame 21
		{Frame: 40, Decided: at(395)}, // after the last frame: not counted
	}
	seen := []frameRecord{
		{Frame: 5, Decoded: at(70)},
		{Frame: 10, Decoded: at(130)},
		{Frame: 19, Decoded: at(220)},
		{Frame: 21, Decoded: at(240)},
	}
	ev, fr := changeLatencies(changes, frameTime, seen)
	wantEv, wantFr := []float64{35, 41}, []float64{30, 40}
	if len(ev) != 2 || len(fr) != 2 {
		t.Fatalf("from event %v, from frame %v; want %v and %v", ev, fr, wantEv, wantFr)
	}
	for i := range wantEv {
		if ev[i] != wantEv[i] || fr[i] != wantFr[i] {
			t.Fatalf("from event %v, from frame %v; want %v and %v", ev, fr, wantEv, wantFr)
		}
	}
}

// TestSourceFramesSurviveX264 encodes the comparison source's frames as the publisher does
// (x264 ultrafast, a low bitrate) and checks every decoded frame's counter and colour.
func TestSourceFramesSurviveX264(t *testing.T) {
	const w, h = 640, 360
	enc, err := encode.New(encode.Options{Width: w, Height: h, FrameRate: 30, Bitrate: 600_000, Encoder: "libx264"})
	if err != nil {
		t.Skipf("no x264: %v", err)
	}
	defer enc.Close()
	base := [2]*image.YCbCr{solidFrame(w, h, 32, 240, 118), solidFrame(w, h, 63, 102, 240)}
	frame := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	var dec *encode.Decoder
	defer func() {
		if dec != nil {
			dec.Close()
		}
	}()
	decoded := 0
	for n := range uint32(45) {
		want := colourBlue
		if n/10%2 == 1 {
			want = colourRed
		}
		sourceFrame(frame, base, n, want)
		f, err := enc.Encode(frame, time.Duration(n)*time.Second/30)
		if err != nil {
			t.Fatal(err)
		}
		if f == nil {
			continue
		}
		if f.Config != nil {
			if dec, err = encode.NewDecoder(f.Config); err != nil {
				t.Fatal(err)
			}
		}
		pics, err := dec.Decode(&avc.Frame{NALUs: f.NALUs, PTS: f.PTS, DTS: f.DTS})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pics {
			var rec frameRecord
			inspectPicture(&rec, p, markerCounter)
			if !rec.MarkerOK || rec.Frame != n || rec.Colour != want {
				t.Fatalf("frame %d (%v): read %+v", n, want, rec)
			}
			decoded++
		}
	}
	if decoded < 40 {
		t.Fatalf("%d of 45 frames decoded", decoded)
	}
}
