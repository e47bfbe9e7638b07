package rtmpsrv

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/rendercast/rendercast/rtmpclient"
)

// Stream.RenderNow (here from a call handler, as the streamer does after a call that
// changed the picture) starts a render long before the next tick; a render handler's
// ErrUnchanged neither stops the stream nor counts as a render.
func TestRenderNowAndErrUnchanged(t *testing.T) {
	renders := make(chan int, 16)
	var stream atomic.Pointer[Stream]
	rec := newRecorder("r", true)
	rec.setup = func(c *Conn) {
		c.RegisterCallHandler(CallHandlerFunc(func(c *Conn, _ string, _ any, _ []any) (any, error) {
			for _, s := range c.Streams() {
				s.RenderNow()
			}
			return "ok", nil
		}), "poke")
		c.RegisterStreamHandler(StreamHandlerFunc(func(s *Stream, created bool, cmd any) bool {
			stream.Store(s)
			n := 0
			s.RegisterRenderHandler(RenderHandlerFunc(func(s *Stream) error {
				n++
				renders <- n
				if n == 1 {
					return ErrUnchanged
				}
				return nil
			}))
			s.RegisterFrameHandler(FrameHandlerFunc(func(*Stream, bool) (*VideoData, error) { return nil, nil }))
			return true
		}))
	}
	_, url := startServer(t, Config{RenderRate: 0.2}, rec) // a tick every 5 s
	c := dial(t, url+"/app", rtmpclient.Options{})
	ctx := testCtx(t)
	id, err := c.CreateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Play(ctx, id, "x"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-renders:
	case <-time.After(10 * time.Second):
		t.Fatal("no first render")
	}
	if res, err := c.Call(ctx, "poke", nil); err != nil || res != "ok" {
		t.Fatalf("poke: %v %v", res, err)
	}
	select {
	case n := <-renders:
		if n != 2 {
			t.Fatalf("render %d after RenderNow", n)
		}
	case <-time.After(2500 * time.Millisecond):
		t.Fatal("RenderNow did not start a render before the next tick (5 s)")
	}
	st := stream.Load().Stats()
	for deadline := time.Now().Add(2 * time.Second); st.Renders == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond) // the count follows the handler's return
		st = stream.Load().Stats()
	}
	if !st.Playing || st.Renders != 1 {
		t.Fatalf("stream after ErrUnchanged and one render: %v", st)
	}
}
