package encode_test

import (
	"errors"
	"fmt"
	"image"
	"log"
	"time"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/encode"
)

// Encode frames for an RTMP stream: the first frame carries the configuration record (the
// FLV sequence header) and is an IDR; RequestKeyframe makes the next frame an IDR again.
func Example() {
	enc, err := encode.New(encode.Options{Width: 640, Height: 360, FrameRate: 30, Encoder: encode.EncoderX264})
	if err != nil {
		log.Fatal(err)
	}
	defer enc.Close()

	canvas := image.NewYCbCr(image.Rect(0, 0, 640, 360), image.YCbCrSubsampleRatio420)
	for i := range 3 {
		if i == 2 {
			enc.RequestKeyframe() // e.g. a new player joined
		}
		f, err := enc.Encode(canvas, time.Duration(i)*time.Second/30)
		if err != nil {
			log.Fatal(err)
		}
		line := fmt.Sprintf("%s frame %d: pts %v, keyframe %v", enc.Name(), i, f.PTS, f.Keyframe)
		if f.Config != nil {
			sps, _, _ := avc.ParseConfigRecord(f.Config)
			info, _ := avc.ParseSPS(sps[0])
			line += fmt.Sprintf(", config %dx%d profile %d", info.Width, info.Height, info.ProfileIDC)
		}
		fmt.Println(line)
	}
	// Output:
	// libx264 frame 0: pts 0s, keyframe true, config 640x360 profile 66
	// libx264 frame 1: pts 33ms, keyframe false
	// libx264 frame 2: pts 66ms, keyframe true
}

// A frame loop sends an unchanged picture as a repeat, which costs no encoding and a few
// bytes, and encodes when Repeat refuses (an IDR is due, or the configuration does not allow
// repeats).
func ExampleH264Encoder_Repeat() {
	enc, err := encode.New(encode.Options{Width: 640, Height: 360, Encoder: encode.EncoderX264, KeyframeInterval: 100 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	defer enc.Close()

	canvas := image.NewYCbCr(image.Rect(0, 0, 640, 360), image.YCbCrSubsampleRatio420)
	for i := range 5 {
		pts := time.Duration(i) * time.Second / 30
		f, err := enc.Repeat(pts)
		if errors.Is(err, encode.ErrNoRepeat) {
			f, err = enc.Encode(canvas, pts)
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("frame %d: keyframe %v, small %v\n", i, f.Keyframe, len(f.NALUs) < 32)
	}
	fmt.Println("repeats:", enc.Stats().Repeats)
	// Output:
	// frame 0: keyframe true, small false
	// frame 1: keyframe false, small true
	// frame 2: keyframe false, small true
	// frame 3: keyframe true, small false
	// frame 4: keyframe false, small true
	// repeats: 3
}
