package rtmpsrv_test

import (
	"context"
	"fmt"
	"image"
	"sync"
	"time"

	"github.com/rendercast/rendercast/rtmpsrv"
)

// canvasApp is per-stream state shared by the render and frame handlers: the latest
// finished canvas, guarded by a mutex because the two handlers run in different goroutines.
type canvasApp struct {
	mu     sync.Mutex
	canvas *image.YCbCr
	frame  int
}

// Example is the Go version of the neuray RTMP example: a connect handler accepts the
// connection and registers a call handler and a stream handler; the stream handler chooses
// H.264 and registers render and frame handlers; the render handler draws into a canvas, and
// the frame handler (its own goroutine) encodes the latest canvas, or sends nothing new when
// the send queue is full.
func Example() {
	srv, err := rtmpsrv.NewServer(rtmpsrv.Config{
		// Codecs: an encoder factory, e.g. one built on package encode.
	})
	if err != nil {
		panic(err)
	}
	srv.Install(rtmpsrv.ConnectHandlerFunc(func(c *rtmpsrv.Conn, created bool, cmd rtmpsrv.Object, args []any) bool {
		if !created {
			return true // the connection closed
		}
		c.RegisterCallHandler(rtmpsrv.CallHandlerFunc(func(c *rtmpsrv.Conn, proc string, cmd any, args []any) (any, error) {
			return map[string]any{"echo": args}, nil
		}), "echo")
		c.RegisterStreamHandler(rtmpsrv.StreamHandlerFunc(func(s *rtmpsrv.Stream, created bool, cmd any) bool {
			if !created {
				return true
			}
			if err := s.UseCodec("h264"); err != nil {
				return false
			}
			app := &canvasApp{canvas: image.NewYCbCr(image.Rect(0, 0, 640, 360), image.YCbCrSubsampleRatio420)}
			s.RegisterRenderHandler(rtmpsrv.RenderHandlerFunc(func(s *rtmpsrv.Stream) error {
				app.mu.Lock()
				defer app.mu.Unlock()
				app.frame++
				for i := range app.canvas.Y { // "render": a brightness ramp over time
					app.canvas.Y[i] = byte(app.frame)
				}
				return nil
			}))
			s.RegisterFrameHandler(rtmpsrv.FrameHandlerFunc(func(s *rtmpsrv.Stream, queueFull bool) (*rtmpsrv.VideoData, error) {
				if queueFull {
					return nil, nil // the client is behind: produce nothing new
				}
				app.mu.Lock()
				defer app.mu.Unlock()
				f, err := s.VideoEncoder().Encode(app.canvas, s.Elapsed())
				if err != nil || f == nil {
					return nil, err
				}
				return &rtmpsrv.VideoData{Frame: f}, nil
			}))
			return true
		}))
		return true
	}))
	if err := srv.Start("127.0.0.1:0"); err != nil {
		panic(err)
	}
	fmt.Println("listening:", srv.ListenAddr() != nil)

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	fmt.Println("shutdown:", srv.Shutdown(ctx))
	// Output:
	// listening: true
	// shutdown: <nil>
}
