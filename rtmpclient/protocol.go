package rtmpclient

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/bluenviron/gortmplib/pkg/rawmessage"
)

// RTMP message types (RTMP 1.0 specification, sections 5.4, 6.2 and 7.1).
const (
	typeSetChunkSize     = 1
	typeAbort            = 2
	typeAcknowledgement  = 3
	typeUserControl      = 4
	typeWindowAckSize    = 5
	typeSetPeerBandwidth = 6
	typeAudio            = 8
	typeVideo            = 9
	typeDataAMF3         = 15
	typeCommandAMF3      = 17
	typeDataAMF0         = 18
	typeCommandAMF0      = 20
)

// Chunk stream ids the client writes on; the same choice as librtmp.
const (
	chunkStreamControl = 2 // protocol control and user control messages
	chunkStreamCommand = 3 // commands on message stream 0 (connect, calls, createStream)
	chunkStreamStream  = 8 // commands on a NetStream (play, pause, closeStream)
)

// User control event types (RTMP 1.0 specification, section 7.1.7).
const (
	ucStreamBegin      = 0
	ucStreamEOF        = 1
	ucStreamDry        = 2
	ucSetBufferLength  = 3
	ucStreamIsRecorded = 4
	ucPingRequest      = 6
	ucPingResponse     = 7
)

// maxChunkSize is the largest chunk size the specification allows (31 bits); rawmessage
// additionally refuses anything above its 10 MiB message limit.
const maxChunkSize = 0x7FFFFFFF

// wireStreamID converts between an RTMP message stream id and the value rawmessage keeps in
// its chunk headers. rawmessage writes and reads the (little-endian on the wire) message
// stream id as big-endian, so stream 1 must be handed to it as 0x01000000 and comes back that
// way. The conversion is its own inverse.
func wireStreamID(id uint32) uint32 { return bits.ReverseBytes32(id) }

// userControl is a decoded user control message: its event type and the fields that follow.
type userControl struct {
	Event    uint16
	StreamID uint32 // stream events (begin, EOF, dry, is recorded, set buffer length)
	Value    uint32 // ping timestamp or buffer length in ms
}

// decodeUserControl parses a user control message body: a 2-byte event type followed by
// 4 bytes (8 for set buffer length). Unknown events are accepted with whatever 4 bytes follow,
// so that a new server extension does not break the connection.
func decodeUserControl(b []byte) (userControl, error) {
	if len(b) < 2 {
		return userControl{}, fmt.Errorf("%w: %d bytes", ErrBadUserControl, len(b))
	}
	u := userControl{Event: binary.BigEndian.Uint16(b)}
	b = b[2:]
	switch u.Event {
	case ucStreamBegin, ucStreamEOF, ucStreamDry, ucStreamIsRecorded:
		if len(b) < 4 {
			return userControl{}, fmt.Errorf("%w: event %d with %d data bytes, want 4", ErrBadUserControl, u.Event, len(b))
		}
		u.StreamID = binary.BigEndian.Uint32(b)
	case ucSetBufferLength:
		if len(b) < 8 {
			return userControl{}, fmt.Errorf("%w: set buffer length with %d data bytes, want 8", ErrBadUserControl, len(b))
		}
		u.StreamID = binary.BigEndian.Uint32(b)
		u.Value = binary.BigEndian.Uint32(b[4:])
	case ucPingRequest, ucPingResponse:
		if len(b) < 4 {
			return userControl{}, fmt.Errorf("%w: ping with %d data bytes, want 4", ErrBadUserControl, len(b))
		}
		u.Value = binary.BigEndian.Uint32(b)
	default:
		if len(b) >= 4 {
			u.Value = binary.BigEndian.Uint32(b)
		}
	}
	return u, nil
}

// userControlMessage builds a user control message. Set buffer length carries the stream id
// and the length; stream events carry the stream id; pings carry the timestamp.
func userControlMessage(u userControl) *rawmessage.Message {
	var body []byte
	switch u.Event {
	case ucSetBufferLength:
		body = binary.BigEndian.AppendUint16(nil, u.Event)
		body = binary.BigEndian.AppendUint32(body, u.StreamID)
		body = binary.BigEndian.AppendUint32(body, u.Value)
	case ucPingRequest, ucPingResponse:
		body = binary.BigEndian.AppendUint16(nil, u.Event)
		body = binary.BigEndian.AppendUint32(body, u.Value)
	default:
		body = binary.BigEndian.AppendUint16(nil, u.Event)
		body = binary.BigEndian.AppendUint32(body, u.StreamID)
	}
	return &rawmessage.Message{ChunkStreamID: chunkStreamControl, Type: typeUserControl, Body: body}
}

// uint32Message builds a protocol control message whose body is one 32-bit value (set chunk
// size, acknowledgement, window acknowledgement size).
func uint32Message(typ uint8, v uint32) *rawmessage.Message {
	return &rawmessage.Message{
		ChunkStreamID: chunkStreamControl,
		Type:          typ,
		Body:          binary.BigEndian.AppendUint32(nil, v),
	}
}

// decodeUint32 reads the 32-bit value of a protocol control message.
func decodeUint32(typ uint8, b []byte) (uint32, error) {
	if len(b) < 4 {
		return 0, fmt.Errorf("%w: control message type %d with %d bytes, want 4", ErrProtocol, typ, len(b))
	}
	return binary.BigEndian.Uint32(b), nil
}
