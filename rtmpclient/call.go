package rtmpclient

import (
	"context"
	"fmt"
)

// Call calls a remote procedure (NetConnection.call): it sends the command name with a fresh
// transaction id, the command object cmd (usually nil) and args, and waits for the matching
// _result or _error. It returns the first value after the response's command object (the
// procedure's response; nil when there is none). An _error returns a *CallError.
//
// Arguments may be nil, bool, string, any Go integer or float type, amf0.Object,
// amf0.ECMAArray, amf0.StrictArray, amf0.Undefined, []any, []string, []float64 and
// map[string]any (an object with sorted keys), nested freely; other types give
// ErrUnsupportedValue. The wait is bounded by ctx and Options.Timeout.
func (c *Client) Call(ctx context.Context, name string, cmd any, args ...any) (any, error) {
	resp, err := c.request(ctx, name, chunkStreamCommand, 0, cmd, args)
	if err != nil {
		return nil, err
	}
	if resp.Name == "_error" {
		return nil, newCallError(name, resp)
	}
	return resp.Arg(0), nil
}

// CallNoReply sends a command with transaction id 0, which asks for no response, and returns
// once it is written.
func (c *Client) CallNoReply(name string, cmd any, args ...any) error {
	msg, err := encodeCommand(chunkStreamCommand, 0, name, 0, cmd, args)
	if err != nil {
		return err
	}
	if err := c.writeMsg(msg); err != nil {
		return fmt.Errorf("rtmpclient: %s: %w", name, err)
	}
	return nil
}

// newCallError describes an _error response to the command name.
func newCallError(name string, resp *Command) *CallError {
	info := resp.Arg(0)
	e := &CallError{Name: name, Info: info}
	if o := asObject(info); o != nil {
		e.Code, _ = o.GetString("code")
		e.Description, _ = o.GetString("description")
	} else if s, ok := info.(string); ok {
		e.Description = s
	}
	return e
}
