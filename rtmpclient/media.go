package rtmpclient

import (
	"fmt"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"
)

// FLV video codec ids and frame types (FLV specification, VIDEODATA).
const (
	// CodecAVC is the FLV codec id of H.264.
	CodecAVC = 7
	// FrameTypeKey is the frame type of a keyframe (for AVC, a seekable frame).
	FrameTypeKey = 1
	// FrameTypeInter is the frame type of an inter frame.
	FrameTypeInter = 2
	// FrameTypeCommand is the frame type of a video info/command frame.
	FrameTypeCommand = 5
)

// AVC packet types (FLV specification, AVCVIDEOPACKET).
const (
	// AVCSequenceHeader marks a payload that is an AVCDecoderConfigurationRecord.
	AVCSequenceHeader = 0
	// AVCNALU marks a payload of length-prefixed NAL units (one access unit).
	AVCNALU = 1
	// AVCEndOfSequence marks the end of the sequence; the payload is empty.
	AVCEndOfSequence = 2
)

// MediaMessage is one message of a played stream, delivered in arrival order by
// [Client.ReadMedia]: a *VideoMessage, *AudioMessage or *DataMessage.
type MediaMessage interface {
	// MediaTimestamp is the message timestamp: milliseconds on the wire, extended
	// timestamps (at and past 0xFFFFFF ms) included.
	MediaTimestamp() time.Duration
}

// VideoTag is the parsed header of an FLV video tag body (VIDEODATA).
type VideoTag struct {
	// FrameType is 1 for a keyframe, 2 for an inter frame, 5 for a command frame.
	FrameType uint8
	// Codec is the FLV codec id; CodecAVC (7) for H.264.
	Codec uint8
	// Keyframe reports FrameType == FrameTypeKey.
	Keyframe bool
	// AVCPacketType is, for AVC, AVCSequenceHeader, AVCNALU or AVCEndOfSequence.
	AVCPacketType uint8
	// CompositionTime is, for AVC, the presentation time minus the decoding time.
	CompositionTime time.Duration
	// Payload is what follows the header: for AVC the AVCDecoderConfigurationRecord or the
	// AVCC NAL units; for other codecs everything after the first byte. It aliases the body.
	Payload []byte
}

// ParseVideoTag parses the header of an FLV video tag body. Enhanced RTMP (ex-header) tags
// are not supported.
func ParseVideoTag(body []byte) (VideoTag, error) {
	if len(body) == 0 {
		return VideoTag{}, fmt.Errorf("%w: empty", ErrBadVideoTag)
	}
	if body[0]&0x80 != 0 {
		return VideoTag{}, fmt.Errorf("%w: enhanced RTMP header 0x%02x not supported", ErrBadVideoTag, body[0])
	}
	t := VideoTag{FrameType: body[0] >> 4, Codec: body[0] & 0x0F}
	t.Keyframe = t.FrameType == FrameTypeKey
	if t.Codec != CodecAVC {
		t.Payload = body[1:]
		return t, nil
	}
	if len(body) < 5 {
		return VideoTag{}, fmt.Errorf("%w: AVC tag of %d bytes, want at least 5", ErrBadVideoTag, len(body))
	}
	t.AVCPacketType = body[1]
	if t.AVCPacketType > AVCEndOfSequence {
		return VideoTag{}, fmt.Errorf("%w: AVC packet type %d", ErrBadVideoTag, t.AVCPacketType)
	}
	// SI24, big-endian, in milliseconds.
	ct := int32(uint32(body[2])<<24|uint32(body[3])<<16|uint32(body[4])<<8) >> 8
	t.CompositionTime = time.Duration(ct) * time.Millisecond
	t.Payload = body[5:]
	return t, nil
}

// VideoMessage is a video message (type 9) from the server.
type VideoMessage struct {
	// Timestamp is the decoding timestamp.
	Timestamp time.Duration
	// StreamID is the message stream (the id CreateStream returned).
	StreamID uint32
	// Body is the whole message: an FLV video tag body.
	Body []byte
	// VideoTag holds the parsed header. It is zero (Codec 0) when Body is not a valid FLV
	// video tag, e.g. a raw payload a server passes through: then use Body.
	VideoTag
}

// MediaTimestamp implements MediaMessage.
func (m *VideoMessage) MediaTimestamp() time.Duration { return m.Timestamp }

// AudioMessage is an audio message (type 8) from the server; the body is not parsed.
type AudioMessage struct {
	// Timestamp is the message timestamp.
	Timestamp time.Duration
	// StreamID is the message stream.
	StreamID uint32
	// Body is an FLV audio tag body.
	Body []byte
}

// MediaTimestamp implements MediaMessage.
func (m *AudioMessage) MediaTimestamp() time.Duration { return m.Timestamp }

// DataMessage is a data message (type 18, or 15 wrapping AMF0) from the server, such as
// onMetaData or |RtmpSampleAccess.
type DataMessage struct {
	// Timestamp is the message timestamp.
	Timestamp time.Duration
	// StreamID is the message stream.
	StreamID uint32
	// Name is the handler name ("onMetaData"); an "@setDataFrame" wrapper is removed.
	Name string
	// Values are the AMF0 values after the name.
	Values []any
}

// MediaTimestamp implements MediaMessage.
func (m *DataMessage) MediaTimestamp() time.Duration { return m.Timestamp }

// Object returns the first value as an object when it is an Object or an ECMAArray (the
// onMetaData properties), nil otherwise.
func (m *DataMessage) Object() amf0.Object {
	if len(m.Values) == 0 {
		return nil
	}
	return asObject(m.Values[0])
}
