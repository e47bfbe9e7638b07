package rtmpclient

import (
	"fmt"
	"math"

	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/rawmessage"
)

// Command is a decoded command message: name, transaction id, command object and the user
// arguments that follow it.
type Command struct {
	// StreamID is the message stream the command arrived on (0: the connection).
	StreamID uint32
	// Name is the command name ("_result", "onStatus", "close", ...).
	Name string
	// TransactionID is the transaction id; 0 when no response is expected.
	TransactionID float64
	// Object is the command object (often nil, AMF0 null).
	Object any
	// Args are the values after the command object.
	Args []any
}

// Arg returns the i-th user argument, or nil when there is none.
func (c *Command) Arg(i int) any {
	if i < 0 || i >= len(c.Args) {
		return nil
	}
	return c.Args[i]
}

// stripAMF3 removes the leading byte of an AMF3 command or data message (type 17 or 15).
// Clients and servers that announce AMF3 still write the values as AMF0, after a zero
// byte that switches encodings.
func stripAMF3(typ uint8, body []byte) []byte {
	if (typ == typeCommandAMF3 || typ == typeDataAMF3) && len(body) > 0 && body[0] == 0 {
		return body[1:]
	}
	return body
}

// decodeCommand decodes a command message body of type 20 (AMF0) or 17 (AMF3 wrapping AMF0):
// a name string, a transaction id number, an optional command object and arguments.
func decodeCommand(typ uint8, body []byte) (*Command, error) {
	if typ != typeCommandAMF0 && typ != typeCommandAMF3 {
		return nil, fmt.Errorf("%w: message type %d", ErrBadCommand, typ)
	}
	data, err := amf0.Unmarshal(stripAMF3(typ, body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCommand, err)
	}
	if len(data) < 2 {
		return nil, fmt.Errorf("%w: %d values, want at least name and transaction id", ErrBadCommand, len(data))
	}
	name, ok := data[0].(string)
	if !ok {
		return nil, fmt.Errorf("%w: name is %T, want string", ErrBadCommand, data[0])
	}
	tx, ok := data[1].(float64)
	if !ok {
		return nil, fmt.Errorf("%w: %q: transaction id is %T, want number", ErrBadCommand, name, data[1])
	}
	if math.IsNaN(tx) || math.IsInf(tx, 0) {
		return nil, fmt.Errorf("%w: %q: transaction id %v", ErrBadCommand, name, tx)
	}
	c := &Command{Name: name, TransactionID: tx}
	if len(data) > 2 {
		c.Object = data[2]
	}
	if len(data) > 3 {
		c.Args = data[3:]
	}
	return c, nil
}

// decodeData decodes a data message body of type 18 (AMF0) or 15 (AMF3 wrapping AMF0): a
// handler name followed by values. "@setDataFrame" wrappers are removed, so onMetaData
// arrives under its own name whichever way the server framed it.
func decodeData(typ uint8, body []byte) (string, []any, error) {
	data, err := amf0.Unmarshal(stripAMF3(typ, body))
	if err != nil {
		return "", nil, fmt.Errorf("%w: data message: %v", ErrBadCommand, err)
	}
	if len(data) == 0 {
		return "", nil, fmt.Errorf("%w: empty data message", ErrBadCommand)
	}
	name, ok := data[0].(string)
	if !ok {
		return "", nil, fmt.Errorf("%w: data message name is %T, want string", ErrBadCommand, data[0])
	}
	vals := []any(data[1:])
	if name == "@setDataFrame" && len(vals) > 0 {
		if n, ok := vals[0].(string); ok {
			name, vals = n, vals[1:]
		}
	}
	return name, vals, nil
}

// encodeCommand builds an AMF0 command message. obj and args are converted by amfValue.
func encodeCommand(csid byte, streamID uint32, name string, tx float64, obj any, args []any) (*rawmessage.Message, error) {
	data := make(amf0.Data, 0, 3+len(args))
	data = append(data, name, tx)
	v, err := amfValue(obj)
	if err != nil {
		return nil, fmt.Errorf("rtmpclient: %s: command object: %w", name, err)
	}
	data = append(data, v)
	for i, a := range args {
		v, err := amfValue(a)
		if err != nil {
			return nil, fmt.Errorf("rtmpclient: %s: argument %d: %w", name, i, err)
		}
		data = append(data, v)
	}
	body, err := data.Marshal()
	if err != nil {
		return nil, fmt.Errorf("rtmpclient: %s: %w", name, err)
	}
	return &rawmessage.Message{
		ChunkStreamID:   csid,
		Type:            typeCommandAMF0,
		MessageStreamID: wireStreamID(streamID),
		Body:            body,
	}, nil
}
