// Package playtest plays a Rendercast stream with the project's RTMP client and decodes it
// with FFmpeg, for the end-to-end tests of the streamer binary and of the container image.
package playtest

import (
	"context"
	"image"
	"testing"

	"github.com/bluenviron/gortmplib/pkg/amf0"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/encode"
	"github.com/rendercast/rendercast/rtmpclient"
)

// Viewer is an RTMP client playing a scene and decoding what it receives. Its methods fail
// the test on error; they must be called from the test's goroutine.
type Viewer struct {
	// C is the connection, for calls and reads of the test's own.
	C   *rtmpclient.Client
	t   testing.TB
	dec *encode.Decoder
}

// Play dials rawURL, creates a stream and plays the URL's stream name. The connection and
// decoder are closed when the test ends.
func Play(t testing.TB, ctx context.Context, rawURL string, opts rtmpclient.Options) *Viewer {
	t.Helper()
	c, err := rtmpclient.Dial(ctx, rawURL, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", rawURL, err)
	}
	v := &Viewer{t: t, C: c}
	t.Cleanup(func() {
		c.Close()
		if v.dec != nil {
			v.dec.Close()
		}
	})
	id, err := c.CreateStream(ctx)
	if err != nil {
		t.Fatalf("createStream: %v", err)
	}
	if err := c.Play(ctx, id, c.URL().Stream); err != nil {
		t.Fatalf("play: %v", err)
	}
	return v
}

// Next returns the next decoded picture.
func (v *Viewer) Next(ctx context.Context) *image.YCbCr {
	v.t.Helper()
	for {
		m, err := v.C.ReadVideo(ctx)
		if err != nil {
			v.t.Fatalf("reading video: %v", err)
		}
		switch m.AVCPacketType {
		case rtmpclient.AVCSequenceHeader:
			if v.dec != nil {
				v.dec.Close()
			}
			if v.dec, err = encode.NewDecoder(m.Payload); err != nil {
				v.t.Fatalf("decoder: %v", err)
			}
		case rtmpclient.AVCNALU:
			if v.dec == nil {
				v.t.Fatal("a frame arrived before the sequence header")
			}
			pics, err := v.dec.Decode(&avc.Frame{NALUs: m.Payload, PTS: m.Timestamp + m.CompositionTime, DTS: m.Timestamp})
			if err != nil {
				v.t.Fatalf("decode: %v", err)
			}
			if len(pics) > 0 {
				return pics[len(pics)-1]
			}
		}
	}
}

// Call sends a remote call with one object argument (nil: none) and returns its result.
func (v *Viewer) Call(ctx context.Context, name string, args amf0.Object) (any, error) {
	return v.C.Call(ctx, name, nil, args)
}

// Corner returns the mean Y, Cb, Cr of the top-left 32x32 pixels (the built-in scenes keep
// them background).
func Corner(img *image.YCbCr) (y, cb, cr float64) {
	n := 0.0
	for py := 0; py < 32; py++ {
		for px := 0; px < 32; px++ {
			c := img.YCbCrAt(px, py)
			y += float64(c.Y)
			cb += float64(c.Cb)
			cr += float64(c.Cr)
			n++
		}
	}
	return y / n, cb / n, cr / n
}

// IsRed reports whether the top-left corner is pure red (BT.709 limited range: Y 63, Cb
// 102, Cr 240), as scene.setBackground {r: 1, g: 0, b: 0} makes it.
func IsRed(img *image.YCbCr) bool {
	y, cb, cr := Corner(img)
	return y > 40 && y < 90 && cb < 125 && cr > 200
}
