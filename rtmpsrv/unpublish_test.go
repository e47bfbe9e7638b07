package rtmpsrv

import (
	"testing"

	"github.com/rendercast/rendercast/rtmpclient"
)

// Unpublish tells a playing client NetStream.Play.UnpublishNotify with the description,
// stops the frames and tells the play handler; a Conn.Close right after it still delivers
// the status, and the client then sees the connection end.
func TestUnpublishNotifiesThePlayer(t *testing.T) {
	app := newPushApp(t, false)
	url := pushServer(t, Config{}, app)
	c := dial(t, url+"/app", rtmpclient.Options{})
	ctx := testCtx(t)
	id, err := c.CreateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Play(ctx, id, "shared"); err != nil {
		t.Fatal(err)
	}
	if !app.nextPlay(t) {
		t.Fatal("first HandlePlay was a stop")
	}
	s := app.nextStarted(t)
	readFrame(t, c)
	s.Unpublish("the server is shutting down")
	if s.Playing() {
		t.Error("still playing after Unpublish")
	}
	if app.nextPlay(t) {
		t.Error("the play handler was not told the stream stopped")
	}
	s.Conn().Close()
	st := statusOf(t, c, id, codeUnpublishNotify)
	if st.Level != "status" || st.Description != "the server is shutting down" {
		t.Errorf("status %+v, want level status and the description", st)
	}
	s.Unpublish("again") // not playing: nothing is sent, nothing blocks
	for {
		e, err := c.ReadEvent(ctx)
		if err != nil {
			if ctx.Err() != nil {
				t.Fatal("the connection did not end after Close")
			}
			break // the connection ended
		}
		if e.Kind == rtmpclient.EventStatus && e.Status.Code == codeUnpublishNotify {
			t.Fatal("a second UnpublishNotify for a stream that no longer plays")
		}
	}
}
