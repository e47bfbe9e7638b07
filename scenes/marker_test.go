package scenes

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"testing"
)

// busyFrame returns a w x h RGBA frame full of random high-contrast content (the worst
// neighbour a marker can have), drawn from a seeded generator.
func busyFrame(w, h int, rng *rand.Rand) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			v := uint8(rng.IntN(256))
			if (x/3+y/5)%2 == 0 {
				v = 255 - v/4
			}
			img.SetRGBA(x, y, color.RGBA{v, uint8(rng.IntN(256)), v / 2, 255})
		}
	}
	return img
}

// addNoise adds uniform noise of ±amp to every channel.
func addNoise(img *image.RGBA, amp int, rng *rand.Rand) {
	for i := range img.Pix {
		if i%4 == 3 {
			continue
		}
		v := int(img.Pix[i]) + rng.IntN(2*amp+1) - amp
		img.Pix[i] = uint8(min(255, max(0, v)))
	}
}

func TestMarkerBitsLayout(t *testing.T) {
	bits := MarkerBits(0x01020304, 0xA0B0C0D0)
	if len(bits) != MarkerBitCount || MarkerBitCount != 96 {
		t.Fatalf("%d bits", len(bits))
	}
	byteAt := func(i int) (b byte) {
		for k := range 8 {
			if bits[8*i+k] {
				b |= 0x80 >> k
			}
		}
		return b
	}
	want := []byte{0xB2, 0x01, 0x01, 0x02, 0x03, 0x04, 0xA0, 0xB0, 0xC0, 0xD0}
	for i, w := range want {
		if got := byteAt(i); got != w {
			t.Errorf("byte %d = %#x, want %#x", i, got, w)
		}
	}
	// CRC-16/CCITT-FALSE check value: "123456789" -> 0x29B1.
	if c := crc16CCITT([]byte("123456789")); c != 0x29B1 {
		t.Errorf("crc16(123456789) = %#x, want 0x29b1", c)
	}
	if got := uint16(byteAt(10))<<8 | uint16(byteAt(11)); got != crc16CCITT(want[1:]) {
		t.Errorf("checksum %#x", got)
	}
	b := image.Rect(0, 0, 1280, 720)
	if r := MarkerRect(b); r != image.Rect(0, 696, 512, 720) {
		t.Errorf("MarkerRect = %v", r)
	}
	if r := MarkerBlockRect(b, 33); r != image.Rect(16, 704, 32, 712) {
		t.Errorf("block 33 = %v", r)
	}
	if !MarkerRect(image.Rect(0, 0, 511, 720)).Empty() {
		t.Error("a 511-pixel-wide frame has room for the marker?")
	}
}

func TestMarkerRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name           string
		w, h           int
		frame, version uint32
		noise          int
		jpegQuality    int // 0: no compression
	}{
		{"720p clean", 1280, 720, 1, 0, 0, 0},
		{"720p noisy", 1280, 720, 123456, 42, 40, 0},
		{"360p noisy", 640, 360, 0xFFFFFFFF, 0xFFFFFFFF, 40, 0},
		{"1080p jpeg q30", 1920, 1080, 987654321, 77, 10, 30},
		{"minimum size jpeg q15", 512, 24, 5, 6, 20, 15},
		{"sub-image with an offset origin", 700, 400, 31, 9, 30, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := busyFrame(tt.w, tt.h, rng)
			if tt.w == 700 {
				img = img.SubImage(image.Rect(50, 30, 700, 400)).(*image.RGBA)
			}
			if !DrawMarker(img, tt.frame, tt.version) {
				t.Fatal("DrawMarker drew nothing")
			}
			addNoise(img, tt.noise, rng)
			var decoded image.Image = img
			if tt.jpegQuality > 0 {
				var buf bytes.Buffer
				if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: tt.jpegQuality}); err != nil {
					t.Fatal(err)
				}
				var err error
				if decoded, err = jpeg.Decode(&buf); err != nil {
					t.Fatal(err)
				}
			}
			f, v, ok := DecodeMarker(decoded)
			if !ok || f != tt.frame || v != tt.version {
				t.Errorf("DecodeMarker = %d, %d, %v; want %d, %d", f, v, ok, tt.frame, tt.version)
			}
		})
	}
}

func TestMarkerYCbCr(t *testing.T) {
	img := image.NewYCbCr(image.Rect(0, 0, 640, 360), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = uint8(i * 7)
	}
	if !DrawMarker(img, 77, 3) {
		t.Fatal("DrawMarker drew nothing")
	}
	r := MarkerBlockRect(img.Rect, 0) // sync bit 0 is 1: white
	if y := img.Y[img.YOffset(r.Min.X, r.Min.Y)]; y != 235 {
		t.Errorf("white block luma %d, want 235 (limited range)", y)
	}
	if y := img.Y[img.YOffset(MarkerBlockRect(img.Rect, 1).Min.X, r.Min.Y)]; y != 16 {
		t.Errorf("black block luma %d, want 16", y)
	}
	if c := img.Cb[img.COffset(r.Min.X, r.Min.Y)]; c != 128 {
		t.Errorf("chroma %d, want 128", c)
	}
	if f, v, ok := DecodeMarker(img); !ok || f != 77 || v != 3 {
		t.Errorf("DecodeMarker = %d, %d, %v", f, v, ok)
	}
}

func TestMarkerRejects(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	flip := func(img *image.RGBA, bit int) {
		r := MarkerBlockRect(img.Rect, bit)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				o := img.PixOffset(x, y)
				img.Pix[o], img.Pix[o+1], img.Pix[o+2] = 255-img.Pix[o], 255-img.Pix[o+1], 255-img.Pix[o+2]
			}
		}
	}
	tests := []struct {
		name string
		img  func() image.Image
	}{
		{"no marker", func() image.Image { return busyFrame(640, 360, rng) }},
		{"flat grey", func() image.Image { return image.NewUniform(color.Gray{128}) }},
		{"too small", func() image.Image { return image.NewRGBA(image.Rect(0, 0, 320, 180)) }},
		{"a payload bit flipped", func() image.Image {
			img := busyFrame(640, 360, rng)
			DrawMarker(img, 1000, 2000)
			flip(img, 40)
			return img
		}},
		{"a checksum bit flipped", func() image.Image {
			img := busyFrame(640, 360, rng)
			DrawMarker(img, 1000, 2000)
			flip(img, 90)
			return img
		}},
		{"inverted", func() image.Image {
			img := busyFrame(640, 360, rng)
			DrawMarker(img, 1000, 2000)
			for i := range MarkerBitCount {
				flip(img, i)
			}
			return img
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if f, v, ok := DecodeMarker(tt.img()); ok {
				t.Errorf("decoded %d, %d from a frame without a valid marker", f, v)
			}
		})
	}
	// Random frames never decode (sync + format + CRC: about 2^-32 per frame).
	for range 200 {
		if _, _, ok := DecodeMarker(busyFrame(512, 24, rng)); ok {
			t.Fatal("random content decoded as a marker")
		}
	}
	if DrawMarker(image.NewUniform(color.White), 1, 1) {
		t.Error("DrawMarker on a read-only image reported success")
	}
}
