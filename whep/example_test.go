package whep_test

import (
	"context"
	"errors"
	"log"
	"net/http"
	"time"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/whep"
)

// picture is a stand-in for what an application shows (a view of a scene).
type picture struct{ s *whep.Session }

func (p *picture) Render() error { return nil } // draw the next picture

func (p *picture) Frame(queueFull bool) (*avc.Frame, error) {
	if queueFull {
		return nil, nil // the network is behind: nothing new
	}
	return p.s.VideoEncoder().Encode(nil /* the latest picture */, p.s.Elapsed())
}

func (p *picture) Call(name string, args map[string]any) (any, error) {
	if name == "ping" {
		return map[string]any{"pong": true}, nil
	}
	return nil, errors.New("unknown call " + name)
}

func (p *picture) Close() {}

// The wiring of a WHEP server: a viewer and an encoder per session, the handler mounted
// on an HTTP server. Browsers POST offers to /whep/<scene> and call over the data channel.
func Example() {
	var newEncoder func() (whep.VideoEncoder, error) // e.g. encode.New with Constrained Baseline
	srv, err := whep.NewServer(whep.Config{
		Viewers: whep.ViewerFactoryFunc(func(s *whep.Session) (whep.Viewer, error) {
			if s.Scene() != "demo" {
				return nil, whep.ErrUnknownScene // answered 404
			}
			return &picture{s: s}, nil
		}),
		Codecs:     whep.EncoderFactoryFunc(func(*whep.Session) (whep.VideoEncoder, error) { return newEncoder() }),
		Token:      "s3cret",
		MaxBitrate: 4_000_000,
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/whep/", srv.Handler())
	hs := &http.Server{Addr: "127.0.0.1:8080", Handler: mux}
	go hs.ListenAndServe()

	// ... later:
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hs.Shutdown(ctx)
	srv.Shutdown(ctx)
}
