package encode_test

import (
	"errors"
	"testing"

	"github.com/rendercast/rendercast/encode"
)

// A size the encoder refuses (x264: beyond 16384 pixels a side; NVENC: below or beyond its
// hardware's limits, which stream.setSize's bounds do not know) must leave the encoder at
// its old size, as sessions promise ("a change that fails leaves the old size"): the
// stream goes on, its next frame an IDR that decodes. Closing the encoder instead ends
// every viewer of the session at the next frame.
func TestResizeRefusedKeepsTheOldSize(t *testing.T) {
	p := newPattern(320, 240)
	e := newX264(t, encode.Options{Width: 320, Height: 240, FrameRate: 30, Threads: 1})
	first, err := e.Encode(p.frame(0), frameTime(0))
	if err != nil || first == nil || first.Config == nil {
		t.Fatalf("first frame: %v, %v", first, err)
	}
	dec := newDecoder(t, first.Config)
	dec.decode(t, first)

	err = e.Resize(16400, 16)
	if err == nil {
		t.Fatal("Resize(16400, 16) succeeded: libx264 refuses that size")
	}
	if errors.Is(err, encode.ErrEncoderUnavailable) || errors.Is(err, encode.ErrClosed) {
		t.Fatalf("Resize refused with %v: the encoder was given up", err)
	}
	if o := e.Options(); o.Width != 320 || o.Height != 240 {
		t.Fatalf("options after a refused resize: %dx%d, want 320x240", o.Width, o.Height)
	}
	decoded := 0
	for i := 1; i <= 10; i++ {
		f, err := e.Encode(p.frame(i), frameTime(i))
		if err != nil {
			t.Fatalf("frame %d after a refused resize: %v", i, err)
		}
		if f == nil {
			continue
		}
		if decoded == 0 && !f.Keyframe {
			t.Fatalf("frame %d, the first after a refused resize, is not a keyframe", i)
		}
		for _, pic := range dec.decode(t, f) {
			if b := pic.Bounds(); b.Dx() != 320 || b.Dy() != 240 {
				t.Fatalf("decoded %v after a refused resize, want 320x240", b)
			}
			decoded++
		}
	}
	if decoded < 9 {
		t.Fatalf("%d pictures decoded of 10 encoded after a refused resize", decoded)
	}
	if err := e.Resize(640, 480); err != nil {
		t.Fatalf("a good resize after a refused one: %v", err)
	}
}
