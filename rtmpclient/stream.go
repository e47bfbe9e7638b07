package rtmpclient

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Status codes the stream operations wait for.
const (
	// CodePlayStart ends a successful Play.
	CodePlayStart = "NetStream.Play.Start"
	// CodePauseNotify ends a successful Pause(..., true, ...).
	CodePauseNotify = "NetStream.Pause.Notify"
	// CodeUnpauseNotify ends a successful Pause(..., false, ...).
	CodeUnpauseNotify = "NetStream.Unpause.Notify"
)

// CreateStream asks the server for a new NetStream and returns its message stream id.
// An _error returns a *CallError.
func (c *Client) CreateStream(ctx context.Context) (uint32, error) {
	resp, err := c.request(ctx, "createStream", chunkStreamCommand, 0, nil, nil)
	if err != nil {
		return 0, err
	}
	if resp.Name == "_error" {
		return 0, newCallError("createStream", resp)
	}
	id, ok := resp.Arg(0).(float64)
	if !ok || id < 1 || id > math.MaxUint32 || id != math.Trunc(id) {
		return 0, fmt.Errorf("%w: createStream: stream id %v", ErrProtocol, resp.Arg(0))
	}
	return uint32(id), nil
}

// Play sends play for the stream name on a stream from CreateStream (start -2: live, else
// recorded) and waits for NetStream.Play.Start. An error-level status for the stream (e.g.
// NetStream.Play.StreamNotFound, NetStream.Play.Failed) returns a *StatusError, an _error
// response a *CallError. Media may arrive (and be buffered for ReadMedia) before Play
// returns. The wait is bounded by ctx and Options.Timeout.
func (c *Client) Play(ctx context.Context, streamID uint32, name string) error {
	return c.streamRequest(ctx, streamID, "play", []any{name, -2.0}, CodePlayStart)
}

// Pause pauses (pause true) or resumes (pause false) a playing stream at position pos
// (milliseconds on the wire) and waits for NetStream.Pause.Notify or
// NetStream.Unpause.Notify. Refusals are reported as for Play.
func (c *Client) Pause(ctx context.Context, streamID uint32, pause bool, pos time.Duration) error {
	want := CodeUnpauseNotify
	if pause {
		want = CodePauseNotify
	}
	return c.streamRequest(ctx, streamID, "pause", []any{pause, float64(pos.Milliseconds())}, want)
}

// streamRequest sends a NetStream command with a fresh transaction id and waits for the
// status code want on that stream (or on stream 0). An error-level status or an _error
// response fails it; a _result is noted and the wait goes on.
func (c *Client) streamRequest(ctx context.Context, streamID uint32, name string, args []any, want string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("rtmpclient: %s: %w", name, err)
	}
	ctx, cancel := boundContext(ctx, c.opts.Timeout)
	defer cancel()
	w := c.addWaiter(streamID)
	defer c.removeWaiter(w)
	tx, resp, err := c.register()
	if err != nil {
		return fmt.Errorf("rtmpclient: %s: %w", name, err)
	}
	defer c.unregister(tx)
	msg, err := encodeCommand(chunkStreamStream, streamID, name, tx, nil, args)
	if err != nil {
		return err
	}
	if err := c.writeMsg(msg); err != nil {
		return fmt.Errorf("rtmpclient: %s: %w", name, err)
	}
	// check reports whether e settles the request, and how.
	check := func(e *Event) (bool, error) {
		switch {
		case e.Kind != EventStatus:
			return false, nil
		case e.Status.Level == "error":
			return true, &StatusError{Op: name, Status: e.Status}
		case e.Status.Code == want:
			return true, nil
		}
		return false, nil
	}
	for {
		select {
		case e := <-w.ch:
			if done, err := check(e); done {
				return err
			}
		case r := <-resp:
			if r.Name == "_error" {
				return newCallError(name, r)
			}
			resp = nil // a _result: keep waiting for the status
		case <-ctx.Done():
			return fmt.Errorf("rtmpclient: %s stream %d: no %s: %w", name, streamID, want, ctx.Err())
		case <-c.done:
			for len(w.ch) > 0 { // the status may have arrived just before the end
				if done, err := check(<-w.ch); done {
					return err
				}
			}
			return fmt.Errorf("rtmpclient: %s stream %d: %w", name, streamID, c.Err())
		}
	}
}

// CloseStream sends closeStream on a stream (the stream stops playing; its id stays valid
// until DeleteStream). No response is expected; it returns once the command is written.
func (c *Client) CloseStream(streamID uint32) error {
	msg, err := encodeCommand(chunkStreamStream, streamID, "closeStream", 0, nil, nil)
	if err != nil {
		return err
	}
	if err := c.writeMsg(msg); err != nil {
		return fmt.Errorf("rtmpclient: closeStream %d: %w", streamID, err)
	}
	return nil
}

// DeleteStream sends deleteStream for a stream id. No response is expected; it returns once
// the command is written.
func (c *Client) DeleteStream(streamID uint32) error {
	msg, err := encodeCommand(chunkStreamCommand, 0, "deleteStream", 0, nil, []any{float64(streamID)})
	if err != nil {
		return err
	}
	if err := c.writeMsg(msg); err != nil {
		return fmt.Errorf("rtmpclient: deleteStream %d: %w", streamID, err)
	}
	return nil
}

// SetBufferLength tells the server how much the client buffers for a stream (user control
// event 3), as players send before or after play.
func (c *Client) SetBufferLength(streamID uint32, d time.Duration) error {
	ms := d.Milliseconds()
	if ms < 0 || ms > math.MaxUint32 {
		return fmt.Errorf("rtmpclient: buffer length %v out of range", d)
	}
	msg := userControlMessage(userControl{Event: ucSetBufferLength, StreamID: streamID, Value: uint32(ms)})
	if err := c.writeMsg(msg); err != nil {
		return fmt.Errorf("rtmpclient: set buffer length: %w", err)
	}
	return nil
}
