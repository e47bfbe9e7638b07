package whep_test

import (
	"context"
	"errors"
	"log"
	"net/http"
	"sync"
	"time"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/whep"
)

// frames is a stand-in for the application's source of encoded frames (in the streamer, a
// session of package session: one encoder shared by its viewers). It writes every frame to
// each attached sink and forces a keyframe when one asks for it.
type frames struct {
	mu    sync.Mutex
	sinks map[*whep.Session]bool
}

func (f *frames) attach(s *whep.Session) { f.mu.Lock(); f.sinks[s] = true; f.mu.Unlock() }
func (f *frames) detach(s *whep.Session) { f.mu.Lock(); delete(f.sinks, s); f.mu.Unlock() }
func (f *frames) forceKeyframe()         {}          // the encoder's next frame is an IDR
func (f *frames) estimate(bps int)       { _ = bps } // the encoder follows the receiver

// write hands one encoded frame to every sink (the encoder's loop calls it).
func (f *frames) write(frame *avc.Frame) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.sinks {
		if s.WriteFrame(frame) {
			f.forceKeyframe() // s dropped it, or waits for its first keyframe
		}
	}
}

// viewer is what one WebRTC session shows: the frames of a source, from the moment the
// peer connects.
type viewer struct {
	s      *whep.Session
	frames *frames
}

func (v *viewer) Connected()            { v.frames.attach(v.s) }
func (v *viewer) KeyframeWanted()       { v.frames.forceKeyframe() }
func (v *viewer) Estimate(bitsPerS int) { v.frames.estimate(bitsPerS) }
func (v *viewer) Close()                { v.frames.detach(v.s) }

func (v *viewer) Call(name string, args map[string]any) (any, error) {
	if name == "ping" {
		return map[string]any{"pong": true}, nil
	}
	return nil, errors.New("unknown call " + name)
}

// The wiring of a WHEP server: a viewer per session, attached to a source of frames once
// its peer connects, and the handler mounted on an HTTP server. Browsers POST offers to
// /whep/<scene> and call over the data channel.
func Example() {
	source := &frames{sinks: map[*whep.Session]bool{}}
	srv, err := whep.NewServer(whep.Config{
		Viewers: whep.ViewerFactoryFunc(func(s *whep.Session) (whep.Viewer, error) {
			if s.Scene() != "demo" {
				return nil, whep.ErrUnknownScene // answered 404
			}
			if len(s.Query().Get("session")) > 64 {
				return nil, whep.ErrBadRequest // answered 400
			}
			return &viewer{s: s, frames: source}, nil
		}),
		Token:    "s3cret",
		CallRate: 50,
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/whep/", srv.Handler())
	hs := &http.Server{Addr: "127.0.0.1:8080", Handler: mux}
	go hs.ListenAndServe()

	// ... the encoder's loop calls source.write for every frame; later:
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hs.Shutdown(ctx)
	srv.Shutdown(ctx)
}
