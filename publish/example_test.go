package publish_test

import (
	"log"
	"log/slog"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/publish"
)

// Push an encoder's frames to an nginx-rtmp server (or a streaming service's ingest): the
// publisher connects in the background and reconnects after failures; a true from
// WriteFrame asks the encoder for a keyframe.
func Example() {
	p, err := publish.New(publish.Config{
		URL:       "rtmp://127.0.0.1:1935/live/show?key=secret",
		FrameRate: 30,
		Logger:    slog.Default(),
	})
	if err != nil {
		log.Fatal(err) // publish.ErrBadURL names what is wrong with the URL
	}
	p.Start()
	defer p.Close()

	frames := make(chan *avc.Frame) // from the encoder
	requestKeyframe := func() {}    // e.g. encode.H264Encoder.RequestKeyframe
	for f := range frames {
		if p.WriteFrame(f) {
			requestKeyframe()
		}
	}
	log.Printf("%+v", p.Status()) // state, redacted URL, connects, failures, frames, bytes
}
